"""``personalize-tracker consume --stream``: the local runner's command, against moto's Kinesis in
process and a fake PutEvents client."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws

from personalize_tracker import Tracker
from personalize_tracker.cli import cli
from personalize_tracker.kinesis import KinesisTransport, StreamConsumer

from conftest import FakeClient

consume_module = importlib.import_module("personalize_tracker.cli.consume")


@pytest.fixture
def stream(monkeypatch: pytest.MonkeyPatch, fake_client: FakeClient) -> Iterator[list[str]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("PERSONALIZE_TRACKING_ID", raising=False)

    def consumer(tracking_id: str, **options: Any) -> StreamConsumer:
        assert options["session"].region_name == "us-east-1"
        return StreamConsumer(tracking_id, client=fake_client, dead_letters=options["dead_letters"])

    monkeypatch.setattr(consume_module, "StreamConsumer", consumer)
    with mock_aws():
        kinesis = boto3.client("kinesis", region_name="us-east-1")
        kinesis.create_stream(StreamName="events", ShardCount=2)
        with Tracker("t", transport=KinesisTransport("events", kinesis)) as tracker:
            ids = [tracker.track("view", f"s-{n % 5}", "u", f"i-{n}").event_id for n in range(30)]
        kinesis.put_record(StreamName="events", Data=b"garbage", PartitionKey="x")
        yield ids


def test_consume_delivers_the_stream_and_prints_a_summary(
    stream: list[str], fake_client: FakeClient, tmp_path: Path
) -> None:
    args = ["consume", "--stream", "events", "--tracking-id", "t", "--region", "us-east-1"]
    args += ["--until-idle", "1", "--poll-interval", "0.01", "--json"]
    args += ["--checkpoint", str(tmp_path / "cp.json")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["delivered"] == 30
    assert summary["dead_lettered"] == 1
    assert summary["calls"] == 5
    assert sorted(e["eventId"] for e in fake_client.delivered_events) == sorted(stream)
    again = CliRunner().invoke(cli, args)  # from the checkpoints: nothing new
    assert json.loads(again.stdout.strip().splitlines()[-1])["records"] == 0


def test_consume_needs_a_tracking_id(stream: list[str]) -> None:
    result = CliRunner().invoke(cli, ["consume", "--stream", "events", "--region", "us-east-1"])
    assert result.exit_code == 2
    assert "--tracking-id" in result.output
