"""Dead letters of items, users and actions written back as an Items, Users or Actions bulk CSV
(``personalize-tracker export``), for a dataset import job.

A dead-letter line of these kinds (``Tracker(dead_letter_path=...)``) is::

    {"failedAt": ..., "reason": "invalid", "errorCode": ..., "message": ..., "kind": "items",
     "datasetArn": "arn:...", "record": {"itemId": "i-9", "properties": "{\\"genres\\":...}"}}

:func:`~.jsonl_reader.line_kind` says which kind a line is; :func:`read_dataset_letters` reads
the lines of one kind; :func:`write_dataset_csv` writes them: the id column (``ITEM_ID``...)
then one column per property, named in UPPER_SNAKE (``genres`` -> ``GENRES``) or as the schema
names it, ``|`` between the values of a categorical field as the service received them. When an
id has several lines, the last one is written: the dataset keeps the last write. A dead letter is
a write that failed: if a later write of its id was delivered, importing the CSV puts the older
value back; :class:`DatasetExport` gives the span of ``failedAt`` for the caller to say so.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

import attrs

from .datasets import DatasetKind
from .export import csv_cell, to_upper_snake
from .jsonl_reader import json_objects, line_kind

__all__ = [
    "DatasetExport",
    "DatasetLetter",
    "letters_of",
    "read_dataset_letters",
    "write_dataset_csv",
]


@attrs.frozen
class DatasetLetter:
    """One dead letter of an item, a user or an action.

    Attributes:
        line: 1-based line number in its file.
        record_id: the id (``itemId``, ``userId``, ``actionId``).
        properties: the decoded ``properties`` (camelCase keys), ``{}`` when it had none.
        reason: the failure reason (``"invalid"``...), or ``None``.
        failed_at: the line's ``failedAt`` (epoch seconds), or ``None``.
    """

    line: int
    record_id: str
    properties: Mapping[str, Any]
    reason: str | None
    failed_at: float | None = None


@attrs.frozen
class DatasetExport:
    """What :func:`write_dataset_csv` wrote.

    Attributes:
        rows: rows written (the header excluded): the distinct ids.
        columns: ``properties`` key -> its column name, in header order (the id column left
            out).
        failed_from: the earliest ``failedAt`` of the rows written (epoch seconds), or ``None``.
        failed_to: the latest, or ``None``.
    """

    rows: int
    columns: Mapping[str, str]
    failed_from: float | None
    failed_to: float | None


def read_dataset_letters(
    path: str | os.PathLike[str],
    kind: DatasetKind,
    *,
    other_kinds: dict[str, int] | None = None,
) -> Iterator[DatasetLetter | tuple[int, str]]:
    """Read the dead letters of ``kind`` in a JSON Lines file.

    Args:
        path: the file (UTF-8).
        kind: the dataset whose records to read.
        other_kinds: where to count the lines of other kinds, by kind, instead of yielding
            them as problems (``export --kind`` picks one kind of a mixed file).

    Yields:
        A :class:`DatasetLetter` per usable line, or ``(line, problem)`` for one that is not:
        not a JSON object, of another kind (said so), without the id, or whose ``properties``
        is not a JSON object string.

    Raises:
        OSError: the file cannot be read.
    """
    for number, record in json_objects(path):
        if isinstance(record, str):
            yield number, record
            continue
        found = line_kind(record)
        if found != kind.name and other_kinds is not None:
            other_kinds[found] = other_kinds.get(found, 0) + 1
            continue
        if found != kind.name:
            yield number, f"a line of {found}, not of {kind.name}"
            continue
        entry = record.get("record")
        entry = entry if isinstance(entry, Mapping) else {}
        record_id = entry.get(kind.id_key)
        if not isinstance(record_id, str) or not record_id:
            yield number, f"no record.{kind.id_key}"
            continue
        try:
            properties = json.loads(entry.get("properties") or "{}")
        except (TypeError, json.JSONDecodeError):
            properties = None
        if not isinstance(properties, dict):
            yield number, "record.properties is not a JSON object string"
            continue
        reason = record.get("reason")
        failed_at = record.get("failedAt")
        yield DatasetLetter(
            number,
            record_id,
            properties,
            None if reason is None else str(reason),
            _epoch(failed_at),
        )


def _epoch(value: Any) -> float | None:
    """A ``failedAt`` as epoch seconds; ``None`` for a missing or unusable one."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def write_dataset_csv(
    stream: IO[str],
    kind: DatasetKind,
    letters: Iterable[DatasetLetter],
    *,
    names: Mapping[str, str] | None = None,
) -> DatasetExport:
    """Write dead letters as ``kind``'s bulk CSV: the last line of each id, in the order the ids
    first appear.

    Args:
        stream: a text stream opened with ``newline=""``.
        kind: the dataset.
        letters: the records to write.
        names: ``properties`` key -> column name (the dataset schema's field names); other keys
            are named by :func:`~.export.to_upper_snake`.

    Returns:
        The :class:`DatasetExport`: rows, columns and the span of the rows' ``failedAt``.
    """
    latest: dict[str, DatasetLetter] = {}
    for letter in letters:
        latest[letter.record_id] = letter
    keys: dict[str, None] = {}
    for kept in latest.values():
        keys.update(dict.fromkeys(kept.properties))
    columns = _columns(keys, names)
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow([kind.id_column, *columns.values()])
    for record_id, kept in latest.items():
        writer.writerow([record_id, *(csv_cell(kept.properties.get(key)) for key in columns)])
    times = [kept.failed_at for kept in latest.values() if kept.failed_at is not None]
    return DatasetExport(
        len(latest), columns, min(times) if times else None, max(times) if times else None
    )


def _columns(keys: Iterable[str], names: Mapping[str, str] | None) -> dict[str, str]:
    """``properties`` key -> column name, in the order the keys were first seen."""
    given = names or {}
    return {key: given.get(key) or to_upper_snake(key) for key in keys}


def letters_of(
    items: Iterable[DatasetLetter | tuple[int, str]], problems: list[str], where: str
) -> Iterator[DatasetLetter]:
    """The usable lines of ``items``; each problem goes to ``problems`` as
    ``"<where>:<line>: <problem>"``."""
    for item in items:
        if isinstance(item, DatasetLetter):
            yield item
        else:
            problems.append(f"{where}:{item[0]}: {item[1]}")
