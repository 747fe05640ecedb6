"""``WebTracking``: what the Django, Flask and ASGI integrations share, a Tracker and the
session of each request (its errors logged and counted, its lists kept between requests).

Nothing in here (nor in the other private modules of the package) imports a web framework. Each
integration turns its request into a :class:`RequestInfo`, asks a :class:`WebTracking` for
the visitor's :class:`WebTrackingSession`, and sets the cookie :meth:`WebTracking.cookie_to_set`
returns on its response.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._errors import TrackerClosedError
from ..recommendations import Recommendations
from ..session import DEFAULT_RECOMMENDATION_MEMORY, DEFAULT_RECOMMENDATION_TTL, TrackingSession
from ..tracker import Tracker
from ._cookie import CookieSettings, new_session_id, valid_session_id
from ._request import ContextExtractor, RequestInfo
from ._session import WebTrackingSession, web_session
from ._store import MemoryRecommendationStore, RecommendationStore

__all__ = ["WebTracking"]

logger = logging.getLogger("personalize_tracker.integrations")


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
            sent. Each is called once here with an empty :class:`RequestInfo` (no headers,
            ``GET /``) to check that it returns a mapping or ``None``: a wrong entry (e.g. an
            extractor factory such as ``device_type`` not called) fails now, not per request.
        store: where recommendation lists wait between requests (default: a
            :class:`MemoryRecommendationStore`).
        raise_errors: let tracking errors propagate (for tests and development) instead of
            logging and counting them.
        max_recommendations: recommendation lists a session remembers (>= 0).
        recommendation_ttl: seconds a remembered list stays usable (> 0).

    Raises:
        TypeError: ``tracker`` or an extractor is not callable.
        ValueError: an extractor returned something other than a mapping or ``None`` at the
            start-up check (the message names its position and what it returned).

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
        _check_extractors(self.context_extractors)
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
        self._closed = False
        self._bad_session_ids = 0
        self._said_once: set[str] = set()

    # ------------------------------------------------------------------ tracker

    @property
    def tracker(self) -> Tracker:
        """The Tracker (created by the factory at first use).

        After :meth:`close` it is the closed Tracker (a closed stand-in if none was made): no
        new Tracker is built, and the sessions of later requests track nothing (their
        :class:`~personalize_tracker.TrackerClosedError` is logged once and counted as
        ``"closed"``).

        Raises:
            Exception: whatever the factory raises (e.g. ``ValueError`` for a bad option); the
                next use calls the factory again.
        """
        tracker = self._tracker
        if tracker is not None:
            return tracker
        with self._lock:
            if self._tracker is None:
                if self._closed:
                    self._tracker = _stand_in()
                    self._tracker.close(0)
                else:
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
                self._unavailable = _stand_in()
            return self._unavailable

    def close(self, timeout: float | None = 10.0) -> None:
        """Close the Tracker if this object made it (deliver what is pending first).

        Args:
            timeout: seconds the final flush may take (``None``: no limit).

        Without a call, the interpreter's exit flushes the Tracker for ``exit_timeout`` seconds.
        A Tracker passed in as is is left open (and used by later requests). After closing a
        Tracker this object made, it builds no new one: later requests track nothing, and the
        log says so once (see :attr:`tracker`). Idempotent.
        """
        if self._factory is None:
            return
        with self._lock:
            tracker = self._tracker
            self._closed = True
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
        ``"session"``, ``"store"``, ``"track"``, ``"identify"``, ``"cookie"``, ``"closed"``
        (an event tracked after :meth:`close`) (a copy)."""
        with self._lock:
            return dict(self._errors_by_kind)

    @property
    def bad_session_ids(self) -> int:
        """Requests whose session id (cookie) :func:`valid_session_id` refused (forged,
        oversize, from another scheme) and that were given a fresh id (a counter)."""
        with self._lock:
            return self._bad_session_ids

    def record_error(self, where: str, exc: BaseException) -> None:
        """Log and count a tracking error, or raise it again with ``raise_errors=True``.

        Args:
            where: a short name of the step that failed (becomes a key of
                :attr:`errors_by_kind`).
            exc: the error; must be the one being handled when ``raise_errors`` is set.

        A :class:`~personalize_tracker.TrackerClosedError` (an event after :meth:`close`) is
        counted as ``"closed"`` and logged once.

        Raises:
            BaseException: ``exc`` itself, with ``raise_errors=True``.
        """
        if isinstance(exc, TrackerClosedError) and self._closed:
            where = "closed"
        with self._lock:
            self._errors += 1
            self._errors_by_kind[where] = self._errors_by_kind.get(where, 0) + 1
        if self.raise_errors:
            raise exc
        if where == "closed":
            if self._first_time("closed"):
                logger.warning(
                    "personalize-tracker: the integration was closed; "
                    "later requests are not tracked (said once)"
                )
            return
        # InvalidEventError messages never hold user data; other errors are the app's own.
        logger.warning(
            "personalize-tracker: %s failed (%s: %s); the request goes on",
            where,
            type(exc).__name__,
            exc,
            exc_info=logger.isEnabledFor(logging.DEBUG),
        )

    # ------------------------------------------------------------------ sessions

    def _first_time(self, key: str) -> bool:
        with self._lock:
            if key in self._said_once:
                return False
            self._said_once.add(key)
            return True

    def extract_context(self, info: RequestInfo) -> dict[str, Any]:
        """Run the context extractors on ``info`` and merge what they return.

        An extractor that raises is skipped (logged, counted as ``"context"``); one that
        returns something other than a mapping or ``None`` is skipped and counted too, and
        logged once per extractor. The request goes on either way.

        Raises:
            Exception: only with ``raise_errors=True``.
        """
        context: dict[str, Any] = {}
        for index, extractor in enumerate(self.context_extractors):
            try:
                found = extractor(info)
            except Exception as exc:
                self.record_error("context", exc)
                continue
            if found is None:
                continue
            if not isinstance(found, Mapping):
                self._wrong_result(index, extractor, found)
                continue
            context.update(found)
        return context

    def _wrong_result(self, index: int, extractor: ContextExtractor, found: object) -> None:
        exc = TypeError(_wrong_result_message(index, extractor, found))
        if self.raise_errors or self._first_time(f"context-{index}"):
            self.record_error("context", exc)
            return
        with self._lock:
            self._errors += 1
            self._errors_by_kind["context"] = self._errors_by_kind.get("context", 0) + 1

    def open_session(
        self,
        session_id: str | None,
        user_id: str | int | None,
        info: RequestInfo,
    ) -> tuple[WebTrackingSession, bool]:
        """The session of one request.

        Args:
            session_id: the id the request carried (cookie or framework session), or ``None``.
                One that :func:`valid_session_id` refuses is replaced by a new id (counted in
                :attr:`bad_session_ids`).
            user_id: the signed-in user's id, or ``None`` for an anonymous visitor.
            info: the request, for the context extractors.

        Returns:
            ``(session, issued)``: ``issued`` is ``True`` when the session id is new and must
            be stored (a cookie set on the response).

        Raises:
            Exception: only with ``raise_errors=True``; otherwise a failing step (an invalid
                user id or context) is logged, counted and left out, and a usable session is
                always returned. When the Tracker cannot be built, the session's events go to
                a stand-in Tracker that fails them (reason ``error``, logged by the Tracker).
        """
        issued = not valid_session_id(session_id)
        if issued and session_id is not None:
            with self._lock:
                self._bad_session_ids += 1
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
                return web_session(
                    self,
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


def _name(extractor: object) -> str:
    module = getattr(extractor, "__module__", None)
    name = getattr(extractor, "__qualname__", None) or repr(extractor)
    return f"{module}.{name}" if module and "(" not in name else name


def _wrong_result_message(index: int, extractor: object, found: object) -> str:
    message = (
        f"context extractor [{index}] ({_name(extractor)}) returned a {type(found).__name__}, "
        "not a mapping of schema field names to values (or None)"
    )
    if callable(found):
        message += "; is it an extractor factory? call it (e.g. device_type(), not device_type)"
    return message


def _check_extractors(extractors: Sequence[ContextExtractor]) -> None:
    """Call each extractor once with an empty request: a non-mapping result is a wrong entry.

    An extractor that raises on the empty request is left to the requests (it may need
    headers); only a result of the wrong kind is refused here.
    """
    probe = RequestInfo(headers={})
    for index, extractor in enumerate(extractors):
        try:
            found = extractor(probe)
        except Exception:
            continue
        if found is not None and not isinstance(found, Mapping):
            raise ValueError(_wrong_result_message(index, extractor, found))


def _stand_in() -> Tracker:
    """A Tracker whose every PutEvents call fails (the integration's Tracker is missing)."""
    return Tracker("unavailable", client=_UnavailableClient(), max_requests_per_second=None)


class _UnavailableClient:
    """The PutEvents client of the stand-in Tracker: every call fails."""

    def put_events(self, **params: Any) -> dict[str, Any]:
        raise RuntimeError("the personalize-tracker Tracker could not be created; see the log")
