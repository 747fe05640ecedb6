"""Building events when more than the PutEvents rules apply: a schema, context, truncation.

``Tracker.track()`` without a schema and without ``truncate_impressions`` goes straight to
``build_event``; everything else (and every :class:`TrackingSession` event) comes through here.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from ._errors import InvalidEventError
from ._event import (
    IMPRESSION_LIMIT,
    Event,
    PropertiesInput,
    SentAtInput,
    _attribution_source,
    build_event,
    encode_normalised,
    normalise_properties,
    unique_item_ids,
)
from ._limits import LIMITS
from .schema import InteractionsSchema

__all__ = ["EventComposer"]


class EventComposer:
    """A Tracker's event-building policy: schema, impression truncation, default attribution.

    Thread-safe; the truncation counter has its own lock.
    """

    __slots__ = (
        "_lock",
        "_pid",
        "_truncated",
        "metric_attribution_source",
        "plain",
        "schema",
        "truncate_impressions",
    )

    def __init__(
        self,
        schema: InteractionsSchema | None,
        truncate_impressions: bool,
        metric_attribution_source: str | None,
    ) -> None:
        if schema is not None and not isinstance(schema, InteractionsSchema):
            raise ValueError(
                f"schema must be an InteractionsSchema, got {type(schema).__name__} "
                "(use InteractionsSchema.from_json or .from_arn)"
            )
        self.schema = schema
        self.truncate_impressions = bool(truncate_impressions)
        self.metric_attribution_source = (
            None
            if metric_attribution_source is None
            else _attribution_source(metric_attribution_source)
        )
        #: True when ``Event.create`` alone does the job (no schema, no truncation).
        self.plain = schema is None and not truncate_impressions
        self._lock = threading.Lock()
        self._truncated = 0
        self._pid = os.getpid()

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
            InvalidEventError: a PutEvents rule or a schema rule is broken.
        """
        ids: tuple[str, ...] | None = None
        truncated = False
        if impression is not None:
            ids, truncated = self.impression(impression)
        if self.schema is not None:
            self.schema.check_event(item_id, event_value, ids)
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
            ids,
            metric_attribution_source,
            prepared=True,
        )
        if truncated:
            self.count_truncated()
        return event
