"""Reading an Interactions CSV, the format of a dataset import job, row by row."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

from .fields import normal_name
from .formats import BulkFormatError

__all__ = ["read_interactions_csv"]


def read_interactions_csv(
    path: str | os.PathLike[str], *, limit: int | None = None
) -> Iterator[tuple[int, dict[str, str] | str]]:
    """Stream an Interactions CSV (the format of a dataset import job) row by row.

    The header names the columns: ``USER_ID``, ``ITEM_ID``, ``TIMESTAMP`` (epoch seconds) and
    optionally ``EVENT_TYPE``, ``EVENT_VALUE``, ``IMPRESSION`` (ids joined with ``|``),
    ``RECOMMENDATION_ID`` and contextual-metadata columns. Values stay strings; empty cells are
    left out of the record.

    Args:
        path: the CSV file (UTF-8, a byte-order mark is ignored).
        limit: stop after this many data rows (``None``: all).

    Yields:
        ``(line, record)``: the 1-based line number where the row starts and column -> value;
        or ``(line, problem)`` for a row with the wrong number of fields.

    Raises:
        OSError: the file cannot be read.
        BulkFormatError: the file is empty, or the header lacks ``USER_ID`` or ``TIMESTAMP``.
    """
    with Path(path).open(newline="", encoding="utf-8-sig") as stream:
        reader = csv.reader(stream)
        header = next(reader, None)
        if header is None:
            raise BulkFormatError(f"{path}: the file is empty; expected a header line")
        names = [name.strip() for name in header]
        normal = {normal_name(name) for name in names}
        missing = [c for c in ("USER_ID", "TIMESTAMP") if normal_name(c) not in normal]
        if missing:
            raise BulkFormatError(
                f"{path}:1: the header lacks {' and '.join(missing)}; an Interactions CSV has "
                f"USER_ID,ITEM_ID,TIMESTAMP[,EVENT_TYPE,...], got {','.join(names)}"
            )
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
                yield (
                    line,
                    {name: value for name, value in zip(names, row, strict=True) if value.strip()},
                )
            if limit is not None and count >= limit:
                return
