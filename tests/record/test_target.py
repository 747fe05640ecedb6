"""The checks at track() of what a target uses (``_record/target.py``), against a fake target:
each kind of finding, logged once per cause and counted per kind, and ``strict`` raising with
nothing remembered of the refused event."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import attrs
import pytest

from personalize_tracker import InvalidEventError
from personalize_tracker._record.event import Event
from personalize_tracker._record.target import TargetCheck


@attrs.frozen
class FakeRules:
    name: str = "fake"
    required_event_types: Mapping[str, str] = attrs.field(factory=lambda: {"View": "ECOMMERCE"})
    uses_context: bool = False
    uses_impressions: bool = False


_counter = iter(range(10**9))


def event(
    event_type: str = "View",
    user_id: str | None = "u1",
    sent_at: float | None = None,
    properties: dict[str, Any] | None = None,
    impression: tuple[str, ...] | None = None,
) -> Event:
    n = next(_counter)
    return Event(
        event_type=event_type,
        session_id="s1",
        sent_at=float(1_700_000_000 + n) if sent_at is None else sent_at,
        event_id=f"e{n}",
        user_id=user_id,
        item_id="i1",
        properties=None if properties is None else json.dumps(properties),
        impression=impression,
    )


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "personalize_tracker"]


def test_contextual_metadata_to_a_target_that_ignores_it_is_named_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    check = TargetCheck(FakeRules())
    with caplog.at_level(logging.WARNING, logger="personalize_tracker"):
        for _ in range(3):
            check.check(event(properties={"deviceType": "phone"}))
    (message,) = warnings_of(caplog)
    assert "deviceType" in message
    assert "contextual-metadata" in message
    assert check.counts["contextual_metadata"] == 3


def test_contextual_metadata_is_fine_where_a_model_uses_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    check = TargetCheck(FakeRules(uses_context=True))
    with caplog.at_level(logging.WARNING, logger="personalize_tracker"):
        check.check(event(properties={"deviceType": "phone"}))
    assert warnings_of(caplog) == []
    assert sum(check.counts.values()) == 0


def test_impressions_where_no_model_uses_them(caplog: pytest.LogCaptureFixture) -> None:
    check = TargetCheck(FakeRules())
    with caplog.at_level(logging.WARNING, logger="personalize_tracker"):
        check.check(event(impression=("a", "b")))
        check.check(event(impression=("c",)))
    assert len(warnings_of(caplog)) == 1
    assert check.counts["impression"] == 2
    TargetCheck(FakeRules(uses_impressions=True)).check(event(impression=("a",)))


def test_an_event_type_spelled_differently_warns_once_per_spelling(
    caplog: pytest.LogCaptureFixture,
) -> None:
    check = TargetCheck(FakeRules())
    with caplog.at_level(logging.WARNING, logger="personalize_tracker"):
        for kind in ("view", "view", "VIEW", "View", "click"):
            check.check(event(event_type=kind))
    messages = warnings_of(caplog)
    assert len(messages) == 2  # 'view' and 'VIEW'; neither 'View' nor 'click'
    assert all("'View'" in m for m in messages)
    assert check.counts["event_type_spelling"] == 3


def test_more_metadata_keys_than_an_interactions_dataset_holds() -> None:
    check = TargetCheck(FakeRules(uses_context=True))
    check.check(event(properties={f"k{i}": 1 for i in range(5)}))
    assert check.counts["metadata_columns"] == 0
    check.check(event(properties={"k5": 1}))
    assert check.counts["metadata_columns"] == 1


def test_event_types_and_metadata_columns_together() -> None:
    check = TargetCheck(FakeRules(uses_context=True))
    check.check(event(event_type="t0", properties={f"k{i}": 1 for i in range(4)}))
    for i in range(1, 6):  # 4 keys + 6 types = 10: still allowed
        check.check(event(event_type=f"t{i}"))
    assert check.counts["event_types_and_metadata"] == 0
    check.check(event(event_type="t6"))
    assert check.counts["event_types_and_metadata"] == 1


def test_two_events_of_one_user_at_the_same_millisecond_are_one_for_personalize(
    caplog: pytest.LogCaptureFixture,
) -> None:
    check = TargetCheck(FakeRules())
    with caplog.at_level(logging.WARNING, logger="personalize_tracker"):
        check.check(event(sent_at=1000.0001))
        check.check(event(sent_at=1000.0002))  # same millisecond on the wire
        check.check(event(sent_at=1000.0002, user_id="u2"))  # another user
        check.check(event(sent_at=1000.002))  # another millisecond
    assert check.counts["duplicate_event"] == 1
    assert "keeps only one" in warnings_of(caplog)[0]


def test_duplicates_are_found_within_a_bounded_window() -> None:
    check = TargetCheck(FakeRules(), memory=3)
    first = event(sent_at=5.0)
    check.check(first)
    for _ in range(3):
        check.check(event())
    check.check(event(sent_at=5.0))  # its twin left the window
    assert check.counts["duplicate_event"] == 0


def test_strict_raises_naming_the_field_and_the_source() -> None:
    check = TargetCheck(FakeRules(), strict=True)
    with pytest.raises(InvalidEventError) as raised:
        check.check(event(event_type="view"))
    assert raised.value.field == "event_type"
    assert raised.value.limit is not None
    assert "ECOMMERCE-use-cases" in raised.value.limit


def test_strict_remembers_nothing_of_a_refused_event() -> None:
    check = TargetCheck(FakeRules(uses_context=True), strict=True)
    check.check(event(properties={f"k{i}": 1 for i in range(5)}))
    with pytest.raises(InvalidEventError):
        check.check(event(properties={"k5": 1}))
    check.check(event(properties={"k0": 2}))  # k5 was not kept: still 5 keys


def test_a_target_is_required() -> None:
    with pytest.raises(ValueError, match="target must be a Target"):
        TargetCheck(object())  # type: ignore[arg-type]


def test_an_event_type_found_fine_is_checked_again_once_the_columns_grow() -> None:
    check = TargetCheck(FakeRules(uses_context=True))
    check.check(event(event_type="t0"))
    check.check(event(event_type="t0"))  # known fine: the quick path
    check.check(event(event_type="t1", properties={f"k{i}": 1 for i in range(5)}))
    for i in range(2, 5):  # 5 keys + 5 types = 10: still allowed
        check.check(event(event_type=f"t{i}"))
    assert check.counts["event_types_and_metadata"] == 0
    check.check(event(event_type="t5"))  # 11
    check.check(event(event_type="t0"))  # fine before, over the limit now
    assert check.counts["event_types_and_metadata"] == 2
