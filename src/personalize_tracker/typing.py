"""Types and protocols of personalize-tracker: the one home of the aliases and protocols that the
parts of the library (and code built on it) speak.

Nothing here imports the rest of the package, so any module may import it. The names in
``__all__`` are the public, stable ones; the protocols below them describe the seams between the
library's own parts (how the sender pool sees the pipeline, how a session sees its Tracker) and
may change between releases.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar, Union

__all__ = [
    "EventTransport",
    "FailureHandler",
    "PropertiesInput",
    "SchemaCheck",
    "SentAtInput",
    "TargetRules",
    "Transport",
]

#: What ``sent_at`` accepts: an aware datetime, or epoch seconds.
SentAtInput = Union[_dt.datetime, float, int, None]  # noqa: UP007 - a runtime alias
#: What ``properties`` accepts: a mapping, or a string holding a JSON object.
PropertiesInput = Union[Mapping[str, Any], str, None]  # noqa: UP007 - a runtime alias
#: ``on_failure``: called with each group of ``FailedEvent`` records that failed or were dropped.
FailureHandler = Callable[[Sequence[Any]], None]

R_contra = TypeVar("R_contra", contravariant=True)
K_contra = TypeVar("K_contra", contravariant=True)
J = TypeVar("J")


class Transport(Protocol[R_contra, K_contra]):
    """Sends one batch of one group of records (PutEvents is the first; a new sink is a new
    transport, not a copy of the machinery).

    The pipeline hands it a group key (for events, the call's ``(userId, sessionId)``) and 1 to
    ``batch_size`` records of that group, in the order they were tracked (after a poison split,
    part of a batch; after a retry, the same records again). It makes one call: no retries (the
    caller retries, splits and accounts), no waiting beyond the call itself. Sender threads share
    one transport: it must be thread-safe.
    """

    def send(self, key: K_contra, records: Sequence[R_contra]) -> None:
        """Send ``records`` in one call.

        Raises:
            personalize_tracker._errors.SendError: the call failed; its flags say whether to
                retry (``retryable``), split the batch (``invalid``), slow down (``throttled``)
                or give up (``rejected``, or none of them for a local error). A call that
                reports failures per record raises ``PartialSendError`` (a ``SendError``) with
                each failed record's error: the rest were delivered.
        """


class EventTransport(Transport[Any, Any], Protocol):
    """A transport a :class:`~personalize_tracker.Tracker` takes in place of PutEvents
    (``Tracker(..., transport=...)``): events are validated at ``track()`` as always, then
    batched by the transport's own grouping, at most ``batch_size`` to a call.

    ``personalize_tracker.kinesis.KinesisTransport`` is one: it writes any sessions' events,
    up to 500 per Kinesis PutRecords call.
    """

    #: Records per call at most (>= 1).
    batch_size: int

    def group_key(self, event: Any) -> Any:
        """The group ``event`` is batched with (hashable, cheap: called with a lock held)."""

    def renewed(self) -> EventTransport:
        """The transport to use in a forked child (a new client if it built its own)."""


class SchemaCheck(Protocol):
    """What an event composer needs of a schema (an ``InteractionsSchema``)."""

    def check_properties(self, properties: Mapping[str, Any]) -> dict[str, Any]:
        """Return normalised (camelCase) properties coerced to the schema's field types.

        Raises:
            InvalidEventError: a key or value the schema refuses.
        """

    def check_event(self, item_id: object, event_value: object, impression: object) -> None:
        """Check the event's own optional members against the schema.

        Raises:
            InvalidEventError: a member the schema cannot hold, or a missing required one.
        """


class TargetRules(Protocol):
    """What the checks at ``track()`` need of a target (a ``readiness.Target``)."""

    @property
    def name(self) -> str:
        """The target in words, for messages: ``"ECOMMERCE (aws-ecomm-recommended-for-you)"``."""

    @property
    def required_event_types(self) -> Mapping[str, str]:
        """Event types the target's use cases need, spelled exactly, to the ``_rules.SOURCES``
        key of the page that says so."""

    @property
    def uses_context(self) -> bool:
        """Whether a model of the target uses contextual metadata."""

    @property
    def uses_impressions(self) -> bool:
        """Whether a model of the target is documented to use impressions."""


class ShownPolicy(Protocol):
    """What ``Recommendations.shown`` needs of its Tracker: the impression truncation policy."""

    truncate_impressions: bool

    def count_truncated(self) -> None:
        """Count one impression list cut to the PutEvents maximum."""


class ShownMemory(Protocol):
    """Where ``Recommendations.shown`` records what was displayed: the session that fetched it."""

    def record_shown(self, recommendation_id: str, item_ids: tuple[str, ...]) -> None:
        """Remember that only ``item_ids`` of list ``recommendation_id`` were displayed."""


class Composer(ShownPolicy, Protocol):
    """How a Tracker builds events beyond the PutEvents rules (schema, impression truncation,
    default attribution): what a :class:`~personalize_tracker.TrackingSession` builds with."""

    metric_attribution_source: str | None
    #: Whether ids that are the text of a missing value (``"null"``…) are accepted.
    allow_placeholder_ids: bool

    def context(self, context: PropertiesInput) -> tuple[dict[str, Any], str | None]:
        """A session's context, normalised and encoded once: ``(normalised, encoded)``."""

    def properties(
        self, properties: PropertiesInput, defaults: Mapping[str, Any] | None = None
    ) -> str | None:
        """An event's properties merged over ``defaults``, checked and encoded."""

    def build(
        self,
        event_type: str,
        session_id: str | int,
        user_id: str | int | None,
        item_id: str | int | None,
        event_value: float | None,
        encoded_properties: str | None,
        sent_at: SentAtInput,
        event_id: str | None,
        recommendation_id: str | None,
        impression: Any,
        metric_attribution_source: str | None,
    ) -> Any:
        """A validated ``Event`` from prepared properties."""


class SessionHost(Protocol):
    """What a :class:`~personalize_tracker.TrackingSession` needs of its Tracker."""

    @property
    def composer(self) -> Composer:
        """The Tracker's event-building policy."""

    @property
    def runtime_client(self) -> Any:
        """The ``personalize-runtime`` client."""

    def enqueue(self, event: Any) -> None:
        """Queue a built event for delivery."""


class Watched(Protocol):
    """The inbox as the sender pool sees it: who watches it (see ``_intake/inbox.py``, its one
    ordering rule), and whether records keep coming. Called with the pipeline's lock held."""

    def watch(self, clear_wanted: bool = False) -> None:
        """Count the calling sender as one that takes the inbox in before it next sleeps
        uncounted (``clear_wanted``: it answers a producer's call for a collector)."""

    def unwatch(self) -> None:
        """Undo :meth:`watch`; the caller takes the inbox in right after."""

    def busy(self, now: float) -> bool:
        """Whether records keep coming (a sender should keep collecting)."""


class WorkSource(Protocol[J]):
    """How the sender pool sees the pipeline: all of it called with the pipeline's lock held,
    except :meth:`run`."""

    def collect(self) -> None:
        """Take the inbox (what producers put without the lock) into the buffer."""

    def take_chore(self) -> Callable[[], None] | None:
        """Work that needs no sending slot (reading the spool back), reserved now: the pool
        calls it with no lock held."""

    def take_batch(self) -> J | None:
        """The next ready batch, counted as on the wire, or None."""

    def has_ready(self, now: float) -> bool:
        """Whether a batch is ready now."""

    def seconds_until_due(self, now: float) -> float | None:
        """Seconds until the next batch is ready (0: now), or None when nothing is held."""

    def send(self, batch: J, outcome: Any) -> None:
        """Send ``batch`` (no lock held), filling in ``outcome`` (a ``DeliveryOutcome``)."""

    def settle(
        self, batch: J, outcome: Any, interrupted: BaseException | None
    ) -> Callable[[], None]:
        """Record the batch's outcome (lock held; ``interrupted``: what cut the send short);
        return what to do once the lock is released (report failures)."""
