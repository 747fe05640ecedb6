"""``personalize-tracker replay`` of an Items, Users or Actions bulk CSV: each row through
``put_item``, ``put_user`` or ``put_action`` to the dataset of ``--dataset-arn``, with a progress
bar, bad rows by line and a summary (docs/items-users-actions.md)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from .. import FailedEvent
from .._tools.backfill import FailureLog
from .._tools.bulk import BulkFormatError, count_lines, dataset_kind_of, detect_format
from .._tools.bulk.csv_reader import read_csv_rows
from .._tools.bulk.datasets import DatasetKind, check_dataset_header
from .._tools.replay.datasets import DatasetReplaySummary, replay_dataset_rows, row_lines
from ._common import bulk_tracker

__all__ = [
    "EVENTS_ONLY",
    "dataset_file",
    "destination_options",
    "replay_dataset",
    "tracking_id_needed",
]

# Seconds close() may take to deliver the last records once the file was read.
_CLOSE_TIMEOUT = 10.0

#: The replay options that concern events only, by parameter name: given with an Items, Users
#: or Actions CSV they are an error, not silently ignored.
EVENTS_ONLY = {
    "event_type": "--event-type",
    "session_gap": "--session-gap",
    "truncate_impressions": "--truncate-impressions",
    "random_ids": "--random-ids",
    "id_namespace": "--id-namespace",
    "use_cases": "--use-case",
    "recipes": "--recipe",
    "domain": "--domain",
}

# Characters of a failed record's id quoted in the summary (an id may have 256).
_ID_SHOWN = 40

# Lines quoted for a failed record's id (an id may be on many rows).
_LINES_SHOWN = 3

# The Tracker needs a tracking id; a dataset replay sends no event with it.
_NO_TRACKING_ID = "replay-of-a-dataset-csv"


def destination_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--tracking-id`` and ``--dataset-arn``: where the file's records go."""
    command = click.option(
        "--dataset-arn",
        default=None,
        metavar="ARN",
        help="The Items, Users or Actions dataset (an Items, Users or Actions CSV: required).",
    )(command)
    return click.option(
        "--tracking-id",
        default=None,
        help="The event tracker's tracking id (an Interactions CSV or JSON Lines: required).",
    )(command)


def dataset_file(
    ctx: click.Context,
    file: Path,
    file_format: str | None,
    tracking_id: str | None,
    dataset_arn: str | None,
) -> DatasetKind | None:
    """The dataset of an Items, Users or Actions CSV, told by its header; ``None`` for
    interactions (a CSV whose header has TIMESTAMP, or JSON Lines). A header that could be
    either (``USER_ID`` and no ``TIMESTAMP``) is taken as interactions when ``--tracking-id``
    is given without ``--dataset-arn``: the Interactions check then names what is missing.

    Raises:
        click.ClickException: the format is unknown, the file cannot be read, or it is an
            Action interactions CSV.
    """
    try:
        if detect_format(file, file_format) != "csv":
            return None
        dataset = dataset_kind_of(file)
    except BulkFormatError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    if dataset is not None and dataset_arn is None and tracking_id is not None:
        return None
    return dataset


def tracking_id_needed(ctx: click.Context, tracking_id: str | None, dataset_arn: str | None) -> str:
    """The tracking id of an events replay.

    Raises:
        click.UsageError: no ``--tracking-id``, or a ``--dataset-arn`` (the file is not an
            Items, Users or Actions CSV).
    """
    if dataset_arn is not None:
        raise click.UsageError(
            "--dataset-arn is for an Items, Users or Actions CSV (ITEM_ID, USER_ID or ACTION_ID "
            "and no TIMESTAMP column); this file holds interactions: pass --tracking-id",
            ctx,
        )
    if tracking_id is None:
        raise click.UsageError("Missing option '--tracking-id' (the file holds interactions)", ctx)
    return tracking_id


def _refuse_event_options(ctx: click.Context, kind: DatasetKind) -> None:
    for name, flag in EVENTS_ONLY.items():
        if ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT):
            raise click.UsageError(f"{flag} is for interactions; the file is an {kind.label} CSV")


