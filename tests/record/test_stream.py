"""The stream record format (version 1): what a producer writes, and what a consumer refuses."""

from __future__ import annotations

import json

import pytest

from personalize_tracker import Event
from personalize_tracker._record.stream import (
    FORMAT_VERSION,
    StreamRecordError,
    decode_record,
    encode_record,
)


def event(**overrides: object) -> Event:
    fields: dict[str, object] = {
        "user_id": "u-1",
        "item_id": "i-1",
        "event_value": 4.5,
        "properties": {"device": "phone"},
        "sent_at": 1_700_000_000.123,
        "event_id": "e-1",
        "impression": ["i-1", "i-2"],
    }
    fields.update(overrides)
    return Event.create("rating", "s-1", **fields)  # type: ignore[arg-type]


def test_a_record_is_versioned_json_with_the_put_events_event() -> None:
    data = json.loads(encode_record(event()))
    assert data == {
        "v": FORMAT_VERSION,
        "sessionId": "s-1",
        "userId": "u-1",
        "event": event().to_put_events(),
    }
    assert data["event"]["sentAt"] == 1_700_000_000.123


def test_an_anonymous_event_has_no_user_id() -> None:
    assert "userId" not in json.loads(encode_record(event(user_id=None)))


@pytest.mark.parametrize(
    "original",
    [event(), event(user_id=None, properties=None, impression=None), event(item_id="ü-€")],
)
def test_a_record_reads_back_as_the_same_event(original: Event) -> None:
    assert decode_record(encode_record(original)) == original


@pytest.mark.parametrize(
    ("data", "reason", "words"),
    [
        (b"\xff\xfe", "malformed", "not UTF-8 JSON"),
        (b"{not json", "malformed", "not UTF-8 JSON"),
        (b"[1, 2]", "malformed", "not an object"),
        (b'{"sessionId": "s"}', "unknown_version", "format version None"),
        (b'{"v": 2, "event": {}}', "unknown_version", "format version 2"),
        (b'{"v": true, "event": {}}', "unknown_version", "format version True"),
        (b'{"v": 1, "sessionId": "s"}', "malformed", "'event' is missing"),
        (b'{"v": 1, "sessionId": "s", "event": {"eventType": "x"}}', "malformed", "no 'sentAt'"),
    ],
)
def test_an_unreadable_record_is_refused_with_a_reason(
    data: bytes, reason: str, words: str
) -> None:
    with pytest.raises(StreamRecordError) as caught:
        decode_record(data)
    assert caught.value.reason == reason
    assert words in caught.value.message


def test_an_event_that_breaks_a_put_events_rule_is_invalid_naming_the_field() -> None:
    record = json.loads(encode_record(event()))
    record["event"]["impression"] = [f"i-{n}" for n in range(26)]
    with pytest.raises(StreamRecordError) as caught:
        decode_record(json.dumps(record).encode())
    assert caught.value.reason == "invalid"
    assert "impression" in caught.value.message


def test_a_record_without_a_session_is_invalid() -> None:
    record = json.loads(encode_record(event()))
    del record["sessionId"]
    with pytest.raises(StreamRecordError) as caught:
        decode_record(json.dumps(record).encode())
    assert caught.value.reason == "invalid"
    assert "session_id" in caught.value.message
