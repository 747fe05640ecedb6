"""Reading an Interactions CSV, the format of a dataset import job, row by row."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeAlias

from .fields import normal_name
from .formats import BulkFormatError

__all__ = ["HeaderCheck", "check_interactions_header", "read_csv_rows", "read_interactions_csv"]

#: ``check(path, header) -> column names``: checks a bulk CSV's header row (``None``: the file
#: is empty), raising :class:`BulkFormatError` when it is not the expected file's.
HeaderCheck: TypeAlias = Callable[[str | os.PathLike[str], list[str] | None], list[str]]

# Delimiters a CSV from a spreadsheet or a database export may use instead of the comma.
_OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "vertical bar"}


def check_interactions_header(path: str | os.PathLike[str], header: list[str] | None) -> list[str]:
    """Check the header row of an Interactions CSV and return its column names (stripped).

    Args:
        path: the file, for messages.
        header: the first row as ``csv.reader`` split it (``None``: the file is empty).

    Raises:
        BulkFormatError: the file is empty; the header is one column holding another delimiter
            (``;``, tab, ``|``: an Interactions CSV is comma-separated, as a dataset import job
            reads it); or it lacks ``USER_ID`` or ``TIMESTAMP``. The message quotes the header.
    """
    if header is None:
        raise BulkFormatError(f"{path}: the file is empty; expected a header line")
    names = [name.strip() for name in header]
    if len(names) == 1:
        for delimiter, label in _OTHER_DELIMITERS.items():
            if delimiter in names[0]:
                raise BulkFormatError(
                    f"{path}:1: the header {names[0]!r} is one column holding {label}s: the "
                    f"file seems {label}-delimited; an Interactions CSV is comma-separated "
                    "(USER_ID,ITEM_ID,TIMESTAMP,...), as a dataset import job reads it"
                )
    normal = {normal_name(name) for name in names}
    missing = [c for c in ("USER_ID", "TIMESTAMP") if normal_name(c) not in normal]
    if missing:
        raise BulkFormatError(
            f"{path}:1: the header lacks {' and '.join(missing)}; an Interactions CSV has "
            f"USER_ID,ITEM_ID,TIMESTAMP[,EVENT_TYPE,...], got {','.join(names)}"
        )
    return names


def read_interactions_csv(
    path: str | os.PathLike[str], *, limit: int | None = None
) -> Iterator[tuple[int, dict[str, str] | str]]:
    """Stream an Interactions CSV (the format of a dataset import job) row by row.

    The header names the columns: ``USER_ID``, ``ITEM_ID``, ``TIMESTAMP`` (epoch seconds) and
    optionally ``EVENT_TYPE``, ``EVENT_VALUE``, ``IMPRESSION`` (ids joined with ``|``),
    ``RECOMMENDATION_ID`` and contextual-metadata columns. Values stay strings; an empty cell is
    kept as ``""`` (a missing value), so that a message can name its column.

    Args:
        path: the CSV file (UTF-8, a byte-order mark is ignored).
        limit: stop after this many data rows (``None``: all).

    Yields:
        ``(line, record)``: the 1-based line number where the row starts and column -> value;
        or ``(line, problem)`` for a row with the wrong number of fields.

    Raises:
        OSError: the file cannot be read.
        BulkFormatError: see :func:`check_interactions_header`.
    """
    return read_csv_rows(path, check_interactions_header, limit=limit)


def read_csv_rows(
    path: str | os.PathLike[str], check_header: HeaderCheck, *, limit: int | None = None
) -> Iterator[tuple[int, dict[str, str] | str]]:
    """Stream a bulk CSV row by row (an Interactions CSV, or an Items, Users or Actions CSV).

    Args:
        path: the CSV file (UTF-8, a byte-order mark is ignored).
        check_header: checks the header row and returns the column names.
        limit: stop after this many data rows (``None``: all).

    Yields:
        ``(line, record)``: the 1-based line number where the row starts and column -> value
        (strings; an empty cell is ``""``); or ``(line, problem)`` for a row with the wrong
        number of fields. Blank lines are skipped.

    Raises:
        OSError: the file cannot be read.
        BulkFormatError: what ``check_header`` raises.
    """
    with Path(path).open(newline="", encoding="utf-8-sig") as stream:
        reader = csv.reader(stream)
        names = check_header(path, next(reader, None))
        width = len(names)
        count = 0
        start = reader.line_num + 1
        for row in reader:
            line, start = start, reader.line_num + 1
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            count += 1
            if len(row) != width:
                yield line, f"{len(row)} fields, the header has {width}"
            else:
                yield line, dict(zip(names, row, strict=True))
            if limit is not None and count >= limit:
                return
