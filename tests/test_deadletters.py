"""Reading a dead-letter file back (``personalize_tracker._tools.deadletters``): good lines,
torn lines and lines that no longer validate, each with its line number."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from personalize_tracker import Event
from personalize_tracker._tools.deadletters import (
    BadLine,
    DeadLetter,
    OtherKind,
    file_kind,
    read_dead_letter,
    read_dead_letters,
)


def letter(event: Event, **fields: Any) -> dict[str, Any]:
    """A dead-letter line as the Tracker writes it (see the module docstring)."""
    record = event.to_dict()
    line = {
        "failedAt": 1790000000.123,
        "reason": "retries_exhausted",
        "errorCode": "ThrottlingException",
        "message": "slow down",
        "trackingId": "tracking-1",
        "sessionId": record.pop("sessionId"),
        "userId": record.pop("userId", None),
        "event": record,
    }
    line.update(fields)
    return line


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_a_good_line_gives_back_the_event_and_the_failure() -> None:
    event = Event.create(
        "click",
        "s-1",
        user_id="u-1",
        item_id="i-9",
        event_value=2.5,
        properties={"deviceType": "tv"},
        impression=["i-9", "i-10"],
        recommendation_id="R-1",
        metric_attribution_source="email",
        sent_at=1714564800.25,
    )

    got = read_dead_letter(7, json.dumps(letter(event)))

    assert isinstance(got, DeadLetter)
    assert got.line == 7
    assert got.event == event
    assert (got.reason, got.error_code, got.message) == (
        "retries_exhausted",
        "ThrottlingException",
        "slow down",
    )
    assert (got.tracking_id, got.failed_at) == ("tracking-1", 1790000000.123)
    assert not got.invalid


def test_a_line_without_a_user_id_or_failure_details_still_reads() -> None:
    event = Event.create("click", "s-1", item_id="i-1", sent_at=1714564800.0)
    fields = event.to_dict()
    record = {"sessionId": fields.pop("sessionId"), "userId": None, "event": fields}

    got = read_dead_letter(1, json.dumps(record))

    assert isinstance(got, DeadLetter)
    assert got.event.user_id is None
    assert got.event.event_id == event.event_id
    assert got.reason == "unknown"  # no reason written
    assert (got.error_code, got.message, got.tracking_id, got.failed_at) == (None,) * 4


def test_invalid_is_the_services_refusal_only() -> None:
    event = Event.create("click", "s-1", sent_at=1714564800.0)

    refused = read_dead_letter(1, json.dumps(letter(event, reason="invalid")))
    closed = read_dead_letter(1, json.dumps(letter(event, reason="closed")))

    assert isinstance(refused, DeadLetter)
    assert isinstance(closed, DeadLetter)
    assert refused.invalid
    assert not closed.invalid


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"reason": "invalid", "sessionId": "s", "ev', "JSONDecodeError: "),  # torn
        ('{"reason": "invalid", "sessionId": "s"}', "KeyError: 'event'"),
        ('{"event": {"eventId": "e", "eventType": "x", "sentAt": 1.0}}', "KeyError: 'sessionId'"),
        ('{"sessionId": "s", "event": {"eventType": "x", "sentAt": 1.0}}', "KeyError: 'eventId'"),
        ("[1, 2]", "TypeError: "),
        ('{"sessionId": "s", "event": "not an object"}', "ValueError: "),
    ],
)
def test_a_line_that_cannot_be_read_is_a_bad_line(text: str, problem: str) -> None:
    got = read_dead_letter(3, text)

    assert isinstance(got, BadLine)
    assert got.line == 3
    assert got.problem.startswith(problem), got.problem


def test_a_line_that_no_longer_validates_is_a_bad_line_naming_the_field() -> None:
    event = Event.create("click", "s-1", item_id="i-1", sent_at=1714564800.0)
    edited = letter(event)
    edited["event"]["itemId"] = "x" * 300  # an edit breaking the 256-character limit

    got = read_dead_letter(2, json.dumps(edited))

    assert isinstance(got, BadLine)
    assert got.problem.startswith("InvalidEventError: item_id")


def test_a_file_is_read_in_order_with_line_numbers_and_blank_lines_skipped(
    tmp_path: Path,
) -> None:
    first = Event.create("click", "s-1", user_id="u-1", sent_at=1714564800.0)
    second = Event.create("view", "s-2", user_id="u-2", sent_at=1714564801.0)
    good = json.dumps(letter(first))
    path = write_lines(
        tmp_path / "dead.jsonl", good, "", json.dumps(letter(second)), "   ", good[:40]
    )

    got = list(read_dead_letters(path))

    assert [type(item).__name__ for item in got] == ["DeadLetter", "DeadLetter", "BadLine"]
    assert [item.line for item in got] == [1, 3, 5]
    assert [item.event.event_id for item in got if isinstance(item, DeadLetter)] == [
        first.event_id,
        second.event_id,
    ]


def test_a_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"absent\.jsonl"):
        list(read_dead_letters(tmp_path / "absent.jsonl"))


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ('{"reason": "closed", "sessionId": "s", "event": {"eventType": "x"}}\n', "dead letters"),
        ('{"torn": \n{"reason": "x", "event": {}}\n', "dead letters"),
        ('{"eventType": "click", "sessionId": "s", "sentAt": 1}\n', "events"),
        ("USER_ID,ITEM_ID,TIMESTAMP\nu,i,1\n", "other"),
        ("\n\n", "empty"),
    ],
)
def test_file_kind_tells_dead_letters_from_other_files(
    tmp_path: Path, text: str, kind: str
) -> None:
    path = tmp_path / "f.jsonl"
    path.write_text(text)
    assert file_kind(path) == kind


def test_a_dead_letter_of_another_kind_is_named_not_a_bad_line(tmp_path: Path) -> None:
    item = {"reason": "invalid", "kind": "items", "record": {"itemId": "i-9"}}
    path = write_lines(tmp_path / "dead.jsonl", json.dumps(item))

    assert list(read_dead_letters(path)) == [OtherKind(line=1, kind="items")]
    assert file_kind(path) == "dead letters"
