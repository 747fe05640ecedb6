"""The spool: records that did not fit in memory, on disk until the queue has room again.

Used by ``overflow="spill"``. The spool folder holds one subfolder per process,
``<pid>-<random>/``, with:

- ``events.jsonl``: one record per line (for events, ``Event.to_dict()`` plus ``trackedAt``, the
  wall-clock time it was tracked), appended with one ``write`` call each;
- ``offset``: how many bytes of it were already read back into memory;
- ``lock``: held (``flock``) while the process lives.

A subfolder is created under a hidden temporary name, locked, then renamed into place, so that
another process never sees it unlocked. A new Tracker adopts the subfolders whose lock nobody
holds (their process ended with events still spooled) and delivers those events first: a restart
loses nothing that was on disk. Events already read back into memory are no longer on disk: a
hard crash loses them like any event in memory, while ``close()`` and the exit flush write what
they could not deliver back to the spool.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import shutil
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: no adoption of other processes' spools
    fcntl = None  # type: ignore[assignment]

__all__ = ["Spool", "SpoolWriteError"]

R = TypeVar("R")

logger = logging.getLogger("personalize_tracker")

# A process's subfolder: "<pid>-<8 hex digits>" (see _create_own). Anything else in the spool
# folder (a subfolder being created, another record kind's spool, a folder of the user's) is
# neither adopted nor removed.
_SEGMENT_NAME = re.compile(r"^[0-9]+-[0-9a-f]{8}$")
_EVENTS = "events.jsonl"
_OFFSET = "offset"
_LOCK = "lock"
_TRACKED_AT = "trackedAt"


class SpoolWriteError(OSError):
    """:meth:`Spool.append` wrote only the first ``written`` records: the disk refused the next
    one (full, a file-size limit, an I/O error) or it could not be encoded. What was written is
    whole lines; a torn last line is cut back off.

    Attributes:
        written: records fully written (now in the spool, counted in ``Spool.count``).
    """

    def __init__(self, written: int, problem: str) -> None:
        super().__init__(problem)
        self.written = written


def _line(record: dict[str, Any]) -> bytes:
    """One spool line: compact JSON, non-ASCII text as is; text UTF-8 cannot carry (a lone
    surrogate, in a record built without checks) ``\\u``-escaped instead of failing."""
    try:
        return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
    except UnicodeEncodeError:
        return json.dumps(record, separators=(",", ":")).encode() + b"\n"


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

    def read(
        self,
        limit: int,
        events: list[R],
        walls: list[float],
        decode: Callable[[Mapping[str, Any]], R],
    ) -> int:
        """Append up to ``limit`` records (and their trackedAt) read from the offset on, each
        rebuilt by ``decode``.

        Returns the number of whole lines consumed, readable or not (an unreadable line is
        logged and skipped).
        """
        if self.reader is None:
            if not self.events_path.exists():
                return 0
            self.reader = open(self.events_path, "rb")  # noqa: SIM115 - kept open across calls
        self.reader.seek(self.offset)
        consumed = 0
        while consumed < limit:
            line = self.reader.readline()
            if not line.endswith(b"\n"):
                break  # end of file (or a torn line left by a crash)
            self.offset += len(line)
            consumed += 1
            try:
                record = json.loads(line)
                wall = float(record.pop(_TRACKED_AT))
                event = decode(record)
            except Exception as exc:  # any damage: one bad line must not stop the spool
                logger.warning(
                    "personalize-tracker: skipped an unreadable spool line in %s (%s: %s)",
                    self.events_path,
                    type(exc).__name__,
                    exc,
                )
                continue
            events.append(event)
            walls.append(wall)
        try:
            _write_offset(self.folder, self.offset)
        except OSError as exc:  # a full disk: the records read are in memory all the same
            logger.warning(
                "personalize-tracker: the spool's read offset could not be saved in %s (%s): a "
                "process adopting this spool may send these records again (same event ids)",
                self.folder,
                exc,
            )
        return consumed

    def at_end(self) -> bool:
        try:
            return self.offset >= self.events_path.stat().st_size
        except OSError:
            return True

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None


class Spool(Generic[R]):
    """Records on disk, first in, first out. Thread-safe.

    Args:
        directory: the spool folder (created if missing). Several processes may share it: each
            writes its own subfolder.
        encode: a record as a JSON object (for events, ``Event.to_dict``).
        decode: a record from ``encode``'s object (trusted: written by this library).

    Raises:
        OSError: the folder cannot be created or written.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        encode: Callable[[R], dict[str, Any]],
        decode: Callable[[Mapping[str, Any]], R],
    ) -> None:
        self._encode = encode
        self._decode = decode
        self.root = Path(directory)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.count = 0  #: events written and not yet read back (ours and adopted ones)
        self.recovered = 0  #: events found in spools of ended processes
        # Adopted spools of ended processes come first: they are older.
        self._adopted: list[_Segment] = []
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            if not _SEGMENT_NAME.match(folder.name):
                continue  # another process's folder still being created, or not a spool's
            segment = _claim(folder)
            if segment is not None:
                unread = segment.count_unread()
                if unread:
                    self._adopted.append(segment)
                    self.recovered += unread
                else:
                    _remove(segment)
        self.count = self.recovered
        self._own = _create_own(self.root)
        self._fd = os.open(self._own.events_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._end = os.fstat(self._fd).st_size  # where the next line starts

    @property
    def folder(self) -> Path:
        """This process's spool subfolder."""
        return self._own.folder

    def append(self, events: Sequence[R], tracked_at: Sequence[float]) -> int:
        """Write events at the end of the spool; return how many.

        Args:
            events: the events.
            tracked_at: the wall-clock time (epoch seconds) each was tracked.

        Raises:
            SpoolWriteError: only the first ``written`` events were written (the disk refused
                the next one, or it could not be encoded); the caller fails the others, with a
                reason. No torn line is left behind.
        """
        lines = []
        problem = None
        for event, wall in zip(events, tracked_at, strict=True):
            try:
                record = self._encode(event)
                record[_TRACKED_AT] = wall
                lines.append(_line(record))
            except Exception as exc:  # one record that cannot be encoded: it and the rest fail
                problem = f"a record could not be encoded ({type(exc).__name__}: {exc})"
                break
        with self._lock:
            written = 0
            for line in lines:
                try:
                    self._write_line(line)
                except OSError as exc:
                    problem = f"the spool could not be written ({exc})"
                    raise SpoolWriteError(written, problem) from exc
                written += 1
                self.count += 1
        if problem is not None:
            raise SpoolWriteError(written, problem)
        return written

    def _write_line(self, line: bytes) -> None:
        """Write one whole line at the end of our file (lock held), or nothing: a short write
        (the disk filled mid-line) is completed or, when the next write fails, cut back to the
        last whole line, so that the lines appended later are not glued to a torn one.

        Raises:
            OSError: the disk refused the line (nothing of it is left in the file).
        """
        start = self._end
        view = memoryview(line)
        done = 0
        try:
            while done < len(line):
                count = os.write(self._fd, view[done:])
                if count <= 0:  # pragma: no cover - a regular file writes or raises
                    raise OSError(errno.ENOSPC, "no byte written")
                done += count
        except OSError:
            if done:
                try:
                    os.ftruncate(self._fd, start)
                except OSError as exc:  # pragma: no cover - the reader skips a torn line
                    logger.error("personalize-tracker: could not cut a torn spool line: %s", exc)
            raise
        self._end = start + done

    def read(self, limit: int) -> tuple[list[R], list[float]]:
        """Remove and return up to ``limit`` of the oldest spooled events and their trackedAt.

        Fewer come back when lines are unreadable (each is logged and counted as consumed).
        """
        events: list[R] = []
        walls: list[float] = []
        decode = self._decode
        with self._lock:
            consumed = 0
            while self._adopted and consumed < limit:
                segment = self._adopted[0]
                step = segment.read(limit - consumed, events, walls, decode)
                consumed += step
                if not step:  # exhausted: the ended process's spool is delivered
                    self._adopted.pop(0)
                    _remove(segment)
            if consumed < limit:
                consumed += self._own.read(limit - consumed, events, walls, decode)
            self.count = max(0, self.count - consumed)
            if not self._adopted and self._own.at_end():
                self._truncate()
        return events, walls

    def _truncate(self) -> None:
        """Everything written was read back: empty our file so the spool does not grow forever.

        Called with the lock held, so no append can slip in between the check and the cut.
        """
        # The offset first: should the cut then fail, an adopter re-reads (same event ids); the
        # other order could leave a stale offset past records appended after the cut.
        try:
            _write_offset(self._own.folder, 0)
            os.ftruncate(self._fd, 0)
        except OSError as exc:  # a full disk: keep the file as it is, and its offset in memory
            logger.warning("personalize-tracker: the spool could not be emptied (%s)", exc)
            return
        self._end = 0
        self._own.offset = 0

    def abandon(self) -> None:
        """In a forked child: close the inherited descriptors, leaving the parent's spool be.

        (The lock is shared with the parent through ``fork``; closing the child's copies does
        not release it.)
        """
        for segment in [self._own, *self._adopted]:
            segment.close()
            segment.lock_file.close()
        os.close(self._fd)

    def close(self, remove_if_empty: bool = True) -> None:
        """Close the files and release the lock, so another process may adopt what is left."""
        with self._lock:
            self._own.close()
            for segment in self._adopted:
                segment.close()
                segment.lock_file.close()
            os.close(self._fd)
            if remove_if_empty and self.count == 0:
                _remove(self._own)
            else:
                self._own.lock_file.close()


def _create_own(root: Path) -> _Segment:
    """Create, lock, then publish this process's subfolder (never seen unlocked by others)."""
    name = f"{os.getpid()}-{os.urandom(4).hex()}"
    hidden = root / f".{name}"
    hidden.mkdir()
    segment = _claim(hidden)
    if segment is None:  # pragma: no cover - nobody else knows this folder yet
        raise OSError(f"cannot lock the new spool folder {hidden}")
    final = root / name
    hidden.rename(final)
    segment.folder = final
    segment.events_path = final / _EVENTS
    return segment


def _claim(folder: Path) -> _Segment | None:
    """Lock a spool subfolder; None when another live process holds it (or it vanished)."""
    try:
        lock_file = open(folder / _LOCK, "ab")  # noqa: SIM115 - held for the spool's lifetime
    except FileNotFoundError:
        return None  # removed meanwhile by another process
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
    # Written to a temporary file and renamed over the old one: a crash leaves the old number
    # or the new one, never a torn one.
    temporary = folder / f".{_OFFSET}.tmp"
    temporary.write_text(str(offset))
    temporary.replace(folder / _OFFSET)
