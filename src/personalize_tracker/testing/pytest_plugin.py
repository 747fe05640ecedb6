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
        ``endpoint_url`` set. While it runs, the environment points boto3 at it with fake
        credentials (``AWS_ENDPOINT_URL_PERSONALIZE_EVENTS`` and the like), so a Tracker built
        without ``endpoint_url`` or credentials cannot reach AWS.

Trackers a test leaves open are closed against the fake when the fixture ends, with a
:class:`~personalize_tracker.testing.LeakedTrackerWarning`.
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

    While the test runs, boto3 clients built without an ``endpoint_url`` go to the server too,
    with fake credentials and a default region (see ``fake_aws_environment``); the environment
    is restored afterwards.

    Raises:
        ImportError: if moto is not installed (``pip install 'personalize-tracker[testing]'``).
        RuntimeError: if moto's internals moved or the server did not start.
    """
    from personalize_tracker.testing import serve_personalize_events
    from personalize_tracker.testing._leaks import fake_aws_environment

    with serve_personalize_events() as handle:
        assert handle.endpoint_url is not None
        with fake_aws_environment(handle.endpoint_url):
            yield handle
