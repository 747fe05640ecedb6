"""The framework-neutral part of the web integrations: ids, cookies, context, store, errors."""

from __future__ import annotations

import fractions
import logging
import subprocess
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

import personalize_tracker.integrations as integrations
from personalize_tracker import InvalidEventError, Recommendations, Tracker
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
from personalize_tracker.integrations._config import CONFIG_KEYS, web_tracking_from_config
from personalize_tracker.integrations._request import normalize_headers
from personalize_tracker.integrations._session import web_session

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
    stand_in = web._unavailable  # the integration's own stand-in (not the session's slots)
    assert stand_in is not None
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
            {
                "TRACKING_ID": "t",
                "REGION": "us-east-1",
                "CONTEXT": ["personalize_tracker.integrations.DEVICE_TYPES"],
            }
        )
    web = web_tracking_from_config(
        {"TRACKING_ID": "t", "REGION": "us-east-1", "COOKIE_NAME": "sid", "COOKIE_MAX_AGE": 3600}
    )
    assert web.cookie.name == "sid"
    assert web.cookie.max_age == 3600
    assert web.tracker.tracking_id == "t"
    web.close(timeout=1)


def test_config_keys_reach_the_web_tracking(tracker: Tracker) -> None:
    assert sorted(CONFIG_KEYS) == [
        "CONTEXT",
        "COOKIE_DOMAIN",
        "COOKIE_MAX_AGE",
        "COOKIE_NAME",
        "COOKIE_PATH",
        "COOKIE_SAMESITE",
        "COOKIE_SECURE",
        "ENDPOINT_URL",
        "MAX_RECOMMENDATIONS",
        "OPTIONS",
        "RAISE_ERRORS",
        "RECOMMENDATION_STORE",
        "RECOMMENDATION_TTL",
        "REGION",
        "TRACKER",
        "TRACKING_ID",
    ]
    extractor = from_header("X-Country", "LOCATION")
    paths = {"app.tracker": tracker, "app.country": extractor, "app.Store": ListStore}
    web = web_tracking_from_config(
        {
            "TRACKER": "app.tracker",
            "COOKIE_NAME": "sid",
            "COOKIE_MAX_AGE": None,
            "COOKIE_SECURE": False,
            "COOKIE_SAMESITE": "Strict",
            "COOKIE_DOMAIN": "example.com",
            "COOKIE_PATH": "/shop",
            "CONTEXT": ["app.country", device_type()],
            "RECOMMENDATION_STORE": "app.Store",
            "RAISE_ERRORS": True,
            "MAX_RECOMMENDATIONS": 3,
            "RECOMMENDATION_TTL": 60,
            "USE_SESSION": True,
        },
        extra_keys={"USE_SESSION"},
        import_string=paths.__getitem__,
    )
    assert web.tracker is tracker
    assert web.cookie == CookieSettings(
        name="sid",
        max_age=None,
        secure=False,
        samesite="Strict",
        path="/shop",
        domain="example.com",
    )
    assert web.context_extractors[0] is extractor
    assert len(web.context_extractors) == 2
    assert isinstance(web.store, ListStore)  # imported, then instantiated
    assert web.raise_errors is True
    assert (web.max_recommendations, web.recommendation_ttl) == (3, 60)
    web.close(timeout=1)
    tracker.track("click", session_id="s-1", item_id="i-1")  # given as is: left open


def test_config_dotted_paths_are_imported_by_default(tracker: Tracker) -> None:
    # Any class will do: the store is not checked against the protocol.
    web = web_tracking_from_config(
        {"TRACKER": tracker, "RECOMMENDATION_STORE": "fractions.Fraction"}
    )
    assert isinstance(web.store, fractions.Fraction)
    with pytest.raises(ValueError, match="TRACKER"):
        web_tracking_from_config({"TRACKER": 42}, where="app.config['PERSONALIZE_TRACKER']")
    with pytest.raises(ModuleNotFoundError):
        web_tracking_from_config({"TRACKER": "no_such_module.tracker"})


