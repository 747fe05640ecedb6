"""What to install when an optional extra is missing, for messages; imports nothing.

``personalize_tracker.__main__`` prints :data:`MISSING_EXTRA_MESSAGE` when click or tqdm cannot
be imported, so this module must not need either.
"""

from __future__ import annotations

__all__ = ["MISSING_EXTRA_MESSAGE"]

#: Printed to stderr (exit status 2) when click or tqdm cannot be imported.
MISSING_EXTRA_MESSAGE = (
    "personalize-tracker: the command line needs the 'cli' extra: "
    "pip install 'personalize-tracker[cli]'"
)
