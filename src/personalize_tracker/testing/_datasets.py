"""What the fake keeps of PutItems, PutUsers, PutActions and PutActionInteractions: the records
of accepted calls, the rules that reject calls, and the handle's members that expose them.

The records live in :class:`DatasetRecords`, a part of the handle guarded by the handle's own
lock (its ``changed`` condition), so a wait on the handle wakes for any of them; the members
(``.items``, ``.wait_for_items``, ``.reject_items``...) come from :class:`DatasetMembers`, a
base class of :class:`~personalize_tracker.testing.PersonalizeEventsMock`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import attrs

from ._protocol import ServiceError
from ._records import RecordedAction, RecordedActionInteraction, RecordedItem, RecordedUser

__all__ = ["DATASET_OPERATIONS", "DatasetMembers", "DatasetRecords"]


@attrs.frozen(slots=True)
class _Kind:
    """One operation's shape: its list member, its record type, the id named in rejections."""

    member: str
    record: Any
    id_key: str
    noun: str


#: Operation -> (list member of the request, record type, id member, noun for messages).
DATASET_OPERATIONS: dict[str, _Kind] = {
    "PutItems": _Kind("items", RecordedItem, "itemId", "item"),
    "PutUsers": _Kind("users", RecordedUser, "userId", "user"),
    "PutActions": _Kind("actions", RecordedAction, "actionId", "action"),
    "PutActionInteractions": _Kind(
        "actionInteractions", RecordedActionInteraction, "eventId", "action interaction"
    ),
}


@attrs.define(slots=True)
class _Rejection:
    predicate: Callable[[Any], bool]
    message: str | None


class DatasetRecords:
    """The accepted records and the rejection rules of the four dataset operations.

    Thread-safe through the handle's condition: :meth:`add`, :meth:`clear` and :meth:`count`
    expect it held; the others take it.
    """

    def __init__(self, changed: threading.Condition) -> None:
        """Create empty records guarded by ``changed`` (the handle's lock and condition)."""
        self._changed = changed
        self._records: dict[str, list[Any]] = {name: [] for name in DATASET_OPERATIONS}
        self._rejections: dict[str, list[_Rejection]] = {name: [] for name in DATASET_OPERATIONS}

    def receive(self, operation: str, params: dict[str, Any]) -> list[Any]:
        """The records of one validated call, checked against the rejection rules.

        Args:
            operation: a key of :data:`DATASET_OPERATIONS`.
            params: the decoded, validated request body.

        Returns:
            One record per member of the call's list, in order.

        Raises:
            ServiceError: 400 ``InvalidInputException`` when a record matches a rule; the
                message names its index in the list and its id, and no record is accepted.
        """
        kind = DATASET_OPERATIONS[operation]
        records = [kind.record.from_wire(params, member) for member in params[kind.member]]
        with self._changed:
            rejections = list(self._rejections[operation])
        for rejection in rejections:
            for index, record in enumerate(records):
                if rejection.predicate(record):
                    ident = params[kind.member][index].get(kind.id_key)
                    reason = rejection.message or "rejected by test predicate"
                    raise ServiceError(
                        400,
                        "InvalidInputException",
                        f"Invalid {kind.noun} at index {index} of {kind.member} "
                        f"({kind.id_key}={ident!r}): {reason}",
                    )
        return records

    def add(self, operation: str, records: list[Any]) -> None:
        """Keep the records of an accepted call (the handle's lock held)."""
        self._records[operation].extend(records)

    def count(self, operation: str) -> int:
        """How many records of ``operation`` were accepted (the handle's lock held)."""
        return len(self._records[operation])

    def snapshot(self, operation: str) -> list[Any]:
        """A copy of the accepted records of ``operation``, in arrival order."""
        with self._changed:
            return list(self._records[operation])

    def wait_for(self, operation: str, n: int, timeout: float | None) -> bool:
        """Block until ``n`` records of ``operation`` were accepted or ``timeout`` passes."""
        with self._changed:
            return self._changed.wait_for(lambda: self.count(operation) >= n, timeout)

    def reject(self, operation: str, predicate: Callable[[Any], bool], message: str | None) -> None:
        """Add a rule: a call of ``operation`` with a record matching ``predicate`` fails."""
        with self._changed:
            self._rejections[operation].append(_Rejection(predicate, message))

    def clear(self) -> None:
        """Forget every record and rule (the handle's lock held)."""
        for records in self._records.values():
            records.clear()
        for rules in self._rejections.values():
            rules.clear()


