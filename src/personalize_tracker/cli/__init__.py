"""The ``personalize-tracker`` command line (click). Needs the ``cli`` extra: click and tqdm.

Commands, one module each:

- ``personalize-tracker demo``: replay the MovieLens ratings through a Tracker into a local
  PutEvents endpoint (or another endpoint) and check that every event arrived exactly once.
- ``personalize-tracker resend FILE``: send the events of a dead-letter file again.
- ``personalize-tracker replay FILE``: send an Interactions CSV or JSON Lines file through
  PutEvents, with sessions, a progress bar and a summary.
- ``personalize-tracker export FILE...``: write JSON Lines events (dead letters, recordings) as an
  Interactions CSV for a dataset import job.
- ``personalize-tracker serve``: run the local testing endpoint on 127.0.0.1.
- ``personalize-tracker consume --stream NAME``: deliver a Kinesis stream's events to PutEvents
  (the local runner of ``personalize_tracker.kinesis``).
- ``personalize-tracker check FILE``: what a dataset import job would reject in an Interactions
  CSV, and whether its data is enough for a target.
- ``personalize-tracker --version``: print the version.

The work is done by ``personalize_tracker._tools``; these modules parse options and print.
"""

from __future__ import annotations

import click

from .. import __version__

# Each name below is the command, as before the commands had modules of their own; the
# modules themselves are imported with ``from personalize_tracker.cli.replay import ...``.
from .check import check
from .consume import consume
from .demo import demo
from .export import export
from .replay import replay
from .resend import resend
from .serve import serve

__all__ = ["check", "cli", "consume", "demo", "export", "replay", "resend", "serve"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="personalize-tracker")
def cli() -> None:
    """Batched, retried, accounted-for event delivery to Amazon Personalize PutEvents."""


for _command in (demo, resend, replay, export, serve, consume, check):
    cli.add_command(_command)
