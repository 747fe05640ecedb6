"""Dead-letter destinations against moto's SQS and S3 in process, and the Lambda handler setting
a malformed record aside in the SQS queue its environment names."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from personalize_tracker import kinesis as kinesis_module
from personalize_tracker._stream.deadletter import (
    LogDeadLetters,
    QueueDeadLetters,
    S3DeadLetters,
    destination_from_url,
)

LETTERS = [{"reason": "malformed", "sequenceNumber": str(n), "message": "m"} for n in range(23)]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


def received(sqs: Any, url: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        page = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
        if not page.get("Messages"):
            return out
        for message in page["Messages"]:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_letters_go_to_sqs_ten_to_a_call(aws: boto3.Session) -> None:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="dead")["QueueUrl"]
    QueueDeadLetters(url, sqs).put(LETTERS)
    assert sorted(received(sqs, url), key=lambda x: int(x["sequenceNumber"])) == LETTERS


def test_a_message_sqs_refuses_raises() -> None:
    class Refusing:
        def send_message_batch(self, **params: Any) -> dict[str, Any]:
            return {"Failed": [{"Id": "0", "Code": "InternalError", "SenderFault": False}]}

    with pytest.raises(RuntimeError, match="InternalError"):
        QueueDeadLetters("https://sqs.invalid/q", Refusing()).put(LETTERS[:1])


def test_letters_go_to_one_s3_object_under_the_prefix(aws: boto3.Session) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="letters")
    S3DeadLetters("letters", "fleet/", s3).put(LETTERS)
    S3DeadLetters("letters", "fleet/", s3).put([])  # nothing: no object
    (obj,) = s3.list_objects_v2(Bucket="letters")["Contents"]
    assert obj["Key"].startswith("fleet/")
    assert obj["Key"].endswith(".jsonl")
    body = s3.get_object(Bucket="letters", Key=obj["Key"])["Body"].read().decode()
    assert [json.loads(line) for line in body.splitlines()] == LETTERS


def test_the_url_chooses_the_destination() -> None:
    made: list[str] = []

    def factory(service: str) -> str:
        made.append(service)
        return service

    assert isinstance(destination_from_url(None, factory), LogDeadLetters)
    queue = destination_from_url("https://sqs.eu-west-1.amazonaws.com/1/dead", factory)
    assert isinstance(queue, QueueDeadLetters)
    bucket = destination_from_url("s3://b/p/", factory)
    assert isinstance(bucket, S3DeadLetters)
    assert (bucket.bucket, bucket.prefix) == ("b", "p/")
    assert made == ["sqs", "s3"]
    with pytest.raises(ValueError, match="needs a bucket"):
        destination_from_url("s3:///p", factory)


def test_the_lambda_handler_sets_a_malformed_record_aside_in_its_queue(
    aws: boto3.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="dead")["QueueUrl"]
    monkeypatch.setenv("PERSONALIZE_TRACKING_ID", "tracking")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("PERSONALIZE_TRACKER_DEAD_LETTER_URL", url)
    monkeypatch.setattr(kinesis_module, "_consumers", {})
    event = {
        "Records": [
            {
                "kinesis": {
                    "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
                    "partitionKey": "s-1",
                    "data": base64.b64encode(b'{"v": 1, "event": 3}').decode(),
                }
            }
        ]
    }
    assert kinesis_module.lambda_handler(event, None) == {"batchItemFailures": []}
    (letter,) = received(sqs, url)
    assert letter["reason"] == "malformed"
    assert letter["sequenceNumber"].startswith("4959033827")
