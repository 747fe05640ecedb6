"""The spool's keeper: what is on disk, what is being read back, and when the spool closes.

With ``overflow="spill"``, records that do not fit in memory go to the spool, and so does every
record after them until the spool is read back (first in, first out). Sender threads read it back
in chunks (a chore that needs no sending slot) when the buffer has room. ``close()`` writes back
what it could not deliver; the spool is closed (its lock released, so that the next process
adopts what is left) only once no call and no read-back is under way.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from .spool import Spool, SpoolWriteError

__all__ = ["SpoolKeeper"]

R = TypeVar("R")
logger = logging.getLogger("personalize_tracker")

# Records read back from the spool at a time.
_REFILL_CHUNK = 1000


class SpoolKeeper(Generic[R]):
    """The spool of one pipeline and its counts. Not thread-safe: the pipeline holds its lock,
    except around :meth:`read`.

    Args:
        path: the spool folder, or None for no spool.
        encode, decode: a record as a JSON object and back (see :class:`Spool`).
        in_child: opening happens in a forked child: a spool that cannot be opened is logged,
            not raised (the fork hook must not fail half way); the child then drops what does
            not fit, with a reason.

    Raises:
        OSError: the spool cannot be opened (not in a child).

    Attributes:
        spool: the open spool, or None.
        spooled: records on disk, not yet read back.
        refilling: records being read back now (reserved, not yet in the buffer).
        recovered: records found in spools of ended processes when it opened.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        encode: Callable[[R], dict[str, Any]],
        decode: Callable[[Mapping[str, Any]], R],
        in_child: bool = False,
    ) -> None:
        self.spool: Spool[R] | None = None
        if path is not None:
            try:
                self.spool = Spool(path, encode, decode)
            except OSError:
                if not in_child:
                    raise
                logger.exception("personalize-tracker: no spool in this forked process")
        self.recovered = 0 if self.spool is None else self.spool.recovered
        self.spooled = self.recovered
        self.refilling = 0
        #: records written by the last :meth:`spill` that a ``BaseException`` cut short
        self.interrupted_after = 0
        self._close_when_idle = False

    @property
    def spilling(self) -> bool:
        """Whether records wait on disk or are being read back: new ones go after them."""
        return bool(self.spooled or self.refilling)

    def spill(
        self, records: Sequence[R], tracked_at: Sequence[float] | None = None
    ) -> tuple[int, str | None]:
        """Write ``records`` to the spool, in order; return how many are on disk now (the first
        ones) and, when not all, the problem (the disk filled, a record could not be encoded).

        ``tracked_at`` holds the monotonic time each was tracked, kept on disk (as wall-clock
        time) so that ``max_event_age`` still counts from ``track()``; default: now. Exactly the
        records written count as spooled: the caller fails the rest, so that none has two
        outcomes (spooled, then delivered by the next process, and failed).
        """
        assert self.spool is not None
        now_mono, now_wall = time.monotonic(), time.time()
        walls = (
            [now_wall] * len(records)
            if not tracked_at
            else [now_wall - (now_mono - t) for t in tracked_at]
        )
        before = self.spool.count
        try:
            written = self.spool.append(records, walls)
        except SpoolWriteError as exc:
            self.spooled += exc.written
            return exc.written, str(exc)
        except BaseException:
            # Ctrl-C between two lines: the lines written are on disk and count as spooled;
            # ``interrupted_after`` tells the caller how many, so that it keeps the rest.
            self.interrupted_after = self.spool.count - before
            self.spooled += self.interrupted_after
            raise
        except Exception as exc:  # pragma: no cover - append raises SpoolWriteError only
            return 0, f"the spool could not be written ({type(exc).__name__}: {exc})"
        self.spooled += written
        return written, None

    def keep(self, records: Sequence[R], tracked_at: Sequence[float] | None = None) -> int:
        """Write ``records`` to the spool if one is open; return how many (the first ones) are
        on disk now: the caller fails the others (no spool, or the disk refused them)."""
        if self.spool is None:
            return 0
        return self.spill(records, tracked_at)[0]

    def due(self, held: int, capacity: int, stopping: bool) -> int:
        """How many records to read back now (``held``: records in memory); reserves them."""
        if not self.spooled or self.refilling or self.spool is None or stopping:
            return 0
        if capacity - held < min(_REFILL_CHUNK, capacity // 2):
            return 0  # too little room for a chunk worth reading (and grouping)
        count = min(self.spooled, capacity - held, _REFILL_CHUNK)
        self.spooled -= count
        self.refilling += count
        return count

    def read(self, count: int) -> tuple[list[R], list[float]]:
        """Read ``count`` reserved records back (no lock held): the records and the wall-clock
        time each was tracked. Fewer come back when lines are unreadable or the disk fails
        (logged); the caller settles the reservation with :meth:`settle`."""
        spool = self.spool
        try:
            if spool is not None:
                return spool.read(count)
        except OSError as exc:
            logger.error("personalize-tracker: reading the spool failed: %s", exc)
        return [], []

    def settle(self, count: int) -> None:
        """The read-back of ``count`` reserved records is over (lock held)."""
        self.refilling -= count

    def close_later(self) -> None:
        """Close the spool once nothing is under way (see :meth:`detach_if_idle`)."""
        self._close_when_idle = True

    def detach_if_idle(self, in_flight: int, force: bool = False) -> Spool[R] | None:
        """Take the spool away, for the caller to close outside the lock, if it was asked to
        close (or ``force``) and no call (``in_flight`` records) and no read-back is under
        way."""
        if (self._close_when_idle or force) and in_flight == 0 and self.refilling == 0:
            spool, self.spool = self.spool, None
            return spool
        return None

    def abandon(self) -> None:
        """In a forked child: the parent's spool stays the parent's."""
        if self.spool is not None:
            self.spool.abandon()
            self.spool = None
