"""Flask integration: ``g.personalize``, a TrackingSession per request.

::

    from flask import Flask, g
    from personalize_tracker.integrations import device_type
    from personalize_tracker.integrations.flask import PersonalizeTracker

    personalize = PersonalizeTracker()

    def create_app():
        app = Flask(__name__)
        app.config["PERSONALIZE_TRACKER"] = {
            "TRACKING_ID": "your-tracking-id",
            "REGION": "us-east-1",
            "CONTEXT": [device_type()],
        }
        personalize.init_app(app)
        return app

    @app.post("/items/<item_id>/click")
    def click(item_id):
        g.personalize.track("click", item_id=item_id)

See ``docs/integrations/flask.md``. Requires ``pip install '.[flask]'``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .._tools.extras import missing_extra

try:
    from flask import Flask, Response, current_app, g, request
except ImportError as _error:  # pragma: no cover - tested in a subprocess without Flask
    raise missing_extra("flask", __name__, _error) from _error

from ..tracker import Tracker
from ._config import web_tracking_from_config
from ._cookie import new_session_id
from ._request import ContextExtractor, RequestInfo
from ._session import WebTrackingSession
from ._tracking import WebTracking

__all__ = ["EXTENSION_KEY", "PersonalizeTracker", "flask_login_user_id", "log_in", "log_out"]

#: Key of the integration's state in ``app.extensions``.
EXTENSION_KEY = "personalize_tracker"

UserLoader = Callable[[], "str | int | None"]


def flask_login_user_id() -> str | int | None:
    """The default user loader: Flask-Login's ``current_user.get_id()`` when authenticated.

    Returns:
        The id, or ``None`` when Flask-Login is not installed, not set up on the app
        (``app.login_manager``), or the visitor is anonymous.
    """
    if getattr(current_app, "login_manager", None) is None:
        return None
    try:
        from flask_login import current_user  # type: ignore[import-untyped]
    except ImportError:
        return None
    if not getattr(current_user, "is_authenticated", False):
        return None
    user_id = current_user.get_id()
    return user_id if isinstance(user_id, (str, int)) and not isinstance(user_id, bool) else None


class _AppState:
    __slots__ = ("user_loader", "web")

    def __init__(self, web: WebTracking, user_loader: UserLoader) -> None:
        self.web = web
        self.user_loader = user_loader


class PersonalizeTracker:
    """The Flask extension: puts the visitor's session on ``g.personalize`` for each request.

    Configure it with ``app.config["PERSONALIZE_TRACKER"]``, a dict with the same keys as
    Django's setting (``TRACKING_ID``, ``REGION``, ``ENDPOINT_URL``, ``OPTIONS``, ``TRACKER``,
    ``COOKIE_*``, ``CONTEXT``, ``RECOMMENDATION_STORE``, ``RAISE_ERRORS``...) plus
    ``USER_LOADER``; arguments given here win over the config.

    * ``sessionId``: from the ``personalize_session`` cookie, a random id set when missing
      (``HttpOnly``, ``SameSite=Lax``, ``Secure`` unless ``app.debug``; ``COOKIE_MAX_AGE``
      seconds, 365 days by default).
    * ``userId``: what the user loader returns; by default Flask-Login's ``current_user``
      id when Flask-Login is set up. A Flask-Login login keeps the sessionId and identifies the
      current request's session at once; a logout gives the visitor a new sessionId. Without
      Flask-Login, call :func:`log_in` and :func:`log_out` in your views for the same.
    * ``context``: what the ``CONTEXT`` extractors return.

    One extension object serves any number of apps (application factories): the Tracker and
    the error counter belong to each app (:meth:`web_tracking`). After :meth:`close` the app's
    requests are no longer tracked (said once in the log); no new Tracker is built.

    Args:
        app: an app to set up now (else call :meth:`init_app`).
        tracker: a Tracker (or a callable returning one) instead of ``TRACKING_ID``...
        user_loader: a callable run inside the request returning the user's id or ``None``.
        context: context extractors (instead of ``CONTEXT``).
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        tracker: Tracker | Callable[[], Tracker] | None = None,
        user_loader: UserLoader | None = None,
        context: list[ContextExtractor] | None = None,
    ) -> None:
        self._tracker = tracker
        self._user_loader = user_loader
        self._context = context
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Set the extension up on ``app`` (reads ``app.config["PERSONALIZE_TRACKER"]`` now).

        Everything is checked now, not at the first request: unknown keys, also inside
        ``OPTIONS`` (``flush_intervall``), a missing region, ``USER_LOADER`` and the ``CONTEXT``
        extractors (each called once with an empty request; see
        :class:`~personalize_tracker.integrations.WebTracking`).

        Raises:
            ValueError: the configuration is missing or invalid (the message names the key).
            ImportError: a dotted path in it does not import.
        """
        config: Mapping[str, Any] = dict(app.config.get("PERSONALIZE_TRACKER") or {})
        overrides: dict[str, Any] = {}
        if self._tracker is not None:
            overrides["TRACKER"] = self._tracker
        if self._context is not None:
            overrides["CONTEXT"] = self._context
        merged = {**config, **overrides}
        loader = self._user_loader or merged.get("USER_LOADER") or flask_login_user_id
        web = web_tracking_from_config(
            {k: v for k, v in merged.items() if k != "USER_LOADER"},
            extra_keys=(),
            where="app.config['PERSONALIZE_TRACKER']",
        )
        if isinstance(loader, str):
            from werkzeug.utils import import_string

            loader = import_string(loader)
        if not callable(loader):
            raise ValueError("USER_LOADER must be a callable (or a dotted path to one)")
        app.extensions[EXTENSION_KEY] = _AppState(web, loader)
        app.before_request(_before_request)
        app.after_request(_after_request)
        _connect_flask_login()

    @staticmethod
    def web_tracking(app: Flask | None = None) -> WebTracking:
        """The app's :class:`~personalize_tracker.integrations.WebTracking`.

        It holds ``.tracker`` (created at the first request), ``.errors`` (tracking errors
        logged and swallowed) and ``.close()``.

        Args:
            app: the app (default: ``current_app``).

        Raises:
            RuntimeError: the extension is not set up on the app, or no app is active.
        """
        target: Any = app if app is not None else current_app
        state = target.extensions.get(EXTENSION_KEY)
        if state is None:
            raise RuntimeError("PersonalizeTracker.init_app(app) was not called for this app")
        return state.web  # type: ignore[no-any-return]

    @classmethod
    def tracker(cls, app: Flask | None = None) -> Tracker:
        """The app's Tracker (created at first use), e.g. to track outside a request."""
        return cls.web_tracking(app).tracker

    @classmethod
    def close(cls, app: Flask | None = None, timeout: float | None = 10.0) -> None:
        """Deliver what is pending and close the app's Tracker (if the extension made it).

        Optional: at interpreter exit each open Tracker is flushed for ``exit_timeout`` seconds
        (5 by default) anyway.

        Args:
            app: the app (default: ``current_app``).
            timeout: seconds the final flush may take (``None``: no limit).
        """
        cls.web_tracking(app).close(timeout)


