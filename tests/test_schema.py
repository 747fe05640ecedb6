"""InteractionsSchema: parsing, DescribeSchema through moto, and the checks at track()."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from personalize_tracker import (
    DatasetSchema,
    InteractionsSchema,
    InvalidEventError,
    SchemaField,
    Tracker,
)
from personalize_tracker.testing import PersonalizeEventsMock

SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Interactions",
    "namespace": "com.amazonaws.personalize.schema",
    "fields": [
        {"name": "USER_ID", "type": "string"},
        {"name": "ITEM_ID", "type": "string"},
        {"name": "TIMESTAMP", "type": "long"},
        {"name": "EVENT_TYPE", "type": "string"},
        {"name": "DEVICE_TYPE", "type": ["null", "string"], "categorical": True},
        {"name": "GENRES", "type": ["null", "string"], "categorical": True},
        {"name": "NUMBER_OF_RATINGS", "type": ["null", "int"]},
        {"name": "TOTAL_VIEWS", "type": "long"},
        {"name": "PRICE", "type": ["null", "float"]},
        {"name": "IS_SALE", "type": ["null", "boolean"]},
    ],
    "version": "1.0",
}
SCHEMA_JSON = json.dumps(SCHEMA)


class NullClient:
    def put_events(self, **params: Any) -> dict[str, Any]:
        return {}


def schema_with(*extra: dict[str, Any], item_nullable: bool = False) -> InteractionsSchema:
    fields = [dict(f) for f in SCHEMA["fields"]]
    if item_nullable:
        fields[1]["type"] = ["null", "string"]
    return InteractionsSchema.from_json({**SCHEMA, "fields": fields + list(extra)})


def tracker_with(schema: InteractionsSchema, **kwargs: Any) -> Tracker:
    return Tracker("t", client=NullClient(), flush_interval=3600, schema=schema, **kwargs)


# -- parsing ----------------------------------------------------------------------------------


def test_from_json_reads_fields_types_and_flags() -> None:
    schema = InteractionsSchema.from_json(SCHEMA_JSON)
    assert schema.name == "Interactions"
    assert schema.fields[4] == SchemaField("DEVICE_TYPE", "string", nullable=True, categorical=True)
    assert schema.fields[4].property_name == "deviceType"
    assert schema.property_names == (
        "deviceType",
        "genres",
        "numberOfRatings",
        "totalViews",
        "price",
        "isSale",
    )
    assert schema.item_id_required
    assert not schema.has_event_value
    assert not schema.has_impression
    assert schema.field("number_of_ratings") == schema.fields[6]
    assert schema.field("nope") is None
    assert InteractionsSchema.from_json(SCHEMA, name="mine").name == "mine"


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ("{nope", "not valid JSON"),
        ({"type": "enum"}, "record"),
        ({"type": "record", "fields": []}, "no fields"),
        ({"type": "record", "fields": [{"type": "string"}]}, "no name"),
        ({"type": "record", "fields": [{"name": "A", "type": "bytes"}]}, "type 'bytes'"),
        ({"type": "record", "fields": [{"name": "A", "type": ["int", "string"]}]}, "union"),
        (
            {
                "type": "record",
                "fields": [
                    {"name": "DEVICE_TYPE", "type": "string"},
                    {"name": "deviceType", "type": "int"},
                ],
            },
            "same properties key",
        ),
    ],
)
def test_from_json_refuses_what_it_cannot_read(schema: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        InteractionsSchema.from_json(schema)


def test_from_arn_through_describe_schema(personalize_events: PersonalizeEventsMock) -> None:
    control = boto3.client("personalize", region_name="us-east-1")
    arn = control.create_schema(name="shop-interactions", schema=SCHEMA_JSON)["schemaArn"]
    schema = InteractionsSchema.from_arn(arn, client=control)
    assert schema.name == "shop-interactions"
    assert schema.fields == InteractionsSchema.from_json(SCHEMA_JSON).fields
    # Default client: built from the session and region given.
    again = InteractionsSchema.from_arn(arn, region_name="us-east-1")
    assert again == schema
    with pytest.raises(ClientError):
        InteractionsSchema.from_arn(arn + "-missing", client=control)


def test_non_schema_argument_is_refused() -> None:
    with pytest.raises(ValueError, match="InteractionsSchema"):
        Tracker("t", client=NullClient(), schema=SCHEMA)  # type: ignore[arg-type]


# -- checks at track() ------------------------------------------------------------------------


def test_events_checked_and_coerced_on_the_wire(personalize_events: PersonalizeEventsMock) -> None:
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    schema = InteractionsSchema.from_json(SCHEMA_JSON)
    with Tracker("t", session=session, flush_interval=3600, schema=schema) as tracker:
        tracker.track(
            "view",
            "s-1",
            "u-1",
            "i-1",
            properties={
                "NUMBER_OF_RATINGS": "12",
                "total_views": 3.0,
                "price": 10,
                "isSale": "TRUE",
                "GENRES": ["a", "b"],
                "DEVICE_TYPE": None,
            },
        )
    (event,) = personalize_events.events
    assert json.loads(event.properties or "") == {
        "numberOfRatings": 12,
        "totalViews": 3,
        "price": 10.0,
        "isSale": True,
        "genres": "a|b",
    }
    assert '"price":10.0' in (event.properties or "")


@pytest.mark.parametrize(
    ("properties", "field", "problem"),
    [
        ({"color": "red"}, "properties.color", "is not a metadata field"),
        ({"ITEM_ID": "x"}, "properties.ITEM_ID", "reserved by PutEvents"),
        ({"NUMBER_OF_RATINGS": "12.5"}, "properties.numberOfRatings", "not an integer (str)"),
        ({"NUMBER_OF_RATINGS": True}, "properties.numberOfRatings", "not an integer (bool)"),
        ({"NUMBER_OF_RATINGS": 2**31}, "properties.numberOfRatings", "out of range"),
        ({"price": "cheap"}, "properties.price", "not a finite number (str)"),
        ({"price": "nan"}, "properties.price", "not a finite number"),
        ({"is_sale": "yes"}, "properties.isSale", "not a boolean (str)"),
        ({"is_sale": 1}, "properties.isSale", "not a boolean (int)"),
        ({"DEVICE_TYPE": False}, "properties.deviceType", "is a bool"),
    ],
)
def test_schema_violations_name_field_and_schema(
    properties: dict[str, Any], field: str, problem: str
) -> None:
    tracker = tracker_with(InteractionsSchema.from_json(SCHEMA_JSON, name="shop"))
    with pytest.raises(InvalidEventError) as info:
        tracker.track("view", "s-1", "u-1", "i-1", properties=properties)
    assert info.value.field == field
    assert problem in info.value.problem
    if "reserved" not in problem:
        assert info.value.limit == "Interactions schema 'shop'"
    for value in properties.values():
        if isinstance(value, str) and value:
            assert value not in str(info.value)
    assert tracker.stats().tracked == 0
    tracker.close()


def test_unknown_key_error_lists_the_schema_fields() -> None:
    tracker = tracker_with(InteractionsSchema.from_json(SCHEMA_JSON))
    with pytest.raises(InvalidEventError, match="fields: deviceType, genres"):
        tracker.track("view", "s", "u", "i", properties={"colour": "red"})
    tracker.close()


def test_event_value_impression_and_item_id_rules() -> None:
    strict = tracker_with(InteractionsSchema.from_json(SCHEMA_JSON))
    with pytest.raises(InvalidEventError, match="event_value: cannot be sent: the schema has no"):
        strict.track("rate", "s", "u", "i", event_value=4.0)
    with pytest.raises(InvalidEventError, match="impression: cannot be sent"):
        strict.track("view", "s", "u", "i", impression=["a"])
    with pytest.raises(InvalidEventError, match="item_id: is required") as info:
        strict.track("login", "s", "u")
    assert info.value.limit == "Interactions schema 'Interactions'"
    strict.close()

    relaxed = tracker_with(
        schema_with(
            {"name": "EVENT_VALUE", "type": ["null", "float"]},
            {"name": "IMPRESSION", "type": ["null", "string"]},
            item_nullable=True,
        )
    )
    event = relaxed.track("rate", "s", "u", event_value=4.0, impression=["a", "b"])
    assert (event.item_id, event.event_value, event.impression) == (None, 4.0, ("a", "b"))
    relaxed.close()


def test_session_context_is_checked_once_at_creation() -> None:
    tracker = tracker_with(InteractionsSchema.from_json(SCHEMA_JSON))
    with pytest.raises(InvalidEventError, match=r"properties\.colour"):
        tracker.session(context={"colour": "red"})
    visitor = tracker.session(context={"NUMBER_OF_RATINGS": "7"})
    assert visitor.context == {"numberOfRatings": 7}
    with pytest.raises(InvalidEventError, match=r"properties\.price"):
        visitor.track("view", "i-1", properties={"price": "x"})
    event = visitor.track("view", "i-1", properties={"price": "2.5"})
    assert json.loads(event.properties or "") == {"numberOfRatings": 7, "price": 2.5}
    tracker.close()


def test_schema_path_keeps_putevents_rules() -> None:
    tracker = tracker_with(InteractionsSchema.from_json(SCHEMA_JSON))
    with pytest.raises(InvalidEventError, match="recommendation_id"):
        tracker.track("view", "s", "u", "i", recommendation_id="r" * 41)
    with pytest.raises(InvalidEventError, match="encodes to"):
        tracker.track("view", "s", "u", "i", properties={"genres": ["g" * 900, "h" * 200]})
    tracker.close()


# -- coercion properties ----------------------------------------------------------------------

INT_SCHEMA = schema_with()


@given(st.integers(-(2**31), 2**31 - 1), st.sampled_from(["int", "str", "float"]))
def test_int_field_coercion_is_exact(number: int, form: str) -> None:
    value: Any = {"int": number, "str": f" {number} ", "float": float(number)}[form]
    if form == "float" and float(number) != number:
        return
    checked = INT_SCHEMA.check_properties({"numberOfRatings": value})
    assert checked == {"numberOfRatings": number}
    assert type(checked["numberOfRatings"]) is int


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_field_round_trips_through_text(number: float) -> None:
    checked = INT_SCHEMA.check_properties({"price": repr(number)})
    assert checked == {"price": number}


@given(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)))
def test_string_field_takes_numbers_as_text(number: float) -> None:
    assert INT_SCHEMA.check_properties({"deviceType": number}) == {"deviceType": str(number)}


# -- dataset schemas: the field rules of items, users and actions ------------------------------

ITEMS_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Items",
    "fields": [
        {"name": "ITEM_ID", "type": "string"},
        {"name": "GENRES", "type": ["null", "string"], "categorical": True},
        {"name": "TITLE", "type": ["null", "string"]},
        {"name": "PRICE", "type": ["null", "float"]},
    ],
}
ITEMS_ARN = "arn:aws:personalize:us-east-1:123456789012:dataset/shop/ITEMS"


def items_tracker() -> Tracker:
    schema = DatasetSchema.from_json(ITEMS_SCHEMA)
    return Tracker(
        "t", client=NullClient(), flush_interval=3600, items_dataset_arn=ITEMS_ARN,
        items_schema=schema,
    )  # fmt: skip


def test_a_dataset_schema_sees_a_list_before_it_is_joined() -> None:
    # Finding 8 of the review of issue 13: {"TITLE": ["a", "b"]} was joined to "a|b" before
    # the schema saw it; only a categorical string field takes several values.
    with items_tracker() as tracker:
        with pytest.raises(InvalidEventError) as listed:
            tracker.put_item("i1", {"TITLE": ["a", "b"]})
        assert listed.value.field == "properties.title"
        assert "categorical" in str(listed.value)
        with pytest.raises(InvalidEventError, match=r"properties\.price"):
            tracker.put_item("i1", {"PRICE": [1, 2]})
        item = tracker.put_item("i1", {"GENRES": ["b", "a"], "TITLE": "a|b"})
        assert item.properties == '{"genres":"b|a","title":"a|b"}'
        assert tracker.put_item("i2", {"GENRES": {"c", "a", "b"}}).properties == (
            '{"genres":"a|b|c"}'  # a set is joined in sorted order, not hash order
        )


@pytest.mark.parametrize("value", ["x" * 1001, ["x" * 1001], "ok|" + "x" * 1001])
def test_a_categorical_value_is_at_most_1000_characters_alone_or_in_a_list(value: Any) -> None:
    with items_tracker() as tracker:
        with pytest.raises(InvalidEventError, match="1001 characters") as caught:
            tracker.put_item("i1", {"GENRES": value})
        assert caught.value.field == "properties.genres"
        tracker.put_item("i1", {"GENRES": "x" * 1000, "TITLE": "y" * 1001})
