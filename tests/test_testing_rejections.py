"""The documented rejections of the local endpoint: reserved keys, action-interaction event types,
the limits that apply with metadataColumns, type errors, strict JSON, and empty Put* answers.

Each runs in process and over HTTP; bodies the clients would not send are put on the wire with a
``before-sign`` hook, so the request is still signed as a client signs it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from personalize_tracker.testing import (
    PersonalizeEventsMock,
    mock_personalize_events,
    serve_personalize_events,
)
from personalize_tracker.testing._operations import (
    ACTION_INTERACTION_EVENT_TYPES,
    RESERVED_PROPERTY_KEYS,
)

CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"}, parameter_validation=False)
CAMPAIGN = "arn:aws:personalize:us-east-1:123456789012:campaign/movies"
EVENT = {"eventType": "click", "sentAt": 1714564800, "itemId": "i1"}


class Endpoint:
    """The handle and a factory of unchecked boto3 clients, in process or over HTTP."""

    def __init__(self, handle: PersonalizeEventsMock) -> None:
        self.handle = handle

    def client(self, service: str) -> Any:
        extra: dict[str, Any] = {}
        if self.handle.endpoint_url is not None:
            extra = {
                "endpoint_url": self.handle.endpoint_url,
                "aws_access_key_id": "testing",
                "aws_secret_access_key": "testing",
            }
        return boto3.client(service, region_name="us-east-1", config=CONFIG, **extra)  # type: ignore[call-overload]


@pytest.fixture(params=["in_process", "server"])
def endpoint(request: pytest.FixtureRequest) -> Iterator[Endpoint]:
    context = mock_personalize_events if request.param == "in_process" else serve_personalize_events
    with context() as handle:
        yield Endpoint(handle)


def error(call: Any, **params: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as excinfo:
        call(**params)
    response = excinfo.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def raw(client: Any, body: bytes) -> None:
    """Make the client's next call carry ``body`` instead of its serialised parameters."""
    bodies = [body]

    def replace(request: Any, **_: Any) -> None:
        if bodies:
            request.data = bodies.pop()

    client.meta.events.register_first("before-sign", replace)


# ---------------------------------------------------------------------------- reserved keys


@pytest.mark.parametrize("key", ["userId", "SESSIONID", "EventType", "timestamp", "impression"])
def test_reserved_properties_keys_are_refused_in_any_case(endpoint: Endpoint, key: str) -> None:
    client = endpoint.client("personalize-events")
    properties = json.dumps({"numberOfRatings": "3", key: "x"})
    code, status, message = error(
        client.put_events,
        trackingId="t",
        sessionId="s",
        eventList=[EVENT, {**EVENT, "properties": properties}],
    )
    assert (code, status) == ("InvalidInputException", 400)
    assert f"eventList.1.properties: '{key}' is a reserved keyword" in message
    assert endpoint.handle.events == []


def test_reserved_keys_refused_in_action_interactions(endpoint: Endpoint) -> None:
    client = endpoint.client("personalize-events")
    interaction = {"actionId": "a", "sessionId": "s", "timestamp": 1714564800, "eventType": "Taken"}
    code, status, message = error(
        client.put_action_interactions,
        trackingId="t",
        actionInteractions=[{**interaction, "properties": '{"recommendationId": "r"}'}],
    )
    assert (code, status) == ("InvalidInputException", 400)
    assert "'recommendationId' is a reserved keyword" in message


def _documented_keys(shape: str) -> list[str]:
    model = botocore.session.get_session().get_service_model("personalize-events")
    doc = model.shape_for(shape).members["properties"].documentation
    listed = doc.split("(case insensitive)", 1)[1]
    return re.findall(r"<li>\s*<p>\s*(\w+)\s*</p>\s*</li>", listed)


def test_reserved_keys_are_those_the_model_documents() -> None:
    """Fails if botocore's member documentation changes the list."""
    assert _documented_keys("Event") == list(RESERVED_PROPERTY_KEYS)
    assert _documented_keys("ActionInteraction") == list(RESERVED_PROPERTY_KEYS)


def test_action_interaction_types_are_those_the_model_documents() -> None:
    model = botocore.session.get_session().get_service_model("personalize-events")
    doc = model.shape_for("ActionInteraction").members["eventType"].documentation
    assert re.findall(r"<code>([^<]+)</code>", doc) == list(ACTION_INTERACTION_EVENT_TYPES)


