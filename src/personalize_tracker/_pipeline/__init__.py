"""The composition root: :class:`Pipeline` builds the parts of a record's path and wires them
(``pipeline``), flushes and closes them (``closing``); ``events`` composes the pipeline of
PutEvents. The only place that imports ``_intake``, ``_delivery`` and ``_outcomes`` together.
"""

from typing import TYPE_CHECKING, Any

from .._outcomes.ledger import TrackerStats
from .events import EventPipeline, event_pipeline
from .pipeline import Codec, Pipeline

if TYPE_CHECKING:
    from .._delivery.kinesis import KinesisTransport


def __getattr__(name: str) -> Any:
    # The Kinesis transport (and the stream record format under it) is imported when the fleet's
    # facade (personalize_tracker.kinesis) asks for it: a Tracker that calls PutEvents never
    # needs it at import.
    if name == "KinesisTransport":
        from .._delivery.kinesis import KinesisTransport

        return KinesisTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Codec",
    "EventPipeline",
    "KinesisTransport",
    "Pipeline",
    "TrackerStats",
    "event_pipeline",
]
