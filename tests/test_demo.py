"""The demo's data functions: MovieLens rows, sessions, the floor of calls, the delivery check."""

from __future__ import annotations

from pathlib import Path

import pytest

from personalize_tracker import Event, FailedEvent, FailureReason
from personalize_tracker._tools.backfill import (
    MAX_SAMPLES,
    FailureLog,
    failure_record,
    failure_text,
)
from personalize_tracker._tools.demo import (
    DEFAULT_DATA_PATH,
    MovieLensFormatError,
    Rating,
    RatingEvent,
    calls_floor,
    check_delivery,
    count_rows,
    iter_movielens,
    resolve_data_path,
    sessionize,
)
from personalize_tracker._tools.demo.movielens import Movie, iter_movies, movies_path
from personalize_tracker.testing import RecordedEvent

REPO_ROOT = Path(__file__).resolve().parents[1]
RATINGS = REPO_ROOT / DEFAULT_DATA_PATH
MINUTE = 60


def rating(user: str, timestamp: int, item: str = "1", stars: float = 4.0) -> Rating:
    return Rating(user, item, stars, timestamp)


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------ sessionize


def test_a_gap_of_exactly_the_limit_stays_in_the_session_one_second_more_cuts() -> None:
    rows = [rating("7", 0), rating("7", 30 * MINUTE), rating("7", 60 * MINUTE + 1)]

    events = list(sessionize(rows, 30 * MINUTE))

    assert [e.session_id for e in events] == ["ml-7-1", "ml-7-1", "ml-7-2"]


def test_each_users_ratings_are_sorted_by_time_before_cutting() -> None:
    rows = [
        rating("1", 5000, item="a"),
        rating("1", 100, item="b"),
        rating("1", 100, item="c"),  # same second as "b": file order kept
        rating("1", 200, item="d"),
    ]

    events = list(sessionize(rows, 1000))

    assert [(e.item_id, e.sent_at, e.session_id) for e in events] == [
        ("b", 100, "ml-1-1"),
        ("c", 100, "ml-1-1"),
        ("d", 200, "ml-1-1"),
        ("a", 5000, "ml-1-2"),
    ]


def test_session_numbers_are_per_user_and_users_keep_file_order() -> None:
    rows = [rating("2", 0), rating("2", 10_000), rating("10", 0), rating("10", 50)]

    ids = [(e.user_id, e.session_id) for e in sessionize(rows, 60)]

    assert ids == [("2", "ml-2-1"), ("2", "ml-2-2"), ("10", "ml-10-1"), ("10", "ml-10-1")]


def test_a_user_seen_again_later_continues_its_numbering() -> None:
    rows = [rating("1", 0), rating("2", 0), rating("1", 10)]

    ids = [e.session_id for e in sessionize(rows, 60)]

    assert ids == ["ml-1-1", "ml-2-1", "ml-1-2"]


def test_a_zero_gap_gives_each_distinct_second_its_own_session() -> None:
    rows = [rating("1", 0), rating("1", 0), rating("1", 1)]

    assert [e.session_id for e in sessionize(rows, 0)] == ["ml-1-1", "ml-1-1", "ml-1-2"]


@pytest.mark.parametrize("gap", [-1, float("nan"), float("inf")])
def test_sessionize_refuses_a_bad_gap(gap: float) -> None:
    with pytest.raises(ValueError, match="gap_seconds"):
        list(sessionize([rating("1", 0)], gap))


def test_sessionize_of_nothing_is_nothing() -> None:
    assert list(sessionize([], 60)) == []


# ------------------------------------------------------------------------------ reading


def test_the_first_real_rows_map_to_rating_events() -> None:
    rows = list(iter_movielens(RATINGS, limit=3))

    assert rows == [
        Rating("1", "31", 2.5, 1260759144),
        Rating("1", "1029", 3.0, 1260759179),
        Rating("1", "1061", 3.0, 1260759182),
    ]
    assert list(sessionize(rows, 30 * MINUTE)) == [
        RatingEvent("1", "ml-1-1", "31", 2.5, 1260759144),
        RatingEvent("1", "ml-1-1", "1029", 3.0, 1260759179),
        RatingEvent("1", "ml-1-1", "1061", 3.0, 1260759182),
    ]


