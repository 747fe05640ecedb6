"""``personalize-tracker resend FILE``: send the events of a dead-letter file again."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import click

from .. import TrackerStats
from .._tools.deadletters import file_kind
from .._tools.resend import DeadLetterScan, ResendSummary, resend_dead_letters, scan_dead_letters
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
    help="Append events that fail again to this file. Default: FILE with '.retry.jsonl' added, "
    "written anew by each run (removed when nothing failed).",
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
    AWS credential chain. Events that fail again go to FILE.retry.jsonl, replaced by each run
    (and removed when none failed), or appended to --dead-letters. Dead letters of items,
    users, actions and action interactions in FILE are not resent: the summary counts them and
    says how to send them (export, then replay). Prints a summary; exits 1 when an event fails
    again or a line cannot be read.
    """
    from tqdm import tqdm

    _check_kind(file)
    scan = scan_dead_letters(file)
    _check_events(file, scan)
    if tracking_id is None:
        tracking_id = _the_tracking_id(scan)
    retry_path = dead_letters or file.with_name(file.name + ".retry.jsonl")
    # The default retry file holds this run's failures only: written aside, then swapped in.
    writing = retry_path if dead_letters else retry_path.with_name(retry_path.name + ".partial")
    with contextlib.suppress(FileNotFoundError):
        if writing != retry_path:
            writing.unlink()
    with file.open(encoding="utf-8") as f:
        total = sum(1 for line in f if line.strip())
    tracker = bulk_tracker(
        tracking_id,
        region=region,
        endpoint_url=endpoint_url,
        dead_letter_path=writing,
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
            if writing != retry_path:
                _swap_in(writing, retry_path)
    stats = tracker.stats()
    ok = stats.failed + stats.dropped == 0 and not summary.bad_lines
    click.echo(_summary_text(file, tracking_id, retry_path, summary, stats, include_invalid, ok))
    ctx.exit(0 if ok else 1)


def _check_kind(file: Path) -> None:
    """Refuse a file that holds no dead letters, saying what it is and what reads it.

    Raises:
        click.UsageError: the file is empty, holds plain events, or is not dead letters.
    """
    kind = file_kind(file)
    if kind == "dead letters":
        return
    if kind == "events":
        raise click.UsageError(
            f"{file} is not a dead-letter file: its lines are events (as 'serve --record' "
            f"writes them); use 'personalize-tracker replay {file}' to send them"
        )
    if kind == "empty":
        raise click.UsageError(f"{file} is empty: no dead letters to resend")
    raise click.UsageError(
        f"{file} is not a dead-letter file (lines with an 'event' object, as "
        "Tracker(dead_letter_path=...) writes them); an Interactions CSV or JSON Lines of events "
        "is sent with 'personalize-tracker replay'"
    )


def _check_events(file: Path, scan: DeadLetterScan) -> None:
    """Refuse a file of dead letters of other kinds only, saying how to send them.

    Raises:
        click.UsageError: the file holds no event, and lines of items, users...
    """
    if scan.events or not scan.other_kinds:
        return
    kinds = ", ".join(f"{kind} ({count:,})" for kind, count in scan.other_kinds.items())
    hints = "; ".join(f"{kind}: {_other_kind_hint(kind, file)}" for kind in scan.other_kinds)
    raise click.UsageError(f"{file} holds no dead letters of events, only of {kinds}. {hints}")


def _other_kind_hint(kind: str, file: Path) -> str:
    """How to send the dead letters of ``kind`` (items, users...) again."""
    if kind == "action_interactions":
        return "no bulk file takes them: track them again with Tracker.track_action"
    return (
        f"'personalize-tracker export --kind {kind} {file} -o {kind}.csv', then "
        f"'personalize-tracker replay {kind}.csv --dataset-arn ARN'"
    )


def _swap_in(written: Path, retry_path: Path) -> None:
    """Make ``written`` (this run's failures) the retry file; none failed: no retry file."""
    if written.exists() and written.stat().st_size > 0:
        os.replace(written, retry_path)
        return
    for path in (written, retry_path):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _the_tracking_id(scan: DeadLetterScan) -> str:
    """The one tracking id written in the file's lines of events.

    Raises:
        click.UsageError: the file names none, or several (pass ``--tracking-id``).
    """
    found = scan.tracking_ids
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
    for kind, count in summary.other_kinds.items():
        lines.append(f"  not resent       {count:,} {kind}: {_other_kind_hint(kind, file)}")
    lines.append("PASS: every resent event was delivered" if ok else "FAIL: see above")
    return "\n".join(lines)
