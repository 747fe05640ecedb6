"""Shared test helpers: a scriptable stand-in for the boto3 personalize-events client, and the
example shop in a subprocess."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from hypothesis import HealthCheck, settings

from personalize_tracker._config import Options
from personalize_tracker._pipeline import EventPipeline, event_pipeline

# Timing-based health checks and deadlines fail on a loaded 2-core machine for reasons that say
# nothing about the code; the properties themselves are checked all the same.
settings.register_profile(
    "personalize-tracker", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("personalize-tracker")


def client_error(code: str, status: int, message: str = "boom") -> ClientError:
    """A botocore ClientError as the service would produce it."""
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "PutEvents",
    )


class FakeClient:
    """Records ``put_events`` calls; ``script`` decides, per call, to raise or answer.

    ``script`` is a callable given the call's parameters that returns None (success) or an
    exception to raise. ``faults`` is a list of exceptions raised by the next calls, in order.
    ``gate``, when set, makes every call wait for it (to hold batches in flight);
    :meth:`wait_for_started` waits until that many calls began (are on the wire).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[dict[str, Any]] = []  # every call, failed ones included
        self.accepted: list[dict[str, Any]] = []  # calls that succeeded
        self.faults: list[BaseException] = []
        self.script: Callable[[dict[str, Any]], BaseException | None] | None = None
        self.gate: threading.Event | None = None
        self.threads: set[int] = set()
        self.changed = threading.Condition(self.lock)
        self.started = 0  # calls begun (those held by the gate included)

    def put_events(self, **params: Any) -> dict[str, Any]:
        with self.lock:
            self.started += 1
            self.changed.notify_all()
        if self.gate is not None:
            assert self.gate.wait(30), "test gate never opened"
        with self.lock:
            self.calls.append(params)
            self.threads.add(threading.get_ident())
            error = self.faults.pop(0) if self.faults else None
            if error is None and self.script is not None:
                error = self.script(params)
            if error is None:
                self.accepted.append(params)
            self.changed.notify_all()
        if error is not None:
            raise error
        return {}

    @property
    def delivered_events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [event for call in self.accepted for event in call["eventList"]]

    def wait_for_started(self, count: int, timeout: float = 10.0) -> bool:
        """Block until ``count`` calls began (a batch is on the wire, perhaps held by the gate)."""
        with self.changed:
            return self.changed.wait_for(lambda: self.started >= count, timeout)

    def wait_for_accepted_events(self, count: int, timeout: float = 10.0) -> bool:
        """Block until ``count`` events were accepted (no sleeping in tests)."""
        with self.changed:
            return self.changed.wait_for(
                lambda: sum(len(c["eventList"]) for c in self.accepted) >= count, timeout
            )


@pytest.fixture
def fake_client() -> Iterator[FakeClient]:
    client = FakeClient()
    yield client
    if client.gate is not None:
        client.gate.set()


def event_pipeline_of(
    client: Any, on_failure: Callable[[Any], None] | None = None, **options: Any
) -> EventPipeline:
    """The pipeline a ``Tracker(client=client, **options)`` builds, for tests that look at its
    parts (``pipeline.admission.waiting``, ``pipeline.wire.flush_waiters``...), which a
    Tracker keeps to itself. Closed at the end of the test by the caller."""
    checked = Options.checked(
        client=client, **{**attrs.asdict(Options(), recurse=False), **options}
    )
    pipeline, _ = event_pipeline(
        checked,
        tracking_id="t",
        client=client,
        session=None,
        region_name=None,
        endpoint_url=None,
        on_failure=on_failure,
    )
    return pipeline


def throttled() -> ClientError:
    """What PutEvents answers past its request-rate quota."""
    return client_error("ThrottlingException", 400, "Rate exceeded")


def connection_error() -> EndpointConnectionError:
    """What botocore raises when the endpoint cannot be reached."""
    return EndpointConnectionError(endpoint_url="https://personalize-events.invalid")


SHOP = Path(__file__).resolve().parents[1] / "examples" / "django_shop"


@contextlib.contextmanager
def running_shop(endpoint_url: str, tmp_path: Path, env: dict[str, str]) -> Iterator[str]:
    """The example Django shop (``examples/django_shop/serve.py``) in a subprocess on 127.0.0.1,
    pointed at a local endpoint; yields its base URL and stops it (delivering what is pending).

    ``env`` adds to (or overrides) the shop's environment; its log is ``tmp_path/shop.log``.
    """
    full_env = {
        **os.environ,
        "PERSONALIZE_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "SHOP_DB": str(tmp_path / "shop.sqlite3"),
        "PERSONALIZE_FLUSH_INTERVAL": "0.1",
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    log = (tmp_path / "shop.log").open("w")
    process = subprocess.Popen(
        [sys.executable, str(SHOP / "serve.py"), "--port", "0"],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until the shop listens (or dies)
        if not line.startswith("shop: "):
            process.kill()
            process.wait(10)
            pytest.fail(f"the shop did not start: {line!r}\n{(tmp_path / 'shop.log').read_text()}")
        yield line.split()[1].rstrip("/")
    finally:
        process.terminate()  # delivers what is pending, then stops
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()
