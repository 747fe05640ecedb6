"""Flushing at the end of each unit of work: AWS Lambda invocations, jobs, tasks.

In AWS Lambda the execution environment is frozen between invocations: background threads do not
run, and an environment may be discarded without warning. Events must therefore be delivered
before the handler returns::

    tracker = Tracker(TRACKING_ID)  # once, outside the handler

    @flush_after(tracker, timeout=2.0)
    def handler(event, context):
        tracker.track("purchase", session_id=..., item_id=...)
        return {"statusCode": 200}

``flush_after`` is also a context manager (``with flush_after(tracker): ...``).
"""

from __future__ import annotations

import contextlib
import logging
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .tracker import Tracker

__all__ = ["flush_after"]

logger = logging.getLogger("personalize_tracker")


class flush_after(contextlib.ContextDecorator):
    """Flush a Tracker when a block or a decorated function ends, normally or by an exception.

    Args:
        tracker: the Tracker to flush.
        timeout: seconds the flush may take at most (``None``: until it is done). In
            Lambda, leave room in the function's own timeout for it.

    The flush's result is not raised: if the timeout passes first, a WARNING is logged with the
    number of events still pending (they stay queued and go with a later invocation, if the
    environment is reused). A closed Tracker is skipped.
    """

    def __init__(self, tracker: Tracker, *, timeout: float | None = None) -> None:
        self.tracker = tracker
        self.timeout = timeout

    def __enter__(self) -> Tracker:
        return self.tracker

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.tracker.closed:
            return
        if not self.tracker.flush(self.timeout):
            logger.warning(
                "personalize-tracker: %d event(s) still pending after flush(timeout=%s)",
                self.tracker.stats().pending,
                self.timeout,
            )
