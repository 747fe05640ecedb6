"""The composition root: :class:`Pipeline` builds the parts of a record's path and wires them
(``pipeline``), flushes and closes them (``closing``); ``events`` composes the pipeline of
PutEvents. The only place that imports ``_intake``, ``_delivery`` and ``_outcomes`` together.
"""

from .._delivery.kinesis import KinesisTransport
from .._outcomes.ledger import TrackerStats
from .events import EventPipeline, event_pipeline
from .pipeline import Codec, Pipeline

__all__ = [
    "Codec",
    "EventPipeline",
    "KinesisTransport",
    "Pipeline",
    "TrackerStats",
    "event_pipeline",
]