class ListStore:
    """A ``RecommendationStore`` keeping every list it is given."""

    def __init__(self) -> None:
        self.lists: dict[str, list[Recommendations]] = {}

    def load(self, session_id: str) -> list[Recommendations]:
        return list(self.lists.get(session_id, ()))

    def save(self, session_id: str, recommendations: Recommendations) -> None:
        self.lists.setdefault(session_id, []).append(recommendations)


class RecordingOwner:
    """A ``SessionOwner`` keeping what its sessions report (errors swallowed)."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, BaseException]] = []
        self.saved: list[tuple[str, str | None, Sequence[str] | None]] = []
        self.shown: list[tuple[str, str, tuple[str, ...]]] = []

    def record_error(self, where: str, exc: BaseException) -> None:
        self.errors.append((where, exc))

    def save_recommendations(self, session_id: str, recommendations: Recommendations) -> None:
        self.saved.append(
            (session_id, recommendations.recommendation_id, recommendations.shown_item_ids)
        )

    def save_shown(self, session_id: str, recommendation_id: str, shown: tuple[str, ...]) -> None:
        self.shown.append((session_id, recommendation_id, shown))


def test_a_web_session_reports_to_its_owner_alone(
    tracker: Tracker, fake_client: FakeClient
) -> None:
    owner = RecordingOwner()
    sid = new_session_id()
    session = web_session(
        owner, tracker, None, sid, None, max_recommendations=10, recommendation_ttl=60
    )
    assert isinstance(session, WebTrackingSession)
    assert session.track("click", item_id="") is None
    assert session.identify("u" * 300) is None
    assert session.user_id is None
    assert [(where, type(exc)) for where, exc in owner.errors] == [
        ("track", InvalidEventError),
        ("identify", InvalidEventError),
    ]
    recs = session.remember(Recommendations(("a", "b", "c"), (None, None, None), "rid-1"))
    assert owner.saved == [(sid, "rid-1", None)]
    recs.shown(["c", "a"])
    assert owner.shown == [(sid, "rid-1", ("c", "a"))]
    assert session.track("click", item_id="a") is not None  # the session remembers it too
    tracker.flush()
    [event] = fake_client.delivered_events
    assert event["impression"] == ["c", "a"]


def test_a_web_session_checks_its_ids_and_memory(tracker: Tracker) -> None:
    owner = RecordingOwner()
    with pytest.raises(InvalidEventError):
        web_session(
            owner,
            tracker,
            "u" * 300,
            new_session_id(),
            None,
            max_recommendations=1,
            recommendation_ttl=60,
        )
    with pytest.raises(ValueError, match="max_recommendations"):
        web_session(
            owner,
            tracker,
            None,
            new_session_id(),
            None,
            max_recommendations=-1,
            recommendation_ttl=60,
        )
    assert owner.errors == []  # raised to the caller (WebTracking decides), not reported


def test_headers_are_lower_cased_and_repeats_joined() -> None:
    pairs = [("User-Agent", "x"), ("Accept", "a"), ("accept", "b"), ("ACCEPT", "c")]
    assert normalize_headers(pairs) == {"user-agent": "x", "accept": "a, b, c"}


def test_the_package_keeps_its_public_names_and_docstrings() -> None:
    assert sorted(integrations.__all__) == [
        "ContextExtractor",
        "CookieSettings",
        "DEFAULT_COOKIE_MAX_AGE",
        "DEFAULT_COOKIE_NAME",
        "DEVICE_TYPES",
        "MemoryRecommendationStore",
        "RecommendationStore",
        "RequestInfo",
        "WebTracking",
        "WebTrackingSession",
        "classify_device",
        "device_type",
        "from_header",
        "new_session_id",
        "valid_session_id",
    ]
    documented = [
        "CookieSettings",
        "MemoryRecommendationStore",
        "RecommendationStore",
        "RequestInfo",
        "WebTracking",
        "WebTrackingSession",
        "classify_device",
        "device_type",
        "from_header",
        "new_session_id",
        "valid_session_id",
    ]
    assert [name for name in documented if not getattr(integrations, name).__doc__] == []
    assert (integrations.DEFAULT_COOKIE_NAME, integrations.DEFAULT_COOKIE_MAX_AGE) == (
        "personalize_session",
        365 * 24 * 3600,
    )


def test_the_package_imports_no_web_framework() -> None:
    frameworks = ("django", "flask", "werkzeug", "starlette", "fastapi", "asgiref")
    code = (
        "import sys, personalize_tracker.integrations\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {frameworks!r}))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == "[]"


def test_an_extractor_returning_a_non_mapping_is_skipped_counted_and_logged_once(
    tracker: Tracker, caplog: pytest.LogCaptureFixture
) -> None:
    def by_header(request: RequestInfo) -> Any:
        # None for the start-up check's empty request, a str for a real one
        return request.headers.get("x-page")

    web = WebTracking(tracker, context=[by_header, from_header("X-Country", "LOCATION")])
    with caplog.at_level(logging.WARNING, "personalize_tracker.integrations"):
        for _ in range(3):
            session, _ = web.open_session(None, None, info(x_page="home", x_country="FR"))
            assert session.context == {"location": "FR"}  # the others still count
    assert web.errors_by_kind == {"context": 3}
    assert caplog.text.count("returned a str") == 1
    assert "context extractor [0]" in caplog.text


def test_a_wrong_context_entry_fails_at_start_up() -> None:
    with pytest.raises(ValueError, match=r"\[1\].*returned a function.*device_type\(\)"):
        web_tracking_from_config(
            {
                "TRACKING_ID": "t",
                "REGION": "us-east-1",
                "CONTEXT": [device_type(), "personalize_tracker.integrations.device_type"],
            }
        )
    with pytest.raises(ValueError, match=r"\[0\].*returned a str"):
        WebTracking(lambda: Tracker("t"), context=[lambda request: "DEVICE_TYPE"])


def test_options_and_region_are_checked_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match=r"'flush_intervall' \(did you mean 'flush_interval'"):
        web_tracking_from_config(
            {"TRACKING_ID": "t", "REGION": "us-east-1", "OPTIONS": {"flush_intervall": 2}}
        )
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(ValueError, match=r"PERSONALIZE_TRACKER\['REGION'\] is not set"):
        web_tracking_from_config({"TRACKING_ID": "t"})
    web = web_tracking_from_config({"TRACKING_ID": "t", "OPTIONS": {"region_name": "eu-west-1"}})
    assert web.tracker.client.meta.region_name == "eu-west-1"
    web.close(timeout=1)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    web_tracking_from_config({"TRACKING_ID": "t"}).close(timeout=1)


def test_after_close_requests_track_nothing_and_it_is_said_once(
    fake_client: FakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    made: list[Tracker] = []

    def factory() -> Tracker:
        made.append(Tracker("t", client=fake_client, flush_interval=3600))
        return made[-1]

    web = WebTracking(factory)
    session, _ = web.open_session(None, None, info())
    assert session.track("click", item_id="i-1") is not None
    web.close(timeout=5)
    with caplog.at_level(logging.WARNING, "personalize_tracker.integrations"):
        for _ in range(3):
            later, _ = web.open_session(None, None, info())
            assert later.track("click", item_id="i-2") is None
    assert len(made) == 1  # no new Tracker behind the caller's back
    assert [e["itemId"] for e in fake_client.delivered_events] == ["i-1"]
    assert web.errors_by_kind == {"closed": 3}
    assert caplog.text.count("was closed") == 1
    web.close(timeout=1)  # idempotent


HOSTILE_SESSION_IDS = [
    "x" * 10_000,
    "abcdefghijklmnop\x00\x1b[31m",
    "null",
    "undefined",
    "s:abcdefghijklmnopqrstuvwx.signature+/=",  # another scheme (a signed cookie)
    "",
    "é" * 20,
]


@pytest.mark.parametrize("forged", HOSTILE_SESSION_IDS)
def test_a_hostile_session_id_is_replaced_and_counted(tracker: Tracker, forged: str) -> None:
    web = WebTracking(tracker)
    session, issued = web.open_session(forged, None, info())
    assert issued
    assert valid_session_id(session.session_id)
    assert web.bad_session_ids == 1
    web.open_session(None, None, info())  # no cookie at all is not a bad one
    assert web.bad_session_ids == 1
