"""The MovieLens ratings the demo replays: finding the file, reading it, cutting sessions.

Plain functions, each tested on its own: :func:`resolve_data_path` finds ``ratings.csv``,
:func:`count_rows` gives the progress bar its total, :func:`iter_movielens` streams the rows as
:class:`Rating` records and :func:`sessionize` turns them into :class:`RatingEvent` records, the
fields of one PutEvents event each. Nothing here imports the Tracker.
"""

from __future__ import annotations

import csv
import itertools
import math
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

__all__ = [
    "DEFAULT_DATA_PATH",
    "DEFAULT_SESSION_GAP_MINUTES",
    "EVENT_TYPE",
    "Movie",
    "MovieLensFormatError",
    "Rating",
    "RatingEvent",
    "count_rows",
    "iter_movielens",
    "iter_movies",
    "movies_path",
    "resolve_data_path",
    "sessionize",
]

#: Where the MovieLens ratings live, relative to the current directory or the repository root.
DEFAULT_DATA_PATH = Path("datasets") / "movielens-latest-small" / "ratings.csv"
#: Minutes without a rating after which a user's next rating starts a new session.
DEFAULT_SESSION_GAP_MINUTES = 30.0
#: ``eventType`` of every replayed rating.
EVENT_TYPE = "rating"

_COLUMNS = ("userId", "movieId", "rating", "timestamp")
_MOVIE_COLUMNS = ("movieId", "title", "genres")
#: The ``genres`` of a movie MovieLens gives none.
_NO_GENRES = "(no genres listed)"


class MovieLensFormatError(ValueError):
    """A MovieLens ratings file has no usable header, or a row that cannot be read."""


class Rating(NamedTuple):
    """One row of a MovieLens ``ratings.csv``.

    Attributes:
        user_id: ``userId`` as written in the file (str).
        item_id: ``movieId`` as written in the file (str).
        rating: the rating, 0.5 to 5.0 stars in half-star steps (float).
        timestamp: when it was given, Unix epoch seconds (int, UTC).
    """

    user_id: str
    item_id: str
    rating: float
    timestamp: int


class Movie(NamedTuple):
    """One row of a MovieLens ``movies.csv``: an item of the Items dataset.

    Attributes:
        item_id: ``movieId`` (the ``ITEM_ID``, as the ratings' ``itemId``).
        title: the title with its year, e.g. ``"Toy Story (1995)"`` (``TITLE``, a textual field).
        genres: the genres, e.g. ``("Adventure", "Animation")`` (``GENRES``, a multi-valued
            categorical field, sent ``|``-joined); empty for "(no genres listed)".
    """

    item_id: str
    title: str
    genres: tuple[str, ...]


class RatingEvent(NamedTuple):
    """A rating mapped to the fields of one PutEvents interaction event (type :data:`EVENT_TYPE`).

    Attributes:
        user_id: ``userId`` (the MovieLens ``userId``).
        session_id: ``sessionId``, ``ml-<userId>-<n>`` with n counting the user's sessions from 1.
        item_id: ``itemId`` (the MovieLens ``movieId``).
        event_value: ``eventValue``, the rating in stars (float).
        sent_at: ``sentAt``, the rating's Unix timestamp in epoch seconds (int).
    """

    user_id: str
    session_id: str
    item_id: str
    event_value: float
    sent_at: int


def resolve_data_path(data: str | os.PathLike[str] | None, *, cwd: Path | None = None) -> Path:
    """Find the ratings file to replay.

    Args:
        data: the path given by the user, or ``None`` for :data:`DEFAULT_DATA_PATH`. A relative
            path is looked up in ``cwd``, then (for the default path only) under the repository
            root this package was installed from in editable mode.
        cwd: the directory relative paths start from (default: the current directory).

    Returns:
        The path of an existing file.

    Raises:
        FileNotFoundError: no such file; the message lists every place looked at.
    """
    base = Path.cwd() if cwd is None else cwd
    given = Path(data) if data is not None else DEFAULT_DATA_PATH
    candidates = [given if given.is_absolute() else base / given]
    if data is None:
        # src/personalize_tracker/_tools/demo/movielens.py -> the repository root of an
        # editable install.
        candidates.append(Path(__file__).resolve().parents[4] / DEFAULT_DATA_PATH)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(c) for c in dict.fromkeys(candidates))
    hint = (
        " (run from a clone of the repository, where the data ships, or pass --data PATH to a "
        "MovieLens ratings.csv: the 'ml-latest-small' data set of "
        "https://grouplens.org/datasets/movielens/; the installed package does not hold it)"
        if data is None
        else ""
    )
    raise FileNotFoundError(f"ratings file not found; looked at: {tried}{hint}")


def _open_csv(path: Path) -> Any:
    return path.open(newline="", encoding="utf-8")


def count_rows(path: str | os.PathLike[str], limit: int | None = None) -> int:
    """Count the data rows of a CSV file (lines after the header, blank lines excluded).

    A cheap pass over the file (tens of milliseconds for MovieLens small) that gives the progress
    bar its total.

    Args:
        path: the CSV file.
        limit: stop counting at this many rows; ``None`` counts them all.

    Returns:
        The number of non-blank lines after the first, at most ``limit``.

    Raises:
        OSError: the file cannot be read.
    """
    with Path(path).open("rb") as stream:
        next(stream, None)
        rows = sum(1 for line in stream if line.strip())
    return rows if limit is None else min(rows, limit)


