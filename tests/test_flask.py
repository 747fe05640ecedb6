"""The Flask extension through Flask's test client, against the in-process Personalize fake."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("flask")
pytest.importorskip("ua_parser")
flask_login = pytest.importorskip("flask_login")

from flask import Flask, g  # noqa: E402

from personalize_tracker.integrations import WebTrackingSession, device_type  # noqa: E402
from personalize_tracker.integrations.flask import PersonalizeTracker  # noqa: E402
from personalize_tracker.testing import PersonalizeEventsMock  # noqa: E402

CAMPAIGN = "arn:aws:personalize:us-east-1:000000000000:campaign/shop"
PHONE = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)


class User(flask_login.UserMixin):  # type: ignore[misc]
    def __init__(self, user_id: str) -> None:
        self.id = user_id


def create_app(**config: Any) -> Flask:
    app = Flask(__name__)
    app.secret_key = "test"
    app.config["PERSONALIZE_TRACKER"] = {
        "TRACKING_ID": "shop",
        "REGION": "us-east-1",
        "OPTIONS": {"flush_interval": 3600},
        "CONTEXT": [device_type()],
        **config,
    }
    login = flask_login.LoginManager(app)
    login.user_loader(User)
    PersonalizeTracker(app)

    @app.get("/")
    def catalog() -> dict[str, Any]:
        recs = g.personalize.get_recommendations(campaign_arn=CAMPAIGN, num_results=5)
        return {"recommended": list(recs.item_ids)}

    @app.get("/items/<item_id>")
    def item(item_id: str) -> str:
        g.personalize.track("view", item_id=item_id)
        return item_id

    @app.post("/items/<item_id>/click")
    def click(item_id: str) -> str:
        g.personalize.track("click", item_id=item_id)
        return "ok"

    @app.post("/login/<user_id>")
    def log_in(user_id: str) -> str:
        flask_login.login_user(User(user_id))
        g.personalize.track("login")
        return "ok"

    @app.post("/logout")
    def log_out() -> str:
        flask_login.logout_user()
        return "ok"

    @app.get("/bad")
    def bad() -> str:
        event = g.personalize.track("click", item_id="x" * 300)  # breaks a PutEvents rule
        return "tracked" if event else "not tracked"

    @app.get("/whoami")
    def whoami() -> dict[str, Any]:
        session = g.personalize
        assert isinstance(session, WebTrackingSession)
        return {"session_id": session.session_id, "user_id": session.user_id}

    return app


@pytest.fixture
def app(personalize_events: PersonalizeEventsMock) -> Iterator[Flask]:
    app = create_app()
    yield app
    PersonalizeTracker.close(app, timeout=5)


def events(app: Flask, endpoint: PersonalizeEventsMock) -> list[Any]:
    assert PersonalizeTracker.tracker(app).flush(5)
    return sorted(endpoint.events, key=lambda e: e.sent_at)  # calls are per (user, session)


def test_browse_log_in_and_click_a_recommendation(
    app: Flask, personalize_events: PersonalizeEventsMock
) -> None:
    client = app.test_client()
    headers = {"User-Agent": PHONE}
    page = client.get("/", headers=headers)
    assert page.status_code == 200
    cookie = page.headers["Set-Cookie"]
    assert "personalize_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" in cookie  # app.debug is off
    assert "Max-Age=31536000" in cookie
    recommended = page.get_json()["recommended"]
    assert client.get(f"/items/{recommended[0]}", headers=headers).status_code == 200

    assert client.post("/login/u-7", headers=headers).status_code == 200
    click = client.post(f"/items/{recommended[2]}/click", headers=headers)
    assert click.status_code == 200
    assert "Set-Cookie" not in click.headers  # the id is set once

    [recorded] = [r for r in personalize_events.requests if r.operation == "GetRecommendations"]
    assert recorded.response is not None
    received = events(app, personalize_events)
    assert [(e.event_type, e.item_id, e.user_id) for e in received] == [
        ("view", recommended[0], None),
        ("login", None, "u-7"),  # the login request's session got the user at once
        ("click", recommended[2], "u-7"),
    ]
    assert len({e.session_id for e in received}) == 1  # anonymous history linked to the user
    assert received[0].session_id in cookie
    assert recorded.params["userId"] == received[0].session_id  # asked as the anonymous visitor
    assert received[2].recommendation_id == recorded.response["recommendationId"]
    assert received[0].recommendation_id == recorded.response["recommendationId"]
    assert {e.properties for e in received} == {'{"deviceType":"mobile"}'}


def test_logout_starts_a_new_session(app: Flask, personalize_events: PersonalizeEventsMock) -> None:
    client = app.test_client()
    client.post("/login/u-1")
    first = client.get("/whoami").get_json()
    assert first["user_id"] == "u-1"
    out = client.post("/logout")
    assert "personalize_session=" in out.headers["Set-Cookie"]
    second = client.get("/whoami").get_json()
    assert second["user_id"] is None
    assert second["session_id"] != first["session_id"]


def test_a_tracking_error_does_not_fail_the_request(
    app: Flask, personalize_events: PersonalizeEventsMock
) -> None:
    response = app.test_client().get("/bad")
    assert response.status_code == 200
    assert response.text == "not tracked"
    assert PersonalizeTracker.web_tracking(app).errors_by_kind == {"track": 1}


def test_debug_cookie_is_not_secure_and_a_custom_user_loader(
    personalize_events: PersonalizeEventsMock,
) -> None:
    app = create_app(USER_LOADER=lambda: "from-loader", COOKIE_NAME="sid")
    app.debug = True
    try:
        response = app.test_client().get("/whoami")
        assert response.get_json()["user_id"] == "from-loader"
        cookie = response.headers["Set-Cookie"]
        assert cookie.startswith("sid=")
        assert "Secure" not in cookie
    finally:
        PersonalizeTracker.close(app, timeout=5)


def test_application_factory_apps_are_independent(
    personalize_events: PersonalizeEventsMock,
) -> None:
    extension = PersonalizeTracker()
    apps = []
    for tracking_id in ("one", "two"):
        app = Flask(tracking_id)
        app.config["PERSONALIZE_TRACKER"] = {"TRACKING_ID": tracking_id, "REGION": "us-east-1"}
        extension.init_app(app)
        app.add_url_rule("/", "index", lambda: g.personalize.track("view", item_id="i") and "ok")
        apps.append(app)
    for app in apps:
        assert app.test_client().get("/").status_code == 200
        extension.close(app, timeout=5)
    assert sorted(e.tracking_id for e in personalize_events.events) == ["one", "two"]


def test_missing_configuration_fails_at_init() -> None:
    with pytest.raises(ValueError, match="TRACKING_ID"):
        PersonalizeTracker(Flask(__name__))


def test_wrong_configuration_fails_at_init_app(personalize_events: PersonalizeEventsMock) -> None:
    with pytest.raises(ValueError, match=r"'flush_intervall' \(did you mean 'flush_interval'"):
        create_app(OPTIONS={"flush_intervall": 5})
    with pytest.raises(ValueError, match=r"returned a function.*device_type\(\)"):
        create_app(CONTEXT=["personalize_tracker.integrations.device_type"])


def test_an_extractor_returning_a_non_mapping_never_fails_the_page(
    personalize_events: PersonalizeEventsMock,
) -> None:
    def page_kind(request: Any) -> Any:
        return request.headers.get("x-page")  # a str: wrong, but only with the header

    app = create_app(CONTEXT=[page_kind, device_type()])
    try:
        response = app.test_client().get(
            "/items/i-1", headers={"X-Page": "home", "User-Agent": PHONE}
        )
        assert response.status_code == 200
        assert PersonalizeTracker.web_tracking(app).errors_by_kind == {"context": 1}
        [event] = events(app, personalize_events)
        assert event.properties == '{"deviceType":"mobile"}'
    finally:
        PersonalizeTracker.close(app, timeout=5)


def test_after_close_requests_are_served_and_not_tracked(
    app: Flask, personalize_events: PersonalizeEventsMock
) -> None:
    client = app.test_client()
    assert client.get("/items/i-1").status_code == 200
    closed = PersonalizeTracker.tracker(app)
    PersonalizeTracker.close(app, timeout=5)
    assert client.get("/items/i-2").status_code == 200
    assert PersonalizeTracker.tracker(app) is closed  # no new Tracker left to the exit flush
    assert [e.item_id for e in personalize_events.events] == ["i-1"]
    assert PersonalizeTracker.web_tracking(app).errors_by_kind == {"closed": 1}


def test_log_in_and_log_out_without_flask_login(personalize_events: PersonalizeEventsMock) -> None:
    from personalize_tracker.integrations.flask import log_in, log_out

    signed_in: dict[str, str] = {}  # the app's own sign-in, no Flask-Login
    app = Flask(__name__)
    app.config["PERSONALIZE_TRACKER"] = {
        "TRACKING_ID": "shop",
        "REGION": "us-east-1",
        "USER_LOADER": lambda: signed_in.get("user"),
    }
    PersonalizeTracker(app)

    @app.post("/login/<user_id>")
    def login_view(user_id: str) -> str:
        signed_in["user"] = user_id
        log_in(user_id)
        g.personalize.track("login")
        return "ok"

    @app.post("/logout")
    def logout_view() -> str:
        signed_in.clear()
        log_out()
        return "ok"

    client = app.test_client()
    first = client.post("/login/u-9")
    out = client.post("/logout")
    assert out.headers["Set-Cookie"].split(";")[0] != first.headers["Set-Cookie"].split(";")[0]
    PersonalizeTracker.close(app, timeout=5)
    [event] = personalize_events.events
    assert (event.event_type, event.user_id) == ("login", "u-9")  # not anonymous


@pytest.mark.filterwarnings("ignore:The 'personalize_session' cookie is too large")
@pytest.mark.parametrize(
    "cookie",
    ["x" * 10_000, "abcdefghijklmnopq\x01\x7f", "null", "s:abcdefghijklmnop.sig+/="],
)
def test_hostile_requests_never_fail_and_send_nothing_over_a_limit(
    app: Flask, personalize_events: PersonalizeEventsMock, cookie: str
) -> None:
    client = app.test_client()
    client.set_cookie("personalize_session", cookie)
    agent = "Mozilla/5.0 \xff\xfe" + "A" * 100_000  # bytes 0xff 0xfe (not UTF-8), 100 KB
    response = client.get("/items/i-1", headers={"User-Agent": agent})
    assert response.status_code == 200
    issued = response.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    assert issued != cookie
    assert PersonalizeTracker.web_tracking(app).bad_session_ids == 1
    [event] = events(app, personalize_events)
    assert event.session_id == issued
    assert event.properties == '{"deviceType":"other"}'
