"""``personalize-tracker replay FILE``: send an Interactions CSV or JSON Lines file through
PutEvents, with sessions, a progress bar and a summary (docs/command-line.md)."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import click

from .._tools.backfill import FailureLog, failure_record, failure_text
from .._tools.bulk import (
    BulkFormatError,
    FieldMapping,
    check_interactions_header,
    count_lines,
    detect_format,
    read_interactions_csv,
    read_json_lines,
)
from .._tools.replay import DEFAULT_SESSION_GAP_MINUTES, ReplaySummary, replay_rows
from .._tools.replay.rows import EVENT_TYPE_HINT
from ..readiness import Readiness
from ..tracker import Tracker
from ._common import (
    FILE_ARGUMENT,
    JSON_OPTION,
    NO_PROGRESS_OPTION,
    REGION_OPTION,
    bulk_tracker,
    target_of,
    target_options,
)
from ._replay_datasets import (
    dataset_file,
    destination_options,
    replay_dataset,
    tracking_id_needed,
)

__all__ = ["replay"]

# Seconds close() may take to deliver the last events once the file was read.
_CLOSE_TIMEOUT = 10.0

# Bad-row messages give Python advice (replay(), Tracker arguments): name the flags instead.
_CLI_ADVICE = {
    EVENT_TYPE_HINT: "pass --event-type for such rows",
    "pass truncate_impressions=True to the Tracker": "pass --truncate-impressions",
}


_WHAT_IS_SENT = [
    click.option(
        "--event-type",
        default=None,
        help="Event type of rows without one (a CSV without EVENT_TYPE needs it).",
    ),
    click.option(
        "--session-gap",
        type=click.FloatRange(min=0),
        default=DEFAULT_SESSION_GAP_MINUTES,
        show_default=True,
        metavar="MINUTES",
        help="A user's rows further apart than this many minutes are in different sessions "
        "(rows with a sessionId keep it).",
    ),
    click.option(
        "--truncate-impressions",
        is_flag=True,
        help="Keep the first 25 distinct ids of a longer impression (PutEvents' limit) instead "
        "of reporting the row as bad.",
    ),
    click.option(
        "--dead-letters",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Append events that fail to this JSON Lines file (for 'personalize-tracker resend').",
    ),
    click.option(
        "--random-ids",
        is_flag=True,
        help="Send rows without an event id under random ids. Default: stable ids ('rp-' + the "
        "SHA-256 of the file's name, the row's position and content), so that replaying the "
        "file again is harmless (Amazon Personalize does not train on an event id twice).",
    ),
    click.option(
        "--id-namespace",
        default=None,
        metavar="TEXT",
        help="What goes into the stable ids instead of the file's name (e.g. to keep the ids of a "
        "renamed file, or to tell apart two files of the same name).",
    ),
]


def _what_is_sent(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--event-type``, ``--session-gap``, ``--truncate-impressions``, ``--dead-letters``,
    ``--random-ids`` and ``--id-namespace``."""
    for option in reversed(_WHAT_IS_SENT):
        command = option(command)
    return command


@click.command("replay")
@FILE_ARGUMENT
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["csv", "jsonl"]),
    default=None,
    help="The file's format. Default: from the extension (.csv; .jsonl, .ndjson, .json).",
)
@destination_options
@click.option(
    "--endpoint-url",
    default=None,
    metavar="URL",
    help="PutEvents endpoint (default: the region's Amazon Personalize endpoint), e.g. the URL "
    "printed by 'personalize-tracker serve'.",
)
@REGION_OPTION
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, metavar="N", help="Replay N rows at most."
)
@_what_is_sent
@target_options
@NO_PROGRESS_OPTION
@JSON_OPTION
@click.pass_context
def replay(
    ctx: click.Context,
    /,
    file: Path,
    file_format: str | None,
    tracking_id: str | None,
    dataset_arn: str | None,
    endpoint_url: str | None,
    region: str | None,
    event_type: str | None,
    session_gap: float,
    limit: int | None,
    dead_letters: Path | None,
    truncate_impressions: bool,
    random_ids: bool,
    id_namespace: str | None,
    no_progress: bool,
    as_json: bool,
    **names: Any,  # --use-case, --recipe, --domain
) -> None:
    """Send the interactions of a bulk FILE through PutEvents, or the items, users or
    actions of one through PutItems, PutUsers or PutActions.

    FILE is an Interactions CSV, as for a dataset import job (USER_ID, ITEM_ID, TIMESTAMP in
    epoch seconds, and optionally EVENT_TYPE, EVENT_VALUE, IMPRESSION with '|' between ids,
    RECOMMENDATION_ID; other columns are contextual metadata, sent as camelCase properties),
    or JSON Lines of events (dead letters, 'serve --record' recordings, PutEvents field names).
    Rows without a sessionId are cut into sessions per user at --session-gap minutes of
    silence; rows without an eventId get a stable one, so a rerun is harmless.

    An Items, Users or Actions CSV (the header tells which: ITEM_ID, USER_ID or ACTION_ID and
    no TIMESTAMP) goes to the dataset of --dataset-arn, one put_item (put_user, put_action) a
    row: the other columns are its properties (camelCase; '|' between categorical values), an
    empty cell left out; a later row of an id replaces a waiting one.

    Bad rows are reported with their line numbers and skipped. Uses the default AWS credential
    chain. Prints a summary; exits 1 when a row was bad or a record failed.
    """
    dataset = dataset_file(ctx, file, file_format, tracking_id, dataset_arn)
    if dataset is not None:
        replay_dataset(ctx, file, dataset, dataset_arn, (endpoint_url, region, dead_letters),
                       limit=limit, progress=not no_progress, as_json=as_json)  # fmt: skip
        return
    tracking_id = tracking_id_needed(ctx, tracking_id, dataset_arn)
    target = _Target(tracking_id, endpoint_url, region, dead_letters, truncate_impressions, names)
    failures = FailureLog()
    try:
        kind = detect_format(file, file_format)
        rows, fields, total = _open_rows(file, kind, event_type, limit)
        summary, report = _replay_and_close(
            target.tracker(failures), rows, fields, total, session_gap, not no_progress,
            None if random_ids else (id_namespace or file.name))  # fmt: skip
    except BulkFormatError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    summarize = _summary_json if as_json else _summary_text
    click.echo(summarize(file, kind, target, summary, failures, report))
    ctx.exit(0 if summary.ok else 1)


