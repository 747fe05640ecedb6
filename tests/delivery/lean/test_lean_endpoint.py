"""The lean transport against the testing endpoint: served over HTTP (faults injected by its
handle classify as through the client), in process (moto answers through the client), and the
endpoint botocore resolves (region, FIPS, dual-stack) kept from the dry run."""

from __future__ import annotations

import boto3
import pytest
from lean_recording import CREDENTIALS, RecordingServer, tracker_client

from personalize_tracker import Event, Tracker
from personalize_tracker._delivery.lean import LeanTransport, LeanUnsupported, lean_put_events
from personalize_tracker._delivery.putevents import PutEventsTransport, build_client
from personalize_tracker._errors import SendError
from personalize_tracker.testing import FAULT_KINDS, PersonalizeEventsMock, mock_personalize_events

NOW = 1_764_751_234.5


def events(n: int) -> list[Event]:
    return [
        Event(event_type="click", session_id="s-1", sent_at=NOW + i, event_id=f"e-{i}", user_id="u")
        for i in range(n)
    ]


def test_events_reach_the_served_endpoint(
    personalize_events_server: PersonalizeEventsMock,
) -> None:
    client = tracker_client(personalize_events_server.endpoint_url)
    lean_put_events(client, "tracking-1").send(("u", "s-1"), events(3))
    got = personalize_events_server.events
    assert [e.event_id for e in got] == ["e-0", "e-1", "e-2"]
    assert {(e.tracking_id, e.user_id, e.session_id) for e in got} == {("tracking-1", "u", "s-1")}
    assert [round(e.sent_at, 3) for e in got] == [NOW, NOW + 1, NOW + 2]


FAULTS = sorted(kind for kind in FAULT_KINDS if kind != "slow")


@pytest.mark.parametrize("kind", FAULTS)
def test_each_injected_fault_classifies_as_through_the_client(
    personalize_events_server: PersonalizeEventsMock, kind: str
) -> None:
    client = tracker_client(personalize_events_server.endpoint_url)
    outcomes = []
    for transport in (lean_put_events(client, "t"), PutEventsTransport(client, "t")):
        personalize_events_server.inject_fault(kind)
        with pytest.raises(SendError) as caught:
            transport.send(("u", "s-1"), events(1))
        e = caught.value
        outcomes.append((e.code, e.message, e.retryable, e.invalid, e.throttled, e.rejected))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == FAULT_KINDS[kind][1]
    assert personalize_events_server.events == []


def test_in_process_mock_answers_through_the_client() -> None:
    session = boto3.Session(region_name="us-east-1", **CREDENTIALS)
    before = build_client(session=session, region_name=None, endpoint_url=None, max_workers=2)
    built_before = lean_put_events(before, "t")  # built outside any mock
    with mock_personalize_events() as fake:
        inside = build_client(session=session, region_name=None, endpoint_url=None, max_workers=2)
        lean_put_events(inside, "t").send(("u", "s-1"), events(1))
        built_before.send(("u", "s-2"), events(2))
    assert sorted(e.session_id for e in fake.events) == ["s-1", "s-2", "s-2"]


def test_a_tracker_in_the_in_process_mock_delivers_to_it() -> None:
    with mock_personalize_events() as fake, Tracker("t", region_name="us-east-1") as tracker:
        tracker.track("click", "s-1", "u-1", "i-1")
        assert tracker.flush(timeout=10)
        assert [e.item_id for e in fake.events] == ["i-1"]


@pytest.mark.parametrize(
    ("env", "host"),
    [
        ({}, "personalize-events.eu-west-1.amazonaws.com"),
        ({"AWS_USE_FIPS_ENDPOINT": "true"}, "personalize-events-fips.eu-west-1.amazonaws.com"),
        ({"AWS_USE_DUALSTACK_ENDPOINT": "true"}, "personalize-events.eu-west-1.api.aws"),
    ],
)
def test_the_endpoint_and_the_proxy_are_botocores(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], host: str
) -> None:
    """Both transports go through an HTTPS proxy from the environment (the recording server,
    which records the tunnel's target and refuses it): the same host, the same error."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_PERSONALIZE_EVENTS", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with RecordingServer() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        client = tracker_client(None, region="eu-west-1")
        outcomes = []
        lean = lean_put_events(client, "t")
        assert lean.http_path == "urlopen"  # a proxy: urllib3 opens the tunnel
        for transport in (lean, PutEventsTransport(client, "t")):
            with pytest.raises(SendError) as caught:
                transport.send(("u", "s"), events(1))
            e = caught.value
            outcomes.append((e.code, e.message, e.retryable))
    assert [(r.method, r.path) for r in proxy.received] == [("CONNECT", f"{host}:443")] * 2
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == "ProxyConnectionError"


def test_a_hooked_client_is_refused() -> None:
    client = tracker_client("http://127.0.0.1:9")

    def hook(**_: object) -> None:
        pass

    client.meta.events.register("before-call.personalize-events.PutEvents", hook)
    with pytest.raises(LeanUnsupported, match="before-call"):
        lean_put_events(client, "t")
    assert isinstance(lean_put_events(tracker_client("http://127.0.0.1:9"), "t"), LeanTransport)
