"""The local runner against moto's Kinesis in process: every event once, in event-time order per
session, through partial PutRecords failures, resharding, a malformed record and a consumer
killed mid-stream and restarted. PutEvents is a fake client."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from personalize_tracker import Event, Tracker
from personalize_tracker._stream.consumer import ConsumeResult, StreamConsumer
from personalize_tracker._stream.reader import read_stream
from personalize_tracker.kinesis import KinesisTransport, encode_record

from conftest import FakeClient

STREAM = "events"


@pytest.fixture
def kinesis(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("kinesis", region_name="us-east-1")
        client.create_stream(StreamName=STREAM, ShardCount=3)
        yield client


class FlakyKinesis:
    """moto's Kinesis, with every ``every``-th record of a call failing (not written) with
    ``ProvisionedThroughputExceededException`` in the first ``calls`` calls."""

    def __init__(self, client: Any, every: int = 3, calls: int = 2) -> None:
        self.client = client
        self.every = every
        self.calls = calls
        self.failed = 0

    def put_records(self, **params: Any) -> dict[str, Any]:
        if self.calls <= 0:
            return dict(self.client.put_records(**params))
        self.calls -= 1
        records = params["Records"]
        keep = [i for i in range(len(records)) if i % self.every]
        written = self.client.put_records(
            StreamName=params["StreamName"], Records=[records[i] for i in keep]
        )["Records"]
        answers: list[dict[str, Any]] = [
            {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"}
        ] * len(records)
        for i, answer in zip(keep, written, strict=True):
            answers[i] = answer
        self.failed += len(records) - len(keep)
        return {"FailedRecordCount": len(records) - len(keep), "Records": answers}


def produce(client: Any, sessions: int, per_session: int, start: int = 0) -> list[str]:
    """Track ``per_session`` events in each of ``sessions`` sessions through the Kinesis
    transport; the event ids, in tracking order."""
    tracker = Tracker(
        "tracking", transport=KinesisTransport(STREAM, client), max_backoff=0.01, flush_interval=60
    )
    ids = []
    for n in range(per_session):
        for s in range(sessions):
            event = tracker.track(
                "click",
                f"s-{s}",
                f"u-{s}",
                f"i-{n}",
                sent_at=1_700_000_000 + start + n,
                event_id=f"e-{s}-{start + n}",
            )
            ids.append(event.event_id)
    tracker.close(10)
    stats = tracker.stats()
    assert (stats.tracked, stats.delivered, stats.pending) == (len(ids), len(ids), 0)
    return ids


def run(kinesis: Any, fake: FakeClient, **options: Any) -> Any:
    consumer = StreamConsumer("tracking", client=fake, max_attempts=2, max_backoff=0.01)
    try:
        return read_stream(kinesis, STREAM, consumer, idle_polls=1, poll_interval=0.01, **options)
    finally:
        consumer.close(1)


def sessions_in_order(fake: FakeClient) -> bool:
    by_session: dict[str, list[float]] = {}
    for call in fake.accepted:
        by_session.setdefault(call["sessionId"], []).extend(e["sentAt"] for e in call["eventList"])
    return all(times == sorted(times) for times in by_session.values())


def test_every_event_is_delivered_once_in_order_at_the_floor_of_calls(
    kinesis: Any, fake_client: FakeClient
) -> None:
    ids = produce(kinesis, sessions=12, per_session=23)
    summary = run(kinesis, fake_client)
    delivered = [e["eventId"] for e in fake_client.delivered_events]
    assert sorted(delivered) == sorted(ids)
    assert summary.delivered == len(ids)
    assert summary.duplicates == 0
    assert sessions_in_order(fake_client)
    # each shard's batch holds whole sessions: 12 sessions of 23 events, 3 calls each
    assert len(fake_client.calls) == summary.calls == 12 * 3


def test_only_the_failed_records_are_written_again(kinesis: Any, fake_client: FakeClient) -> None:
    flaky = FlakyKinesis(kinesis)
    ids = produce(flaky, sessions=5, per_session=20)
    assert flaky.failed > 0
    run(kinesis, fake_client)
    assert Counter(e["eventId"] for e in fake_client.delivered_events) == Counter(ids)
    assert sessions_in_order(fake_client)


def test_events_written_across_a_moto_reshard_are_all_delivered_once(
    kinesis: Any, fake_client: FakeClient
) -> None:
    first = produce(kinesis, sessions=8, per_session=6)
    kinesis.update_shard_count(StreamName=STREAM, TargetShardCount=6, ScalingType="UNIFORM_SCALING")
    second = produce(kinesis, sessions=8, per_session=6, start=100)
    summary = run(kinesis, fake_client, limit=7)
    assert sorted(e["eventId"] for e in fake_client.delivered_events) == sorted(first + second)
    assert summary.duplicates == 0
    assert sessions_in_order(fake_client)


def test_a_malformed_record_is_set_aside_and_the_rest_delivered(
    kinesis: Any, fake_client: FakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    ids = produce(kinesis, sessions=2, per_session=3)
    kinesis.put_record(StreamName=STREAM, Data=b"not an event", PartitionKey="s-0")
    summary = run(kinesis, fake_client)
    assert sorted(e["eventId"] for e in fake_client.delivered_events) == sorted(ids)
    assert summary.dead_lettered == 1
    assert "reason=malformed" in caplog.text


class Killed(BaseException):
    """The consumer's process dies (SIGKILL, a Lambda timeout) in the middle of a batch."""