@attrs.frozen
class _Target:
    """Where the events go: the event tracker, the endpoint, and the file of failed events."""

    tracking_id: str
    endpoint_url: str | None
    region: str | None
    dead_letters: Path | None
    truncate_impressions: bool = False
    #: --use-case, --recipe and --domain: what the events train (``target_of``)
    names: Mapping[str, Any] = attrs.field(factory=dict)

    def tracker(self, on_failure: FailureLog) -> Tracker:
        """A Tracker sending there (see :func:`bulk_tracker`; raises click.UsageError)."""
        return bulk_tracker(
            self.tracking_id,
            region=self.region,
            endpoint_url=self.endpoint_url,
            dead_letter_path=self.dead_letters,
            on_failure=on_failure,
            truncate_impressions=self.truncate_impressions,
            target=target_of(**self.names),
        )


def _open_rows(
    file: Path, kind: str, event_type: str | None, limit: int | None
) -> tuple[Iterator[tuple[int, Any]], FieldMapping, int]:
    """The file's ``(line, record_or_problem)`` pairs (read lazily), how records map to event
    fields, and the number of rows (for the progress bar).

    Raises:
        BulkFormatError: a CSV's header is not an Interactions CSV's (another delimiter, no
            USER_ID or TIMESTAMP).
        click.UsageError: a CSV has no EVENT_TYPE column and no ``--event-type`` was given.
        OSError: the file cannot be read.
    """
    if kind == "csv":
        with file.open(newline="", encoding="utf-8-sig") as stream:
            header = check_interactions_header(file, next(csv.reader(stream), None))
        if event_type is None and not any(
            name.strip().upper().replace("_", "") == "EVENTTYPE" for name in header
        ):
            raise click.UsageError(
                f"{file} has no EVENT_TYPE column: pass --event-type for its rows"
            )
        rows = read_interactions_csv(file, limit=limit)
        # A CSV's other columns are context; JSON Lines carry theirs in "properties".
        fields = FieldMapping(None, event_type=event_type)
    else:
        rows = read_json_lines(file, limit=limit)
        fields = FieldMapping({"context": ()}, event_type=event_type)
    return rows, fields, count_lines(file, header=kind == "csv", limit=limit)


def _replay_and_close(
    tracker: Tracker,
    rows: Iterator[tuple[int, Any]],
    fields: FieldMapping,
    total: int,
    session_gap: float,
    progress: bool,
    id_namespace: str | None,
) -> tuple[ReplaySummary, Readiness | None]:
    """Replay the rows through the tracker, then close it (delivering what is left for up to
    ``_CLOSE_TIMEOUT`` seconds, even when the replay failed). ``id_namespace``: that of the
    stable event ids, ``None`` for random ids. With a target, the readiness of what was
    delivered too."""
    try:
        summary = replay_rows(
            tracker,
            rows,
            fields,
            session_gap_minutes=session_gap,
            progress=progress,
            total=total,
            located=True,
            progress_file=sys.stderr,
            stable_ids=id_namespace is not None,
            id_namespace=id_namespace or "",
            advice=_CLI_ADVICE,
        )
    finally:
        tracker.close(timeout=_CLOSE_TIMEOUT)
    return summary, None if tracker.target is None else tracker.readiness()


def _summary_json(
    file: Path,
    kind: str,
    target: _Target,
    summary: ReplaySummary,
    failures: FailureLog,
    report: Readiness | None = None,
) -> str:
    """The summary as JSON (``--json``): the replay's, plus the file, target and failures."""
    data = {
        "file": str(file),
        "format": kind,
        "tracking_id": target.tracking_id,
        "endpoint_url": target.endpoint_url,
        "dead_letters": None if target.dead_letters is None else str(target.dead_letters),
        **summary.to_dict(),
        "failures": [failure_record(f) for f in failures.samples],
        "readiness": None if report is None else report.to_dict(),
    }
    return json.dumps(data, indent=2)


def _summary_text(
    file: Path,
    kind: str,
    target: _Target,
    summary: ReplaySummary,
    failures: FailureLog,
    report: Readiness | None = None,
) -> str:
    """The summary as text: the file, the replay's summary, a few failures."""
    lines = [f"personalize-tracker replay: {file} ({kind}) -> tracking id {target.tracking_id}"]
    lines.append(str(summary))
    lines.extend(f"    {failure_text(f)}" for f in failures.samples)
    if target.dead_letters is not None and (summary.failed or summary.dropped):
        lines.append(f"Failed events were appended to {target.dead_letters}")
    if report is not None:
        lines.append(str(report))
    return "\n".join(lines)
