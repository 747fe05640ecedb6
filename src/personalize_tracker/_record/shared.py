"""Id strings shared by queued events, and the group key of an event.

A queued event holds its ids as string objects. The events of one session share its user and
session id strings, and those of one item its item id, instead of each holding an equal copy
(~150 bytes less per queued event): the tables below map an id to the first equal string seen
lately. The session table also gives each session one ``(user_id, session_id)`` tuple, the key of
its group in the buffer. A session enters the table with its second event (see
:meth:`SharedIds.check_session` and :meth:`SharedIds.key_of`): a session of one event (one per
request is common) has nothing to share, and its entry would cost ~40 bytes while it waits.

Dictionary operations only, so the tables are safe without a lock (each operation is atomic
under the GIL); they are bounded, starting over when full, and cleared in place after a fork
(so that references to them, held on ``Tracker.track``'s hot path, stay valid).
"""

from __future__ import annotations

from collections.abc import Container
from typing import TYPE_CHECKING

from .fields import (
    MAX_ITEM_ID,
    MAX_SESSION_ID,
    MAX_USER_ID,
    check_id,
    check_placeholder,
    is_placeholder,
)

if TYPE_CHECKING:
    from .event import Event

__all__ = ["GroupKey", "SharedIds"]

#: (user_id, session_id) of a PutEvents call: the group an event is batched with.
GroupKey = tuple["str | None", str]


def _trusted(text: str, limit: int) -> bool:
    """Whether ``track()``'s fast path may trust ``text`` as an id without checking it: 1 to
    ``limit`` ASCII characters, not the text of a missing value. (An event may reach the key
    function unchecked: ``Tracker.enqueue``, the spool.)"""
    return (
        type(text) is str and 0 < len(text) <= limit and text.isascii() and not is_placeholder(text)
    )