def test_a_real_rating_becomes_a_valid_event() -> None:
    (first,) = sessionize(iter_movielens(RATINGS, limit=1), 30 * MINUTE)

    event = Event.create(
        "rating",
        first.session_id,
        user_id=first.user_id,
        item_id=first.item_id,
        event_value=first.event_value,
        sent_at=first.sent_at,
    )

    assert (event.user_id, event.session_id, event.item_id) == ("1", "ml-1-1", "31")
    assert event.event_value == 2.5
    assert event.sent_at == 1260759144.0


def test_limit_reads_only_the_first_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", "userId,movieId,rating,timestamp\n1,2,3,4\n1,3,4,5\n")

    assert len(list(iter_movielens(path, limit=1))) == 1
    assert list(iter_movielens(path, limit=0)) == []
    assert len(list(iter_movielens(path))) == 2
    with pytest.raises(ValueError, match="limit"):
        list(iter_movielens(path, limit=-1))


def test_columns_are_found_by_name_and_blank_lines_skipped(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", "timestamp,rating,movieId,userId\n\n99,4.5,m,u\n\n")

    assert list(iter_movielens(path)) == [Rating("u", "m", 4.5, 99)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("userId,movieId,rating\n1,2,3\n", "lacks timestamp"),
        ("userId,movieId,rating,timestamp\n1,2,3\n", r":2: 3 fields"),
        ("userId,movieId,rating,timestamp\n1,2,3,4\n1,2,good,4\n", r":3: rating 'good'"),
        ("userId,movieId,rating,timestamp\n1,2,3,4.5\n", "timestamp '4.5'"),
        ("userId,movieId,rating,timestamp\n1,2,nan,4\n", "not finite"),
        ("userId,movieId,rating,timestamp\n1,2,3,-4\n", "negative"),
        ("userId,movieId,rating,timestamp\n,2,3,4\n", "empty userId"),
    ],
)
def test_a_malformed_file_names_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = write_csv(tmp_path / "bad.csv", text)

    with pytest.raises(MovieLensFormatError, match=message):
        list(iter_movielens(path))


def test_count_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", "h\n1\n\n2\n3")

    assert count_rows(path) == 3
    assert count_rows(path, limit=2) == 2
    assert count_rows(RATINGS) == 100_004


# ------------------------------------------------------------------------------ data path


def test_a_missing_data_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"ratings file not found; looked at: .*nope\.csv"):
        resolve_data_path("nope.csv", cwd=tmp_path)


def test_the_default_path_is_found_in_the_current_directory_first(tmp_path: Path) -> None:
    local = tmp_path / DEFAULT_DATA_PATH
    local.parent.mkdir(parents=True)
    local.write_text("userId,movieId,rating,timestamp\n", encoding="utf-8")

    assert resolve_data_path(None, cwd=tmp_path) == local


def test_the_default_path_falls_back_to_the_repository(tmp_path: Path) -> None:
    assert resolve_data_path(None, cwd=tmp_path) == RATINGS.resolve()


def test_a_relative_path_is_taken_from_the_current_directory(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "mine.csv", "userId,movieId,rating,timestamp\n")

    assert resolve_data_path("mine.csv", cwd=tmp_path) == path


# ------------------------------------------------------------------------------ floor, check


def test_calls_floor_is_the_sum_of_ceilings() -> None:
    assert calls_floor([1, 10, 11, 20, 21]) == 1 + 1 + 2 + 2 + 3
    assert calls_floor([]) == 0


def sent(event_id: str, item: str = "31", at: float = 1260759144.0) -> Event:
    return Event.create(
        "rating",
        "ml-1-1",
        user_id="1",
        item_id=item,
        event_value=2.5,
        sent_at=at,
        event_id=event_id,
    )


def received(event: Event, **changes: object) -> RecordedEvent:
    fields: dict[str, object] = {
        "tracking_id": "t",
        "session_id": event.session_id,
        "user_id": event.user_id,
        "event_type": event.event_type,
        "sent_at": event.sent_at,
        "event_id": event.event_id,
        "item_id": event.item_id,
        "event_value": event.event_value,
    }
    fields.update(changes)
    return RecordedEvent(**fields)  # type: ignore[arg-type]


