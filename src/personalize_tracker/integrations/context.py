"""Context extractors: contextual metadata for a visitor's session, read from the request.

An extractor is any callable taking a :class:`~personalize_tracker.integrations.RequestInfo`
and returning a mapping of Interactions schema field names to values (or ``None``). The
integrations call the configured ones at the start of each request and send what they return as
the session's ``context``; nothing else is sent.

    from personalize_tracker.integrations import device_type, from_header

    context = [
        device_type(),  # DEVICE_TYPE: mobile, tablet, desktop, bot or other
        from_header("CloudFront-Viewer-Country", "LOCATION"),
        lambda request: {"APP_VERSION": request.headers.get("x-app-version")},
    ]
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from .._tools.extras import missing_extra
from ._request import ContextExtractor, RequestInfo

__all__ = ["DEVICE_TYPES", "classify_device", "device_type", "from_header"]

#: The values :func:`device_type` sends.
DEVICE_TYPES = ("mobile", "tablet", "desktop", "bot", "other")

_MOBILE_OS = frozenset(
    {
        "Android",
        "iOS",
        "Windows Phone",
        "Windows Mobile",
        "BlackBerry OS",
        "BlackBerry Tablet OS",
        "Firefox OS",
        "KaiOS",
        "Symbian OS",
        "Tizen",
        "webOS",
        "HarmonyOS",
    }
)
_DESKTOP_OS = frozenset(
    {
        "Windows",
        "Mac OS X",
        "Linux",
        "Ubuntu",
        "Debian",
        "Fedora",
        "Red Hat",
        "SUSE",
        "Mint",
        "Arch Linux",
        "Chrome OS",
        "ChromeOS",
        "FreeBSD",
        "OpenBSD",
        "NetBSD",
        "Solaris",
    }
)


@functools.lru_cache(maxsize=2048)
def classify_device(user_agent: str) -> str:
    """The device type of a ``User-Agent`` string, parsed with ``ua-parser``.

    Args:
        user_agent: the header's value.

    Returns:
        One of :data:`DEVICE_TYPES`: ``"bot"`` for crawlers (ua-parser's ``Spider`` device),
        ``"tablet"`` for iPads, Kindles and devices ua-parser files as tablets, ``"mobile"`` for
        other phones and mobile operating systems, ``"desktop"`` for desktop operating systems,
        ``"other"`` for anything else (command-line clients, unknown agents). Results are cached
        (2048 distinct strings).

    Raises:
        ImportError: ``ua-parser`` is not installed (the ``django``, ``flask`` and ``asgi``
            extras bring it; the message says how to install one).
    """
    ua_parser = _ua_parser()

    result = ua_parser.parse(user_agent)
    device = result.device
    os_family = result.os.family if result.os is not None else None
    if device is not None:
        family = device.family or ""
        brand = device.brand or ""
        if family == "Spider" or brand == "Spider":
            return "bot"
        if family in ("iPad", "Kindle") or "Tablet" in brand or "Tablet" in family:
            return "tablet"
        if family in ("iPhone", "iPod"):
            return "mobile"
    if os_family in _MOBILE_OS:
        return "mobile"
    if os_family in _DESKTOP_OS:
        return "desktop"
    return "other"


def _ua_parser() -> Any:
    try:
        import ua_parser
    except ImportError as error:
        raise missing_extra(
            "flask", "device_type() (ua-parser; the 'django' and 'asgi' extras bring it too)", error
        ) from error
    return ua_parser


def device_type(key: str = "DEVICE_TYPE") -> ContextExtractor:
    """An extractor sending the device type of the request's ``User-Agent``.

    Args:
        key: the Interactions schema field to fill (default ``"DEVICE_TYPE"``, sent as
            ``deviceType``).

    Returns:
        An extractor returning ``{key: <one of DEVICE_TYPES>}``, or nothing when the request has
        no ``User-Agent``. See :func:`classify_device`.

    Raises:
        ImportError: now, if ``ua-parser`` is not installed (the message names the extras that
            bring it).
    """
    _ua_parser()  # fail at configuration time, not in a request

    def extract(request: RequestInfo) -> Mapping[str, Any] | None:
        agent = request.headers.get("user-agent")
        if not agent:
            return None
        return {key: classify_device(agent[:1000])}

    extract.__qualname__ = extract.__name__ = f"device_type({key!r})"
    return extract


def from_header(header: str, key: str, *, max_length: int = 1000) -> ContextExtractor:
    """An extractor sending a request header's value, e.g. a CDN's country header.

    Args:
        header: the header name, any case (``"CloudFront-Viewer-Country"``).
        key: the Interactions schema field to fill (``"LOCATION"``).
        max_length: longer values are cut to this many characters (Personalize keeps at most
            1000 characters of a categorical value).

    Returns:
        An extractor returning ``{key: value}``, or nothing when the header is absent or empty.
    """
    name = header.lower()

    def extract(request: RequestInfo) -> Mapping[str, Any] | None:
        value = request.headers.get(name)
        if not value:
            return None
        return {key: value[:max_length]}

    extract.__qualname__ = extract.__name__ = f"from_header({header!r}, {key!r})"
    return extract
