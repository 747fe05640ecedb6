"""Where a stream consumer sets aside the records it can never deliver: an Amazon SQS queue, an
Amazon S3 prefix, or (without either) the log.

A dead letter is one JSON object, the shape of the Tracker's dead-letter file (so
``personalize-tracker resend`` reads an S3 object or a saved queue as is): ``failedAt``,
``reason``, ``errorCode``, ``message`` and, for an event, ``trackingId``, ``sessionId``,
``userId`` and ``event`` (the PutEvents event); for a record that could not be read,
``sequenceNumber``, ``partitionKey`` and ``data`` (the record's bytes, base64).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlparse

__all__ = [
    "DeadLetterDestination",
    "LogDeadLetters",
    "QueueDeadLetters",
    "S3DeadLetters",
    "destination_from_url",
]

logger = logging.getLogger("personalize_tracker")

#: Messages per SendMessageBatch call at most (Amazon SQS quota: 10 entries per batch).
SQS_BATCH = 10


class DeadLetterDestination(Protocol):
    """Takes dead letters; raises when they were not all stored (the consumer then reads the
    records again instead of losing them)."""

    def put(self, letters: Sequence[Mapping[str, Any]]) -> None:
        """Store ``letters`` (JSON-ready dicts).

        Raises:
            Exception: any failure to store them all (a botocore error…).
        """


class LogDeadLetters:
    """No destination configured: each dead letter is logged at ERROR (ids, reason and error;
    not the event's properties or user id)."""

    def put(self, letters: Sequence[Mapping[str, Any]]) -> None:
        """Log each letter."""
        for letter in letters:
            event = letter.get("event") or {}
            logger.error(
                "personalize-tracker: dead letter (no destination configured): reason=%s "
                "eventId=%s sequenceNumber=%s error=%s: %s",
                letter.get("reason"),
                event.get("eventId") if isinstance(event, Mapping) else None,
                letter.get("sequenceNumber"),
                letter.get("errorCode"),
                letter.get("message"),
            )


class QueueDeadLetters:
    """Dead letters as Amazon SQS messages (one letter each, ``SendMessageBatch`` of 10).

    Args:
        queue_url: the queue's URL.
        client: a boto3 ``sqs`` client.

    Raises (``put``):
        RuntimeError: SQS reported messages it did not take (``Failed``).
        botocore.exceptions.ClientError: the call failed.
    """

    def __init__(self, queue_url: str, client: Any) -> None:
        self.queue_url = queue_url
        self.client = client

    def put(self, letters: Sequence[Mapping[str, Any]]) -> None:
        """Send every letter; raise if any was not taken."""
        for start in range(0, len(letters), SQS_BATCH):
            chunk = letters[start : start + SQS_BATCH]
            entries = [
                {"Id": str(index), "MessageBody": json.dumps(letter, ensure_ascii=False)}
                for index, letter in enumerate(chunk)
            ]
            response = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            if response.get("Failed"):
                codes = sorted({str(f.get("Code")) for f in response["Failed"]})
                raise RuntimeError(f"SQS did not take {len(response['Failed'])} letters: {codes}")


class S3DeadLetters:
    """Dead letters as JSON Lines objects under an Amazon S3 prefix: one object per call,
    ``<prefix><UTC date>/<epoch ms>-<random>.jsonl``.

    Args:
        bucket: the bucket's name.
        prefix: the key prefix (e.g. ``"dead-letters/"``).
        client: a boto3 ``s3`` client.
    """

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.client = client

    def put(self, letters: Sequence[Mapping[str, Any]]) -> None:
        """Write the letters as one object.

        Raises:
            botocore.exceptions.ClientError: the call failed.
        """
        if not letters:
            return
        now = time.time()
        day = time.strftime("%Y-%m-%d", time.gmtime(now))
        key = f"{self.prefix}{day}/{int(now * 1000)}-{uuid.uuid4().hex[:12]}.jsonl"
        body = "".join(json.dumps(letter, ensure_ascii=False) + "\n" for letter in letters)
        self.client.put_object(
            Bucket=self.bucket, Key=key, Body=body.encode(), ContentType="application/x-ndjson"
        )


def destination_from_url(url: str | None, client_factory: Any) -> DeadLetterDestination:
    """The destination a URL names.

    Args:
        url: ``https://sqs.<region>.amazonaws.com/<account>/<queue>`` (an SQS queue URL, or
            any ``http(s)`` URL: a local endpoint's), ``s3://bucket/prefix/``, or None / empty
            for the log.
        client_factory: called with a service name (``"sqs"``, ``"s3"``) to build its client.

    Raises:
        ValueError: a URL of another scheme, or an ``s3://`` URL without a bucket.
    """
    if not url:
        return LogDeadLetters()
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ValueError(f"dead-letter URL {url!r}: s3:// needs a bucket (s3://bucket/prefix/)")
        return S3DeadLetters(parsed.netloc, parsed.path.lstrip("/"), client_factory("s3"))
    if parsed.scheme in ("http", "https"):
        return QueueDeadLetters(url, client_factory("sqs"))
    raise ValueError(
        f"dead-letter URL {url!r}: expected an SQS queue URL (https://...) or s3://bucket/prefix/"
    )
