"""A web request as the integrations see it, whatever the framework, and what reads it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

__all__ = ["ContextExtractor", "RequestInfo", "normalize_headers"]


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


def normalize_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-case header names, joining repeated ones with ``", "``."""
    headers: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers
