"""Django integration: ``request.personalize``, a TrackingSession per request.

Settings::

    MIDDLEWARE = [
        ...,
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "personalize_tracker.integrations.django.PersonalizeMiddleware",  # after these two
        ...,
    ]
    PERSONALIZE_TRACKER = {
        "TRACKING_ID": "your-tracking-id",
        "REGION": "us-east-1",
        "CONTEXT": [device_type()],       # from personalize_tracker.integrations
    }

In a view::

    request.personalize.track("click", item_id=item.pk)

Keep the Items dataset in step with a model (``OPTIONS``: ``"items_dataset_arn"``), in your
``AppConfig.ready()``::

    sync_items(Product, item_id="sku", fields={"PRICE": "price"})

See ``docs/integrations/django.md`` for every key. Requires the ``django`` extra: ``pip install
'.[django]'`` in a clone of the repository.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from .._tools.extras import missing_extra

try:
    from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
    from django.conf import settings
    from django.contrib.auth.signals import user_logged_in, user_logged_out
    from django.core.exceptions import ImproperlyConfigured
    from django.core.signals import setting_changed
    from django.http import HttpRequest, HttpResponseBase
    from django.utils.module_loading import import_string
except ImportError as _error:  # pragma: no cover - tested in a subprocess without Django
    raise missing_extra("django", __name__, _error) from _error

from ..tracker import Tracker
from ._config import web_tracking_from_config
from ._cookie import new_session_id
from ._django_models import (
    ModelSync,
    set_default_tracker,
    sync_actions,
    sync_items,
    sync_users,
)
from ._request import RequestInfo
from ._session import WebTrackingSession
from ._tracking import WebTracking

__all__ = [
    "SESSION_KEY",
    "ModelSync",
    "PersonalizeMiddleware",
    "close_tracker",
    "get_tracker",
    "get_web_tracking",
    "sync_actions",
    "sync_items",
    "sync_users",
]

#: Key of the visitor's ``sessionId`` in ``request.session`` when ``USE_SESSION`` is on.
SESSION_KEY = "_personalize_session_id"

logger = logging.getLogger("personalize_tracker")

_DJANGO_KEYS = frozenset({"USE_SESSION", "USER_ID_ATTRIBUTE"})

_lock = threading.Lock()
_web: WebTracking | None = None


def get_web_tracking() -> WebTracking:
    """The process's :class:`~personalize_tracker.integrations.WebTracking`, from settings.

    Built at first use from ``settings.PERSONALIZE_TRACKER`` and kept for the process (the
    Tracker itself is created at the first request). Changing the setting with
    ``override_settings`` builds a new one (and closes the old one's Tracker if it made it).

    Returns:
        The shared object: ``.tracker``, ``.errors`` (tracking errors swallowed), ``.close()``.

    Raises:
        ImproperlyConfigured: the setting is missing or invalid.
    """
    global _web
    web = _web
    if web is not None:
        return web
    with _lock:
        if _web is None:
            config = getattr(settings, "PERSONALIZE_TRACKER", None)
            if not isinstance(config, dict):
                raise ImproperlyConfigured(
                    "PersonalizeMiddleware needs settings.PERSONALIZE_TRACKER, a dict with at "
                    "least 'TRACKING_ID'"
                )
            try:
                _web = web_tracking_from_config(
                    config, extra_keys=_DJANGO_KEYS, import_string=import_string
                )
            except (ValueError, TypeError) as exc:
                raise ImproperlyConfigured(str(exc)) from exc
        return _web


def get_tracker() -> Tracker:
    """The process's Tracker (created at first use), e.g. to track outside a request.

    Raises:
        ImproperlyConfigured: the setting is missing or invalid.
        Exception: whatever creating the Tracker raises.
    """
    return get_web_tracking().tracker


def close_tracker(timeout: float | None = 10.0) -> None:
    """Deliver what is pending and close the Tracker made from the settings.

    Optional: at interpreter exit each open Tracker is flushed for ``exit_timeout`` seconds
    (5 by default) anyway. Call it from a server's shutdown hook (e.g. gunicorn's
    ``worker_exit``) to give the flush more time. A Tracker passed as ``TRACKER`` is not closed.

    Args:
        timeout: seconds the final flush may take (``None``: no limit).
    """
    global _web
    with _lock:
        web, _web = _web, None
    if web is not None:
        web.close(timeout)


def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "PERSONALIZE_TRACKER":
        close_tracker(timeout=1.0)


setting_changed.connect(_reset, dispatch_uid="personalize_tracker.integrations.django.reset")
set_default_tracker(get_tracker)  # sync_items() and the like, made without tracker=


def _config() -> dict[str, Any]:
    config = getattr(settings, "PERSONALIZE_TRACKER", None)
    return config if isinstance(config, dict) else {}


def _request_info(request: HttpRequest) -> RequestInfo:
    headers = {name.lower(): value for name, value in request.headers.items()}
    return RequestInfo(
        headers=headers,
        method=request.method or "GET",
        path=request.path,
        remote_addr=request.META.get("REMOTE_ADDR"),
        request=request,
    )


def _user_id(user: Any, attribute: str) -> str | int | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    value = getattr(user, attribute, None)
    if isinstance(value, uuid.UUID):  # UUID primary keys are common
        return str(value)
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return value
    # A signed-in user must not silently become anonymous: say why, once per process.
    if attribute not in _warned_attributes:
        _warned_attributes.add(attribute)
        logger.warning(
            "personalize-tracker: request.user.%s is %s, not a str, int or UUID: this signed-in "
            "user's events are sent without a userId (check USER_ID_ATTRIBUTE)",
            attribute,
            "missing" if not hasattr(user, attribute) else type(value).__name__,
        )
    return None


_warned_attributes: set[str] = set()


class PersonalizeMiddleware:
    """Puts a :class:`~personalize_tracker.integrations.WebTrackingSession` on each request.

    ``request.personalize`` is the visitor's session:

    * ``sessionId``: from the ``personalize_session`` cookie (``COOKIE_NAME``), a random id set
      when missing, ``HttpOnly``, ``SameSite=Lax``, ``Secure`` unless ``DEBUG`` (``COOKIE_SECURE``
      overrides), for ``COOKIE_MAX_AGE`` seconds (365 days). With ``"USE_SESSION": True`` the
      id is kept in ``request.session`` instead (never the session key itself, which is a
      credential); login keeps it, logout starts a new one.
    * ``userId``: ``request.user.pk`` (``USER_ID_ATTRIBUTE``) when authenticated. A login
      (``django.contrib.auth.login``) keeps the sessionId, so the anonymous history links to
      the user, and gives the user id to the current request's session at once; a logout gives
      the visitor a new sessionId.
    * ``context``: what the ``CONTEXT`` extractors return.

    Place it after ``SessionMiddleware`` and ``AuthenticationMiddleware``. It works in sync and
    async stacks (under ASGI it uses ``request.auser()`` and never blocks the event loop on the
    network: the Tracker queues).

    Tracking errors (an invalid context or user id, an event breaking a rule, a Tracker that
    could not be created) are logged on ``personalize_tracker.integrations`` and counted in
    ``get_web_tracking().errors``; the request goes on.

    Args:
        get_response: the next handler (Django passes it).

    Raises:
        ImproperlyConfigured: ``settings.PERSONALIZE_TRACKER`` is missing or invalid (when
            Django loads the middleware, i.e. at startup).
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponseBase]
        | Callable[[HttpRequest], Awaitable[HttpResponseBase]],
    ) -> None:
        self.get_response = get_response
        get_web_tracking()  # a bad configuration fails at startup, not in a request
        self._is_async = iscoroutinefunction(get_response)
        if self._is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        """Handle one request (returns an awaitable in an async stack)."""
        if self._is_async:
            return self.__acall__(request)
        web = get_web_tracking()
        config = _config()
        use_session = bool(config.get("USE_SESSION", False))
        stored = self._stored_id(request, web, use_session)
        user_id = self._current_user_id(request, web, config)
        session, issued = web.open_session(stored, user_id, _request_info(request))
        request.personalize = session  # type: ignore[attr-defined]
        if issued and use_session:
            self._store_in_session(request, web, session.session_id)
        response: HttpResponseBase = self.get_response(request)  # type: ignore[assignment]
        self._finish(request, response, web, session, issued, use_session)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        """Handle one request in an async stack."""
        web = get_web_tracking()
        config = _config()
        use_session = bool(config.get("USE_SESSION", False))
        if use_session:  # the session store may hit the database: not on the event loop
            stored = await sync_to_async(self._stored_id)(request, web, use_session)
        else:
            stored = self._stored_id(request, web, use_session)
        user_id = await self._current_user_id_async(request, web, config)
        session, issued = web.open_session(stored, user_id, _request_info(request))
        request.personalize = session  # type: ignore[attr-defined]
        if issued and use_session:
            await sync_to_async(self._store_in_session)(request, web, session.session_id)
        response: HttpResponseBase = await self.get_response(request)  # type: ignore[misc]
        self._finish(request, response, web, session, issued, use_session)
        return response

    # ------------------------------------------------------------------ steps

    @staticmethod
    def _stored_id(request: HttpRequest, web: WebTracking, use_session: bool) -> str | None:
        try:
            if use_session:
                value = request.session.get(SESSION_KEY)
            else:
                value = request.COOKIES.get(web.cookie.name)
        except Exception as exc:
            web.record_error("session", exc)
            return None
        return value if isinstance(value, str) else None

    @staticmethod
    def _store_in_session(request: HttpRequest, web: WebTracking, session_id: str) -> None:
        try:
            request.session[SESSION_KEY] = session_id
        except Exception as exc:
            web.record_error("session", exc)

    @staticmethod
    def _current_user_id(
        request: HttpRequest, web: WebTracking, config: dict[str, Any]
    ) -> str | int | None:
        try:
            return _user_id(getattr(request, "user", None), config.get("USER_ID_ATTRIBUTE", "pk"))
        except Exception as exc:
            web.record_error("user", exc)
            return None

    @staticmethod
    async def _current_user_id_async(
        request: HttpRequest, web: WebTracking, config: dict[str, Any]
    ) -> str | int | None:
        attribute = config.get("USER_ID_ATTRIBUTE", "pk")
        try:
            auser = getattr(request, "auser", None)
            if auser is not None:  # Django >= 5.0
                return _user_id(await auser(), attribute)
            if not hasattr(request, "user"):
                return None
            return await sync_to_async(_user_id)(request.user, attribute)
        except Exception as exc:
            web.record_error("user", exc)
            return None

    @staticmethod
    def _finish(
        request: HttpRequest,
        response: HttpResponseBase,
        web: WebTracking,
        session: WebTrackingSession,
        issued: bool,
        use_session: bool,
    ) -> None:
        rotate = getattr(request, "_personalize_logged_out", False)
        if use_session or not (issued or rotate):
            return
        cookie = web.cookie
        value = new_session_id() if rotate else session.session_id
        secure = cookie.secure if cookie.secure is not None else not settings.DEBUG
        try:
            response.set_cookie(
                cookie.name,
                value,
                max_age=cookie.max_age,
                path=cookie.path,
                domain=cookie.domain,
                secure=secure,
                httponly=cookie.httponly,
                samesite=cookie.samesite,
            )
        except Exception as exc:
            web.record_error("cookie", exc)


def _on_login(sender: Any, request: HttpRequest | None = None, user: Any = None, **kw: Any) -> None:
    # The login request itself: its session was opened anonymous; give it the user now.
    session = getattr(request, "personalize", None)
    if not isinstance(session, WebTrackingSession):
        return
    user_id = _user_id(user, _config().get("USER_ID_ATTRIBUTE", "pk"))
    if user_id is not None:
        session.identify(user_id)


def _on_logout(sender: Any, request: HttpRequest | None = None, **kw: Any) -> None:
    # A logout starts a new anonymous visitor: the next requests get a new sessionId (the
    # session store was flushed by Django; the cookie is replaced in _finish).
    if request is not None and isinstance(
        getattr(request, "personalize", None), WebTrackingSession
    ):
        request._personalize_logged_out = True  # type: ignore[attr-defined]


user_logged_in.connect(_on_login, dispatch_uid="personalize_tracker.integrations.django.login")
user_logged_out.connect(_on_logout, dispatch_uid="personalize_tracker.integrations.django.logout")
