"""TrackingSession: ids, identify (login), context merging and metric attribution."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from personalize_tracker import InvalidEventError, Tracker, TrackingSession
from personalize_tracker.testing import PersonalizeEventsMock, RecordedEvent


class NullClient:
    """A personalize-events stand-in that accepts everything (for tests of what track() builds)."""

    def put_events(self, **params: Any) -> dict[str, Any]:
        return {}


def boto_session() -> boto3.Session:
    return boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )


def local_tracker(**kwargs: Any) -> Tracker:
    options: dict[str, Any] = {"flush_interval": 3600, "max_backoff": 0.01}
    options.update(kwargs)
    return Tracker("tracking-1", session=boto_session(), **options)


def offline_tracker(**kwargs: Any) -> Tracker:
    options: dict[str, Any] = {"flush_interval": 3600}
    options.update(kwargs)
    return Tracker("tracking-1", client=NullClient(), **options)


def props(event: RecordedEvent) -> dict[str, Any]:
    return json.loads(event.properties) if event.properties else {}


# -- ids --------------------------------------------------------------------------------------


def test_anonymous_session_gets_a_uuid4_and_sends_no_user_id(
    personalize_events: PersonalizeEventsMock,
) -> None:
    with local_tracker() as tracker:
        visitor = tracker.session()
        other = tracker.session()
        assert uuid.UUID(visitor.session_id).version == 4
        assert visitor.session_id != other.session_id
        assert visitor.user_id is None
        assert visitor.recommendation_user_id == visitor.session_id
        visitor.track("view", "i-1")
        visitor.track("view", 2)
    puts = [r for r in personalize_events.requests if r.operation == "PutEvents"]
    assert len(puts) == 1
    assert puts[0].params["sessionId"] == visitor.session_id
    assert "userId" not in puts[0].params
    assert [e.item_id for e in personalize_events.events] == ["i-1", "2"]


def test_given_ids_are_used_and_ints_converted(personalize_events: PersonalizeEventsMock) -> None:
    with local_tracker() as tracker:
        visitor = tracker.session(user_id=42, session_id=7)
        assert (visitor.user_id, visitor.session_id) == ("42", "7")
        assert visitor.recommendation_user_id == "42"
        visitor.track("click", "i-1", event_value=1.5)
    (event,) = personalize_events.events
    assert (event.user_id, event.session_id, event.event_value) == ("42", "7", 1.5)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"user_id": ""}, "user_id"),
        ({"session_id": "s" * 257}, "session_id"),
        ({"metric_attribution_source": " "}, "metric_attribution_source"),
        ({"context": {"USER_ID": "u"}}, "properties.USER_ID"),
        ({"context": {"bad": object()}}, "properties.bad"),
    ],
)
def test_invalid_session_arguments_fail_at_creation(kwargs: dict[str, Any], field: str) -> None:
    tracker = offline_tracker()
    with pytest.raises(InvalidEventError) as info:
        tracker.session(**kwargs)
    assert info.value.field == field
    tracker.close()


@pytest.mark.parametrize(
    "kwargs", [{"max_recommendations": -1}, {"recommendation_ttl": 0}, {"max_recommendations": 1.5}]
)
def test_memory_options_checked(kwargs: dict[str, Any]) -> None:
    tracker = offline_tracker()
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        tracker.session(**kwargs)
    tracker.close()


def test_repr_shows_no_user_id() -> None:
    tracker = offline_tracker()
    visitor = tracker.session(user_id="alice@example.com", session_id="s-1")
    assert "alice" not in repr(visitor)
    assert "identified" in repr(visitor)
    tracker.close()


# -- identify (login) -------------------------------------------------------------------------


def test_login_flow_links_anonymous_history_by_session_id(
    personalize_events: PersonalizeEventsMock,
) -> None:
    with local_tracker() as tracker:
        visitor = tracker.session()
        visitor.track("view", "i-1")
        assert visitor.identify("u-7") is None  # records nothing by itself
        assert visitor.recommendation_user_id == "u-7"
        visitor.track("click", "i-2")
        assert tracker.flush(timeout=10)
        assert sorted(e.event_type for e in personalize_events.events) == ["click", "view"]
        login = visitor.identify("u-7", event_type="identify")
        assert login is not None
        assert login.item_id is None
    events = personalize_events.events
    assert {e.session_id for e in events} == {visitor.session_id}
    # Events of different (user, session) groups go in different calls, in any order.
    assert sorted((e.event_type, e.user_id or "") for e in events) == [
        ("click", "u-7"),
        ("identify", "u-7"),
        ("view", ""),
    ]


def test_identify_with_invalid_id_leaves_session_unchanged() -> None:
    tracker = offline_tracker()
    visitor = tracker.session(user_id="u-1")
    with pytest.raises(InvalidEventError, match="user_id"):
        visitor.identify("x" * 257)
    assert visitor.user_id == "u-1"
    tracker.close()


# -- context ----------------------------------------------------------------------------------


def test_context_and_properties_merge_event_wins(personalize_events: PersonalizeEventsMock) -> None:
    with local_tracker() as tracker:
        visitor = tracker.session(
            context={"DEVICE_TYPE": "ios", "location": "FR", "loyalty_tier": 2, "GENRES": ["a"]}
        )
        assert visitor.context == {
            "deviceType": "ios",
            "location": "FR",
            "loyaltyTier": 2,
            "genres": "a",
        }
        visitor.track("view", "i-1")
        visitor.track("view", "i-2", properties={"deviceType": "web", "LOCATION": None})
        visitor.track("view", "i-3", properties={"GENRES": ("x", "y"), "is_sale": True})
        visitor.track("view", "i-4", properties='{"price": 9.5}')
    events = personalize_events.events
    assert props(events[0]) == {
        "deviceType": "ios",
        "location": "FR",
        "loyaltyTier": 2,
        "genres": "a",
    }
    assert props(events[1]) == {"deviceType": "web", "loyaltyTier": 2, "genres": "a"}
    assert props(events[2]) == {
        "deviceType": "ios",
        "location": "FR",
        "loyaltyTier": 2,
        "genres": "x|y",
        "isSale": True,
    }
    assert props(events[3])["price"] == 9.5
    # The session's context is untouched by the events' overrides.
    assert visitor.context["deviceType"] == "ios"


def test_removing_every_context_key_sends_no_properties(
    personalize_events: PersonalizeEventsMock,
) -> None:
    with local_tracker() as tracker:
        visitor = tracker.session(context={"DEVICE_TYPE": "ios"})
        visitor.track("view", "i-1", properties={"device_type": None})
    assert personalize_events.events[0].properties is None


def test_merged_properties_over_1024_characters_are_refused() -> None:
    tracker = offline_tracker()
    visitor = tracker.session(context={"a": "x" * 600})
    visitor.track("view", "i-1", properties={"b": "y" * 300})
    with pytest.raises(InvalidEventError, match="encodes to") as info:
        visitor.track("view", "i-1", properties={"b": "y" * 500})
    assert "yyy" not in str(info.value)
    assert tracker.stats().tracked == 1
    tracker.close()


def test_merge_matches_a_plain_dict_model() -> None:
    camel = {
        "DEVICE_TYPE": "deviceType",
        "device_type": "deviceType",
        "location": "location",
        "LOCATION": "location",
        "pageType": "pageType",
        "page_type": "pageType",
        "tier": "tier",
        "TIER": "tier",
        "extra": "extra",
    }
    values = st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=5), st.booleans())
    tracker = offline_tracker()

    @given(
        context=st.dictionaries(
            st.sampled_from(["DEVICE_TYPE", "location", "pageType", "tier"]), values, max_size=4
        ),
        override=st.dictionaries(
            st.sampled_from(["device_type", "LOCATION", "page_type", "TIER", "extra"]),
            values,
            max_size=5,
        ),
    )
    def check(context: dict[str, Any], override: dict[str, Any]) -> None:
        expected = {camel[k]: v for k, v in context.items() if v is not None}
        for key, value in override.items():
            if value is None:
                expected.pop(camel[key], None)
            else:
                expected[camel[key]] = value
        event = tracker.session(context=context).track("view", "i", properties=override)
        assert (json.loads(event.properties) if event.properties else {}) == expected

    check()
    tracker.close()


# -- metric attribution -----------------------------------------------------------------------


def test_metric_attribution_event_beats_session_beats_tracker(
    personalize_events: PersonalizeEventsMock,
) -> None:
    with local_tracker(metric_attribution_source="site") as tracker:
        tracker.track("view", "s-0", item_id="i-0")
        plain = tracker.session(session_id="s-1")
        plain.track("view", "i-1")
        emailed = tracker.session(session_id="s-2", metric_attribution_source="email")
        emailed.track("view", "i-2")
        emailed.track("view", "i-3", metric_attribution_source="push")
        tracker.track("view", "s-0", item_id="i-4", metric_attribution_source="ads")
    sources = {e.item_id: e.metric_attribution_source for e in personalize_events.events}
    assert sources == {"i-0": "site", "i-1": "site", "i-2": "email", "i-3": "push", "i-4": "ads"}


def test_invalid_tracker_attribution_source_is_refused() -> None:
    with pytest.raises(InvalidEventError, match="metric_attribution_source"):
        offline_tracker(metric_attribution_source="\x00")


# -- threads ----------------------------------------------------------------------------------


def test_shared_session_is_thread_safe(personalize_events: PersonalizeEventsMock) -> None:
    with local_tracker() as tracker:
        visitor = TrackingSession(tracker, session_id="shared", context={"DEVICE_TYPE": "ios"})
        start = threading.Barrier(4)

        def worker(n: int) -> None:
            start.wait()
            for k in range(50):
                visitor.track("view", f"i-{n}-{k}")
                if n == 0 and k == 25:
                    visitor.identify("u-1")

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert tracker.flush(timeout=30)
        assert tracker.stats().delivered == 200
    events = personalize_events.events
    assert len({e.item_id for e in events}) == 200
    assert {e.session_id for e in events} == {"shared"}
    assert {e.user_id for e in events} <= {None, "u-1"}
    # Every event after the login (in the identifying thread's own order) carries the user.
    own = [e for e in events if e.item_id is not None and e.item_id.startswith("i-0-")]
    assert all(e.user_id == "u-1" for e in own if int((e.item_id or "").rsplit("-", 1)[1]) > 25)
