"""ASGI integration (Starlette, FastAPI, any ASGI app): ``request.state.personalize``.

::

    from fastapi import Depends, FastAPI
    from personalize_tracker import TrackingSession
    from personalize_tracker.integrations import device_type
    from personalize_tracker.integrations.asgi import PersonalizeMiddleware, personalize_session

    app = FastAPI()
    app.add_middleware(
        PersonalizeMiddleware,
        tracking_id="your-tracking-id",
        region_name="us-east-1",
        context=[device_type()],
    )

    @app.post("/items/{item_id}/click")
    def click(item_id: str, visitor: TrackingSession = Depends(personalize_session)):
        visitor.track("click", item_id=item_id)

A pure ASGI middleware (no ``BaseHTTPMiddleware``): streaming responses and background tasks
work, and the cookie is added to the ``http.response.start`` message. See
``docs/integrations/asgi.md``. Requires ``pip install '.[asgi]'``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from .._tools.extras import missing_extra

try:
    from starlette.requests import Request
except ImportError as _error:  # pragma: no cover - tested in a subprocess without Starlette
    raise missing_extra("asgi", __name__, _error) from _error

from ..session import DEFAULT_RECOMMENDATION_MEMORY, DEFAULT_RECOMMENDATION_TTL, TrackingSession
from ..tracker import Tracker
from ._config import check_region
from ._cookie import CookieSettings
from ._request import ContextExtractor, RequestInfo, normalize_headers
from ._session import WebTrackingSession
from ._store import RecommendationStore
from ._tracking import WebTracking

__all__ = ["STATE_KEY", "PersonalizeMiddleware", "personalize_session", "starlette_user_id"]

#: Key of the session in ``scope["state"]`` (so ``request.state.personalize``).
STATE_KEY = "personalize"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
#: A user loader: given the ASGI scope, the user's id or ``None`` (may be a coroutine function).
UserLoader = Callable[[Scope], "str | int | Awaitable[str | int | None] | None"]


def starlette_user_id(scope: Scope) -> str | int | None:
    """The default user loader: ``scope["user"].identity`` when authenticated.

    That is the user Starlette's ``AuthenticationMiddleware`` puts on the scope (place it
    before this middleware). Without it the visitor is anonymous; with FastAPI's dependency
    based auth, call ``visitor.identify(user.id)`` in the endpoint instead.
    """
    user = scope.get("user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    identity = getattr(user, "identity", None)
    return identity if isinstance(identity, (str, int)) and not isinstance(identity, bool) else None


def _cookies(scope: Scope) -> dict[str, str]:
    """The request's cookies: the first value of each name.

    HTTP/2 and HTTP/3 clients may split ``Cookie`` into several header fields, which must be
    joined with ``"; "`` (RFC 9113, 8.2.3), not with the ``", "`` of other repeated headers.
    """
    cookies: dict[str, str] = {}
    header = "; ".join(
        value.decode("latin-1") for name, value in scope.get("headers", ()) if name == b"cookie"
    )
    for chunk in header.split(";"):
        name, sep, value = chunk.partition("=")
        if sep:
            cookies.setdefault(name.strip(), value.strip().strip('"'))
    return cookies


class PersonalizeMiddleware:
    """Puts the visitor's :class:`~personalize_tracker.integrations.WebTrackingSession` on
    ``scope["state"]["personalize"]`` (Starlette/FastAPI: ``request.state.personalize``).

    * ``sessionId``: from the ``personalize_session`` cookie, a random id set on the response
      when missing (``HttpOnly``, ``SameSite=Lax``, ``Secure`` unless ``debug=True``;
      ``cookie.max_age`` seconds, 365 days by default). WebSocket connections get the session
      of their cookie but set none.
    * ``userId``: what ``user_loader`` returns (default :func:`starlette_user_id`).
    * ``context``: what the ``context`` extractors return.

    Give either ``tracker`` or ``tracking_id``. A Tracker made here (from ``tracking_id``, or by
    a ``tracker`` callable) is created at the first request and closed when the server's
    lifespan shuts down; a Tracker object passed in is left to you.

    Args:
        app: the ASGI app to wrap.
        tracker: a Tracker, or a callable returning one.
        tracking_id: the event tracker's id (a Tracker is built from it).
        region_name: that Tracker's region.
        endpoint_url: that Tracker's endpoint (e.g. a local test endpoint).
        tracker_options: further ``Tracker(...)`` keyword arguments.
        cookie: the cookie's settings (default :class:`CookieSettings`).
        debug: development mode: the cookie is not ``Secure`` (unless ``cookie.secure``).
        context: context extractors.
        user_loader: ``scope -> user id or None``, sync or async.
        store: where recommendation lists wait between requests (default: in memory).
        raise_errors: let tracking errors propagate instead of logging and counting them.
        max_recommendations: lists a session remembers (>= 0).
        recommendation_ttl: seconds a remembered list stays usable (> 0).
        close_timeout: seconds the Tracker's final flush may take at lifespan shutdown.

    Raises:
        ValueError: neither or both of ``tracker`` and ``tracking_id``; no region (with
            ``tracking_id``: ``region_name``, ``endpoint_url`` or boto3's default region); a
            context extractor returning something other than a mapping (see
            :class:`~personalize_tracker.integrations.WebTracking`).
        TypeError: a context extractor is not callable.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        tracker: Tracker | Callable[[], Tracker] | None = None,
        tracking_id: str | None = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        tracker_options: dict[str, Any] | None = None,
        cookie: CookieSettings | None = None,
        debug: bool = False,
        context: Sequence[ContextExtractor] = (),
        user_loader: UserLoader = starlette_user_id,
        store: RecommendationStore | None = None,
        raise_errors: bool = False,
        max_recommendations: int = DEFAULT_RECOMMENDATION_MEMORY,
        recommendation_ttl: float = DEFAULT_RECOMMENDATION_TTL,
        close_timeout: float | None = 10.0,
    ) -> None:
        if (tracker is None) == (tracking_id is None):
            raise ValueError("PersonalizeMiddleware needs exactly one of tracker= and tracking_id=")
        if tracker is None:
            options = dict(tracker_options or {})
            assert tracking_id is not None
            check_region(region_name, endpoint_url, options, setting="region_name")
            tid = tracking_id

            def tracker() -> Tracker:
                return Tracker(tid, region_name=region_name, endpoint_url=endpoint_url, **options)

        self.app = app
        self.web = WebTracking(
            tracker,
            cookie=cookie,
            context=context,
            store=store,
            raise_errors=raise_errors,
            max_recommendations=max_recommendations,
            recommendation_ttl=recommendation_ttl,
        )
        self.debug = debug
        self.user_loader = user_loader
        self.close_timeout = close_timeout

    @property
    def errors(self) -> int:
        """Tracking errors logged and swallowed (``self.web.errors``)."""
        return self.web.errors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        kind = scope["type"]
        if kind == "lifespan":
            await self.app(scope, receive, self._lifespan_send(send))
            return
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        web = self.web
        headers = normalize_headers(
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in scope.get("headers", ())
        )
        stored = _cookies(scope).get(web.cookie.name)
        user_id = await self._user_id(scope)
        client = scope.get("client")
        info = RequestInfo(
            headers=headers,
            method=scope.get("method", "GET"),
            path=scope.get("path", "/"),
            remote_addr=client[0] if client else None,
            request=scope,
        )
        session, issued = web.open_session(stored, user_id, info)
        scope.setdefault("state", {})[STATE_KEY] = session
        if not issued or kind != "http":
            await self.app(scope, receive, send)
            return
        cookie = web.cookie
        secure = cookie.secure if cookie.secure is not None else not self.debug
        set_cookie = (
            b"set-cookie",
            cookie.header_value(session.session_id, secure=secure).encode(),
        )

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), set_cookie]
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    async def _user_id(self, scope: Scope) -> str | int | None:
        try:
            found = self.user_loader(scope)
            if inspect.isawaitable(found):
                found = await found
        except Exception as exc:
            self.web.record_error("user", exc)
            return None
        if found is None or (isinstance(found, (str, int)) and not isinstance(found, bool)):
            return found
        self.web.record_error("user", TypeError(f"user_loader returned a {type(found).__name__}"))
        return None

    def _lifespan_send(self, send: Send) -> Send:
        async def lifespan_send(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                self.web.close(self.close_timeout)
            await send(message)

        return lifespan_send


def personalize_session(request: Request) -> TrackingSession:
    """FastAPI dependency: the visitor's session (``Depends(personalize_session)``).

    Returns:
        ``request.state.personalize``, a
        :class:`~personalize_tracker.integrations.WebTrackingSession`.

    Raises:
        RuntimeError: :class:`PersonalizeMiddleware` is not installed on the app.
    """
    session = request.scope.get("state", {}).get(STATE_KEY)
    if not isinstance(session, WebTrackingSession):
        raise RuntimeError("personalize_session needs PersonalizeMiddleware on the app")
    return session
