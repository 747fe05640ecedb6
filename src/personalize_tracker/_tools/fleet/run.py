"""``personalize-tracker demo --fleet N``: N producer processes replay the MovieLens users (split
by user) into a local Kinesis stream of several shards; the local runner delivers the stream to the
local PutEvents endpoint; the summary checks every event arrived exactly once, by ``eventId``.

Everything runs on 127.0.0.1: one local endpoint (moto, with the testing extension's PutEvents)
serves both Kinesis and PutEvents, in this process; the producers are child processes.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import attrs

from ...kinesis import ReadSummary, StreamConsumer, read_stream
from ..backfill import calls_floor
from ..demo.movielens import resolve_data_path
from .producer import ProducerResult, ProducerTask, run_producer

__all__ = ["FleetResult", "fleet_summary_text", "run_fleet_demo"]

STREAM_NAME = "personalize-tracker-fleet-demo"
TRACKING_ID = "fleet-demo-tracking-id"
REGION = "us-east-1"


@attrs.frozen
class FleetResult:
    """What a fleet demo did.

    Attributes:
        producers: each producer's result.
        shards: the stream's shards.
        consumer: the local runner's totals.
        received: events the PutEvents endpoint took, by ``eventId`` (a repeat counts twice).
        put_events_calls: PutEvents calls the endpoint answered.
        calls_floor: Σ ⌈events per session / 10⌉ over every producer's sessions.
        wall_seconds: the whole run, producers and consumer.
    """

    producers: tuple[ProducerResult, ...]
    shards: int
    consumer: ReadSummary
    received: Counter[str]
    put_events_calls: int
    calls_floor: int
    wall_seconds: float

    @property
    def tracked(self) -> int:
        """Events tracked by every producer."""
        return sum(p.tracked for p in self.producers)

    @property
    def lost(self) -> int:
        """Tracked events the endpoint never took."""
        return sum(1 for p in self.producers for i in p.event_ids if i not in self.received)

    @property
    def twice(self) -> int:
        """Events the endpoint took more than once."""
        return sum(1 for count in self.received.values() if count > 1)

    @property
    def ok(self) -> bool:
        """0 lost, 0 delivered twice, PutEvents calls ≤ 1.05 x the floor."""
        return (
            self.lost == 0 and self.twice == 0 and self.put_events_calls <= 1.05 * self.calls_floor
        )


@contextlib.contextmanager
def _serialised_moto_kinesis() -> Iterator[None]:
    """Make moto's Kinesis take one record at a time, and number it in constant time, while
    the demo runs. Two shortcomings of moto 5.2 that Kinesis does not have:

    - it numbers a shard's records with the last number + 1 without a lock, so PutRecords
      calls from several producers at once (its threaded server runs them on several threads)
      give two records one number and the second replaces the first (checked: 4 threads
      writing 20,000 records kept 19,845);
    - it finds the last number by listing every record of the shard, for each record written:
      25,000 records per shard take minutes, and the producers' calls time out.
    """
    from moto.kinesis.models import Shard

    original = (Shard.put_record, Shard.get_max_sequence_number)
    lock = threading.Lock()

    @functools.wraps(original[0])
    def put_record(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original[0](self, *args, **kwargs)

    def get_max_sequence_number(self: Any) -> int:
        return next(reversed(self.records), 0)  # an OrderedDict in number order

    Shard.put_record = put_record  # type: ignore[method-assign]
    Shard.get_max_sequence_number = get_max_sequence_number  # type: ignore[method-assign]
    try:
        yield
    finally:
        Shard.put_record, Shard.get_max_sequence_number = original  # type: ignore[method-assign]


def run_fleet_demo(
    *,
    producers: int,
    data: str | Path | None = None,
    limit: int | None = None,
    shards: int = 4,
    session_gap_minutes: float = 30.0,
    stream: IO[str] | None = None,
) -> FleetResult:
    """Run the fleet demo on 127.0.0.1 and return what happened.

    Args:
        producers: producer processes (≥ 1), each replaying the users ``share_of`` gives it.
        data: the MovieLens ``ratings.csv`` (default: the demo's).
        limit: rows of the file to replay, or None for all.
        shards: the stream's shards (≥ 1).
        session_gap_minutes: the gap that cuts a user's ratings into sessions.
        stream: where progress lines go (None: nowhere).

    Raises:
        ValueError: ``producers`` or ``shards`` < 1.
        FileNotFoundError: no MovieLens data.
    """
    if producers < 1 or shards < 1:
        raise ValueError(f"producers and shards must be >= 1, got {producers}, {shards}")
    import boto3

    from ...testing import serve_personalize_events

    path = resolve_data_path(data)
    started = time.perf_counter()

    def say(line: str) -> None:
        if stream is not None:
            print(line, file=stream, flush=True)

    with _serialised_moto_kinesis(), serve_personalize_events(host="127.0.0.1", port=0) as handle:
        url = str(handle.endpoint_url)
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        kinesis = session.client("kinesis", endpoint_url=url)
        kinesis.create_stream(StreamName=STREAM_NAME, ShardCount=shards)
        say(f"Local endpoint (Kinesis and PutEvents) at {url}; stream of {shards} shards")
        tasks = [
            ProducerTask(
                n,
                producers,
                path,
                limit,
                session_gap_minutes * 60.0,
                TRACKING_ID,
                STREAM_NAME,
                url,
                REGION,
            )
            for n in range(producers)
        ]
        say(f"{producers} producer processes replaying {path} (split by user)...")
        with multiprocessing.get_context("spawn").Pool(producers) as pool:
            results = tuple(pool.map(run_producer, tasks))
        say("Producers done; the local runner delivers the stream...")
        consumer = StreamConsumer(
            TRACKING_ID, session=session, endpoint_url=url, max_requests_per_second=None
        )
        try:
            summary = read_stream(
                kinesis, STREAM_NAME, consumer, idle_polls=2, poll_interval=0.05, limit=10_000
            )
        finally:
            consumer.close(10)
        received = Counter(e.event_id for e in handle.events if e.event_id is not None)
        calls = len(handle.requests)
    floor = calls_floor(n for p in results for (_, _, n) in p.per_session)
    return FleetResult(
        producers=results,
        shards=shards,
        consumer=summary,
        received=received,
        put_events_calls=calls,
        calls_floor=floor,
        wall_seconds=time.perf_counter() - started,
    )


def fleet_summary_text(result: FleetResult) -> str:
    """The summary: per producer and in all, tracked / written to the stream / delivered, the
    PutEvents calls against the floor, the exactly-once check and the cost of ``track()``."""
    lines = [
        f"{'producer':>8} {'tracked':>9} {'written':>9} {'delivered':>9} "
        f"{'track() us':>11} {'in-process us':>14}"
    ]
    for p in result.producers:
        delivered = sum(1 for i in p.event_ids if i in result.received)
        lines.append(
            f"{p.index:>8} {p.tracked:>9,} {p.written:>9,} {delivered:>9,} "
            f"{p.track_us:>11.2f} {p.baseline_track_us:>14.2f}"
        )
    written = sum(p.written for p in result.producers)
    delivered = sum(1 for p in result.producers for i in p.event_ids if i in result.received)
    track = _mean(result, "track_us")
    base = _mean(result, "baseline_track_us")
    lines.append(
        f"{'all':>8} {result.tracked:>9,} {written:>9,} {delivered:>9,} "
        f"{track:>11.2f} {base:>14.2f}"
    )
    ratio = result.put_events_calls / result.calls_floor if result.calls_floor else 0.0
    lines += [
        f"PutEvents calls: {result.put_events_calls:,} (floor Σ⌈events per session/10⌉ = "
        f"{result.calls_floor:,}, {ratio:.3f}x the floor)",
        f"Exactly once by eventId: {result.lost} lost, {result.twice} delivered twice; "
        f"consumer: {result.consumer.records:,} records, {result.consumer.duplicates} repeated "
        f"eventIds, {result.consumer.dead_lettered} dead letters",
        f"track() through Kinesis: {track:.2f} µs CPU/event, {track / base:.2f}x the in-process "
        f"Tracker's ({base:.2f} µs)"
        if base
        else "track(): no events",
        f"Wall time {result.wall_seconds:.1f} s on {result.shards} shards: "
        + ("OK" if result.ok else "CHECK FAILED"),
    ]
    return "\n".join(lines)


def _mean(result: FleetResult, field: str) -> float:
    total = sum(p.tracked for p in result.producers)
    if not total:
        return 0.0
    return float(sum(getattr(p, field) * p.tracked for p in result.producers) / total)
