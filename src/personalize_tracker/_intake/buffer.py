"""The pending-record buffer: records grouped by key, taken in batches of one group.

A PutEvents call carries one ``userId`` and one ``sessionId``, so events are grouped by that pair
(other record kinds by what their call carries once, e.g. a dataset ARN). A group holding a full
batch (10 events) is ready at once; any other group is ready when its oldest
pending event has waited ``flush_interval`` seconds. A group whose oldest event is due goes before
full batches, so a stream of full batches cannot starve it. A flush marks the records pending at
that moment as forced (see :meth:`GroupBuffer.force_pending`): they go first, whatever their
group's age, while records added later wait for their batch to fill as usual, so that a flush ends
even while other threads keep tracking.

The buffer is a plain data structure: the pipeline holds its lock around every call.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import attrs

__all__ = ["Batch", "GroupBuffer"]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
_monotonic = time.monotonic
_SHARED_SINCE = 0.001  # seconds: groups created this close share one ``since`` float


@attrs.frozen
class Batch(Generic[K, T]):
    """Items of one group taken together, in arrival order.

    Attributes:
        key: the group's key (for events, the call's (user_id, session_id)).
        records: 1 to ``batch_size`` records.
        times: the monotonic arrival time of each record, or ``[]`` when the buffer keeps none.
        forced: whether it holds records a flush is waiting for.
    """

    key: K
    records: list[T]
    times: list[float]
    forced: bool = False


class _Group(list[T]):
    """One group's pending records, in arrival order: a list, with the group's bookkeeping in
    slots (one object per group, not a record and a list: ~40 bytes less per group).

    Plain lists, not deques: a group holds one batch or a few, and an empty deque's first block
    costs ~760 bytes, against ~180 for a list of 10. ``times`` exists only when the buffer keeps
    arrival times. Batches are taken from the front by moving ``head``; the taken prefix is cut
    off once it is half the list, so a long group (one busy session) stays linear, not quadratic.

    A group of one record, not forced, without arrival times, is not a ``_Group`` at all: the
    buffer holds the bare record (one session per event is common: a session per request, and
    a ``_Group`` and its list cost ~130 bytes). It becomes a ``_Group`` when a second record
    arrives, a flush forces it, records are put back in front of it or its record's position
    is asked for; ``origin`` is then that record, the group's mark in the creation order.
    """

    __slots__ = ("base", "forced", "head", "origin", "times")

    def __init__(self, record: T, keep_times: bool, tracked_at: float) -> None:
        super().__init__((record,))
        self.forced = 0  # records at the front that a flush is waiting for
        self.times: list[float] | None = [tracked_at] if keep_times else None
        self.head = 0  # records before it were taken already
        # Records cut off the front (minus those put back): a record's position, base + index,
        # stays the same while it is in the group (see GroupBuffer.position).
        self.base = 0
        # What stands for the group in the creation order (GroupBuffer._order): the group
        # itself, or the bare record it grew from.
        self.origin: object = self


class _Since:
    """A mark in a buffer's creation order: the groups after it, up to the next mark, were
    created at ``value`` (monotonic seconds; those within a millisecond of it share it)."""

    __slots__ = ("value",)

    def __init__(self, value: float) -> None:
        self.value = value


class GroupBuffer(Generic[K, T]):
    """Pending records grouped by key, in arrival order within each group.

    Args:
        batch_size: records per batch (the PutEvents maximum, 10).
        flush_interval: seconds the oldest record of a group may wait before the group is ready.
        keep_times: keep each record's arrival time (for an age limit); costs a float per record.
    """

    def __init__(
        self,
        batch_size: int,
        flush_interval: float,
        keep_times: bool = False,
        gate: Callable[[], float] | None = None,
    ) -> None:
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.keep_times = keep_times
        #: Seconds before any batch may be taken (None: no gate), e.g. until the rate limit's
        #: next free slot: for a kind whose waiting records are coalesced, records wait here,
        #: where a later record of their id can still replace them, not on the wire. With a
        #: gate, a full batch also waits for its group to be due (``flush_interval``), so that
        #: a burst of updates is coalesced before its first call. ``take(force=True)`` (close,
        #: a synchronous send) ignores it.
        self.gate = gate
        self.size = 0  #: records held
        self.forced = 0  #: records held that a flush is waiting for
        #: Each group: a :class:`_Group`, or the bare record of a group of one (see _Group).
        self.groups: dict[K, _Group[T] | T] = {}
        # The creation order: each group's key and origin (the group, or the bare record it
        # started as), after a :class:`_Since` mark giving the ``since`` (the monotonic time its
        # oldest pending record arrived) of the groups up to the next mark. The first live
        # entry is the next group due (see _oldest). A plain dict and this deque, not an
        # OrderedDict: ~16 bytes per group here against ~50 for an ordered dict's node (a plain
        # dict alone finds its first group by scanning past every group deleted before it:
        # quadratic with many short sessions). A group keeps its ``since`` when part of it is
        # taken: the rest arrived later, so they go no later than flush_interval after their
        # arrival. Stale entries (groups taken) are dropped when they reach the front; those
        # behind a live group are of groups created within its flush_interval or taken by a
        # flush.
        self._order: deque[object] = deque()
        self._front = 0.0  # the ``since`` of the mark last dropped from the front of _order
        # Keys of groups that reached a full batch; may hold stale keys, checked when taken.
        self._full: deque[K] = deque()
        # Keys of groups holding forced records, in the order they were forced; may be stale.
        self._forced: deque[K] = deque()
        # The ``since`` of the last mark: groups created within a millisecond of it share it
        # (no mark of their own: 8 bytes less per group; due at most 1 ms early).
        self._since = -math.inf

    def __len__(self) -> int:
        return self.size

    def add(
        self, key: K, record: T, now: float | None = None, tracked_at: float | None = None
    ) -> bool:
        """Append ``record`` to its group; return True when a batch just became ready.

        ``now`` is the record's arrival, ``time.monotonic()`` (read here, only when needed: for a
        new group, or to keep arrival times, when not given). ``tracked_at`` is the time kept for
        the record's age when it differs from its arrival (a record read back from the spool
        arrives now, and groups with the records around it as a fresh one does, but its age
        counts from ``track()``). A new group becomes the next one due when the buffer was
        empty, which also counts as "ready changed" so that a waiting worker recomputes its
        wait.
        """
        group = self.groups.get(key)
        if group is None:
            first = not self.groups
            arrived = _monotonic() if now is None else now
            order = self._order
            if not 0.0 <= arrived - self._since < _SHARED_SINCE:
                self._since = arrived
                order.append(_Since(arrived))
            self.size += 1
            tracked = arrived if tracked_at is None else tracked_at
            if self.batch_size == 1 or self.keep_times:
                held: object = _Group(record, self.keep_times, tracked)
            else:
                held = record  # a group of one: the bare record
            self.groups[key] = held  # type: ignore[assignment]
            order.append(key)
            order.append(held)
            if self.batch_size == 1:
                return self._mark_full(key)
            return first
        if type(group) is not _Group:
            group = self._grown(key)
        group.append(record)
        if group.times is not None:
            if tracked_at is None:
                tracked_at = _monotonic() if now is None else now
            group.times.append(tracked_at)
        self.size += 1
        if len(group) - group.head == self.batch_size:
            return self._mark_full(key)
        return False

    def _mark_full(self, key: K) -> bool:
        """Group ``key`` holds a full batch: ready now (True), unless a gate holds it back."""
        if self.gate is not None:
            return False
        self._full.append(key)
        return True

    def position(self, key: K) -> tuple[object, int]:
        """Where the record last added to group ``key`` is: a handle for :meth:`replace` (the
        group and the record's position in it, stable while the record is held)."""
        group = self._grown(key)  # a handle on the group that stays: never a bare record
        return group, group.base + len(group) - 1

    def holds(self, key: K, where: tuple[object, int], record: T) -> bool:
        """Whether ``record`` is still held (not taken) at ``where`` (see :meth:`position`)."""
        group, position = where
        if self.groups.get(key) is not group:
            return False  # the group was taken whole (a new one may have the same key)
        held = self._grown(key)  # ``group``: a _Group, as position() made it
        index = position - held.base
        return held.head <= index < len(held) and held[index] is record

    def replace(self, key: K, where: tuple[object, int], old: T, new: T) -> bool:
        """Put ``new`` in the place of ``old``, found at ``where`` (see :meth:`position`), if
        ``old`` is still held there (not taken); return whether it was. Sizes are unchanged."""
        if not self.holds(key, where, old):
            return False
        group = self._grown(key)
        group[where[1] - group.base] = new
        return True

    def requeue(
        self, key: K, records: list[T], times: list[float] | None = None, forced: bool = False
    ) -> None:
        """Put ``records`` (taken from group ``key`` earlier, in their order) back at the front
        of their group, to be taken again before anything that arrived after them.

        ``times``: their arrival times (kept when the buffer keeps times; default: now).
        ``forced``: a flush waits for them (they came from a forced batch): they stay forced.
        """
        if not records:
            return
        now = _monotonic()
        if times is None:
            times = [now] * len(records)
        if key not in self.groups:
            # A new group, due as a fresh arrival: it waits flush_interval for company.
            self.add(key, records[0], now, times[0])
            group = self._grown(key)
            # Its entry in the creation order (the last, just made) names the group itself, not
            # its first record: that record may be the origin of its old group's stale entry.
            group.origin = self._order[-1] = group
            for record, tracked in zip(records[1:], times[1:], strict=True):
                self.add(key, record, now, tracked)
        else:
            group = self._grown(key)
            head = group.head
            group[head:head] = records
            group.base -= len(records)
            if group.times is not None:
                group.times[head:head] = times
            self.size += len(records)
            if len(group) - head >= self.batch_size:
                self._mark_full(key)
            if group.forced:  # forced records sit at the front: these predate them
                forced = True
        if forced:
            if not group.forced:
                self._forced.append(key)
            group.forced += len(records)
            self.forced += len(records)

    def force_pending(self) -> int:
        """Mark every record held now as forced (a flush); return how many are forced in all.

        Forced records are taken before anything else, and :attr:`forced` counts those not yet
        taken. Items added afterwards are not forced.
        """
        for key in [key for key, group in self.groups.items() if type(group) is not _Group]:
            self._grown(key)  # a forced group counts its forced records: a _Group
        for key, group in self.groups.items():
            assert isinstance(group, _Group)
            pending = len(group) - group.head
            if group.forced < pending:
                if not group.forced:
                    self._forced.append(key)
                self.forced += pending - group.forced
                group.forced = pending
        return self.forced

    def take(self, now: float, force: bool = False) -> Batch[K, T] | None:
        """Remove and return the next ready batch, or None when nothing is ready.

        In order: forced records (a flush); the group whose oldest record has waited
        ``flush_interval`` seconds (so full batches cannot starve it); full batches; with
        ``force`` (close), any group. Nothing (but with ``force``) while the gate is closed.
        """
        if not force and self.gate is not None and self.gate() > 0:
            return None
        while self._forced:
            key = self._forced[0]
            group = self.groups.get(key)
            if isinstance(group, _Group) and group.forced:
                return self._take_from(key, group)
            self._forced.popleft()  # stale: its forced records were taken
        if not self.groups:
            self._full.clear()  # stale keys only: their groups were taken by another path
            self._forced.clear()
            self._clear_order()
            return None
        key, group, since = self._oldest()
        if force or now - since >= self.flush_interval:
            return self._take_from(key, group)
        while self._full:
            key = self._full.popleft()
            group = self.groups.get(key)
            if isinstance(group, _Group) and len(group) - group.head >= self.batch_size:
                return self._take_from(key, group)
        return None

    def seconds_until_due(self, now: float) -> float | None:
        """Seconds until the next batch is ready (0 if one is ready now), None when empty;
        no sooner than the gate opens."""
        wait = self._due(now)
        if wait is None or self.gate is None:
            return wait
        return max(wait, self.gate())

    def _due(self, now: float) -> float | None:
        """Seconds until the next batch is ready, regardless of the gate.

        Drops the stale keys at the front of the full and forced queues first (groups taken by
        another path, e.g. a flush), so that they do not make a batch look ready.
        """
        if not self.groups:
            return None
        full, forced, groups = self._full, self._forced, self.groups
        while full:
            group = groups.get(full[0])
            if isinstance(group, _Group) and len(group) - group.head >= self.batch_size:
                break
            full.popleft()
        while forced:
            group = groups.get(forced[0])
            if isinstance(group, _Group) and group.forced:
                break
            forced.popleft()
        if full or forced:
            return 0.0
        since = self._oldest()[2]
        return max(0.0, since + self.flush_interval - now)

    def has_ready(self, now: float, force: bool = False) -> bool:
        """Whether :meth:`take` would return a batch now."""
        wait = self.seconds_until_due(now)
        return wait is not None and (force or wait == 0.0)

    def drain(self) -> list[Batch[K, T]]:
        """Remove and return everything, as batches of at most ``batch_size`` records."""
        batches: list[Batch[K, T]] = []
        while self.groups:
            key, group, _ = self._oldest()
            batches.append(self._take_from(key, group))
        self._full.clear()
        self._forced.clear()
        self._clear_order()
        return batches

    def _oldest(self) -> tuple[K, _Group[T] | T, float]:
        """The group created first of those held (there is one), its key and its ``since``:
        the front entry whose group is the origin beside it (a group of the same key created
        later is another object, with its own entry). Amortised O(1): each entry is dropped
        once."""
        order, groups = self._order, self.groups
        while True:
            key = order[0]
            if type(key) is _Since:  # the groups after it were created at its time
                self._front = key.value
                order.popleft()
                continue
            group = groups.get(key)  # type: ignore[arg-type]
            first = order[1]
            if group is not None and (
                group is first or (type(group) is _Group and group.origin is first)
            ):
                return key, group, self._front  # type: ignore[return-value]
            order.popleft()
            order.popleft()

    def _clear_order(self) -> None:
        """Forget the creation order (no group is held, or none will be)."""
        self._order.clear()
        self._since = -math.inf  # the next group brings a mark

    def _grown(self, key: K) -> _Group[T]:
        """The group of ``key`` as a :class:`_Group`, in its place in the order."""
        group = self.groups[key]
        if type(group) is _Group:
            return group
        grown: _Group[T] = _Group(group, False, 0.0)  # type: ignore[arg-type]
        grown.origin = group  # its entry in the creation order names the bare record
        self.groups[key] = grown  # an existing key keeps its place
        return grown

    def _take_from(self, key: K, group: _Group[T] | T) -> Batch[K, T]:
        if type(group) is not _Group:  # a group of one: the bare record
            del self.groups[key]
            self.size -= 1
            return Batch(key, [group], [])  # type: ignore[list-item]
        assert isinstance(group, _Group)
        records, times, head = group, group.times, group.head
        count = self.batch_size
        if len(records) - head <= count:  # the whole group: hand its lists over
            del self.groups[key]
            if head:
                del records[:head]
                if times is not None:
                    del times[:head]
            batch = Batch(key, records, [] if times is None else times, group.forced > 0)
            self.forced -= group.forced
        else:
            end = head + count
            batch = Batch(
                key, records[head:end], [] if times is None else times[head:end], group.forced > 0
            )
            if group.forced:
                taken_forced = min(group.forced, count)
                group.forced -= taken_forced
                self.forced -= taken_forced
            if end * 2 >= len(records):  # cut the taken prefix off: amortised O(1) per record
                del records[:end]
                group.base += end
                if times is not None:
                    del times[:end]
                end = 0
            group.head = end
            if len(records) - end >= count:
                self._mark_full(key)
        self.size -= len(batch.records)
        return batch