def replay_dataset(
    ctx: click.Context,
    file: Path,
    kind: DatasetKind,
    dataset_arn: str | None,
    where: tuple[str | None, str | None, Path | None],
    *,
    limit: int | None,
    progress: bool,
    as_json: bool,
) -> None:
    """Replay an Items, Users or Actions CSV (its dataset ``kind`` told by the header) to
    ``dataset_arn`` and exit: 0 when every row was delivered, 1 otherwise. ``where``: the
    endpoint URL, the region and the dead-letter file.

    Raises:
        click.UsageError: no ``--dataset-arn``, an option for events only, or an argument
            the Tracker refuses (a dataset ARN that is not one, no region).
        click.ClickException: the file cannot be read, or its header is not ``kind``'s.
    """
    _refuse_event_options(ctx, kind)
    if dataset_arn is None:
        raise click.UsageError(
            f"Missing option '--dataset-arn': {file.name} is an {kind.label} CSV (its header has "
            f"{kind.id_column}); pass the ARN of the {kind.label} dataset",
            ctx,
        )
    endpoint_url, region, dead_letters = where
    failures = FailureLog()
    try:
        tracker = bulk_tracker(
            _NO_TRACKING_ID,
            region=region,
            endpoint_url=endpoint_url,
            dead_letter_path=dead_letters,
            on_failure=failures,
            **_dataset_option(kind, dataset_arn),
        )
    except click.UsageError as exc:  # the ARN is not one, no region...: name the flag
        raise click.UsageError(exc.message.replace(kind.option, "--dataset-arn"), ctx) from None
    try:
        try:
            rows = read_csv_rows(file, check_dataset_header(kind), limit=limit)
            summary = replay_dataset_rows(
                tracker,
                rows,
                kind,
                total=count_lines(file, header=True, limit=limit),
                progress=progress,
                progress_file=sys.stderr,
            )
        finally:
            tracker.close(timeout=_CLOSE_TIMEOUT)
        # The lines of the records that failed in the background: a second pass over the file
        # for their few ids, only when some failed.
        failed_ids = {_raw_id(f) for f in failures.samples}
        lines = row_lines(file, kind, failed_ids, limit=limit) if failed_ids else {}
    except (OSError, ValueError) as exc:  # BulkFormatError is a ValueError
        raise click.ClickException(f"{exc}") from None
    if as_json:
        data = {"file": str(file), "dataset_arn": dataset_arn, **summary.to_dict()}
        data["failures"] = [_failure_record(f, lines) for f in failures.samples]
        click.echo(json.dumps(data, indent=2))
    else:
        failed = [(f, lines.get(_raw_id(f), [])) for f in failures.samples]
        click.echo(_summary_text(file, kind, dataset_arn, summary, failed, dead_letters))
    ctx.exit(0 if summary.ok else 1)


def _dataset_option(kind: DatasetKind, arn: str) -> dict[str, Any]:
    """The Tracker argument naming the dataset: ``{"items_dataset_arn": arn}``..."""
    return {kind.option: arn}


def _raw_id(failure: FailedEvent) -> str:
    """The id of a failed item, user or action."""
    record: Any = failure.event
    for name in ("item_id", "user_id", "action_id"):
        value = getattr(record, name, None)
        if isinstance(value, str):
            return value
    return ""


def _record_id(failure: FailedEvent) -> str | None:
    """The id of a failed item or action; ``None`` for a user (ids of people are not quoted,
    as the Tracker's own log lines do not)."""
    if hasattr(failure.event, "user_id"):
        return None
    return _raw_id(failure) or None


def _failure_record(failure: FailedEvent, lines: dict[str, list[int]]) -> dict[str, Any]:
    return {
        "id": _record_id(failure),
        "lines": lines.get(_raw_id(failure), []),
        "reason": failure.reason.value,
        "error_code": failure.error_code,
        "message": failure.message,
    }


def _failure_text(noun: str, failure: FailedEvent, lines: list[int]) -> str:
    """``failure: item <id, 40 characters at most> (line N): <reason> (<code>: <message>)``;
    a long id is shortened in the service's message too."""
    record_id, message = _record_id(failure), failure.message or ""
    which = noun
    if record_id is not None:
        shown = record_id
        if len(record_id) > _ID_SHOWN:
            shown = f"{record_id[:_ID_SHOWN]}… ({len(record_id)} characters)"
            message = message.replace(record_id, shown)
        which = f"{noun} {shown}"
    if lines:
        more = ", …" if len(lines) > _LINES_SHOWN else ""
        numbers = ", ".join(str(n) for n in lines[:_LINES_SHOWN]) + more
        which += f" ({'line' if len(lines) == 1 else 'lines'} {numbers})"
    return f"failure: {which}: {failure.reason.value} ({failure.error_code}: {message})"


def _summary_text(
    file: Path,
    kind: DatasetKind,
    dataset_arn: str,
    summary: DatasetReplaySummary,
    failures: Iterable[tuple[FailedEvent, list[int]]],
    dead_letters: Path | None,
) -> str:
    lines = [f"personalize-tracker replay: {file} ({kind.label} CSV) -> {dataset_arn}"]
    lines.append(str(summary))
    for failure, where in failures:
        lines.append(f"    {_failure_text(kind.noun, failure, where)}")
    if dead_letters is not None and (summary.failed or summary.dropped > summary.coalesced):
        lines.append(f"Failed {kind.name} were appended to {dead_letters}")
    return "\n".join(lines)
