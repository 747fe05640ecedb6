"""Web framework integrations: a :class:`~personalize_tracker.TrackingSession` per request.

* ``personalize_tracker.integrations.django``: ``PersonalizeMiddleware``, configured from
  ``settings.PERSONALIZE_TRACKER``; ``request.personalize``.
* ``personalize_tracker.integrations.flask``: ``PersonalizeTracker(app)`` / ``init_app(app)``;
  ``g.personalize``.
* ``personalize_tracker.integrations.asgi``: ``PersonalizeMiddleware`` for Starlette, FastAPI
  and any ASGI app; ``request.state.personalize``, and the FastAPI dependency
  ``personalize_session``.

All three keep the visitor's ``sessionId`` in a first-party cookie (random, ``HttpOnly``,
``SameSite=Lax``, ``Secure`` outside debug mode), give the session the signed-in user's id, fill
its context from the configured extractors (:func:`device_type`, :func:`from_header`, your own),
carry recommendation lists from one request to the next, and never let a tracking error fail a
request: it is logged and counted (:attr:`WebTracking.errors`).

This package imports no framework; each submodule imports its own.
"""

from __future__ import annotations

from ._cookie import (
    DEFAULT_COOKIE_MAX_AGE,
    DEFAULT_COOKIE_NAME,
    CookieSettings,
    new_session_id,
    valid_session_id,
)
from ._request import ContextExtractor, RequestInfo
from ._session import WebTrackingSession
from ._store import MemoryRecommendationStore, RecommendationStore
from ._tracking import WebTracking
from .context import DEVICE_TYPES, classify_device, device_type, from_header

__all__ = [
    "DEFAULT_COOKIE_MAX_AGE",
    "DEFAULT_COOKIE_NAME",
    "DEVICE_TYPES",
    "ContextExtractor",
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
