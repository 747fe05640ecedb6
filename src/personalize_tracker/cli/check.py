"""``personalize-tracker check FILE``: what a dataset import job would reject in an
Interactions CSV, and whether its data is enough for a target (docs/readiness.md)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .._tools.check import check_interactions
from ..schema import InteractionsSchema
from ._common import FILE_ARGUMENT, JSON_OPTION, NO_PROGRESS_OPTION, target_of, target_options

__all__ = ["check"]

#: Exit status when the file cannot be read at all (click's usage errors use it too).
UNREADABLE = 2


@click.command("check")
@FILE_ARGUMENT
@click.option(
    "--schema",
    "schema_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The Interactions schema JSON (as given to CreateSchema): header and types must match.",
)
@target_options
@click.option(
    "--max-problems",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="Problems listed at most (all are counted).",
)
@NO_PROGRESS_OPTION
@JSON_OPTION
@click.pass_context
def check(
    ctx: click.Context,
    file: Path,
    schema_path: Path | None,
    use_cases: tuple[str, ...],
    recipes: tuple[str, ...],
    domain: str | None,
    max_problems: int,
    no_progress: bool,
    as_json: bool,
) -> None:
    """Check an Interactions CSV before a dataset import job.

    Lists what an import job would reject, each with its line (the header's names and the
    schema, TIMESTAMP in epoch seconds, the schema's types, IMPRESSION ids separated by '|',
    value lengths, empty required cells, one record per line), then, with a target, whether
    the data is enough for each use case or recipe (interactions, users with two or more,
    event types spelled as the use case needs). Exits 0 when ready, 1 when not, 2 when the
    file cannot be read.
    """
    target = target_of(use_cases, recipes, domain)
    try:
        schema = (
            None
            if schema_path is None
            else InteractionsSchema.from_json(schema_path.read_text(encoding="utf-8"))
        )
        result = check_interactions(
            file, schema=schema, target=target, progress=not no_progress, max_problems=max_problems
        )
    except (OSError, ValueError) as exc:
        click.echo(f"Error: {exc}", err=True)
        ctx.exit(UNREADABLE)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        click.echo(str(result))
    ctx.exit(0 if result.ready else 1)
