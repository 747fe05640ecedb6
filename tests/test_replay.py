"""personalize_tracker.replay(): DataFrames and records through a Tracker to the local endpoint."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import matplotlib
import pandas as pd
import pytest

from personalize_tracker import BadRow, ReplaySummary, Tracker, TrackerStats, replay
from personalize_tracker._tools.bulk import FieldMapping, RowError
from personalize_tracker._tools.bulk.fields import RowFields
from personalize_tracker._tools.demo import iter_movielens, sessionize
from personalize_tracker._tools.replay.rows import (
    MAX_BAD_ROWS_KEPT,
    BadRows,
    Prepared,
    RowReader,
    cut_sessions,
    input_rows,
)
from personalize_tracker.testing import PersonalizeEventsMock

matplotlib.use("Agg")

RATINGS = (
    Path(__file__).resolve().parents[1] / "datasets" / "movielens-latest-small" / "ratings.csv"
)
MOVIELENS = {"item_id": "movieId", "event_value": "rating"}  # userId and timestamp: by name


def session() -> boto3.Session:
    return boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )


@pytest.fixture
def tracker(personalize_events: PersonalizeEventsMock) -> Iterator[Tracker]:
    with Tracker("tracking-1", session=session(), max_backoff=0.01) as t:
        yield t


def ratings(rows: int) -> pd.DataFrame:
    return pd.read_csv(RATINGS, nrows=rows)


# ------------------------------------------------------------------------------ happy path


def test_a_movielens_dataframe_arrives_event_for_event(
    tracker: Tracker, personalize_events: PersonalizeEventsMock
) -> None:
    frame = ratings(300)

    summary = replay(
        tracker, frame, MOVIELENS, event_type="rating", session_prefix="ml-", progress=False
    )

    assert summary.ok, summary.problems
    assert (summary.rows_read, summary.tracked, summary.delivered) == (300, 300, 300)
    assert (summary.failed, summary.dropped, summary.pending, summary.bad_row_count) == (0, 0, 0, 0)
    assert summary.failed_by_reason == {}
    received = personalize_events.events
    assert len(received) == 300
    # Same fields and the same sessions as the demo's own MovieLens reader and sessionizer.
    expected = sorted(
        (e.user_id, e.session_id, e.item_id, e.event_value, float(e.sent_at))
        for e in sessionize(iter_movielens(RATINGS, 300), 30 * 60.0)
    )
    got = sorted((e.user_id, e.session_id, e.item_id, e.event_value, e.sent_at) for e in received)
    assert got == expected
    assert {e.event_type for e in received} == {"rating"}
    assert summary.users == frame["userId"].nunique()
    assert summary.sessions == len({(e.user_id, e.session_id) for e in received})
    puts = [r for r in personalize_events.requests if r.operation == "PutEvents"]
    assert summary.put_events_calls == len(puts)
    assert summary.calls_floor <= summary.put_events_calls
    assert summary.wall_seconds > 0
    assert summary.events_per_second == pytest.approx(300 / summary.wall_seconds)


def test_records_use_the_interactions_column_names_and_context(
    tracker: Tracker, personalize_events: PersonalizeEventsMock
) -> None:
    rows = [
        {
            "USER_ID": "u1",
            "ITEM_ID": "i1",
            "TIMESTAMP": 1_700_000_000,
            "EVENT_TYPE": "click",
            "IMPRESSION": "i1|i2|i3",
            "RECOMMENDATION_ID": "RID-1",
            "DEVICE_TYPE": "mobile",
        },
        {
            "userId": "u1",
            "itemId": "i2",
            "sentAt": "2023-11-14T22:15:00+00:00",
            "eventType": "purchase",
            "eventValue": "19.5",
            "DEVICE_TYPE": None,  # missing: left out of properties
        },
    ]

    summary = replay(tracker, rows, progress=False)

    assert summary.ok, summary.problems
    first, second = sorted(personalize_events.events, key=lambda e: e.event_type)
    assert (first.event_type, first.user_id, first.item_id) == ("click", "u1", "i1")
    assert first.impression == ("i1", "i2", "i3")
    assert first.recommendation_id == "RID-1"
    assert json.loads(first.properties or "") == {"deviceType": "mobile"}
    assert first.sent_at == 1_700_000_000
    assert (second.event_type, second.event_value, second.properties) == ("purchase", 19.5, None)
    assert second.sent_at == dt.datetime(2023, 11, 14, 22, 15, tzinfo=dt.timezone.utc).timestamp()
    # 15 minutes apart: one session of u1.
    assert first.session_id == second.session_id == "replay-u1-1"


def test_an_explicit_mapping_names_the_context_columns(
    tracker: Tracker, personalize_events: PersonalizeEventsMock
) -> None:
    frame = pd.DataFrame(
        {
            "who": [7, 7],
            "what": ["a", "b"],
            "when": pd.to_datetime([1_700_000_000, 1_700_009_000], unit="s", utc=True),
            "device": ["tv", "phone"],
            "ignored": ["x", "y"],
            "visit": ["s-1", "s-1"],
        }
    )
    mapping = {
        "user_id": "who",
        "item_id": "what",
        "timestamp": "when",
        "session_id": "visit",
        "context": {"DEVICE_TYPE": "device"},
    }

    summary = replay(tracker, frame, mapping, event_type="view", progress=False)

    assert summary.ok, summary.problems
    received = sorted(personalize_events.events, key=lambda e: e.sent_at)
    assert [e.user_id for e in received] == ["7", "7"]
    # The session column wins over the 30-minute cut (the rows are 2.5 hours apart).
    assert [e.session_id for e in received] == ["s-1", "s-1"]
    assert [json.loads(e.properties or "") for e in received] == [
        {"deviceType": "tv"},
        {"deviceType": "phone"},
    ]
    assert [e.sent_at for e in received] == [1_700_000_000, 1_700_009_000]


def test_sessions_are_cut_per_user_at_the_gap_even_when_users_interleave(
    tracker: Tracker, personalize_events: PersonalizeEventsMock
) -> None:
    minute = 60
    rows = [  # a time-ordered log: users alternate
        {"user_id": "a", "item_id": "1", "timestamp": 1_000_000 + 0 * minute},
        {"user_id": "b", "item_id": "1", "timestamp": 1_000_000 + 1 * minute},
        {"user_id": "a", "item_id": "2", "timestamp": 1_000_000 + 20 * minute},
        {"user_id": "b", "item_id": "2", "timestamp": 1_000_000 + 40 * minute},  # 39 min later
        {"user_id": "a", "item_id": "3", "timestamp": 1_000_000 + 45 * minute},  # 25 min later
    ]

    summary = replay(tracker, rows, event_type="view", session_gap_minutes=30, progress=False)

    assert summary.ok
    sessions = {(e.user_id, e.item_id): e.session_id for e in personalize_events.events}
    assert sessions == {
        ("a", "1"): "replay-a-1",
        ("a", "2"): "replay-a-1",
        ("a", "3"): "replay-a-1",
        ("b", "1"): "replay-b-1",
        ("b", "2"): "replay-b-2",
    }
    assert summary.sessions == 3


# ------------------------------------------------------------------------------ bad rows


def test_bad_rows_are_reported_and_the_rest_is_delivered(
    tracker: Tracker, personalize_events: PersonalizeEventsMock
) -> None:
    good = {"user_id": "u", "item_id": "i", "timestamp": 1_700_000_000}
    rows: list[Any] = [
        good,
        {"item_id": "i", "timestamp": 1_700_000_000},  # no user
        {**good, "timestamp": 1_700_000_000_000},  # milliseconds
        {**good, "timestamp": dt.datetime(2024, 1, 1)},  # naive
        {**good, "event_value": "lots"},  # not a number
        {**good, "event_type": ""},  # empty: the default applies
        {**good, "item_id": "x" * 300},  # too long for PutEvents
        "not a record",
        good,
    ]

    summary = replay(tracker, rows, event_type="view", progress=False)

    assert not summary.ok
    assert summary.rows_read == 9
    assert summary.tracked == summary.delivered == 3
    assert len(personalize_events.events) == 3
    assert summary.bad_row_count == 6
    assert [b.row for b in summary.bad_rows] == [1, 2, 3, 4, 6, 7]
    messages = {b.row: b.message for b in summary.bad_rows}
    assert "no user id" in messages[1]
    assert "milliseconds" in messages[2]
    assert "naive datetime" in messages[3]
    assert "event_value" in messages[4]
    assert "'lots'" in messages[4]
    assert "item_id" in messages[6]
    assert "300 characters" in messages[6]
    assert "not a record" in messages[7]
    assert all(b.line is None for b in summary.bad_rows)
    assert summary.problems == ["6 bad row(s) skipped"]
    assert "row 2: " in str(summary)


def test_rows_without_an_event_type_are_bad_when_no_default_is_given(tracker: Tracker) -> None:
    summary = replay(tracker, [{"user_id": "u", "item_id": "i"}], progress=False)

    assert summary.bad_rows == (
        BadRow(0, "no event type: map an event_type column or pass event_type=", None),
    )


def test_wrong_arguments_raise_before_anything_is_sent(tracker: Tracker) -> None:
    with pytest.raises(ValueError, match="unknown mapping key"):
        replay(tracker, [], {"user": "u"}, progress=False)
    with pytest.raises(ValueError, match="no column 'movieId'"):
        replay(tracker, pd.DataFrame({"userId": [1]}), {"item_id": "movieId"}, progress=False)
    with pytest.raises(TypeError, match="DataFrame or an iterable of records"):
        replay(tracker, "ratings.csv", progress=False)
    with pytest.raises(ValueError, match="session_gap_minutes"):
        replay(tracker, [], session_gap_minutes=-1, progress=False)
    assert tracker.stats().tracked == 0


# ------------------------------------------------------------------------------ never drop


@pytest.mark.parametrize("sync", [False, True], ids=["threads", "sync"])
def test_a_small_queue_never_drops_a_row(
    sync: bool, personalize_events: PersonalizeEventsMock
) -> None:
    with Tracker(
        "tracking-1",
        session=session(),
        max_queue_size=20,
        overflow="drop",
        sync=sync,
        flush_interval=0.05,
    ) as small:
        summary = replay(small, ratings(400), MOVIELENS, event_type="rating", progress=False)

    assert summary.dropped == 0
    assert summary.delivered == 400
    assert len(personalize_events.events) == 400


def test_failures_and_retries_are_counted_and_plotted(
    tracker: Tracker, personalize_events: PersonalizeEventsMock
) -> None:
    personalize_events.inject_fault("throttling", times=3)
    personalize_events.reject_events(lambda e: e.item_id == "poison")
    rows = [{"user_id": f"u{n % 7}", "item_id": str(n)} for n in range(60)]
    rows[17]["item_id"] = "poison"

    summary = replay(tracker, rows, event_type="view", progress=False)

    assert summary.delivered == 59
    assert summary.failed == 1
    assert summary.failed_by_reason == {"invalid": 1}
    assert summary.retried_calls >= 3
    assert summary.problems == ["1 event(s) failed"]
    last = summary.timeline[-1]
    assert (last.delivered, last.failed, last.retried) == (59, 1, summary.retried_calls)
    assert summary.timeline[0].seconds == 0.0
    assert all(a.seconds <= b.seconds for a, b in itertools.pairwise(summary.timeline))

    ax = summary.plot()

    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"delivered events", "retried calls", "failed + dropped"}
    assert list(lines["delivered events"].get_ydata())[-1] == 59
    assert list(lines["failed + dropped"].get_ydata())[-1] == 1
    assert "59 events delivered" in ax.get_title()


def test_counts_are_the_replays_own_on_a_tracker_used_before(
    tracker: Tracker, personalize_events: PersonalizeEventsMock
) -> None:
    tracker.track("view", "s-0", "u-0", "i-0")
    tracker.flush()

    summary = replay(
        tracker, [{"user_id": "u", "item_id": "i"}] * 5, event_type="v", progress=False
    )

    assert (summary.tracked, summary.delivered, summary.put_events_calls) == (5, 5, 1)
    assert tracker.stats().delivered == 6


def test_limit_and_the_progress_bar(tracker: Tracker, capsys: pytest.CaptureFixture[str]) -> None:
    summary = replay(tracker, ratings(50), MOVIELENS, event_type="rating", limit=20)

    assert summary.rows_read == summary.delivered == 20
    err = capsys.readouterr().err
    assert "replay" in err
    assert "20/20" in err


# ------------------------------------------------------------------------------ display


def test_the_summary_and_the_stats_render_as_html_tables(tracker: Tracker) -> None:
    rows: list[Any] = [{"user_id": "u", "item_id": "i"}, {"item_id": "<script>"}]
    summary = replay(tracker, rows, event_type="view", progress=False)

    page = summary._repr_html_()
    assert page.startswith("<table")
    assert "</table>" in page
    assert "<th " in page
    assert "delivered" in page
    assert "Bad rows" in page
    assert "no user id" in page
    assert "<script>" not in page  # values are escaped

    stats_page = tracker.stats()._repr_html_()
    assert "TrackerStats" in stats_page
    assert "<td" in stats_page
    assert ">1<" in stats_page  # one delivered

    failing = TrackerStats(tracked=3, failed=2, dropped=1, failed_by_reason={"invalid": 2})
    assert "invalid: 2" in failing._repr_html_()
    assert "#cf222e" in failing._repr_html_()  # red caption


def test_to_dict_is_json_ready(tracker: Tracker) -> None:
    summary = replay(tracker, [{"item_id": "i"}], event_type="view", progress=False)

    data = json.loads(json.dumps(summary.to_dict()))

    assert data["result"] == "FAIL"
    assert data["bad_rows"] == [{"row": 0, "line": None, "message": summary.bad_rows[0].message}]
    assert isinstance(summary, ReplaySummary)
    assert repr(summary).startswith("<ReplaySummary FAIL: rows_read=1 tracked=0")


# ------------------------------------------------------------------------------ field mapping


def test_the_field_mapping_reads_pandas_and_numpy_values() -> None:
    frame = pd.DataFrame(
        {"userId": [1.0, None], "itemId": [10, 11], "impression": [["a", 2], "b|c"]}
    )
    fields = FieldMapping(event_type="view")
    records = [dict(zip(frame.columns, t, strict=True)) for t in frame.itertuples(index=False)]

    first, second = (fields.extract(r) for r in records)

    assert (first.user_id, first.item_id, first.impression) == (1, 10, ("a", 2))
    assert (second.user_id, second.impression) == (None, ("b", "c"))
    with pytest.raises(RowError, match="a bool"):
        fields.extract({"userId": True})
    with pytest.raises(RowError, match="not valid JSON"):
        fields.extract({"properties": "{nope"})


def test_importing_the_package_loads_no_notebook_library() -> None:
    code = (
        "import sys, personalize_tracker;"
        "print(sorted(m for m in ('pandas', 'matplotlib', 'tqdm', 'numpy', 'IPython')"
        " if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


# ------------------------------------------------------------------------------ rows, directly


def prepared(
    position: int, user: str | None, sent_at: float | None, session: str | None = None
) -> Prepared:
    fields = RowFields(
        user_id=user,
        session_id=session,
        item_id=None,
        event_type="view",
        sent_at=sent_at,
        event_value=None,
        impression=None,
        recommendation_id=None,
        event_id=None,
        properties=None,
        metric_attribution_source=None,
    )
    return Prepared(position, None, fields)


def test_cut_sessions_sorts_a_users_run_and_cuts_only_beyond_the_gap() -> None:
    rows = [
        prepared(0, "u1", 1_000.0),
        prepared(1, "u1", 99.0),  # earlier: sorted first, 901 s before the next
        prepared(2, "u1", None),  # no time: last, in the current session
        prepared(3, "u2", 50.0, session="own"),  # keeps its own
        prepared(4, "u2", 60.0),
        prepared(5, "u1", 1_900.0),  # u1 again, exactly 900 s after 1,000: same session
        prepared(6, "u1", 2_801.0),  # 901 s later: a new one
    ]

    got = [(row.position, session) for row, session in cut_sessions(rows, 900.0, "p-")]

    assert got == [
        (1, "p-u1-1"),
        (0, "p-u1-2"),
        (2, "p-u1-2"),
        (3, "own"),
        (4, "p-u2-1"),
        (5, "p-u1-2"),
        (6, "p-u1-3"),
    ]


def test_the_row_reader_sends_what_cannot_be_tracked_to_bad_rows() -> None:
    records = [
        (2, {"userId": "u1", "eventType": "view"}),
        (3, "2 fields, the header has 4"),  # a problem found while reading
        (4, ["not", "a", "record"]),
        (5, {"userId": "u2", "eventValue": "lots", "eventType": "view"}),
        (6, {"itemId": "i1", "eventType": "view"}),  # no user, no session
        (7, {"userId": "u3"}),  # no event type
        (8, {"sessionId": "s", "eventType": "view"}),
    ]
    rows, total = input_rows(records, FieldMapping(), located=True, total=None, limit=None)
    bad = BadRows()
    reader = RowReader(rows, FieldMapping(), bad)

    kept = [(row.position, row.line) for row in reader]

    assert kept == [(0, 2), (6, 8)]
    assert (reader.read, bad.count, total) == (7, 5, None)
    assert [(b.row, b.line) for b in bad.kept] == [(1, 3), (2, 4), (3, 5), (4, 6), (5, 7)]
    messages = [b.message for b in bad.kept]
    assert messages[0] == "2 fields, the header has 4"
    assert messages[1] == "a list, not a record (a mapping)"
    assert "'lots'" in messages[2]
    assert messages[3] == "no user id and no session id (no user id column)"
    assert messages[4] == "no event type: map an event_type column or pass event_type="


def test_bad_rows_are_all_counted_but_only_the_first_kept() -> None:
    bad = BadRows()
    for n in range(MAX_BAD_ROWS_KEPT + 5):
        bad.reject(n, None, "bad")

    assert bad.count == MAX_BAD_ROWS_KEPT + 5
    assert len(bad.kept) == MAX_BAD_ROWS_KEPT
    assert bad.kept[-1] == BadRow(MAX_BAD_ROWS_KEPT - 1, "bad", None)


def test_input_rows_counts_and_limits_and_checks_a_dataframes_columns() -> None:
    frame = pd.DataFrame({"userId": ["u1", "u2", "u3"], "movieId": [1, 2, 3]})

    rows, total = input_rows(frame, FieldMapping(), located=False, total=None, limit=2)

    assert total == 2
    assert [(position, line, record["userId"]) for position, line, record in rows] == [
        (0, None, "u1"),
        (1, None, "u2"),
    ]
    with pytest.raises(ValueError, match="no column 'rating'"):
        input_rows(
            frame, FieldMapping({"event_value": "rating"}), located=False, total=None, limit=None
        )
    with pytest.raises(TypeError, match="got dict"):
        input_rows({"userId": "u1"}, FieldMapping(), located=False, total=None, limit=None)


def test_an_empty_timestamp_is_a_bad_row_not_now(
    tracker: Tracker, personalize_events: PersonalizeEventsMock
) -> None:
    frame = pd.DataFrame(
        {
            "USER_ID": ["u1", "u2", "u3", None],
            "ITEM_ID": ["i1", "i2", "i3", "i4"],
            "TIMESTAMP": [1_700_000_000, None, 1_700_000_060, 1_700_000_000],
        }
    )

    summary = replay(tracker, frame, event_type="view", progress=False)

    assert [(b.row, b.message) for b in summary.bad_rows] == [
        (1, "no timestamp (column 'TIMESTAMP' is empty)"),
        (3, "no user id and no session id (column 'USER_ID' is empty)"),
    ]
    assert sorted(e.item_id or "" for e in personalize_events.events) == ["i1", "i3"]
    assert {e.sent_at for e in personalize_events.events} == {1_700_000_000, 1_700_000_060}


def test_replaying_the_same_data_again_sends_the_same_event_ids(
    tracker: Tracker, personalize_events: PersonalizeEventsMock
) -> None:
    row = {"user_id": "u", "item_id": "i", "timestamp": 1_700_000_000}
    rows = [row, dict(row), {**row, "item_id": "j"}, {**row, "event_id": "mine"}]

    def ids(**options: Any) -> tuple[set[str], set[str]]:
        """The ids sent: (generated, the rows' own)."""
        personalize_events.reset()
        replay(tracker, rows, event_type="view", progress=False, **options)
        sent = {e.event_id for e in personalize_events.events}
        assert len(sent) == 4
        return {i for i in sent if i != "mine"}, sent & {"mine"}

    generated, own = ids()
    assert own == {"mine"}  # a row's own id is kept
    assert ids() == (generated, own)  # a rerun is harmless: Personalize trains on an id once
    assert all(i.startswith("rp-") and len(i) == 67 for i in generated)  # equal rows: 2 ids
    assert ids(id_namespace="other-source")[0].isdisjoint(generated)
    random_ids, own = ids(stable_ids=False)
    assert own == {"mine"}
    assert random_ids.isdisjoint(generated)
    assert random_ids.isdisjoint(ids(stable_ids=False)[0])
