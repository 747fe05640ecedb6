"""What the Django, Flask and ASGI integrations share: cookie, session, context and errors.

Nothing in here imports a web framework. Each integration turns its request into a
:class:`RequestInfo`, asks a :class:`WebTracking` for the visitor's :class:`WebTrackingSession`,
and sets the cookie :meth:`WebTracking.cookie_to_set` returns on its response.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, Protocol

import attrs

from .._event import Event, PropertiesInput, SentAtInput
from ..recommendations import Recommendations
from ..session import DEFAULT_RECOMMENDATION_MEMORY, DEFAULT_RECOMMENDATION_TTL, TrackingSession
from ..tracker import Tracker

__all__ = [
    "DEFAULT_COOKIE_MAX_AGE",
    "DEFAULT_COOKIE_NAME",
    "ContextExtractor",
    "CookieSettings",
    "MemoryRecommendationStore",
    "RecommendationStore",
    "RequestInfo",
    "WebTracking",
    "WebTrackingSession",
    "new_session_id",
    "valid_session_id",
]

logger = logging.getLogger("personalize_tracker.integrations")

#: Name of the first-party cookie holding the visitor's ``sessionId``.
DEFAULT_COOKIE_NAME = "personalize_session"
#: Lifetime of that cookie in seconds: 365 days (the anonymous history of a returning visitor).
DEFAULT_COOKIE_MAX_AGE = 365 * 24 * 3600

# What a session id we issued looks like (secrets.token_urlsafe); a cookie holding anything else
# (tampered, or from an older scheme) is replaced by a new id rather than sent to PutEvents.
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{16,128}")


def new_session_id() -> str:
    """Return a new random session id: 32 URL-safe characters (192 bits from ``secrets``)."""
    return secrets.token_urlsafe(24)


def valid_session_id(value: object) -> bool:
    """Whether ``value`` looks like an id :func:`new_session_id` made (16-128 URL-safe chars)."""
    return isinstance(value, str) and _SESSION_ID.fullmatch(value) is not None


@attrs.frozen
class RequestInfo:
    """The parts of a web request a context extractor may read, whatever the framework.

    Attributes:
        headers: request headers, names in lower case (``"user-agent"``); repeated headers are
            joined with ``", "``.
        method: the HTTP method (``"GET"``).
        path: the URL path (``"/items/3"``).
        remote_addr: the client address as the server saw it, or ``None``.
        request: the framework's own request object (Django ``HttpRequest``, Flask ``Request``,
            or the ASGI ``scope`` dict), for anything else.
    """

    headers: Mapping[str, str]
    method: str = "GET"
    path: str = "/"
    remote_addr: str | None = None
    request: Any = None


#: A context extractor: reads a request, returns contextual metadata for the visitor's session
#: (schema field names such as ``"DEVICE_TYPE"`` to values), or ``None``/``{}`` for nothing.
ContextExtractor = Callable[[RequestInfo], Mapping[str, Any] | None]


@attrs.frozen
class CookieSettings:
    """The first-party cookie that carries the visitor's ``sessionId`` between requests.

    Attributes:
        name: the cookie's name.
        max_age: its lifetime in seconds (``None``: a browser-session cookie). It is set once,
            when the id is issued, and not renewed on later requests.
        secure: the ``Secure`` flag; ``None`` means "outside debug mode" (Django's ``DEBUG``,
            Flask's ``app.debug``, ASGI: always).
        httponly: the ``HttpOnly`` flag (scripts in the page cannot read the id).
        samesite: the ``SameSite`` attribute: ``"Lax"`` (default), ``"Strict"`` or ``"None"``.
        path: the cookie's ``Path``.
        domain: the cookie's ``Domain`` (``None``: the host that set it).

    Raises:
        ValueError: a bad name, a negative ``max_age`` or an unknown ``samesite``.
    """

    name: str = DEFAULT_COOKIE_NAME
    max_age: int | None = DEFAULT_COOKIE_MAX_AGE
    secure: bool | None = None
    httponly: bool = True
    samesite: Literal["Lax", "Strict", "None"] = "Lax"
    path: str = "/"
    domain: str | None = None

    def __attrs_post_init__(self) -> None:
        if not self.name or not re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", self.name):
            raise ValueError(f"cookie name must be a non-empty token, got {self.name!r}")
        if self.max_age is not None and (
            isinstance(self.max_age, bool) or not isinstance(self.max_age, int) or self.max_age < 0
        ):
            raise ValueError(f"cookie max_age must be seconds (an int >= 0), got {self.max_age!r}")
        if self.samesite not in ("Lax", "Strict", "None"):
            raise ValueError(f"samesite must be 'Lax', 'Strict' or 'None', got {self.samesite!r}")

    def header_value(self, value: str, *, secure: bool) -> str:
        """The ``Set-Cookie`` header value for ``value`` (for frameworks without a helper).

        Args:
            value: the session id (URL-safe characters only).
            secure: whether to add the ``Secure`` flag (resolved by the caller).
        """
        parts = [f"{self.name}={value}", f"Path={self.path}"]
        if self.max_age is not None:
            parts.append(f"Max-Age={self.max_age}")
        if self.domain is not None:
            parts.append(f"Domain={self.domain}")
        if secure:
            parts.append("Secure")
        if self.httponly:
            parts.append("HttpOnly")
        parts.append(f"SameSite={self.samesite}")
        return "; ".join(parts)


class RecommendationStore(Protocol):
    """Where recommendation lists wait between requests, keyed by session id.

    A :class:`~personalize_tracker.TrackingSession` remembers the lists it fetched, so a click
    on one of their items carries the list's ``recommendationId``; but a web request gets a new
    session object, and the click usually comes in a later request. The integrations save every
    list a request fetches here and hand the live ones to the next request's session.

    Implementations must be thread-safe. Errors they raise are logged and counted, never
    propagated to the request.
    """

    def load(self, session_id: str) -> Sequence[Recommendations]:
        """The lists saved for ``session_id`` that have not expired, oldest first."""
        ...

    def save(self, session_id: str, recommendations: Recommendations) -> None:
        """Save a list for ``session_id`` (replacing one with the same ``recommendation_id``)."""
        ...


class MemoryRecommendationStore:
    """A :class:`RecommendationStore` in this process's memory (the default).

    Per process: with several worker processes, a list fetched in one is not known to the
    others, so a click served by another worker carries no ``recommendationId``. Use sticky
    sessions, or a store shared by the workers (e.g. on Redis) implementing the protocol.

    Args:
        max_sessions: sessions kept at most (>= 1); the least recently used is forgotten first.
        max_lists: lists kept per session (>= 1); the oldest is forgotten first.
        ttl: seconds a list stays usable after it was fetched (> 0).
        clock: monotonic clock in seconds (for tests).

    Raises:
        ValueError: an argument is out of range.
    """

    def __init__(
        self,
        max_sessions: int = 10_000,
        max_lists: int = DEFAULT_RECOMMENDATION_MEMORY,
        ttl: float = DEFAULT_RECOMMENDATION_TTL,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if max_sessions < 1 or max_lists < 1:
            raise ValueError("max_sessions and max_lists must be >= 1")
        if not ttl > 0:
            raise ValueError(f"ttl must be a number of seconds > 0, got {ttl!r}")
        import time

        self.max_sessions = max_sessions
        self.max_lists = max_lists
        self.ttl = float(ttl)
        self._clock = clock if clock is not None else time.monotonic
        self._lock = threading.Lock()
        self._lists: OrderedDict[str, list[tuple[float, Recommendations]]] = OrderedDict()

    def load(self, session_id: str) -> list[Recommendations]:
        """The live lists of ``session_id``, oldest first (expired ones are forgotten)."""
        now = self._clock()
        with self._lock:
            entries = self._lists.get(session_id)
            if entries is None:
                return []
            live = [(expires, recs) for expires, recs in entries if expires > now]
            if live:
                self._lists[session_id] = live
                self._lists.move_to_end(session_id)
            else:
                del self._lists[session_id]
            return [recs for _, recs in live]

    def save(self, session_id: str, recommendations: Recommendations) -> None:
        """Keep ``recommendations`` for ``ttl`` seconds (a list already kept keeps its expiry)."""
        rid = recommendations.recommendation_id
        if rid is None or not recommendations.item_ids:
            return
        plain = Recommendations(
            recommendations.item_ids,
            recommendations.scores,
            rid,
            recommendations.shown_item_ids,
        )
        with self._lock:
            entries = self._lists.setdefault(session_id, [])
            self._lists.move_to_end(session_id)
            for index, (expires, old) in enumerate(entries):
                if old.recommendation_id == rid:
                    entries[index] = (expires, plain)
                    break
            else:
                entries.append((self._clock() + self.ttl, plain))
                del entries[: -self.max_lists]
            while len(self._lists) > self.max_sessions:
                self._lists.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._lists)


class WebTrackingSession(TrackingSession):
    """The :class:`~personalize_tracker.TrackingSession` of one web request.

    It behaves like a ``TrackingSession`` (same ``track``, ``identify``,
    ``get_recommendations``...), with two differences:

    * a tracking error does not propagate: ``track()`` and ``identify()`` log it on the
      ``personalize_tracker.integrations`` logger, count it in :attr:`WebTracking.errors` and
      return ``None`` (unless the integration was configured with ``raise_errors=True``), so
      a bad event never turns a page into an error page;
    * the recommendation lists it fetches (or is given with ``remember``) are saved in the
      integration's :class:`RecommendationStore`, and the next request of the same visitor
      starts with them, so a click in a later request carries the list's ``recommendationId``.

    ``get_recommendations`` and ``get_personalized_ranking`` still raise botocore's errors:
    they return what the page shows, so the view must decide on a fallback.
    """

    __slots__ = ("_web",)

    _web: WebTracking

    def track(  # type: ignore[override]  # None instead of an exception: see the class
        self,
        event_type: str,
        item_id: str | int | None = None,
        *,
        event_value: float | None = None,
        properties: PropertiesInput = None,
        sent_at: SentAtInput = None,
        event_id: str | None = None,
        recommendation_id: str | None = None,
        impression: Iterable[str | int] | None = None,
        metric_attribution_source: str | None = None,
    ) -> Event | None:
        """Track one event (see :meth:`TrackingSession.track`).

        Returns:
            The queued :class:`~personalize_tracker.Event`, or ``None`` when tracking failed
            (the error was logged and counted).

        Raises:
            InvalidEventError, TrackerClosedError: only with ``raise_errors=True``.
        """
        try:
            return super().track(
                event_type,
                item_id,
                event_value=event_value,
                properties=properties,
                sent_at=sent_at,
                event_id=event_id,
                recommendation_id=recommendation_id,
                impression=impression,
                metric_attribution_source=metric_attribution_source,
            )
        except Exception as exc:
            self._web.record_error("track", exc)
            return None

    def identify(
        self,
        user_id: str | int,
        event_type: str | None = None,
        *,
        properties: PropertiesInput = None,
        sent_at: SentAtInput = None,
    ) -> Event | None:
        """Give the session a user (see :meth:`TrackingSession.identify`).

        Returns:
            The tracked event, or ``None`` when none was asked for or tracking failed (the
            error was logged and counted; an invalid ``user_id`` leaves the session anonymous).

        Raises:
            InvalidEventError, TrackerClosedError: only with ``raise_errors=True``.
        """
        try:
            return super().identify(user_id, event_type, properties=properties, sent_at=sent_at)
        except Exception as exc:
            self._web.record_error("identify", exc)
            return None

    def get_recommendations(
        self,
        *,
        campaign_arn: str | None = None,
        recommender_arn: str | None = None,
        item_id: str | int | None = None,
        num_results: int | None = None,
        context: Mapping[str, str] | None = None,
        filter_arn: str | None = None,
        filter_values: Mapping[str, str] | None = None,
        promotions: Sequence[Mapping[str, Any]] | None = None,
        metadata_columns: Mapping[str, Sequence[str]] | None = None,
    ) -> Recommendations:
        """GetRecommendations for this visitor (see :meth:`TrackingSession.get_recommendations`).

        The list is also saved for the visitor's next requests.

        Raises:
            botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError: the call failed.
        """
        result = super().get_recommendations(
            campaign_arn=campaign_arn,
            recommender_arn=recommender_arn,
            item_id=item_id,
            num_results=num_results,
            context=context,
            filter_arn=filter_arn,
            filter_values=filter_values,
            promotions=promotions,
            metadata_columns=metadata_columns,
        )
        self._web.save_recommendations(self.session_id, result)
        return result

    def get_personalized_ranking(
        self,
        *,
        campaign_arn: str,
        input_list: Iterable[str | int],
        context: Mapping[str, str] | None = None,
        filter_arn: str | None = None,
        filter_values: Mapping[str, str] | None = None,
        metadata_columns: Mapping[str, Sequence[str]] | None = None,
    ) -> Recommendations:
        """GetPersonalizedRanking (see :meth:`TrackingSession.get_personalized_ranking`).

        The ranking is also saved for the visitor's next requests.

        Raises:
            botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError: the call failed.
        """
        result = super().get_personalized_ranking(
            campaign_arn=campaign_arn,
            input_list=input_list,
            context=context,
            filter_arn=filter_arn,
            filter_values=filter_values,
            metadata_columns=metadata_columns,
        )
        self._web.save_recommendations(self.session_id, result)
        return result

    def remember(self, recommendations: Recommendations) -> Recommendations:
        """Remember a list fetched elsewhere, in this request and the visitor's next ones."""
        bound = super().remember(recommendations)
        self._web.save_recommendations(self.session_id, bound)
        return bound

    def _remember_shown(self, recommendation_id: str, shown: tuple[str, ...]) -> None:
        # Recommendations.shown() reports here: keep what was shown for the next requests too.
        super()._remember_shown(recommendation_id, shown)
        self._web.save_shown(self.session_id, recommendation_id, shown)


class WebTracking:
    """The framework-neutral core of an integration: one Tracker, sessions from requests.

    The integrations (``personalize_tracker.integrations.django``, ``.flask``, ``.asgi``) build
    one per configuration; use it directly for another framework.

    Args:
        tracker: the :class:`~personalize_tracker.Tracker` to use, or a callable returning one
            (called once, at the first request, so that importing a settings module does not
            start anything). A Tracker given as is belongs to the caller: :meth:`close` does not
            close it; one made by the callable is closed by :meth:`close`.
        cookie: the session cookie's settings.
        context: context extractors, called in order for every request; their results are
            merged (a later one wins) into the session's ``context``. Only what they return is
            sent.
        store: where recommendation lists wait between requests (default: a
            :class:`MemoryRecommendationStore`).
        raise_errors: let tracking errors propagate (for tests and development) instead of
            logging and counting them.
        max_recommendations: recommendation lists a session remembers (>= 0).
        recommendation_ttl: seconds a remembered list stays usable (> 0).

    Thread-safe.
    """

    def __init__(
        self,
        tracker: Tracker | Callable[[], Tracker],
        *,
        cookie: CookieSettings | None = None,
        context: Sequence[ContextExtractor] = (),
        store: RecommendationStore | None = None,
        raise_errors: bool = False,
        max_recommendations: int = DEFAULT_RECOMMENDATION_MEMORY,
        recommendation_ttl: float = DEFAULT_RECOMMENDATION_TTL,
    ) -> None:
        if isinstance(tracker, Tracker):
            self._tracker: Tracker | None = tracker
            self._factory: Callable[[], Tracker] | None = None
        elif callable(tracker):
            self._tracker = None
            self._factory = tracker
        else:
            raise TypeError(f"tracker must be a Tracker or a callable, got {type(tracker)!r}")
        self.cookie = cookie if cookie is not None else CookieSettings()
        self.context_extractors: tuple[ContextExtractor, ...] = tuple(context)
        for extractor in self.context_extractors:
            if not callable(extractor):
                raise TypeError(f"a context extractor must be callable, got {extractor!r}")
        self.store: RecommendationStore = (
            store
            if store is not None
            else MemoryRecommendationStore(
                max_lists=max(1, max_recommendations), ttl=recommendation_ttl
            )
        )
        self.raise_errors = raise_errors
        self.max_recommendations = max_recommendations
        self.recommendation_ttl = recommendation_ttl
        self._lock = threading.Lock()
        self._errors = 0
        self._errors_by_kind: dict[str, int] = {}
        self._unavailable: Tracker | None = None

    # ------------------------------------------------------------------ tracker

    @property
    def tracker(self) -> Tracker:
        """The Tracker (created by the factory at first use).

        Raises:
            Exception: whatever the factory raises (e.g. ``ValueError`` for a bad option); the
                next use calls the factory again.
        """
        tracker = self._tracker
        if tracker is not None:
            return tracker
        with self._lock:
            if self._tracker is None:
                assert self._factory is not None
                self._tracker = self._factory()
            return self._tracker

    def _request_tracker(self) -> Tracker:
        """The Tracker for a request: a stand-in that fails every event if it cannot be built."""
        try:
            return self.tracker
        except Exception as exc:
            self.record_error("tracker", exc)
        with self._lock:
            if self._unavailable is None:
                self._unavailable = Tracker(
                    "unavailable", client=_UnavailableClient(), max_requests_per_second=None
                )
            return self._unavailable

    def close(self, timeout: float | None = 10.0) -> None:
        """Close the Tracker if this object made it (deliver what is pending first).

        Args:
            timeout: seconds the final flush may take (``None``: no limit).

        Without a call, the interpreter's exit flushes the Tracker for ``exit_timeout`` seconds.
        A Tracker passed in as is is left open.
        """
        if self._factory is None:
            return
        with self._lock:
            tracker, self._tracker = self._tracker, None
        if tracker is not None:
            tracker.close(timeout)

    # ------------------------------------------------------------------ errors

    @property
    def errors(self) -> int:
        """Tracking errors logged and swallowed since start (a counter for your metrics)."""
        with self._lock:
            return self._errors

    @property
    def errors_by_kind(self) -> dict[str, int]:
        """The same count by where it happened: ``"tracker"``, ``"context"``, ``"user"``,
        ``"session"``, ``"store"``, ``"track"``, ``"identify"`` (a copy)."""
        with self._lock:
            return dict(self._errors_by_kind)

    def record_error(self, where: str, exc: BaseException) -> None:
        """Log and count a tracking error, or raise it again with ``raise_errors=True``.

        Args:
            where: a short name of the step that failed (becomes a key of
                :attr:`errors_by_kind`).
            exc: the error; must be the one being handled when ``raise_errors`` is set.

        Raises:
            BaseException: ``exc`` itself, with ``raise_errors=True``.
        """
        with self._lock:
            self._errors += 1
            self._errors_by_kind[where] = self._errors_by_kind.get(where, 0) + 1
        if self.raise_errors:
            raise exc
        # InvalidEventError messages never hold user data; other errors are the app's own.
        logger.warning(
            "personalize-tracker: %s failed (%s: %s); the request goes on",
            where,
            type(exc).__name__,
            exc,
            exc_info=logger.isEnabledFor(logging.DEBUG),
        )

    # ------------------------------------------------------------------ sessions

    def extract_context(self, info: RequestInfo) -> dict[str, Any]:
        """Run the context extractors on ``info``; an extractor that raises is skipped (counted)."""
        context: dict[str, Any] = {}
        for extractor in self.context_extractors:
            try:
                found = extractor(info)
            except Exception as exc:
                self.record_error("context", exc)
                continue
            if found:
                context.update(found)
        return context

    def open_session(
        self,
        session_id: str | None,
        user_id: str | int | None,
        info: RequestInfo,
    ) -> tuple[WebTrackingSession, bool]:
        """The session of one request.

        Args:
            session_id: the id the request carried (cookie or framework session), or ``None``.
                One that :func:`valid_session_id` refuses is replaced by a new id.
            user_id: the signed-in user's id, or ``None`` for an anonymous visitor.
            info: the request, for the context extractors.

        Returns:
            ``(session, issued)``: ``issued`` is ``True`` when the session id is new and must
            be stored (a cookie set on the response).

        Raises:
            Exception: only with ``raise_errors=True``; otherwise a failing step (an invalid
            user id or context) is logged, counted and left out, and a usable session is
            always returned. When the Tracker cannot be built, the session's events go to a
            stand-in Tracker that fails them (reason ``error``, logged by the Tracker).
        """
        issued = not valid_session_id(session_id)
        sid = new_session_id() if issued else str(session_id)
        context = self.extract_context(info)
        session = self._new_session(self._request_tracker(), sid, user_id, context)
        if not issued:
            self._load_recommendations(session)
        return session, issued

    def _new_session(
        self, tracker: Tracker, sid: str, user_id: str | int | None, context: dict[str, Any]
    ) -> WebTrackingSession:
        attempts: list[tuple[str | int | None, dict[str, Any] | None]] = [(user_id, context)]
        if context:
            attempts.append((user_id, None))
        if user_id is not None:
            attempts.append((None, None))
        last: Exception | None = None
        for uid, ctx in attempts:
            try:
                session = WebTrackingSession(
                    tracker,
                    uid,
                    sid,
                    ctx or None,
                    max_recommendations=self.max_recommendations,
                    recommendation_ttl=self.recommendation_ttl,
                )
            except Exception as exc:
                if last is None:
                    self.record_error("session", exc)
                last = exc
                continue
            session._web = self
            return session
        assert last is not None
        raise last

    def _load_recommendations(self, session: WebTrackingSession) -> None:
        if self.max_recommendations == 0:
            return
        try:
            lists = self.store.load(session.session_id)
        except Exception as exc:
            self.record_error("store", exc)
            return
        for recs in lists:
            TrackingSession.remember(session, recs)  # not the override: already stored

    def save_recommendations(self, session_id: str, recommendations: Recommendations) -> None:
        """Save a list in the store for the visitor's next requests (errors logged, counted)."""
        if self.max_recommendations == 0:
            return
        try:
            self.store.save(session_id, recommendations)
        except Exception as exc:
            self.record_error("store", exc)

    def save_shown(self, session_id: str, recommendation_id: str, shown: tuple[str, ...]) -> None:
        """Record in the store which items of a saved list were shown (errors logged, counted)."""
        if self.max_recommendations == 0:
            return
        try:
            for recs in self.store.load(session_id):
                if recs.recommendation_id == recommendation_id:
                    updated = Recommendations(recs.item_ids, recs.scores, recommendation_id, shown)
                    self.store.save(session_id, updated)
                    return
        except Exception as exc:
            self.record_error("store", exc)

    def cookie_to_set(self, session: TrackingSession, issued: bool) -> str | None:
        """The cookie value to set on the response: the session id when it was just issued."""
        return session.session_id if issued else None


class _UnavailableClient:
    """The PutEvents client of the stand-in Tracker: every call fails."""

    def put_events(self, **params: Any) -> dict[str, Any]:
        raise RuntimeError("the personalize-tracker Tracker could not be created; see the log")


def normalize_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-case header names, joining repeated ones with ``", "``."""
    headers: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


#: The keys of the ``PERSONALIZE_TRACKER`` configuration mapping every integration reads.
CONFIG_KEYS = frozenset(
    {
        "TRACKING_ID",
        "REGION",
        "ENDPOINT_URL",
        "OPTIONS",
        "TRACKER",
        "COOKIE_NAME",
        "COOKIE_MAX_AGE",
        "COOKIE_SECURE",
        "COOKIE_SAMESITE",
        "COOKIE_DOMAIN",
        "COOKIE_PATH",
        "CONTEXT",
        "RECOMMENDATION_STORE",
        "RAISE_ERRORS",
        "MAX_RECOMMENDATIONS",
        "RECOMMENDATION_TTL",
    }
)


def _resolve(value: Any, import_string: Callable[[str], Any]) -> Any:
    return import_string(value) if isinstance(value, str) else value


def web_tracking_from_config(
    config: Mapping[str, Any],
    *,
    extra_keys: Iterable[str] = (),
    import_string: Callable[[str], Any] | None = None,
    where: str = "PERSONALIZE_TRACKER",
) -> WebTracking:
    """Build a :class:`WebTracking` from a ``PERSONALIZE_TRACKER``-style mapping.

    Args:
        config: the mapping (see the integration docs for the keys).
        extra_keys: further keys the calling integration reads itself (allowed here).
        import_string: resolves dotted paths (``"app.tracking.make_tracker"``) given for
            ``TRACKER``, ``CONTEXT`` entries and ``RECOMMENDATION_STORE``.
        where: the configuration's name, for error messages.

    Raises:
        ValueError: an unknown key, neither ``TRACKING_ID`` nor ``TRACKER``, or a bad value.
        ImportError: a dotted path does not import.
    """
    unknown = set(config) - CONFIG_KEYS - set(extra_keys)
    if unknown:
        allowed = ", ".join(sorted(CONFIG_KEYS | set(extra_keys)))
        raise ValueError(f"{where}: unknown keys {sorted(unknown)} (allowed: {allowed})")
    if import_string is None:
        import importlib

        def import_string(path: str) -> Any:
            module, _, name = path.rpartition(".")
            return getattr(importlib.import_module(module), name)

    tracker_setting = _resolve(config.get("TRACKER"), import_string)
    tracker: Tracker | Callable[[], Tracker]
    if tracker_setting is not None:
        if not (isinstance(tracker_setting, Tracker) or callable(tracker_setting)):
            raise ValueError(f"{where}['TRACKER'] must be a Tracker or a callable returning one")
        tracker = tracker_setting
    else:
        tracking_id = config.get("TRACKING_ID")
        if not isinstance(tracking_id, str) or not tracking_id:
            raise ValueError(f"{where} needs 'TRACKING_ID' (the event tracker's id) or 'TRACKER'")
        options = dict(config.get("OPTIONS") or {})
        region = config.get("REGION")
        endpoint_url = config.get("ENDPOINT_URL")

        def tracker() -> Tracker:
            return Tracker(tracking_id, region_name=region, endpoint_url=endpoint_url, **options)

    cookie = CookieSettings(
        name=config.get("COOKIE_NAME", DEFAULT_COOKIE_NAME),
        max_age=config.get("COOKIE_MAX_AGE", DEFAULT_COOKIE_MAX_AGE),
        secure=config.get("COOKIE_SECURE"),
        samesite=config.get("COOKIE_SAMESITE", "Lax"),
        path=config.get("COOKIE_PATH", "/"),
        domain=config.get("COOKIE_DOMAIN"),
    )
    extractors = [_resolve(item, import_string) for item in config.get("CONTEXT") or ()]
    store = _resolve(config.get("RECOMMENDATION_STORE"), import_string)
    if isinstance(store, type):
        store = store()
    return WebTracking(
        tracker,
        cookie=cookie,
        context=extractors,
        store=store,
        raise_errors=bool(config.get("RAISE_ERRORS", False)),
        max_recommendations=config.get("MAX_RECOMMENDATIONS", DEFAULT_RECOMMENDATION_MEMORY),
        recommendation_ttl=config.get("RECOMMENDATION_TTL", DEFAULT_RECOMMENDATION_TTL),
    )
