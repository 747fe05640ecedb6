"""The stream consumer: regrouping per (user, session), the records to read again, dead letters,
and the Lambda handler's partial batch response; PutEvents is a fake client."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from personalize_tracker import Event
from personalize_tracker import kinesis as kinesis_module
from personalize_tracker._record.stream import encode_record
from personalize_tracker._stream.consumer import StreamConsumer, StreamRecord

from conftest import FakeClient, client_error, throttled


class Letters:
    """A dead-letter destination that keeps what it is given (or refuses it)."""

    def __init__(self, fail: bool = False) -> None:
        self.letters: list[dict[str, Any]] = []
        self.fail = fail

    def put(self, letters: Sequence[Any]) -> None:
        if self.fail:
            raise RuntimeError("destination down")
        self.letters.extend(letters)


def event(n: int, session: str = "s-1", user: str | None = "u-1", at: float | None = None) -> Event:
    return Event.create(
        "click",
        session,
        user_id=user,
        item_id=f"i-{n}",
        sent_at=1_700_000_000 + n if at is None else at,
        event_id=f"e-{n}",
    )


def records(*events: Event) -> list[StreamRecord]:
    return [
        StreamRecord(str(1000 + n), encode_record(e), e.session_id) for n, e in enumerate(events)
    ]


@pytest.fixture
def consumer(fake_client: FakeClient) -> Iterator[StreamConsumer]:
    consumer = StreamConsumer(
        "tracking", client=fake_client, max_attempts=2, max_backoff=0.01, retry_deadline=5
    )
    yield consumer
    consumer.close(1)


def test_events_are_regrouped_per_user_and_session_ten_to_a_call(
    consumer: StreamConsumer, fake_client: FakeClient
) -> None:
    batch = [event(n, session=f"s-{n % 3}", user=f"u-{n % 3}") for n in range(25)]
    result = consumer.consume(records(*batch))
    assert (result.records, result.events, result.delivered, result.retry) == (25, 25, 25, [])
    # sessions of 9, 8 and 8 events: one call each, the floor of sum(ceil(n / 10))
    assert result.calls == len(fake_client.calls) == 3
    for call in fake_client.calls:
        assert {e["eventId"] for e in call["eventList"]} <= {
            f"e-{n}" for n in range(25) if f"s-{n % 3}" == call["sessionId"]
        }
        assert call["userId"] == "u" + call["sessionId"][1:]
        assert call["trackingId"] == "tracking"


def test_one_sessions_events_are_sent_in_event_time_order(
    consumer: StreamConsumer, fake_client: FakeClient
) -> None:
    # a producer's retry wrote e-1 after e-2: the consumer sends them by sentAt
    consumer.consume(records(event(0), event(2), event(1), event(3)))
    assert [e["eventId"] for e in fake_client.delivered_events] == ["e-0", "e-1", "e-2", "e-3"]


def test_a_repeated_event_id_is_sent_once_and_counted(
    consumer: StreamConsumer, fake_client: FakeClient
) -> None:
    result = consumer.consume(records(event(0), event(1), event(0)))
    assert (result.events, result.duplicates, result.delivered) == (2, 1, 2)
    assert [e["eventId"] for e in fake_client.delivered_events] == ["e-0", "e-1"]


def test_a_malformed_record_is_dead_lettered_with_its_reason_and_the_rest_delivered(
    fake_client: FakeClient,
) -> None:
    letters = Letters()
    consumer = StreamConsumer("tracking", client=fake_client, dead_letters=letters)
    batch = records(event(0), event(1))
    bad = [
        StreamRecord("2000", b"{oops", "s-9"),
        StreamRecord("2001", b'{"v": 7, "event": {}}', "s-9"),
        StreamRecord.from_lambda({"kinesis": {"sequenceNumber": "2002", "data": "%%%"}}),
    ]
    result = consumer.consume([batch[0], *bad, batch[1]])
    consumer.close(1)
    assert (result.delivered, result.dead_lettered, result.retry) == (2, 3, [])
    assert [(x["reason"], x["sequenceNumber"]) for x in letters.letters] == [
        ("malformed", "2000"),
        ("unknown_version", "2001"),
        ("malformed", "2002"),
    ]
    assert base64.b64decode(letters.letters[0]["data"]) == b"{oops"


def test_an_event_the_service_rejects_is_dead_lettered_not_retried(
    fake_client: FakeClient,
) -> None:
    letters = Letters()
    consumer = StreamConsumer("tracking", client=fake_client, dead_letters=letters)

    def reject_e1(params: dict[str, Any]) -> BaseException | None:
        if any(e["eventId"] == "e-1" for e in params["eventList"]):
            return client_error("InvalidInputException", 400, "bad itemId")
        return None

    fake_client.script = reject_e1
    result = consumer.consume(records(event(0), event(1), event(2)))
    consumer.close(1)
    assert (result.delivered, result.dead_lettered, result.retry) == (2, 1, [])
    (letter,) = letters.letters
    assert letter["reason"] == "invalid"
    assert letter["errorCode"] == "InvalidInputException"
    assert letter["event"]["eventId"] == "e-1"
    assert letter["trackingId"] == "tracking"
    assert (letter["sessionId"], letter["userId"]) == ("s-1", "u-1")


def test_a_lasting_throttle_asks_for_its_records_again_and_nothing_earlier(
    consumer: StreamConsumer, fake_client: FakeClient
) -> None:
    def throttle_s2(params: dict[str, Any]) -> BaseException | None:
        return throttled() if params["sessionId"] == "s-2" else None

    fake_client.script = throttle_s2
    batch = records(event(0, "s-1"), event(1, "s-2"), event(2, "s-1"), event(3, "s-2"))
    result = consumer.consume(batch)
    assert result.retry == ["1001", "1003"]
    assert result.delivered == 2


def test_letters_the_destination_refuses_are_read_again(fake_client: FakeClient) -> None:
    consumer = StreamConsumer("tracking", client=fake_client, dead_letters=Letters(fail=True))
    result = consumer.consume([*records(event(0)), StreamRecord("2000", b"nope", "")])
    consumer.close(1)
    assert (result.delivered, result.dead_lettered, result.retry) == (1, 0, ["2000"])


def lambda_event(batch: list[StreamRecord]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventSource": "aws:kinesis",
                "eventID": f"shardId-000000000000:{r.sequence_number}",
                "kinesis": {
                    "sequenceNumber": r.sequence_number,
                    "partitionKey": r.partition_key,
                    "data": base64.b64encode(r.data).decode(),
                },
            }
            for r in batch
        ]
    }


class Context:
    def __init__(self, millis: int) -> None:
        self.millis = millis

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


def test_the_lambda_handler_reports_batch_item_failures_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, fake_client: FakeClient
) -> None:
    built: list[dict[str, Any]] = []

    def consumer_from_env(environ: Any = None) -> StreamConsumer:
        built.append(dict(kinesis_module.os.environ))
        return StreamConsumer("tracking", client=fake_client, max_attempts=1)

    monkeypatch.setenv("PERSONALIZE_TRACKING_ID", "tracking")
    monkeypatch.setattr(kinesis_module, "consumer_from_env", consumer_from_env)
    monkeypatch.setattr(kinesis_module, "_consumers", {})
    fake_client.script = lambda p: throttled() if p["sessionId"] == "s-2" else None
    batch = records(event(0, "s-1"), event(1, "s-2"), event(2, "s-1"))
    answer = kinesis_module.lambda_handler(lambda_event(batch), Context(30_000))
    assert answer == {"batchItemFailures": [{"itemIdentifier": "1001"}]}
    fake_client.script = None
    assert kinesis_module.lambda_handler(lambda_event(batch[1:]), None) == {"batchItemFailures": []}
    assert len(built) == 1  # once per execution environment
    assert sorted(e["eventId"] for e in fake_client.delivered_events) == [
        "e-0",
        "e-1",
        "e-2",
        "e-2",
    ]
    json.dumps(answer)


def test_the_environment_configures_the_consumer(monkeypatch: pytest.MonkeyPatch) -> None:
    environ = {
        "PERSONALIZE_TRACKING_ID": "tracking",
        "AWS_REGION": "eu-west-1",
        "PERSONALIZE_TRACKER_DEAD_LETTER_URL": "s3://bucket/letters/",
        "PERSONALIZE_TRACKER_MAX_ATTEMPTS": "3",
    }
    consumer = kinesis_module.consumer_from_env(environ)
    try:
        assert isinstance(consumer.dead_letters, kinesis_module.S3DeadLetters)
        assert (consumer.dead_letters.bucket, consumer.dead_letters.prefix) == (
            "bucket",
            "letters/",
        )
        assert consumer.client.meta.region_name == "eu-west-1"
    finally:
        consumer.close(0)
    with pytest.raises(ValueError, match="PERSONALIZE_TRACKING_ID"):
        kinesis_module.consumer_from_env({})
    with pytest.raises(ValueError, match="PERSONALIZE_TRACKER_MAX_ATTEMPTS"):
        kinesis_module.consumer_from_env({**environ, "PERSONALIZE_TRACKER_MAX_ATTEMPTS": "x"})
    with pytest.raises(ValueError, match="s3://"):
        kinesis_module.consumer_from_env(
            {**environ, "PERSONALIZE_TRACKER_DEAD_LETTER_URL": "ftp://x"}
        )


def test_the_handler_answers_within_the_invocations_time_reading_again_what_is_undelivered(
    monkeypatch: pytest.MonkeyPatch, fake_client: FakeClient
) -> None:
    consumer = StreamConsumer(
        "tracking", client=fake_client, max_attempts=1000, retry_deadline=600, max_backoff=0.2
    )
    monkeypatch.setattr(kinesis_module, "_consumers", {})
    monkeypatch.setattr(kinesis_module, "consumer_from_env", lambda environ=None: consumer)
    fake_client.script = lambda params: throttled()  # PutEvents throttles throughout
    batch = records(event(0, "s-1"), event(1, "s-2"))
    started = time.monotonic()
    answer = kinesis_module.lambda_handler(lambda_event(batch), Context(2_500))  # 0.5 s to use
    assert time.monotonic() - started < 2.0
    assert answer == {"batchItemFailures": [{"itemIdentifier": "1000"}, {"itemIdentifier": "1001"}]}
    consumer.close(0)
