"""The local runner: read every shard of a Kinesis stream with GetShardIterator / GetRecords and
hand each batch to a :class:`~personalize_tracker._stream.consumer.StreamConsumer`, as a Lambda
event source mapping would, in one process (for development and tests; at scale the event source
mapping is the consumer).

- **Checkpoints**: after each batch, the last settled sequence number of the shard (in memory,
  and in a JSON file when given one), so a runner killed and restarted resumes after it: nothing
  is lost, and what is read twice is only what was in flight (the same ``eventId``s).
- **Retries**: a batch with records to read again is read again from the first of them, after a
  pause; the records before it are not.
- **Resharding**: a shard is read only once its parents (``ParentShardId``,
  ``AdjacentParentShardId``) are read to their end, so one session's events, which follow its
  partition key from parent to child, stay in order.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import botocore.exceptions

from .consumer import ConsumeResult, StreamConsumer, StreamRecord

__all__ = ["ReadSummary", "read_stream"]

_DONE = "done"  # a shard's checkpoint once it is closed and read to its end


@attrs.define
class ReadSummary:
    """Totals of a :func:`read_stream` run (see :class:`ConsumeResult`).

    Attributes:
        batches: GetRecords answers that held records.
        reread: records read again (after a batch listed them for retry).
    """

    batches: int = 0
    records: int = 0
    events: int = 0
    delivered: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    reread: int = 0
    calls: int = 0

    def add(self, result: ConsumeResult) -> None:
        """Count one batch's result."""
        self.batches += 1
        self.records += result.records
        self.events += result.events
        self.delivered += result.delivered
        self.duplicates += result.duplicates
        self.dead_lettered += result.dead_lettered
        self.reread += len(result.retry)
        self.calls += result.calls