# ---------------------------------------------------------------------------- action interactions


def test_action_interaction_event_types(endpoint: Endpoint) -> None:
    client = endpoint.client("personalize-events")
    base = {"actionId": "a", "sessionId": "s", "timestamp": 1714564800}
    client.put_action_interactions(
        trackingId="t",
        actionInteractions=[
            {**base, "eventType": kind} for kind in ("Viewed", "Taken", "Not Taken")
        ],
    )
    code, status, message = error(
        client.put_action_interactions,
        trackingId="t",
        actionInteractions=[{**base, "eventType": "Taken"}, {**base, "eventType": "taken"}],
    )
    assert (code, status) == ("InvalidInputException", 400)
    assert (
        "actionInteractions.1.eventType: 'taken' is not one of Viewed, Taken, Not Taken" in message
    )


# ---------------------------------------------------------------------------- metadataColumns


def test_metadata_columns_limits(endpoint: Endpoint) -> None:
    runtime = endpoint.client("personalize-runtime")
    ten = {"ITEMS": [f"c{n}" for n in range(10)]}
    answer = runtime.get_recommendations(
        campaignArn=CAMPAIGN, userId="u", numResults=50, metadataColumns=ten
    )
    assert len(answer["itemList"]) == 50
    assert (
        len(
            runtime.get_recommendations(campaignArn=CAMPAIGN, userId="u", numResults=500)[
                "itemList"
            ]
        )
        == 500
    )
    for params, expected in [
        (
            {"numResults": 51, "metadataColumns": ten},
            "numResults must be less than or equal to 50 when metadataColumns",
        ),
        ({"numResults": 501}, "numResults must be less than or equal to 500."),
        (
            {"metadataColumns": {"ITEMS": [f"c{n}" for n in range(11)]}},
            "at most 10 columns, got 11",
        ),
        ({"metadataColumns": {"USERS": ["c"]}}, "the key must be 'ITEMS', not 'USERS'"),
    ]:
        code, status, message = error(
            runtime.get_recommendations, campaignArn=CAMPAIGN, userId="u", **params
        )
        assert (code, status) == ("InvalidInputException", 400)
        assert expected in message
    items = [f"p{n}" for n in range(51)]
    runtime.get_personalized_ranking(campaignArn=CAMPAIGN, userId="u", inputList=items)
    code, status, message = error(
        runtime.get_personalized_ranking,
        campaignArn=CAMPAIGN,
        userId="u",
        inputList=items,
        metadataColumns={"ITEMS": ["genre"]},
    )
    assert (code, status) == ("InvalidInputException", 400)
    assert "inputList's length must be less than or equal to 50" in message


