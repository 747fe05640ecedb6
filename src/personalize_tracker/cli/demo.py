"""``personalize-tracker demo``: replay the MovieLens ratings through a Tracker into a local
PutEvents endpoint (or another endpoint) and check that every event arrived exactly once."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .. import InvalidEventError
from .._tools.demo import (
    DEFAULT_DATA_PATH,
    DEFAULT_LOCAL_TRACKING_ID,
    DEFAULT_REGION,
    DEFAULT_SESSION_GAP_MINUTES,
    DemoResult,
    MovieLensFormatError,
    run_demo,
    summary_dict,
    summary_text,
)
from .._tools.extras import MISSING_EXTRA_MESSAGE, install_command
from ._common import JSON_OPTION, NO_PROGRESS_OPTION
from .fleet import add_fleet_option

__all__ = ["demo"]


#: --endpoint-url, --tracking-id, --items-dataset-arn and --region: where the demo sends.
_WHERE = [
    click.option(
        "--endpoint-url",
        default=None,
        metavar="URL",
        help=(
            "Send to this PutEvents endpoint instead of starting a local one, using the default "
            "AWS credential chain (for Amazon Personalize itself: "
            "https://personalize-events.<region>.amazonaws.com). Needs --tracking-id. The check "
            "of what the endpoint received is then skipped."
        ),
    ),
    click.option(
        "--tracking-id",
        default=None,
        help=(
            f"The event tracker's tracking id. Required with --endpoint-url; locally "
            f"'{DEFAULT_LOCAL_TRACKING_ID}'."
        ),
    ),
    click.option(
        "--items-dataset-arn",
        default=None,
        metavar="ARN",
        help="The Items dataset the catalogue (movies.csv beside the ratings) is sent to with "
        "PutItems. Locally a made-up one; with --endpoint-url, without it the catalogue is not "
        "sent.",
    ),
    click.option(
        "--region", default=DEFAULT_REGION, show_default=True, help="AWS region of the client."
    ),
]


def _where(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options of :data:`_WHERE`, in their order."""
    for option in reversed(_WHERE):
        command = option(command)
    return command


@click.command("demo")
@click.option(
    "--data",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=(
        f"MovieLens ratings.csv to replay (userId,movieId,rating,timestamp). Default: "
        f"{DEFAULT_DATA_PATH.as_posix()} in the current directory (a clone of the "
        f"repository), else in the clone of an editable install. The data is not in the "
        f"wheel: from a wheel, pass the ratings.csv of MovieLens 'ml-latest-small' "
        f"(grouplens.org/datasets/movielens)."
    ),
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Replay only the first N rows of the file.",
)
@_where
@click.option(
    "--session-gap",
    type=click.FloatRange(min=0),
    default=DEFAULT_SESSION_GAP_MINUTES,
    show_default=True,
    metavar="MINUTES",
    help="A user's ratings further apart than this many minutes are in different sessions.",
)
@NO_PROGRESS_OPTION
@JSON_OPTION
@click.pass_context
def demo(
    ctx: click.Context,
    data: Path | None,
    limit: int | None,
    endpoint_url: str | None,
    tracking_id: str | None,
    items_dataset_arn: str | None,
    region: str,
    session_gap: float,
    no_progress: bool,
    as_json: bool,
) -> None:
    """Send the MovieLens catalogue, replay its ratings through a Tracker, and check every item
    and event arrived.

    First each movie of movies.csv (beside the ratings) is put to the Items dataset: movieId ->
    item_id, title -> TITLE, genres -> GENRES (a categorical field, '|' between values); with
    --limit, only the movies those ratings rate. Then each rating becomes a 'rating' event:
    userId -> user_id, movieId -> item_id, rating -> event_value, timestamp -> sent_at, in
    sessions ml-<userId>-<n> cut at --session-gap minutes of silence. By default a local
    endpoint is started on 127.0.0.1, and the items and events it received are compared with
    those sent. Prints a summary; exits 1 when an item or an event was dropped, failed, went
    missing or arrived twice.
    """
    if endpoint_url is not None and not tracking_id:
        raise click.UsageError("--tracking-id is required with --endpoint-url")
    result = _run(
        ctx,
        data,
        limit=limit,
        endpoint_url=endpoint_url,
        tracking_id=tracking_id,
        region=region,
        session_gap_minutes=session_gap,
        progress=not no_progress,
        items_dataset_arn=items_dataset_arn,
    )
    if as_json:
        click.echo(json.dumps(summary_dict(result), indent=2))
    else:
        click.echo(summary_text(result))
    ctx.exit(0 if result.passed else 1)


def _run(
    ctx: click.Context,
    data: Path | None,
    *,
    limit: int | None,
    endpoint_url: str | None,
    tracking_id: str | None,
    region: str,
    session_gap_minutes: float,
    progress: bool,
    items_dataset_arn: str | None,
) -> DemoResult:
    """:func:`run_demo`, its errors turned into click's (each says what to do).

    Raises:
        click.BadParameter: the ratings file does not exist (exit status 2).
        click.ClickException: the file cannot be read, or an extra is missing (exit status 1).
    """
    try:
        return run_demo(
            data,
            limit=limit,
            endpoint_url=endpoint_url,
            tracking_id=tracking_id,
            region=region,
            session_gap_minutes=session_gap_minutes,
            progress=progress,
            items_dataset_arn=items_dataset_arn,
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
            f"{install_command('testing')}, or pass --endpoint-url"
        ) from None


add_fleet_option(demo)  # demo --fleet N: the fleet demo (cli/fleet.py)
