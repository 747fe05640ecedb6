"""`personalize-tracker resend`: a dead-letter file written during an outage, resent after it."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from personalize_tracker import Tracker
from personalize_tracker.cli import cli
from personalize_tracker.testing import PersonalizeEventsMock


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def write_dead_letters(endpoint: PersonalizeEventsMock, path: Path) -> dict[str, str]:
    """Track events while the endpoint fails; return {event_id: expected reason}."""
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    endpoint.reject_events(lambda e: e.item_id == "broken")
    endpoint.inject_fault("unavailable", times=100_000)  # an outage: its retry deadline passes
    tracker = Tracker(
        "tracking-1",
        session=session,
        endpoint_url=endpoint.endpoint_url,
        max_attempts=2,
        max_backoff=0.01,
        retry_deadline=0.3,
        dead_letter_path=path,
        on_failure=lambda failed: None,
    )
    reasons = {}
    for n in range(12):
        event = tracker.track("click", f"s-{n % 3}", f"u-{n % 3}", f"i-{n}", event_value=n)
        reasons[event.event_id] = "retries_exhausted"
    tracker.close()
    endpoint.reset()  # the outage ends
    endpoint.reject_events(lambda e: e.item_id == "broken")
    tracker = Tracker(
        "tracking-1",
        session=session,
        endpoint_url=endpoint.endpoint_url,
        dead_letter_path=path,
        on_failure=lambda failed: None,
    )
    bad = tracker.track("click", "s-9", item_id="broken")
    reasons[bad.event_id] = "invalid"
    tracker.close()
    endpoint.reset()
    return reasons


@pytest.mark.slow
@pytest.mark.usefixtures("aws_env")
def test_resend_after_recovery(
    personalize_events_server: PersonalizeEventsMock, tmp_path: Path
) -> None:
    path = tmp_path / "dead.jsonl"
    reasons = write_dead_letters(personalize_events_server, path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert {line["event"]["eventId"]: line["reason"] for line in lines} == reasons
    with path.open("a") as f:
        f.write('{"torn": ')  # a crash mid-write left half a line

    result = CliRunner().invoke(
        cli,
        [
            "resend",
            str(path),
            "--endpoint-url",
            str(personalize_events_server.endpoint_url),
            "--no-progress",
        ],
    )
    assert "lines read       13" in result.output
    assert "resent           12" in result.output
    assert "delivered        12" in result.output
    assert "skipped invalid  1" in result.output
    assert "line 14:" in result.output  # the torn line is named
    assert result.exit_code == 1  # an unreadable line is not a success

    received = {e.event_id: e for e in personalize_events_server.events}
    expected = {i for i, reason in reasons.items() if reason != "invalid"}
    assert set(received) == expected  # same event ids: harmless if any had arrived before
    sample = next(line for line in lines if line["reason"] == "retries_exhausted")
    got = received[sample["event"]["eventId"]]
    assert (got.session_id, got.user_id, got.item_id) == (
        sample["sessionId"],
        sample["userId"],
        sample["event"]["itemId"],
    )
    assert got.event_value == sample["event"]["eventValue"]
    assert got.tracking_id == "tracking-1"


@pytest.mark.usefixtures("aws_env")
def test_resend_including_invalid_writes_the_refusals_again(
    personalize_events: PersonalizeEventsMock, tmp_path: Path
) -> None:
    path = tmp_path / "dead.jsonl"
    record = {
        "failedAt": 1.0,
        "reason": "invalid",
        "errorCode": "InvalidInputException",
        "message": "bad",
        "trackingId": "tracking-1",
        "sessionId": "s",
        "userId": None,
        "event": {
            "eventId": "e-1",
            "eventType": "click",
            "sentAt": 1714564800.0,
            "itemId": "broken",
        },
    }
    path.write_text(json.dumps(record) + "\n")
    personalize_events.reject_events(lambda e: e.item_id == "broken")
    result = CliRunner().invoke(
        cli, ["resend", str(path), "--include-invalid", "--region", "us-east-1", "--no-progress"]
    )
    assert result.exit_code == 1, result.output
    assert "failed again     1" in result.output
    retry = tmp_path / "dead.jsonl.retry.jsonl"
    (line,) = retry.read_text().splitlines()
    assert json.loads(line)["event"]["eventId"] == "e-1"


def test_resend_needs_a_tracking_id_when_the_file_names_several(tmp_path: Path) -> None:
    path = tmp_path / "dead.jsonl"
    base = {
        "reason": "closed",
        "sessionId": "s",
        "event": {"eventId": "e", "eventType": "click", "sentAt": 1.0},
    }
    path.write_text(
        json.dumps({**base, "trackingId": "a"}) + "\n" + json.dumps({**base, "trackingId": "b"})
    )
    result = CliRunner().invoke(cli, ["resend", str(path)])
    assert result.exit_code == 2
    assert "2 tracking ids (a, b): pass --tracking-id" in result.output


def invalid_letter(event_id: str) -> str:
    record = {
        "reason": "invalid",
        "trackingId": "tracking-1",
        "sessionId": "s",
        "event": {"eventId": event_id, "eventType": "click", "sentAt": 1.0, "itemId": "broken"},
    }
    return json.dumps(record) + "\n"


@pytest.mark.usefixtures("aws_env")
def test_each_run_writes_its_own_retry_file_and_a_success_removes_it(
    personalize_events: PersonalizeEventsMock, tmp_path: Path
) -> None:
    path = tmp_path / "dead.jsonl"
    path.write_text("".join(invalid_letter(f"e-{n}") for n in range(3)))
    retry = tmp_path / "dead.jsonl.retry.jsonl"
    args = ["resend", str(path), "--include-invalid", "--no-progress"]
    personalize_events.reject_events(lambda e: e.item_id == "broken")

    for _ in range(2):  # two failed runs: the second replaces the first's file
        assert CliRunner().invoke(cli, args).exit_code == 1
        assert len(retry.read_text().splitlines()) == 3
    personalize_events.reset()  # the events are accepted now
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert not retry.exists()  # nothing failed: no stale retry file left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dead.jsonl"]


def test_a_file_that_is_not_dead_letters_is_named_so(tmp_path: Path) -> None:
    recording = tmp_path / "events.jsonl"
    event = {"eventId": "e", "eventType": "click", "sentAt": 1.0, "sessionId": "s"}
    recording.write_text(json.dumps(event) + "\n")
    result = CliRunner().invoke(cli, ["resend", str(recording)])
    assert result.exit_code == 2
    assert "not a dead-letter file" in result.output
    assert f"personalize-tracker replay {recording}" in result.output
    assert "KeyError" not in result.output

    for name, text in [("i.csv", "USER_ID,ITEM_ID,TIMESTAMP\nu,i,1\n"), ("e.jsonl", "\n")]:
        other = tmp_path / name
        other.write_text(text)
        refused = CliRunner().invoke(cli, ["resend", str(other)])
        assert refused.exit_code == 2
        assert "not a dead-letter file" in refused.output or "is empty" in refused.output
        assert "tracking ids" not in refused.output


ITEMS = "arn:aws:personalize:us-east-1:123456789012:dataset/shop/ITEMS"


def item_letter(item_id: str) -> str:
    """A dead letter of an item, as the Tracker writes it in the same dead_letter_path."""
    record = {
        "failedAt": 1.0,
        "reason": "retries_exhausted",
        "kind": "items",
        "datasetArn": ITEMS,
        "record": {"itemId": item_id, "properties": '{"price":9.5}'},
    }
    return json.dumps(record) + "\n"


def closed_letter(event_id: str) -> str:
    record = {
        "reason": "closed",
        "trackingId": "tracking-1",
        "sessionId": "s",
        "event": {"eventId": event_id, "eventType": "click", "sentAt": 1714564800.0},
    }
    return json.dumps(record) + "\n"


@pytest.mark.usefixtures("aws_env")
def test_dead_letters_of_items_are_left_to_export_not_counted_unreadable(
    personalize_events: PersonalizeEventsMock, tmp_path: Path
) -> None:
    path = tmp_path / "dead.jsonl"
    path.write_text(item_letter("i-9") + closed_letter("e-1") + item_letter("i-10"))
    result = CliRunner().invoke(cli, ["resend", str(path), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert [e.event_id for e in personalize_events.events] == ["e-1"]
    assert personalize_events.items == []
    assert "resent           1" in result.output
    assert "unreadable lines 0" in result.output
    assert "KeyError" not in result.output
    assert (
        f"not resent       2 items: 'personalize-tracker export --kind items {path} -o "
        "items.csv', then 'personalize-tracker replay items.csv --dataset-arn ARN'"
    ) in result.output
    # The way back it names works on the same file.
    items = tmp_path / "items.csv"
    exported = CliRunner().invoke(cli, ["export", "--kind", "items", str(path), "-o", str(items)])
    assert exported.exit_code == 0, exported.output
    assert items.read_text().splitlines() == ["ITEM_ID,PRICE", "i-9,9.5", "i-10,9.5"]


def test_a_file_of_item_dead_letters_only_says_how_to_send_them(tmp_path: Path) -> None:
    path = tmp_path / "dead.jsonl"
    path.write_text(item_letter("i-9"))
    result = CliRunner().invoke(cli, ["resend", str(path)])
    assert result.exit_code == 2
    assert "not a dead-letter file" not in result.output
    assert "holds no dead letters of events, only of items (1)" in result.output
    assert f"personalize-tracker export --kind items {path}" in result.output
