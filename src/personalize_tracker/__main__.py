"""Entry point of the ``personalize-tracker`` command and of ``python -m personalize_tracker``.

The command line needs the ``cli`` extra (click and tqdm). This module imports neither at import
time, so that without them the command says what to install instead of showing a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._tools.extras import MISSING_EXTRA_MESSAGE

__all__ = ["MISSING_EXTRA_MESSAGE", "main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``personalize-tracker`` command line.

    Args:
        argv: the arguments after the program name (default: ``sys.argv[1:]``).

    Raises:
        SystemExit: always, with the command's exit status: 0 on success, 1 when a command fails
            (e.g. the demo's check), 2 on a usage error or when click or tqdm (the ``cli`` extra)
            is not installed.
    """
    try:
        import click  # noqa: F401
        import tqdm  # noqa: F401
    except ImportError:
        print(MISSING_EXTRA_MESSAGE, file=sys.stderr)
        raise SystemExit(2) from None

    from .cli import cli

    cli.main(args=None if argv is None else list(argv), prog_name="personalize-tracker")


if __name__ == "__main__":  # pragma: no cover - exercised through ``python -m``
    main()
