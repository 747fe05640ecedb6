"""Kinesis PutRecords: the transport that writes events to an Amazon Kinesis data stream instead
of calling PutEvents, for a fleet whose events a stream consumer (``personalize_tracker.kinesis``)
delivers.

Each event is one record (the versioned format of ``_record/stream.py``) with its ``sessionId``
as partition key, so one session's events go to one shard. One call writes up to 500 records of
any sessions (PutRecords' maximum); PutRecords reports failures per record, which this transport
turns into a :class:`~personalize_tracker._errors.PartialSendError`, so that only the failed
records are sent again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from .._errors import PartialSendError, SendError
from .._record.event import Event
from .._record.stream import encode_record
from .putevents import send_error

__all__ = [
    "MAX_CALL_BYTES",
    "MAX_RECORDS_PER_CALL",
    "MAX_RECORD_BYTES",
    "KinesisTransport",
    "build_kinesis_client",
]

#: Records per PutRecords call at most (the ``Records`` list's ``max`` in the kinesis service
#: model; the PutRecords API reference: "Each PutRecords request can support up to 500 records").
MAX_RECORDS_PER_CALL = 500
#: Bytes of one record (data plus partition key) at most: 1 MiB (PutRecords API reference).
MAX_RECORD_BYTES = 1024 * 1024
#: Bytes of one PutRecords request (data plus partition keys) at most: 5 MiB (PutRecords API
#: reference: "up to a limit of 5 MiB for the entire request, including partition keys").
MAX_CALL_BYTES = 5 * 1024 * 1024
#: The group key of every event: the stream takes any sessions in one call.
STREAM_KEY = ("", "")
#: Error codes of a PutRecords record that a later attempt may write (the API reference lists
#: ``ProvisionedThroughputExceededException`` and ``InternalFailure``).
_RETRYABLE_RECORD_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "InternalFailure",
        "ServiceUnavailable",
        "KMSThrottlingException",
    }
)
_THROTTLED_RECORD_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "KMSThrottlingException"}
)
_TOO_LARGE = "RequestTooLarge"


def _record_error(code: str, message: str) -> SendError:
    throttled = code in _THROTTLED_RECORD_CODES
    retryable = code in _RETRYABLE_RECORD_CODES or code == _TOO_LARGE
    return SendError(
        code, message, retryable=retryable, throttled=throttled, rejected=not retryable
    )


def build_kinesis_client(
    session: boto3.Session | None = None,
    region_name: str | None = None,
    endpoint_url: str | None = None,
    max_workers: int = 32,
) -> Any:
    """A boto3 ``kinesis`` client as the transport needs it: botocore's own retries off (the
    Tracker retries, only the failed records), a connection per sender thread (``max_workers``,
    the Tracker's default 32), bounded timeouts (connect 5 s, read 15 s).

    Raises:
        ValueError: no AWS region is known.
    """
    session = session if session is not None else boto3.Session()
    config = botocore.config.Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        max_pool_connections=max(10, max_workers),
        connect_timeout=5,
        read_timeout=15,
        tcp_keepalive=True,
        user_agent_extra="personalize-tracker",
    )
    try:
        return session.client(
            "kinesis", region_name=region_name, endpoint_url=endpoint_url, config=config
        )
    except botocore.exceptions.NoRegionError:
        raise ValueError(
            "no AWS region for the kinesis client: pass region_name= (or a client), or set "
            "AWS_REGION / AWS_DEFAULT_REGION"
        ) from None


class KinesisTransport:
    """Writes events to an Amazon Kinesis data stream with PutRecords, one record per event.

    Use it as ``Tracker(tracking_id, transport=KinesisTransport("events"))``: ``track()``
    validates each event exactly as before; the Tracker batches, retries, spills and accounts
    as before, with PutRecords instead of PutEvents (``delivered`` then means written to the
    stream; the consumer, ``personalize_tracker.kinesis.lambda_handler``, calls PutEvents).

    Args:
        stream_name: the stream's name (1-128 characters).
        client: a boto3 ``kinesis`` client to use as is (thread-safe; shared by the sender
            threads); default: one built here from ``session``, ``region_name`` and
            ``endpoint_url`` (rebuilt in a forked child).
        stream_arn: send ``StreamARN`` instead of ``StreamName`` (AWS recommends it; needed
            across accounts).

    Limits (PutRecords API reference): ≤ 500 records and ≤ 5 MiB (data plus partition keys)
    per call, ≤ 1 MiB per record; an event is at most ~40 KB, so only the count binds in
    practice. A batch over 5 MiB is written in part: the records past the limit are reported
    failed with the retryable code ``RequestTooLarge`` and go in the next attempt.

    Raises (``send``):
        PartialSendError: some records failed (``FailedRecordCount`` > 0): their index, code
            (``ProvisionedThroughputExceededException``, ``InternalFailure``: retryable) and
            message; the other records are in the stream.
        SendError: the whole call failed (see ``putevents.send_error``: throttling, 5xx and
            connection errors are retryable; ``ResourceNotFoundException`` and access denied
            are not).

    Raises:
        ValueError: no stream, or both a stream name and an ARN; an empty or too long name;
            ``client`` with ``session`` or ``endpoint_url``; no AWS region known for the
            client built here.
    """

    #: Records per call at most: the batch size of a Tracker with this transport.
    batch_size = MAX_RECORDS_PER_CALL

    def __init__(
        self,
        stream_name: str | None = None,
        client: Any = None,
        *,
        stream_arn: str | None = None,
        session: boto3.Session | None = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        if (stream_name is None) == (stream_arn is None):
            raise ValueError("KinesisTransport needs stream_name or stream_arn (one of them)")
        name = stream_name if stream_name is not None else stream_arn
        field, longest = ("stream_name", 128) if stream_arn is None else ("stream_arn", 2048)
        if not isinstance(name, str) or not 1 <= len(name) <= longest:
            # StreamName: 1-128 characters, StreamARN: 1-2048 (the kinesis service model)
            raise ValueError(f"{field} must be a string of 1-{longest} characters")
        if client is not None and (session is not None or endpoint_url is not None):
            raise ValueError("pass either client= or session=/endpoint_url=, not both")
        self.stream_name = stream_name
        self.stream_arn = stream_arn
        self._own_client = client is None
        self._client_options = (session, region_name, endpoint_url)
        #: The boto3 ``kinesis`` client.
        self.client = (
            client
            if client is not None
            else build_kinesis_client(session, region_name, endpoint_url)
        )

    def group_key(self, event: Event) -> tuple[str, str]:
        """The group every event joins: one, since a call takes any sessions."""
        return STREAM_KEY

    def renewed(self) -> KinesisTransport:
        """This transport for a forked child: a new client if it built its own (a boto3 client
        must not cross a fork), else the same transport."""
        if not self._own_client:
            return self
        session, region_name, endpoint_url = self._client_options
        if self.stream_name is not None:
            return KinesisTransport(
                self.stream_name,
                session=session,
                region_name=region_name,
                endpoint_url=endpoint_url,
            )
        return KinesisTransport(
            stream_arn=self.stream_arn,
            session=session,
            region_name=region_name,
            endpoint_url=endpoint_url,
        )

    def send(self, key: object, records: Sequence[Event]) -> None:
        """Write ``records`` (1-500 events of any sessions) with one PutRecords call.

        Raises:
            PartialSendError: some records were not written (see the class).
            SendError: the call failed as a whole.
        """
        entries: list[dict[str, Any]] = []
        total = 0
        for event in records:
            data = encode_record(event)
            size = len(data) + len(event.session_id.encode())
            if entries and total + size > MAX_CALL_BYTES:
                break
            total += size
            entries.append({"Data": data, "PartitionKey": event.session_id})
        params: dict[str, Any] = {"Records": entries}
        if self.stream_arn is not None:
            params["StreamARN"] = self.stream_arn
        else:
            params["StreamName"] = self.stream_name
        try:
            response = self.client.put_records(**params)
        except Exception as exc:
            raise send_error(exc) from exc
        errors: dict[int, SendError] = {}
        if response.get("FailedRecordCount"):
            for index, result in enumerate(response.get("Records", ())):
                code = result.get("ErrorCode")
                if code:
                    errors[index] = _record_error(str(code), str(result.get("ErrorMessage", "")))
        for index in range(len(entries), len(records)):
            errors[index] = _record_error(
                _TOO_LARGE, f"past PutRecords' {MAX_CALL_BYTES} bytes per call: sent next"
            )
        if errors:
            raise PartialSendError(errors)
