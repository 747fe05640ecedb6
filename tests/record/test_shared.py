"""The shared id strings of queued events, and the composer that shares them."""

from __future__ import annotations

from typing import Any

import pytest

from personalize_tracker import Event, InvalidEventError
from personalize_tracker._record.compose import EventComposer
from personalize_tracker._record.shared import SharedIds


def fresh(text: str) -> str:
    """An equal string that is a new object (as ids parsed from each request are)."""
    return "".join(list(text))


def test_an_item_id_is_shared_once_seen_and_invalid_ones_are_not_kept() -> None:
    ids = SharedIds(max_size=10)
    first = ids.item(fresh("item-1"))
    again = ids.item(fresh("item-1"))
    assert again is first
    assert ids.item("i" * 257) == "i" * 257  # returned, never kept (the hot path trusts the table)
    assert "i" * 257 not in ids.items


def test_the_sessions_of_one_user_share_its_user_id_string() -> None:
    ids = SharedIds(max_size=10)
    first = ids.remember_session(fresh("u1"), "s1")
    second = ids.remember_session(fresh("u1"), "s2")
    assert second[0] is first[0]
    assert ids.remember_session(None, "s3") == (None, "s3")
    assert ids.check_session("s4", fresh("u1"), allow_placeholders=False)[0] is first[0]


def test_a_session_is_kept_from_its_second_event_in_a_row() -> None:
    ids = SharedIds(max_size=10)
    first = ids.check_session(fresh("s1"), "u1", allow_placeholders=False)
    assert ids.sessions == {}  # a session of one event has nothing to share
    second = ids.check_session(fresh("s1"), "u1", allow_placeholders=False)
    assert ids.sessions == {"s1": second}
    assert second == first
    ids.check_session("s2", "u1", allow_placeholders=False)
    ids.check_session("s3", "u1", allow_placeholders=False)
    assert set(ids.sessions) == {"s1"}  # not in a row, and no group watched


def test_a_session_is_kept_when_its_group_holds_an_event_already() -> None:
    ids = SharedIds(max_size=10)
    held: set[tuple[str | None, str]] = set()
    ids.watch(held)
    first = ids.key_of(Event("click", fresh("s1"), 1.0, "e1", user_id="u1"))
    assert ids.sessions == {}
    held.add(first)  # the buffer holds its group
    second = ids.key_of(Event("click", fresh("s1"), 1.0, "e2", user_id="u1"))
    assert second == first
    assert ids.sessions == {"s1": second}
    user_id, session_id = second  # the strings the next events share (track() reads them)
    assert ids.key_of(Event("click", session_id, 1.0, "e3", user_id=user_id)) is second
    ids.forget(first)  # the group emptied: forgotten by its own key, an equal tuple
    assert ids.sessions == {}


def test_key_of_keeps_no_session_track_would_refuse() -> None:
    # An event may reach the key function unchecked (enqueue, the spool): a kept session is one
    # track() trusts without checking.
    ids = SharedIds(max_size=10)
    refused = ["null", "s" * 257, "s\u00e9", "s\ud800"]
    held = {("u1", session_id) for session_id in refused} | {("null", "s1")}
    ids.watch(held)
    for session_id in refused:
        ids.key_of(Event("click", session_id, 1.0, "e", user_id="u1"))
    ids.key_of(Event("click", "s1", 1.0, "e", user_id="null"))
    assert ids.sessions == {}


def test_a_transport_grouping_its_own_way_keeps_every_session_checked() -> None:
    ids = SharedIds(max_size=10)
    ids.keep_checked = True  # (no key_of: nothing else would keep them)
    key = ids.check_session("s1", "u1", allow_placeholders=False)
    assert ids.sessions == {"s1": key}


def test_the_tables_start_over_when_full() -> None:
    ids = SharedIds(max_size=3)
    for n in range(10):
        ids.remember_item(f"item-{n}")
        ids.remember_session(f"u-{n}", f"s-{n}")
        assert len(ids.items) <= 3
        assert len(ids.sessions) <= 3
        assert len(ids.users) <= 3
    assert "item-9" in ids.items
    assert "s-9" in ids.sessions


