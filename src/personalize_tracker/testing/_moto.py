"""The moto hook: teaches moto (in process and in server mode) to serve the fake endpoints.

moto has no plugin system, so this touches three plain data structures of moto's:

* ``moto.backend_index.backend_url_patterns``: a pattern for the ``personalize-events`` and
  ``personalize-runtime`` hosts is put first, under moto's own ``personalize`` service name, so
  that moto's in-process stub sends those calls to the ``personalize`` backend;
* ``moto.personalize.urls.url_bases``: the two hosts are added, so the ``personalize`` backend's
  URL table covers them;
* ``moto.personalize.urls.url_paths``: ``/events``, ``/users``, ... are added. In server mode moto
  picks the app by the SigV4 signing name, which is ``personalize`` for both APIs, and builds that
  app from these paths once, at the server's first personalize request.

``POST /`` of ``personalize`` (the control plane, by ``X-Amz-Target``) is wrapped: the calls of
``_resources.CONTROL_PLANE`` are answered by the live handle, moto's own (the schema calls) by
moto, any other by a JSON ``UnknownOperationException`` naming the implemented ones. Everything
added is removed again when the last context using it exits.

Works with moto 5.0, 5.1 and 5.2 (the extension's tests pass on 5.0.0, 5.1.22 and 5.2.5): 5.0 and
5.1 hand an in-process handler botocore's ``AWSPreparedRequest``, 5.2 a werkzeug-style request
(see :func:`request_body`). If one of these structures is missing (moto
moved its internals), :func:`acquire` raises :class:`RuntimeError` naming it and the moto version.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import threading
from collections.abc import Callable, Iterator
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urlsplit

try:
    import moto  # noqa: F401
except ImportError as _exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "personalize_tracker.testing needs moto with its server extras: "
        "pip install 'personalize-tracker[testing]'"
    ) from _exc

from botocore import xform_name

from ._handle import OPERATIONS, PersonalizeEventsMock
from ._leaks import LeakGuard
from ._protocol import Response, ServiceError, auth_error, error_response
from ._resources import CONTROL_PLANE

__all__ = ["PATHS", "acquire", "internal", "mock_personalize_events", "release", "request_body"]

_HOST_PATTERN = re.compile(r"https?://personalize-(?:events|runtime)\.(.+)\.amazonaws\.com")
_URL_BASES = (
    r"https?://personalize-events\.(.+)\.amazonaws\.com",
    r"https?://personalize-runtime\.(.+)\.amazonaws\.com",
)
_REGION_IN_HOST = re.compile(r"://personalize(?:-events|-runtime)?\.([^./]+)\.")
_REGION_IN_AUTH = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/]+)/")
_PATH_TO_OPERATION = {path: operation for operation, (_, path) in OPERATIONS.items()}
#: The request paths of the data-plane operations.
PATHS = frozenset(_PATH_TO_OPERATION)
_TARGET_PREFIX = "AmazonPersonalize."
_SUPPORTED = "moto>=5.0,<5.3"
_SERVER_START_TIMEOUT = 10.0  # seconds


def _moto_version() -> str:
    try:
        return version("moto")
    except PackageNotFoundError:  # pragma: no cover - moto imported but not installed?
        return "(unknown version)"


def internal(module_name: str, attribute: str, kind: type) -> Any:
    """Return ``module_name.attribute`` or raise a RuntimeError saying moto moved it."""
    where = f"{module_name}.{attribute}"
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise _moved(where, f"cannot import {module_name}: {exc}") from exc
    value = getattr(module, attribute, None)
    if value is None:
        raise _moved(where, "it does not exist")
    if not isinstance(value, kind):
        raise _moved(where, f"it is a {type(value).__name__}, not a {kind.__name__}")
    return value


def _moved(where: str, why: str) -> RuntimeError:
    return RuntimeError(
        f"personalize_tracker.testing cannot hook into moto {_moto_version()}: it needs {where}, "
        f"but {why}. Supported: {_SUPPORTED}; pin moto to a supported version or update "
        "personalize-tracker."
    )


# ---------------------------------------------------------------------------- routing


class _Registry:
    """Which handles are live, and what was patched into moto while any is."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.in_process: list[PersonalizeEventsMock] = []
        self.servers: dict[int, PersonalizeEventsMock] = {}
        self.undo: list[Callable[[], None]] = []

    @property
    def live(self) -> bool:
        return bool(self.in_process or self.servers)

    def route(self, server_port: int | None) -> PersonalizeEventsMock | None:
        with self.lock:
            if server_port is not None and server_port in self.servers:
                return self.servers[server_port]
            if server_port is None and self.in_process:
                return self.in_process[-1]
            if self.in_process:
                return self.in_process[-1]
            if self.servers:
                return list(self.servers.values())[-1]
            return None


