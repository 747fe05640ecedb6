"""The pipelines of one Tracker (its events', then each other kind's), flushed, closed and flushed
at interpreter exit together, within one timeout for all of them.

Each pipeline has its own sender pool, so they are all started first (what they hold is forced
out and their senders woken; ``close()`` and the exit flush seal them too), and only then waited
for, one after another, each until the one deadline: a kind whose calls fail (a PutEvents outage)
no longer takes the whole timeout before the next kind sends anything. Where the waiting thread
also does the sending (``sync=True``, and the exit flush, when no thread may start), each pipeline
that still holds records gets an equal share of the time left when its turn comes.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

__all__ = ["PipelineGroup"]


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


class PipelineGroup:
    """One Tracker's pipelines (a :class:`~personalize_tracker._pipeline.Pipeline` each), in
    the order they were added (events first). The group holds them through weak references; each
    pipeline holds the group (its ``group``), whose exit flush covers them all.

    Attributes:
        exited: the exit flush ran (it runs once, for every member).
    """

    def __init__(self) -> None:
        self._members: list[weakref.ref[Any]] = []
        self.exited = False

    def add(self, pipeline: Any) -> None:
        """Make ``pipeline`` a member: flushed, closed and flushed at exit with the others."""
        pipeline.group = self
        self._members.append(weakref.ref(pipeline))

    def members(self) -> list[Any]:
        """The live members, in the order they were added."""
        found = (ref() for ref in self._members)
        return [pipeline for pipeline in found if pipeline is not None]

    @staticmethod
    def _share(pipelines: list[Any], deadline: float | None, fair: bool) -> float | None:
        """Seconds for ``pipelines[0]``: all that is left, or with ``fair`` (its caller's thread
        sends) an equal share of it among those of ``pipelines`` still holding records."""
        left = _left(deadline)
        if left is None or not fair:
            return left
        holding = sum(1 for p in pipelines if p.stats().pending) or 1
        return left / holding

    def flush(self, timeout: float | None) -> bool:
        """Flush every open member within ``timeout`` seconds in all (``Tracker.flush``);
        whether all of them finished."""
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        members = [p for p in self.members() if not p.closed]
        for pipeline in members:
            pipeline.closing.start(seal=False)
        done = True
        for n, pipeline in enumerate(members):
            share = self._share(members[n:], deadline, pipeline.options.sync)
            done = pipeline.flush(share) and done
        return done

    def close(self, timeout: float | None) -> None:
        """Close every member within ``timeout`` seconds in all (``Tracker.close``)."""
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        members = self.members()
        for pipeline in members:
            pipeline.closing.start(seal=True)
        for n, pipeline in enumerate(members):
            pipeline.close(self._share(members[n:], deadline, pipeline.options.sync))

    def exit_flush(self) -> None:
        """At interpreter exit (once, whichever member's hook runs first): flush every member
        for at most ``exit_timeout`` seconds in all, each with an equal share of the time left
        when its turn comes (the exiting thread delivers)."""
        if self.exited:
            return
        self.exited = True
        members = [p for p in self.members() if p.in_own_process()]
        if not members:
            return
        deadline = time.monotonic() + members[0].options.exit_timeout
        for pipeline in members:
            if not pipeline.closing.finished:
                pipeline.closing.start(seal=True)
        for n, pipeline in enumerate(members):
            share = self._share(members[n:], deadline, fair=True)
            pipeline.closing.exit_flush(min(deadline, time.monotonic() + (share or 0.0)))
