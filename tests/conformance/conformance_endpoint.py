"""The local endpoint the conformance table runs against, and the check of one outcome.

Not a ``conftest.py``: ``tests/conftest.py`` is imported as ``conftest`` by the tests above.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from personalize_tracker.testing import (
    PersonalizeEventsMock,
    mock_personalize_events,
    serve_personalize_events,
)

from conformance_cases import Case, normalized, with_tracker


class Endpoint:
    """The endpoint's handle and the tracking id of an event tracker it knows; ``url`` is
    ``None`` in process."""

    def __init__(self, handle: PersonalizeEventsMock) -> None:
        self.handle = handle
        self.url = handle.endpoint_url
        group = handle.resources.create_dataset_group("conformance", region="us-east-1")
        self.tracking_id = handle.resources.tracking_id_of(
            handle.resources.create_event_tracker(group)
        )

    def prepare(self, case: Case) -> dict[str, Any]:
        """Reset the records, set strictness; return the parameters to send."""
        self.handle.reset()
        self.handle.strict_resources = case.strict
        return with_tracker(case.params, self.tracking_id)

    def check(
        self, case: Case, params: dict[str, Any], status: int | None, code: str | None
    ) -> None:
        """Assert the client saw ``status``/``code`` as the case expects (``status`` None when
        the client does not expose it), and that the endpoint recorded the call."""
        assert code == case.code, (case.name, code)
        if status is not None:
            assert status == case.status, (case.name, status)
        (request,) = self.handle.requests
        assert (request.operation, request.status, request.error_code) == (
            case.operation,
            case.status,
            case.code,
        )
        expected = params if case.recorded is None else case.recorded
        assert normalized(request.params) == normalized(expected), case.name
        if case.events is not None:
            assert len(self.handle.events) == case.events


@pytest.fixture(scope="module", name="endpoint")
def endpoint_fixture() -> Iterator[Endpoint]:
    """The local endpoint over HTTP, for one test module (imported by each)."""
    with serve_personalize_events() as handle:
        yield Endpoint(handle)


@pytest.fixture(scope="module", name="in_process_endpoint")
def in_process_endpoint_fixture() -> Iterator[Endpoint]:
    """The endpoint in process (under moto's ``mock_aws()``), for one test module."""
    with mock_personalize_events() as handle:
        yield Endpoint(handle)