# ---------------------------------------------------------------------------- type errors


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            {"eventType": "click", "sentAt": 1714564800, "eventValue": "4.5"},
            "eventValue: expected a number, got a JSON string",
        ),
        (
            {"eventType": "click", "sentAt": 1714564800, "eventValue": True},
            "expected a number, got a boolean",
        ),
        ({"eventType": "click", "sentAt": "2024-05-01T12:00:00Z"}, "sentAt: expected a timestamp"),
        ({"eventType": 7, "sentAt": 1714564800}, "eventType: expected a string"),
        ({"eventType": "click", "sentAt": 1714564800, "impression": "i1"}, "expected a JSON array"),
    ],
)
def test_wrong_types_are_serialization_errors(
    endpoint: Endpoint, event: dict[str, Any], expected: str
) -> None:
    client = endpoint.client("personalize-events")
    raw(client, json.dumps({"trackingId": "t", "sessionId": "s", "eventList": [event]}).encode())
    code, status, message = error(
        client.put_events, trackingId="t", sessionId="s", eventList=[EVENT]
    )
    assert (code, status) == ("SerializationException", 400)
    assert expected in message
    assert endpoint.handle.requests[-1].error_code == "SerializationException"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"campaignArn": "%s", "userId": "u", "numResults": 10.5}',
            "numResults: expected an integer",
        ),
        (
            b'{"campaignArn": "%s", "userId": "u", "numResults": 2147483648}',
            "out of range for an integer",
        ),
    ],
)
def test_integer_members_refuse_fractions_and_32_bit_overflow(
    endpoint: Endpoint, body: bytes, expected: str
) -> None:
    runtime = endpoint.client("personalize-runtime")
    raw(runtime, body % CAMPAIGN.encode())
    code, status, message = error(runtime.get_recommendations, campaignArn=CAMPAIGN, userId="u")
    assert (code, status) == ("SerializationException", 400)
    assert expected in message


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_event_values_as_clients_write_them_are_refused(
    endpoint: Endpoint, value: float
) -> None:
    """botocore writes a non-finite float as the string "NaN"/"Infinity"/"-Infinity" (the JSON
    protocols' encoding, not a type error); the fake refuses the value itself."""
    client = endpoint.client("personalize-events")
    code, status, message = error(
        client.put_events, trackingId="t", sessionId="s", eventList=[{**EVENT, "eventValue": value}]
    )
    assert (code, status) == ("InvalidInputException", 400)
    assert f"Member must be a finite number, not {json.dumps(value)}" in message


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_literals_are_malformed_json(endpoint: Endpoint, literal: bytes) -> None:
    client = endpoint.client("personalize-events")
    body = b'{"trackingId": "t", "sessionId": "s", "eventList": [{"eventType": "c", "sentAt": 1, '
    body += b'"eventValue": %s}]}'
    raw(client, body % literal)
    code, status, message = error(
        client.put_events, trackingId="t", sessionId="s", eventList=[EVENT]
    )
    assert (code, status) == ("SerializationException", 400)
    assert "not a JSON value" in message


def test_numbers_beyond_a_double_are_refused_and_recorded_as_standard_json(
    endpoint: Endpoint,
) -> None:
    client = endpoint.client("personalize-events")
    body = b'{"trackingId": "t", "sessionId": "s", "eventList": [{"eventType": "c", "sentAt": 1, '
    body += b'"eventValue": 1e400}]}'
    raw(client, body)
    code, status, message = error(
        client.put_events, trackingId="t", sessionId="s", eventList=[EVENT]
    )
    assert (code, status) == ("SerializationException", 400)
    assert "1e400, out of range for a double" in message
    (request,) = endpoint.handle.requests
    text = json.dumps(request.params, allow_nan=False)  # raises on a non-standard value
    assert '"eventValue": "1e400"' in text


def test_duplicate_keys_refused_in_bodies_and_properties(endpoint: Endpoint) -> None:
    client = endpoint.client("personalize-events")
    raw(client, b'{"trackingId": "t", "trackingId": "u", "sessionId": "s", "eventList": []}')
    code, status, message = error(
        client.put_events, trackingId="t", sessionId="s", eventList=[EVENT]
    )
    assert (code, status, message) == (
        "SerializationException",
        400,
        "Malformed JSON: duplicate key 'trackingId'",
    )
    for properties, reason in [
        ('{"a": "1", "a": "2"}', "duplicate key 'a'"),
        ('{"a": NaN}', "NaN is not a JSON value (RFC 8259 has no NaN or Infinity)"),
        ('["a"]', "not a JSON object"),
    ]:
        code, status, message = error(
            client.put_events,
            trackingId="t",
            sessionId="s",
            eventList=[{**EVENT, "properties": properties}],
        )
        assert (code, status) == ("InvalidInputException", 400)
        assert f"Member must be a JSON object string ({reason})" in message


# ---------------------------------------------------------------------------- answers


def test_put_successes_answer_an_empty_body(endpoint: Endpoint) -> None:
    client = endpoint.client("personalize-events")
    bodies: list[bytes] = []
    client.meta.events.register(
        "after-call", lambda http_response, **_: bodies.append(http_response.content)
    )
    client.put_events(trackingId="t", sessionId="s", eventList=[EVENT])
    client.put_items(
        datasetArn="arn:aws:personalize:us-east-1:1:dataset/g/ITEMS", items=[{"itemId": "i"}]
    )
    runtime = endpoint.client("personalize-runtime")
    runtime.meta.events.register(
        "after-call", lambda http_response, **_: bodies.append(http_response.content)
    )
    runtime.get_recommendations(campaignArn=CAMPAIGN, userId="u", numResults=1)
    assert bodies[:2] == [b"", b""]
    assert json.loads(bodies[2])["itemList"]
