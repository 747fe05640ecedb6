"""One table of calls to the local endpoint, run by boto3, the AWS CLI and the AWS SDK for
JavaScript v3 (``test_conformance_*.py``): valid calls, every limit of the service model at and
past its bound, the documented rejections, and strict resources.

Each case says what the endpoint must answer (HTTP status and error code) and is checked against
what the endpoint recorded: the body it received, decoded, must equal the case's parameters
(numbers compared as floats: clients write ``1714564800`` or ``1714564800.0``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

CAMPAIGN = "arn:aws:personalize:us-east-1:123456789012:campaign/movies"
RECOMMENDER = "arn:aws:personalize:us-east-1:123456789012:recommender/picks"
DATASET = "arn:aws:personalize:us-east-1:123456789012:dataset/shop/ITEMS"
SENT_AT = 1714564800
#: Replaced by the tracking id of an event tracker the runner creates, in strict cases.
KNOWN_TRACKER = "{known-tracking-id}"

CLIENTS = ("boto3", "awscli", "js")


@dataclass(frozen=True)
class Case:
    """One call: ``operation`` of ``service`` with ``params``, and the answer expected.

    ``code`` is ``None`` for a success. ``strict`` runs it with ``strict_resources`` on.
    ``clients`` lists the clients that can send it (some refuse a value before sending).
    """

    name: str
    service: str
    operation: str
    params: dict[str, Any]
    status: int = 200
    code: str | None = None
    strict: bool = False
    clients: tuple[str, ...] = CLIENTS
    events: int | None = field(default=None)  # events recorded, for a PutEvents success
    #: A body no client would write (wrong types, NaN...), sent as is by the boto3 runner.
    raw: bytes | None = None
    #: What the endpoint must record as the body, when it is not ``params``.
    recorded: dict[str, Any] | None = None


def _properties(length: int) -> str:
    """A JSON object string of exactly ``length`` characters."""
    return '{"a": "' + "x" * (length - 9) + '"}'


def _event(**overrides: Any) -> dict[str, Any]:
    return {"eventType": "click", "sentAt": SENT_AT, "itemId": "i-1", **overrides}


def _put_events(name: str, status: int = 200, code: str | None = None, **params: Any) -> Case:
    body = {"trackingId": "t-1", "sessionId": "s-1", "userId": "u-1", "eventList": [_event()]}
    body.update(params)
    events = len(body["eventList"]) if status == 200 else None
    return Case(name, "personalize-events", "PutEvents", body, status, code, events=events)


BAD = ("InvalidInputException", 400)


def _bad(case: Case) -> Case:
    return Case(
        case.name, case.service, case.operation, case.params, 400, "InvalidInputException",
        case.strict, case.clients,
    )  # fmt: skip


def _limit_cases() -> list[Case]:
    """Each string and list bound of PutEvents at and one past it."""
    cases: list[Case] = []
    for member, bound in [("trackingId", 256), ("sessionId", 256), ("userId", 256)]:
        cases.append(_put_events(f"PutEvents {member} {bound}", **{member: "x" * bound}))
        cases.append(
            _bad(_put_events(f"PutEvents {member} {bound + 1}", **{member: "x" * (bound + 1)}))
        )
    for member, bound in [
        ("eventType", 256), ("eventId", 256), ("itemId", 256), ("recommendationId", 40),
    ]:  # fmt: skip
        cases.append(
            _put_events(f"event {member} {bound}", eventList=[_event(**{member: "e" * bound})])
        )
        cases.append(
            _bad(
                _put_events(
                    f"event {member} {bound + 1}", eventList=[_event(**{member: "e" * (bound + 1)})]
                )
            )
        )
    cases.append(_put_events("properties 1024", eventList=[_event(properties=_properties(1024))]))
    cases.append(
        _bad(_put_events("properties 1025", eventList=[_event(properties=_properties(1025))]))
    )
    items = [f"i-{n}" for n in range(26)]
    cases.append(_put_events("impression 25", eventList=[_event(impression=items[:25])]))
    cases.append(_bad(_put_events("impression 26", eventList=[_event(impression=items)])))
    cases.append(_put_events("10 events", eventList=[_event(eventId=f"e{n}") for n in range(10)]))
    cases.append(
        _bad(_put_events("11 events", eventList=[_event(eventId=f"e{n}") for n in range(11)]))
    )
    return cases


def _documented_cases() -> list[Case]:
    cases = [
        _bad(_put_events("reserved key userId", eventList=[_event(properties='{"userId": "u"}')])),
        _bad(_put_events("reserved key IMPRESSION", eventList=[_event(properties='{"IMPRESSION": "i"}')])),
        _bad(_put_events("properties duplicate key", eventList=[_event(properties='{"a": "1", "a": "2"}')])),
        _bad(_put_events("properties not an object", eventList=[_event(properties='["a"]')])),
        _bad(_put_events("metric attribution blank", eventList=[_event(metricAttribution={"eventAttributionSource": " "})])),
    ]  # fmt: skip
    interaction = {"actionId": "a-1", "sessionId": "s-1", "timestamp": SENT_AT}
    for kind in ("Viewed", "Taken", "Not Taken"):
        cases.append(
            Case(f"PutActionInteractions {kind}", "personalize-events", "PutActionInteractions",
                 {"trackingId": "t-1", "actionInteractions": [{**interaction, "eventType": kind}]})
        )  # fmt: skip
    for kind, properties in [("Clicked", None), ("Taken", '{"sessionId": "s"}')]:
        member = {**interaction, "eventType": kind}
        if properties:
            member["properties"] = properties
        cases.append(
            Case(f"PutActionInteractions {kind} {properties or ''}".strip(), "personalize-events",
                 "PutActionInteractions", {"trackingId": "t-1", "actionInteractions": [member]},
                 *BAD[::-1])
        )  # fmt: skip
    for operation, member, key, bound in [
        ("PutUsers", "users", "userId", 24000),
        ("PutItems", "items", "itemId", 32000),
        ("PutActions", "actions", "actionId", 32000),
    ]:
        record = {key: "r-1", "properties": _properties(bound)}
        too_long = {key: "r-1", "properties": _properties(bound + 1)}
        many = [{key: f"r-{n}"} for n in range(11)]
        service = "personalize-events"
        cases += [
            Case(f"{operation} properties {bound}", service, operation, {"datasetArn": DATASET, member: [record]}),
            Case(f"{operation} properties {bound + 1}", service, operation, {"datasetArn": DATASET, member: [too_long]}, *BAD[::-1]),
            Case(f"{operation} 10", service, operation, {"datasetArn": DATASET, member: many[:10]}),
            Case(f"{operation} 11", service, operation, {"datasetArn": DATASET, member: many}, *BAD[::-1]),
        ]  # fmt: skip
    return cases


def _runtime_cases() -> list[Case]:
    runtime = "personalize-runtime"
    ten = {"ITEMS": [f"c{n}" for n in range(10)]}
    eleven = {"ITEMS": [f"c{n}" for n in range(11)]}
    get = {"campaignArn": CAMPAIGN, "userId": "u-1"}
    ranked = [f"i-{n}" for n in range(501)]
    return [
        Case("GetRecommendations 500", runtime, "GetRecommendations", {**get, "numResults": 500}),
        Case("GetRecommendations 501", runtime, "GetRecommendations", {**get, "numResults": 501}, *BAD[::-1]),
        Case("GetRecommendations 50 with metadata", runtime, "GetRecommendations", {**get, "numResults": 50, "metadataColumns": ten}),
        Case("GetRecommendations 51 with metadata", runtime, "GetRecommendations", {**get, "numResults": 51, "metadataColumns": ten}, *BAD[::-1]),
        Case("GetRecommendations 11 columns", runtime, "GetRecommendations", {**get, "metadataColumns": eleven}, *BAD[::-1]),
        Case("GetRecommendations key USERS", runtime, "GetRecommendations", {**get, "metadataColumns": {"USERS": ["c"]}}, *BAD[::-1]),
        Case("GetRecommendations recommender", runtime, "GetRecommendations", {"recommenderArn": RECOMMENDER, "itemId": "i-1"}),
        Case("GetRecommendations campaign and recommender", runtime, "GetRecommendations", {**get, "recommenderArn": RECOMMENDER}, *BAD[::-1]),
        Case("GetRecommendations no user or item", runtime, "GetRecommendations", {"campaignArn": CAMPAIGN}, *BAD[::-1]),
        Case("GetPersonalizedRanking 500", runtime, "GetPersonalizedRanking", {**get, "inputList": ranked[:500]}),
        Case("GetPersonalizedRanking 501", runtime, "GetPersonalizedRanking", {**get, "inputList": ranked}, *BAD[::-1]),
        Case("GetPersonalizedRanking 50 with metadata", runtime, "GetPersonalizedRanking", {**get, "inputList": ranked[:50], "metadataColumns": ten}),
        Case("GetPersonalizedRanking 51 with metadata", runtime, "GetPersonalizedRanking", {**get, "inputList": ranked[:51], "metadataColumns": ten}, *BAD[::-1]),
    ]  # fmt: skip


def _non_finite_cases() -> list[Case]:
    """botocore writes a non-finite float as "NaN"/"Infinity" (the JSON protocols' encoding)."""
    cases = []
    for value, text in [(float("nan"), "NaN"), (float("inf"), "Infinity")]:
        case = _put_events(f"eventValue {text}", eventList=[_event(eventValue=value)])
        recorded = {**case.params, "eventList": [_event(eventValue=text)]}
        cases.append(Case(case.name, case.service, case.operation, case.params, 400,
                          "InvalidInputException", clients=("boto3",), recorded=recorded))  # fmt: skip
    return cases


def _strict_cases() -> list[Case]:
    known = _put_events("strict known tracker", trackingId=KNOWN_TRACKER)
    unknown = _put_events("strict unknown tracker", 404, "ResourceNotFoundException")
    return [
        Case(known.name, known.service, known.operation, known.params, strict=True, events=1),
        Case(unknown.name, unknown.service, unknown.operation, unknown.params, 404,
             "ResourceNotFoundException", strict=True),
        Case("strict unknown campaign", "personalize-runtime", "GetRecommendations",
             {"campaignArn": CAMPAIGN, "userId": "u-1"}, 404, "ResourceNotFoundException",
             strict=True),
    ]  # fmt: skip


def _keep_big(text: str) -> float | str:
    value = float(text)
    return value if math.isfinite(value) else text


def _raw(name: str, body: bytes, code: str = "SerializationException", **kw: Any) -> Case:
    """A PutEvents (or other) call whose body is ``body`` exactly; only boto3 sends it."""
    service = kw.pop("service", "personalize-events")
    operation = kw.pop("operation", "PutEvents")
    try:
        # As the endpoint keeps it: a number beyond a double as its text.
        recorded = json.loads(body, parse_float=_keep_big)
        decodable = isinstance(recorded, dict) and body.count(b'"trackingId"') <= 1
    except ValueError:
        decodable = False
    return Case(name, service, operation, {}, 400, code, clients=("boto3",), raw=body,
                recorded=recorded if decodable and b"NaN" not in body and b"Infinity" not in body else {},
                **kw)  # fmt: skip


_HEAD = b'{"trackingId": "t-1", "sessionId": "s-1", "eventList": [{"eventType": "click", "sentAt": '
_RECS = b'{"campaignArn": "' + CAMPAIGN.encode() + b'", "userId": "u-1", "numResults": '


def _raw_cases() -> list[Case]:
    return [
        _raw("eventValue a string", _HEAD + b'1714564800, "eventValue": "4.5"}]}'),
        _raw("eventValue a boolean", _HEAD + b'1714564800, "eventValue": true}]}'),
        _raw("sentAt an ISO string", _HEAD + b'"2024-05-01T12:00:00Z"}]}'),
        _raw("eventType a number", b'{"trackingId": "t-1", "sessionId": "s-1", "eventList": [{"eventType": 7, "sentAt": 1}]}'),
        _raw("impression a string", _HEAD + b'1714564800, "impression": "i-1"}]}'),
        _raw("eventList an object", b'{"trackingId": "t-1", "sessionId": "s-1", "eventList": {}}'),
        _raw("eventValue NaN", _HEAD + b'1714564800, "eventValue": NaN}]}'),
        _raw("eventValue Infinity", _HEAD + b'1714564800, "eventValue": Infinity}]}'),
        _raw("eventValue 1e400", _HEAD + b'1714564800, "eventValue": 1e400}]}'),
        _raw("duplicate key", b'{"trackingId": "t-1", "trackingId": "t-2", "sessionId": "s", "eventList": []}'),
        _raw("malformed JSON", b'{"trackingId": '),
        _raw("body an array", b"[]"),
        _raw("numResults a fraction", _RECS + b"10.5}", service="personalize-runtime", operation="GetRecommendations"),
        _raw("numResults past 32 bits", _RECS + b"2147483648}", service="personalize-runtime", operation="GetRecommendations"),
    ]  # fmt: skip


CASES: list[Case] = [
    _put_events("PutEvents minimal", eventList=[{"eventType": "click", "sentAt": SENT_AT}]),
    _put_events(
        "PutEvents every member",
        eventList=[
            _event(
                eventId="e-1",
                eventValue=4.5,
                properties='{"numberOfRatings": "12", "device": "mobile"}',
                recommendationId="RID-1",
                impression=["i-1", "i-2"],
                metricAttribution={"eventAttributionSource": "email campaign"},
            )
        ],
    ),
    *_limit_cases(),
    *_documented_cases(),
    *_runtime_cases(),
    *_strict_cases(),
    *_non_finite_cases(),
    *_raw_cases(),
]


def normalized(value: Any) -> Any:
    """``value`` with every number as a float (bools kept), for comparing recorded bodies."""
    if isinstance(value, dict):
        return {key: normalized(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalized(item) for item in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


def with_tracker(params: dict[str, Any], tracking_id: str) -> dict[str, Any]:
    """``params`` with :data:`KNOWN_TRACKER` replaced by ``tracking_id``."""
    if params.get("trackingId") == KNOWN_TRACKER:
        return {**params, "trackingId": tracking_id}
    return params
