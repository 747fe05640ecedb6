"""Proof of equivalence: the lean PutEvents request is the one botocore's client sends for the
same batch, and its answers classify the same.

Both transports send to the same recording server, so both requests are compared as they
arrived: method, path, body bytes and every header but these, which differ by design:

- ``x-amz-date``: the moment of signing;
- ``authorization``: its signature covers that moment (its ``Credential`` scope and
  ``SignedHeaders`` are compared, and the lean signature is verified with botocore's signer);
- ``amz-sdk-invocation-id``: a random id drawn per call (the lean one is checked to be a UUID);
- ``user-agent``: botocore's carries the feature ids of the call that built it
  (``m/...``, in no fixed order); the lean one is the client's from its dry run.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from lean_recording import CREDENTIALS, Answer, Received, RecordingServer, tracker_client

from personalize_tracker import Event
from personalize_tracker._delivery.lean import lean_put_events
from personalize_tracker._delivery.putevents import PutEventsTransport
from personalize_tracker._errors import SendError
from personalize_tracker._record.shared import GroupKey

NOW = 1_764_751_234.5678


@pytest.fixture
def recorder() -> Iterator[RecordingServer]:
    with RecordingServer() as server:
        yield server


DIFFER = {"x-amz-date", "authorization", "amz-sdk-invocation-id", "user-agent"}


def event(n: int, **fields: Any) -> Event:
    values: dict[str, Any] = {
        "event_type": "click",
        "session_id": "s-1",
        "sent_at": NOW + n / 1000,
        "event_id": f"e-{n}",
    }
    values.update(fields)
    return Event(**values)


# (name, group key, events): every field, unicode, ms timestamps, impressions, attribution,
# anonymous sessions, numbers botocore writes its own way.
BATCHES: list[tuple[str, GroupKey, list[Event]]] = [
    ("one event", ("u-1", "s-1"), [event(0)]),
    ("ten events", ("u-1", "s-1"), [event(n, item_id=f"i-{n}") for n in range(10)]),
    ("anonymous session", (None, "s-anon"), [event(0, session_id="s-anon", item_id="i")]),
    (
        "every field",
        ("u-2", "s-1"),
        [
            event(
                1,
                user_id="u-2",
                item_id="item-9",
                event_value=4.5,
                properties='{"numberOfRatings":"12","device":"mobile"}',
                recommendation_id="RID-123",
                impression=("item-9", "item-3", "item-7"),
                metric_attribution_source="email-campaign",
            )
        ],
    ),
    (
        "unicode",
        ("usér-ü", "séssion-日本"),
        [
            event(
                2,
                event_type="vue",
                item_id="article-ß-😀",
                properties=json.dumps(
                    {"title": "Café ☕ — ½", "tag": "日本語"}, ensure_ascii=False
                ),
                impression=("é", "😀", "中"),
            )
        ],
    ),
    (
        "timestamps",
        ("u-3", "s-1"),
        [
            event(0, sent_at=1_700_000_000),  # an int: botocore writes 1700000000.0
            event(1, sent_at=1_700_000_000.9999996),  # rounds up to the next second
            event(2, sent_at=1_700_000_000.0005),  # half a millisecond: cut, not rounded
            event(3, sent_at=1_234_567_890.123456),
            event(4, sent_at=86_400.001),
        ],
    ),
    (
        "event values",
        ("u-4", "s-1"),
        [
            event(0, event_value=0.1),
            event(1, event_value=1e-7),
            event(2, event_value=123456789.123456789),
            event(3, event_value=3),
            event(4, event_value=float("nan")),
            event(5, event_value=math.inf),
            event(6, event_value=-math.inf),
            event(7, event_value=-0.0),
        ],
    ),
    (
        "escapes",
        ('u-"quoted"', "s-\\back"),
        [event(0, item_id="tab\there\nnewline\u0000nul\u2028", properties='{"q":"\\"x\\""}')],
    ),
]


def send_both(
    server: RecordingServer, key: GroupKey, records: list[Event]
) -> tuple[Received, Received]:
    client = tracker_client(server.url)
    lean = lean_put_events(client, "tracking-1")
    assert lean.http_path == "exchange"  # the one-write exchange, not urlopen (no proxy)
    lean.send(key, records)
    PutEventsTransport(client, "tracking-1").send(key, records)
    lean, boto = server.received[-2:]
    return lean, boto


def authorization(received: Received) -> dict[str, str]:
    scheme, _, rest = received.headers["authorization"].partition(" ")
    assert scheme == "AWS4-HMAC-SHA256"
    return dict(part.strip().split("=", 1) for part in rest.split(","))


@pytest.mark.parametrize(("name", "key", "records"), BATCHES, ids=[b[0] for b in BATCHES])
def test_the_lean_request_is_the_clients(
    recorder: RecordingServer, name: str, key: GroupKey, records: list[Event]
) -> None:
    lean, boto = send_both(recorder, key, records)
    assert (lean.method, lean.path) == (boto.method, boto.path) == ("POST", "/events")
    assert lean.body == boto.body
    same = {k: v for k, v in lean.headers.items() if k not in DIFFER}
    assert same == {k: v for k, v in boto.headers.items() if k not in DIFFER}
    assert set(lean.headers) == set(boto.headers)
    lean_auth, boto_auth = authorization(lean), authorization(boto)
    assert lean_auth["SignedHeaders"] == boto_auth["SignedHeaders"]
    # the scope: key id / date / region / service
    assert lean_auth["Credential"].split("/")[2:] == boto_auth["Credential"].split("/")[2:]
    assert lean_auth["Credential"].split("/")[2:4] == ["us-east-1", "personalize"]
    uuid.UUID(lean.headers["amz-sdk-invocation-id"])
    assert "personalize-tracker" in lean.headers["user-agent"]
    assert "Botocore/" in lean.headers["user-agent"]


def resign(received: Received, url: str) -> str:
    """The signature botocore's SigV4 signer computes for the request as received, at the date
    it carries (``X-Amz-Date``), over the headers it says it signed."""
    signed = authorization(received)["SignedHeaders"].split(";")
    request = AWSRequest(
        method=received.method,
        url=url + received.path,
        headers={k: v for k, v in received.headers.items() if k in signed and k != "host"},
        data=received.body,
    )
    request.context["timestamp"] = received.headers["x-amz-date"]
    auth = SigV4Auth(
        Credentials(CREDENTIALS["aws_access_key_id"], CREDENTIALS["aws_secret_access_key"]),
        "personalize",
        "us-east-1",
    )
    canonical = auth.canonical_request(request)
    return str(auth.signature(auth.string_to_sign(request, canonical), request))


@pytest.mark.parametrize(("name", "key", "records"), BATCHES[:5], ids=[b[0] for b in BATCHES[:5]])
def test_the_lean_signature_verifies_with_botocores_signer(
    recorder: RecordingServer, name: str, key: GroupKey, records: list[Event]
) -> None:
    lean, boto = send_both(recorder, key, records)
    assert resign(lean, recorder.url) == authorization(lean)["Signature"]
    assert resign(boto, recorder.url) == authorization(boto)["Signature"]  # the check checks
    tampered = Received(lean.method, lean.path, lean.headers, lean.body + b" ")
    assert resign(tampered, recorder.url) != authorization(lean)["Signature"]


def test_temporary_credentials_send_their_token_signed(recorder: RecordingServer) -> None:
    client = tracker_client(recorder.url, token="FwoGZXIvYXdzEBYaDH+token/=")
    records = [event(0)]
    lean_put_events(client, "t").send(("u", "s-1"), records)
    PutEventsTransport(client, "t").send(("u", "s-1"), records)
    lean, boto = recorder.received
    assert lean.headers["x-amz-security-token"] == boto.headers["x-amz-security-token"]
    assert "x-amz-security-token" in authorization(lean)["SignedHeaders"].split(";")
    assert authorization(lean)["SignedHeaders"] == authorization(boto)["SignedHeaders"]


def outcome(transport: Any, key: GroupKey, records: list[Event]) -> tuple[Any, ...]:
    with pytest.raises(SendError) as caught:
        transport.send(key, records)
    error = caught.value
    return (
        error.code,
        error.message,
        error.retryable,
        error.invalid,
        error.throttled,
        error.rejected,
    )


HTML_502 = b"<html><body><b>Http/1.1 Bad Gateway</b></body></html>"
ANSWERS = [
    ("html 502 from a proxy", Answer(502, (("Content-Type", "text/html"),), HTML_502)),
    ("empty 503", Answer(503, (), b"")),
    ("html 504 with spaces", Answer(504, (("Content-Type", "text/html"),), b"  \n" + HTML_502)),
    ("text 500", Answer(500, (("Content-Type", "text/plain"),), b"upstream failed")),
    (
        "code in the body only",
        Answer(400, (), b'{"__type":"com.amazon#ThrottlingException","message":"slow down"}'),
    ),
    (
        "code in the header, Message capitalised",
        Answer(
            400,
            (("x-amzn-ErrorType", "InvalidInputException:http://internal"),),
            b'{"Message":"sentAt is too old"}',
        ),
    ),
    ("413 not json", Answer(413, (("Content-Type", "text/html"),), b"<h1>Too large</h1>")),
    ("429 no body", Answer(429, (), b"")),
    ("a reset", Answer(reset=True)),
]


@pytest.mark.parametrize(("name", "answer"), ANSWERS, ids=[a[0] for a in ANSWERS])
def test_answers_classify_the_same(recorder: RecordingServer, name: str, answer: Answer) -> None:
    client = tracker_client(recorder.url)
    records = [event(0)]
    recorder.answers.append(answer)
    lean = outcome(lean_put_events(client, "t"), ("u", "s-1"), records)
    recorder.answers.append(answer)
    boto = outcome(PutEventsTransport(client, "t"), ("u", "s-1"), records)
    assert lean == boto


def test_a_refused_connection_classifies_the_same() -> None:
    client = tracker_client("http://127.0.0.1:9")  # the discard port: nothing listens
    lean = outcome(lean_put_events(client, "t"), ("u", "s-1"), [event(0)])
    boto = outcome(PutEventsTransport(client, "t"), ("u", "s-1"), [event(0)])
    assert lean == boto
    assert lean[0] == "EndpointConnectionError"
    assert lean[2]  # retryable


def test_a_record_that_cannot_be_written_is_invalid_through_both(recorder: RecordingServer) -> None:
    client = tracker_client(recorder.url)
    records = [event(0, sent_at=1e300)]
    lean = outcome(lean_put_events(client, "t"), ("u", "s-1"), records)
    boto = outcome(PutEventsTransport(client, "t"), ("u", "s-1"), records)
    assert lean[0] == boto[0] == "ValueError"
    assert lean[3]  # invalid: split until it stands alone
    assert boto[3]
    assert recorder.received == []
