"""``personalize-tracker export FILE...``: write JSON Lines events (dead letters, recordings) as
an Interactions CSV for a dataset import job."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import attrs
import click

from .. import Event, InteractionsSchema
from .._tools.bulk import (
    INTERACTIONS_COLUMNS,
    BulkFormatError,
    ExportLine,
    read_export_events,
    write_interactions_csv,
)
from .._tools.bulk.export import to_upper_snake
from ._export_datasets import (
    KIND_CHOICES,
    column_caution,
    echo_skipped,
    export_dataset,
    export_kind,
)

__all__ = ["export"]


@click.command("export")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=Path("-"),
    show_default=True,
    help="The CSV file to write; '-' is stdout.",
)
@click.option(
    "--exclude-invalid",
    is_flag=True,
    help="Leave out dead letters the service rejected as invalid.",
)
@click.option(
    "--all-columns",
    is_flag=True,
    help="Write every Interactions column, even one no event has a value for "
    "(default: EVENT_VALUE, IMPRESSION and RECOMMENDATION_ID only when used).",
)
@click.option(
    "--schema",
    "schema_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The dataset's schema (Avro JSON): property columns take its fields' own names "
    "(FEATURE0 stays FEATURE0, not FEATURE_0).",
)
@click.option(
    "--kind",
    type=click.Choice(KIND_CHOICES),
    default=None,
    help="The CSV to write: the lines of this kind (default: the one kind the lines are of).",
)
@click.pass_context
def export(
    ctx: click.Context,
    files: tuple[Path, ...],
    output: Path,
    exclude_invalid: bool,
    all_columns: bool,
    schema_file: Path | None,
    kind: str | None,
) -> None:
    """Write the events of JSON Lines FILES as an Interactions CSV for a dataset import job.

    FILES hold dead letters (Tracker(dead_letter_path=...)) or event dicts with the PutEvents
    field names plus sessionId and userId ('serve --record' recordings, the spool). The CSV has
    the columns USER_ID, ITEM_ID, TIMESTAMP (whole epoch seconds), EVENT_TYPE, then EVENT_VALUE,
    IMPRESSION ('|' between ids) and RECOMMENDATION_ID when used, then each property as an
    UPPER_SNAKE context column (deviceType -> DEVICE_TYPE, userFeature0 -> USER_FEATURE_0; with
    --schema, the schema's own field names).

    Dead letters of items, users or actions (their "kind") become an Items, Users or Actions
    CSV: ITEM_ID, then a column per property (see --schema); an id's last line wins (an import
    puts it back over later writes). A CSV holds one kind: with several, pick one with --kind.
    Lines that cannot be exported (no userId, torn JSON) are reported on stderr with their line
    numbers; exits 1 if there were any. Lines of other kinds are counted as left out.
    """
    names = _schema_names(schema_file)
    try:
        kind = export_kind(files, kind)
    except OSError as exc:
        raise click.ClickException(str(exc)) from None
    if kind != "interactions":
        export_dataset(ctx, files, kind, output, exclude_invalid=exclude_invalid, names=names)
        return
    try:
        # First pass: the columns (the header comes first), and the problems.
        scan = _scan(files, exclude_invalid)
        columns = INTERACTIONS_COLUMNS if all_columns else tuple(scan.used)
        events = _events(files, exclude_invalid)
        written = _write(output, events, list(scan.context), columns, names)
    except (OSError, BulkFormatError) as exc:
        raise click.ClickException(str(exc)) from None
    where = "stdout" if str(output) == "-" else str(output)
    problems = scan.problems
    click.echo(
        f"personalize-tracker export: {written:,} events to {where}, "
        f"{len(problems):,} line(s) skipped",
        err=True,
    )
    caution = column_caution({key: to_upper_snake(key) for key in scan.context}, names)
    if caution is not None:
        click.echo(f"  caution: {caution}", err=True)
    echo_skipped(problems, scan.other_kinds)
    ctx.exit(1 if problems else 0)


def _schema_names(path: Path | None) -> dict[str, str] | None:
    """``properties`` key -> the schema's field name, from ``--schema`` (``None``: not given).

    Raises:
        click.BadParameter: the file cannot be read or is not an Avro schema.
    """
    if path is None:
        return None
    try:
        schema = InteractionsSchema.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint="'--schema'") from None
    return {field.property_name: field.name for field in schema.fields}


def _usable(
    path: Path, exclude_invalid: bool, other_kinds: dict[str, int]
) -> Iterator[ExportLine | tuple[int, str]]:
    """The lines of a file to export: its events, less invalid dead letters if asked, and its
    ``(line, problem)`` pairs; lines of other kinds are counted in ``other_kinds``."""
    for item in read_export_events(path, other_kinds=other_kinds):
        if isinstance(item, ExportLine) and exclude_invalid and item.reason == "invalid":
            continue
        yield item


@attrs.define
class _Scan:
    """What the first pass over the files found.

    Attributes:
        used: the Interactions columns some event has a value for (the four required ones
            always).
        context: the ``properties`` keys of the events, in the order first seen (a dict used as
            an ordered set).
        problems: ``"<file>:<line>: <problem>"`` for each line that cannot be exported.
        other_kinds: lines of items, users... (another ``--kind``), counted by kind.
    """

    used: set[str] = attrs.field(factory=lambda: {"USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"})
    context: dict[str, None] = attrs.field(factory=dict)
    problems: list[str] = attrs.field(factory=list)
    other_kinds: dict[str, int] = attrs.field(factory=dict)


def _scan(files: Sequence[Path], exclude_invalid: bool) -> _Scan:
    """Read the files once for the header's columns and the problems.

    Raises:
        OSError: a file cannot be read.
    """
    scan = _Scan()
    for path in files:
        for item in _usable(path, exclude_invalid, scan.other_kinds):
            if not isinstance(item, ExportLine):
                scan.problems.append(f"{path}:{item[0]}: {item[1]}")
                continue
            event = item.event
            if event.event_value is not None:
                scan.used.add("EVENT_VALUE")
            if event.impression:
                scan.used.add("IMPRESSION")
            if event.recommendation_id:
                scan.used.add("RECOMMENDATION_ID")
            if event.properties:
                scan.context.update(dict.fromkeys(json.loads(event.properties)))
    return scan


def _events(files: Sequence[Path], exclude_invalid: bool) -> Iterator[Event]:
    """The events to export, file after file (the second pass)."""
    for path in files:
        for item in _usable(path, exclude_invalid, {}):  # counted by the first pass
            if isinstance(item, ExportLine):
                yield item.event


def _write(
    output: Path,
    events: Iterator[Event],
    context: list[str],
    columns: Sequence[str],
    names: dict[str, str] | None,
) -> int:
    """Write the CSV to ``output`` (``-``: stdout); return the number of events written.
    ``names``: the context columns' names by ``properties`` key (``--schema``).

    Raises:
        OSError: the file cannot be written, or an input file read.
    """
    if str(output) == "-":
        return write_interactions_csv(
            sys.stdout, events, context=context, columns=columns, names=names
        )
    with output.open("w", newline="", encoding="utf-8") as stream:
        return write_interactions_csv(stream, events, context=context, columns=columns, names=names)
