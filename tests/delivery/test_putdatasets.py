"""PutItems, PutUsers, PutActions and PutActionInteractions transports, against a fake client."""

from __future__ import annotations

from typing import Any

import pytest

from personalize_tracker._delivery.putdatasets import (
    PutActionInteractionsTransport,
    PutDatasetTransport,
)
from personalize_tracker._errors import SendError
from personalize_tracker._record.catalog import (
    build_action,
    build_action_interaction,
    build_item,
    build_user,
)

from conftest import client_error

ARN = "arn:aws:personalize:us-east-1:123456789012:dataset/shop/ITEMS"


class Recorder:
    """Records each call by method name; raises ``error`` when set."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.error = error

    def __getattr__(self, method: str) -> Any:
        def call(**params: Any) -> dict[str, Any]:
            self.calls.append((method, params))
            if self.error is not None:
                raise self.error
            return {}

        return call


@pytest.mark.parametrize(
    ("kind", "record", "method", "list_name"),
    [
        ("items", build_item("i1", {"GENRES": ["a", "b"]}), "put_items", "items"),
        ("users", build_user("u1", {"AGE": 30}), "put_users", "users"),
        ("actions", build_action("a1"), "put_actions", "actions"),
    ],
)
def test_one_call_per_batch_with_the_dataset_arn(
    kind: Any, record: Any, method: str, list_name: str
) -> None:
    client = Recorder()
    PutDatasetTransport(client, kind).send(ARN, [record, record])
    assert client.calls == [
        (method, {"datasetArn": ARN, list_name: [record.to_request(), record.to_request()]})
    ]


def test_action_interactions_carry_their_sessions_under_the_tracking_id() -> None:
    client = Recorder()
    first = build_action_interaction("Taken", "a1", "s1", user_id="u1")
    second = build_action_interaction("Viewed", "a2", "s2")
    PutActionInteractionsTransport(client).send("tid", [first, second])
    assert client.calls == [
        (
            "put_action_interactions",
            {"trackingId": "tid", "actionInteractions": [first.to_request(), second.to_request()]},
        )
    ]


@pytest.mark.parametrize(
    ("error", "flags"),
    [
        (client_error("InvalidInputException", 400), {"invalid": True, "retryable": False}),
        (client_error("ThrottlingException", 400), {"throttled": True, "retryable": True}),
        (client_error("InternalServerError", 500), {"retryable": True, "throttled": False}),
        (client_error("ResourceNotFoundException", 404), {"rejected": True, "retryable": False}),
    ],
)
def test_errors_are_classified_as_put_events_are(error: Exception, flags: dict[str, bool]) -> None:
    for transport, key, record in (
        (PutDatasetTransport(Recorder(error), "items"), ARN, build_item("i1")),
        (PutActionInteractionsTransport(Recorder(error)), "tid",
         build_action_interaction("Taken", "a", "s")),
    ):  # fmt: skip
        with pytest.raises(SendError) as caught:
            transport.send(key, [record])
        for flag, value in flags.items():
            assert getattr(caught.value, flag) is value, flag
