"""A fleet feeds Amazon Personalize through Amazon Kinesis Data Streams.

Producers (web servers) write validated events to a stream; a consumer (an AWS Lambda function
behind a Kinesis event source mapping, or ``personalize-tracker consume --stream`` on one
machine) regroups them per (user, session) and calls PutEvents. ``docs/fleet.md`` has the
architecture, the guarantees, the record format and the sizing.

Producer::

    from personalize_tracker import Tracker
    from personalize_tracker.kinesis import KinesisTransport

    tracker = Tracker("tracking-id", transport=KinesisTransport("events"))
    tracker.track("click", session_id="s-1", user_id="u-1", item_id="i-1")

Consumer (the Lambda function's handler: ``personalize_tracker.kinesis.lambda_handler``),
configured by environment variables:

- ``PERSONALIZE_TRACKING_ID`` (required): the event tracker's ``trackingId``;
- ``PERSONALIZE_TRACKER_DEAD_LETTER_URL``: an SQS queue URL or ``s3://bucket/prefix/`` for the
  records that can never be delivered (default: logged at ERROR);
- ``PERSONALIZE_TRACKER_MAX_ATTEMPTS`` (default 4), ``PERSONALIZE_TRACKER_RETRY_DEADLINE``
  (seconds, default 20), ``PERSONALIZE_TRACKER_MAX_REQUESTS_PER_SECOND`` (default 950): the
  Tracker options of the same names;
- ``PERSONALIZE_TRACKER_ENDPOINT_URL``: the PutEvents endpoint (tests; default AWS's);
- ``AWS_REGION`` (set by Lambda).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import boto3

from ._pipeline import KinesisTransport
from ._record.stream import FORMAT_VERSION, StreamRecordError, decode_record, encode_record
from ._stream.consumer import ConsumeResult, StreamConsumer, StreamRecord
from ._stream.deadletter import (
    DeadLetterDestination,
    LogDeadLetters,
    QueueDeadLetters,
    S3DeadLetters,
    destination_from_url,
)
from ._stream.reader import ReadSummary, read_stream

__all__ = [
    "FORMAT_VERSION",
    "ConsumeResult",
    "DeadLetterDestination",
    "KinesisTransport",
    "LogDeadLetters",
    "QueueDeadLetters",
    "ReadSummary",
    "S3DeadLetters",
    "StreamConsumer",
    "StreamRecord",
    "StreamRecordError",
    "consumer_from_env",
    "decode_record",
    "destination_from_url",
    "encode_record",
    "lambda_handler",
    "read_stream",
]

#: Seconds of a Lambda invocation's remaining time kept back from the deliveries, to answer.
LAMBDA_MARGIN = 2.0
_ENV = (
    "PERSONALIZE_TRACKING_ID",
    "PERSONALIZE_TRACKER_DEAD_LETTER_URL",
    "PERSONALIZE_TRACKER_MAX_ATTEMPTS",
    "PERSONALIZE_TRACKER_RETRY_DEADLINE",
    "PERSONALIZE_TRACKER_MAX_REQUESTS_PER_SECOND",
    "PERSONALIZE_TRACKER_ENDPOINT_URL",
    "AWS_REGION",
)
_consumers: dict[tuple[str | None, ...], StreamConsumer] = {}


def _number(environ: Mapping[str, str], name: str, default: float, kind: type = float) -> Any:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected a {kind.__name__}") from None


def consumer_from_env(environ: Mapping[str, str] | None = None) -> StreamConsumer:
    """The consumer the environment variables describe (see the module's docstring).

    Args:
        environ: the variables (default: ``os.environ``).

    Raises:
        ValueError: ``PERSONALIZE_TRACKING_ID`` is not set, a number is not one, the
            dead-letter URL has another scheme, or no AWS region is known.
    """
    environ = os.environ if environ is None else environ
    tracking_id = environ.get("PERSONALIZE_TRACKING_ID")
    if not tracking_id:
        raise ValueError("PERSONALIZE_TRACKING_ID is not set: the event tracker's trackingId")
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or None
    session = boto3.Session(region_name=region)
    dead_letters = destination_from_url(
        environ.get("PERSONALIZE_TRACKER_DEAD_LETTER_URL"), session.client
    )
    return StreamConsumer(
        tracking_id,
        dead_letters=dead_letters,
        session=session,
        endpoint_url=environ.get("PERSONALIZE_TRACKER_ENDPOINT_URL") or None,
        max_attempts=_number(environ, "PERSONALIZE_TRACKER_MAX_ATTEMPTS", 4, int),
        retry_deadline=_number(environ, "PERSONALIZE_TRACKER_RETRY_DEADLINE", 20.0),
        max_requests_per_second=_number(
            environ, "PERSONALIZE_TRACKER_MAX_REQUESTS_PER_SECOND", 950.0
        ),
    )


def lambda_handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The AWS Lambda handler of a Kinesis event source mapping with ``ReportBatchItemFailures``.

    Args:
        event: the Kinesis event (``{"Records": [{"kinesis": {"sequenceNumber", "data",
            "partitionKey", ...}}, ...]}``, records of one shard in sequence order).
        context: the Lambda context; its ``get_remaining_time_in_millis()`` bounds the
            deliveries (minus ``LAMBDA_MARGIN`` seconds); None: unbounded.

    Returns:
        ``{"batchItemFailures": [{"itemIdentifier": "<sequence number>"}, ...]}``: the records
        to read again; Lambda checkpoints before the lowest and retries from it (AWS Lambda
        developer guide, "Configuring partial batch response with Kinesis Data Streams").
        Records that can never be delivered go to the dead-letter destination instead.

    The consumer is built once per execution environment (and again if its variables change).

    Raises:
        ValueError: the environment is incomplete (see :func:`consumer_from_env`).
    """
    key = tuple(os.environ.get(name) for name in _ENV)
    consumer = _consumers.get(key)
    if consumer is None:
        consumer = _consumers[key] = consumer_from_env()
    timeout = None
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is not None:
        timeout = max(0.5, remaining() / 1000.0 - LAMBDA_MARGIN)
    return consumer.consume_lambda(event, timeout)
