"""Reporting failures: the dead-letter file first, then ``on_failure`` or a log line that never
holds user data; drops logged at most once per 10 seconds."""

from __future__ import annotations

import json
import logging
import types
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from personalize_tracker import Event
from personalize_tracker._failure import FailedEvent, FailureReason
from personalize_tracker._outcomes import report as report_module
from personalize_tracker._outcomes.deadletter import DeadLetterWriter
from personalize_tracker._outcomes.report import Reporter
from personalize_tracker._pipeline.events import event_letter

SECRET_USER = "user-secret-4711"
SECRET_VALUE = "hush-hush-value"


def event(n: int) -> Event:
    return Event.create(
        "click",
        "session-1",
        user_id=SECRET_USER,
        item_id=f"item-{n}",
        properties={"secretProp": SECRET_VALUE},
        event_id=f"evt-{n}",
    )


def failed(count: int, reason: FailureReason = FailureReason.INVALID) -> list[FailedEvent]:
    return [
        FailedEvent(event(n), reason, "InvalidInputException", "bad event") for n in range(count)
    ]


def event_id(record: Event) -> str:
    return record.event_id


def reporter(
    on_failure: Callable[[Sequence[FailedEvent]], None] | None = None,
    dead_letters: DeadLetterWriter[Event] | None = None,
) -> Reporter[Event]:
    return Reporter(on_failure, dead_letters, capacity=100, record_id=event_id)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The reporter module's ``time.monotonic`` (only there)."""
    fake = FakeClock()
    monkeypatch.setattr(report_module, "time", types.SimpleNamespace(monotonic=fake))
    return fake


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_failures_go_to_the_dead_letter_file_before_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "dead.jsonl"
    seen: list[tuple[list[str], int]] = []

    def on_failure(failures: Sequence[FailedEvent]) -> None:
        lines = path.read_text().splitlines() if path.exists() else []
        seen.append(([f.event.event_id for f in failures], len(lines)))

    rep = reporter(on_failure, DeadLetterWriter(path, event_letter("tracking-1")))
    rep.report(failed(2))
    rep.close()
    assert seen == [(["evt-0", "evt-1"], 2)]  # both lines were there when on_failure ran
    assert [json.loads(line)["event"]["eventId"] for line in path.read_text().splitlines()] == [
        "evt-0",
        "evt-1",
    ]


def test_on_failure_gets_the_failures_and_nothing_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    got: list[Sequence[FailedEvent]] = []
    batch = failed(3)
    with caplog.at_level(logging.DEBUG, "personalize_tracker"):
        reporter(got.append).report(batch)
        reporter(got.append).report(failed(1, FailureReason.QUEUE_FULL))
    assert got[0] == batch
    assert [f.reason for f in got[1]] == [FailureReason.QUEUE_FULL]
    assert caplog.records == []


def test_an_on_failure_that_raises_is_logged_and_swallowed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def on_failure(failures: Sequence[FailedEvent]) -> None:
        raise ValueError("handler bug")

    with caplog.at_level(logging.WARNING, "personalize_tracker"):
        reporter(on_failure).report(failed(1))
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert "on_failure raised" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ValueError)


def test_without_on_failure_a_warning_names_ids_reason_and_error_but_no_user_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, "personalize_tracker"):
        reporter().report(failed(2))
    [line] = warnings(caplog)
    assert "2 event(s) not delivered" in line
    assert "reason=invalid" in line
    assert "InvalidInputException" in line
    assert "bad event" in line
    assert "evt-0, evt-1" in line
    assert SECRET_USER not in caplog.text
    assert SECRET_VALUE not in caplog.text
    assert "secretProp" not in caplog.text
    assert "item-0" not in caplog.text


def test_the_log_lines_name_the_records_kind(caplog: pytest.LogCaptureFixture) -> None:
    # A nitpick of the review of issue 13: failed items were logged as "event(s)".
    items = Reporter(None, None, capacity=5, record_id=event_id, noun="item")
    with caplog.at_level(logging.WARNING, "personalize_tracker"):
        items.report(failed(2))
        items.report(failed(1, FailureReason.QUEUE_FULL))
    lines = warnings(caplog)
    assert "2 item(s) not delivered" in lines[0]
    assert "; item ids: evt-0, evt-1" in lines[0]
    assert "1 item(s) dropped: the queue holds max_queue_size=5 items" in lines[1]
    assert "event" not in " ".join(lines).replace("bad event", "")


def test_a_long_list_of_failures_names_the_first_five_ids(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, "personalize_tracker"):
        reporter().report(failed(8))
    [line] = warnings(caplog)
    assert "evt-0, evt-1, evt-2, evt-3, evt-4 and 3 more" in line
    assert "evt-5" not in line