class DatasetMembers:
    """The handle's members for PutItems, PutUsers, PutActions and PutActionInteractions.

    Each operation has a snapshot of its accepted records (each with its dataset ARN; action
    interactions each with their own session), a ``wait_for_*`` and a ``reject_*`` that work as
    ``wait_for_events`` and ``reject_events`` do for PutEvents. Faults are injected with
    ``inject_fault(kind, operation="PutItems")`` and the like.
    """

    _datasets: DatasetRecords

    @property
    def items(self) -> list[RecordedItem]:
        """Every item of every accepted PutItems call, in arrival order (a snapshot copy)."""
        return self._datasets.snapshot("PutItems")

    @property
    def users(self) -> list[RecordedUser]:
        """Every user of every accepted PutUsers call, in arrival order (a snapshot copy)."""
        return self._datasets.snapshot("PutUsers")

    @property
    def actions(self) -> list[RecordedAction]:
        """Every action of every accepted PutActions call, in arrival order (a snapshot copy)."""
        return self._datasets.snapshot("PutActions")

    @property
    def action_interactions(self) -> list[RecordedActionInteraction]:
        """Every action interaction of every accepted PutActionInteractions call, in arrival
        order (a snapshot copy)."""
        return self._datasets.snapshot("PutActionInteractions")

    def wait_for_items(self, n: int, timeout: float | None = 5.0) -> bool:
        """Block until at least ``n`` items were accepted, or ``timeout`` seconds pass
        (``None``: no limit). Returns ``True`` if they were, ``False`` on timeout."""
        return self._datasets.wait_for("PutItems", n, timeout)

    def wait_for_users(self, n: int, timeout: float | None = 5.0) -> bool:
        """Block until at least ``n`` users were accepted, or ``timeout`` seconds pass
        (``None``: no limit). Returns ``True`` if they were, ``False`` on timeout."""
        return self._datasets.wait_for("PutUsers", n, timeout)

    def wait_for_actions(self, n: int, timeout: float | None = 5.0) -> bool:
        """Block until at least ``n`` actions were accepted, or ``timeout`` seconds pass
        (``None``: no limit). Returns ``True`` if they were, ``False`` on timeout."""
        return self._datasets.wait_for("PutActions", n, timeout)

    def wait_for_action_interactions(self, n: int, timeout: float | None = 5.0) -> bool:
        """Block until at least ``n`` action interactions were accepted, or ``timeout`` seconds
        pass (``None``: no limit). Returns ``True`` if they were, ``False`` on timeout."""
        return self._datasets.wait_for("PutActionInteractions", n, timeout)

    def reject_items(
        self, predicate: Callable[[RecordedItem], bool], *, message: str | None = None
    ) -> None:
        """Fail every PutItems call with an item matching ``predicate`` (400
        ``InvalidInputException`` naming its index in ``items`` and its ``itemId``; none of the
        call's items is accepted) until :meth:`reset`. ``message`` replaces "rejected by test
        predicate" in the error; an exception the predicate raises is answered 500."""
        self._datasets.reject("PutItems", predicate, message)

    def reject_users(
        self, predicate: Callable[[RecordedUser], bool], *, message: str | None = None
    ) -> None:
        """Fail every PutUsers call with a user matching ``predicate``, as :meth:`reject_items`
        does for items (the error names the index in ``users`` and the ``userId``)."""
        self._datasets.reject("PutUsers", predicate, message)

    def reject_actions(
        self, predicate: Callable[[RecordedAction], bool], *, message: str | None = None
    ) -> None:
        """Fail every PutActions call with an action matching ``predicate``, as
        :meth:`reject_items` does for items (naming the index in ``actions`` and the
        ``actionId``)."""
        self._datasets.reject("PutActions", predicate, message)

    def reject_action_interactions(
        self, predicate: Callable[[RecordedActionInteraction], bool], *, message: str | None = None
    ) -> None:
        """Fail every PutActionInteractions call with an action interaction matching
        ``predicate``, as :meth:`reject_items` does for items (naming the index in
        ``actionInteractions`` and the ``eventId``)."""
        self._datasets.reject("PutActionInteractions", predicate, message)
