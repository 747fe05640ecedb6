"""The ``personalize-tracker`` command line (click). Needs the ``cli`` extra: click and tqdm.

Commands:

- ``personalize-tracker demo``: replay the MovieLens ratings through a Tracker into a local
  PutEvents endpoint (or another endpoint) and check that every event arrived exactly once.
- ``personalize-tracker resend FILE``: send the events of a dead-letter file again.
- ``personalize-tracker --version``: print the version.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__
from .__main__ import MISSING_EXTRA_MESSAGE
from ._demo import (
    DEFAULT_DATA_PATH,
    DEFAULT_LOCAL_TRACKING_ID,
    DEFAULT_REGION,
    DEFAULT_SESSION_GAP_MINUTES,
    MovieLensFormatError,
    run_demo,
    summary_dict,
    summary_text,
)
from ._errors import InvalidEventError

__all__ = ["cli", "demo", "resend"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="personalize-tracker")
def cli() -> None:
    """Batched, retried, accounted-for event delivery to Amazon Personalize PutEvents."""


@cli.command()
@click.option(
    "--data",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=(
        f"MovieLens ratings.csv to replay (userId,movieId,rating,timestamp). Default: "
        f"{DEFAULT_DATA_PATH.as_posix()} in the current directory, else in the repository "
        f"this package was installed from."
    ),
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Replay only the first N rows of the file.",
)
@click.option(
    "--endpoint-url",
    default=None,
    metavar="URL",
    help=(
        "Send to this PutEvents endpoint instead of starting a local one, using the default AWS "
        "credential chain (for Amazon Personalize itself: "
        "https://personalize-events.<region>.amazonaws.com). Needs --tracking-id. The check of "
        "what the endpoint received is then skipped."
    ),
)
@click.option(
    "--tracking-id",
    default=None,
    help=(
        f"The event tracker's tracking id. Required with --endpoint-url; locally "
        f"'{DEFAULT_LOCAL_TRACKING_ID}'."
    ),
)
@click.option(
    "--region", default=DEFAULT_REGION, show_default=True, help="AWS region of the client."
)
@click.option(
    "--session-gap",
    type=click.FloatRange(min=0),
    default=DEFAULT_SESSION_GAP_MINUTES,
    show_default=True,
    metavar="MINUTES",
    help="A user's ratings further apart than this many minutes are in different sessions.",
)
@click.option("--no-progress", is_flag=True, help="Do not show the progress bar (stderr).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.pass_context
def demo(
    ctx: click.Context,
    data: Path | None,
    limit: int | None,
    endpoint_url: str | None,
    tracking_id: str | None,
    region: str,
    session_gap: float,
    no_progress: bool,
    as_json: bool,
) -> None:
    """Replay the MovieLens ratings through a Tracker and check every event arrived.

    Each rating becomes a 'rating' event: userId -> user_id, movieId -> item_id, rating ->
    event_value, timestamp -> sent_at, in sessions ml-<userId>-<n> cut at --session-gap minutes
    of silence. By default a local PutEvents endpoint is started on 127.0.0.1, and the events it
    received are compared with the events tracked (ids, no duplicates, fields). Prints a summary;
    exits 1 when an event was dropped, failed, went missing or arrived twice.
    """
    if endpoint_url is not None and not tracking_id:
        raise click.UsageError("--tracking-id is required with --endpoint-url")
    try:
        result = run_demo(
            data,
            limit=limit,
            endpoint_url=endpoint_url,
            tracking_id=tracking_id,
            region=region,
            session_gap_minutes=session_gap,
            progress=not no_progress,
        )
    except FileNotFoundError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param_hint="'--data'") from None
    except (MovieLensFormatError, InvalidEventError) as exc:
        raise click.ClickException(str(exc)) from None
    except ImportError as exc:
        if exc.name == "tqdm":
            raise click.ClickException(MISSING_EXTRA_MESSAGE) from None
        raise click.ClickException(
            f"the local endpoint needs the 'testing' extra ({exc}): "
            "pip install 'personalize-tracker[testing]', or pass --endpoint-url"
        ) from None
    if as_json:
        click.echo(json.dumps(summary_dict(result), indent=2))
    else:
        click.echo(summary_text(result))
    ctx.exit(0 if result.passed else 1)


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--tracking-id",
    default=None,
    help="Send to this event tracker. Default: the trackingId written in the file's lines.",
)
@click.option(
    "--endpoint-url",
    default=None,
    metavar="URL",
    help="PutEvents endpoint (default: the region's Amazon Personalize endpoint).",
)
@click.option("--region", default=None, help="AWS region (default: from the AWS configuration).")
@click.option(
    "--include-invalid",
    is_flag=True,
    help="Also resend events the service rejected as invalid (they are skipped by default).",
)
@click.option(
    "--dead-letters",
    "dead_letters",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where events that fail again are written. Default: FILE with '.retry.jsonl' added.",
)
@click.option("--no-progress", is_flag=True, help="Do not show the progress bar (stderr).")
@click.pass_context
def resend(
    ctx: click.Context,
    file: Path,
    tracking_id: str | None,
    endpoint_url: str | None,
    region: str | None,
    include_invalid: bool,
    dead_letters: Path | None,
    no_progress: bool,
) -> None:
    """Send the events of a dead-letter FILE again, through PutEvents.

    FILE is a JSON Lines file written by Tracker(dead_letter_path=...). Events keep their event
    ids, so an event that did reach Personalize before is ignored in training. Uses the default
    AWS credential chain. Prints a summary; exits 1 when an event fails again or a line cannot
    be read.
    """
    from tqdm import tqdm

    from ._resend import dead_letter_tracking_ids, resend_dead_letters
    from .tracker import Tracker

    if tracking_id is None:
        found = dead_letter_tracking_ids(file)
        if len(found) != 1:
            names = ", ".join(sorted(found)) or "none"
            raise click.UsageError(
                f"the file names {len(found)} tracking ids ({names}): pass --tracking-id"
            )
        (tracking_id,) = found
    retry_path = dead_letters or file.with_name(file.name + ".retry.jsonl")
    with file.open(encoding="utf-8") as f:
        total = sum(1 for line in f if line.strip())
    tracker = Tracker(
        tracking_id,
        region_name=region,
        endpoint_url=endpoint_url,
        dead_letter_path=retry_path,
        overflow="block",
        block_timeout=60.0,
        on_failure=lambda failed: None,  # they are in the retry file; the summary counts them
    )
    with tqdm(
        total=total, unit="event", file=sys.stderr, disable=True if no_progress else None
    ) as bar:
        try:
            summary = resend_dead_letters(
                file, tracker, include_invalid=include_invalid, on_event=bar.update
            )
        finally:
            tracker.close()
    stats = tracker.stats()
    lines = [
        f"personalize-tracker resend: {file}",
        f"  tracking id      {tracking_id}",
        f"  lines read       {summary.read:,}",
        f"  resent           {summary.resent:,}",
        f"  delivered        {stats.delivered:,}",
        f"  failed again     {stats.failed + stats.dropped:,}"
        + (f" (written to {retry_path})" if stats.failed + stats.dropped else ""),
        f"  skipped invalid  {summary.skipped_invalid:,}"
        + ("" if include_invalid or not summary.skipped_invalid else " (--include-invalid)"),
        f"  unreadable lines {len(summary.bad_lines):,}",
    ]
    for bad in summary.bad_lines[:5]:
        lines.append(f"    line {bad.line}: {bad.problem}")
    ok = stats.failed + stats.dropped == 0 and not summary.bad_lines
    lines.append("PASS: every resent event was delivered" if ok else "FAIL: see above")
    click.echo("\n".join(lines))
    ctx.exit(0 if ok else 1)
