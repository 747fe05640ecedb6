"""``personalize-tracker demo --fleet N``: the fleet demo's command-line side (``demo`` hands its
options over when ``--fleet`` is given); the engine is ``personalize_tracker._tools.fleet``."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

import click

from .._tools.fleet import FleetResult, fleet_summary_text, run_fleet_demo

__all__ = ["FLEET_OPTION", "add_fleet_option", "fleet_demo", "fleet_summary_dict"]

#: ``demo --fleet N``.
FLEET_OPTION = click.Option(
    ["--fleet"],
    type=click.IntRange(1, 16),
    default=None,
    metavar="N",
    help=(
        "Run the fleet demo instead: N producer processes write the users (split by user) to a "
        "local Kinesis stream of 4 shards; the local runner delivers it (docs/fleet.md)."
    ),
)


def add_fleet_option(command: click.Command) -> None:
    """Give ``demo`` its ``--fleet N`` option: with it, the command runs :func:`fleet_demo`
    with its ``--data``, ``--limit``, ``--session-gap`` and ``--json``; without it, as before.

    Raises (when run):
        click.UsageError: ``--fleet`` with ``--endpoint-url`` (the fleet demo runs locally).
    """
    command.params.insert(len(command.params) - 2, FLEET_OPTION)  # before --no-progress, --json
    original = command.callback
    assert original is not None

    @functools.wraps(original)
    def callback(*args: Any, fleet: int | None = None, **options: Any) -> Any:
        if fleet is None:
            return original(*args, **options)
        if options.get("endpoint_url") is not None:
            raise click.UsageError("--fleet runs on 127.0.0.1: it takes no --endpoint-url")
        ctx = click.get_current_context()
        return fleet_demo(
            ctx,
            fleet,
            options["data"],
            options["limit"],
            options["session_gap"],
            options["as_json"],
        )

    command.callback = callback


def fleet_summary_dict(result: FleetResult) -> dict[str, Any]:
    """The summary as JSON data (what ``--json`` prints)."""
    return {
        "producers": [
            {
                "index": p.index,
                "tracked": p.tracked,
                "written": p.written,
                "delivered": sum(1 for i in p.event_ids if i in result.received),
                "put_records_calls": p.put_records_calls,
                "track_us": round(p.track_us, 3),
                "in_process_track_us": round(p.baseline_track_us, 3),
            }
            for p in result.producers
        ],
        "shards": result.shards,
        "tracked": result.tracked,
        "lost": result.lost,
        "delivered_twice": result.twice,
        "put_events_calls": result.put_events_calls,
        "calls_floor": result.calls_floor,
        "consumer_duplicates": result.consumer.duplicates,
        "dead_letters": result.consumer.dead_lettered,
        "wall_seconds": round(result.wall_seconds, 2),
        "ok": result.ok,
    }


def fleet_demo(
    ctx: click.Context,
    producers: int,
    data: Path | None,
    limit: int | None,
    session_gap_minutes: float,
    as_json: bool,
    shards: int = 4,
) -> None:
    """Run the fleet demo, print its summary, and exit 0 when every event arrived exactly once
    within 1.05x the floor of PutEvents calls (1 otherwise)."""
    try:
        result = run_fleet_demo(
            producers=producers,
            data=data,
            limit=limit,
            shards=shards,
            session_gap_minutes=session_gap_minutes,
            stream=None if as_json else sys.stderr,
        )
    except FileNotFoundError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param_hint="'--data'") from None
    except ImportError as exc:
        raise click.ClickException(
            f"the fleet demo needs the 'testing' extra ({exc}): "
            "pip install 'personalize-tracker[testing]'"
        ) from None
    if as_json:
        click.echo(json.dumps(fleet_summary_dict(result), indent=2))
    else:
        click.echo(fleet_summary_text(result))
    ctx.exit(0 if result.ok else 1)
