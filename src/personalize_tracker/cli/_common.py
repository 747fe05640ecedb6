"""What the commands share: click options and arguments declared alike, and the Tracker of the
bulk commands (``replay``, ``resend``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from .. import FailedEvent
from ..readiness import Target
from ..tracker import Tracker

__all__ = [
    "FILE_ARGUMENT",
    "JSON_OPTION",
    "NO_PROGRESS_OPTION",
    "REGION_OPTION",
    "bulk_tracker",
    "target_of",
    "target_options",
]

#: ``FILE``: an existing file (``replay``, ``resend``).
FILE_ARGUMENT = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
#: ``--region`` with no default: the AWS configuration's (``replay``, ``resend``).
REGION_OPTION = click.option(
    "--region", default=None, help="AWS region (default: from the AWS configuration)."
)
#: ``--no-progress``: no tqdm bar on stderr.
NO_PROGRESS_OPTION = click.option(
    "--no-progress", is_flag=True, help="Do not show the progress bar (stderr)."
)
#: ``--json``: the summary as JSON on stdout, passed as ``as_json``.
JSON_OPTION = click.option(
    "--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout."
)

_DOMAIN_OF = {"aws-ecomm-": "ECOMMERCE", "aws-vod-": "VIDEO_ON_DEMAND"}


def target_options(command: Callable[..., None]) -> Callable[..., None]:
    """``--use-case NAME``, ``--recipe NAME`` (both repeatable) and ``--domain NAME``: what the
    events train (``check``, ``replay``), passed as ``use_cases``, ``recipes`` and ``domain``."""
    command = click.option(
        "--domain",
        type=click.Choice(["ECOMMERCE", "VIDEO_ON_DEMAND"]),
        default=None,
        help="A domain: all its use cases (or those of --use-case).",
    )(command)
    command = click.option(
        "--recipe",
        "recipes",
        multiple=True,
        metavar="NAME",
        help="A custom recipe (aws-user-personalization-v2); repeatable.",
    )(command)
    return click.option(
        "--use-case",
        "use_cases",
        multiple=True,
        metavar="NAME",
        help="A domain use case by recipe name (aws-ecomm-popular-items-by-views); repeatable.",
    )(command)


def target_of(
    use_cases: Sequence[str], recipes: Sequence[str], domain: str | None
) -> Target | None:
    """The :class:`Target` the options name, or None when they name none.

    Raises:
        click.UsageError: both use cases and recipes, use cases of no single domain, or a name
            the target refuses.
    """
    if use_cases and recipes:
        raise click.UsageError("give --use-case or --recipe, not both")
    try:
        if use_cases:
            names = [u.rsplit("/", 1)[-1] for u in use_cases]
            domains = {d for prefix, d in _DOMAIN_OF.items() for n in names if n.startswith(prefix)}
            if domain is not None:
                domains.add(domain)
            if len(domains) != 1:
                raise click.UsageError(
                    "--use-case: name the use cases of one domain (aws-ecomm-... or aws-vod-...)"
                )
            return Target.domain(domains.pop(), use_cases=use_cases)
        if recipes:
            return Target.recipe(*recipes)
        return None if domain is None else Target.domain(domain)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


# Seconds track() may wait for room in the queue: the bulk commands block rather than drop.
_BLOCK_TIMEOUT = 60.0


def bulk_tracker(
    tracking_id: str,
    *,
    region: str | None,
    endpoint_url: str | None,
    dead_letter_path: Path | None,
    on_failure: Callable[[Sequence[FailedEvent]], None],
    truncate_impressions: bool = False,
    target: Target | None = None,
    **datasets: Any,
) -> Tracker:
    """Return the Tracker of a bulk command: ``overflow="block"``, so no event is dropped.

    Args:
        tracking_id: the event tracker's tracking id.
        region: the AWS region, or ``None`` for the AWS configuration's.
        endpoint_url: the PutEvents endpoint, or ``None`` for the region's.
        dead_letter_path: where failed events are appended, or ``None``.
        on_failure: the Tracker's ``on_failure`` handler.
        truncate_impressions: the Tracker's ``truncate_impressions`` (``--truncate-impressions``).
        target: what the events train: each event is checked against it (warnings on logger
            ``personalize_tracker``), or None.
        datasets: the Tracker's dataset options, e.g. ``items_dataset_arn=`` (``replay`` of an
            Items, Users or Actions CSV).

    Raises:
        click.UsageError: the Tracker refused an argument, e.g. no region is configured (the
            message then points at ``--region``).
    """
    try:
        return Tracker(
            tracking_id,
            region_name=region,
            endpoint_url=endpoint_url,
            dead_letter_path=dead_letter_path,
            overflow="block",
            block_timeout=_BLOCK_TIMEOUT,
            on_failure=on_failure,
            truncate_impressions=truncate_impressions,
            target=target,
            **datasets,
        )
    except ValueError as exc:  # no region: name the flag, not the Tracker's argument
        message = str(exc)
        if "region" in message:
            message = message.replace("pass region_name= (or the session's)", "pass --region")
            if "--region" not in message:
                message += " (--region)"
        raise click.UsageError(message) from None
