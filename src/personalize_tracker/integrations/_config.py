"""A :class:`WebTracking` from a ``PERSONALIZE_TRACKER``-style mapping (Django's setting,
Flask's ``app.config`` entry): the keys every integration reads, checked.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import boto3

from ..session import DEFAULT_RECOMMENDATION_MEMORY, DEFAULT_RECOMMENDATION_TTL
from ..tracker import Tracker
from ._cookie import DEFAULT_COOKIE_MAX_AGE, DEFAULT_COOKIE_NAME, CookieSettings
from ._tracking import WebTracking

__all__ = ["CONFIG_KEYS", "check_region", "web_tracking_from_config"]


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


#: The keyword arguments ``OPTIONS`` may hold (``Tracker``'s, less the tracking id).
_TRACKER_OPTIONS = frozenset(inspect.signature(Tracker).parameters) - {"tracking_id"}


def _checked_options(options: Any, where: str) -> dict[str, Any]:
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ValueError(f"{where}['OPTIONS'] must be a dict of Tracker arguments")
    for key in options:
        if key not in _TRACKER_OPTIONS:
            close = difflib.get_close_matches(str(key), sorted(_TRACKER_OPTIONS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"{where}['OPTIONS']: unknown Tracker argument {key!r}{hint}; allowed: "
                + ", ".join(sorted(_TRACKER_OPTIONS))
            )
    return dict(options)


def check_region(
    region: str | None, endpoint_url: str | None, options: Mapping[str, Any], *, setting: str
) -> None:
    """Fail at start-up, not per event, when the Tracker to build would have no AWS Region.

    Args:
        region: the configured region, or ``None``.
        endpoint_url: the configured endpoint (a region is then not needed to find the host).
        options: the other ``Tracker`` arguments (a ``client`` or ``session`` brings its own).
        setting: the setting to name in the message (``"PERSONALIZE_TRACKER['REGION']"``).

    Raises:
        ValueError: no region anywhere: not configured, and boto3 finds no default one
            (``AWS_DEFAULT_REGION``, ``AWS_REGION`` or ``~/.aws/config``).
    """
    if region or endpoint_url or options.get("client") or options.get("session"):
        return
    if not boto3.session.Session().region_name:
        raise ValueError(
            f"{setting} is not set and boto3 finds no default region (AWS_DEFAULT_REGION, "
            "AWS_REGION or ~/.aws/config): set it to the event tracker's AWS Region, e.g. "
            "'us-east-1'"
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

    Everything that can be checked without a request is checked here, at start-up: unknown
    keys (also inside ``OPTIONS``, against ``Tracker``'s keyword arguments), a missing region
    (with ``TRACKING_ID``: ``REGION``, ``OPTIONS['region_name']``, ``ENDPOINT_URL`` or the
    boto3 default region, e.g. ``AWS_DEFAULT_REGION``), dotted paths, and the ``CONTEXT``
    extractors (see :class:`WebTracking`).

    Raises:
        ValueError: an unknown key or ``OPTIONS`` key (the message suggests the closest one),
            neither ``TRACKING_ID`` nor ``TRACKER``, no region, or a bad value.
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
        options = _checked_options(config.get("OPTIONS"), where)
        region = config.get("REGION") or options.pop("region_name", None)
        endpoint_url = config.get("ENDPOINT_URL")
        check_region(region, endpoint_url, options, setting=f"{where}['REGION']")

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
