"""``personalize-tracker resend FILE``: send the events of a dead-letter file again."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import TrackerStats
from .._tools.resend import ResendSummary, dead_letter_tracking_ids, resend_dead_letters
from ._common import FILE_ARGUMENT, NO_PROGRESS_OPTION, REGION_OPTION, bulk_tracker

__all__ = ["resend"]


@click.command("resend")
@FILE_ARGUMENT
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
@REGION_OPTION
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
@NO_PROGRESS_OPTION
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

    if tracking_id is None:
        tracking_id = _the_tracking_id(file)
    retry_path = dead_letters or file.with_name(file.name + ".retry.jsonl")
    with file.open(encoding="utf-8") as f:
        total = sum(1 for line in f if line.strip())
    tracker = bulk_tracker(
        tracking_id,
        region=region,
        endpoint_url=endpoint_url,
        dead_letter_path=retry_path,
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
    ok = stats.failed + stats.dropped == 0 and not summary.bad_lines
    click.echo(_summary_text(file, tracking_id, retry_path, summary, stats, include_invalid, ok))
    ctx.exit(0 if ok else 1)


def _the_tracking_id(file: Path) -> str:
    """The one tracking id written in the file's lines.

    Raises:
        click.UsageError: the file names none, or several (pass ``--tracking-id``).
    """
    found = dead_letter_tracking_ids(file)
    if len(found) != 1:
        names = ", ".join(sorted(found)) or "none"
        raise click.UsageError(
            f"the file names {len(found)} tracking ids ({names}): pass --tracking-id"
        )
    (tracking_id,) = found
    return tracking_id


def _summary_text(
    file: Path,
    tracking_id: str,
    retry_path: Path,
    summary: ResendSummary,
    stats: TrackerStats,
    include_invalid: bool,
    ok: bool,
) -> str:
    """The summary printed: counts, the first unreadable lines, and PASS or FAIL."""
    failed_again = stats.failed + stats.dropped
    lines = [
        f"personalize-tracker resend: {file}",
        f"  tracking id      {tracking_id}",
        f"  lines read       {summary.read:,}",
        f"  resent           {summary.resent:,}",
        f"  delivered        {stats.delivered:,}",
        f"  failed again     {failed_again:,}"
        + (f" (written to {retry_path})" if failed_again else ""),
        f"  skipped invalid  {summary.skipped_invalid:,}"
        + ("" if include_invalid or not summary.skipped_invalid else " (--include-invalid)"),
        f"  unreadable lines {len(summary.bad_lines):,}",
    ]
    for bad in summary.bad_lines[:5]:
        lines.append(f"    line {bad.line}: {bad.problem}")
    lines.append("PASS: every resent event was delivered" if ok else "FAIL: see above")
    return "\n".join(lines)
