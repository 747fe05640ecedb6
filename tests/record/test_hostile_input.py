"""Input that used to slip through ``Event.create`` (issue 12, items 6 and 8): text UTF-8 cannot
carry, numbers a float cannot hold, dates PutEvents cannot carry, ids that are the text of a
missing value, an attribution source with a final newline."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from personalize_tracker import Event, InvalidEventError
from personalize_tracker._record.event import build_event
from personalize_tracker._record.fields import check_id, is_placeholder

SURROGATE = "a\ud800b"


def make(**kwargs: object) -> Event:
    args: dict[str, object] = {"event_type": "click", "session_id": "s-1"}
    args.update(kwargs)
    return Event.create(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "field",
    ["event_type", "session_id", "user_id", "item_id", "event_id", "recommendation_id"],
)
def test_a_lone_surrogate_in_a_text_field_is_refused(field: str) -> None:
    with pytest.raises(InvalidEventError, match="lone surrogate") as raised:
        make(**{field: SURROGATE})
    assert raised.value.field == field
    assert SURROGATE not in str(raised.value)  # the value is not echoed


def test_a_lone_surrogate_in_an_impression_id_is_refused() -> None:
    with pytest.raises(InvalidEventError, match="lone surrogate") as raised:
        make(impression=["ok", SURROGATE])
    assert raised.value.field == "impression[1]"


@pytest.mark.parametrize(
    ("properties", "field"),
    [
        ({"deviceType": SURROGATE}, "properties.deviceType"),
        ({"tags": ["x", SURROGATE]}, "properties.tags"),
        ('{"deviceType": "\\ud83d"}', "properties.deviceType"),  # escaped in a JSON string
    ],
)
def test_a_lone_surrogate_in_properties_is_refused(properties: object, field: str) -> None:
    with pytest.raises(InvalidEventError, match="lone surrogate") as raised:
        make(properties=properties)
    assert raised.value.field == field


def test_a_lone_surrogate_in_a_property_key_is_refused() -> None:
    with pytest.raises(InvalidEventError, match="of its key"):
        make(properties={"k\udc00": "v"})


def test_paired_surrogates_and_other_unicode_are_text_like_any() -> None:
    event = make(
        event_type="vu 👀",
        user_id="ユーザー",
        item_id="é",
        properties={"deviceType": "📱", "city": "Zürich"},
    )
    assert event.properties == '{"deviceType":"📱","city":"Zürich"}'
    assert event.user_id == "ユーザー"


def test_an_int_id_is_length_checked_on_the_string_it_becomes() -> None:
    assert make(user_id=10**255).user_id == "1" + "0" * 255  # 256 digits: the maximum
    with pytest.raises(InvalidEventError, match="257 characters") as raised:
        make(user_id=10**256)
    assert raised.value.field == "user_id"
    with pytest.raises(InvalidEventError, match="301 characters"):
        make(item_id=10**300)
    with pytest.raises(InvalidEventError, match="impression\\[0\\]"):
        make(impression=[10**300])


def test_an_int_too_long_for_text_conversion_is_an_invalid_event() -> None:
    with pytest.raises(InvalidEventError, match="too long") as raised:
        check_id(10**5000, "session_id", 256)
    assert raised.value.field == "session_id"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_value", 10**400),
        ("event_value", Decimal("sNaN")),
        ("event_value", Decimal("1e400")),
        ("sent_at", 10**400),
        ("sent_at", Decimal("sNaN")),
    ],
)
def test_numbers_a_float_cannot_hold_are_invalid_events(field: str, value: object) -> None:
    with pytest.raises(InvalidEventError) as raised:
        make(**{field: value})
    assert raised.value.field == field


def test_a_property_number_a_float_cannot_hold_is_an_invalid_event() -> None:
    with pytest.raises(InvalidEventError) as raised:
        make(properties={"price": Decimal("sNaN")})
    assert raised.value.field == "properties.price"


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc),
        dt.datetime(1969, 12, 31, 23, 59, tzinfo=dt.timezone.utc),
        dt.datetime(9999, 12, 31, tzinfo=dt.timezone.utc),
    ],
)
def test_a_datetime_outside_what_sent_at_carries_is_refused(value: dt.datetime) -> None:
    with pytest.raises(InvalidEventError, match=r"1970|5000") as raised:
        make(sent_at=value)
    assert raised.value.field == "sent_at"


def test_datetimes_inside_the_range_are_accepted() -> None:
    utc = dt.timezone.utc
    assert make(sent_at=dt.datetime(1970, 1, 1, tzinfo=utc)).sent_at == 0.0
    assert make(sent_at=dt.datetime(4000, 1, 1, tzinfo=utc)).sent_at > 6e10


@pytest.mark.parametrize(
    "value", ["null", "NULL", "None", "none", "undefined", "NaN", "nan", " null ", "", " ", "\t\n"]
)
def test_placeholders_are_recognised(value: str) -> None:
    assert is_placeholder(value)


@pytest.mark.parametrize(
    "value", ["nullable", "None1", "nan-7", "0", "u-42", "undefined_user", "n" * 300, "  x  "]
)
def test_real_ids_are_not_placeholders(value: str) -> None:
    assert not is_placeholder(value)


def test_blank_ids_longer_than_a_placeholder_are_placeholders() -> None:
    assert is_placeholder(" " * 40)


@pytest.mark.parametrize("field", ["session_id", "user_id", "item_id"])
@pytest.mark.parametrize("value", ["null", "None", "undefined", "nan", "   "])
def test_a_placeholder_id_is_refused_by_default(field: str, value: str) -> None:
    with pytest.raises(InvalidEventError, match="missing value") as raised:
        make(**{field: value})
    assert raised.value.field == field
    assert "allow_placeholder_ids=True" in str(raised.value)


def test_placeholder_ids_are_accepted_when_allowed() -> None:
    event = build_event(
        "click", "null", "None", "nan", None, None, None, None, None, None, None,
        allow_placeholder_ids=True,
    )  # fmt: skip
    assert (event.session_id, event.user_id, event.item_id) == ("null", "None", "nan")


def test_the_attribution_source_must_match_the_model_pattern_whole() -> None:
    with pytest.raises(InvalidEventError) as raised:
        make(metric_attribution_source="email\n")
    assert raised.value.field == "metric_attribution_source"
    assert make(metric_attribution_source="email").metric_attribution_source == "email"


def test_a_padded_placeholder_is_named_not_called_blank() -> None:
    from personalize_tracker._record.fields import check_placeholder

    with pytest.raises(InvalidEventError, match=r"' Undefined '"):
        check_placeholder(" Undefined ", "user_id")
    with pytest.raises(InvalidEventError, match="blank"):
        check_placeholder("   ", "user_id")
