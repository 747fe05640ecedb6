"""Bulk files as a whole: which format a file is in, how many rows it has, and the error for a
file that cannot be read at all."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

__all__ = ["BulkFormatError", "Format", "count_lines", "detect_format"]

#: The bulk formats: an Interactions CSV, or JSON Lines of events.
Format = Literal["csv", "jsonl"]


class BulkFormatError(ValueError):
    """A bulk file cannot be read at all (no header, a missing required column, bad format)."""


def detect_format(path: str | os.PathLike[str], given: str | None = None) -> Format:
    """Decide whether a file is an Interactions CSV or JSON Lines.

    Args:
        path: the file.
        given: ``"csv"`` or ``"jsonl"`` to override the guess; ``None`` guesses from the
            extension: ``.csv`` is CSV; ``.jsonl``, ``.ndjson`` and ``.json`` are JSON Lines.

    Returns:
        ``"csv"`` or ``"jsonl"``.

    Raises:
        BulkFormatError: ``given`` is not a known format, or the extension says nothing.
    """
    if given is not None:
        if given not in ("csv", "jsonl"):
            raise BulkFormatError(f"unknown format {given!r}; expected 'csv' or 'jsonl'")
        return "csv" if given == "csv" else "jsonl"
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise BulkFormatError(
        f"{path}: cannot tell the format from the extension {suffix or '(none)'!r}; "
        "name it .csv or .jsonl, or pass --format"
    )


def count_lines(path: str | os.PathLike[str], *, header: bool, limit: int | None = None) -> int:
    """Count the non-blank lines of a file, less a header line (a progress bar's total).

    Args:
        path: the file.
        header: whether the first line is a header, not counted.
        limit: count at most this many.

    Returns:
        The count (a CSV field holding a line break makes it an over-estimate).

    Raises:
        OSError: the file cannot be read.
    """
    with Path(path).open("rb") as stream:
        if header:
            next(stream, None)
        count = sum(1 for line in stream if line.strip())
    return count if limit is None else min(count, limit)
