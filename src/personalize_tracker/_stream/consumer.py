"""Delivering one batch of stream records: decode, regroup per (user, session), PutEvents, and
say which records to read again.

The batch is what one AWS Lambda invocation gets from a Kinesis event source mapping (records of
one shard, in sequence order) or what the local runner read from one shard. The consumer sends
through a PutEvents :class:`~personalize_tracker.Tracker` in sync mode, so batching (≤ 10 events
of one (user, session) per call), retries, the poison split and the rate limit are the
in-process Tracker's own.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from .._failure import FailedEvent, FailureReason
from .._record.event import Event
from .._record.stream import StreamRecordError, decode_record
from ..tracker import Tracker
from .deadletter import DeadLetterDestination, LogDeadLetters

__all__ = ["ConsumeResult", "StreamConsumer", "StreamRecord"]

logger = logging.getLogger("personalize_tracker")


@attrs.frozen
class StreamRecord:
    """One record read from the stream.

    Attributes:
        sequence_number: its sequence number (a decimal string, as Kinesis gives it).
        data: its data (bytes, base64-decoded).
        partition_key: its partition key (the producer writes the session id).
        problem: why the record could not even be taken off the wire (bad base64), or None.
    """

    sequence_number: str
    data: bytes
    partition_key: str = ""
    problem: str | None = None

    @classmethod
    def from_lambda(cls, record: Mapping[str, Any]) -> StreamRecord:
        """One entry of a Lambda Kinesis event's ``Records``: ``kinesis.sequenceNumber``,
        ``kinesis.data`` (base64) and ``kinesis.partitionKey``.

        Raises:
            KeyError: the entry has no ``kinesis.sequenceNumber`` (not a Kinesis event).
        """
        kinesis = record["kinesis"]
        sequence_number = str(kinesis["sequenceNumber"])
        key = str(kinesis.get("partitionKey", ""))
        try:
            data = base64.b64decode(kinesis.get("data", ""), validate=True)
        except (binascii.Error, ValueError, TypeError):
            return cls(sequence_number, b"", key, "the record's data is not base64")
        return cls(sequence_number, data, key)


@attrs.define
class ConsumeResult:
    """What became of one batch of records.

    Attributes:
        records: records in the batch.
        events: distinct events read (by ``eventId``).
        delivered: events PutEvents took.
        duplicates: records whose ``eventId`` an earlier record of the batch had (sent once).
        dead_lettered: records set aside for good (unreadable, or an event the service
            rejects as invalid): in the dead-letter destination, never read again.
        retry: sequence numbers of the records to read again, in batch order (empty when the
            whole batch is settled); the reader resumes from the first.
        calls: PutEvents calls made (retries included).
    """

    records: int = 0
    events: int = 0
    delivered: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    retry: list[str] = attrs.field(factory=list)
    calls: int = 0


def _utc(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


class StreamConsumer:
    """Delivers batches of stream records to PutEvents.

    Args:
        tracking_id: the event tracker's ``trackingId`` (the records do not carry one).
        dead_letters: where records that can never be delivered go (default: the log).
        tracker_options: more ``Tracker`` arguments (``client``, or ``session``,
            ``region_name`` and ``endpoint_url``; ``max_attempts``, ``retry_deadline``,
            ``max_requests_per_second``…); ``sync``, ``on_failure`` and ``max_event_age`` are
            the consumer's.

    Raises:
        ValueError, InvalidEventError: as ``Tracker`` (a bad option, no AWS region).

    Each batch is delivered by a Tracker of its own in sync mode (sharing one
    ``personalize-events`` client), whose ``max_event_age`` is the batch's timeout: no retry,
    and no later call, runs past it; what it cut short is read again. One batch at a time
    (a lock): in Lambda an environment runs one invocation at a time; the runner is one process.

    Attributes:
        client: the ``personalize-events`` client.
    """

    def __init__(
        self,
        tracking_id: str,
        *,
        dead_letters: DeadLetterDestination | None = None,
        **tracker_options: Any,
    ) -> None:
        tracker_options.setdefault("max_queue_size", 100_000)
        tracker_options.setdefault("flush_interval", 3600.0)  # batches leave full or at flush
        self.tracking_id = tracking_id
        self.dead_letters = dead_letters if dead_letters is not None else LogDeadLetters()
        self._lock = threading.Lock()
        # The first Tracker checks the options and builds the client the others share.
        first = Tracker(tracking_id, sync=True, **tracker_options)
        first.close(0)
        self.client = first.client
        tracker_options.pop("client", None)
        for name in ("session", "region_name", "endpoint_url"):
            tracker_options.pop(name, None)
        self._options = tracker_options

    def _tracker(self, timeout: float | None, failures: list[FailedEvent]) -> Tracker:
        """The Tracker of one batch: sync, bounded by ``timeout`` seconds from now."""
        options = dict(self._options)
        if timeout is not None:
            options["max_event_age"] = max(timeout, 0.001)
            deadline = options.get("retry_deadline")
            options["retry_deadline"] = max(min(deadline or timeout, timeout), 0.001)
        return Tracker(
            self.tracking_id, client=self.client, sync=True, on_failure=failures.extend, **options
        )

    def consume_lambda(self, event: Mapping[str, Any], timeout: float | None) -> dict[str, Any]:
        """Handle one Lambda Kinesis event: the ``ReportBatchItemFailures`` response.

        Returns:
            ``{"batchItemFailures": [{"itemIdentifier": <sequence number>}, ...]}``: the
            records to read again (Lambda checkpoints before the lowest and retries from it);
            an empty list when the batch is settled.
        """
        records = [StreamRecord.from_lambda(r) for r in event.get("Records", ())]
        result = self.consume(records, timeout)
        return {"batchItemFailures": [{"itemIdentifier": s} for s in result.retry]}

    def consume(
        self, records: Sequence[StreamRecord], timeout: float | None = None
    ) -> ConsumeResult:
        """Deliver the events of ``records`` (one shard's, in sequence order).

        Each record is decoded (a record that cannot be read is dead-lettered with its reason),
        its events regrouped per (user, session) in ``sentAt`` order and sent ≤ 10 per
        PutEvents call; an event PutEvents rejects as invalid (alone, after the poison split) is
        dead-lettered; every other failure (throttling past the retries, an outage, access
        denied, the timeout) puts its record in ``retry``, as do letters the destination did not
        take. A record listed for retry may have been delivered already: its ``eventId`` makes
        the second delivery harmless.

        Args:
            records: the batch.
            timeout: seconds the deliveries may take (``None``: until done; retries are bounded
                by ``retry_deadline``).
        """
        with self._lock:
            return self._consume(records, timeout)

    def _consume(self, records: Sequence[StreamRecord], timeout: float | None) -> ConsumeResult:
        result = ConsumeResult(records=len(records))
        letters: list[tuple[int, dict[str, Any]]] = []
        positions: dict[str, list[int]] = {}  # eventId -> indices of its records
        events: list[Event] = []
        for index, record in enumerate(records):
            try:
                if record.problem is not None:
                    raise StreamRecordError("malformed", record.problem)
                event = decode_record(record.data)
            except StreamRecordError as exc:
                letters.append((index, self._record_letter(record, exc)))
                continue
            seen = positions.setdefault(event.event_id, [])
            if seen:
                result.duplicates += 1
            else:
                events.append(event)
            seen.append(index)
        result.events = len(events)
        failures: list[FailedEvent] = []
        tracker = self._tracker(timeout, failures)
        events.sort(key=_sent_at)  # per session in event-time order (a producer retry reorders)
        for event in events:
            tracker.enqueue(event)
        tracker.flush(timeout)
        tracker.close(0)  # whatever is left fails (reason closed): read again
        result.calls = tracker.stats().requests
        retry: set[int] = set()
        failed_ids = set()
        for failure in failures:
            event_id = failure.event.event_id
            where = positions[event_id]
            failed_ids.add(event_id)
            if failure.reason is FailureReason.INVALID:
                letters.append((where[0], self._event_letter(failure)))
            else:
                retry.update(where)
        result.delivered = len(events) - len(failed_ids)
        self._put_letters(letters, retry, result)
        result.retry = [records[i].sequence_number for i in sorted(retry)]
        return result

    def _put_letters(
        self, letters: list[tuple[int, dict[str, Any]]], retry: set[int], result: ConsumeResult
    ) -> None:
        if not letters:
            return
        try:
            self.dead_letters.put([letter for _, letter in letters])
        except Exception:
            logger.exception(
                "personalize-tracker: %d dead letters not stored; their records are read again",
                len(letters),
            )
            retry.update(index for index, _ in letters)
        else:
            result.dead_lettered = len(letters)

    def _event_letter(self, failure: FailedEvent) -> dict[str, Any]:
        event: Event = failure.event
        return {
            "failedAt": _utc(time.time()),
            "reason": str(failure.reason),
            "errorCode": failure.error_code,
            "message": failure.message,
            "trackingId": self.tracking_id,
            "sessionId": event.session_id,
            "userId": event.user_id,
            "event": event.to_put_events(),
        }

    @staticmethod
    def _record_letter(record: StreamRecord, error: StreamRecordError) -> dict[str, Any]:
        return {
            "failedAt": _utc(time.time()),
            "reason": error.reason,
            "errorCode": None,
            "message": error.message,
            "sequenceNumber": record.sequence_number,
            "partitionKey": record.partition_key,
            "data": base64.b64encode(record.data).decode(),
        }

    def close(self, timeout: float | None = None) -> None:
        """Nothing is left between batches: kept for ``with``-like symmetry (no-op)."""


_sent_at: Callable[[Event], float] = lambda event: event.sent_at  # noqa: E731
