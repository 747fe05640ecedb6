"""Building events when more than the PutEvents rules apply: a schema, context, truncation.

``Tracker.track()`` without a schema and without ``truncate_impressions`` builds its events
inline (the hot path); everything else (and every :class:`TrackingSession` event) comes through
here. The schema is anything with the two checks of :class:`~personalize_tracker.typing.SchemaCheck`
(an :class:`~personalize_tracker.InteractionsSchema`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._errors import InvalidEventError
from .._limits import LIMITS
from ..typing import PropertiesInput, SchemaCheck, SentAtInput
from .event import Event, build_event
from .fields import IMPRESSION_LIMIT, check_attribution_source, unique_item_ids
from .properties import encode_normalised, normalise_properties
from .shared import SharedIds

if TYPE_CHECKING:
    from .target import TargetCheck

__all__ = ["EventComposer"]


class EventComposer:
    """A Tracker's event-building policy: schema, impression truncation, default attribution.

    Args:
        schema: the Interactions schema to check events against, or None.
        truncate_impressions: keep the first 25 ids of a longer impression instead of raising.
        metric_attribution_source: the default ``eventAttributionSource``, or None.
        ids: the Tracker's shared id strings (item ids of built events are shared through it).
        check_fork: called before an event id is drawn: the Tracker's check for a fork that ran
            no Python hooks (uWSGI), or None when it is off.
        allow_placeholder_ids: accept ids that are the text of a missing value (``"null"``,
            ``"None"``, ``"undefined"``, ``"nan"``, blank); refused by default.

    Raises:
        InvalidEventError: ``metric_attribution_source`` breaks the PutEvents pattern.

    Thread-safe; the truncation counter has its own lock (renewed in a forked child).
    """

    __slots__ = (
        "_lock",
        "_pid",
        "_truncated",
        "allow_placeholder_ids",
        "check_fork",
        "ids",
        "metric_attribution_source",
        "plain",
        "schema",
        "target",
        "truncate_impressions",
    )

    def __init__(
        self,
        schema: SchemaCheck | None,
        truncate_impressions: bool,
        metric_attribution_source: str | None,
        ids: SharedIds,
        check_fork: Callable[[], None] | None = None,
        allow_placeholder_ids: bool = False,
    ) -> None:
        self.ids = ids
        self.allow_placeholder_ids = bool(allow_placeholder_ids)
        self.check_fork = check_fork
        self.schema = schema
        self.truncate_impressions = bool(truncate_impressions)
        self.metric_attribution_source = (
            None
            if metric_attribution_source is None
            else check_attribution_source(metric_attribution_source)
        )
        #: True when ``Event.create`` alone does the job (no schema, no truncation).
        self.plain = schema is None and not truncate_impressions
        #: The checks of what the Tracker's target uses, or None (see :meth:`add_target`).
        self.target: TargetCheck | None = None
        self._lock = threading.Lock()
        self._truncated = 0
        self._pid = os.getpid()

    def add_target(self, target: TargetCheck) -> None:
        """Check every built event against a target too (events then leave the fast path)."""
        self.target = target
        self.plain = False

    # ------------------------------------------------------------------ counters

    def count_truncated(self) -> None:
        """Count one impression list cut to the PutEvents maximum."""
        if self._pid != os.getpid():
            self._after_fork()
        with self._lock:
            self._truncated += 1

    @property
    def impressions_truncated(self) -> int:
        """Impression lists cut to 25 ids so far (in this process: a forked child starts at 0)."""
        if self._pid != os.getpid():
            self._after_fork()
        return self._truncated

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        self._truncated = 0
        self._pid = os.getpid()

    # ------------------------------------------------------------------ properties

    def context(self, context: PropertiesInput) -> tuple[dict[str, Any], str | None]:
        """Normalise, check and encode a session's context once, at session creation.

        Returns:
            ``(normalised, encoded)``: camelCase keys to values (coerced by the schema), and
            the PutEvents ``properties`` string (``None`` when empty).

        Raises:
            InvalidEventError: as for ``properties`` (the field is ``properties`` or
                ``properties.<key>``), or a key/value the schema refuses.
        """
        if context is None:
            return {}, None
        normalised = normalise_properties(context)
        if self.schema is not None:
            normalised = self.schema.check_properties(normalised)
        return normalised, encode_normalised(normalised)

    def properties(
        self, properties: PropertiesInput, defaults: Mapping[str, Any] | None = None
    ) -> str | None:
        """Normalise an event's ``properties``, merge them over ``defaults``, check and encode.

        A ``None`` value in ``properties`` removes that key of ``defaults``.
        """
        if properties is None:
            return None if not defaults else encode_normalised(defaults)
        normalised = normalise_properties(properties, keep_none=defaults is not None)
        if self.schema is not None:
            normalised = self.schema.check_properties(normalised)
        if defaults:
            normalised = {**defaults, **normalised}
        return encode_normalised(normalised)

    # ------------------------------------------------------------------ events

    def impression(self, impression: Iterable[str | int]) -> tuple[tuple[str, ...], bool]:
        """Validate an impression list, keeping the first 25 ids if truncation is on.

        Returns:
            ``(ids, truncated)``; the caller counts the truncation once the event is built.

        Raises:
            InvalidEventError: as ``Event.create`` does; more than 25 distinct ids is an error
                only without ``truncate_impressions``.
        """
        ids = unique_item_ids(impression)
        if len(ids) > LIMITS.impression_max_items:
            if not self.truncate_impressions:
                raise InvalidEventError(
                    "impression",
                    f"has {len(ids)} distinct item ids; pass truncate_impressions=True to the "
                    "Tracker to keep the first ones",
                    IMPRESSION_LIMIT,
                )
            return ids[: LIMITS.impression_max_items], True
        return ids, False

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
        impression: Iterable[str | int] | None,
        metric_attribution_source: str | None,
    ) -> Event:
        """Build a validated Event from prepared properties; check the schema's event rules.

        Raises:
            InvalidEventError: a PutEvents rule or a schema rule is broken, or (with a strict
                target) the event breaks a rule of what the target uses.
        """
        if self.check_fork is not None:
            self.check_fork()  # before the event id is drawn: ids must differ from a parent's
        if type(item_id) is str:
            item_id = self.ids.item(item_id)  # queued events share equal item ids
        impression_ids: tuple[str, ...] | None = None
        truncated = False
        if impression is not None:
            impression_ids, truncated = self.impression(impression)
        if self.schema is not None:
            self.schema.check_event(item_id, event_value, impression_ids)
        event = build_event(
            event_type,
            session_id,
            user_id,
            item_id,
            event_value,
            encoded_properties,
            sent_at,
            event_id,
            recommendation_id,
            impression_ids,
            metric_attribution_source,
            prepared=True,
            allow_placeholder_ids=self.allow_placeholder_ids,
        )
        if self.target is not None:
            self.target.check(event)  # raises with strict=True: nothing is queued
        if truncated:
            self.count_truncated()
        return event
