"""The ASGI middleware with Starlette and FastAPI, through Starlette's TestClient."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from typing import Annotated, Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
pytest.importorskip("ua_parser")
fastapi = pytest.importorskip("fastapi")

from starlette.applications import Starlette  # noqa: E402
from starlette.authentication import (  # noqa: E402
    AuthCredentials,
    AuthenticationBackend,
    SimpleUser,
)
from starlette.middleware.authentication import AuthenticationMiddleware  # noqa: E402
from starlette.requests import HTTPConnection, Request  # noqa: E402
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

with warnings.catch_warnings():  # starlette 1.x: "use httpx2"; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from personalize_tracker import Tracker, TrackingSession  # noqa: E402
from personalize_tracker.integrations import device_type, from_header  # noqa: E402
from personalize_tracker.integrations.asgi import (  # noqa: E402
    PersonalizeMiddleware,
    personalize_session,
)
from personalize_tracker.testing import PersonalizeEventsMock  # noqa: E402

Visitor = Annotated[TrackingSession, fastapi.Depends(personalize_session)]
CAMPAIGN = "arn:aws:personalize:us-east-1:000000000000:campaign/shop"
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


class CookieAuth(AuthenticationBackend):
    """A toy login: the ``user`` cookie names the user."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, SimpleUser] | None:
        name = conn.cookies.get("user")
        return None if name is None else (AuthCredentials(["authenticated"]), SimpleUser(name))


async def catalog(request: Request) -> JSONResponse:
    recs = request.state.personalize.get_recommendations(campaign_arn=CAMPAIGN, num_results=5)
    return JSONResponse({"recommended": list(recs.item_ids)})


async def item(request: Request) -> PlainTextResponse:
    request.state.personalize.track("view", item_id=request.path_params["item_id"])
    return PlainTextResponse("ok")


async def click(request: Request) -> PlainTextResponse:
    request.state.personalize.track("click", item_id=request.path_params["item_id"])
    return PlainTextResponse("ok")


async def login(request: Request) -> PlainTextResponse:
    response = PlainTextResponse("ok")
    response.set_cookie("user", request.path_params["name"])
    return response


async def stream(request: Request) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        for chunk in (b"a", b"b"):
            yield chunk

    request.state.personalize.track("stream")
    return StreamingResponse(body())


async def bad(request: Request) -> PlainTextResponse:
    event = request.state.personalize.track("click", item_id="")
    return PlainTextResponse("tracked" if event else "not tracked")


def starlette_app(**options: Any) -> Starlette:
    app = Starlette(
        routes=[
            Route("/", catalog),
            Route("/items/{item_id}", item),
            Route("/items/{item_id}/click", click, methods=["POST"]),
            Route("/login/{name}", login, methods=["POST"]),
            Route("/stream", stream),
            Route("/bad", bad),
        ]
    )
    app.add_middleware(
        PersonalizeMiddleware,
        tracking_id="shop",
        region_name="us-east-1",
        tracker_options={"flush_interval": 3600},
        context=[device_type()],
        **options,
    )
    app.add_middleware(AuthenticationMiddleware, backend=CookieAuth())  # outermost: runs first
    return app


def test_starlette_browse_log_in_and_click(personalize_events: PersonalizeEventsMock) -> None:
    app = starlette_app()
    with TestClient(app, base_url="https://testserver", headers={"User-Agent": IPAD}) as client:
        page = client.get("/")
        cookie = page.headers["set-cookie"]
        for flag in ("personalize_session=", "HttpOnly", "Secure", "SameSite=Lax"):
            assert flag in cookie
        recommended = page.json()["recommended"]
        client.get(f"/items/{recommended[1]}")
        client.post("/login/ada")
        click_response = client.post(f"/items/{recommended[3]}/click")
        assert "set-cookie" not in click_response.headers
        assert personalize_events.events == []  # queued: nothing waited on the network
    # leaving the client ends the lifespan: the middleware closed (and flushed) its Tracker
    received = sorted(personalize_events.events, key=lambda e: e.sent_at)
    [recorded] = [r for r in personalize_events.requests if r.operation == "GetRecommendations"]
    assert recorded.response is not None
    assert [(e.event_type, e.item_id, e.user_id) for e in received] == [
        ("view", recommended[1], None),
        ("click", recommended[3], "ada"),
    ]
    assert received[0].session_id == received[1].session_id
    assert received[0].session_id in cookie
    assert received[1].recommendation_id == recorded.response["recommendationId"]
    assert {e.properties for e in received} == {'{"deviceType":"tablet"}'}


def test_streaming_response_gets_the_cookie(personalize_events: PersonalizeEventsMock) -> None:
    with TestClient(starlette_app(debug=True)) as client:
        response = client.get("/stream")
        assert response.text == "ab"
        cookie = response.headers["set-cookie"]
        assert "personalize_session=" in cookie
        assert "Secure" not in cookie  # debug=True
    [event] = personalize_events.events
    assert event.event_type == "stream"
    assert event.session_id in cookie


def test_tracking_error_is_counted_not_raised(personalize_events: PersonalizeEventsMock) -> None:
    app = starlette_app()
    with TestClient(app, base_url="https://testserver") as client:
        response = client.get("/bad")
    assert response.status_code == 200
    assert response.text == "not tracked"
    middleware = find_middleware(app)
    assert middleware.errors == 1


