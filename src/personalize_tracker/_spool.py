"""The spool: events that did not fit in memory, on disk until the queue has room again.

Used by ``overflow="spill"``. The spool folder holds one subfolder per process,
``<pid>-<random>/``, with:

- ``events.jsonl``: one event per line (see ``_serial``), appended with one ``write`` call each;
- ``offset``: how many bytes of it were already read back into memory;
- ``lock``: held (``flock``) while the process lives.

A new Tracker adopts the subfolders whose lock nobody holds (their process ended with events
still spooled) and delivers those events first: a restart loses nothing that reached the disk.
Events read back shortly before a crash may be sent again by the next process; their event ids
are unchanged, and Personalize ignores repeated event ids in training.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from ._event import Event
from ._serial import event_from_dict, event_to_dict

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: no adoption of other processes' spools
    fcntl = None  # type: ignore[assignment]

__all__ = ["Spool"]

logger = logging.getLogger("personalize_tracker")

_EVENTS = "events.jsonl"
_OFFSET = "offset"
_LOCK = "lock"


class _Segment:
    """One process's spool subfolder, opened for reading (and, for our own, appending)."""

    def __init__(self, folder: Path, lock_file: IO[bytes]) -> None:
        self.folder = folder
        self.lock_file = lock_file
        self.events_path = folder / _EVENTS
        self.offset = _read_offset(folder)
        self.reader: IO[bytes] | None = None

    def count_unread(self) -> int:
        """Whole lines after the offset (a torn last line is not counted)."""
        if not self.events_path.exists():
            return 0
        count = 0
        with open(self.events_path, "rb") as f:
            f.seek(self.offset)
            for line in f:
                if line.endswith(b"\n"):
                    count += 1
        return count

    def read(self, limit: int) -> list[Event]:
        if self.reader is None:
            if not self.events_path.exists():
                return []
            self.reader = open(self.events_path, "rb")  # noqa: SIM115 - kept open across calls
        self.reader.seek(self.offset)
        events: list[Event] = []
        while len(events) < limit:
            line = self.reader.readline()
            if not line.endswith(b"\n"):
                break  # end of file (or a torn line left by a crash)
            self.offset += len(line)
            try:
                events.append(event_from_dict(json.loads(line), validate=False))
            except (ValueError, KeyError, TypeError) as exc:
                logger.warning(
                    "personalize-tracker: skipped an unreadable spool line in %s (%s)",
                    self.events_path,
                    type(exc).__name__,
                )
        _write_offset(self.folder, self.offset)
        return events

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None


class Spool:
    """Events on disk, first in first out. Not thread-safe: the Tracker serialises calls.

    Args:
        directory: the spool folder (created if missing). Several processes may share it: each
            writes its own subfolder.

    Raises:
        OSError: the folder cannot be created or written.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.root = Path(directory)
        self.root.mkdir(parents=True, exist_ok=True)
        self.count = 0  #: events written and not yet read back (ours and adopted ones)
        self.recovered = 0  #: events found in spools of ended processes
        # Adopted spools of ended processes come first: they are older.
        self._adopted: list[_Segment] = []
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            segment = _claim(folder)
            if segment is not None:
                unread = segment.count_unread()
                if unread:
                    self._adopted.append(segment)
                    self.recovered += unread
                else:
                    _remove(segment)
        self.count = self.recovered
        folder = self.root / f"{os.getpid()}-{os.urandom(4).hex()}"
        folder.mkdir()
        own = _claim(folder)
        if own is None:  # pragma: no cover - a fresh folder cannot be locked by another
            raise OSError(f"cannot lock the new spool folder {folder}")
        self._own = own
        self._fd = os.open(own.events_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._pid = os.getpid()

    @property
    def folder(self) -> Path:
        """This process's spool subfolder."""
        return self._own.folder

    def append(self, events: Iterable[Event]) -> int:
        """Write events at the end of the spool; return how many.

        Raises:
            OSError: the disk refused the write (the caller drops the events, with a reason).
        """
        written = 0
        for event in events:
            line = json.dumps(event_to_dict(event), ensure_ascii=False, separators=(",", ":"))
            os.write(self._fd, line.encode() + b"\n")
            written += 1
        self.count += written
        return written

    def read(self, limit: int) -> list[Event]:
        """Remove and return up to ``limit`` of the oldest spooled events."""
        events: list[Event] = []
        while self._adopted and len(events) < limit:
            segment = self._adopted[0]
            chunk = segment.read(limit - len(events))
            events.extend(chunk)
            if not chunk:  # exhausted: the ended process's spool is delivered
                self._adopted.pop(0)
                _remove(segment)
        if len(events) < limit:
            events.extend(self._own.read(limit - len(events)))
        self.count = max(0, self.count - len(events))
        if self.count == 0 and not self._adopted:
            self._truncate()
        return events

    def _truncate(self) -> None:
        """Everything was read back: empty our file so the spool does not grow forever."""
        os.ftruncate(self._fd, 0)
        self._own.offset = 0
        _write_offset(self._own.folder, 0)

    def abandon(self) -> None:
        """In a forked child: close the inherited descriptors, leaving the parent's spool be.

        (The lock is shared with the parent through ``fork``; closing the child's copies does
        not release it.)
        """
        self._own.close()
        for segment in [self._own, *self._adopted]:
            segment.close()
            segment.lock_file.close()
        os.close(self._fd)

    def close(self, remove_if_empty: bool = True) -> None:
        """Close the files and release the lock, so another process may adopt what is left."""
        self._own.close()
        for segment in self._adopted:
            segment.close()
            segment.lock_file.close()
        os.close(self._fd)
        if remove_if_empty and self.count == 0:
            _remove(self._own)
        else:
            self._own.lock_file.close()


def _claim(folder: Path) -> _Segment | None:
    """Lock a spool subfolder; None when another live process holds it."""
    lock_file = open(folder / _LOCK, "ab")  # noqa: SIM115 - held for the spool's lifetime
    if fcntl is not None:
        try:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock_file.close()
            return None
    return _Segment(folder, lock_file)


def _remove(segment: _Segment) -> None:
    segment.close()
    segment.lock_file.close()
    shutil.rmtree(segment.folder, ignore_errors=True)


def _read_offset(folder: Path) -> int:
    try:
        return int((folder / _OFFSET).read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def _write_offset(folder: Path, offset: int) -> None:
    # Written in place: a crash leaves the old or the new number, or an unreadable one that
    # reads as 0 (then events are sent again, harmlessly: same event ids).
    (folder / _OFFSET).write_text(str(offset))
