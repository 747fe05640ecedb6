"""A Tracker with ``transport=KinesisTransport(...)``: the same accounting as with PutEvents
(delivered = written to the stream), failures with their reason to on_failure and the
dead-letter file, and the choice between client= and transport=."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

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


def test_a_sessions_id_strings_are_shared_from_its_first_event() -> None:
    # Kinesis groups records its own way (no session keys): the session table keeps every
    # session track() checks, so later events of a session share its first event's strings.
    stream = Stream()
    with Tracker("t", transport=KinesisTransport("events", stream), flush_interval=60) as tracker:
        first = tracker.track("click", "".join(["s", "-1"]), "u-1")
        tracker.track("click", "s-2", "u-1")
        again = tracker.track("click", "".join(["s", "-1"]), "u-1")
    assert again.session_id is first.session_id


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
        Tracker("t", client=PutEventsStandIn(), transport=KinesisTransport("events", Stream()))


class PutEventsStandIn:
    """A client with ``put_events``: accepted as ``client=`` on its own."""

    def put_events(self, **params: Any) -> dict[str, Any]:
        return {}


class DownStream(Stream):
    """A stream that answers 503 while ``down`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.down = threading.Event()
        self.down.set()

    def put_records(self, **params: Any) -> dict[str, Any]:
        if self.down.is_set():
            raise ClientError(
                {
                    "Error": {"Code": "ServiceUnavailable", "Message": "down"},
                    "ResponseMetadata": {"HTTPStatusCode": 503},
                },
                "PutRecords",
            )
        return super().put_records(**params)


def test_events_spilled_while_the_stream_is_down_are_written_by_the_next_process(
    tmp_path: Path,
) -> None:
    stream = DownStream()
    options: dict[str, Any] = {"overflow": "spill", "spool_path": tmp_path / "spool"}
    first = Tracker(
        "t",
        transport=KinesisTransport("events", stream),
        max_queue_size=5,
        flush_interval=3600,
        max_attempts=10_000,
        retry_deadline=600,
        max_backoff=0.01,
        **options,
    )
    ids = track(first, 40)
    first.close(timeout=0.2)
    # A call still on the wire when close() returned keeps its records pending (on a slow
    # machine); a second close() waits for it, without retrying it, and spools them.
    first.close(timeout=10)
    stats = first.stats()
    assert (stats.failed, stats.pending, stats.spooled) == (0, 40, 40)

    stream.down.clear()
    second = Tracker("t", transport=KinesisTransport("events", stream), **options)
    assert second.stats().recovered == 40
    assert second.flush(timeout=30)
    second.close()
    assert sorted(stream.written) == sorted(ids)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork() in a threaded process
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_writes_its_own_events_with_a_client_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        url = f"http://127.0.0.1:{port}"
        kinesis = boto3.client("kinesis", region_name="us-east-1", endpoint_url=url)
        kinesis.create_stream(StreamName="events", ShardCount=1)
        transport = KinesisTransport("events", region_name="us-east-1", endpoint_url=url)
        tracker = Tracker("t", transport=transport, flush_interval=3600)
        tracker.track("warmup", "s-0")
        assert tracker.flush(timeout=10)  # senders and the client exist in the parent
        parent_client = tracker.client
        parent_ids = [tracker.track("click", "s-parent").event_id for _ in range(3)]
        pid = os.fork()
        if pid == 0:  # child
            code = 1
            try:
                ids = [tracker.track("click", "s-child").event_id for _ in range(2)]
                ok = tracker.flush(timeout=10)
                renewed = tracker.client is not parent_client
                with open(tmp_path / "child.json", "w") as f:
                    json.dump({"ids": ids, "ok": ok, "renewed": renewed}, f)
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        child = json.loads((tmp_path / "child.json").read_text())
        assert (child["ok"], child["renewed"]) == (True, True)
        tracker.close(10)
        iterator = kinesis.get_shard_iterator(
            StreamName="events", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        written = [
            decode_record(r["Data"]).event_id
            for r in kinesis.get_records(ShardIterator=iterator)["Records"]
        ]
    finally:
        server.stop()
    assert sorted(written[1:]) == sorted(parent_ids + child["ids"])  # each once, nothing resent


def test_the_kinesis_transport_is_imported_only_by_the_fleets_facade() -> None:
    # A Tracker that calls PutEvents does not pay for it at import (issue 18).
    code = (
        "import sys, personalize_tracker;"
        "print('personalize_tracker._delivery.kinesis' in sys.modules);"
        "from personalize_tracker.kinesis import KinesisTransport;"
        "print(KinesisTransport.__module__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["False", "personalize_tracker._delivery.kinesis"]