def iter_movielens(path: str | os.PathLike[str], limit: int | None = None) -> Iterator[Rating]:
    """Stream the rows of a MovieLens ``ratings.csv`` (``userId,movieId,rating,timestamp``).

    The file is read lazily with the :mod:`csv` module; columns are found by their header names,
    in any order. Blank lines are skipped.

    Args:
        path: the ratings file.
        limit: yield at most this many rows, the first ones of the file (``None``: all; >= 0).

    Yields:
        :class:`Rating` records, in file order.

    Raises:
        ValueError: ``limit`` is negative.
        MovieLensFormatError: the header lacks one of the four columns, or a row has a missing
            field, an empty id, a non-numeric or non-finite rating, or a timestamp that is not a
            whole number of seconds >= 0 (the message names the file and line).
        OSError: the file cannot be read.
    """
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be None or >= 0, got {limit!r}")
    if limit == 0:
        return
    where = Path(path)
    with _open_csv(where) as stream:
        reader = csv.reader(stream)
        header = next(reader, None)
        if header is None:
            raise MovieLensFormatError(f"{where}: the file is empty; expected a header line")
        names = [name.strip().lstrip("\ufeff") for name in header]
        missing = [column for column in _COLUMNS if column not in names]
        if missing:
            raise MovieLensFormatError(
                f"{where}:1: the header lacks {', '.join(missing)}; expected "
                f"{','.join(_COLUMNS)}, got {','.join(names)}"
            )
        u, m, r, t = (names.index(column) for column in _COLUMNS)
        width = max(u, m, r, t) + 1
        count = 0
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            line = reader.line_num
            if len(row) < width:
                raise MovieLensFormatError(
                    f"{where}:{line}: {len(row)} fields, expected at least {width}"
                )
            user_id, item_id = row[u].strip(), row[m].strip()
            if not user_id or not item_id:
                raise MovieLensFormatError(f"{where}:{line}: empty userId or movieId")
            try:
                rating = float(row[r])
                timestamp = int(row[t])
            except ValueError:
                raise MovieLensFormatError(
                    f"{where}:{line}: rating {row[r]!r} or timestamp {row[t]!r} is not a number"
                ) from None
            if not math.isfinite(rating):
                raise MovieLensFormatError(f"{where}:{line}: rating {row[r]!r} is not finite")
            if timestamp < 0:
                raise MovieLensFormatError(f"{where}:{line}: timestamp {timestamp} is negative")
            yield Rating(user_id, item_id, rating, timestamp)
            count += 1
            if limit is not None and count >= limit:
                return


def movies_path(ratings: Path) -> Path:
    """The catalogue beside a ratings file: ``movies.csv`` in its folder (it may not exist)."""
    return ratings.with_name("movies.csv")


def iter_movies(path: str | os.PathLike[str], only: set[str] | None = None) -> Iterator[Movie]:
    """Stream the rows of a MovieLens ``movies.csv`` (``movieId,title,genres``).

    Args:
        path: the catalogue file.
        only: yield only these movie ids (``None``: all).

    Yields:
        :class:`Movie` records, in file order.

    Raises:
        MovieLensFormatError: the header lacks a column, or a row has too few fields or an empty
            movieId (the message names the file and line).
        OSError: the file cannot be read.
    """
    where = Path(path)
    with _open_csv(where) as stream:
        reader = csv.reader(stream)
        names = [name.strip().lstrip("\ufeff") for name in next(reader, None) or []]
        missing = [column for column in _MOVIE_COLUMNS if column not in names]
        if missing:
            raise MovieLensFormatError(
                f"{where}:1: the header lacks {', '.join(missing)}; expected "
                f"{','.join(_MOVIE_COLUMNS)}, got {','.join(names)}"
            )
        m, t, g = (names.index(column) for column in _MOVIE_COLUMNS)
        width = max(m, t, g) + 1
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) < width or not row[m].strip():
                raise MovieLensFormatError(
                    f"{where}:{reader.line_num}: expected movieId,title,genres with a movieId"
                )
            item_id = row[m].strip()
            if only is not None and item_id not in only:
                continue
            genres = () if row[g].strip() == _NO_GENRES else tuple(row[g].split("|"))
            yield Movie(item_id, row[t].strip(), tuple(x for x in genres if x))


def sessionize(rows: Iterable[Rating], gap_seconds: float) -> Iterator[RatingEvent]:
    """Cut each user's ratings into sessions and map them to PutEvents fields.

    Consecutive rows of one user (MovieLens files are ordered by user) form that user's group. A
    group is sorted by timestamp (stable: ties keep file order) and cut where the time since the
    previous rating *exceeds* ``gap_seconds``. Session ids are ``ml-<userId>-<n>``, n counting the
    user's sessions from 1. A user whose rows are not consecutive gets one group per run of rows,
    numbered on from the previous run, so session ids stay unique. Memory: one user's group.

    Args:
        rows: ratings, grouped by user (as :func:`iter_movielens` yields them).
        gap_seconds: the largest gap, in seconds, between two ratings of one session (>= 0).

    Yields:
        :class:`RatingEvent` records: user by user, each user's in time order.

    Raises:
        ValueError: ``gap_seconds`` is negative or not finite.
    """
    if not (isinstance(gap_seconds, (int, float)) and math.isfinite(gap_seconds)):
        raise ValueError(f"gap_seconds must be a finite number, got {gap_seconds!r}")
    if gap_seconds < 0:
        raise ValueError(f"gap_seconds must be >= 0, got {gap_seconds!r}")
    sessions_of: dict[str, int] = {}
    for user_id, group in itertools.groupby(rows, key=lambda row: row.user_id):
        ordered = sorted(group, key=lambda row: row.timestamp)
        number = sessions_of.get(user_id, 0)
        previous: int | None = None
        session_id = ""
        for row in ordered:
            if previous is None or row.timestamp - previous > gap_seconds:
                number += 1
                session_id = f"ml-{user_id}-{number}"
            previous = row.timestamp
            yield RatingEvent(user_id, session_id, row.item_id, row.rating, row.timestamp)
        sessions_of[user_id] = number
