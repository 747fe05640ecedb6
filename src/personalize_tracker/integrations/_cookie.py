"""The first-party cookie that carries a visitor's ``sessionId``: the id and its settings.

The integrations issue a random id (:func:`new_session_id`) when a request carries none, or one
:func:`valid_session_id` refuses, and set it in the cookie :class:`CookieSettings` describes.
"""

from __future__ import annotations

import re
import secrets
from typing import Literal

import attrs

__all__ = [
    "DEFAULT_COOKIE_MAX_AGE",
    "DEFAULT_COOKIE_NAME",
    "CookieSettings",
    "new_session_id",
    "valid_session_id",
]

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
