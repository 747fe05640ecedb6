"""The records of items, users, actions and action interactions, and their checks at the call."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from personalize_tracker import Action, ActionInteraction, InvalidEventError, Item, User
from personalize_tracker._limits import DATASET_LIMITS
from personalize_tracker._record.catalog import (
    build_action,
    build_action_interaction,
    build_item,
    build_user,
    check_dataset_arn,
    user_log_id,
)

ARN = "arn:aws:personalize:us-east-1:123456789012:dataset/shop/ITEMS"


def test_the_limits_come_from_the_service_model() -> None:
    assert DATASET_LIMITS.records_per_call == 10
    assert DATASET_LIMITS.item_properties_max == 32_000
    assert DATASET_LIMITS.user_properties_max == 24_000
    assert DATASET_LIMITS.action_properties_max == 32_000
    assert DATASET_LIMITS.interaction_properties_max == 1024
    assert DATASET_LIMITS.interaction_recommendation_id_max == 40
    assert DATASET_LIMITS.interaction_impression_max_items == 25


def test_an_item_is_normalised_to_camel_case_and_lists_are_joined() -> None:
    item = build_item(42, {"GENRES": ["Comedy", "Drama"], "price_usd": 9.5, "in_stock": True})
    assert item == Item("42", '{"genres":"Comedy|Drama","priceUsd":9.5,"inStock":true}')
    assert item.to_request() == {"itemId": "42", "properties": item.properties}
    assert Item.from_request(item.to_request()) == item


def test_an_item_without_properties_sends_only_its_id() -> None:
    assert build_item(uuid.UUID(int=1)).to_request() == {"itemId": str(uuid.UUID(int=1))}
    assert build_item("i1", {"GENRES": None}).properties is None


@pytest.mark.parametrize(
    ("build", "argument", "maximum"),
    [
        (build_item, "item_id", 32_000),
        (build_user, "user_id", 24_000),
        (build_action, "action_id", 32_000),
    ],
)
def test_ids_and_properties_are_held_to_the_service_model(
    build: object, argument: str, maximum: int
) -> None:
    make = build  # type: ignore[assignment]
    with pytest.raises(InvalidEventError) as empty:
        make("")  # type: ignore[operator]
    assert empty.value.field == argument
    with pytest.raises(InvalidEventError) as long_id:
        make("x" * 257)  # type: ignore[operator]
    assert "257 characters" in str(long_id.value)
    assert "256" in str(long_id.value)
    at_limit = {"d": "x" * (maximum - len('{"d":""}'))}
    assert len(make("a", at_limit).properties) == maximum  # type: ignore[operator]
    with pytest.raises(InvalidEventError) as too_long:
        make("a", {"d": "x" * maximum})  # type: ignore[operator]
    assert too_long.value.field == "properties"
    assert f"at most {maximum} characters" in str(too_long.value)


def test_astral_text_is_counted_in_utf16_code_units_as_the_service_counts() -> None:
    # Finding 5 of the review of issue 13: 200 emoji are 400 code units (the service's and the
    # local endpoint's count), refused at the call, not failed as invalid in the background.
    emoji = "\U0001f600"
    assert build_item(emoji * 128).item_id == emoji * 128  # 256 units: at the limit
    for build, field in (
        (build_item, "item_id"),
        (build_user, "user_id"),
        (build_action, "action_id"),
    ):
        with pytest.raises(InvalidEventError, match=f"{field}: is 400 UTF-16 code units"):
            build(emoji * 200)
    with pytest.raises(InvalidEventError, match="encodes to 32012 UTF-16 code units"):
        build_item("i1", {"TITLE": emoji * 16_000})
    with pytest.raises(InvalidEventError, match="encodes to 24011 UTF-16 code units"):
        build_user("u1", {"NAME": emoji * 12_000})
    with pytest.raises(InvalidEventError, match="session_id"):
        build_action_interaction("Taken", "a", emoji * 129)
    with pytest.raises(InvalidEventError, match="properties"):
        build_action_interaction("Taken", "a", "s", properties={"x": emoji * 510})


def test_the_records_own_id_is_not_a_property() -> None:
    with pytest.raises(InvalidEventError) as caught:
        build_item("i1", {"ITEM_ID": "i2"})
    assert caught.value.field == "properties.ITEM_ID"
    assert "item_id=" in str(caught.value)
    with pytest.raises(InvalidEventError):
        build_user("u1", {"userId": "u2"})
    build_user("u1", {"itemId": "i2"})  # another kind's id is a field like any other


def test_an_action_interactions_properties_follow_the_rules_of_the_datasets() -> None:
    # Finding 6 of the review of issue 13: ["a|b"] and ["a", "b"] both became "a|b", and the
    # interaction's own actionId passed as a property.
    with pytest.raises(InvalidEventError) as separator:
        build_action_interaction("Taken", "a", "s", properties={"x": ["a|b"]})
    assert separator.value.field == "properties.x"
    assert "'|'" in str(separator.value)
    for key, argument in (("ACTION_ID", "action_id"), ("eventId", "event_id")):
        with pytest.raises(InvalidEventError) as own:
            build_action_interaction("Taken", "a", "s", properties={key: "x"})
        assert own.value.field == f"properties.{key}"
        assert f"{argument}=" in str(own.value)
    ai = build_action_interaction("Taken", "a", "s", properties={"TAGS": ["a", "b"], "n": 1})
    assert ai.properties == '{"tags":"a|b","n":1}'


@pytest.mark.parametrize(
    "build",
    [
        build_item,
        build_user,
        build_action,
        lambda id_: build_action_interaction("Taken", id_, "s"),
        lambda id_: build_action_interaction("Taken", "a", id_),
        lambda id_: build_action_interaction("Taken", "a", "s", user_id=id_),
    ],
)
@pytest.mark.parametrize("placeholder", ["null", "undefined", "None", "   ", "NaN"])
def test_placeholder_ids_are_refused_as_track_refuses_them(build: Any, placeholder: str) -> None:
    # Finding 9 of the review of issue 13: the text of a missing value as an id makes every
    # record whose id went missing one record; refused unless allow_placeholder_ids.
    with pytest.raises(InvalidEventError, match="the text of a missing value"):
        build(placeholder)


def test_placeholder_ids_pass_when_allowed() -> None:
    assert build_item("null", allow_placeholders=True).item_id == "null"
    assert build_user("None", allow_placeholders=True).user_id == "None"
    assert build_action("nan", allow_placeholders=True).action_id == "nan"
    ai = build_action_interaction("Taken", "null", "null", "null", allow_placeholders=True)
    assert (ai.action_id, ai.session_id, ai.user_id) == ("null", "null", "null")
    assert build_item("nullable").item_id == "nullable"  # a real id that starts so


def test_a_multi_valued_value_holding_the_separator_is_refused() -> None:
    with pytest.raises(InvalidEventError) as caught:
        build_item("i1", {"GENRES": ["Sci-Fi|Fantasy", "Drama"]})
    assert caught.value.field == "properties.GENRES"
    assert "'|'" in str(caught.value)
    # A str is already in the bulk format: kept as is.
    assert (
        build_item("i1", {"GENRES": "Sci-Fi|Fantasy"}).properties == '{"genres":"Sci-Fi|Fantasy"}'
    )


def test_bad_values_and_shapes_are_named() -> None:
    with pytest.raises(InvalidEventError, match=r"properties\.price"):
        build_item("i1", {"price": float("nan")})
    with pytest.raises(InvalidEventError, match="JSON object"):
        build_item("i1", "[1]")
    with pytest.raises(InvalidEventError, match="second time"):
        build_item("i1", {"GENRES": "a", "genres": "b"})
    long_text = "x" * 5000  # a textual field: longer than a categorical value may be
    assert json.loads(build_item("i1", {"DESCRIPTION": long_text}).properties or "{}")


def test_a_users_log_id_is_not_the_user_id() -> None:
    user = User("alice@example.com")
    assert "alice" not in user_log_id(user)
    assert user_log_id(user) == user_log_id(User("alice@example.com"))


def test_dataset_arns_follow_the_pattern() -> None:
    assert check_dataset_arn(ARN, "items_dataset_arn") == ARN
    with pytest.raises(InvalidEventError) as caught:
        check_dataset_arn("items", "items_dataset_arn")
    assert caught.value.field == "items_dataset_arn"


def test_a_dataset_arn_of_another_dataset_or_resource_is_refused() -> None:
    # A nitpick of the review of issue 13: a campaign ARN, or the Users dataset's ARN given as
    # items_dataset_arn, passed; swapped ARNs are now caught at the call.
    users = ARN.replace("/ITEMS", "/USERS")
    assert check_dataset_arn(users, "users_dataset_arn") == users
    for arn in (users, "arn:aws:personalize:us-east-1:123456789012:campaign/shop"):
        with pytest.raises(InvalidEventError) as caught:
            check_dataset_arn(arn, "items_dataset_arn")
        assert caught.value.field == "items_dataset_arn"
        assert "an Items dataset ARN (arn:...:dataset/<group>/ITEMS)" in str(caught.value)


@pytest.mark.parametrize(
    ("call", "api"),
    [
        (lambda: build_item("x" * 257), "PutItems"),
        (lambda: build_user(""), "PutUsers"),
        (lambda: build_action("x" * 257), "PutActions"),
        (lambda: build_action_interaction("Taken", "x" * 257, "s"), "PutActionInteractions"),
        (lambda: build_action_interaction("Taken", "a", "s", event_id=""), "PutActionInteractions"),
        (
            lambda: build_action_interaction("Taken", "a", "s", recommendation_id="r" * 41),
            "PutActionInteractions",
        ),
        (
            lambda: build_action_interaction("Taken", "a", "s", impression=["a"] * 0),
            "PutActionInteractions",
        ),
        (
            lambda: build_action_interaction(
                "Taken", "a", "s", properties={"x": "y" * 600, "z": "y" * 600}
            ),
            "PutActionInteractions",
        ),
    ],
)
def test_limit_messages_name_the_operation_of_the_call(call: Any, api: str) -> None:
    # A nitpick of the review of issue 13: these cited "(PutEvents API)".
    with pytest.raises(InvalidEventError) as caught:
        call()
    assert f"({api} API)" in str(caught.value)
    assert "PutEvents" not in str(caught.value)


def test_an_action_interactions_impression_is_of_action_ids() -> None:
    with pytest.raises(InvalidEventError) as caught:
        build_action_interaction("Taken", "a", "s", impression=[str(n) for n in range(26)])
    assert "action ids (PutActionInteractions API)" in str(caught.value)
    assert "truncate_impressions" not in str(caught.value)  # not an option of track_action


def test_an_action_interaction_is_built_as_sent() -> None:
    interaction = build_action_interaction(
        "Not Taken", "a1", "s1", user_id=7, sent_at=1_714_564_800.5, event_id="e1",
        properties={"NUMBER_OF_ACTIONS": 12}, recommendation_id="r1", impression=["a1", "a2", "a1"],
    )  # fmt: skip
    assert interaction.to_request() == {
        "actionId": "a1",
        "sessionId": "s1",
        "timestamp": 1_714_564_800.5,
        "eventType": "Not Taken",
        "eventId": "e1",
        "userId": "7",
        "recommendationId": "r1",
        "impression": ["a1", "a2"],
        "properties": '{"numberOfActions":12}',
    }
    assert ActionInteraction.from_request(interaction.to_request()) == interaction
    fresh = build_action_interaction("Viewed", "a1", "s1")
    assert fresh.event_id
    assert fresh.sent_at > 0
    assert fresh.user_id is None


@pytest.mark.parametrize(
    ("given", "meant"), [("taken", "Taken"), ("NOT_TAKEN", "Not Taken"), ("viewed", "Viewed")]
)
def test_a_wrong_case_event_type_says_which_was_meant(given: str, meant: str) -> None:
    with pytest.raises(InvalidEventError) as caught:
        build_action_interaction(given, "a1", "s1")
    assert caught.value.field == "event_type"
    assert repr(given) in str(caught.value)
    assert f"did you mean {meant!r}" in str(caught.value)


def test_an_unknown_event_type_lists_the_three() -> None:
    with pytest.raises(InvalidEventError) as caught:
        build_action_interaction("click", "a1", "s1")
    assert "did you mean" not in str(caught.value)
    assert "'Viewed', 'Taken', 'Not Taken'" in str(caught.value)


def test_action_interaction_limits() -> None:
    with pytest.raises(InvalidEventError, match="recommendation_id"):
        build_action_interaction("Taken", "a1", "s1", recommendation_id="r" * 41)
    with pytest.raises(InvalidEventError, match="impression"):
        build_action_interaction("Taken", "a1", "s1", impression=[str(i) for i in range(26)])
    with pytest.raises(InvalidEventError, match="properties"):
        build_action_interaction("Taken", "a1", "s1", properties={"d": "x" * 1100})
    with pytest.raises(InvalidEventError, match="session_id"):
        build_action_interaction("Taken", "a1", "")
    with pytest.raises(InvalidEventError, match=r"properties\.userId"):
        build_action_interaction("Taken", "a1", "s1", properties={"userId": "u"})


def test_records_are_frozen() -> None:
    action = build_action("a1")
    with pytest.raises(AttributeError):
        action.action_id = "a2"  # type: ignore[misc]
    assert action == Action("a1")
    assert action.record_id == "a1"


def test_a_multi_valued_value_is_a_categorical_value_of_at_most_1000_characters() -> None:
    assert build_item("i1", {"TAGS": ["x" * 1000]}).properties == '{"tags":"' + "x" * 1000 + '"}'
    with pytest.raises(InvalidEventError) as caught:
        build_item("i1", {"TAGS": ["a", "x" * 1001]})
    assert caught.value.field == "properties.TAGS"
    assert "1000" in str(caught.value)


def test_keys_are_checked_once_per_kind() -> None:
    build_item("i1", {"USER_ID": "u"})  # a field of an Items dataset
    with pytest.raises(InvalidEventError):
        build_user("u1", {"USER_ID": "u"})  # the user's own id: refused for users only
    build_item("i2", {"USER_ID": "u"})


def test_non_ascii_text_is_kept_as_is_not_escaped() -> None:
    assert build_item("i1", {"TITLE": "Amélie"}).properties == '{"title":"Amélie"}'
    with pytest.raises(InvalidEventError, match="surrogate"):
        build_item("i1", {"TITLE": "\ud800"})
