"""The Kinesis PutRecords transport: one record per event keyed by session, the call's limits,
per-record failures as ``PartialSendError``, whole-call errors as ``SendError``; against a fake
client and against moto's Kinesis in process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from personalize_tracker import Event
from personalize_tracker._delivery.kinesis import (
    MAX_CALL_BYTES,
    MAX_RECORDS_PER_CALL,
    KinesisTransport,
)
from personalize_tracker._errors import PartialSendError, SendError
from personalize_tracker._record.stream import decode_record


def events(count: int, sessions: int = 3, **fields: Any) -> list[Event]:
    return [
        Event.create(
            "click",
            f"s-{n % sessions}",
            user_id=f"u-{n % sessions}",
            item_id=f"i-{n}",
            sent_at=1_700_000_000 + n,
            event_id=f"e-{n}",
            **fields,
        )
        for n in range(count)
    ]


class FakeKinesis:
    """Records ``put_records`` calls; ``answers`` are the next calls' outcomes (a response
    dict, or an exception), default: all written."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.answers: list[Any] = []

    def put_records(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        answer = self.answers.pop(0) if self.answers else None
        if isinstance(answer, BaseException):
            raise answer
        if answer is not None:
            return dict(answer)
        return {
            "FailedRecordCount": 0,
            "Records": [{"SequenceNumber": "1"}] * len(params["Records"]),
        }


def failed(code: str) -> dict[str, str]:
    return {"ErrorCode": code, "ErrorMessage": f"{code} here"}


def test_each_event_is_one_record_keyed_by_its_session() -> None:
    client = FakeKinesis()
    batch = events(5)
    KinesisTransport("events", client).send(("", ""), batch)
    (call,) = client.calls
    assert call["StreamName"] == "events"
    assert [r["PartitionKey"] for r in call["Records"]] == [e.session_id for e in batch]
    assert [decode_record(r["Data"]) for r in call["Records"]] == batch


def test_a_stream_arn_is_sent_instead_of_the_name() -> None:
    client = FakeKinesis()
    arn = "arn:aws:kinesis:us-east-1:123456789012:stream/events"
    KinesisTransport(stream_arn=arn, client=client).send(("", ""), events(1))
    assert client.calls[0]["StreamARN"] == arn
    assert "StreamName" not in client.calls[0]


def test_a_tracker_batches_any_sessions_up_to_the_put_records_maximum() -> None:
    transport = KinesisTransport("events", FakeKinesis())
    assert transport.batch_size == MAX_RECORDS_PER_CALL == 500
    keys = {transport.group_key(e) for e in events(20, sessions=7)}
    assert len(keys) == 1


def test_failed_records_are_named_by_index_with_their_own_error() -> None:
    client = FakeKinesis()
    client.answers.append(
        {
            "FailedRecordCount": 2,
            "Records": [
                {"SequenceNumber": "1"},
                failed("ProvisionedThroughputExceededException"),
                {"SequenceNumber": "2"},
                failed("InternalFailure"),
            ],
        }
    )
    with pytest.raises(PartialSendError) as caught:
        KinesisTransport("events", client).send(("", ""), events(4))
    errors = caught.value.errors
    assert sorted(errors) == [1, 3]
    assert errors[1].code == "ProvisionedThroughputExceededException"
    assert errors[1].retryable
    assert errors[1].throttled
    assert errors[3].code == "InternalFailure"
    assert errors[3].retryable
    assert not errors[3].throttled
    assert caught.value.throttled


def test_an_unknown_record_error_is_final() -> None:
    client = FakeKinesis()
    client.answers.append({"FailedRecordCount": 1, "Records": [failed("KMSAccessDeniedException")]})
    with pytest.raises(PartialSendError) as caught:
        KinesisTransport("events", client).send(("", ""), events(1))
    error = caught.value.errors[0]
    assert not error.retryable
    assert error.rejected


@pytest.mark.parametrize(
    ("code", "status", "retryable", "throttled"),
    [
        ("ProvisionedThroughputExceededException", 400, True, True),
        ("InternalFailure", 500, True, False),
        ("ResourceNotFoundException", 400, False, False),
        ("AccessDeniedException", 400, False, False),
    ],
)
def test_a_failed_call_is_a_send_error(
    code: str, status: int, retryable: bool, throttled: bool
) -> None:
    client = FakeKinesis()
    client.answers.append(
        ClientError(
            {
                "Error": {"Code": code, "Message": "m"},
                "ResponseMetadata": {"HTTPStatusCode": status},
            },  # type: ignore[typeddict-item]
            "PutRecords",
        )
    )
    with pytest.raises(SendError) as caught:
        KinesisTransport("events", client).send(("", ""), events(2))
    assert not isinstance(caught.value, PartialSendError)
    assert (caught.value.code, caught.value.retryable, caught.value.throttled) == (
        code,
        retryable,
        throttled,
    )


def test_records_past_five_mib_wait_for_the_next_attempt() -> None:
    client = FakeKinesis()
    big = events(
        500,
        sessions=500,
        impression=[f"{n:€>255}" for n in range(25)],  # 3 bytes a character
        properties={"note": "x" * 1000},
        recommendation_id="r" * 40,
    )
    with pytest.raises(PartialSendError) as caught:
        KinesisTransport("events", client).send(("", ""), big)
    sent = client.calls[0]["Records"]
    assert sum(len(r["Data"]) + len(r["PartitionKey"]) for r in sent) <= MAX_CALL_BYTES
    assert sorted(caught.value.errors) == list(range(len(sent), 500))
    assert all(e.retryable and e.code == "RequestTooLarge" for e in caught.value.errors.values())


def test_it_needs_one_stream_and_one_way_to_a_client() -> None:
    with pytest.raises(ValueError, match="stream_name or stream_arn"):
        KinesisTransport()
    with pytest.raises(ValueError, match="stream_name must be a string of 1-128"):
        KinesisTransport("")
    with pytest.raises(ValueError, match="stream_name must be a string of 1-128"):
        KinesisTransport("s" * 129)
    with pytest.raises(ValueError, match="either client"):
        KinesisTransport("s", FakeKinesis(), endpoint_url="http://127.0.0.1:1")


def test_a_forked_child_gets_a_new_client_only_if_the_transport_built_it() -> None:
    given = KinesisTransport("events", FakeKinesis())
    assert given.renewed() is given
    built = KinesisTransport("events", region_name="us-east-1")
    renewed = built.renewed()
    assert renewed is not built
    assert renewed.stream_name == "events"
    assert renewed.client is not built.client


@pytest.fixture
def moto_kinesis(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("kinesis", region_name="us-east-1")
        client.create_stream(StreamName="events", ShardCount=2)
        yield client


def read_all(client: Any, stream: str) -> list[tuple[str, bytes]]:
    out = []
    for shard in client.list_shards(StreamName=stream)["Shards"]:
        iterator = client.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        out += [
            (r["PartitionKey"], r["Data"])
            for r in client.get_records(ShardIterator=iterator)["Records"]
        ]
    return out


def test_records_reach_moto_kinesis_with_one_session_on_one_shard(moto_kinesis: Any) -> None:
    batch = events(40, sessions=8)
    KinesisTransport("events", moto_kinesis).send(("", ""), batch)
    written = read_all(moto_kinesis, "events")
    assert sorted(decode_record(d).event_id for _, d in written) == sorted(
        e.event_id for e in batch
    )
    shards_of_session: dict[str, set[str]] = {}
    for shard in moto_kinesis.list_shards(StreamName="events")["Shards"]:
        iterator = moto_kinesis.get_shard_iterator(
            StreamName="events", ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for record in moto_kinesis.get_records(ShardIterator=iterator)["Records"]:
            shards_of_session.setdefault(record["PartitionKey"], set()).add(shard["ShardId"])
    assert all(len(shards) == 1 for shards in shards_of_session.values())
    assert json.loads(written[0][1])["v"] == 1


def test_an_unknown_stream_is_rejected_not_retried(moto_kinesis: Any) -> None:
    with pytest.raises(SendError) as caught:
        KinesisTransport("nope", moto_kinesis).send(("", ""), events(1))
    assert caught.value.code == "ResourceNotFoundException"
    assert caught.value.rejected
    assert not caught.value.retryable


def test_a_missing_region_is_an_error_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(ValueError, match="no AWS region for the kinesis client"):
        KinesisTransport("events")
