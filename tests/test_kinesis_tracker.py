"""A Tracker with ``transport=KinesisTransport(...)``: the same accounting as with PutEvents
(delivered = written to the stream), failures with their reason to on_failure and the
dead-letter file, and the choice between client= and transport=."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from personalize_tracker import FailedEvent, FailureReason, Tracker
from personalize_tracker.kinesis import KinesisTransport, decode_record


class Stream:
    """A kinesis client whose PutRecords fails the records ``fail`` says, with ``code``."""

    def __init__(self, code: str = "", fail: set[str] | None = None, times: int = 1) -> None:
        self.code = code
        self.fail = fail or set()
        self.times = times  # calls in which the records of ``fail`` fail
        self.written: list[str] = []
        self.calls = 0
        self.lock = threading.Lock()

    def put_records(self, **params: Any) -> dict[str, Any]:
        with self.lock:
            self.calls += 1
            failing = self.times > 0
            self.times -= 1
            answers: list[dict[str, Any]] = []
            for entry in params["Records"]:
                event_id = decode_record(entry["Data"]).event_id
                if failing and event_id in self.fail:
                    answers.append({"ErrorCode": self.code, "ErrorMessage": "no"})
                else:
                    self.written.append(event_id)
                    answers.append({"SequenceNumber": str(len(self.written))})
            failed = sum(1 for a in answers if "ErrorCode" in a)
            return {"FailedRecordCount": failed, "Records": answers}


def track(tracker: Tracker, count: int) -> list[str]:
    return [
        tracker.track("click", f"s-{n % 4}", f"u-{n % 4}", f"i-{n}", event_id=f"e-{n}").event_id
        for n in range(count)
    ]


def test_events_written_to_the_stream_count_as_delivered() -> None:
    stream = Stream()
    with Tracker("t", transport=KinesisTransport("events", stream), flush_interval=60) as tracker:
        ids = track(tracker, 1200)
    stats = tracker.stats()
    assert (stats.tracked, stats.delivered, stats.failed, stats.pending) == (1200, 1200, 0, 0)
    assert sorted(stream.written) == sorted(ids)
    assert stream.calls == stats.requests == 3  # 500 + 500 + 200: any sessions in one call


def test_throttled_records_alone_are_written_again() -> None:
    stream = Stream("ProvisionedThroughputExceededException", {"e-3", "e-7"})
    with Tracker(
        "t", transport=KinesisTransport("events", stream), max_backoff=0.01, flush_interval=60
    ) as tracker:
        ids = track(tracker, 10)
    assert sorted(stream.written) == sorted(ids)  # each once
    stats = tracker.stats()
    assert (stats.delivered, stats.retried, stats.requests) == (10, 1, 2)


def test_a_record_refused_for_good_fails_with_its_reason_and_is_dead_lettered(
    tmp_path: Path,
) -> None:
    stream = Stream("KMSAccessDeniedException", {"e-2"}, times=99)
    failures: list[FailedEvent] = []
    letters = tmp_path / "dead.jsonl"
    with Tracker(
        "t",
        transport=KinesisTransport("events", stream),
        on_failure=failures.extend,
        dead_letter_path=letters,
        flush_interval=60,
    ) as tracker:
        track(tracker, 5)
    stats = tracker.stats()
    assert (stats.delivered, stats.failed, stats.pending) == (4, 1, 0)
    (failure,) = failures
    assert (failure.event.event_id, failure.reason) == ("e-2", FailureReason.REJECTED)
    assert failure.error_code == "KMSAccessDeniedException"
    (line,) = letters.read_text().splitlines()
    letter = json.loads(line)
    assert (letter["event"]["eventId"], letter["reason"]) == ("e-2", "rejected")
    assert stream.calls == 1  # not retried


def test_client_and_transport_are_exclusive() -> None:
    with pytest.raises(ValueError, match=r"client= \(PutEvents\) or transport="):
        Tracker("t", client=object(), transport=KinesisTransport("events", Stream()))
