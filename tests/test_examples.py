"""The server and serverless examples in examples/servers/, run against a scripted client."""

from __future__ import annotations

import importlib.util
import logging
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import personalize_tracker
from personalize_tracker import Tracker

from conftest import FakeClient

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "servers"


def load(path: Path, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def app_tracker(fake_client: FakeClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tracker]:
    """An ``app.tracking`` module holding the app's Tracker, as the examples expect."""
    tracker = Tracker("t", client=fake_client, flush_interval=3600)
    app = types.ModuleType("app")
    tracking = types.ModuleType("app.tracking")
    tracking.tracker = tracker  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "app", app)
    monkeypatch.setitem(sys.modules, "app.tracking", tracking)
    yield tracker
    if not tracker.closed:
        tracker.close()


class FakeGunicornServer:
    def __init__(self, graceful_timeout: float) -> None:
        self.cfg = types.SimpleNamespace(graceful_timeout=graceful_timeout)
        self.log = logging.getLogger("gunicorn.error")


def test_gunicorn_worker_exit_delivers_pending_events(
    app_tracker: Tracker, fake_client: FakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    conf = load(EXAMPLES / "gunicorn.conf.py", "gunicorn_conf")
    assert conf.preload_app is True
    server, worker = FakeGunicornServer(graceful_timeout=30), types.SimpleNamespace(pid=1234)
    caplog.set_level(logging.INFO, logger="gunicorn.error")
    conf.post_fork(server, worker)
    assert "worker 1234: personalize-tracker queue starts with 0 pending" in caplog.text
    app_tracker.track("view", "s-1", item_id="i-1")
    assert app_tracker.stats().pending == 1
    conf.worker_exit(server, worker)
    assert app_tracker.closed
    assert [e["itemId"] for e in fake_client.delivered_events] == ["i-1"]


def test_celery_shutdown_signal_closes_the_tracker(
    app_tracker: Tracker, fake_client: FakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    connected: list[Callable[..., Any]] = []
    signal = types.SimpleNamespace(connect=lambda f: connected.append(f) or f)
    signals = types.ModuleType("celery.signals")
    signals.worker_process_shutdown = signal  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "celery", types.ModuleType("celery"))
    monkeypatch.setitem(sys.modules, "celery.signals", signals)
    module = load(EXAMPLES / "celery_tracking.py", "celery_tracking")
    assert connected == [module.deliver_pending_events]
    app_tracker.track("view", "s-1", item_id="i-2")
    connected[0](pid=1, exitcode=0)  # as Celery sends it
    assert app_tracker.closed
    assert app_tracker.stats().delivered == 1


def test_lambda_handler_flushes_each_invocation(
    fake_client: FakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The example builds its Tracker at import: give it our scripted client.
    def tracker_with_fake_client(tracking_id: str, **options: Any) -> Tracker:
        return Tracker(tracking_id, client=fake_client, **options)

    monkeypatch.setattr(personalize_tracker, "Tracker", tracker_with_fake_client)
    module = load(EXAMPLES / "lambda_handler.py", "lambda_handler")
    try:
        assert module.handler({"sessionId": "s-1", "itemId": "i-3"}, None) == {"statusCode": 200}
        assert [e["itemId"] for e in fake_client.delivered_events] == ["i-3"]
        with pytest.raises(KeyError):
            module.handler({"sessionId": "s-1"}, None)  # a failing invocation still flushes
        assert module.tracker.stats().pending == 0
    finally:
        module.tracker.close()
