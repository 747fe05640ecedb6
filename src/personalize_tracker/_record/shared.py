"""Id strings shared by queued events, and the group key of an event.

A queued event holds its ids as string objects. The events of one session share its user and
session id strings, and those of one item its item id, instead of each holding an equal copy
(~150 bytes less per queued event): the tables below map an id to the first equal string seen
lately. The session table also gives each session one ``(user_id, session_id)`` tuple, the key of
its group in the buffer.

Dictionary operations only, so the tables are safe without a lock (each operation is atomic
under the GIL); they are bounded, starting over when full, and cleared in place after a fork
(so that references to them, held on ``Tracker.track``'s hot path, stay valid).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .fields import MAX_ITEM_ID

if TYPE_CHECKING:
    from .event import Event

__all__ = ["GroupKey", "SharedIds"]

#: (user_id, session_id) of a PutEvents call: the group an event is batched with.
GroupKey = tuple["str | None", str]


class SharedIds:
    """The tables of shared id strings of one Tracker.

    Args:
        max_size: entries per table at most (the Tracker's ``max_queue_size``): when full, a
            table starts over.

    Attributes:
        sessions: session id → the ``(user_id, session_id)`` key of its events, for sessions
            with events pending (:meth:`forget` drops a session whose group emptied).
        items: item id → the shared item id string.
    """

    __slots__ = ("items", "max_size", "sessions")

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self.sessions: dict[str, GroupKey] = {}
        self.items: dict[str, str] = {}

    def item(self, item_id: str) -> str:
        """The first equal item id string seen lately (``item_id`` itself on a miss, kept for
        later events when it is a valid id: 1-256 characters)."""
        shared = self.items.get(item_id)
        if shared is not None:
            return shared
        if 0 < len(item_id) <= MAX_ITEM_ID:  # the hot path trusts the ids kept: valid ones only
            self.remember_item(item_id)
        return item_id

    def remember_item(self, item_id: str) -> None:
        """Keep ``item_id``, a valid item id, as the string to share."""
        items = self.items
        if len(items) >= self.max_size:
            items.clear()
        items[item_id] = item_id

    def remember_session(self, user_id: str | None, session_id: str) -> GroupKey:
        """Keep ``(user_id, session_id)`` as the key of the session's events (replacing the
        entry of a visitor who logged in and changed user id); return it."""
        sessions = self.sessions
        if len(sessions) >= self.max_size:
            sessions.clear()  # bounded: it starts over
        key = sessions[session_id] = (user_id, session_id)
        return key

    def key_of(self, event: Event) -> GroupKey:
        """The group key of ``event`` (the pipeline's key function for events): the session
        table's tuple when it holds the event's very strings (one tuple per session), else a new
        one."""
        session_id, user_id = event.session_id, event.user_id
        key = self.sessions.get(session_id)
        if key is None or key[1] is not session_id or key[0] is not user_id:
            return (user_id, session_id)
        return key

    def forget(self, key: GroupKey) -> None:
        """The group of ``key`` emptied: forget its session unless a newer key replaced it."""
        sessions = self.sessions
        if sessions.get(key[1]) is key:
            sessions.pop(key[1], None)

    def clear(self) -> None:
        """Forget everything, in place (after a fork)."""
        self.sessions.clear()
        self.items.clear()
