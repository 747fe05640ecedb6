"""The body's numbers as botocore writes them: ``sentAt`` with milliseconds, floats."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import botocore.serialize
import botocore.session
import pytest
from hypothesis import given
from hypothesis import strategies as st

from personalize_tracker._delivery.lean.body import wire_float, wire_timestamp

_SERIALIZER = botocore.serialize.create_serializer(
    "rest-json", include_validation=False, timestamp_precision="millisecond"
)
_MODEL = botocore.session.get_session().get_service_model("personalize-events")
_PUT_EVENTS = _MODEL.operation_model("PutEvents")
_UTC = dt.timezone.utc


def botocore_sent_at(value: Any) -> Any:
    """``sentAt`` as botocore's serializer writes it for a datetime of ``value``."""
    moment = dt.datetime.fromtimestamp(value, _UTC) if isinstance(value, (int, float)) else value
    params = {
        "trackingId": "t",
        "sessionId": "s",
        "eventList": [{"eventId": "e", "eventType": "t", "sentAt": moment}],
    }
    body = _SERIALIZER.serialize_to_request(params, _PUT_EVENTS)["body"]
    return json.loads(body)["eventList"][0]["sentAt"]


@given(st.floats(min_value=-2e9, max_value=4e9, allow_nan=False))
def test_a_float_sent_at_is_botocores(value: float) -> None:
    assert repr(wire_timestamp(value)) == repr(botocore_sent_at(value))


@given(st.integers(min_value=-2_000_000_000, max_value=4_000_000_000))
def test_an_int_sent_at_is_botocores(value: int) -> None:
    assert repr(wire_timestamp(value)) == repr(botocore_sent_at(value))


@pytest.mark.parametrize(
    "value",
    [0.0, 0.0005, 0.9995, 0.9999995, 1.9999996, -0.0005, -1.5, 1_700_000_000.0015, 253402300799.0],
)
def test_edge_sent_at_is_botocores(value: float) -> None:
    assert repr(wire_timestamp(value)) == repr(botocore_sent_at(value))


def test_a_datetime_or_string_sent_at_goes_through_botocores_parser() -> None:
    moment = dt.datetime(2026, 12, 3, 8, 30, 1, 987_654, tzinfo=_UTC)
    assert wire_timestamp(moment) == botocore_sent_at(moment) == 1_796_286_601.987
    assert wire_timestamp("2026-12-03T08:30:01.987654Z") == 1_796_286_601.987


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 1e300, -1e300, "not a time"])
def test_what_cannot_be_a_timestamp_is_a_value_error(value: Any) -> None:
    with pytest.raises(ValueError, match="sentAt"):
        wire_timestamp(value)


@pytest.mark.parametrize(
    ("value", "wire"),
    [(math.nan, "NaN"), (math.inf, "Infinity"), (-math.inf, "-Infinity"), (2.5, 2.5), (3, 3)],
)
def test_floats_as_botocore_writes_them(value: float, wire: Any) -> None:
    assert wire_float(value) == wire
