"""The Django middleware through Django's test clients (sync and async views, real auth)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

django = pytest.importorskip("django")
pytest.importorskip("ua_parser")

from django.conf import settings  # noqa: E402

from personalize_tracker.integrations import device_type  # noqa: E402

CAMPAIGN = "arn:aws:personalize:us-east-1:000000000000:campaign/shop"
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
_DB_DIR = tempfile.TemporaryDirectory(prefix="personalize-django-")

if not settings.configured:  # this module is the only one configuring Django in-process
    settings.configure(
        DEBUG=False,
        SECRET_KEY="test",
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "personalize_tracker.integrations.django.PersonalizeMiddleware",
        ],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(Path(_DB_DIR.name) / "db.sqlite3"),
            }
        },
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        USE_TZ=True,
        PERSONALIZE_TRACKER={"TRACKING_ID": "shop", "REGION": "us-east-1"},
    )
    django.setup()

from django.contrib.auth import authenticate, login, logout  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.test import AsyncClient, Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402

from personalize_tracker import InvalidEventError  # noqa: E402
from personalize_tracker.integrations.django import (  # noqa: E402
    ModelSync,
    PersonalizeMiddleware,
    get_tracker,
    get_web_tracking,
    sync_users,
)
from personalize_tracker.testing import PersonalizeEventsMock  # noqa: E402


def catalog(request: HttpRequest) -> JsonResponse:
    recs = request.personalize.get_recommendations(  # type: ignore[attr-defined]
        campaign_arn=CAMPAIGN, num_results=5
    )
    return JsonResponse({"recommended": list(recs.item_ids)})


def item(request: HttpRequest, item_id: str) -> HttpResponse:
    request.personalize.track("view", item_id=item_id)  # type: ignore[attr-defined]
    return HttpResponse("ok")


async def async_click(request: HttpRequest, item_id: str) -> HttpResponse:
    request.personalize.track("click", item_id=item_id)  # type: ignore[attr-defined]
    return HttpResponse("ok")


def log_in(request: HttpRequest) -> HttpResponse:
    user = authenticate(request, username=request.POST["username"], password="pw")
    assert user is not None
    login(request, user)
    request.personalize.track("login")  # type: ignore[attr-defined]
    return HttpResponse("ok")


def log_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponse("ok")


def whoami(request: HttpRequest) -> JsonResponse:
    session = request.personalize  # type: ignore[attr-defined]
    return JsonResponse({"session_id": session.session_id, "user_id": session.user_id})


async def async_whoami(request: HttpRequest) -> JsonResponse:
    return whoami(request)


def bad(request: HttpRequest) -> HttpResponse:
    event = request.personalize.track("click", item_id="")  # type: ignore[attr-defined]
    return HttpResponse("tracked" if event else "not tracked")


urlpatterns = [
    path("", catalog),
    path("items/<str:item_id>", item),
    path("items/<str:item_id>/click", async_click),
    path("login", log_in),
    path("logout", log_out),
    path("whoami", whoami),
    path("async-whoami", async_whoami),
    path("bad", bad),
]


@pytest.fixture(scope="module")
def users() -> Iterator[None]:
    call_command("migrate", verbosity=0, interactive=False)
    User.objects.create_user("ada", password="pw")
    User.objects.create_user("bob", password="pw")
    yield
    _DB_DIR.cleanup()


def configured(**extra: Any) -> override_settings:
    """PERSONALIZE_TRACKER for one test (a new Tracker; the old one is closed)."""
    return override_settings(
        PERSONALIZE_TRACKER={
            "TRACKING_ID": "shop",
            "REGION": "us-east-1",
            "OPTIONS": {"flush_interval": 3600},
            "CONTEXT": [device_type()],
            **extra,
        }
    )


def received(endpoint: PersonalizeEventsMock) -> list[Any]:
    assert get_tracker().flush(5)
    return sorted(endpoint.events, key=lambda e: e.sent_at)  # calls are per (user, session)


@pytest.mark.usefixtures("users")
def test_browse_log_in_and_click_sync_and_async(personalize_events: PersonalizeEventsMock) -> None:
    with configured():
        client = Client(headers={"user-agent": PHONE})
        page = client.get("/")
        assert page.status_code == 200
        morsel = page.cookies["personalize_session"]
        assert morsel["httponly"]
        assert morsel["secure"]  # DEBUG is off
        assert morsel["samesite"] == "Lax"
        assert morsel["max-age"] == 365 * 24 * 3600
        recommended = page.json()["recommended"]
        client.get(f"/items/{recommended[0]}")
        assert client.post("/login", {"username": "ada"}).status_code == 200
        ada = User.objects.get(username="ada")
        click = client.post(f"/items/{recommended[4]}/click")  # an async view
        assert click.status_code == 200
        assert "personalize_session" not in click.cookies  # the id is set once
        events = received(personalize_events)
    [recorded] = [r for r in personalize_events.requests if r.operation == "GetRecommendations"]
    assert recorded.response is not None
    assert [(e.event_type, e.item_id, e.user_id) for e in events] == [
        ("view", recommended[0], None),
        ("login", None, str(ada.pk)),  # login() identified the request's session at once
        ("click", recommended[4], str(ada.pk)),
    ]
    assert {e.session_id for e in events} == {morsel.value}  # login kept the sessionId
    assert events[2].recommendation_id == recorded.response["recommendationId"]
    assert {e.properties for e in events} == {'{"deviceType":"mobile"}'}


@pytest.mark.usefixtures("users")
def test_async_stack(personalize_events: PersonalizeEventsMock) -> None:
    async def browse() -> list[dict[str, Any]]:
        client = AsyncClient()
        first = await client.get("/async-whoami")
        assert first.status_code == 200
        await client.post("/login", {"username": "bob"})
        second = await client.get("/async-whoami")
        third = await client.get("/whoami")  # a sync view in the async stack
        return [first.json(), second.json(), third.json()]

    with configured():
        anonymous, second, third = asyncio.run(browse())
    assert anonymous["user_id"] is None
    assert second["session_id"] == anonymous["session_id"] == third["session_id"]
    assert second["user_id"] == third["user_id"] is not None


@pytest.mark.usefixtures("users")
def test_logout_starts_a_new_session(personalize_events: PersonalizeEventsMock) -> None:
    with configured():
        client = Client()
        client.post("/login", {"username": "ada"})
        before = client.get("/whoami").json()
        client.post("/logout")
        after = client.get("/whoami").json()
    assert before["user_id"] is not None
    assert after["user_id"] is None
    assert after["session_id"] != before["session_id"]


@pytest.mark.usefixtures("users")
def test_session_id_kept_in_the_django_session(personalize_events: PersonalizeEventsMock) -> None:
    with configured(USE_SESSION=True, USER_ID_ATTRIBUTE="username"):
        client = Client()
        first = client.get("/whoami")
        assert "personalize_session" not in first.cookies
        key_before = client.cookies["sessionid"].value
        client.post("/login", {"username": "ada"})
        assert client.cookies["sessionid"].value != key_before  # Django cycled its key...
        after = client.get("/whoami").json()
    assert after == {"session_id": first.json()["session_id"], "user_id": "ada"}  # ...not ours
    assert key_before not in after["session_id"]  # never the session key itself


@pytest.mark.usefixtures("users")
def test_tracking_error_keeps_the_page(personalize_events: PersonalizeEventsMock) -> None:
    with configured():
        response = Client().get("/bad")
        assert response.status_code == 200
        assert response.content == b"not tracked"
        assert get_web_tracking().errors_by_kind == {"track": 1}


def test_bad_settings_fail_when_the_middleware_loads() -> None:
    with (
        override_settings(PERSONALIZE_TRACKER={"REGION": "us-east-1"}),
        pytest.raises(ImproperlyConfigured, match="TRACKING_ID"),
    ):
        PersonalizeMiddleware(lambda request: HttpResponse())


def test_user_ids_that_are_uuids_are_sent_and_bad_ones_are_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import types
    import uuid

    from personalize_tracker.integrations import django as integration

    key = uuid.uuid4()
    signed_in = types.SimpleNamespace(is_authenticated=True, pk=key, email=None)
    assert integration._user_id(signed_in, "pk") == str(key)
    caplog.set_level("WARNING", logger="personalize_tracker")
    assert integration._user_id(signed_in, "uid") is None  # a misspelt USER_ID_ATTRIBUTE
    assert "request.user.uid is missing" in caplog.text
    assert integration._user_id(types.SimpleNamespace(is_authenticated=False), "pk") is None


def test_no_region_fails_when_the_middleware_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with (
        override_settings(PERSONALIZE_TRACKER={"TRACKING_ID": "shop"}),
        pytest.raises(ImproperlyConfigured, match=r"\['REGION'\] is not set"),
    ):
        PersonalizeMiddleware(lambda request: HttpResponse())


def test_a_wrong_context_entry_fails_when_the_middleware_loads() -> None:
    with (
        configured(CONTEXT=["personalize_tracker.integrations.device_type"]),
        pytest.raises(ImproperlyConfigured, match=r"returned a function"),
    ):
        PersonalizeMiddleware(lambda request: HttpResponse())


def page_kind(request: Any) -> Any:
    return request.headers.get("x-page")  # a str: not a mapping (None at the start-up check)


@pytest.mark.usefixtures("users")
@pytest.mark.parametrize(
    "cookie", ["x" * 10_000, "abcdefghijklmnopq\x01\x7f", "null", "s:abc.sig+/=", "\xff\xfe" * 20]
)
def test_hostile_requests_never_fail_and_send_nothing_over_a_limit(
    personalize_events: PersonalizeEventsMock, cookie: str
) -> None:
    with configured(CONTEXT=[device_type(), page_kind]):
        client = Client()
        client.cookies["personalize_session"] = cookie
        response = client.get(
            "/items/i-1",
            headers={"user-agent": "Mozilla/5.0 \xff\xfe" + "A" * 100_000, "x-page": "home"},
        )
        assert response.status_code == 200
        issued = response.cookies["personalize_session"].value
        assert issued != cookie
        web = get_web_tracking()
        assert web.bad_session_ids == 1
        assert web.errors_by_kind == {"context": 1}
        [event] = received(personalize_events)
    assert event.session_id == issued
    assert event.properties == '{"deviceType":"other"}'


# ---------------------------------------------------------------------------- sync_users


class FakeTracker:
    """What sync_users calls: put_user, recorded; refuses ids starting with "bad"."""

    def __init__(self) -> None:
        self.users: list[tuple[Any, dict[str, Any]]] = []

    def put_user(self, user_id: Any, properties: dict[str, Any]) -> None:
        if str(properties.get("USERNAME", "")).startswith("bad"):
            raise InvalidEventError("properties.USERNAME", "is refused", "a test")
        self.users.append((user_id, properties))


@pytest.fixture
def synced() -> Iterator[tuple[FakeTracker, ModelSync]]:
    fake = FakeTracker()
    link = sync_users(
        User,
        tracker=lambda: fake,  # type: ignore[arg-type,return-value]
        fields={
            "USERNAME": "username",
            "STAFF": "is_staff",
            "JOINED": "date_joined",
            "GROUPS": lambda user: ["members", "beta"],
            "EMAIL": "email",
        },
    )
    try:
        yield fake, link
    finally:
        link.disconnect()


@pytest.mark.usefixtures("users")
def test_a_save_puts_the_mapped_fields_once_committed(
    synced: tuple[FakeTracker, ModelSync],
) -> None:
    fake, _ = synced
    with transaction.atomic():
        cleo = User.objects.create_user("cleo", password="pw", email="")
        assert fake.users == []  # not before the commit
    joined = int(cleo.date_joined.timestamp())
    assert fake.users == [
        (
            cleo.pk,
            {
                "USERNAME": "cleo",
                "STAFF": False,
                "JOINED": joined,
                "GROUPS": ["members", "beta"],
                "EMAIL": "",
            },
        )
    ]
    cleo.is_staff = True
    cleo.save()
    assert fake.users[-1][1]["STAFF"] is True


@pytest.mark.usefixtures("users")
def test_what_sends_nothing(synced: tuple[FakeTracker, ModelSync]) -> None:
    fake, link = synced

    def roll_back() -> None:
        with transaction.atomic():
            User.objects.create_user("dora", password="pw")
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        roll_back()
    assert fake.users == []
    eve = User.objects.create_user("eve", password="pw")
    User.objects.filter(pk=eve.pk).update(is_staff=True)  # no signal
    User.objects.filter(pk=eve.pk).delete()  # PutUsers has no delete
    assert [props["USERNAME"] for _, props in fake.users] == ["eve"]
    assert link.send_all(User.objects.filter(username__in=["ada", "bob"])) == 2
    assert sorted(props["USERNAME"] for _, props in fake.users) == ["ada", "bob", "eve"]


@pytest.mark.usefixtures("users")
def test_a_save_of_fields_not_mapped_sends_nothing(synced: tuple[FakeTracker, ModelSync]) -> None:
    fake, _ = synced
    # Connecting again for the same model replaces the fixture's link (no function this time).
    named = sync_users(User, tracker=lambda: fake, fields={"USERNAME": "username"})  # type: ignore[arg-type,return-value]
    try:
        flo = User.objects.create_user("flo", password="pw")
        flo.last_login = flo.date_joined
        flo.save(update_fields=["last_login"])  # no mapped field touched
        flo.username = "flora"
        flo.save(update_fields=["username"])
    finally:
        named.disconnect()
    assert fake.users == [(flo.pk, {"USERNAME": "flo"}), (flo.pk, {"USERNAME": "flora"})]


@pytest.mark.usefixtures("users")
def test_a_many_to_many_set_in_the_same_transaction_is_sent() -> None:
    fake = FakeTracker()
    names = {"GROUPS": lambda user: [g.name for g in user.groups.all()]}
    groups = sync_users(User, tracker=lambda: fake, fields=names)  # type: ignore[arg-type,return-value]
    try:
        gold = Group.objects.create(name="gold")
        with transaction.atomic():  # as the admin saves: the object, then its many-to-many
            ann = User.objects.create_user("ann", password="pw")
            ann.groups.set([gold])
        with transaction.atomic():  # created, then deleted before the commit: nothing to put
            gone = User.objects.create_user("gone", password="pw")
            gone.delete()
    finally:
        groups.disconnect()
    assert fake.users == [(ann.pk, {"GROUPS": ["gold"]})]


@pytest.mark.usefixtures("users")
def test_a_mapped_property_follows_the_field_it_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        User, "full", property(lambda u: f"{u.first_name} {u.last_name}".strip()), raising=False
    )
    fake = FakeTracker()
    named = sync_users(User, tracker=lambda: fake, fields={"NAME": "full"})  # type: ignore[arg-type,return-value]
    try:
        bea = User.objects.create_user("bea", password="pw", first_name="Bea")
        bea.first_name = "Beatrix"
        bea.save(update_fields=["first_name"])
    finally:
        named.disconnect()
    assert fake.users == [(bea.pk, {"NAME": "Bea"}), (bea.pk, {"NAME": "Beatrix"})]


@pytest.mark.usefixtures("users")
def test_a_refused_record_is_logged_and_the_save_goes_on(
    synced: tuple[FakeTracker, ModelSync], caplog: pytest.LogCaptureFixture
) -> None:
    fake, link = synced
    caplog.set_level("WARNING", logger="personalize_tracker")
    bad = User.objects.create_user("bad-fred", password="pw")
    assert User.objects.filter(pk=bad.pk).exists()
    assert (fake.users, link.errors) == ([], 1)
    # No user id (the pk, by default) in the log line.
    assert [record.getMessage() for record in caplog.records] == [
        "personalize-tracker: auth.User was not sent to the Users dataset (InvalidEventError: "
        "properties.USERNAME: is refused (limit: a test))"
    ]
    assert (link.send_all([bad]), link.errors) == (0, 2)  # refused again: not counted as put
    strict = sync_users(User, tracker=lambda: fake, fields={"USERNAME": "username"},  # type: ignore[arg-type,return-value]
                        raise_errors=True)  # fmt: skip
    try:
        with pytest.raises(InvalidEventError, match=r"properties\.USERNAME"):
            User.objects.create_user("bad-gus", password="pw")
    finally:
        strict.disconnect()


def test_a_mapping_is_checked_when_it_is_made() -> None:
    with pytest.raises(ImproperlyConfigured, match="'shoe_size', is not an attribute of User"):
        sync_users(User, fields={"SIZE": "shoe_size"})
    with pytest.raises(ImproperlyConfigured, match="must be an attribute name or a function"):
        sync_users(User, fields={"SIZE": 3})  # type: ignore[dict-item]
