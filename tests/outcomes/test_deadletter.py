"""The dead-letter file: one JSON line per failure, appended, created at the first write."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path
from typing import Any

from personalize_tracker import Event
from personalize_tracker._failure import FailedEvent, FailureReason
from personalize_tracker._outcomes.deadletter import DeadLetterWriter
from personalize_tracker._pipeline.events import event_letter


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_one_line_per_failure_with_its_keys_in_order(tmp_path: Path) -> None:
    path = tmp_path / "dead.jsonl"
    known = Event.create(
        "click", "s1", user_id="u1", item_id="i1", properties={"page": 2}, sent_at=1_714_564_800.5
    )
    anonymous = Event.create("view", "s2", item_id="i2")
    writer = DeadLetterWriter(path, event_letter("tracking-1"))
    before = time.time()
    writer.write(
        [
            FailedEvent(known, FailureReason.INVALID, "InvalidInputException", "bad"),
            FailedEvent(anonymous, FailureReason.EXPIRED, None, "too old"),
        ]
    )
    after = time.time()
    first, second = lines(path)
    assert list(first) == [
        "failedAt",
        "reason",
        "errorCode",
        "message",
        "trackingId",
        "sessionId",
        "userId",
        "event",
    ]
    assert before - 0.001 <= first["failedAt"] <= after + 0.001
    assert {k: v for k, v in first.items() if k != "failedAt"} == {
        "reason": "invalid",
        "errorCode": "InvalidInputException",
        "message": "bad",
        "trackingId": "tracking-1",
        "sessionId": "s1",
        "userId": "u1",
        "event": known.to_put_events(),
    }
    assert second["reason"] == "expired"
    assert second["errorCode"] is None
    assert second["userId"] is None  # present, null, for an anonymous visitor
    assert second["sessionId"] == "s2"
    assert second["event"] == anonymous.to_put_events()


def test_the_file_and_its_folders_are_created_at_the_first_write(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "dead.jsonl"
    writer = DeadLetterWriter(path, event_letter("t"))
    assert writer.path == path
    assert not (tmp_path / "a").exists()  # nothing failed yet: nothing created
    writer.write([FailedEvent(Event.create("click", "s"), FailureReason.REJECTED)])
    assert len(lines(path)) == 1
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0  # readable by its owner only
    writer.close()


def test_writes_append_and_a_closed_writer_reopens(tmp_path: Path) -> None:
    path = tmp_path / "dead.jsonl"
    writer = DeadLetterWriter(path, event_letter("t"))
    writer.write([FailedEvent(Event.create("a", "s"), FailureReason.ERROR)])
    writer.write([FailedEvent(Event.create("b", "s"), FailureReason.ERROR)])
    writer.close()
    writer.close()  # twice is fine
    writer.write([FailedEvent(Event.create("c", "s"), FailureReason.ERROR)])
    assert [line["event"]["eventType"] for line in lines(path)] == ["a", "b", "c"]
    writer.close()


def test_an_existing_file_is_appended_to(tmp_path: Path) -> None:
    path = tmp_path / "dead.jsonl"
    path.write_text('{"earlier": true}\n')
    writer = DeadLetterWriter(path, event_letter("t"))
    writer.write([FailedEvent(Event.create("a", "s"), FailureReason.ERROR)])
    writer.close()
    assert lines(path)[0] == {"earlier": True}
    assert lines(path)[1]["event"]["eventType"] == "a"


def test_text_is_written_as_utf8_not_escaped(tmp_path: Path) -> None:
    path = tmp_path / "dead.jsonl"
    writer = DeadLetterWriter(path, event_letter("t"))
    writer.write([FailedEvent(Event.create("clic", "s", item_id="café"), FailureReason.ERROR)])
    writer.close()
    assert "café" in path.read_bytes().decode("utf-8")


def test_after_fork_the_writer_opens_its_own_file_again(tmp_path: Path) -> None:
    path = tmp_path / "dead.jsonl"
    writer = DeadLetterWriter(path, event_letter("t"))
    writer.write([FailedEvent(Event.create("a", "s"), FailureReason.ERROR)])
    writer.close()  # the parent's descriptor, closed here so the test leaks none
    writer.after_fork()
    writer.write([FailedEvent(Event.create("b", "s"), FailureReason.ERROR)])
    writer.close()
    assert len(lines(path)) == 2


def test_any_record_kind_with_its_own_encode(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    writer: DeadLetterWriter[tuple[str, int]] = DeadLetterWriter(
        path, lambda order: {"order": order[0], "quantity": order[1]}
    )
    writer.write(
        [
            FailedEvent(("o-1", 3), FailureReason.REJECTED, "Nope", "refused"),
            FailedEvent(("o-2", 1), FailureReason.CLOSED),
        ]
    )
    writer.close()
    first, second = lines(path)
    assert list(first) == ["failedAt", "reason", "errorCode", "message", "order", "quantity"]
    assert (first["order"], first["quantity"], first["reason"]) == ("o-1", 3, "rejected")
    assert (second["order"], second["errorCode"], second["message"]) == ("o-2", None, None)


def test_text_utf8_cannot_carry_is_written_escaped_not_raised(tmp_path: Path) -> None:
    """A lone surrogate (in an Event built without checks) cannot be UTF-8: the line is written
    with JSON escapes instead, and reads back as the same text."""
    path = tmp_path / "dead.jsonl"
    writer = DeadLetterWriter(path, event_letter("t"))
    unchecked = Event(
        event_type="click", session_id="s", sent_at=1.0, event_id="e", item_id="\ud800"
    )
    writer.write([FailedEvent(unchecked, FailureReason.ERROR)])
    writer.close()
    assert lines(path)[0]["event"]["itemId"] == "\ud800"
