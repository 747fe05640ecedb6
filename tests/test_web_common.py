"""The framework-neutral part of the web integrations: ids, cookies, context, store, errors."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from personalize_tracker import Recommendations, Tracker
from personalize_tracker.integrations import (
    CookieSettings,
    MemoryRecommendationStore,
    RequestInfo,
    WebTracking,
    WebTrackingSession,
    classify_device,
    device_type,
    from_header,
    new_session_id,
    valid_session_id,
)
from personalize_tracker.integrations._config import web_tracking_from_config

from conftest import FakeClient

pytest.importorskip("ua_parser")

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)
HEADLESS_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.0.0 Safari/537.36"
)
WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@pytest.fixture
def tracker(fake_client: FakeClient) -> Iterator[Tracker]:
    with Tracker("t", client=fake_client, flush_interval=3600) as tracker:
        yield tracker


def info(**headers: str) -> RequestInfo:
    return RequestInfo(headers={k.replace("_", "-").lower(): v for k, v in headers.items()})


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        (IPHONE, "mobile"),
        (ANDROID_PHONE, "mobile"),
        (IPAD, "tablet"),
        (ANDROID_TABLET, "tablet"),
        (HEADLESS_LINUX, "desktop"),
        (WINDOWS, "desktop"),
        (GOOGLEBOT, "bot"),
        ("curl/8.5.0", "other"),
    ],
)
def test_device_type_from_the_user_agent(agent: str, expected: str) -> None:
    assert classify_device(agent) == expected
    assert device_type()(info(user_agent=agent)) == {"DEVICE_TYPE": expected}


def test_extractors_send_nothing_they_do_not_find() -> None:
    assert device_type()(info()) is None
    assert from_header("CloudFront-Viewer-Country", "LOCATION")(info()) is None
    assert from_header("CloudFront-Viewer-Country", "LOCATION")(
        info(cloudfront_viewer_country="FR")
    ) == {"LOCATION": "FR"}


def test_session_ids_are_random_and_checked() -> None:
    ids = {new_session_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(valid_session_id(i) and len(i) == 32 for i in ids)
    for bad in (
        None,
        "",
        "short",
        "x" * 200,
        "has space in it 1234",
        "ünïcödé" * 4,
        12345678901234567,
    ):
        assert not valid_session_id(bad)


def test_cookie_header_and_settings_checks() -> None:
    cookie = CookieSettings(max_age=60)
    assert cookie.header_value("abc", secure=True) == (
        "personalize_session=abc; Path=/; Max-Age=60; Secure; HttpOnly; SameSite=Lax"
    )
    assert "Secure" not in CookieSettings().header_value("abc", secure=False)
    with pytest.raises(ValueError, match="max_age"):
        CookieSettings(max_age=-1)
    with pytest.raises(ValueError, match="samesite"):
        CookieSettings(samesite="lax")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cookie name"):
        CookieSettings(name="a b")


def test_open_session_issues_an_id_and_keeps_a_valid_one(tracker: Tracker) -> None:
    web = WebTracking(tracker, context=[device_type()])
    first, issued = web.open_session(None, None, info(user_agent=IPHONE))
    assert issued
    assert isinstance(first, WebTrackingSession)
    assert first.user_id is None
    assert first.context == {"deviceType": "mobile"}
    again, issued = web.open_session(first.session_id, 42, info())
    assert not issued
    assert again.session_id == first.session_id
    assert again.user_id == "42"
    assert again.context == {}  # only what the extractors found is sent
    forged, issued = web.open_session("not valid!", None, info())
    assert issued
    assert forged.session_id != "not valid!"


def test_errors_are_logged_and_counted_not_raised(
    tracker: Tracker, fake_client: FakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(request: RequestInfo) -> dict[str, Any]:
        raise KeyError("boom")

    def too_long(request: RequestInfo) -> dict[str, Any]:
        return {"PAGE": "x" * 1001}  # over Personalize's 1000 characters for a value

    web = WebTracking(tracker, context=[broken, device_type(), too_long])
    with caplog.at_level(logging.WARNING, "personalize_tracker.integrations"):
        session, _ = web.open_session(None, "u" * 300, info(user_agent=IPHONE))
        assert session.user_id is None  # the invalid id is left out, the session usable
        assert session.context == {}
        assert session.track("click", item_id="") is None  # an invalid event
        assert session.track("click", item_id="i-1") is not None
    assert web.errors == 3
    assert web.errors_by_kind == {"context": 1, "session": 1, "track": 1}
    assert "context failed (KeyError" in caplog.text
    assert "u" * 300 not in caplog.text
    tracker.flush()
    assert [e["itemId"] for e in fake_client.delivered_events] == ["i-1"]


def test_raise_errors_lets_them_through(tracker: Tracker) -> None:
    web = WebTracking(tracker, raise_errors=True)
    session, _ = web.open_session(None, None, info())
    with pytest.raises(ValueError, match="item_id"):
        session.track("click", item_id="")
    assert web.errors == 1


def test_a_tracker_that_cannot_be_built_fails_events_not_requests() -> None:
    def factory() -> Tracker:
        raise ValueError("no region")

    web = WebTracking(factory)
    session, _ = web.open_session(None, None, info())
    assert session.track("click", item_id="i-1") is not None
    assert web.errors_by_kind == {"tracker": 1}
    stand_in = session._tracker
    assert stand_in.flush(5)
    assert stand_in.stats().failed == 1
    stand_in.close()


def test_recommendation_lists_follow_the_visitor(tracker: Tracker, fake_client: FakeClient) -> None:
    web = WebTracking(tracker)
    first, _ = web.open_session(None, None, info())
    recs = first.remember(Recommendations(("a", "b", "c"), (None, None, None), "rid-1"))
    assert recs.recommendation_id == "rid-1"
    other, _ = web.open_session(new_session_id(), None, info())  # another visitor
    later, _ = web.open_session(first.session_id, None, info())
    other.track("click", item_id="b")
    later.track("click", item_id="b")
    later.track("click", item_id="z")
    tracker.flush()
    sent = [(e.get("itemId"), e.get("recommendationId")) for e in fake_client.delivered_events]
    assert sorted(sent, key=str) == sorted([("b", None), ("b", "rid-1"), ("z", None)], key=str)


def test_shown_items_follow_the_visitor(tracker: Tracker, fake_client: FakeClient) -> None:
    web = WebTracking(tracker)
    first, _ = web.open_session(None, None, info())
    first.remember(Recommendations(("a", "b", "c"), (None, None, None), "rid-1")).shown(["a", "b"])
    later, _ = web.open_session(first.session_id, None, info())
    later.track("click", item_id="b")
    tracker.flush()
    [event] = fake_client.delivered_events
    assert event["impression"] == ["a", "b"]
    assert "recommendationId" not in event


def test_memory_store_bounds_and_expiry() -> None:
    now = [0.0]
    store = MemoryRecommendationStore(max_sessions=2, max_lists=2, ttl=10, clock=lambda: now[0])
    for n in range(3):
        store.save("s1", Recommendations((f"i{n}",), (None,), f"r{n}"))
    assert [r.recommendation_id for r in store.load("s1")] == ["r1", "r2"]
    store.save("s2", Recommendations(("i",), (None,), "x"))
    store.save("s3", Recommendations(("i",), (None,), "y"))
    assert len(store) == 2
    assert store.load("s1") == []  # least recently used went first
    now[0] = 11.0
    assert store.load("s3") == []
    assert len(store) == 1


def test_config_mapping_is_checked() -> None:
    with pytest.raises(ValueError, match="unknown keys"):
        web_tracking_from_config({"TRACKING_ID": "t", "TRAKING_ID": "t"})
    with pytest.raises(ValueError, match="TRACKING_ID"):
        web_tracking_from_config({})
    with pytest.raises(TypeError, match="callable"):
        web_tracking_from_config(
            {"TRACKING_ID": "t", "CONTEXT": ["personalize_tracker.integrations.DEVICE_TYPES"]}
        )
    web = web_tracking_from_config(
        {"TRACKING_ID": "t", "REGION": "us-east-1", "COOKIE_NAME": "sid", "COOKIE_MAX_AGE": 3600}
    )
    assert web.cookie.name == "sid"
    assert web.cookie.max_age == 3600
    assert web.tracker.tracking_id == "t"
    web.close(timeout=1)
