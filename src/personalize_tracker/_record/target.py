"""The checks at ``track()`` of what Personalize will use: a part of the record layer that the
composer calls, like the schema check, when a Tracker has a ``target``.

Each rule comes from the table in ``_rules`` (with its source page). A finding is logged once per
cause on logger ``personalize_tracker`` (WARNING) and counted per kind; with ``strict`` it is an
:class:`InvalidEventError` at the call instead, and nothing is queued.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Hashable

from .. import _rules
from .._errors import InvalidEventError
from ..typing import TargetRules
from .event import Event

__all__ = ["WARNING_KINDS", "TargetCheck"]

logger = logging.getLogger("personalize_tracker")

#: The kinds of findings, as counted in ``Readiness.warnings``.
WARNING_KINDS = (
    "contextual_metadata",
    "impression",
    "event_type_spelling",
    "metadata_columns",
    "event_types_and_metadata",
    "duplicate_event",
)

#: Distinct event types and property keys remembered (beyond, no new one is counted: the
#: findings about their number have long been made by then).
_MAX_NAMES = 1000
_SRC = _rules.SOURCES
#: (kind, cause, field, problem, source)
_Finding = tuple[str, Hashable, str, str, str]


class TargetCheck:
    """Checks each built event against what the target's models use.

    Args:
        rules: the target's rules (a :class:`~personalize_tracker.readiness.Target`).
        strict: raise instead of warning.
        memory: how many recent events are remembered to find duplicates (two events of one
            user with the same ``sentAt`` in milliseconds and identical members): a bounded
            window, so a duplicate further apart than ``memory`` events is not found.

    Raises:
        ValueError: ``rules`` is not a target (it lacks what the checks read).

    Thread-safe (one small lock, taken only by Trackers with a target).
    """

    __slots__ = (
        "_causes",
        "_clean",
        "_event_types",
        "_keys",
        "_lock",
        "_recent",
        "_recent_set",
        "_spellings",
        "counts",
        "memory",
        "rules",
        "strict",
    )

    def __init__(self, rules: TargetRules, strict: bool = False, memory: int = 10_000) -> None:
        needed = ("name", "required_event_types", "uses_context", "uses_impressions")
        if not all(hasattr(rules, name) for name in needed):
            raise ValueError(
                f"target must be a Target (Target.domain, Target.recipe...), "
                f"got {type(rules).__name__}"
            )
        self.rules = rules
        self.strict = bool(strict)
        self.memory = memory
        self._lock = threading.Lock()
        self._causes: set[Hashable] = set()
        #: Event types whose events without properties or impressions had nothing to find.
        self._clean: set[str] = set()
        self._event_types: set[str] = set()
        self._keys: set[str] = set()
        self._recent: deque[Hashable] = deque()
        self._recent_set: set[Hashable] = set()
        #: Findings so far, per kind (every event counts, not only the first of a cause).
        self.counts: dict[str, int] = dict.fromkeys(WARNING_KINDS, 0)
        self._spellings = {_rules.spelling_key(t): t for t in rules.required_event_types}

    def check(self, event: Event) -> None:
        """Check one built event (before it is queued).

        Raises:
            InvalidEventError: with ``strict``, the first finding (field, problem, source).
        """
        if event.properties is None and event.impression is None:
            dedup_key = _dedup_key(event)
            with self._lock:  # an event type known to be fine, and no twin: nothing to find
                if event.event_type in self._clean and dedup_key not in self._recent_set:
                    self._keep(dedup_key)
                    return
        keys: list[str] = []
        if event.properties is not None:
            keys = list(json.loads(event.properties))
        with self._lock:
            findings, dedup_key = self._findings(event, keys)
            if not findings and not keys and len(self._clean) < _MAX_NAMES:
                self._clean.add(event.event_type)
            for kind, _cause, _field, _problem, _limit in findings:
                self.counts[kind] += 1
            fresh = [f for f in findings if f[1] not in self._causes]
            if not (self.strict and findings):  # a refused event leaves no trace
                self._causes.update(f[1] for f in fresh)
                self._remember(event.event_type, keys, dedup_key)
        if findings and self.strict:
            _kind, _cause, field, problem, limit = findings[0]
            raise InvalidEventError(field, problem, limit)
        for _kind, _cause, field, problem, limit in fresh:
            logger.warning("%s: %s (%s); logged once", field, problem, limit)

    def _findings(self, event: Event, keys: list[str]) -> tuple[list[_Finding], Hashable]:
        rules: TargetRules = self.rules
        found: list[_Finding] = []
        if keys and not rules.uses_context:
            found.append((
                "contextual_metadata", ("context", tuple(sorted(keys))), "properties",
                f"contextual metadata {', '.join(sorted(keys))} sent, but no model of "
                f"{rules.name} uses contextual metadata",
                _SRC["context"]))  # fmt: skip
        if event.impression is not None and not rules.uses_impressions:
            found.append((
                "impression", "impression", "impression",
                f"impressions sent, but no model of {rules.name} is documented to use them",
                _SRC["impressions"]))  # fmt: skip
        wanted = self._spellings.get(_rules.spelling_key(event.event_type))
        if wanted is not None and wanted != event.event_type:
            found.append((
                "event_type_spelling", ("type", event.event_type), "event_type",
                f"{event.event_type!r} is not {wanted!r}, which {rules.name} needs spelled "
                "exactly: these events do not count for it",
                _SRC[rules.required_event_types[wanted]]))  # fmt: skip
        found.extend(self._columns(event.event_type, keys))
        dedup_key = _dedup_key(event)
        if dedup_key in self._recent_set:
            found.append((
                "duplicate_event", "duplicate", "sent_at",
                "an earlier event of this user has the same sentAt (ms) and identical members; "
                "Personalize keeps only one of them",
                _SRC["recording"]))  # fmt: skip
        return found, dedup_key

    def _columns(self, event_type: str, keys: list[str]) -> list[_Finding]:
        found: list[_Finding] = []
        names = self._keys.union(keys) if len(self._keys) < _MAX_NAMES else self._keys
        types = len(self._event_types) + (event_type not in self._event_types)
        if keys and len(names) > _rules.MAX_METADATA_COLUMNS:
            found.append((
                "metadata_columns", ("columns", len(names)), "properties",
                f"{len(names)} distinct metadata keys so far; an Item interactions dataset "
                f"holds at most {_rules.MAX_METADATA_COLUMNS} metadata columns",
                _SRC["quotas"]))  # fmt: skip
        if len(names) + types > _rules.MAX_EVENT_TYPES_AND_METADATA:
            found.append((
                "event_types_and_metadata", ("types", len(names) + types), "event_type",
                f"{types} event types and {len(names)} metadata keys so far; an Item "
                f"interactions dataset allows at most {_rules.MAX_EVENT_TYPES_AND_METADATA} "
                "together",
                _SRC["quotas"]))  # fmt: skip
        return found

    def _remember(self, event_type: str, keys: list[str], dedup_key: Hashable) -> None:
        known = len(self._event_types) + len(self._keys)
        if len(self._event_types) < _MAX_NAMES:
            self._event_types.add(event_type)
        if len(self._keys) < _MAX_NAMES:
            self._keys.update(keys)
        if len(self._event_types) + len(self._keys) != known:
            self._clean.clear()  # more columns: an event type fine so far may not be any more
        if dedup_key not in self._recent_set:
            self._keep(dedup_key)

    def _keep(self, dedup_key: Hashable) -> None:
        """Remember an event for the duplicate check (a bounded window)."""
        self._recent.append(dedup_key)
        self._recent_set.add(dedup_key)
        if len(self._recent) > self.memory:
            self._recent_set.discard(self._recent.popleft())


def _dedup_key(event: Event) -> Hashable:
    """What makes two events one for Personalize: one user (or anonymous session), the same
    ``sentAt`` in milliseconds (what goes on the wire), identical members."""
    return (
        event.user_id if event.user_id is not None else ("session", event.session_id),
        round(event.sent_at * 1000),
        event.event_type,
        event.item_id,
        event.event_value,
        event.properties,
        event.recommendation_id,
        event.impression,
    )