class SharedIds:
    """The tables of shared id strings of one Tracker.

    Args:
        max_size: entries per table at most (the Tracker's ``max_queue_size``): when full, a
            table starts over.

    Attributes:
        sessions: session id → the ``(user_id, session_id)`` key of its events, for sessions
            with a second event pending (:meth:`forget` drops a session whose group emptied).
        items: item id → the shared item id string.
        users: user id → the shared user id string: the sessions of one user share it (a
            session per request or per visit brings an equal copy each time; ~56 bytes less per
            queued session of a known user).
    """

    __slots__ = ("held", "items", "keep_checked", "last_checked", "max_size", "sessions", "users")

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        #: The keys of the groups held (the buffer's, read with the pipeline's lock held; see
        #: :meth:`key_of`): empty until the pipeline hands them in (:meth:`watch`).
        self.held: Container[GroupKey] = ()
        #: Keep every session :meth:`check_session` checks (bounded): for a pipeline whose
        #: groups are not sessions (a transport's own), where :meth:`key_of` is not used.
        self.keep_checked = False
        #: The session id :meth:`check_session` checked last: checked again, it is kept.
        self.last_checked: str | None = None
        self.sessions: dict[str, GroupKey] = {}
        self.items: dict[str, str] = {}
        self.users: dict[str, str] = {}

    def item(self, item_id: str) -> str:
        """The first equal item id string seen lately (``item_id`` itself on a miss, kept for
        later events when it is a valid id: 1-256 characters of ASCII, not the text of a missing
        value; the caller checks the others)."""
        shared = self.items.get(item_id)
        if shared is not None:
            return shared
        if _trusted(item_id, MAX_ITEM_ID):  # the hot path trusts the ids kept: valid ones only
            self.remember_item(item_id)
        return item_id

    def check_session(
        self, session_id: str | int, user_id: str | int | None, allow_placeholders: bool
    ) -> GroupKey:
        """Check the ids of a session not in the table (or with a new user id) and return
        them as its key, the user id shared (``Tracker.track``'s fast path, on a miss).

        The session is kept in the table when it is the session checked last (its events come
        in a row, faster than its group reaches the buffer); otherwise :meth:`key_of` keeps it
        once its group holds an event.

        Raises:
            InvalidEventError: an id breaks a PutEvents rule (``check_id``), or is the text of
                a missing value (``"null"``…) and ``allow_placeholders`` is False.
        """
        if (
            type(session_id) is not str
            or not 0 < len(session_id) <= MAX_SESSION_ID
            or not session_id.isascii()
        ):
            session_id = check_id(session_id, "session_id", MAX_SESSION_ID)
        if user_id is not None and (
            type(user_id) is not str or not 0 < len(user_id) <= MAX_USER_ID or not user_id.isascii()
        ):
            user_id = check_id(user_id, "user_id", MAX_USER_ID)
        if not allow_placeholders:
            check_placeholder(session_id, "session_id")
            if user_id is not None:
                check_placeholder(user_id, "user_id")
        if self.keep_checked or session_id == self.last_checked:
            return self.remember_session(user_id, session_id)
        self.last_checked = session_id
        return (None if user_id is None else self.user(user_id), session_id)

    def check_item(self, item_id: str | int, allow_placeholders: bool) -> str:
        """Check an item id not in the table, keep it and return it (``Tracker.track``'s fast
        path, on a miss).

        Raises:
            InvalidEventError: as :meth:`check_session`, for ``item_id``.
        """
        if type(item_id) is not str or not 0 < len(item_id) <= MAX_ITEM_ID or not item_id.isascii():
            item_id = check_id(item_id, "item_id", MAX_ITEM_ID)
        if not allow_placeholders:
            check_placeholder(item_id, "item_id")
        self.remember_item(item_id)
        return item_id

    def remember_item(self, item_id: str) -> None:
        """Keep ``item_id``, a valid item id, as the string to share."""
        items = self.items
        if len(items) >= self.max_size:
            items.clear()
        items[item_id] = item_id

    def user(self, user_id: str) -> str:
        """The first equal user id string seen lately (``user_id`` itself, kept, on a miss;
        the caller checked it)."""
        users = self.users
        shared = users.get(user_id)
        if shared is not None:
            return shared
        if len(users) >= self.max_size:
            users.clear()  # bounded: it starts over
        users[user_id] = user_id
        return user_id

    def remember_session(self, user_id: str | None, session_id: str) -> GroupKey:
        """Keep ``(user_id, session_id)``, the user id shared, as the key of the session's
        events (replacing the entry of a visitor who logged in and changed user id); return
        it."""
        return self.remember((None if user_id is None else self.user(user_id), session_id))

    def remember(self, key: GroupKey) -> GroupKey:
        """Keep ``key`` as the key of its session's events; return it."""
        sessions = self.sessions
        if len(sessions) >= self.max_size:
            sessions.clear()  # bounded: it starts over
        sessions[key[1]] = key
        return key

    def watch(self, held: Container[GroupKey]) -> None:
        """Hand in the keys of the groups held (the buffer's ``groups``, read by :meth:`key_of`
        with the pipeline's lock held)."""
        self.held = held

    def key_of(self, event: Event) -> GroupKey:
        """The group key of ``event`` (the pipeline's key function for events, run with its lock
        held): the session table's tuple when it holds the event's very strings (one tuple per
        session), else a new one, kept in the table when that group holds an event already (the
        session's later events share its strings)."""
        session_id, user_id = event.session_id, event.user_id
        kept = self.sessions.get(session_id)
        if kept is not None and kept[1] is session_id and kept[0] is user_id:
            return kept
        key = (user_id, session_id)
        if key == kept:  # equal strings, other objects (tracked before it was kept): the same
            return kept
        if (  # track() skips every check for a kept session: only ids it would accept
            key in self.held
            and _trusted(session_id, MAX_SESSION_ID)
            and (user_id is None or _trusted(user_id, MAX_USER_ID))
        ):
            self.remember(key)
        return key

    def forget(self, key: GroupKey) -> None:
        """The group of ``key`` emptied: forget its session unless another user's key replaced
        it (a visitor who logged in). ``key`` is the group's, equal to the table's."""
        sessions = self.sessions
        if sessions.get(key[1]) == key:
            sessions.pop(key[1], None)

    def clear(self) -> None:
        """Forget everything, in place (after a fork)."""
        self.sessions.clear()
        self.items.clear()
        self.users.clear()
        self.last_checked = None
