"""encode_properties() remembers the encodings of recent all-string dicts: a remembered encoding
is only ever what the full checks and encoding give for the same input, and anything that is not
exactly a dict of str to str takes the full path (the rules themselves: tests/record/test_event.py).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from personalize_tracker import InvalidEventError
from personalize_tracker._record.properties import (
    encode_normalised,
    encode_properties,
    normalise_properties,
)


def full_path(properties: dict[str, Any]) -> str | None:
    """The encoding without the memory of recent dicts."""
    return encode_normalised(normalise_properties(properties))


@given(
    st.dictionaries(
        st.sampled_from(["DEVICE_TYPE", "location", "Plan", "é_field", "a_b_c"]),
        st.text(max_size=20),
        max_size=4,
    )
)
def test_remembered_encoding_is_the_full_paths(properties: dict[str, str]) -> None:
    expected = full_path(properties)
    assert encode_properties(properties) == expected
    assert encode_properties(dict(properties)) == expected  # an equal dict: remembered now


class Plan(str, Enum):
    # Equal to "premium" and with the same hash, but str() gives "Plan.premium"
    premium = "premium"

    def __hash__(self) -> int:
        return hash(self.value)


class Shouting(str):
    def __str__(self) -> str:
        return self.upper()


@pytest.mark.parametrize("equal", [Plan.premium, Shouting("premium")])
def test_an_equal_str_subclass_is_not_taken_for_the_remembered_str(equal: str) -> None:
    assert encode_properties({"PLAN": "premium"}) == '{"plan":"premium"}'
    assert encode_properties({"PLAN": equal}) == full_path({"PLAN": equal})
    assert encode_properties({"PLAN": "premium"}) == '{"plan":"premium"}'


def test_numbers_and_booleans_that_compare_equal_keep_their_own_encoding() -> None:
    assert encode_properties({"a": True}) == '{"a":true}'
    assert encode_properties({"a": 1}) == '{"a":1}'
    assert encode_properties({"a": 1.0}) == '{"a":1.0}'
    assert encode_properties({"a": True}) == '{"a":true}'


class EqualToAKey:
    """Compares equal to (and hashes as) the str key "plan", but is no str."""

    def __eq__(self, other: object) -> bool:
        return other == "plan"

    def __hash__(self) -> int:
        return hash("plan")


def test_a_key_equal_to_a_remembered_str_key_is_still_refused() -> None:
    assert encode_properties({"plan": "basic"}) == '{"plan":"basic"}'
    with pytest.raises(InvalidEventError, match="not a non-empty str"):
        encode_properties({EqualToAKey(): "basic"})  # type: ignore[dict-item]


class RaisesOnCompare:
    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no comparing me")

    def __hash__(self) -> int:
        return hash("mobile")


def test_a_value_that_cannot_be_hashed_or_compared_gets_the_usual_error() -> None:
    assert encode_properties({"DEVICE_TYPE": "mobile"}) == '{"deviceType":"mobile"}'
    with pytest.raises(InvalidEventError, match=r"properties\.DEVICE_TYPE: has a value of type"):
        encode_properties({"DEVICE_TYPE": RaisesOnCompare()})
    assert encode_properties({"GENRES": ["a", "b"]}) == '{"genres":"a|b"}'  # a list: unhashable
    assert encode_properties({"GENRES": ["a", "b"]}) == '{"genres":"a|b"}'


def test_an_invalid_dict_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(InvalidEventError, match="reserved"):
            encode_properties({"USER_ID": "u"})
        with pytest.raises(InvalidEventError, match="1001 characters"):
            encode_properties({"k": "x" * 1001})


def test_many_distinct_dicts_each_get_their_own_encoding() -> None:
    # More than the memory holds: it is emptied on the way, and every answer stays right.
    for i in range(3_000):
        assert encode_properties({"SLOT": f"s{i}", "plan": "p"}) == f'{{"slot":"s{i}","plan":"p"}}'
    assert encode_properties({"SLOT": "s7", "plan": "p"}) == '{"slot":"s7","plan":"p"}'
