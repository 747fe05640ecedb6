"""The dead-letter file: every event the Tracker gave up on, one JSON line each.

Each line is a JSON object::

    {"failedAt": 1790000000.123, "reason": "invalid", "errorCode": "InvalidInputException",
     "message": "...", "trackingId": "...", "sessionId": "...", "userId": "...",
     "event": {"eventId": "...", "eventType": "...", "sentAt": 1714564800.123, ...}}

``event`` is the PutEvents event as it was (or would have been) sent. Lines are appended with one
``write`` system call each, to a file opened in append mode: a crash loses at most the line being
written, and a reader skips a torn last line.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from ._event import Event
from ._records import FailedEvent, FailureReason
from ._serial import event_from_dict, event_to_dict

__all__ = ["DeadLetter", "DeadLetterWriter", "read_dead_letters"]


class DeadLetterWriter:
    """Appends failed events to a JSON Lines file; thread-safe and fork-aware.

    Args:
        path: the file; created (with its parent folders) at the first failure.
        tracking_id: written on each line, so a file can be resent to the right event tracker.
    """

    def __init__(self, path: str | os.PathLike[str], tracking_id: str) -> None:
        self.path = Path(path)
        self.tracking_id = tracking_id
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid = os.getpid()

    def write(self, failed: Sequence[FailedEvent]) -> None:
        """Append one line per failed event.

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
        event = event_to_dict(failure.event)
        record = {
            "failedAt": round(now, 3),
            "reason": failure.reason.value,
            "errorCode": failure.error_code,
            "message": failure.message,
            "trackingId": self.tracking_id,
            "sessionId": event.pop("sessionId"),
            "userId": event.pop("userId", None),
            "event": event,
        }
        return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()

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


@attrs.frozen
class DeadLetter:
    """One line of a dead-letter file.

    Attributes:
        line: 1-based line number in the file.
        event: the event, rebuilt and validated again.
        reason: why it failed (a :class:`FailureReason` value, e.g. ``"invalid"``).
        error_code: the AWS error code, or None.
        message: the error message, or None.
        tracking_id: the event tracker it was meant for.
        failed_at: epoch seconds when it failed.
    """

    line: int
    event: Event
    reason: str
    error_code: str | None
    message: str | None
    tracking_id: str | None
    failed_at: float | None

    @property
    def invalid(self) -> bool:
        """Whether the service rejected the event itself: resending it unchanged fails again."""
        return self.reason == FailureReason.INVALID.value


@attrs.frozen
class BadLine:
    """A line of a dead-letter file that could not be read back.

    Attributes:
        line: 1-based line number.
        problem: what is wrong with it (torn JSON, a missing field, a field that breaks a
            PutEvents rule).
    """

    line: int
    problem: str


def read_dead_letters(path: str | os.PathLike[str]) -> Iterator[DeadLetter | BadLine]:
    """Read a dead-letter file line by line (streaming; memory stays small).

    Yields a :class:`DeadLetter` per readable line and a :class:`BadLine` per line that is not
    (a torn last line after a crash, an edited line that no longer validates).

    Raises:
        OSError: the file cannot be opened.
    """
    with open(path, encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                record: dict[str, Any] = json.loads(text)
                event_record = dict(record["event"])
                event_record["sessionId"] = record["sessionId"]
                if record.get("userId") is not None:
                    event_record["userId"] = record["userId"]
                event = event_from_dict(event_record, validate=True)
            except (ValueError, KeyError, TypeError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
                yield BadLine(number, problem)
                continue
            yield DeadLetter(
                line=number,
                event=event,
                reason=str(record.get("reason") or "unknown"),
                error_code=record.get("errorCode"),
                message=record.get("message"),
                tracking_id=record.get("trackingId"),
                failed_at=record.get("failedAt"),
            )
