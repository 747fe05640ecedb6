"""Validation at track() time: every PutEvents rule, with errors that name field, problem, limit."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from personalize_tracker import LIMITS, Event, InvalidEventError, to_camel_case
from personalize_tracker._record.properties import MAX_CATEGORY_LENGTH, encode_properties


def make(**kwargs: object) -> Event:
    args: dict[str, object] = {"event_type": "click", "session_id": "s-1"}
    args.update(kwargs)
    return Event.create(**args)  # type: ignore[arg-type]


def test_limits_come_from_botocore_model() -> None:
    assert LIMITS.max_events_per_call == 10
    assert LIMITS.recommendation_id_max == 40
    assert LIMITS.impression_max_items == 25
    assert LIMITS.properties_max == 1024
    assert LIMITS.event_type_max == 256


def test_minimal_event_gets_id_and_time() -> None:
    event = make()
    assert event.event_id
    assert len(event.event_id) <= LIMITS.event_id_max
    assert abs(event.sent_at - dt.datetime.now(dt.timezone.utc).timestamp()) < 60
    assert make().event_id != event.event_id


def test_to_put_events_has_only_given_fields() -> None:
    event = make(
        user_id="u",
        item_id="i",
        event_value=4.5,
        properties={"DEVICE_TYPE": "ios"},
        sent_at=1_714_564_800.123,
        event_id="e-1",
        recommendation_id="RID-1",
        impression=["i", "j"],
        metric_attribution_source="email",
    )
    assert event.to_put_events() == {
        "eventId": "e-1",
        "eventType": "click",
        "sentAt": 1_714_564_800.123,
        "itemId": "i",
        "eventValue": 4.5,
        "properties": '{"deviceType":"ios"}',
        "recommendationId": "RID-1",
        "impression": ["i", "j"],
        "metricAttribution": {"eventAttributionSource": "email"},
    }
    assert make().to_put_events().keys() == {"eventId", "eventType", "sentAt"}


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("event_type", LIMITS.event_type_max),
        ("session_id", LIMITS.session_id_max),
        ("user_id", LIMITS.user_id_max),
        ("item_id", LIMITS.item_id_max),
        ("event_id", LIMITS.event_id_max),
        ("recommendation_id", LIMITS.recommendation_id_max),
    ],
)
def test_string_fields_respect_model_maximum(field: str, limit: int) -> None:
    assert getattr(make(**{field: "x" * limit}), field) == "x" * limit
    with pytest.raises(InvalidEventError) as info:
        make(**{field: "x" * (limit + 1)})
    assert info.value.field == field
    assert str(limit) in str(info.value)
    assert f"{limit + 1} characters" in str(info.value)


@given(length=st.integers(min_value=0, max_value=600))
def test_event_type_length_rule(length: int) -> None:
    if 1 <= length <= LIMITS.event_type_max:
        assert make(event_type="e" * length).event_type == "e" * length
    else:
        with pytest.raises(InvalidEventError, match="event_type"):
            make(event_type="e" * length)


@pytest.mark.parametrize("field", ["session_id", "user_id", "item_id", "recommendation_id"])
def test_empty_strings_rejected(field: str) -> None:
    with pytest.raises(InvalidEventError, match=f"{field}: is empty"):
        make(**{field: ""})


def test_int_and_uuid_ids_are_converted_but_bools_and_floats_are_not() -> None:
    event = make(session_id=7, user_id=42, item_id=9)
    assert (event.session_id, event.user_id, event.item_id) == ("7", "42", "9")
    key = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert make(user_id=key).user_id == "12345678-1234-5678-1234-567812345678"
    with pytest.raises(
        InvalidEventError, match="user_id: must be a str, an int or a UUID, got bool"
    ):
        make(user_id=True)
    with pytest.raises(
        InvalidEventError, match="item_id: must be a str, an int or a UUID, got float"
    ):
        make(item_id=1.5)
    with pytest.raises(InvalidEventError, match="event_type: must be a str"):
        make(event_type=3)


@pytest.mark.parametrize("value", [True, "4", None.__class__, float("nan"), float("inf")])
def test_event_value_must_be_finite_number(value: object) -> None:
    with pytest.raises(InvalidEventError, match="event_value"):
        make(event_value=value)


def test_event_value_accepts_int_float_and_decimal() -> None:
    assert make(event_value=3).event_value == 3.0
    assert make(event_value=2.5).event_value == 2.5
    assert make(event_value=Decimal("19.99")).event_value == 19.99  # a DecimalField price
    assert encode_properties({"price": Decimal("4.50")}) == '{"price":4.5}'
    with pytest.raises(InvalidEventError, match="event_value"):
        make(event_value=Decimal("NaN"))


# -- sent_at -----------------------------------------------------------------------------------


def test_sent_at_naive_datetime_is_an_error() -> None:
    with pytest.raises(InvalidEventError, match="naive datetime") as info:
        make(sent_at=dt.datetime(2024, 5, 1, 12, 0))
    assert info.value.field == "sent_at"


def test_sent_at_aware_datetime_keeps_offset_and_milliseconds() -> None:
    tokyo = dt.timezone(dt.timedelta(hours=9))
    event = make(sent_at=dt.datetime(2024, 5, 1, 21, 0, 0, 123000, tzinfo=tokyo))
    assert event.sent_at == pytest.approx(1_714_564_800.123)
    assert event.sent_at_datetime == dt.datetime(2024, 5, 1, 12, 0, 0, 123000, dt.timezone.utc)


@pytest.mark.parametrize(
    ("value", "unit"),
    [
        (1_714_564_800_123, "milliseconds"),
        (1_714_564_800_123_456, "microseconds"),
        (1_714_564_800_123_456_789, "nanoseconds"),
    ],
)
def test_sent_at_in_wrong_unit_says_so(value: int, unit: str) -> None:
    with pytest.raises(InvalidEventError, match=unit) as info:
        make(sent_at=value)
    divisor = {"milliseconds": "1,000", "microseconds": "1,000,000", "nanoseconds": "10**9"}
    assert f"divide by {divisor[unit]})" in str(info.value)


@pytest.mark.parametrize("value", [-1, float("nan"), "2024-05-01", True])
def test_sent_at_rejects_nonsense(value: object) -> None:
    with pytest.raises(InvalidEventError, match="sent_at"):
        make(sent_at=value)


@given(st.floats(min_value=0, max_value=4_102_444_800))  # up to 2100
def test_sent_at_epoch_seconds_round_trip(value: float) -> None:
    assert make(sent_at=value).sent_at == value


# -- impression --------------------------------------------------------------------------------


def test_impression_keeps_order_and_removes_repeats() -> None:
    assert make(impression=["b", "a", "b", 3]).impression == ("b", "a", "3")


@given(st.integers(min_value=0, max_value=40))
def test_impression_count_rule(count: int) -> None:
    ids = [f"i{n}" for n in range(count)]
    if 1 <= count <= LIMITS.impression_max_items:
        assert make(impression=ids).impression == tuple(ids)
    else:
        with pytest.raises(InvalidEventError, match="impression"):
            make(impression=ids)


def test_impression_rejects_string_and_bad_ids() -> None:
    with pytest.raises(InvalidEventError, match="single string"):
        make(impression="abc")
    with pytest.raises(InvalidEventError, match=r"impression\[1\]: is empty"):
        make(impression=["a", ""])
    with pytest.raises(InvalidEventError, match=r"impression\[0\]"):
        make(impression=["x" * (LIMITS.item_id_max + 1)])


# -- metric attribution --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "   ", "caf\u00e9", "tab\there", "x" * 1025])
def test_attribution_source_must_be_printable_ascii(value: str) -> None:
    with pytest.raises(InvalidEventError, match="metric_attribution_source"):
        make(metric_attribution_source=value)


def test_attribution_source_ok() -> None:
    assert make(metric_attribution_source=" email campaign ").metric_attribution_source


# -- properties ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("DEVICE_TYPE", "deviceType"),
        ("device_type", "deviceType"),
        ("deviceType", "deviceType"),
        ("LOCATION", "location"),
        ("NUMBER_OF_RATINGS", "numberOfRatings"),
        ("Device_Type", "deviceType"),
        ("DeviceType", "deviceType"),
    ],
)
def test_camel_case(name: str, expected: str) -> None:
    assert to_camel_case(name) == expected


def test_properties_mapping_encoded_compactly_in_camel_case() -> None:
    encoded = encode_properties(
        {"DEVICE_TYPE": "ios", "num_ratings": 12, "premium": True, "GENRES": ["a", "b"]}
    )
    assert encoded == '{"deviceType":"ios","numRatings":12,"premium":true,"genres":"a|b"}'


def test_properties_string_is_checked_and_normalised() -> None:
    assert encode_properties('{"DEVICE_TYPE": "web"}') == '{"deviceType":"web"}'
    with pytest.raises(InvalidEventError, match="not valid JSON"):
        encode_properties("{nope")
    with pytest.raises(InvalidEventError, match="JSON object, got list"):
        encode_properties("[1, 2]")


def test_properties_none_values_are_left_out_and_empty_is_none() -> None:
    assert encode_properties({"a": None, "b": 1}) == '{"b":1}'
    assert encode_properties({}) is None
    assert make(properties={"x": None}).properties is None


@pytest.mark.parametrize(
    "key", ["userId", "USER_ID", "session_id", "EVENT_TYPE", "timestamp", "Impression"]
)
def test_reserved_property_keys(key: str) -> None:
    with pytest.raises(InvalidEventError, match="reserved"):
        encode_properties({key: "x"})


def test_property_key_collision_after_normalising() -> None:
    with pytest.raises(InvalidEventError, match="both the field 'deviceType'"):
        encode_properties({"DEVICE_TYPE": "a", "deviceType": "b"})


@pytest.mark.parametrize("value", [{"nested": 1}, float("nan"), [None], b"bytes"])
def test_property_values_of_unsupported_types(value: object) -> None:
    with pytest.raises(InvalidEventError, match=r"properties\.k"):
        encode_properties({"k": value})


@given(st.integers(min_value=1, max_value=1100))
def test_properties_length_limit(length: int) -> None:
    # Two values, each within the 1000-character limit of a categorical value.
    overhead = len('{"a":"","b":""}')
    total = max(0, length - overhead)
    properties = {"a": "v" * (total // 2), "b": "w" * (total - total // 2)}
    size = len(json.dumps(properties, separators=(",", ":")))
    if size <= LIMITS.properties_max:
        assert encode_properties(properties) is not None
    else:
        with pytest.raises(InvalidEventError, match=f"encodes to {size} characters"):
            encode_properties(properties)


def test_lengths_are_counted_in_utf16_code_units_as_the_service_counts() -> None:
    # Finding 5 of the review of issue 13: an emoji is one Python character, two UTF-16 code
    # units (the service's String length, and the local endpoint's).
    emoji = "\U0001f600"
    Event.create("click", emoji * 128, user_id="\u00e9" * 256)  # 256 units each: at the limit
    with pytest.raises(InvalidEventError, match="session_id: is 258 UTF-16 code units"):
        Event.create("click", emoji * 129)
    assert encode_properties({"x": emoji * 508}) is not None  # 8 + 1,016 units
    with pytest.raises(InvalidEventError, match="encodes to 1028 UTF-16 code units"):
        encode_properties({"x": emoji * 510})


@pytest.mark.parametrize(
    "value", ["x" * (MAX_CATEGORY_LENGTH + 1), ["ok", "y" * (MAX_CATEGORY_LENGTH + 1)]]
)
def test_categorical_value_limit(value: object) -> None:
    with pytest.raises(
        InvalidEventError, match=r"properties\.k: has a value 1001 characters"
    ) as info:
        encode_properties({"k": value})
    assert "1000 characters per value" in str(info.value)
    assert "xxx" not in str(info.value)
    assert "yyy" not in str(info.value)
    assert encode_properties({"k": "z" * MAX_CATEGORY_LENGTH}) is not None


def test_error_does_not_echo_sensitive_values() -> None:
    with pytest.raises(InvalidEventError) as info:
        make(user_id="secret-user-" + "x" * 300)
    assert "secret-user" not in str(info.value)


def test_invalid_event_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="event_type"):
        make(event_type="")


def test_create_builds_the_same_event_as_the_attrs_constructor() -> None:
    # create() fills the slots itself (faster than attrs' frozen __init__): the result must be
    # indistinguishable from Event(...), field by field, and stay frozen.
    import attrs

    event = Event.create(
        "click",
        "s1",
        user_id="u1",
        item_id="i1",
        event_value=2.5,
        properties={"DEVICE_TYPE": "mobile"},
        sent_at=1_700_000_000.5,
        event_id="e1",
        recommendation_id="r1",
        impression=["i1", "i2"],
        metric_attribution_source="src",
    )
    same = Event(**attrs.asdict(event, recurse=False))
    assert event == same
    assert hash(event) == hash(same)
    assert repr(event) == repr(same)
    for field in attrs.fields(Event):
        assert getattr(event, field.name) == getattr(same, field.name)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.item_id = "i2"  # type: ignore[misc]


def test_the_fast_event_builder_is_in_use_and_builds_events() -> None:
    # _EventBuilder turns itself into an Event; the import-time check falls back to Event's own
    # constructor if it ever could not (a changed slot layout): that fallback must not be silent.
    import platform

    from personalize_tracker._record import event as event_module

    if platform.python_implementation() == "CPython":
        assert event_module.new_event is event_module._EventBuilder
    built = event_module.new_event("click", "s1", 1.0, "e1", "u1")
    assert type(built) is Event
    assert built == Event("click", "s1", 1.0, "e1", "u1")
    assert not hasattr(built, "__dict__")


def test_event_ids_are_unique_and_share_a_process_prefix() -> None:
    ids = [Event.create("click", "s1").event_id for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert len({i.rsplit("-", 1)[0] for i in ids}) == 1
    counters = [int(i.rsplit("-", 1)[1], 16) for i in ids]
    assert counters == sorted(counters)


def test_event_ids_count_on_across_blocks_and_threads() -> None:
    # Ids are built in blocks of 4096 (a shared head, one of 4096 endings): across a block's
    # end they must go on counting in hex, and threads drawing at once must never share one.
    import threading

    from personalize_tracker._record.ids import new_event_id

    drawn: list[list[str]] = [[] for _ in range(4)]

    def draw(out: list[str]) -> None:
        for _ in range(10_000):
            out.append(new_event_id())

    threads = [threading.Thread(target=draw, args=(out,)) for out in drawn]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for out in drawn for i in out]
    assert len(set(every)) == 40_000
    for out in drawn:
        counters = [int(i.rsplit("-", 1)[1], 16) for i in out]
        assert counters == sorted(counters)
    counters = sorted(int(i.rsplit("-", 1)[1], 16) for i in every)
    assert counters == list(range(counters[0], counters[0] + 40_000))  # no gap, no repeat
    suffixes = [i.rsplit("-", 1)[1] for i in every]
    assert all(f"{int(x, 16):x}" == x for x in suffixes)  # plain lowercase hex, no leading 0