_registry = _Registry()


def _server_port(request: Any) -> int | None:
    if not getattr(request, "from_wsgi_server", False):
        return None
    environ = getattr(request, "environ", None) or {}
    try:
        return int(environ.get("SERVER_PORT", ""))
    except ValueError:
        return None


def _region(full_url: str, headers: Any) -> str:
    match = _REGION_IN_HOST.search(full_url)
    if match:
        return match.group(1)
    authorization = headers.get("Authorization", "") if headers is not None else ""
    match = _REGION_IN_AUTH.search(authorization or "")
    return match.group(1) if match else "us-east-1"


def _error(status: int, code: str, message: str, *, json_1_1: bool = False) -> Response:
    return error_response(ServiceError(status, code, message), json_1_1=json_1_1)


def request_body(request: Any) -> bytes:
    """The body of either kind of request moto hands a handler: werkzeug's (``get_data()``,
    over HTTP and in process on moto 5.2) or botocore's ``AWSPreparedRequest`` (``body``, in
    process on moto 5.0 and 5.1)."""
    get_data = getattr(request, "get_data", None)
    body = get_data() if callable(get_data) else getattr(request, "body", None)
    if body is None:
        return b""
    if hasattr(body, "read"):  # a file-like body
        body = body.read()
    return body.encode() if isinstance(body, str) else bytes(body)


def _refused(request: Any, headers: Any, *, json_1_1: bool = False) -> Response | None:
    """The auth error a request gets before any operation runs, or ``None``."""
    in_process = _server_port(request) is None
    error = auth_error(headers if headers is not None else {}, in_process=in_process)
    return None if error is None else error_response(error, json_1_1=json_1_1)


def _dispatch(request: Any, full_url: str, headers: Any) -> Response:
    """moto URL handler for every path of both APIs: ``(request, url, headers) -> response``."""
    refused = _refused(request, headers)
    if refused is not None:
        return refused
    path = urlsplit(full_url).path.rstrip("/") or "/"
    operation = _PATH_TO_OPERATION.get(path)
    if operation is None:
        return _error(404, "UnknownOperationException", f"No operation at {path}")
    if getattr(request, "method", "POST") != "POST":
        return _error(404, "UnknownOperationException", f"{operation} takes POST")
    handle = _registry.route(_server_port(request))
    if handle is None:
        return _error(500, "InternalFailure", "personalize_tracker.testing: no live mock")
    return handle.serve(operation, _region(full_url, headers), request_body(request))


def _control_plane(previous: Callable[..., Any]) -> Callable[..., Any]:
    """moto URL handler for ``POST /`` of ``personalize``: the calls of :data:`CONTROL_PLANE`
    are answered by the live handle, moto's own (the schema calls) by moto, and any other by a
    JSON error naming the implemented ones (moto would answer an HTML 500)."""
    from moto.personalize.responses import PersonalizeResponse

    moto_has = frozenset(
        name for name in internal("moto.personalize.models", "PersonalizeBackend", type).__dict__
    ) & frozenset(PersonalizeResponse.__dict__)

    def control_plane(request: Any, full_url: str, headers: Any) -> Any:
        target = (headers.get("X-Amz-Target") if headers is not None else None) or ""
        operation = target.removeprefix(_TARGET_PREFIX)
        if operation in CONTROL_PLANE:
            refused = _refused(request, headers, json_1_1=True)
            if refused is not None:
                return refused
            handle = _registry.route(_server_port(request))
            if handle is None:
                no_mock = "personalize_tracker.testing: no live mock"
                return _error(500, "InternalFailure", no_mock, json_1_1=True)
            region = _region(full_url, headers)
            return handle.serve_control_plane(operation, region, request_body(request))
        if operation and xform_name(operation) in moto_has:
            return previous(request, full_url, headers)
        implemented = sorted(CONTROL_PLANE | {_camel(name) for name in moto_has})
        return _error(
            400,
            "UnknownOperationException",
            f"The local endpoint does not implement {target or 'this call (no X-Amz-Target)'}; "
            f"it implements: {', '.join(implemented)}",
            json_1_1=True,
        )

    return control_plane


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


# ---------------------------------------------------------------------------- install


