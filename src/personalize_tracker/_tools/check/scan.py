"""Scanning an Interactions CSV as a dataset import job would read it: its format problems, each
with its line, and the counts a readiness verdict is made of.

Fast by working a column at a time: about a megabyte of lines is split by ``csv`` and turned
into columns (``zip``), and each check runs over a whole column with built-ins (``map``,
``max``, ``in``, ``Counter.update``); only a column that fails a check is walked value by value
to find its lines. Memory grows with the distinct users and items of the file (their counts)
and the problems kept (``max_problems``).

The rules, each from the Amazon Personalize developer guide (``_rules.SOURCES``):
interactions-datasets (USER_ID and ITEM_ID strings of at most 256 characters in every row,
TIMESTAMP in Unix epoch seconds in every row, an EVENT_TYPE in every row when the column is
there, IMPRESSION ids separated by ``|``, at most 5 metadata columns), data-prep-formatting
(a header line whose names map to the schema, one record per line, values of the schema's
types, UTF-8), interactions-dataset-requirements (categorical values of at most 1000
characters) and the quotas page (impression values of at most 1000 characters).
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO

import attrs

from ... import _rules
from ...schema import RESERVED_FIELDS, InteractionsSchema

__all__ = ["Problem", "Scan", "scan_csv"]

_SRC = _rules.SOURCES
_MAX_ID = 256  # USER_ID, ITEM_ID (interactions-datasets)
_MAX_CATEGORICAL = 1000  # categorical and impression values (quotas; dataset requirements)
_REQUIRED = ("USER_ID", "ITEM_ID", "TIMESTAMP")
#: A TIMESTAMP of more digits than this is past the year 2286 in seconds: milliseconds, surely.
_SECONDS_DIGITS = 10
_NUMBER_TYPES: dict[str, Callable[[str], Any]] = {
    "int": int,
    "long": int,
    "float": float,
    "double": float,
}


@attrs.frozen
class Problem:
    """One thing a dataset import job would reject.

    Attributes:
        line: the 1-based line of the file (1: the header).
        column: the column at fault, or ``None`` for the whole line.
        problem: what is wrong, in words (never the value of an id).
        source: the page of the developer guide the rule comes from.
    """

    line: int
    column: str | None
    problem: str
    source: str


@attrs.define
class Scan:
    """What a scan found (filled in as it reads)."""

    header: list[str]
    max_problems: int
    problems: list[Problem] = attrs.field(factory=list)
    problem_count: int = 0
    rows: int = 0
    interactions: int = 0
    users: Counter[str] = attrs.field(factory=Counter)
    items: set[str] = attrs.field(factory=set)
    event_types: Counter[str | None] = attrs.field(factory=Counter)
    impressions: int = 0

    def add(self, line: int, column: str | None, problem: str, source: str) -> None:
        self.problem_count += 1
        if len(self.problems) < self.max_problems:
            self.problems.append(Problem(line, column, problem, source))


def _check_header(scan: Scan, schema: InteractionsSchema | None) -> None:
    names = scan.header
    for name in [n for n in _REQUIRED if n not in names]:
        scan.add(1, name, f"the header lacks {name}", _SRC["interactions"])
    for name in sorted({n for n in names if names.count(n) > 1}):
        scan.add(1, name, "the header names this column twice", _SRC["formatting"])
    metadata = [n for n in names if n not in RESERVED_FIELDS]
    if len(metadata) > _rules.MAX_METADATA_COLUMNS:
        scan.add(
            1, None,
            f"{len(metadata)} metadata columns ({', '.join(metadata)}); at most "
            f"{_rules.MAX_METADATA_COLUMNS}",
            _SRC["quotas"],
        )  # fmt: skip
    if schema is None:
        return
    for name in names:
        if schema.field(name) is None:
            scan.add(1, name, "not a field of the schema", _SRC["formatting"])
    for field in schema.fields:
        if not field.nullable and field.name not in names:
            scan.add(1, field.name, "a required field of the schema is missing", _SRC["formatting"])


def _lines_where(
    column: Sequence[str], lines: Sequence[int], bad: Callable[[str], bool]
) -> Iterable[tuple[int, str]]:
    return ((line, value) for line, value in zip(lines, column, strict=True) if bad(value))


def _parses(convert: Callable[[str], Any]) -> Callable[[str], bool]:
    def bad(value: str) -> bool:
        if not value:
            return False
        try:
            convert(value)
        except ValueError:
            return True
        return False

    return bad


class _Checks:
    """The column checks of one file, chosen once from its header and schema."""

    def __init__(self, scan: Scan, schema: InteractionsSchema | None) -> None:
        self.scan = scan
        self.index = {name: i for i, name in enumerate(scan.header)}
        self.types: dict[str, Callable[[str], Any]] = {}
        self.categorical: list[str] = []
        if schema is not None:
            for field in schema.fields:
                if field.name in self.index and field.name not in ("USER_ID", "ITEM_ID"):
                    if field.type in _NUMBER_TYPES:
                        self.types[field.name] = _NUMBER_TYPES[field.type]
                    if field.categorical:
                        self.categorical.append(field.name)
        elif "EVENT_VALUE" in self.index:
            self.types["EVENT_VALUE"] = float

    def column(self, columns: list[list[str]], name: str) -> list[str] | None:
        i = self.index.get(name)
        return None if i is None else columns[i]

    def run(
        self, columns: list[list[str]], lines: Sequence[int], longest: int, empty: bool
    ) -> None:
        """Check a chunk's columns; ``longest``: its longest line (no value is longer);
        ``empty``: whether a value may be empty."""
        scan = self.scan
        for name in ("USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"):
            col = self.column(columns, name)
            if empty and col is not None and "" in col:
                for line, _ in _lines_where(col, lines, lambda v: not v):
                    scan.add(line, name, "empty; every interaction needs one", _SRC["interactions"])
        for name in ("USER_ID", "ITEM_ID"):
            col = self.column(columns, name)
            if col is not None and longest > _MAX_ID and max(map(len, col)) > _MAX_ID:
                for line, value in _lines_where(col, lines, lambda v: len(v) > _MAX_ID):
                    scan.add(
                        line, name, f"{len(value)} characters; at most {_MAX_ID}",
                        _SRC["interactions"],
                    )  # fmt: skip
        self._timestamps(columns, lines)
        if longest > _MAX_CATEGORICAL:
            self._lengths(columns, lines)
        self._impressions(columns, lines)
        for name, convert in self.types.items():
            col = self.column(columns, name)
            if col is not None and not _all_parse(col, convert):
                for line, _ in _lines_where(col, lines, _parses(convert)):
                    scan.add(line, name, "not a number of the schema's type", _SRC["formatting"])

    def _lengths(self, columns: list[list[str]], lines: Sequence[int]) -> None:
        checked = [(name, _SRC["interactions_requirements"]) for name in self.categorical]
        for name, source in [*checked, ("IMPRESSION", _SRC["quotas"])]:
            col = self.column(columns, name)
            if col is not None and max(map(len, col)) > _MAX_CATEGORICAL:
                for line, value in _lines_where(col, lines, lambda v: len(v) > _MAX_CATEGORICAL):
                    scan_problem = f"{len(value)} characters; at most {_MAX_CATEGORICAL}"
                    self.scan.add(line, name, scan_problem, source)

    def _timestamps(self, columns: list[list[str]], lines: Sequence[int]) -> None:
        col = self.column(columns, "TIMESTAMP")
        if col is None:
            return
        scan = self.scan
        if not "".join(col).isdigit():  # one call in C, not one per value
            for line, value in _lines_where(col, lines, lambda v: bool(v) and not v.isdigit()):
                kind = "a date" if "-" in value[1:] or ":" in value else "not whole seconds"
                scan.add(
                    line, "TIMESTAMP", f"{kind}; Unix epoch time in seconds is expected",
                    _SRC["interactions"],
                )  # fmt: skip
        if max(map(len, col)) > _SECONDS_DIGITS:
            for line, _ in _lines_where(
                col, lines, lambda v: v.isdigit() and len(v) > _SECONDS_DIGITS
            ):
                scan.add(
                    line, "TIMESTAMP",
                    "more than 10 digits: milliseconds? Unix epoch time in seconds is expected",
                    _SRC["interactions"],
                )  # fmt: skip

    def _impressions(self, columns: list[list[str]], lines: Sequence[int]) -> None:
        col = self.column(columns, "IMPRESSION")
        if col is None:
            return
        scan = self.scan
        joined = "|".join(col)  # one scan in C, not one per value
        if "," in joined or ";" in joined:
            for line, _ in _lines_where(col, lines, lambda v: "," in v or ";" in v):
                scan.add(
                    line, "IMPRESSION", "holds ',' or ';': item ids are separated by '|'",
                    _SRC["interactions"],
                )  # fmt: skip

    def count(self, columns: list[list[str]], empty: bool) -> None:
        """Count the rows for readiness (rows with problems included: the verdict is about
        the data, the problems about the file)."""
        scan = self.scan
        items = self.column(columns, "ITEM_ID")
        if items is None:
            return
        with_item = len(items) - items.count("") if empty else len(items)
        scan.interactions += with_item
        scan.items.update(items)
        users = self.column(columns, "USER_ID")
        if users is not None:
            scan.users.update(users)
        types = self.column(columns, "EVENT_TYPE")
        if types is not None:
            scan.event_types.update(types)
        else:
            scan.event_types[None] += with_item
        shown = [
            c
            for c in (self.column(columns, "IMPRESSION"), self.column(columns, "RECOMMENDATION_ID"))
            if c is not None
        ]
        if len(shown) == 1:
            scan.impressions += len(shown[0]) - (shown[0].count("") if empty else 0)
        elif shown:
            scan.impressions += sum(1 for a, b in zip(*shown, strict=True) if a or b)


def _all_parse(column: Sequence[str], convert: Callable[[str], Any]) -> bool:
    try:
        list(map(convert, filter(None, set(column))))  # each distinct value once
    except ValueError:
        return False
    return True


def scan_csv(
    stream: TextIO,
    *,
    schema: InteractionsSchema | None = None,
    max_problems: int = 1000,
    on_progress: Callable[[int], None] | None = None,
    chunk_chars: int = 1 << 20,
) -> Scan:
    """Scan an Interactions CSV stream (text, its header first).

    Args:
        stream: the file, opened as text (UTF-8).
        schema: the Interactions schema to hold the header and the types to, or None.
        max_problems: problems kept at most (all are counted).
        on_progress: called with the characters read after each chunk (a progress bar).
        chunk_chars: about how many characters are read at a time.

    Returns:
        The :class:`Scan`.

    Raises:
        ValueError: the stream is empty (no header line).
        UnicodeDecodeError: the file is not UTF-8.
    """
    first = stream.readline()
    if not first.strip():
        raise ValueError("the file is empty; expected a header line")
    header = [name.strip() for name in next(csv.reader([first]))]
    scan = Scan(header, max_problems)
    _check_header(scan, schema)
    checks = _Checks(scan, schema)
    width, line = len(header), 1
    while True:
        chunk = stream.readlines(chunk_chars)
        if not chunk:
            return scan
        if on_progress is not None:
            on_progress(sum(map(len, chunk)))
        columns, empty = _split_plain(chunk, width)
        if columns is not None:  # no quotes, every line whole: no row lists at all
            lines: Sequence[int] = range(line + 1, line + 1 + len(chunk))
            good = len(chunk)
        else:
            empty = True  # not known: look
            rows = list(csv.reader(chunk))
            if len(rows) != len(chunk):  # a quoted line break: find it line by line
                rows = _row_by_row(scan, chunk, line)
            whole, lines = _whole_rows(scan, rows, width, line)
            good = len(whole)
            columns = [list(c) for c in zip(*whole, strict=True)] if whole else None
        line += len(chunk)
        scan.rows += good
        if columns is not None:
            checks.run(columns, lines, max(map(len, chunk)), empty)
            checks.count(columns, empty)


def _split_plain(chunk: list[str], width: int) -> tuple[list[list[str]] | None, bool]:
    """The columns of lines without quotes, split in one go (a list of every field, sliced
    per column), and whether a field may be empty; ``(None, True)`` when a line has a quote or
    not ``width`` fields."""
    text = "".join(chunk)
    if '"' in text:
        return None, True
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    text = text.rstrip("\n")
    fields = text.replace("\n", ",").split(",")
    if len(fields) != len(chunk) * width:
        return None, True
    empty = ",," in text or ",\n" in text or "\n," in text or text[:1] == "," or text[-1:] == ","
    return [fields[i::width] for i in range(width)], empty


def _whole_rows(
    scan: Scan, rows: list[list[str]], width: int, line: int
) -> tuple[list[list[str]], list[int]]:
    """The rows of the header's width and their lines; the others are problems (blank lines
    are skipped)."""
    good, lines = [], []
    for offset, row in enumerate(rows):
        at = line + 1 + offset
        if len(row) == width:
            good.append(row)
            lines.append(at)
        elif row and row != [""]:
            scan.add(at, None, f"{len(row)} fields, the header has {width}", _SRC["formatting"])
    return good, lines


def _row_by_row(scan: Scan, chunk: list[str], line: int) -> list[list[str]]:
    rows: list[list[str]] = []
    for offset, text in enumerate(chunk):
        if text.count('"') % 2:
            scan.add(
                line + 1 + offset, None,
                "an unbalanced quote: a value spanning lines? each record must be on one line",
                _SRC["formatting"],
            )  # fmt: skip
            rows.append([])
        else:
            rows.append(next(csv.reader([text]), []))
    return rows
