"""Reporting records that failed or were dropped: to the dead-letter file, then to ``on_failure``
or to the log (never with user data, and for drops at most one line per 10 seconds).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from .._failure import FailedEvent, FailureReason
from .deadletter import DeadLetterWriter

__all__ = ["Reporter"]

R = TypeVar("R")
logger = logging.getLogger("personalize_tracker")

# Seconds between two log lines about dropped records.
_DROP_LOG_SECONDS = 10.0


class Reporter(Generic[R]):
    """Reports failures; called with no lock held, on the thread where they happened.

    Args:
        on_failure: called with each group of failures; exceptions it raises are logged and
            swallowed. None: failures are logged at WARNING on ``personalize_tracker`` (event
            ids, reason and error; never user ids or properties).
        dead_letters: the dead-letter file every failure is written to first, or None.
        capacity: the queue's ``max_queue_size`` (named in the log line about drops).
        record_id: a record's id for log lines (for events, its ``event_id``).
        noun: what a record is called in log lines (``"event"``, ``"item"``...).
    """

    def __init__(
        self,
        on_failure: Callable[[Sequence[FailedEvent]], None] | None,
        dead_letters: DeadLetterWriter[R] | None,
        capacity: int,
        record_id: Callable[[R], str],
        noun: str = "event",
    ) -> None:
        self.noun = noun
        self.on_failure = on_failure
        self.dead_letters = dead_letters
        self.capacity = capacity
        self._record_id = record_id
        self._lock = threading.Lock()
        self._unlogged_drops = 0
        self._next_drop_log = 0.0

    def report(self, failed: Sequence[FailedEvent]) -> None:
        """Write ``failed`` to the dead-letter file, then pass it to ``on_failure`` or log it.

        Raises nothing (the records are already accounted; a sender thread must not die of a
        report): an ``Exception`` from the dead-letter writer, ``on_failure`` or the log is
        logged, and the failures stand.
        """
        if self.dead_letters is not None:
            try:
                self.dead_letters.write(failed)
            except Exception as exc:  # a full disk, a record that cannot be encoded: logged
                logger.error(
                    "personalize-tracker: could not write %d failed %s(s) to %s: %s: %s",
                    len(failed),
                    self.noun,
                    self.dead_letters.path,
                    type(exc).__name__,
                    exc,
                )
        if self.on_failure is not None:
            try:
                self.on_failure(failed)
            except Exception:
                logger.exception("personalize-tracker: on_failure raised; the failures stand")
            return
        try:
            if failed[0].reason is FailureReason.QUEUE_FULL:
                self._log_drops(len(failed))
            else:
                self._log(failed)
        except Exception:  # pragma: no cover - a record id that cannot be shown
            logger.exception("personalize-tracker: could not log %d failure(s)", len(failed))

    def _log_drops(self, count: int) -> None:
        """One line per _DROP_LOG_SECONDS at most: an overloaded process must not drown in logs."""
        with self._lock:
            self._unlogged_drops += count
            now = time.monotonic()
            if now < self._next_drop_log:
                return
            count, self._unlogged_drops = self._unlogged_drops, 0
            self._next_drop_log = now + _DROP_LOG_SECONDS
        logger.warning(
            "personalize-tracker: %d %s(s) dropped: the queue holds max_queue_size=%d "
            "%ss (see stats().dropped; pass on_failure= to handle them)",
            count,
            self.noun,
            self.capacity,
            self.noun,
        )

    def _log(self, failed: Sequence[FailedEvent]) -> None:
        first = failed[0]
        ids = ", ".join(self._record_id(f.event) for f in failed[:5])
        more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
        logger.warning(
            "personalize-tracker: %d %s(s) not delivered (reason=%s, error=%s: %s); %s ids: %s%s",
            len(failed),
            self.noun,
            first.reason.value,
            first.error_code,
            first.message,
            self.noun,
            ids,
            more,
        )

    def close(self) -> None:
        """Log drops still unlogged (the quiet period held them back), and close the
        dead-letter file (reopened by a later write)."""
        with self._lock:
            count, self._unlogged_drops = self._unlogged_drops, 0
        if count:
            logger.warning(
                "personalize-tracker: %d more %s(s) dropped: the queue held "
                "max_queue_size=%d %ss (see stats().dropped)",
                count,
                self.noun,
                self.capacity,
                self.noun,
            )
        if self.dead_letters is not None:
            self.dead_letters.close()

    def after_fork(self) -> None:
        """In a forked child: new locks (a parent thread may have held them at the fork)."""
        self._lock = threading.Lock()
        self._unlogged_drops = 0
        self._next_drop_log = 0.0
        if self.dead_letters is not None:
            self.dead_letters.after_fork()