def test_an_event_with_the_tables_strings_gets_the_tables_key() -> None:
    ids = SharedIds(max_size=10)
    key = ids.remember_session("u1", "s1")
    user_id, session_id = key
    assert ids.key_of(Event("click", session_id, 1.0, "e1", user_id=user_id)) is key
    # equal strings that are other objects (tracked before the session was kept): the same key,
    # and the table keeps its own strings; another user: a key of its own
    other = ids.key_of(Event("click", fresh("s1"), 1.0, "e2", user_id=fresh("u1")))
    assert other is key
    assert ids.sessions["s1"] is key
    assert ids.key_of(Event("click", session_id, 1.0, "e3", user_id=None)) == (None, "s1")
    assert ids.sessions["s1"] is key
    ids.watch({key})  # its group held: still the table's own strings, not replaced
    assert ids.key_of(Event("click", fresh("s1"), 1.0, "e4", user_id=fresh("u1"))) is key
    assert ids.sessions["s1"] is key


def test_a_session_is_forgotten_only_by_its_own_key() -> None:
    ids = SharedIds(max_size=10)
    old = ids.remember_session(None, "s1")
    new = ids.remember_session("u1", "s1")  # the visitor logged in: the entry is replaced
    ids.forget(old)  # the anonymous group emptied: the newer entry stays
    assert ids.sessions["s1"] is new
    ids.forget(new)
    assert ids.sessions == {}


def test_clear_empties_the_tables_in_place() -> None:
    ids = SharedIds(max_size=10)
    sessions, items = ids.sessions, ids.items
    ids.remember_session("u", "s")
    ids.remember_item("i")
    ids.clear()
    assert ids.sessions is sessions
    assert ids.items is items
    assert (sessions, items) == ({}, {})


def build(composer: EventComposer, **kwargs: Any) -> Event:
    fields: dict[str, Any] = {
        "event_type": "click",
        "session_id": "s1",
        "user_id": None,
        "item_id": None,
        "event_value": None,
        "encoded_properties": None,
        "sent_at": 1.0,
        "event_id": None,
        "recommendation_id": None,
        "impression": None,
        "metric_attribution_source": None,
    }
    fields.update(kwargs)
    return composer.build(*fields.values())


def test_the_composer_shares_item_ids_and_checks_for_a_fork_before_drawing_an_id() -> None:
    order: list[str] = []
    composer = EventComposer(None, False, None, SharedIds(10), lambda: order.append("fork"))
    a = build(composer, item_id=fresh("item-1"))
    b = build(composer, item_id=fresh("item-1"))
    assert b.item_id is a.item_id
    assert order == ["fork", "fork"]


def test_the_composer_truncates_impressions_only_when_asked_and_counts_it() -> None:
    ids = [f"i{n}" for n in range(30)]
    with pytest.raises(InvalidEventError, match="truncate_impressions"):
        build(EventComposer(None, False, None, SharedIds(10)), impression=ids)
    composer = EventComposer(None, True, None, SharedIds(10))
    assert build(composer, impression=ids).impression == tuple(ids[:25])
    assert composer.impressions_truncated == 1


def test_ids_the_hot_path_must_not_trust_are_not_kept() -> None:
    """The fast path of track() skips every check for a kept id: a lone surrogate or a
    placeholder met first through a session or a schema must not become a kept id."""
    ids = SharedIds(max_size=10)
    for refused in ("x\ud800", "null", "None", "  "):
        assert ids.item(refused) == refused
        assert refused not in ids.items


def test_check_session_and_check_item_refuse_what_track_refuses() -> None:
    ids = SharedIds(max_size=10)
    with pytest.raises(InvalidEventError, match="lone surrogate"):
        ids.check_session("s\udc00", None, allow_placeholders=False)
    with pytest.raises(InvalidEventError, match="missing value") as raised:
        ids.check_session("s-1", "undefined", allow_placeholders=False)
    assert raised.value.field == "user_id"
    with pytest.raises(InvalidEventError, match="257 characters"):
        ids.check_item(10**256, allow_placeholders=False)
    assert not ids.sessions
    assert not ids.items
    assert ids.check_session("null", "None", allow_placeholders=True) == ("None", "null")
    assert ids.check_item("nan", allow_placeholders=True) == "nan"
    assert ids.items == {"nan": "nan"}
