"""The local endpoint's records of PutItems, PutUsers, PutActions and PutActionInteractions: the
handle's ``.items``, ``.users``, ``.actions`` and ``.action_interactions``, their ``wait_for_*``,
their ``reject_*`` rules and faults injected into these operations; in process and over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from personalize_tracker.testing import (
    PersonalizeEventsMock,
    RecordedAction,
    RecordedActionInteraction,
    RecordedItem,
    RecordedUser,
    mock_personalize_events,
    serve_personalize_events,
)

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})
GROUP = "arn:aws:personalize:us-east-1:123456789012:dataset/shop"
ITEMS = f"{GROUP}/ITEMS"
OTHER_ITEMS = "arn:aws:personalize:us-east-1:123456789012:dataset/other/ITEMS"
USERS = f"{GROUP}/USERS"
ACTIONS = f"{GROUP}/ACTIONS"


@pytest.fixture(params=["in_process", "server"])
def fake(request: pytest.FixtureRequest) -> Iterator[tuple[PersonalizeEventsMock, Any]]:
    """The handle and a personalize-events client, once in process and once over HTTP."""
    context = mock_personalize_events if request.param == "in_process" else serve_personalize_events
    with context() as handle:
        extra: dict[str, Any] = {}
        if handle.endpoint_url is not None:
            extra = {
                "endpoint_url": handle.endpoint_url,
                "aws_access_key_id": "testing",
                "aws_secret_access_key": "testing",
            }
        client = boto3.client(
            "personalize-events", region_name="us-east-1", config=NO_RETRY, **extra
        )
        yield handle, client


def code_and_message(call: Callable[..., Any], **params: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as excinfo:
        call(**params)
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["Error"]["Message"]


def interaction(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "actionId": "a1",
        "sessionId": "s1",
        "timestamp": 1714564800.25,
        "eventType": "Taken",
    }
    base.update(overrides)
    return base


def test_each_operation_is_recorded_with_its_dataset(
    fake: tuple[PersonalizeEventsMock, Any],
) -> None:
    handle, client = fake
    client.put_items(
        datasetArn=ITEMS,
        items=[{"itemId": "i1", "properties": '{"genres": "Comedy|Drama"}'}, {"itemId": "i2"}],
    )
    client.put_items(datasetArn=OTHER_ITEMS, items=[{"itemId": "i1"}])
    client.put_users(datasetArn=USERS, users=[{"userId": "u1", "properties": '{"age": 3}'}])
    client.put_actions(datasetArn=ACTIONS, actions=[{"actionId": "a1"}])
    assert handle.items == [
        RecordedItem(ITEMS, "i1", '{"genres": "Comedy|Drama"}'),
        RecordedItem(ITEMS, "i2", None),
        RecordedItem(OTHER_ITEMS, "i1", None),
    ]
    assert handle.users == [RecordedUser(USERS, "u1", '{"age": 3}')]
    assert handle.actions == [RecordedAction(ACTIONS, "a1", None)]
    assert handle.events == []
    assert handle.action_interactions == []


def test_action_interactions_carry_their_own_session(
    fake: tuple[PersonalizeEventsMock, Any],
) -> None:
    handle, client = fake
    client.put_action_interactions(
        trackingId="t",
        actionInteractions=[
            interaction(),
            interaction(
                actionId="a2",
                sessionId="s2",
                userId="u2",
                eventType="Not Taken",
                eventId="e2",
                recommendationId="r1",
                impression=["a2", "a3"],
                properties='{"channel": "web"}',
            ),
        ],
    )
    first, second = handle.action_interactions
    assert first == RecordedActionInteraction("t", "a1", "s1", "Taken", 1714564800.25)
    assert second == RecordedActionInteraction(
        tracking_id="t",
        action_id="a2",
        session_id="s2",
        event_type="Not Taken",
        timestamp=second.timestamp,
        user_id="u2",
        event_id="e2",
        recommendation_id="r1",
        impression=("a2", "a3"),
        properties='{"channel": "web"}',
    )
    assert second.timestamp == pytest.approx(1714564800.25)


def test_an_invalid_call_records_nothing(fake: tuple[PersonalizeEventsMock, Any]) -> None:
    handle, client = fake
    eleven = [{"itemId": f"i{n}"} for n in range(11)]
    assert code_and_message(client.put_items, datasetArn=ITEMS, items=eleven)[0] == (
        "InvalidInputException"
    )
    bad_type = interaction(eventType="Clicked")
    code, message = code_and_message(
        client.put_action_interactions, trackingId="t", actionInteractions=[bad_type]
    )
    assert (code, "Clicked" in message) == ("InvalidInputException", True)
    assert handle.items == []
    assert handle.action_interactions == []
    assert [(r.operation, r.status) for r in handle.requests] == [
        ("PutItems", 400),
        ("PutActionInteractions", 400),
    ]


def test_reject_items_fails_the_whole_call_naming_the_item(
    fake: tuple[PersonalizeEventsMock, Any],
) -> None:
    handle, client = fake
    handle.reject_items(lambda item: item.item_id == "poison", message="bad price")
    batch = [{"itemId": "i0"}, {"itemId": "poison"}, {"itemId": "i2"}]
    code, message = code_and_message(client.put_items, datasetArn=ITEMS, items=batch)
    assert code == "InvalidInputException"
    assert message == "Invalid item at index 1 of items (itemId='poison'): bad price"
    assert handle.items == []
    # Split as a client must: the healthy parts are accepted, the poison alone is not.
    client.put_items(datasetArn=ITEMS, items=batch[:1])
    client.put_items(datasetArn=ITEMS, items=batch[2:])
    assert [item.item_id for item in handle.items] == ["i0", "i2"]
    # Rules are per operation: a user of the same id passes.
    client.put_users(datasetArn=USERS, users=[{"userId": "poison"}])
    assert [user.user_id for user in handle.users] == ["poison"]


@pytest.mark.parametrize(
    ("operation", "reject", "call", "expected"),
    [
        (
            "PutUsers",
            "reject_users",
            lambda c: c.put_users(datasetArn=USERS, users=[{"userId": "u1"}]),
            "Invalid user at index 0 of users (userId='u1'): rejected by test predicate",
        ),
        (
            "PutActions",
            "reject_actions",
            lambda c: c.put_actions(datasetArn=ACTIONS, actions=[{"actionId": "a1"}]),
            "Invalid action at index 0 of actions (actionId='a1'): rejected by test predicate",
        ),
        (
            "PutActionInteractions",
            "reject_action_interactions",
            lambda c: c.put_action_interactions(
                trackingId="t", actionInteractions=[interaction(eventId="e1")]
            ),
            "Invalid action interaction at index 0 of actionInteractions (eventId='e1'): "
            "rejected by test predicate",
        ),
    ],
)
def test_reject_rules_of_the_other_operations(
    fake: tuple[PersonalizeEventsMock, Any],
    operation: str,
    reject: str,
    call: Callable[[Any], Any],
    expected: str,
) -> None:
    handle, client = fake
    getattr(handle, reject)(lambda record: True)
    with pytest.raises(ClientError) as excinfo:
        call(client)
    assert excinfo.value.response["Error"]["Code"] == "InvalidInputException"
    assert excinfo.value.response["Error"]["Message"] == expected
    assert [(r.operation, r.status) for r in handle.requests] == [(operation, 400)]
    assert (handle.users, handle.actions, handle.action_interactions) == ([], [], [])


def test_a_failing_predicate_is_answered_500(fake: tuple[PersonalizeEventsMock, Any]) -> None:
    handle, client = fake

    def broken(item: RecordedItem) -> bool:
        raise RuntimeError("predicate bug")

    handle.reject_items(broken)
    code, message = code_and_message(client.put_items, datasetArn=ITEMS, items=[{"itemId": "i"}])
    assert (code, "predicate bug" in message) == ("InternalFailure", True)
    assert handle.items == []


def test_faults_apply_to_the_operation_named(fake: tuple[PersonalizeEventsMock, Any]) -> None:
    handle, client = fake
    handle.inject_fault("throttling", operation="PutItems")
    handle.inject_fault("unavailable", operation="PutActionInteractions")
    # Other operations are not affected by a fault aimed at PutItems.
    client.put_users(datasetArn=USERS, users=[{"userId": "u1"}])
    items = [{"itemId": "i1"}]
    assert code_and_message(client.put_items, datasetArn=ITEMS, items=items)[0] == (
        "ThrottlingException"
    )
    assert code_and_message(
        client.put_action_interactions, trackingId="t", actionInteractions=[interaction()]
    )[0] == ("ServiceUnavailable")
    assert handle.items == []
    client.put_items(datasetArn=ITEMS, items=items)
    client.put_action_interactions(trackingId="t", actionInteractions=[interaction()])
    assert [item.item_id for item in handle.items] == ["i1"]
    assert len(handle.action_interactions) == 1
    assert [user.user_id for user in handle.users] == ["u1"]


def test_wait_for_returns_when_the_records_arrive(
    fake: tuple[PersonalizeEventsMock, Any],
) -> None:
    handle, client = fake
    assert handle.wait_for_items(1, timeout=0) is False
    sender = threading.Thread(
        target=lambda: client.put_items(
            datasetArn=ITEMS, items=[{"itemId": "i1"}, {"itemId": "i2"}]
        )
    )
    sender.start()
    try:
        assert handle.wait_for_items(2, timeout=10) is True
    finally:
        sender.join()
    client.put_users(datasetArn=USERS, users=[{"userId": "u1"}])
    client.put_actions(datasetArn=ACTIONS, actions=[{"actionId": "a1"}])
    client.put_action_interactions(trackingId="t", actionInteractions=[interaction()])
    assert handle.wait_for_users(1, timeout=0) is True
    assert handle.wait_for_actions(1, timeout=0) is True
    assert handle.wait_for_action_interactions(1, timeout=0) is True
    assert handle.wait_for_action_interactions(2, timeout=0) is False


def test_reset_forgets_records_and_rules(fake: tuple[PersonalizeEventsMock, Any]) -> None:
    handle, client = fake
    client.put_items(datasetArn=ITEMS, items=[{"itemId": "i1"}])
    client.put_action_interactions(trackingId="t", actionInteractions=[interaction()])
    handle.reject_items(lambda item: True)
    handle.reject_action_interactions(lambda record: True)
    handle.reset()
    assert handle.items == []
    assert handle.action_interactions == []
    client.put_items(datasetArn=ITEMS, items=[{"itemId": "i2"}])
    client.put_action_interactions(trackingId="t", actionInteractions=[interaction()])
    assert [item.item_id for item in handle.items] == ["i2"]
    assert len(handle.action_interactions) == 1


def test_strict_resources_records_only_what_names_an_active_dataset() -> None:
    with mock_personalize_events(strict_resources=True) as handle:
        group = handle.resources.create_dataset_group("shop", region="us-east-1")
        items = handle.resources.create_dataset(group, "Items")
        client = boto3.client("personalize-events", region_name="us-east-1", config=NO_RETRY)
        missing = items.replace("/ITEMS", "/USERS")
        code, _ = code_and_message(client.put_users, datasetArn=missing, users=[{"userId": "u"}])
        assert code == "ResourceNotFoundException"
        client.put_items(datasetArn=items, items=[{"itemId": "i1"}])
        assert handle.items == [RecordedItem(items, "i1", None)]
        assert handle.users == []
