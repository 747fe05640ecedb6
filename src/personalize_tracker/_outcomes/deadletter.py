"""The dead-letter file: every record the pipeline gave up on, one JSON line each.

Each line is a JSON object::

    {"failedAt": 1790000000.123, "reason": "invalid", "errorCode": "InvalidInputException",
     "message": "...", "trackingId": "...", "sessionId": "...", "userId": "...",
     "event": {"eventId": "...", "eventType": "...", "sentAt": 1714564800.123, ...}}

``event`` is the PutEvents event as it was (or would have been) sent. Lines are appended with one
``write`` system call each, to a file opened in append mode: a crash loses at most the line being
written, and a reader skips a torn last line. The reader (``personalize-tracker resend`` and
``export``) is a tool, in ``_tools``; what follows ``message`` on a line comes from the record
kind's ``encode`` (for events: ``trackingId``, ``sessionId``, ``userId``, ``event``; see
``_pipeline/events.py``).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

from .._failure import FailedEvent

__all__ = ["DeadLetterWriter"]

R = TypeVar("R")


class DeadLetterWriter(Generic[R]):
    """Appends failed records to a JSON Lines file; thread-safe and fork-aware.

    Args:
        path: the file; created (with its parent folders) at the first failure.
        encode: the line's record part (for events: the tracking id, so that a file can be
            resent to the right event tracker, the session and user ids, and the event).
    """

    def __init__(self, path: str | os.PathLike[str], encode: Callable[[R], dict[str, Any]]) -> None:
        self.path = Path(path)
        self._encode = encode
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid = os.getpid()

    def write(self, failed: Sequence[FailedEvent]) -> None:
        """Append one line per failed record.

        Raises:
            OSError: the file cannot be written (the caller logs it: the failures stand).
        """
        now = time.time()
        lines = [self._line(f, now) for f in failed]
        with self._lock:
            fd = self._open()
            for line in lines:
                os.write(fd, line)

    def _line(self, failure: FailedEvent, now: float) -> bytes:
        record = {
            "failedAt": round(now, 3),
            "reason": failure.reason.value,
            "errorCode": failure.error_code,
            "message": failure.message,
            **self._encode(failure.event),
        }
        try:
            return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        except UnicodeEncodeError:  # a lone surrogate (a record built without checks): escaped
            return (json.dumps(record, separators=(",", ":")) + "\n").encode()

    def _open(self) -> int:
        if self._fd is not None and self._pid != os.getpid():
            self._fd = None  # a forked child: open its own descriptor
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def close(self) -> None:
        """Close the file (it is reopened by the next write)."""
        with self._lock:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None

    def after_fork(self) -> None:
        """In a forked child: a new lock (a parent thread may have held the old one at the
        fork) and no descriptor: the child opens its own at its first failure. The inherited
        one is forgotten, not closed: when the reset comes late (``fork_check``, a fork without
        Python's hooks) its number may belong to a file the child opened since."""
        self._lock = threading.Lock()
        self._fd = None
        self._pid = os.getpid()
