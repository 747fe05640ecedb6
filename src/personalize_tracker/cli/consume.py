"""``personalize-tracker consume --stream NAME``: the local runner of a Kinesis stream of events.

Reads every shard (GetShardIterator / GetRecords) and delivers each batch to PutEvents as the AWS
Lambda consumer would, in one process: for development and tests (at scale, the Lambda event
source mapping is the consumer; see ``docs/fleet.md``).
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import boto3
import click

from ..kinesis import ConsumeResult, StreamConsumer, destination_from_url, read_stream
from ._common import JSON_OPTION, REGION_OPTION

__all__ = ["consume"]


def _progress(shard_id: str, result: ConsumeResult) -> None:
    click.echo(
        f"{shard_id}: {result.records} records, {result.delivered} delivered, "
        f"{result.dead_lettered} dead-lettered, {len(result.retry)} to read again",
        err=True,
    )


_OPTIONS: list[Callable[[Any], Any]] = [
    click.option(
        "--stream", "stream_name", required=True, metavar="NAME", help="The Kinesis stream."
    ),
    click.option(
        "--tracking-id",
        default=lambda: os.environ.get("PERSONALIZE_TRACKING_ID"),
        metavar="ID",
        help="The event tracker's trackingId (default: $PERSONALIZE_TRACKING_ID).",
    ),
    REGION_OPTION,
    click.option(
        "--kinesis-endpoint-url",
        default=None,
        metavar="URL",
        help="Kinesis endpoint (local tests).",
    ),
    click.option(
        "--endpoint-url", default=None, metavar="URL", help="PutEvents endpoint (local tests)."
    ),
    click.option(
        "--checkpoint",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="JSON file of each shard's last settled sequence number: a restart resumes after it.",
    ),
    click.option(
        "--dead-letter-url",
        default=lambda: os.environ.get("PERSONALIZE_TRACKER_DEAD_LETTER_URL"),
        metavar="URL",
        help="SQS queue URL or s3://bucket/prefix/ for undeliverable records (default: the log).",
    ),
    click.option(
        "--until-idle",
        type=click.IntRange(min=1),
        default=None,
        metavar="N",
        help="Stop after N rounds in a row found no new record (default: run until Ctrl-C).",
    ),
    click.option(
        "--poll-interval",
        type=click.FloatRange(min=0.01),
        default=1.0,
        show_default=True,
        help="Seconds between idle rounds (each shard allows 5 GetRecords calls a second).",
    ),
    click.option(
        "--limit",
        type=click.IntRange(1, 10_000),
        default=1000,
        show_default=True,
        help="Records per GetRecords call.",
    ),
    JSON_OPTION,
]


def _options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``command`` with the options of ``_OPTIONS``, in their order on the help page."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


@click.command("consume")
@_options
def consume(
    stream_name: str,
    tracking_id: str | None,
    region: str | None,
    kinesis_endpoint_url: str | None,
    endpoint_url: str | None,
    checkpoint: Path | None,
    dead_letter_url: str | None,
    until_idle: int | None,
    poll_interval: float,
    limit: int,
    as_json: bool,
) -> None:
    """Deliver the events of a Kinesis stream to PutEvents, on this machine (one process)."""
    if not tracking_id:
        raise click.UsageError("--tracking-id (or PERSONALIZE_TRACKING_ID) is required")
    session = boto3.Session(region_name=region)
    try:
        kinesis = session.client("kinesis", endpoint_url=kinesis_endpoint_url)
        consumer = StreamConsumer(
            tracking_id,
            dead_letters=destination_from_url(dead_letter_url, session.client),
            session=session,
            endpoint_url=endpoint_url,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())

    try:
        summary = read_stream(
            kinesis,
            stream_name,
            consumer,
            checkpoint_path=checkpoint,
            stop=stop,
            idle_polls=until_idle,
            poll_interval=poll_interval,
            limit=limit,
            on_batch=None if as_json else _progress,
        )
    except KeyboardInterrupt:
        stop.set()
        raise click.Abort() from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        consumer.close(5)
    fields: dict[str, Any] = attrs.asdict(summary)  # calls: PutEvents calls
    if as_json:
        click.echo(json.dumps(fields))
    else:
        click.echo(" ".join(f"{key}={value}" for key, value in fields.items()))
