"""``personalize-tracker demo --fleet N``: the split by user, the exactly-once check, and a small
run end to end (producer processes, a local Kinesis stream, the local runner, PutEvents)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from personalize_tracker._stream.reader import ReadSummary
from personalize_tracker._tools.demo import DEFAULT_DATA_PATH, iter_movielens
from personalize_tracker._tools.fleet import FleetResult, ProducerResult, share_of
from personalize_tracker.cli import cli

RATINGS = Path(__file__).resolve().parents[1] / DEFAULT_DATA_PATH


def test_each_user_belongs_to_one_producer_and_every_producer_gets_users() -> None:
    users = {row.user_id for row in iter_movielens(RATINGS)}
    shares = Counter(share_of(user, 4) for user in users)
    assert sorted(shares) == [0, 1, 2, 3]
    assert min(shares.values()) > len(users) / 8  # no producer nearly idle
    assert all(share_of(user, 4) == share_of(user, 4) for user in users)


def producer(index: int, ids: tuple[str, ...], sessions: tuple[int, ...]) -> ProducerResult:
    return ProducerResult(
        index=index,
        tracked=len(ids),
        written=len(ids),
        failed=0,
        put_records_calls=1,
        event_ids=ids,
        per_session=tuple(("u", f"s{n}", count) for n, count in enumerate(sessions)),
        track_us=1.0,
        baseline_track_us=1.0,
    )


def result(received: Counter[str], calls: int) -> FleetResult:
    producers = (producer(0, ("a", "b", "c"), (3,)), producer(1, ("d",), (1,)))
    return FleetResult(producers, 4, ReadSummary(), received, calls, 2, 1.0)


def test_the_check_passes_only_with_each_event_once_within_the_call_budget() -> None:
    every = Counter("abcd")
    assert result(every, 2).ok
    missing = result(Counter("abc"), 2)
    assert (missing.lost, missing.ok) == (1, False)
    repeated = result(every + Counter("a"), 2)
    assert (repeated.twice, repeated.ok) == (1, False)
    assert not result(every, 3).ok  # 3 calls > 1.05 x the floor of 2


def test_the_fleet_demo_runs_only_locally() -> None:
    outcome = CliRunner().invoke(
        cli, ["demo", "--fleet", "2", "--endpoint-url", "http://127.0.0.1:1", "--tracking-id", "t"]
    )
    assert outcome.exit_code == 2
    assert "--endpoint-url" in outcome.output


@pytest.mark.slow
def test_a_small_fleet_delivers_every_event_exactly_once() -> None:
    outcome = CliRunner().invoke(
        cli, ["demo", "--fleet", "2", "--limit", "3000", "--data", str(RATINGS), "--json"]
    )
    assert outcome.exit_code == 0, outcome.output
    summary = json.loads(outcome.stdout)
    assert summary["tracked"] == 3000
    assert (summary["lost"], summary["delivered_twice"]) == (0, 0)
    assert [p["written"] for p in summary["producers"]] == [
        p["tracked"] for p in summary["producers"]
    ]
    assert summary["calls_floor"] <= summary["put_events_calls"] <= 1.05 * summary["calls_floor"]