def test_drops_are_logged_at_most_once_per_ten_seconds(
    caplog: pytest.LogCaptureFixture, clock: FakeClock
) -> None:
    rep = reporter()
    with caplog.at_level(logging.WARNING, "personalize_tracker"):
        rep.report(failed(2, FailureReason.QUEUE_FULL))
        clock.now += 5
        rep.report(failed(3, FailureReason.QUEUE_FULL))  # within 10 s: counted, not logged
        assert len(warnings(caplog)) == 1
        clock.now += 5.5
        rep.report(failed(1, FailureReason.QUEUE_FULL))
    lines = warnings(caplog)
    assert len(lines) == 2
    assert "2 event(s) dropped" in lines[0]
    assert "max_queue_size=100" in lines[0]
    assert "4 event(s) dropped" in lines[1]  # the unlogged 3 and the new one
    assert SECRET_USER not in caplog.text


def test_a_second_drop_right_after_the_first_logs_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rep = reporter()
    with caplog.at_level(logging.WARNING, "personalize_tracker"):
        rep.report(failed(1, FailureReason.QUEUE_FULL))
        rep.report(failed(1, FailureReason.QUEUE_FULL))
    assert len(warnings(caplog)) == 1


def test_drop_throttling_does_not_silence_other_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rep = reporter()
    with caplog.at_level(logging.WARNING, "personalize_tracker"):
        rep.report(failed(1, FailureReason.QUEUE_FULL))
        rep.report(failed(1, FailureReason.QUEUE_FULL))
        rep.report(failed(1, FailureReason.EXPIRED))
    lines = warnings(caplog)
    assert len(lines) == 2
    assert "reason=expired" in lines[1]


def test_a_dead_letter_write_error_is_logged_and_on_failure_still_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    path = blocker / "dead.jsonl"
    got: list[Sequence[FailedEvent]] = []
    rep = reporter(got.append, DeadLetterWriter(path, event_letter("t")))
    with caplog.at_level(logging.ERROR, "personalize_tracker"):
        rep.report(failed(2))
    assert len(got) == 1
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert "could not write 2 failed event(s)" in record.getMessage()
    assert str(path) in record.getMessage()


def test_close_then_report_reopens_the_dead_letter_file(tmp_path: Path) -> None:
    path = tmp_path / "dead.jsonl"
    rep = reporter(lambda failures: None, DeadLetterWriter(path, event_letter("t")))
    rep.report(failed(1))
    rep.close()
    rep.report(failed(2))
    rep.close()
    assert len(path.read_text().splitlines()) == 3


def test_after_fork_keeps_reporting(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, clock: FakeClock
) -> None:
    path = tmp_path / "dead.jsonl"
    rep = reporter(None, DeadLetterWriter(path, event_letter("t")))
    with caplog.at_level(logging.WARNING, "personalize_tracker"):
        rep.report(failed(1, FailureReason.QUEUE_FULL))
        rep.close()  # the parent's descriptor, closed here so the test leaks none
        rep.after_fork()
        clock.now += 1  # within the parent's 10 s: a child starts its own count
        rep.report(failed(1, FailureReason.QUEUE_FULL))
        rep.report(failed(1))
    rep.close()
    lines = warnings(caplog)
    assert len(lines) == 3
    assert "1 event(s) dropped" in lines[1]
    assert len(path.read_text().splitlines()) == 3


def test_no_dead_letters_and_close_are_fine(caplog: pytest.LogCaptureFixture) -> None:
    rep = reporter()
    rep.close()
    rep.after_fork()
    with caplog.at_level(logging.WARNING, "personalize_tracker"):
        rep.report(failed(1))
    assert len(warnings(caplog)) == 1


def test_any_exception_from_the_dead_letter_writer_is_logged_and_on_failure_still_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Not only OSError: a line that cannot be encoded must not escape report() (it would kill
    the sender thread that reports)."""

    def unencodable(record: Event) -> dict[str, object]:
        return {"event": object()}

    got: list[Sequence[FailedEvent]] = []
    rep = reporter(got.append, DeadLetterWriter(tmp_path / "dead.jsonl", unencodable))
    with caplog.at_level(logging.ERROR, "personalize_tracker"):
        rep.report(failed(2))
    assert len(got) == 1
    assert "could not write 2 failed event(s)" in caplog.text
    assert "TypeError" in caplog.text


def test_drops_held_back_by_the_quiet_period_are_logged_at_close(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rep = reporter()
    with caplog.at_level(logging.WARNING, "personalize_tracker"):
        rep.report(failed(2, FailureReason.QUEUE_FULL))
        rep.report(failed(3, FailureReason.QUEUE_FULL))  # within the quiet period
        rep.close()  # before: these 3 were never logged
        rep.close()  # nothing more to say
    lines = warnings(caplog)
    assert len(lines) == 2
    assert "3 more event(s) dropped" in lines[1]