def test_a_consumer_killed_mid_stream_and_restarted_loses_nothing(
    kinesis: Any, fake_client: FakeClient, tmp_path: Path
) -> None:
    ids = produce(kinesis, sessions=30, per_session=4)
    checkpoints = tmp_path / "checkpoints.json"
    calls = {"n": 0}

    def die_on_the_25th_call(params: dict[str, Any]) -> BaseException | None:
        calls["n"] += 1
        if calls["n"] == 25:
            raise Killed  # after 24 calls delivered, before this batch is checkpointed
        return None

    fake_client.script = die_on_the_25th_call
    with pytest.raises(Killed):
        run(kinesis, fake_client, checkpoint_path=checkpoints, limit=20)
    before = len(fake_client.delivered_events)
    assert 0 < before < len(ids)
    assert checkpoints.exists()
    fake_client.script = None
    summary = run(kinesis, fake_client, checkpoint_path=checkpoints, limit=20)
    delivered = Counter(e["eventId"] for e in fake_client.delivered_events)
    assert set(delivered) == set(ids)  # nothing lost
    repeated = sum(delivered.values()) - len(ids)
    assert 0 < repeated <= 20  # only the batch in flight, as repeated eventIds
    assert summary.delivered == len(ids) - before + repeated


def test_the_runner_stops_when_asked(kinesis: Any, fake_client: FakeClient) -> None:
    produce(kinesis, sessions=3, per_session=30)
    stop = threading.Event()
    seen: list[ConsumeResult] = []

    def first_batch_only(shard_id: str, result: ConsumeResult) -> None:
        seen.append(result)
        stop.set()

    consumer = StreamConsumer("tracking", client=fake_client)
    summary = read_stream(kinesis, STREAM, consumer, stop=stop, limit=10, on_batch=first_batch_only)
    consumer.close(1)
    assert summary.batches == len(seen) == 1
    assert summary.records == 10


class ReshardedStream:
    """A stream after a reshard, as Kinesis shows it: a closed parent shard whose last page has
    no next iterator, and two open children listed before it."""

    def __init__(self, parent: list[bytes], children: list[list[bytes]]) -> None:
        closed = {"StartingSequenceNumber": "1", "EndingSequenceNumber": "99"}
        self.shards = [
            {"ShardId": f"child-{n}", "ParentShardId": "parent"} for n in range(len(children))
        ] + [{"ShardId": "parent", "SequenceNumberRange": closed}]
        self.records = {"parent": parent} | {f"child-{n}": c for n, c in enumerate(children)}
        self.reads: list[str] = []

    def list_shards(self, **params: Any) -> dict[str, Any]:
        return {
            "Shards": [
                dict(s, SequenceNumberRange=s.get("SequenceNumberRange", {})) for s in self.shards
            ]
        }

    def get_shard_iterator(self, **params: Any) -> dict[str, Any]:
        start = 0
        if params["ShardIteratorType"] == "AFTER_SEQUENCE_NUMBER":
            start = int(params["StartingSequenceNumber"].split("-")[-1]) + 1
        return {"ShardIterator": f"{params['ShardId']}@{start}"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        shard, start = ShardIterator.split("@")
        data = self.records[shard]
        page = data[int(start) : int(start) + Limit]
        end = int(start) + len(page)
        self.reads.append(shard)
        following = None if shard == "parent" and end >= len(data) else f"{shard}@{end}"
        return {
            "Records": [
                {"SequenceNumber": f"{shard}-{int(start) + i}", "Data": d, "PartitionKey": "s-1"}
                for i, d in enumerate(page)
            ],
            "NextShardIterator": following,
            "MillisBehindLatest": 0,
        }


def test_a_child_shard_is_read_only_after_its_parent(fake_client: FakeClient) -> None:
    def record(n: int) -> bytes:
        return encode_record(
            Event.create(
                "click", "s-1", user_id="u-1", sent_at=1_700_000_000 + n, event_id=f"e-{n}"
            )
        )

    stream = ReshardedStream([record(n) for n in range(5)], [[record(n) for n in range(5, 9)], []])
    summary = run(stream, fake_client, limit=2)
    assert [e["eventId"] for e in fake_client.delivered_events] == [f"e-{n}" for n in range(9)]
    assert summary.delivered == 9
    assert stream.reads.index("child-0") > max(
        i for i, s in enumerate(stream.reads) if s == "parent"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.slow
def test_producer_and_runner_through_moto_server_on_loopback(
    monkeypatch: pytest.MonkeyPatch, fake_client: FakeClient
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        kinesis = boto3.client("kinesis", region_name="us-east-1", endpoint_url=endpoint)
        kinesis.create_stream(StreamName=STREAM, ShardCount=2)
        transport = KinesisTransport(STREAM, region_name="us-east-1", endpoint_url=endpoint)
        with Tracker("tracking", transport=transport, flush_interval=60) as tracker:
            ids = [
                tracker.track("view", f"s-{n % 4}", f"u-{n % 4}", f"i-{n}").event_id
                for n in range(60)
            ]
        assert tracker.stats().delivered == 60
        summary = run(kinesis, fake_client)
    finally:
        server.stop()
    assert sorted(e["eventId"] for e in fake_client.delivered_events) == sorted(ids)
    assert summary.duplicates == 0
    assert sessions_in_order(fake_client)
