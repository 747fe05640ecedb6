"""personalize-tracker: batched, retried, accounted-for event delivery to Amazon Personalize.

Typical use::

    from personalize_tracker import Tracker

    with Tracker("your-tracking-id", region_name="us-east-1") as tracker:
        tracker.track("click", session_id="s-1", user_id="u-1", item_id="i-9")

        visitor = tracker.session(context={"DEVICE_TYPE": "mobile"})  # one visitor
        visitor.track("view", item_id="i-9")

See ``Tracker`` for the options, and ``personalize_tracker.testing`` for a local PutEvents endpoint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._errors import InvalidEventError, TrackerClosedError
from ._failure import FailedEvent, FailureReason
from ._limits import LIMITS, PutEventsLimits
from ._pipeline import TrackerStats
from ._record.event import Event
from ._record.properties import to_camel_case
from .serverless import flush_after
from .tracker import Tracker

if TYPE_CHECKING:  # imported on first use (see _LAZY)
    from ._record.catalog import Action, ActionInteraction, Item, User
    from .readiness import Readiness, Target
    from .recommendations import Recommendations
    from .schema import DatasetSchema, InteractionsSchema, SchemaField
    from .session import TrackingSession

__version__ = "0.1.0"

# Imported on first use: replay() (notebooks, the CLI) pulls in the bulk readers and the demo
# machinery, ~45 ms that a web process tracking events never needs. Not imported for type
# checking either: the package's public face imports no edge (tools, CLI, integrations), so
# that those may import it without an import cycle.
_LAZY = {
    "BadRow": "._tools.replay.summary",
    "ReplaySample": "._tools.replay.summary",
    "ReplaySummary": "._tools.replay.summary",
    "replay": "._tools.replay.loop",
    "check_interactions": "._tools.check",
    # Readiness and Target: the rules and reports of Tracker(target=...) and check_interactions,
    # ~4 attrs classes and the rule table that a Tracker without a target never needs.
    "Readiness": ".readiness",
    "Target": ".readiness",
    # What a Tracker that only tracks events never needs (issue 18: import time): the other
    # record kinds (with their pipelines, imported when a Tracker gets a dataset ARN), schemas
    # (when one is built), sessions and recommendations (at the first session() or call).
    "Action": "._record.catalog",
    "ActionInteraction": "._record.catalog",
    "Item": "._record.catalog",
    "User": "._record.catalog",
    "DatasetSchema": ".schema",
    "InteractionsSchema": ".schema",
    "SchemaField": ".schema",
    "Recommendations": ".recommendations",
    "TrackingSession": ".session",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "LIMITS",
    "Action",
    "ActionInteraction",
    "BadRow",
    "DatasetSchema",
    "Event",
    "FailedEvent",
    "FailureReason",
    "InteractionsSchema",
    "InvalidEventError",
    "Item",
    "PutEventsLimits",
    "Readiness",
    "Recommendations",
    "ReplaySample",
    "ReplaySummary",
    "SchemaField",
    "Target",
    "Tracker",
    "TrackerClosedError",
    "TrackerStats",
    "TrackingSession",
    "User",
    "__version__",
    "check_interactions",
    "flush_after",
    "replay",
    "to_camel_case",
]
