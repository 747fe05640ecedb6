"""What to install when an optional extra is missing, for messages; imports nothing.

``personalize_tracker.__main__`` prints :data:`MISSING_EXTRA_MESSAGE` when click or tqdm cannot
be imported, so this module must not need either.

The package is installed from a clone of its repository (it is not on PyPI yet), so the
command given is the one that works there: ``pip install '.[extra]'``.
"""

from __future__ import annotations

__all__ = ["MISSING_EXTRA_MESSAGE", "install_command", "missing_extra"]


def install_command(extra: str) -> str:
    """The command that installs an extra, run in a clone of the repository.

    Args:
        extra: the extra's name (``"flask"``).

    Returns:
        ``pip install '.[flask]'`` (in the clone) — the form that works while the package is
        not on PyPI; ``pip install -e`` works the same.
    """
    return f"pip install '.[{extra}]' (in your clone of personalize-tracker)"


def missing_extra(extra: str, what: str, error: ImportError) -> ModuleNotFoundError:
    """The error to raise when ``what`` cannot import a module its extra brings.

    Args:
        extra: the extra that brings the module (``"django"``).
        what: what needs it (``"personalize_tracker.integrations.django"``).
        error: the original import error (its ``name`` is kept).

    Returns:
        A :class:`ModuleNotFoundError` (an ``ImportError``) naming the missing package (the
        top-level one: ``django``, not ``django.conf``), the extra and the command that
        installs it; raise it ``from error``.
    """
    module = error.name.partition(".")[0] if error.name else str(error)  # the distribution
    return ModuleNotFoundError(
        f"{what} needs the '{extra}' extra (no module named {module!r}): {install_command(extra)}",
        name=error.name,
    )


#: Printed to stderr (exit status 2) when click or tqdm cannot be imported.
MISSING_EXTRA_MESSAGE = (
    f"personalize-tracker: the command line needs the 'cli' extra: {install_command('cli')}"
)