def find_middleware(app: Starlette) -> PersonalizeMiddleware:
    layer: Any = app.middleware_stack
    while not isinstance(layer, PersonalizeMiddleware):
        layer = layer.app
    return layer


def test_fastapi_dependency(personalize_events: PersonalizeEventsMock) -> None:
    with Tracker("shop", region_name="us-east-1", flush_interval=3600) as tracker:
        app = fastapi.FastAPI()
        app.add_middleware(PersonalizeMiddleware, tracker=tracker, user_loader=user_from_header)

        @app.post("/items/{item_id}/click")
        async def click(item_id: str, visitor: Visitor) -> dict[str, Any]:
            visitor.track("click", item_id=item_id)
            return {"session_id": visitor.session_id}

        with TestClient(app, base_url="https://testserver") as client:
            first = client.post("/items/i-1/click").json()
            second = client.post("/items/i-2/click", headers={"x-user": "u-9"}).json()
        assert not tracker.closed  # a Tracker passed in is left to its owner
        assert tracker.flush(5)
    assert first == second
    received = sorted(personalize_events.events, key=lambda e: e.sent_at)
    assert [(e.item_id, e.user_id) for e in received] == [("i-1", None), ("i-2", "u-9")]
    assert {e.properties for e in received} == {None}  # no extractor configured: no context


async def user_from_header(scope: Any) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-user":
            return str(value.decode())
    return None


def test_dependency_without_middleware_is_an_error() -> None:
    app = fastapi.FastAPI()

    @app.get("/")
    def index(visitor: Visitor) -> str:
        return visitor.session_id

    with (
        TestClient(app) as client,
        pytest.raises(RuntimeError, match="needs PersonalizeMiddleware"),
    ):
        client.get("/")


def test_needs_exactly_one_tracker_source() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        PersonalizeMiddleware(Starlette())


async def _receive() -> dict[str, Any]:
    return {"type": "http.disconnect"}


def run_raw(middleware: PersonalizeMiddleware, headers: list[tuple[bytes, bytes]]) -> list[Any]:
    """One HTTP request with raw header bytes straight through the middleware."""
    import asyncio

    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
    asyncio.run(middleware(scope, _receive, send))
    return sent


async def tracking_app(scope: Any, receive: Any, send: Any) -> None:
    scope["state"]["personalize"].track("view", item_id="i-1")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_cookie_split_over_several_headers_is_read(
    personalize_events: PersonalizeEventsMock,
) -> None:
    with Tracker("shop", region_name="us-east-1", flush_interval=3600) as tracker:
        middleware = PersonalizeMiddleware(tracking_app, tracker=tracker)
        sid = "a" * 32
        sent = run_raw(
            middleware,
            [(b"cookie", b"theme=dark"), (b"cookie", f"personalize_session={sid}".encode())],
        )
        assert all(name != b"set-cookie" for name, _ in sent[0]["headers"])  # kept, not new
    [event] = personalize_events.events
    assert event.session_id == sid
    assert middleware.web.bad_session_ids == 0


@pytest.mark.parametrize(
    "cookie",
    [b"x" * 10_000, b"abcdefghijklmnopq\x01\x7f", b"null", b"\xff\xfe" * 20, b"s:abc.sig+/="],
)
def test_hostile_requests_never_fail_and_send_nothing_over_a_limit(
    personalize_events: PersonalizeEventsMock, cookie: bytes
) -> None:
    with Tracker("shop", region_name="us-east-1", flush_interval=3600) as tracker:
        middleware = PersonalizeMiddleware(
            tracking_app,
            tracker=tracker,
            context=[device_type(), from_header("X-Page", "PAGE")],
        )
        sent = run_raw(
            middleware,
            [
                (b"cookie", b"personalize_session=" + cookie),
                (b"user-agent", b"Mozilla/5.0 \xff\xfe" + b"A" * 100_000),
                (b"x-page", b"\xc3(" * 50_000),
            ],
        )
        assert sent[0]["status"] == 200
        [set_cookie] = [v for name, v in sent[0]["headers"] if name == b"set-cookie"]
        assert middleware.web.bad_session_ids == 1
    [event] = personalize_events.events
    assert set_cookie.startswith(f"personalize_session={event.session_id};".encode())
    assert len(event.properties or "") <= 1024  # PutEvents: properties at most 1024 characters


def test_a_wrong_extractor_fails_at_start_up_and_a_non_mapping_never_fails_a_page(
    personalize_events: PersonalizeEventsMock,
) -> None:
    with pytest.raises(ValueError, match=r"returned a function.*device_type\(\)"):
        PersonalizeMiddleware(tracking_app, tracking_id="shop", region_name="us-east-1",
                              context=[device_type])  # fmt: skip
    with Tracker("shop", region_name="us-east-1", flush_interval=3600) as tracker:
        middleware = PersonalizeMiddleware(
            tracking_app, tracker=tracker, context=[lambda r: r.headers.get("x-page")]
        )
        sent = run_raw(middleware, [(b"x-page", b"home")])
        assert sent[0]["status"] == 200
        assert middleware.web.errors_by_kind == {"context": 1}
    assert len(personalize_events.events) == 1