def _state() -> _AppState:
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]


def _before_request() -> None:
    state = _state()
    web = state.web
    cookie_value = request.cookies.get(web.cookie.name)
    try:
        user_id = state.user_loader()
    except Exception as exc:
        web.record_error("user", exc)
        user_id = None
    info = RequestInfo(
        headers={name.lower(): value for name, value in request.headers.items()},
        method=request.method,
        path=request.path,
        remote_addr=request.remote_addr,
        request=request,
    )
    session, issued = web.open_session(cookie_value, user_id, info)
    g.personalize = session
    g._personalize_issued = issued


def _after_request(response: Response) -> Response:
    session = g.get("personalize")
    if not isinstance(session, WebTrackingSession):
        return response
    rotate = g.get("_personalize_logged_out", False)
    if not (g.get("_personalize_issued", False) or rotate):
        return response
    web = _state().web
    cookie = web.cookie
    try:
        response.set_cookie(
            cookie.name,
            new_session_id() if rotate else session.session_id,
            max_age=cookie.max_age,
            path=cookie.path,
            domain=cookie.domain,
            secure=cookie.secure if cookie.secure is not None else not current_app.debug,
            httponly=cookie.httponly,
            samesite=cookie.samesite,
        )
    except Exception as exc:
        web.record_error("cookie", exc)
    return response


_connected = False


def _connect_flask_login() -> None:
    global _connected
    if _connected:
        return
    try:
        from flask_login import user_logged_in, user_logged_out
    except ImportError:
        return
    user_logged_in.connect(_on_login, weak=False)
    user_logged_out.connect(_on_logout, weak=False)
    _connected = True


def log_in(user_id: str | int) -> None:
    """Give the current request's session its user at once (call it in your login view).

    With Flask-Login this happens by itself (its ``user_logged_in`` signal); without it, the
    user loader only sees the user from the next request on, so the login request's own events
    would stay anonymous. The ``sessionId`` is kept: the anonymous history is linked to the user.

    Args:
        user_id: the user's ``userId`` (an invalid one is logged and counted, the session stays
            anonymous; see :meth:`WebTrackingSession.identify`).

    Does nothing outside a request the extension handles.
    """
    session = g.get("personalize")
    if isinstance(session, WebTrackingSession) and EXTENSION_KEY in current_app.extensions:
        session.identify(user_id)


def log_out() -> None:
    """End the visitor's session at logout: the response sets a new ``sessionId`` cookie.

    With Flask-Login this happens by itself (its ``user_logged_out`` signal); without it, call
    it in your logout view, or the next visitor of a shared browser continues the session.
    Events of the current request keep the old session. Does nothing outside a request the
    extension handles.
    """
    if isinstance(g.get("personalize"), WebTrackingSession):
        g._personalize_logged_out = True


def _on_login(sender: Any, user: Any = None, **kw: Any) -> None:
    # The login request itself: its session was opened anonymous; give it the user now.
    user_id = user.get_id() if user is not None else None
    if isinstance(user_id, (str, int)) and not isinstance(user_id, bool):
        log_in(user_id)


def _on_logout(sender: Any, **kw: Any) -> None:
    log_out()
