"""``personalize-tracker export`` of dead letters of items, users or actions: an Items, Users or
Actions bulk CSV for a dataset import job (docs/items-users-actions.md)."""

from __future__ import annotations

import datetime
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import click

from .._tools.bulk import DATASET_KINDS, DatasetKind
from .._tools.bulk.dataset_export import (
    DatasetExport,
    DatasetLetter,
    letters_of,
    read_dataset_letters,
    write_dataset_csv,
)
from .._tools.bulk.export import uncertain_columns
from .._tools.bulk.jsonl_reader import json_objects, line_kind

__all__ = ["KIND_CHOICES", "column_caution", "echo_skipped", "export_dataset", "export_kind"]

#: ``--kind``: what the CSV holds.
KIND_CHOICES = ("interactions", "items", "users", "actions")

# Unusable lines quoted on stderr; the others are counted.
_PROBLEMS_SHOWN = 20


def echo_skipped(problems: Sequence[str], other_kinds: Mapping[str, int]) -> None:
    """On stderr: the lines skipped (the first 20 quoted), and how many lines of other kinds
    ``--kind`` left out (not a failure: the file holds several kinds)."""
    for problem in problems[:_PROBLEMS_SHOWN]:
        click.echo(f"  {problem}", err=True)
    if len(problems) > _PROBLEMS_SHOWN:
        click.echo(f"  ... and {len(problems) - _PROBLEMS_SHOWN:,} more", err=True)
    if other_kinds:
        counts = ", ".join(f"{kind}: {count:,}" for kind, count in other_kinds.items())
        click.echo(
            f"  left out: {sum(other_kinds.values()):,} line(s) of other kinds ({counts}), "
            "for another --kind",
            err=True,
        )


def export_kind(files: Sequence[Path], given: str | None) -> str:
    """The kind of CSV to write: ``given`` (``--kind``), else the one kind the files' lines
    are of (``"interactions"`` for files without a readable line).

    Raises:
        click.ClickException: the files hold lines of several kinds, or only of action
            interactions (no bulk CSV of theirs is written).
        OSError: a file cannot be read.
    """
    if given is not None:
        return given
    found: dict[str, None] = {}
    for path in files:
        for _, record in json_objects(path):
            if not isinstance(record, str):
                found[line_kind(record)] = None
    kinds = list(found) or ["interactions"]
    if len(kinds) > 1:
        raise click.ClickException(
            f"the files hold lines of {', '.join(kinds)}: a CSV is of one kind; pass --kind "
            f"({', '.join(k for k in kinds if k in KIND_CHOICES)})"
        )
    if kinds[0] not in KIND_CHOICES:
        raise click.ClickException(
            f"the files hold {kinds[0]}: export writes an Interactions, Items, Users or Actions CSV"
        )
    return kinds[0]


def export_dataset(
    ctx: click.Context,
    files: Sequence[Path],
    kind_name: str,
    output: Path,
    *,
    exclude_invalid: bool,
    names: Mapping[str, str] | None,
) -> None:
    """Write the dead letters of ``kind_name`` in ``files`` as its bulk CSV to ``output``
    (``-``: stdout), report the lines skipped on stderr with two cautions (an import puts an
    older write back over a later one delivered; column names guessed where a schema may spell
    them otherwise), and exit (1 if a line was skipped).

    Raises:
        click.ClickException: a file cannot be read or the output written.
    """
    kind = DATASET_KINDS[kind_name]
    problems: list[str] = []
    other_kinds: dict[str, int] = {}
    try:
        letters = _letters(files, kind, exclude_invalid, problems, other_kinds)
        if str(output) == "-":
            written = write_dataset_csv(sys.stdout, kind, letters, names=names)
        else:
            with output.open("w", newline="", encoding="utf-8") as stream:
                written = write_dataset_csv(stream, kind, letters, names=names)
    except OSError as exc:
        raise click.ClickException(str(exc)) from None
    where = "stdout" if str(output) == "-" else str(output)
    click.echo(
        f"personalize-tracker export: {written.rows:,} {kind.name} to {where} ({kind.label} "
        f"CSV), {len(problems):,} line(s) skipped",
        err=True,
    )
    for caution in _cautions(written, names):
        click.echo(f"  caution: {caution}", err=True)
    echo_skipped(problems, other_kinds)
    ctx.exit(1 if problems else 0)


def _cautions(written: DatasetExport, names: Mapping[str, str] | None) -> Iterator[str]:
    """What to check before importing the CSV: that a later write was not delivered since (an
    import puts the older value back), and the column names a schema may spell otherwise."""
    if written.failed_from is not None and written.failed_to is not None:
        yield (
            f"each row is the last write of its id that failed (failed from "
            f"{_utc(written.failed_from)} to {_utc(written.failed_to)}): importing the CSV puts "
            "it back over any later write of the id that was delivered; leave out the ids "
            "written since"
        )
    caution = column_caution(written.columns, names)
    if caution is not None:
        yield caution


def column_caution(columns: Mapping[str, str], names: Mapping[str, str] | None) -> str | None:
    """The caution about column names a schema may spell otherwise (``None``: none is).

    Args:
        columns: ``properties`` key -> the column name written.
        names: the schema's names (``--schema``), or ``None``.
    """
    guessed = uncertain_columns(columns, names)
    if not guessed:
        return None
    return (
        "column names guessed from camelCase keys, which lose the '_' before a digit: "
        f"{', '.join(guessed)}; a header the dataset's schema does not have fails the "
        "import job: pass --schema"
    )


def _utc(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def _letters(
    files: Sequence[Path],
    kind: DatasetKind,
    exclude_invalid: bool,
    problems: list[str],
    other_kinds: dict[str, int],
) -> Iterator[DatasetLetter]:
    for path in files:
        read = read_dataset_letters(path, kind, other_kinds=other_kinds)
        for letter in letters_of(read, problems, str(path)):
            if not (exclude_invalid and letter.reason == "invalid"):
                yield letter