class _Checkpoints:
    """Each shard's last settled sequence number (or ``"done"``), kept in a file if given."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = None if path is None else Path(path)
        self.marks: dict[str, str] = {}
        if self.path is not None and self.path.exists():
            self.marks = {str(k): str(v) for k, v in json.loads(self.path.read_text()).items()}

    def set(self, shard_id: str, mark: str) -> None:
        self.marks[shard_id] = mark
        if self.path is not None:
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(json.dumps(self.marks))
            os.replace(tmp, self.path)


def _shards(client: Any, stream_name: str) -> list[dict[str, Any]]:
    shards: list[dict[str, Any]] = []
    params: dict[str, Any] = {"StreamName": stream_name}
    while True:
        page = client.list_shards(**params)
        shards.extend(page.get("Shards", ()))
        token = page.get("NextToken")
        if not token:
            return shards
        params = {"NextToken": token}


def _iterator(client: Any, stream_name: str, shard_id: str, mark: str | None) -> str | None:
    params: dict[str, Any] = {"StreamName": stream_name, "ShardId": shard_id}
    if mark is None:
        params["ShardIteratorType"] = "TRIM_HORIZON"
    else:
        params["ShardIteratorType"] = "AFTER_SEQUENCE_NUMBER"
        params["StartingSequenceNumber"] = mark
    iterator: str | None = client.get_shard_iterator(**params).get("ShardIterator")
    return iterator


def read_stream(
    client: Any,
    stream_name: str,
    consumer: StreamConsumer,
    *,
    checkpoint_path: str | os.PathLike[str] | None = None,
    stop: threading.Event | None = None,
    idle_polls: int | None = None,
    poll_interval: float = 1.0,
    limit: int = 1000,
    on_batch: Callable[[str, ConsumeResult], None] | None = None,
) -> ReadSummary:
    """Read the stream's shards and deliver their events until ``stop`` is set, or until
    ``idle_polls`` rounds in a row found nothing new.

    Args:
        client: a boto3 ``kinesis`` client.
        stream_name: the stream.
        consumer: delivers each batch (see ``StreamConsumer.consume``).
        checkpoint_path: a JSON file of the shards' checkpoints, read at the start and written
            after each batch (None: from the oldest record, in memory only).
        stop: set it to end the run after the current batch.
        idle_polls: rounds of every readable shard without a record (nor a record to read
            again) after which the run ends; None: run until ``stop``.
        poll_interval: seconds (> 0) between idle rounds and before reading a retry again;
            each shard allows 5 GetRecords calls per second (Kinesis quota).
        limit: records per GetRecords call (1-10,000, the API's maximum).
        on_batch: called with the shard id and each batch's result (progress).

    Raises:
        ValueError: ``limit`` or ``poll_interval`` out of range.
        botocore.exceptions.ClientError: a call failed for another reason than throttling or
            an expired iterator (e.g. ``ResourceNotFoundException``: no such stream).
    """
    if not 1 <= limit <= 10_000:
        raise ValueError(f"limit must be 1-10,000 records per GetRecords call, got {limit}")
    if poll_interval <= 0:
        raise ValueError(f"poll_interval must be > 0 seconds, got {poll_interval}")
    stop = stop if stop is not None else threading.Event()
    checkpoints = _Checkpoints(checkpoint_path)
    iterators: dict[str, str | None] = {}
    summary = ReadSummary()
    idle = 0
    while not stop.is_set():
        progress = False
        waiting = False
        shards = _shards(client, stream_name)
        known = {shard["ShardId"] for shard in shards}
        finished = {s for s, mark in checkpoints.marks.items() if mark == _DONE}
        for shard in shards:
            shard_id = shard["ShardId"]
            parents = {shard.get("ParentShardId"), shard.get("AdjacentParentShardId")}
            parents = {p for p in parents if p and p in known}
            if shard_id in finished or not parents <= finished or stop.is_set():
                continue
            state = _read_once(
                client, stream_name, shard_id, consumer, checkpoints, iterators, limit
            )
            if state is None:
                continue
            result, retry = state
            if result.records:
                summary.add(result)
                if on_batch is not None:
                    on_batch(shard_id, result)
            progress = progress or bool(result.records)
            waiting = waiting or retry
        if progress and not waiting:
            idle = 0
            continue
        if not progress and not waiting:
            idle += 1
            if idle_polls is not None and idle >= idle_polls:
                break
        stop.wait(poll_interval)
    return summary


def _read_once(
    client: Any,
    stream_name: str,
    shard_id: str,
    consumer: StreamConsumer,
    checkpoints: _Checkpoints,
    iterators: dict[str, str | None],
    limit: int,
) -> tuple[ConsumeResult, bool] | None:
    """One GetRecords call on ``shard_id`` and its batch's delivery: ``(result, retry)``, or
    None when the call was throttled (tried again next round). A shard is read to its end when
    GetRecords gives no next iterator (a closed shard, after a reshard)."""
    iterator = iterators.get(shard_id)
    if iterator is None:
        iterator = _iterator(client, stream_name, shard_id, checkpoints.marks.get(shard_id))
    try:
        page = client.get_records(ShardIterator=iterator, Limit=limit)
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code in ("ProvisionedThroughputExceededException", "ExpiredIteratorException"):
            iterators.pop(shard_id, None)  # read again from the checkpoint
            return None
        raise
    records = [
        StreamRecord(r["SequenceNumber"], bytes(r["Data"]), r.get("PartitionKey", ""))
        for r in page.get("Records", ())
    ]
    result = consumer.consume(records) if records else ConsumeResult()
    if result.retry:
        first = next(i for i, r in enumerate(records) if r.sequence_number == result.retry[0])
        if first:
            checkpoints.set(shard_id, records[first - 1].sequence_number)
        iterators.pop(shard_id, None)  # read again from the first record to retry
        return result, True
    if records:
        checkpoints.set(shard_id, records[-1].sequence_number)
    following = page.get("NextShardIterator")
    if following is None:  # closed and read to its end
        checkpoints.set(shard_id, _DONE)
        with contextlib.suppress(KeyError):
            del iterators[shard_id]
    else:
        iterators[shard_id] = following
    return result, False
