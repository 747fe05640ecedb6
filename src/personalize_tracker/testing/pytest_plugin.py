"""pytest fixtures for the fake Personalize endpoints.

Registered through the ``pytest11`` entry point ``personalize_tracker``, so the fixtures are
available wherever personalize-tracker is installed. This module imports nothing heavy at import
time: moto is only imported when a fixture is used, so pytest keeps working for users who did not
install the ``testing`` extra.

Fixtures:
    personalize_events: in-process fake
        (:func:`~personalize_tracker.testing.mock_personalize_events`); yields a
        :class:`~personalize_tracker.testing.PersonalizeEventsMock`.
    personalize_events_server: local HTTP server
        (:func:`~personalize_tracker.testing.serve_personalize_events`); yields the handle with
        ``endpoint_url`` set.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from personalize_tracker.testing import PersonalizeEventsMock

__all__ = ["personalize_events", "personalize_events_server"]


@pytest.fixture
def personalize_events() -> Iterator[PersonalizeEventsMock]:
    """In-process fake PutEvents & runtime APIs inside ``mock_aws()``; yields the handle.

    Raises:
        ImportError: if moto is not installed (``pip install 'personalize-tracker[testing]'``).
        RuntimeError: if moto's internals moved.
    """
    from personalize_tracker.testing import mock_personalize_events

    with mock_personalize_events() as handle:
        yield handle


@pytest.fixture
def personalize_events_server() -> Iterator[PersonalizeEventsMock]:
    """Fake endpoints over HTTP on 127.0.0.1 (a free port); yields the handle with endpoint_url.

    Raises:
        ImportError: if moto is not installed (``pip install 'personalize-tracker[testing]'``).
        RuntimeError: if moto's internals moved or the server did not start.
    """
    from personalize_tracker.testing import serve_personalize_events

    with serve_personalize_events() as handle:
        yield handle
