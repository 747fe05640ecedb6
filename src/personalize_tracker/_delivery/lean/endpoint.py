"""What the lean transport takes from the boto3 client it stands in for, once, at construction:
the request botocore would build for a call (its URL from the endpoint ruleset, its headers,
who signs it for which region), and whether anything is hooked into the client that a request
built without it would skip.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any

import attrs
import botocore
import botocore.client

__all__ = ["Captured", "LeanUnsupported", "capture", "foreign_hooks", "mock_switch"]

# The stages of a call a user, a tracer or a mock can hook into (botocore's event names).
_STAGES = (
    "provide-client-params",
    "before-parameter-build",
    "before-endpoint-resolution",
    "before-call",
    "request-created",
    "choose-signer",
    "before-sign",
    "before-send",
    "needs-retry",
    "response-received",
    "after-call",
    "after-call-error",
)
# Handlers from these packages are botocore's own behaviour (or ours), reproduced or irrelevant.
_OWN = ("botocore.", "boto3.", "personalize_tracker.")
_MOTO_STUBBER = "moto.core.botocore_stubber"
# Headers botocore adds per call or while signing: written per request, never copied.
_PER_REQUEST = frozenset(
    {
        "x-amz-date",
        "authorization",
        "x-amz-security-token",
        "content-length",
        "amz-sdk-invocation-id",
        "x-amzn-trace-id",
    }
)


class LeanUnsupported(Exception):
    """The lean transport cannot send what the client would send (the reason is the message)."""


@attrs.frozen
class Captured:
    """The request botocore builds for one call of an operation, as the lean path repeats it.

    Attributes:
        url: the endpoint URL plus the operation's path (e.g.
            ``https://personalize-events.us-east-1.amazonaws.com/events``).
        signed_headers: headers present when botocore signs (``Content-Type``, ``User-Agent``).
        later_headers: headers botocore adds after signing (``amz-sdk-request``...).
        signing_name: SigV4 service name (``personalize`` for personalize-events).
        region: SigV4 region (the endpoint ruleset's signing region, else the client's).
    """

    url: str
    signed_headers: Mapping[str, str]
    later_headers: Mapping[str, str]
    signing_name: str
    region: str


class _DryRun(Exception):
    """Stops the dry-run call once its request is built (nothing is sent)."""


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _handlers(client: Any, event: str) -> list[Any]:
    """The handlers a client's event system runs for ``event`` (botocore's emitter trie)."""
    emitter = getattr(client.meta.events, "_emitter", client.meta.events)
    return list(emitter._handlers.prefix_search(event))


def _module(handler: Any) -> str:
    module = getattr(handler, "__module__", None) or type(handler).__module__
    return f"{module}."


def foreign_hooks(client: Any, operation: str) -> list[str]:
    """Handlers on ``client`` for ``operation`` that are neither botocore's, boto3's nor ours,
    and a ``BaseClient._make_api_call`` that is no longer a function (the wrapt proxies of the
    AWS X-Ray SDK, ddtrace and OpenTelemetry's botocore instrumentation): what a
    request built without the client would skip. moto's stubber is left out (see
    :func:`mock_switch`).

    Raises:
        LeanUnsupported: the client's event system is not the one this reads (another
            botocore): the lean path cannot tell, so it is not used.
    """
    prefix = client.meta.service_model.endpoint_prefix
    found: list[str] = []
    try:
        for stage in _STAGES:
            for handler in _handlers(client, f"{stage}.{prefix}.{operation}"):
                module = _module(handler)
                if not module.startswith(_OWN) and module != f"{_MOTO_STUBBER}.":
                    found.append(f"{stage}: {getattr(handler, '__qualname__', handler)!r}")
    except AttributeError as exc:
        raise LeanUnsupported(f"cannot read the client's event handlers ({exc})") from None
    if type(vars(botocore.client.BaseClient).get("_make_api_call")) is not types.FunctionType:
        found.append("BaseClient._make_api_call is wrapped (a tracer's wrapt proxy)")
    return found


def mock_switch(client: Any, operation: str) -> Any | None:
    """moto's stubber among the client's ``before-send`` handlers, or None.

    moto puts it into every client built once moto is imported; it answers calls only while a
    mock is active (``stubber.enabled``: ``mock_aws()``, ``mock_personalize_events()``), which
    the lean transport checks at every call, sending through the client when it is.
    """
    prefix = client.meta.service_model.endpoint_prefix
    for handler in _handlers(client, f"before-send.{prefix}.{operation}"):
        if _module(handler) == f"{_MOTO_STUBBER}." and hasattr(handler, "enabled"):
            return handler
    return None


def capture(client: Any, operation: str, params: Mapping[str, Any]) -> Captured:
    """Build the request of one call of ``operation`` through ``client`` and stop before it is
    signed with credentials or sent: botocore resolves the endpoint (its ruleset: region, FIPS,
    dual-stack, ``endpoint_url``), serialises, adds its headers; this keeps the URL, the
    headers and the signing scope.

    Args:
        client: a boto3 client.
        operation: the operation's name, e.g. ``"PutEvents"``.
        params: any parameters of that operation (the body is not kept).

    Raises:
        LeanUnsupported: the call did not reach the point where it would be sent (it raised:
            the client's own calls will raise it too), or botocore chose a signer other than
            SigV4.
    """
    prefix = client.meta.service_model.endpoint_prefix
    events = client.meta.events
    seen: dict[str, Any] = {}

    def unsigned(signature_version: Any = None, **_: Any) -> Any:
        seen["signature_version"] = signature_version
        return botocore.UNSIGNED  # no credentials needed for the dry run

    def before_sign(request: Any, signing_name: str, region_name: str, **_: Any) -> None:
        signing = request.context.get("signing") or {}
        seen["signing_name"] = signing.get("signing_name") or signing_name
        seen["region"] = signing.get("region") or region_name
        seen["signed"] = {k: _text(v) for k, v in request.headers.items()}

    def before_send(request: Any, **_: Any) -> None:
        seen["url"] = request.url
        seen["headers"] = {k: _text(v) for k, v in request.headers.items()}
        raise _DryRun

    hooks = (
        (f"choose-signer.{prefix}.{operation}", unsigned),
        (f"before-sign.{prefix}.{operation}", before_sign),
        (f"before-send.{prefix}.{operation}", before_send),
    )
    for name, handler in hooks:
        events.register_first(name, handler, unique_id=f"personalize_tracker.dry_run.{name}")
    try:
        getattr(client, botocore.xform_name(operation))(**params)
    except _DryRun:
        pass
    except Exception as exc:  # e.g. no endpoint for the region: the client's calls will say so
        raise LeanUnsupported(f"the dry run of {operation} failed: {exc!r}") from None
    finally:
        for name, handler in hooks:
            events.unregister(name, handler, unique_id=f"personalize_tracker.dry_run.{name}")
    if "url" not in seen or "region" not in seen:
        raise LeanUnsupported(f"the dry run of {operation} did not reach the send")
    if seen.get("signature_version") not in ("v4", "s3v4", None):
        raise LeanUnsupported(f"botocore signs {operation} with {seen['signature_version']!r}")
    signed = {k: v for k, v in seen["signed"].items() if k.lower() not in _PER_REQUEST}
    later = {
        k: v
        for k, v in seen["headers"].items()
        if k.lower() not in _PER_REQUEST and k not in signed
    }
    signed = {k: seen["headers"].get(k, v) for k, v in signed.items()}  # the final User-Agent
    return Captured(seen["url"], signed, later, seen["signing_name"], seen["region"])