def test_the_check_passes_when_each_event_arrived_once_unchanged() -> None:
    a, b = sent("a"), sent("b", item="32", at=1260759144.123)
    got = [received(b, sent_at=1260759144.1234), received(a)]  # order and sub-ms do not matter

    check = check_delivery("t", {"a": a, "b": b}, got)

    assert check.passed
    assert (check.expected, check.received, check.missing, check.duplicated) == (2, 2, 0, 0)


def test_the_check_finds_missing_duplicated_unexpected_and_changed_events() -> None:
    a, b, c, d = sent("a"), sent("b"), sent("c"), sent("d")
    got = [
        received(a),
        received(a),  # a duplicate
        received(b, item_id="99"),  # a changed field
        received(c, sent_at=c.sent_at + 0.002),  # two milliseconds off
        received(sent("zzz")),  # never tracked
    ]  # d is missing

    check = check_delivery("t", {e.event_id: e for e in (a, b, c, d)}, got)

    assert not check.passed
    assert (check.missing, check.duplicated, check.unexpected, check.mismatched) == (1, 1, 1, 2)
    text = "\n".join(check.samples)
    assert "missing: event d" in text
    assert "event a received 2 times" in text
    assert "item_id '31' != '99'" in text
    assert "sent_at (ms)" in text
    assert "unexpected: event zzz" in text


def test_the_check_counts_calls_and_rejected_calls() -> None:
    from personalize_tracker.testing import RecordedRequest

    calls = [
        RecordedRequest("PutEvents", {}, 200, None, "us-east-1", "personalize-events"),
        RecordedRequest("PutEvents", {}, 400, "InvalidInputException", "us-east-1", "x"),
        RecordedRequest("PutUsers", {}, 200, None, "us-east-1", "personalize-events"),
    ]

    check = check_delivery("t", {}, [], calls)

    assert (check.calls, check.rejected_calls) == (2, 1)
    assert check.passed


# ------------------------------------------------------------------------------ failures quoted


def test_the_failure_log_keeps_the_first_failures_only() -> None:
    log = FailureLog()
    events = [sent(f"e-{n}") for n in range(MAX_SAMPLES + 3)]
    first = [FailedEvent(e, FailureReason.INVALID) for e in events[:3]]
    rest = [FailedEvent(e, FailureReason.QUEUE_FULL) for e in events[3:]]

    log(first)
    log(rest)
    log(first)

    assert log.samples == [*first, *rest][:MAX_SAMPLES]


def test_a_failure_is_quoted_alike_as_text_and_as_data() -> None:
    failure = FailedEvent(sent("e-1"), FailureReason.INVALID, "InvalidInputException", "bad item")

    assert failure_text(failure) == "failure: event e-1: invalid (InvalidInputException: bad item)"
    assert failure_record(failure) == {
        "event_id": "e-1",
        "reason": "invalid",
        "error_code": "InvalidInputException",
        "message": "bad item",
    }


# ------------------------------------------------------------------------------ the catalogue


def test_the_catalogue_is_read_with_its_genres() -> None:
    movies = movies_path(RATINGS)
    assert movies.name == "movies.csv"
    first = next(iter_movies(movies))
    assert first == Movie(
        "1", "Toy Story (1995)", ("Adventure", "Animation", "Children", "Comedy", "Fantasy")
    )
    assert sum(1 for _ in iter_movies(movies)) == 9125
    assert [m.item_id for m in iter_movies(movies, {"31", "2"})] == ["2", "31"]


def test_a_movie_without_genres_has_none(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "movies.csv",
        'movieId,title,genres\n7,"Sabrina, again (1995)",(no genres listed)\n\n8,X,A|B\n',
    )
    assert list(iter_movies(path)) == [
        Movie("7", "Sabrina, again (1995)", ()),
        Movie("8", "X", ("A", "B")),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("movieId,name\n1,x\n", "the header lacks title, genres"),
        ("movieId,title,genres\n,x,A\n", "movies.csv:2: expected movieId,title,genres"),
    ],
)
def test_a_malformed_catalogue_names_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = write_csv(tmp_path / "movies.csv", text)
    with pytest.raises(MovieLensFormatError, match=message):
        list(iter_movies(path))
