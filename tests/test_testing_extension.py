"""Tests of personalize_tracker.testing, the moto extension faking PutEvents & the runtime API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import boto3
import botocore.handlers
import moto.backend_index
import moto.personalize.urls
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from personalize_tracker.testing import (
    PersonalizeEventsMock,
    RecordedEvent,
    mock_personalize_events,
    pytest_plugin,
    serve_personalize_events,
)

# The fixtures personalize_events and personalize_events_server come from the pytest11 entry point
# (pyproject.toml), registered when the package is installed (pip install -e '.[dev]').

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})
NO_CLIENT_CHECKS = Config(retries={"total_max_attempts": 1}, parameter_validation=False)
CAMPAIGN = "arn:aws:personalize:us-east-1:123456789012:campaign/movies"
SCHEMA = (
    '{"type": "record", "name": "Interactions", "namespace": "com.amazonaws.personalize.schema",'
    ' "fields": [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},'
    ' {"name": "TIMESTAMP", "type": "long"}], "version": "1.0"}'
)

ClientFactory = Callable[..., Any]


def event(**overrides: Any) -> Any:
    base: dict[str, Any] = {"eventType": "click", "sentAt": 1714564800, "itemId": "i1"}
    base.update(overrides)
    return base


@pytest.fixture(params=["in_process", "server"])
def fake(request: pytest.FixtureRequest) -> Iterator[tuple[PersonalizeEventsMock, ClientFactory]]:
    """The handle and a client factory, once in process and once over HTTP."""
    if request.param == "in_process":
        with mock_personalize_events() as handle:

            def make(service: str, region: str = "us-east-1", config: Config = NO_RETRY) -> Any:
                return boto3.client(service, region_name=region, config=config)  # type: ignore[call-overload]

            yield handle, make
    else:
        with serve_personalize_events() as handle:

            def make(service: str, region: str = "us-east-1", config: Config = NO_RETRY) -> Any:
                return boto3.client(  # type: ignore[call-overload]
                    service,
                    region_name=region,
                    config=config,
                    endpoint_url=handle.endpoint_url,
                    aws_access_key_id="testing",
                    aws_secret_access_key="testing",
                )

            yield handle, make


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = excinfo.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


# ---------------------------------------------------------------------------- PutEvents


def test_put_events_accepted_and_recorded(
    fake: tuple[PersonalizeEventsMock, ClientFactory],
) -> None:
    handle, make = fake
    client = make("personalize-events", region="eu-west-1")
    answer = client.put_events(
        trackingId="tracker-1",
        userId="u1",
        sessionId="s1",
        eventList=[
            event(eventId="e1", eventValue=4.5, properties='{"numberOfRatings": "3"}'),
            event(
                eventId="e2",
                eventType="watch",
                impression=["i1", "i2"],
                recommendationId="RID-1",
                metricAttribution={"eventAttributionSource": "email campaign"},
            ),
        ],
    )
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert answer["ResponseMetadata"]["RequestId"]
    assert handle.events == [
        RecordedEvent(
            tracking_id="tracker-1",
            session_id="s1",
            user_id="u1",
            event_type="click",
            sent_at=1714564800.0,
            event_id="e1",
            item_id="i1",
            event_value=4.5,
            properties='{"numberOfRatings": "3"}',
        ),
        RecordedEvent(
            tracking_id="tracker-1",
            session_id="s1",
            user_id="u1",
            event_type="watch",
            sent_at=1714564800.0,
            event_id="e2",
            item_id="i1",
            recommendation_id="RID-1",
            impression=("i1", "i2"),
            metric_attribution_source="email campaign",
        ),
    ]
    (request,) = handle.requests
    assert request.operation == "PutEvents"
    assert request.status == 200
    assert request.error_code is None
    assert request.region == "eu-west-1"
    assert request.params["trackingId"] == "tracker-1"
    assert request.params["eventList"][1]["impression"] == ["i1", "i2"]


def test_records_are_snapshots(personalize_events: PersonalizeEventsMock) -> None:
    client = boto3.client("personalize-events", region_name="us-east-1", config=NO_RETRY)
    before = personalize_events.events
    client.put_events(trackingId="t", sessionId="s", eventList=[event()])
    assert before == []
    assert len(personalize_events.events) == 1
    personalize_events.events.clear()
    assert len(personalize_events.events) == 1


def test_sent_at_milliseconds_preserved(fake: tuple[PersonalizeEventsMock, ClientFactory]) -> None:
    handle, _ = fake
    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    # botocore 1.40.76-1.43 sends whole seconds unless this handler is registered; 1.44 has no
    # such handler and keeps the fraction by default.
    handler = getattr(botocore.handlers, "enable_millisecond_timestamp_precision", None)
    if handler is not None:
        session.events.register("creating-serializer.personalize-events", handler)
    client = session.client("personalize-events", endpoint_url=handle.endpoint_url, config=NO_RETRY)
    sent = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=timezone.utc)
    client.put_events(trackingId="t", sessionId="s", eventList=[event(sentAt=sent), event()])
    assert [e.sent_at for e in handle.events] == [1714564800.123, 1714564800.0]
    assert handle.requests[0].params["eventList"][0]["sentAt"] == 1714564800.123


def test_wait_for_events_with_concurrent_server_calls(
    personalize_events_server: PersonalizeEventsMock,
) -> None:
    handle = personalize_events_server
    assert handle.endpoint_url is not None
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", handle.endpoint_url)
    client = boto3.client(
        "personalize-events",
        region_name="us-west-2",
        endpoint_url=handle.endpoint_url,
        aws_access_key_id="a",
        aws_secret_access_key="b",
        config=NO_RETRY,
    )

    def send(n: int) -> None:
        client.put_events(trackingId="t", sessionId=f"s{n}", eventList=[event()] * 10)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    assert handle.wait_for_events(80, timeout=10)
    for thread in threads:
        thread.join()
    assert len(handle.requests) == 8
    assert {e.session_id for e in handle.events} == {f"s{n}" for n in range(8)}
    assert {r.region for r in handle.requests} == {"us-west-2"}
    assert not handle.wait_for_events(81, timeout=0)


# ---------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("call", "field"),
    [
        ({"eventList": [event()] * 11}, "'eventList'"),
        ({"eventList": [event(impression=[f"i{n}" for n in range(26)])]}, "impression"),
        ({"eventList": [event(properties='{"k": "' + "v" * 1020 + '"}')]}, "properties"),
        ({"eventList": [event(properties="not json")]}, "properties"),
        ({"eventList": [event(properties="[1, 2]")]}, "properties"),
        ({"eventList": [event(recommendationId="R" * 41)]}, "recommendationId"),
        ({"eventList": [event(eventType="x" * 257)]}, "eventType"),
        ({"eventList": [event(itemId="x" * 257)]}, "itemId"),
        ({"eventList": [event(eventId="x" * 257)]}, "eventId"),
        ({"trackingId": "x" * 257}, "'trackingId'"),
        ({"sessionId": "x" * 257}, "'sessionId'"),
        ({"userId": "x" * 257}, "'userId'"),
        (
            {"eventList": [event(metricAttribution={"eventAttributionSource": "tab\there"})]},
            "eventAttributionSource",
        ),
        (
            {"eventList": [event(metricAttribution={"eventAttributionSource": "x" * 1025})]},
            "eventAttributionSource",
        ),
    ],
)
def test_put_events_limits_rejected(
    fake: tuple[PersonalizeEventsMock, ClientFactory], call: dict[str, Any], field: str
) -> None:
    handle, make = fake
    client = make("personalize-events")
    params: dict[str, Any] = {"trackingId": "t", "sessionId": "s", "eventList": [event()]}
    params.update(call)
    with pytest.raises(ClientError) as excinfo:
        client.put_events(**params)
    code, status, message = error_of(excinfo)
    assert (code, status) == ("InvalidInputException", 400)
    assert field in message
    headers = excinfo.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-errortype"] == "InvalidInputException"
    assert excinfo.value.response["ResponseMetadata"]["RequestId"]
    assert handle.events == []
    (request,) = handle.requests
    assert (request.status, request.error_code) == (400, "InvalidInputException")
    assert request.error_message == message


@pytest.mark.parametrize(
    ("call", "field"),
    [
        ({"eventList": []}, "'eventList'"),
        ({"trackingId": ""}, "'trackingId'"),
        ({"sessionId": ""}, "'sessionId'"),
        ({"eventList": [{"sentAt": 1}]}, "eventList.1.member.eventType"),
        ({"eventList": [event(), {"eventType": "click"}]}, "eventList.2.member.sentAt"),
        ({"eventList": [event(impression=[])]}, "impression"),
        ({"eventList": [event(eventType="")]}, "eventType"),
    ],
)
def test_minimums_and_required_members_checked_by_the_server(
    fake: tuple[PersonalizeEventsMock, ClientFactory], call: dict[str, Any], field: str
) -> None:
    """botocore checks these client side; with its validation off they reach the server."""
    _, make = fake
    client = make("personalize-events", config=NO_CLIENT_CHECKS)
    params: dict[str, Any] = {"trackingId": "t", "sessionId": "s", "eventList": [event()]}
    params.update(call)
    with pytest.raises(ClientError) as excinfo:
        client.put_events(**params)
    code, status, message = error_of(excinfo)
    assert (code, status) == ("InvalidInputException", 400)
    assert field in message


def test_length_counts_utf16_units_like_the_service(
    personalize_events: PersonalizeEventsMock,
) -> None:
    client = boto3.client("personalize-events", region_name="us-east-1", config=NO_RETRY)
    client.put_events(trackingId="t", sessionId="s", eventList=[event(itemId="é" * 256)])
    with pytest.raises(ClientError, match="itemId"):
        client.put_events(trackingId="t", sessionId="s", eventList=[event(itemId="😀" * 129)])
    assert len(personalize_events.events) == 1


# ---------------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [
        ("throttling", "ThrottlingException", 400),
        ("too_many_requests", "TooManyRequestsException", 429),
        ("server_error", "InternalFailure", 500),
        ("unavailable", "ServiceUnavailable", 503),
        ("invalid_input", "InvalidInputException", 400),
        ("not_found", "ResourceNotFoundException", 404),
        ("access_denied", "AccessDeniedException", 403),
    ],
)
def test_fault_for_n_calls_then_success(
    fake: tuple[PersonalizeEventsMock, ClientFactory], kind: str, code: str, status: int
) -> None:
    handle, make = fake
    client = make("personalize-events")
    handle.inject_fault(kind, times=2)
    for _ in range(2):
        with pytest.raises(ClientError) as excinfo:
            client.put_events(trackingId="t", sessionId="s", eventList=[event()])
        assert error_of(excinfo)[:2] == (code, status)
    assert handle.events == []
    client.put_events(trackingId="t", sessionId="s", eventList=[event()])
    assert len(handle.events) == 1
    assert [(r.status, r.error_code) for r in handle.requests] == [
        (status, code),
        (status, code),
        (200, None),
    ]


def test_faults_queue_per_operation_with_custom_message(
    personalize_events: PersonalizeEventsMock,
) -> None:
    handle = personalize_events
    events = boto3.client("personalize-events", region_name="us-east-1", config=NO_RETRY)
    runtime = boto3.client("personalize-runtime", region_name="us-east-1", config=NO_RETRY)
    handle.inject_fault("throttling", operation="GetRecommendations", message="slow down")
    handle.inject_fault("server_error", operation=None)
    with pytest.raises(ClientError) as excinfo:
        events.put_events(trackingId="t", sessionId="s", eventList=[event()])
    assert error_of(excinfo)[0] == "InternalFailure"
    with pytest.raises(ClientError) as excinfo:
        runtime.get_recommendations(campaignArn=CAMPAIGN, userId="u")
    assert error_of(excinfo) == ("ThrottlingException", 400, "slow down")
    runtime.get_recommendations(campaignArn=CAMPAIGN, userId="u")
    events.put_events(trackingId="t", sessionId="s", eventList=[event()])


def test_slow_fault_answers_normally_after_delay(
    personalize_events: PersonalizeEventsMock,
) -> None:
    import time

    client = boto3.client("personalize-events", region_name="us-east-1", config=NO_RETRY)
    personalize_events.inject_fault("slow", delay=0.05)
    started = time.monotonic()
    client.put_events(trackingId="t", sessionId="s", eventList=[event()])
    assert time.monotonic() - started >= 0.05
    assert len(personalize_events.events) == 1


def test_inject_fault_rejects_bad_arguments(personalize_events: PersonalizeEventsMock) -> None:
    with pytest.raises(ValueError, match="kind"):
        personalize_events.inject_fault("gremlins")
    with pytest.raises(ValueError, match="operation"):
        personalize_events.inject_fault("throttling", operation="PutEvent")
    with pytest.raises(ValueError, match="times"):
        personalize_events.inject_fault("throttling", times=0)


def test_poison_event_fails_whole_call_naming_its_index(
    fake: tuple[PersonalizeEventsMock, ClientFactory],
) -> None:
    handle, make = fake
    client = make("personalize-events")
    handle.reject_events(lambda e: e.item_id == "poison")
    batch = [event(eventId=f"e{n}") for n in range(5)]
    batch[3] = event(eventId="e3", itemId="poison")
    with pytest.raises(ClientError) as excinfo:
        client.put_events(trackingId="t", sessionId="s", eventList=batch)
    code, status, message = error_of(excinfo)
    assert (code, status) == ("InvalidInputException", 400)
    assert "index 3" in message
    assert "e3" in message
    assert handle.events == []
    # Splitting the batch delivers the healthy halves and isolates the poison event.
    client.put_events(trackingId="t", sessionId="s", eventList=batch[:3])
    with pytest.raises(ClientError, match="index 0"):
        client.put_events(trackingId="t", sessionId="s", eventList=batch[3:4])
    client.put_events(trackingId="t", sessionId="s", eventList=batch[4:])
    assert [e.event_id for e in handle.events] == ["e0", "e1", "e2", "e4"]


def test_reset_clears_records_faults_and_rules(personalize_events: PersonalizeEventsMock) -> None:
    client = boto3.client("personalize-events", region_name="us-east-1", config=NO_RETRY)
    client.put_events(trackingId="t", sessionId="s", eventList=[event()])
    personalize_events.inject_fault("throttling", times=5)
    personalize_events.reject_events(lambda e: True)
    personalize_events.reset()
    assert personalize_events.requests == []
    assert personalize_events.events == []
    client.put_events(trackingId="t", sessionId="s", eventList=[event()])
    assert len(personalize_events.events) == 1


# ---------------------------------------------------------------------------- other APIs


def test_put_users_items_actions_and_action_interactions(
    fake: tuple[PersonalizeEventsMock, ClientFactory],
) -> None:
    handle, make = fake
    client = make("personalize-events")
    dataset = "arn:aws:personalize:us-east-1:123456789012:dataset/group/USERS"
    client.put_users(datasetArn=dataset, users=[{"userId": "u1", "properties": '{"age": 3}'}])
    client.put_items(datasetArn=dataset, items=[{"itemId": "i1"}])
    client.put_actions(datasetArn=dataset, actions=[{"actionId": "a1"}])
    client.put_action_interactions(
        trackingId="t",
        actionInteractions=[
            {"actionId": "a1", "sessionId": "s", "timestamp": 1714564800, "eventType": "Taken"}
        ],
    )
    with pytest.raises(ClientError) as excinfo:
        client.put_items(datasetArn=dataset, items=[{"itemId": f"i{n}"} for n in range(11)])
    assert error_of(excinfo)[:2] == ("InvalidInputException", 400)
    assert [(r.operation, r.status) for r in handle.requests] == [
        ("PutUsers", 200),
        ("PutItems", 200),
        ("PutActions", 200),
        ("PutActionInteractions", 200),
        ("PutItems", 400),
    ]
    assert handle.requests[0].params["users"] == [{"userId": "u1", "properties": '{"age": 3}'}]
    assert handle.events == []


def test_get_recommendations_deterministic_with_fresh_ids(
    fake: tuple[PersonalizeEventsMock, ClientFactory],
) -> None:
    handle, make = fake
    runtime = make("personalize-runtime")
    first = runtime.get_recommendations(campaignArn=CAMPAIGN, userId="u1")
    second = runtime.get_recommendations(campaignArn=CAMPAIGN, userId="u1")
    other = runtime.get_recommendations(campaignArn=CAMPAIGN, userId="u2", numResults=500)
    items = [p["itemId"] for p in first["itemList"]]
    assert len(items) == 25
    assert len(set(items)) == 25
    assert items == [p["itemId"] for p in second["itemList"]]
    assert items != [p["itemId"] for p in other["itemList"]][:25]
    assert len(other["itemList"]) == 500
    scores = [p["score"] for p in first["itemList"]]
    assert scores == sorted(scores, reverse=True)
    ids = {r["recommendationId"] for r in (first, second, other)}
    assert len(ids) == 3
    assert all(i.startswith("RID-") and len(i) <= 40 for i in ids)
    assert [r.operation for r in handle.requests] == ["GetRecommendations"] * 3
    assert handle.requests[0].response is not None
    assert handle.requests[0].response["recommendationId"] == first["recommendationId"]
    # The id is accepted back by PutEvents (recommendationId max 40).
    make("personalize-events").put_events(
        trackingId="t",
        sessionId="s",
        eventList=[event(recommendationId=first["recommendationId"], impression=items[:25])],
    )


def test_catalog_related_items_and_limits(personalize_events: PersonalizeEventsMock) -> None:
    runtime = boto3.client("personalize-runtime", region_name="us-east-1", config=NO_RETRY)
    personalize_events.set_catalog(["m1", "m2", "m3", "m4"])
    answer = runtime.get_recommendations(campaignArn=CAMPAIGN, itemId="m2", numResults=10)
    assert sorted(p["itemId"] for p in answer["itemList"]) == ["m1", "m3", "m4"]
    for bad in (
        {"campaignArn": CAMPAIGN, "userId": "u", "numResults": 501},
        {"campaignArn": CAMPAIGN},
        {"userId": "u"},
        {"campaignArn": "not-an-arn", "userId": "u"},
    ):
        with pytest.raises(ClientError) as excinfo:
            runtime.get_recommendations(**bad)
        assert error_of(excinfo)[:2] == ("InvalidInputException", 400)


def test_personalized_ranking_reorders_deterministically(
    fake: tuple[PersonalizeEventsMock, ClientFactory],
) -> None:
    _, make = fake
    runtime = make("personalize-runtime")
    inputs = [f"m{n}" for n in range(20)]
    first = runtime.get_personalized_ranking(campaignArn=CAMPAIGN, userId="u", inputList=inputs)
    again = runtime.get_personalized_ranking(
        campaignArn=CAMPAIGN, userId="u", inputList=list(reversed(inputs))
    )
    ranked = [p["itemId"] for p in first["personalizedRanking"]]
    assert sorted(ranked) == sorted(inputs)
    assert ranked != inputs
    assert ranked == [p["itemId"] for p in again["personalizedRanking"]]
    assert first["recommendationId"] != again["recommendationId"]


# ---------------------------------------------------------------------------- moto coexistence


def test_moto_personalize_schemas_still_work(
    fake: tuple[PersonalizeEventsMock, ClientFactory],
) -> None:
    handle, make = fake
    control = make("personalize")
    arn = control.create_schema(name="interactions", schema=SCHEMA)["schemaArn"]
    assert control.describe_schema(schemaArn=arn)["schema"]["name"] == "interactions"
    make("personalize-events").put_events(trackingId="t", sessionId="s", eventList=[event()])
    assert control.list_schemas()["schemas"][0]["schemaArn"] == arn
    assert [r.operation for r in handle.requests] == ["PutEvents"]


def test_nested_inside_users_mock_aws() -> None:
    with mock_aws():
        control = boto3.client("personalize", region_name="us-east-1")
        arn = control.create_schema(name="outer", schema=SCHEMA)["schemaArn"]
        with mock_personalize_events() as handle:
            client = boto3.client("personalize-events", region_name="us-east-1", config=NO_RETRY)
            client.put_events(trackingId="t", sessionId="s", eventList=[event()])
            assert control.describe_schema(schemaArn=arn)["schema"]["name"] == "outer"
        assert len(handle.events) == 1
        # The user's mock is still active and its state intact; our endpoints are gone.
        assert control.describe_schema(schemaArn=arn)["schema"]["name"] == "outer"
        with pytest.raises(ClientError) as excinfo:
            client.put_events(trackingId="t", sessionId="s", eventList=[event()])
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_mock_aws_nested_inside_ours_and_inner_handle_wins() -> None:
    with mock_personalize_events() as outer:
        client = boto3.client("personalize-events", region_name="us-east-1", config=NO_RETRY)
        with mock_aws(), mock_personalize_events() as inner:
            client.put_events(trackingId="t", sessionId="inner", eventList=[event()])
        client.put_events(trackingId="t", sessionId="outer", eventList=[event()])
    assert [e.session_id for e in inner.events] == ["inner"]
    assert [e.session_id for e in outer.events] == ["outer"]


def test_moto_left_as_found() -> None:
    patterns = list(moto.backend_index.backend_url_patterns)
    bases = list(moto.personalize.urls.url_bases)
    paths = dict(moto.personalize.urls.url_paths)
    with mock_personalize_events(), serve_personalize_events():
        assert moto.backend_index.backend_url_patterns != patterns
        assert "{0}/events$" in moto.personalize.urls.url_paths
    assert moto.backend_index.backend_url_patterns == patterns
    assert moto.personalize.urls.url_bases == bases
    assert moto.personalize.urls.url_paths == paths


@pytest.mark.parametrize(
    ("module", "attribute"),
    [
        (moto.personalize.urls, "url_paths"),
        (moto.personalize.urls, "url_bases"),
        (moto.backend_index, "backend_url_patterns"),
    ],
)
def test_missing_moto_internal_raises_clear_error(
    monkeypatch: pytest.MonkeyPatch, module: Any, attribute: str
) -> None:
    monkeypatch.delattr(module, attribute)
    with pytest.raises(RuntimeError, match=rf"moto 5\.\S+.*{attribute}"):  # noqa: SIM117
        with mock_personalize_events():
            pytest.fail("should not get here")
    monkeypatch.undo()
    # Nothing was half-installed.
    with mock_aws():
        client = boto3.client("personalize-events", region_name="us-east-1", config=NO_RETRY)
        with pytest.raises(ClientError) as excinfo:
            client.put_events(trackingId="t", sessionId="s", eventList=[event()])
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_server_on_busy_port_fails_fast() -> None:
    with serve_personalize_events() as handle:
        assert handle.endpoint_url is not None
        port = int(handle.endpoint_url.rsplit(":", 1)[1])
        with pytest.raises(OSError, match="in use"):  # noqa: SIM117
            with serve_personalize_events(port=port):
                pytest.fail("should not get here")


# ---------------------------------------------------------------------------- packaging


def test_pytest_entry_point_registered(pytestconfig: pytest.Config) -> None:
    (entry,) = [e for e in entry_points(group="pytest11") if e.name == "personalize_tracker"]
    assert entry.value == "personalize_tracker.testing.pytest_plugin"
    assert pytestconfig.pluginmanager.get_plugin("personalize_tracker") is pytest_plugin


def test_without_moto_plugin_loads_and_use_names_the_extra() -> None:
    """pytest loads the plugin for every user: it must import without the testing extra."""
    import personalize_tracker.testing

    src = str(Path(personalize_tracker.testing.__file__).resolve().parents[2])
    code = """
import sys
sys.modules["moto"] = None  # "import moto" now fails
import personalize_tracker.testing.pytest_plugin as plugin
assert callable(plugin.personalize_events)
try:
    from personalize_tracker.testing import mock_personalize_events
except ImportError as exc:
    print(exc)
else:
    raise SystemExit("no ImportError")
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "pip install 'personalize-tracker[testing]'" in result.stdout
