"""Admission: what happens to a record that does not fit in the queue (``overflow``).

- ``"drop"``: it is dropped, with reason ``queue_full``;
- ``"block"``: the caller waits up to ``block_timeout`` seconds for room, then it is dropped;
- ``"spill"``: it goes to the spool on disk, and so does every record after it until the spool
  is read back (first in, first out).

The admission decides; the pipeline does what was decided (adds to the buffer, writes to the
spool, or reports the drop), all under its lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Literal

from .._config import OverflowPolicy

__all__ = ["Admission", "Verdict"]

#: The admission's decision for one record.
Verdict = Literal["add", "spill", "drop"]


class Admission:
    """Decides, with the pipeline's lock held, whether a record goes to the buffer, the spool,
    or nowhere; with ``overflow="block"``, waits for room.

    Args:
        lock: the pipeline's lock (the room condition waits on it).
        capacity: records held in memory at most (``max_queue_size``).
        overflow: the :data:`OverflowPolicy`.
        block_timeout: seconds a caller may wait for room with ``"block"`` (>= 0).
        held: records held in memory now (buffer, inbox, being read back from the spool).
        can_block: whether callers may wait (False in sync mode: nothing else would make room).
        start_senders: called (lock held) before a caller waits, so that someone makes room.

    Attributes:
        waiting: callers waiting for room now.
    """

    def __init__(
        self,
        lock: threading.Lock,
        capacity: int,
        overflow: OverflowPolicy,
        block_timeout: float,
        held: Callable[[], int],
        can_block: bool,
        start_senders: Callable[[], None],
    ) -> None:
        self.capacity = capacity
        self.overflow: OverflowPolicy = overflow
        self.block_timeout = block_timeout
        self._held = held
        self._can_block = can_block and overflow == "block" and block_timeout > 0
        self._start_senders = start_senders
        self._room = threading.Condition(lock)
        self.waiting = 0

    def full(self) -> bool:
        """Whether the queue holds ``capacity`` records (lock held)."""
        return self._held() >= self.capacity

    def decide(self, can_spill: bool, spilling: bool, closed: Callable[[], bool]) -> Verdict:
        """The fate of one record (lock held; may release it while waiting for room).

        Args:
            can_spill: a spool is open.
            spilling: the spool holds records not yet read back: this one goes after them.
            closed: whether the pipeline closed (a waiting caller stops waiting).
        """
        if can_spill and (spilling or self.full()):
            return "spill"
        if self.full() and not self._wait_for_room(closed):
            return "drop"
        return "add"

    def _wait_for_room(self, closed: Callable[[], bool]) -> bool:
        """``overflow="block"``: wait up to ``block_timeout`` for room; whether there is."""
        if not self._can_block:
            return False
        self._start_senders()
        self.waiting += 1
        try:
            return (
                self._room.wait_for(lambda: not self.full() or closed(), self.block_timeout)
                and not closed()
                and not self.full()
            )
        finally:
            self.waiting -= 1

    def freed(self, count: int) -> None:
        """``count`` records left the queue (lock held): as many waiting callers may go on."""
        if self.waiting:
            self._room.notify(count)

    def wake_all(self) -> None:
        """The pipeline closes (lock held): every waiting caller stops waiting."""
        self._room.notify_all()

    def after_fork(self, lock: threading.Lock) -> None:
        """In a forked child: wait on the child's new lock; nobody waits yet."""
        self._room = threading.Condition(lock)
        self.waiting = 0
