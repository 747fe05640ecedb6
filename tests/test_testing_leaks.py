"""No test reaches AWS: Trackers left open inside a mock are closed against it, and the over-HTTP
fixture points boto3 at the local server with fake credentials."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import boto3
import pytest

from personalize_tracker import Tracker
from personalize_tracker.testing import (
    LeakedTrackerWarning,
    PersonalizeEventsMock,
    mock_personalize_events,
    serve_personalize_events,
)
from personalize_tracker.testing._leaks import ENDPOINT_VARIABLES, fake_aws_environment


def leaks(caught: list[warnings.WarningMessage]) -> list[warnings.WarningMessage]:
    return [w for w in caught if issubclass(w.category, LeakedTrackerWarning)]


def test_a_tracker_left_open_in_the_mock_is_closed_against_it() -> None:
    with warnings.catch_warnings(record=True) as caught, mock_personalize_events() as endpoint:
        warnings.simplefilter("always")
        leaked = Tracker("leaky", region_name="us-east-1", flush_interval=60)
        leaked.track("click", "s-1", "u-1", "i-1")
        assert endpoint.events == []
    assert leaked.closed
    assert [e.item_id for e in endpoint.events] == ["i-1"]
    (warning,) = leaks(caught)
    message = str(warning.message)
    assert "tracking id 'leaky'" in message
    assert "inside mock_personalize_events()" in message
    assert "1 tracked, 1 delivered, 0 failed" in message


def test_trackers_opened_before_the_mock_or_closed_in_it_are_left_alone(
    recwarn: pytest.WarningsRecorder,
) -> None:
    outside = Tracker("outside", region_name="us-east-1", flush_interval=60)
    try:
        with mock_personalize_events(), Tracker("tidy", region_name="us-east-1") as tidy:
            tidy.track("click", "s", "u", "i")
        assert not outside.closed
        assert not [w for w in recwarn if issubclass(w.category, LeakedTrackerWarning)]
    finally:
        outside.close(timeout=0)


def test_the_server_closes_trackers_pointed_at_it() -> None:
    with warnings.catch_warnings(record=True) as caught, serve_personalize_events() as endpoint:
        warnings.simplefilter("always")
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
        leaked = Tracker(
            "t",
            session=session,
            region_name="us-east-1",
            endpoint_url=endpoint.endpoint_url,
            flush_interval=60,
        )
        leaked.track("click", "s-1", "u-1", "i-1")
    (warning,) = leaks(caught)
    assert "inside serve_personalize_events()" in str(warning.message)
    assert leaked.closed
    assert [e.item_id for e in endpoint.events] == ["i-1"]


def test_the_server_fixture_points_a_bare_tracker_at_the_server(
    personalize_events_server: PersonalizeEventsMock,
) -> None:
    """No endpoint_url, no credentials, no region: the fixture's environment supplies them."""
    assert (
        os.environ["AWS_ENDPOINT_URL_PERSONALIZE_EVENTS"] == personalize_events_server.endpoint_url
    )
    with Tracker("bare") as tracker:
        tracker.track("click", "s-1", "u-1", "i-1")
    assert [e.tracking_id for e in personalize_events_server.events] == ["bare"]


def test_fake_aws_environment_restores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREAL")
    monkeypatch.setenv("AWS_ENDPOINT_URL_PERSONALIZE_EVENTS", "https://example.invalid")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    before = dict(os.environ)
    with fake_aws_environment("http://127.0.0.1:1"):
        assert "AWS_PROFILE" not in os.environ
        assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
        assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"
        assert all(os.environ[name] == "http://127.0.0.1:1" for name in ENDPOINT_VARIABLES)
        client = boto3.client("personalize-events")
        assert client.meta.endpoint_url == "http://127.0.0.1:1"
    assert dict(os.environ) == before


LEAKY_SCRIPT = """
import atexit, socket, warnings
looked_up = []
real_getaddrinfo = socket.getaddrinfo

def recording_getaddrinfo(host, *args, **kwargs):
    looked_up.append(host)
    return real_getaddrinfo(host, *args, **kwargs)

socket.getaddrinfo = recording_getaddrinfo
# atexit runs last-registered first: registered before the Tracker's exit flush, this runs after.
atexit.register(lambda: print("LOOKUPS", [h for h in looked_up if "amazonaws.com" in str(h)]))
warnings.simplefilter("always")

from personalize_tracker import Tracker
from personalize_tracker.testing import mock_personalize_events

with mock_personalize_events() as endpoint:
    tracker = Tracker("leaky", region_name="us-east-1", flush_interval=60)
    tracker.track("click", "s-1", "u-1", "i-1")
tracker.track = None  # the test's bug: it kept the Tracker, never closed it
print("RECEIVED", len(endpoint.events))
"""


@pytest.mark.slow
def test_a_leaked_tracker_never_reaches_aws_at_interpreter_exit(tmp_path: Path) -> None:
    script = tmp_path / "leaky.py"
    script.write_text(textwrap.dedent(LEAKY_SCRIPT))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "RECEIVED 1" in result.stdout
    assert "LOOKUPS []" in result.stdout
    assert "LeakedTrackerWarning" in result.stderr