def _install() -> list[Callable[[], None]]:
    """Patch moto; return the functions that undo it. Checks everything before changing any."""
    internal("moto", "mock_aws", object)
    internal("moto.core.models", "BotocoreStubber", type)
    patterns: list[Any] = internal("moto.backend_index", "backend_url_patterns", list)
    url_bases: list[str] = internal("moto.personalize.urls", "url_bases", list)
    url_paths: dict[str, Any] = internal("moto.personalize.urls", "url_paths", dict)
    if not any(name == "personalize" for name, _ in patterns):
        raise _moved("moto.backend_index.backend_url_patterns", "it has no 'personalize' entry")

    undo: list[Callable[[], None]] = []
    entry = ("personalize", _HOST_PATTERN)
    patterns.insert(0, entry)
    undo.append(lambda: _remove_identical(patterns, entry))
    for base in _URL_BASES:
        if base not in url_bases:
            url_bases.append(base)
            undo.append(lambda base=base: _remove_equal(url_bases, base))  # type: ignore[misc]
    for _, path in OPERATIONS.values():
        key = "{0}" + path + "$"
        previous = url_paths.get(key)
        url_paths[key] = _dispatch
        undo.append(lambda key=key, previous=previous: _restore(url_paths, key, previous))  # type: ignore[misc]
    root = url_paths.get("{0}/$")
    if root is not None:
        url_paths["{0}/$"] = _control_plane(root)
        undo.append(lambda: _restore(url_paths, "{0}/$", root))
    undo.reverse()
    return undo


def _remove_identical(items: list[Any], entry: Any) -> None:
    for index, item in enumerate(items):
        if item is entry:
            del items[index]
            return


def _remove_equal(items: list[str], entry: str) -> None:
    with contextlib.suppress(ValueError):
        items.remove(entry)


def _restore(table: dict[str, Any], key: str, previous: Any) -> None:
    if previous is None:
        table.pop(key, None)
    else:
        table[key] = previous


def acquire(handle: PersonalizeEventsMock, server_port: int | None = None) -> None:
    """Make ``handle`` live, patching moto if it is the first live handle.

    Args:
        handle: the handle that will answer calls.
        server_port: the port of its HTTP server, or ``None`` for in-process use.

    Raises:
        RuntimeError: if moto's internals are not where this extension expects them.
    """
    with _registry.lock:
        if not _registry.live:
            _registry.undo = _install()
        if server_port is None:
            _registry.in_process.append(handle)
        else:
            _registry.servers[server_port] = handle


def release(handle: PersonalizeEventsMock, server_port: int | None = None) -> None:
    """Retire ``handle``; undo the moto patches when no handle is live any more."""
    with _registry.lock:
        if server_port is None:
            for index in range(len(_registry.in_process) - 1, -1, -1):
                if _registry.in_process[index] is handle:
                    del _registry.in_process[index]
                    break
        else:
            _registry.servers.pop(server_port, None)
        if not _registry.live:
            undo, _registry.undo = _registry.undo, []
            for step in undo:
                step()


# ---------------------------------------------------------------------------- contexts


@contextlib.contextmanager
def mock_personalize_events(*, strict_resources: bool = False) -> Iterator[PersonalizeEventsMock]:
    """Serve PutEvents & co. and the runtime API to every boto3 client in this process.

    Starts moto's ``mock_aws()`` (so *all* AWS calls in the block are mocked; moto's other
    services, including the ``personalize`` schema calls, work as usual) and installs the
    extension. It can be nested inside your own ``mock_aws()`` (or the other way round): moto
    counts nested starts, and the outer mock stays in charge of moto's state. Calls to
    ``personalize-events.<region>.amazonaws.com`` and ``personalize-runtime.<region>.amazonaws.com``
    are answered by the innermost live handle.

    Example::

        with mock_personalize_events() as fake:
            client = boto3.client("personalize-events", region_name="us-east-1")
            client.put_events(trackingId="t", sessionId="s", eventList=[...])
            assert fake.events[0].session_id == "s"

    Trackers created inside the block and still open when it ends are closed against the fake
    (their events delivered to it) with a :class:`LeakedTrackerWarning`: they would otherwise
    flush to the real endpoint at interpreter exit.

    Args:
        strict_resources: data-plane calls must name resources that exist in
            ``handle.resources`` (see :class:`PersonalizeEventsMock`); default lenient.

    Yields:
        PersonalizeEventsMock: the handle with the records and fault controls
        (``endpoint_url`` is ``None``).

    Raises:
        RuntimeError: if moto's internals are not where this extension expects them.
    """
    from moto import mock_aws

    handle = PersonalizeEventsMock(strict_resources=strict_resources)
    acquire(handle)
    guard = LeakGuard("mock_personalize_events()")
    try:
        with mock_aws():
            try:
                yield handle
            finally:
                guard.close_leaks()
    finally:
        handle.close()
        release(handle)
