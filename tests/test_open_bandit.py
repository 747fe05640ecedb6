"""The Open Bandit replay example over a slice of the real data, against the local endpoint."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from personalize_tracker import Tracker
from personalize_tracker.testing import PersonalizeEventsMock

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "open_bandit" / "replay.py"
#: The first 1,200 rows hold 4 clicks (the first 500 hold none).
SLICE = 1200


@pytest.fixture(scope="module")
def replay_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("open_bandit_replay", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # attrs needs the module registered
    spec.loader.exec_module(module)
    return module


def test_data_set_and_licence_note_are_in_the_repository() -> None:
    folder = ROOT / "datasets" / "open-bandit-sample"
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in readme
    assert (folder / "random_all.csv").stat().st_size > 1_000_000


def test_slice_replayed_as_clicks_and_views_with_schema_checked_context(
    replay_module: ModuleType, personalize_events: PersonalizeEventsMock
) -> None:
    rows = replay_module.load_rows(limit=SLICE)
    schema = replay_module.load_schema()
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    with Tracker(
        "obd", session=session, schema=schema, flush_interval=3600, max_queue_size=SLICE
    ) as tracker:
        result = replay_module.replay(tracker, rows)
        assert tracker.flush(timeout=60)
        stats = tracker.stats()
    assert (stats.tracked, stats.delivered, stats.failed) == (SLICE, SLICE, 0)
    assert (result.clicks, result.views) == (4, SLICE - 4)

    events = personalize_events.events
    assert sorted(e.event_id or "" for e in events) == sorted(result.event_ids)
    by_id = {e.event_id: e for e in events}
    received = [by_id[event_id] for event_id in result.event_ids]  # back in row order
    assert Counter(e.event_type for e in received) == {"view": SLICE - 4, "click": 4}
    expected_keys = {"userFeature0", "userFeature1", "userFeature2", "userFeature3", "position"}
    assert set(schema.property_names) == expected_keys
    sessions: dict[str, set[tuple[str, ...]]] = {}
    for row, event in zip(rows, received, strict=True):
        assert event.event_type == ("click" if row.click else "view")
        assert event.item_id == row.item_id
        assert event.user_id is None  # anonymous impressions
        assert event.sent_at == pytest.approx(row.timestamp, abs=1e-3)
        properties: dict[str, Any] = json.loads(event.properties or "{}")
        assert set(properties) == expected_keys
        assert properties["position"] == row.position
        assert type(properties["position"]) is int
        assert tuple(properties[f"userFeature{n}"] for n in range(4)) == row.user_features
        # What arrived passes the schema unchanged.
        assert schema.check_properties(properties) == properties
        sessions.setdefault(event.session_id, set()).add(row.user_features)
    # A session belongs to one visitor (one combination of user features).
    assert all(len(visitors) == 1 for visitors in sessions.values())
    assert len(sessions) == result.sessions


def test_main_runs_against_a_local_endpoint(
    replay_module: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    assert replay_module.main(["--limit", "60"]) == 0
    out = capsys.readouterr().out
    assert "0 click / 60 view events" in out
    assert "exactly once: yes" in out
