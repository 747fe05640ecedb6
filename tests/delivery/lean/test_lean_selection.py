"""Which PutEvents transport a Tracker uses: lean for the client it builds, unless told
``transport="boto3"`` or something hooked into the client would be skipped; a given client as
is; the lean transport rebuilt in a forked child."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import boto3
import pytest
from lean_recording import CREDENTIALS, RecordingServer

from personalize_tracker import Tracker
from personalize_tracker._config import Options
from personalize_tracker._delivery.lean import LeanTransport
from personalize_tracker._delivery.putevents import PutEventsTransport
from personalize_tracker._pipeline import EventPipeline, event_pipeline


@pytest.fixture
def recorder() -> Iterator[RecordingServer]:
    with RecordingServer() as server:
        yield server


def pipeline_of(
    url: str, transport: Any = None, client: Any = None, session: Any = None
) -> EventPipeline:
    options = Options.checked(client=client, **attrs.asdict(Options(), recurse=False))
    pipeline, _ = event_pipeline(
        options,
        tracking_id="t",
        client=client,
        session=session or boto3.Session(region_name="us-east-1", **CREDENTIALS),
        region_name=None,
        endpoint_url=url if client is None else None,
        on_failure=None,
        transport=transport,
    )
    return pipeline


def hooked_session() -> Any:
    session = boto3.Session(region_name="us-east-1", **CREDENTIALS)

    def audit(**_: object) -> None:
        pass

    session.events.register("before-call.personalize-events", audit)
    return session


def test_the_client_the_tracker_builds_is_sent_lean(recorder: RecordingServer) -> None:
    pipeline = pipeline_of(recorder.url)
    try:
        assert isinstance(pipeline.transport, LeanTransport)
        assert pipeline.client is pipeline.transport.client
    finally:
        pipeline.close(timeout=5)


def test_boto3_by_name(recorder: RecordingServer) -> None:
    pipeline = pipeline_of(recorder.url, transport="boto3")
    try:
        assert isinstance(pipeline.transport, PutEventsTransport)
    finally:
        pipeline.close(timeout=5)


def test_a_given_client_is_used_as_is(recorder: RecordingServer) -> None:
    client = boto3.Session(region_name="us-east-1", **CREDENTIALS).client(
        "personalize-events", endpoint_url=recorder.url
    )
    pipeline = pipeline_of(recorder.url, client=client)
    try:
        assert isinstance(pipeline.transport, PutEventsTransport)
        assert pipeline.client is client
    finally:
        pipeline.close(timeout=5)
    for name in ("lean", "boto3"):
        with pytest.raises(ValueError, match=f"transport='{name}'.*client="):
            pipeline_of(recorder.url, transport=name, client=client)


def test_an_unknown_name_is_refused(recorder: RecordingServer) -> None:
    with pytest.raises(ValueError, match=r"transport='fast' is not a transport.*'lean', 'boto3'"):
        pipeline_of(recorder.url, transport="fast")


def test_hooks_on_the_session_mean_boto3_or_a_clear_error(
    recorder: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="personalize_tracker"):
        pipeline = pipeline_of(recorder.url, session=hooked_session())
    try:
        assert isinstance(pipeline.transport, PutEventsTransport)
        assert "not the lean transport" in caplog.text
        assert "before-call" in caplog.text
    finally:
        pipeline.close(timeout=5)
    with pytest.raises(ValueError, match=r"transport=.lean. cannot be used.*before-call"):
        pipeline_of(recorder.url, transport="lean", session=hooked_session())


def test_a_tracker_delivers_lean(recorder: RecordingServer) -> None:
    session = boto3.Session(region_name="us-east-1", **CREDENTIALS)
    with Tracker("t", session=session, endpoint_url=recorder.url, transport="lean") as tracker:
        for n in range(12):
            tracker.track("click", "s-1", "u-1", f"i-{n}")
        assert tracker.flush(timeout=10)
        assert tracker.stats().delivered == 12
    bodies = [json.loads(r.body) for r in recorder.received]
    assert sorted(len(b["eventList"]) for b in bodies) == [2, 10]
    assert {(b["trackingId"], b["userId"], b["sessionId"]) for b in bodies} == {("t", "u-1", "s-1")}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork() in a threaded process
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_sends_lean_on_connections_of_its_own(
    recorder: RecordingServer, tmp_path: Path
) -> None:
    session = boto3.Session(region_name="us-east-1", **CREDENTIALS)
    tracker = Tracker("t", session=session, endpoint_url=recorder.url, flush_interval=3600)
    tracker.track("warmup", "s-0")
    assert tracker.flush(timeout=10)  # the parent holds a keep-alive connection
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            tracker.track("click", "s-child")
            ok = tracker.flush(timeout=10)
            stats = tracker.stats()
            (tmp_path / "child.json").write_text(json.dumps([ok, stats.delivered]))
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert json.loads((tmp_path / "child.json").read_text()) == [True, 1]
    tracker.track("click", "s-parent")
    assert tracker.flush(timeout=10)  # the parent's connection still works
    tracker.close()
    sessions = [json.loads(r.body)["sessionId"] for r in recorder.received]
    assert sorted(sessions) == ["s-0", "s-child", "s-parent"]


def test_the_other_kinds_deliver_through_either_transport(recorder: RecordingServer) -> None:
    arn = "arn:aws:personalize:us-east-1:123456789012:dataset/shop/ITEMS"
    session = boto3.Session(region_name="us-east-1", **CREDENTIALS)
    user_agents = []
    for name in ("lean", "boto3"):
        with Tracker(
            "t", session=session, endpoint_url=recorder.url, items_dataset_arn=arn, transport=name
        ) as tracker:
            tracker.put_item("i-1", {"genre": "comedy"})
            assert tracker.flush(timeout=10)
        (request,) = [r for r in recorder.received if r.path == "/items"]
        recorder.received.clear()
        assert json.loads(request.body) == {
            "datasetArn": arn,
            "items": [{"itemId": "i-1", "properties": '{"genre":"comedy"}'}],
        }
        user_agents.append(request.headers["user-agent"])
    # botocore's own user agent lists the features of its call (m/...); the lean one is the
    # dry run's: one and the same request otherwise (tests/delivery/lean/test_lean_kinds.py)
    assert all("personalize-tracker" in agent for agent in user_agents)
