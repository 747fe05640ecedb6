"""The lean path of PutItems, PutUsers, PutActions and PutActionInteractions: the same request
as the kind's boto3 transport has the client send, and the same classification of answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from lean_recording import Answer, RecordingServer, tracker_client

from personalize_tracker._delivery.lean import lean_kind
from personalize_tracker._delivery.putdatasets import (
    PutActionInteractionsTransport,
    PutDatasetTransport,
)
from personalize_tracker._errors import SendError
from personalize_tracker._record.catalog import Action, ActionInteraction, Item, User

ARN = "arn:aws:personalize:us-east-1:123456789012:dataset/shop/ITEMS"
PROPS = json.dumps({"genre": "Comédie|日本", "price": "12.5"}, ensure_ascii=False)
DIFFER = {"x-amz-date", "authorization", "amz-sdk-invocation-id", "user-agent"}

CASES: list[tuple[str, str, list[Any]]] = [
    ("items", ARN, [Item("i-1", PROPS), Item("i-2", None), Item("ü-😀", '{"a":"\\"q\\""}')]),
    ("users", ARN, [User("u-1", PROPS), User("u-2", None)]),
    ("actions", ARN, [Action("a-1", PROPS), Action("a-2", None)]),
    (
        "action_interactions",
        "tracking-1",
        [
            ActionInteraction("Viewed", "a-1", "s-1", 1_764_751_234.5678, "e-1"),
            ActionInteraction(
                "Not Taken",
                "a-2",
                "s-é",
                1_764_751_235,
                "e-2",
                user_id="u-1",
                recommendation_id="RID-1",
                impression=("a-2", "a-3"),
                properties='{"device":"mobile"}',
            ),
            ActionInteraction("Taken", "a-3", "s-1", 1_700_000_000.9999996, "e-3"),
        ],
    ),
]


@pytest.fixture
def recorder() -> Iterator[RecordingServer]:
    with RecordingServer() as server:
        yield server


def boto3_transport(client: Any, kind: str) -> Any:
    if kind == "action_interactions":
        return PutActionInteractionsTransport(client)
    return PutDatasetTransport(client, kind)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kind", "key", "records"), CASES, ids=[c[0] for c in CASES])
def test_the_lean_request_is_the_clients(
    recorder: RecordingServer, kind: str, key: str, records: list[Any]
) -> None:
    client = tracker_client(recorder.url)
    lean_kind(client, kind).send(key, records)
    boto3_transport(client, kind).send(key, records)
    lean, boto = recorder.received
    assert (lean.method, lean.path, lean.body) == (boto.method, boto.path, boto.body)
    same = {k: v for k, v in lean.headers.items() if k not in DIFFER}
    assert same == {k: v for k, v in boto.headers.items() if k not in DIFFER}
    assert set(lean.headers) == set(boto.headers)
    lean_scope = lean.headers["authorization"].split("Credential=")[1].split(",")[0]
    boto_scope = boto.headers["authorization"].split("Credential=")[1].split(",")[0]
    assert lean_scope.split("/")[2:] == boto_scope.split("/")[2:]


@pytest.mark.parametrize("kind", [c[0] for c in CASES])
@pytest.mark.parametrize(
    "answer",
    [
        Answer(400, (("x-amzn-ErrorType", "InvalidInputException"),), b'{"message":"bad"}'),
        Answer(503, (("Content-Type", "text/html"),), b"<html>down</html>"),
        Answer(reset=True),
    ],
    ids=["invalid", "html-503", "reset"],
)
def test_answers_classify_the_same(recorder: RecordingServer, kind: str, answer: Answer) -> None:
    key, records = next((c[1], c[2]) for c in CASES if c[0] == kind)
    client = tracker_client(recorder.url)
    outcomes = []
    for transport in (lean_kind(client, kind), boto3_transport(client, kind)):
        recorder.answers.append(answer)
        with pytest.raises(SendError) as caught:
            transport.send(key, records)
        e = caught.value
        outcomes.append((e.code, e.message, e.retryable, e.invalid, e.throttled, e.rejected))
    assert outcomes[0] == outcomes[1]
