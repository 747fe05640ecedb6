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

moto's own ``personalize`` calls (the schema API at ``POST /``) keep working. Everything added is
removed again when the last context using it exits. If one of these structures is missing (moto
moved its internals), :func:`acquire` raises :class:`RuntimeError` naming it and the moto version.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import re
import socket
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

from ._handle import OPERATIONS, PersonalizeEventsMock, Response

__all__ = ["acquire", "mock_personalize_events", "release", "serve_personalize_events"]

_HOST_PATTERN = re.compile(r"https?://personalize-(?:events|runtime)\.(.+)\.amazonaws\.com")
_URL_BASES = (
    r"https?://personalize-events\.(.+)\.amazonaws\.com",
    r"https?://personalize-runtime\.(.+)\.amazonaws\.com",
)
_REGION_IN_HOST = re.compile(r"://personalize-(?:events|runtime)\.([^./]+)\.")
_REGION_IN_AUTH = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/]+)/")
_PATH_TO_OPERATION = {path: operation for operation, (_, path) in OPERATIONS.items()}
_SUPPORTED = "moto>=5.0,<5.3"
_SERVER_START_TIMEOUT = 10.0  # seconds


def _moto_version() -> str:
    try:
        return version("moto")
    except PackageNotFoundError:  # pragma: no cover - moto imported but not installed?
        return "(unknown version)"


def _internal(module_name: str, attribute: str, kind: type) -> Any:
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


def _error(status: int, code: str, message: str) -> Response:
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": code}
    return status, headers, json.dumps({"message": message})


def _dispatch(request: Any, full_url: str, headers: Any) -> Response:
    """moto URL handler for every path of both APIs: ``(request, url, headers) -> response``."""
    path = urlsplit(full_url).path.rstrip("/") or "/"
    operation = _PATH_TO_OPERATION.get(path)
    if operation is None:
        return _error(404, "UnknownOperationException", f"No operation at {path}")
    if getattr(request, "method", "POST") != "POST":
        return _error(404, "UnknownOperationException", f"{operation} takes POST")
    handle = _registry.route(_server_port(request))
    if handle is None:
        return _error(500, "InternalFailure", "personalize_tracker.testing: no live mock")
    try:
        body = request.get_data()
    except Exception as exc:  # pragma: no cover - defensive
        return _error(400, "SerializationException", f"Cannot read the body: {exc}")
    if isinstance(body, str):  # pragma: no cover - werkzeug gives bytes
        body = body.encode()
    return handle.serve(operation, _region(full_url, headers), body)


# ---------------------------------------------------------------------------- install


def _install() -> list[Callable[[], None]]:
    """Patch moto; return the functions that undo it. Checks everything before changing any."""
    _internal("moto", "mock_aws", object)
    _internal("moto.core.models", "BotocoreStubber", type)
    patterns: list[Any] = _internal("moto.backend_index", "backend_url_patterns", list)
    url_bases: list[str] = _internal("moto.personalize.urls", "url_bases", list)
    url_paths: dict[str, Any] = _internal("moto.personalize.urls", "url_paths", dict)
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
def mock_personalize_events() -> Iterator[PersonalizeEventsMock]:
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

    Yields:
        PersonalizeEventsMock: the handle with the records and fault controls
        (``endpoint_url`` is ``None``).

    Raises:
        RuntimeError: if moto's internals are not where this extension expects them.
    """
    from moto import mock_aws

    handle = PersonalizeEventsMock()
    acquire(handle)
    try:
        with mock_aws():
            yield handle
    finally:
        handle.close()
        release(handle)


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def _stop(server: Any, host: str, port: int) -> None:
    """Stop ``server`` quickly and release its port.

    ``ThreadedMotoServer.stop()`` waits for werkzeug's accept loop, which looks for the stop
    request only every 0.5 s or when a connection arrives: poke it with empty connections so a
    test does not wait. ``stop()`` also leaves the listening socket open (the port would keep
    accepting connections that are never answered), so close it when moto lets us reach it.
    """
    stopper = threading.Thread(target=server.stop, name="personalize-events-server-stop")
    stopper.start()
    while stopper.is_alive():
        with contextlib.suppress(OSError):
            socket.create_connection((host, port), timeout=0.1).close()
        stopper.join(0.01)
    inner = getattr(server, "_server", None)
    if inner is not None and hasattr(inner, "server_close"):
        inner.server_close()


@contextlib.contextmanager
def serve_personalize_events(
    host: str = "127.0.0.1", port: int = 0
) -> Iterator[PersonalizeEventsMock]:
    """Run moto's ``ThreadedMotoServer`` with the extension, on a thread of this process.

    Build clients with ``endpoint_url=handle.endpoint_url``, any region and any dummy
    credentials (for example ``aws_access_key_id="testing"``). Both APIs and moto's other
    services are served at that one URL; moto picks the API by the request's SigV4 signing
    name. The handle shares the server's state, since the server runs in this process.
    While the server runs, werkzeug's per-request log lines are silenced if the ``werkzeug``
    logger was not configured by you.

    Args:
        host: address to listen on (keep the default loopback address for tests).
        port: TCP port; 0 (default) lets the OS pick a free one.

    Yields:
        PersonalizeEventsMock: the handle, with ``endpoint_url`` such as
        ``"http://127.0.0.1:54321"``.

    Raises:
        OSError: if ``port`` is already in use.
        RuntimeError: if moto's internals moved or the server did not start within 10 seconds.
    """
    server_class: type = _internal(
        "moto.moto_server.threaded_moto_server", "ThreadedMotoServer", type
    )
    if port:
        _check_port_free(host, port)  # else ThreadedMotoServer.start() would wait forever
    server = server_class(ip_address=host, port=port, verbose=False)
    failure: list[BaseException] = []

    def start() -> None:
        try:
            server.start()
        except BaseException as exc:  # reported below
            failure.append(exc)

    werkzeug_logger = logging.getLogger("werkzeug")
    quiet = werkzeug_logger.level == logging.NOTSET
    if quiet:
        werkzeug_logger.setLevel(logging.WARNING)
    try:
        starter = threading.Thread(target=start, name="personalize-events-server", daemon=True)
        starter.start()
        starter.join(_SERVER_START_TIMEOUT)
        if failure:
            raise RuntimeError(f"moto server did not start: {failure[0]!r}") from failure[0]
        if starter.is_alive():
            raise RuntimeError(
                f"moto server on {host}:{port} did not start within {_SERVER_START_TIMEOUT} s"
            )
        bound_host, bound_port = server.get_host_and_port()
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        handle = PersonalizeEventsMock(endpoint_url=f"http://{shown}:{bound_port}")
        try:
            acquire(handle, server_port=bound_port)
        except BaseException:
            _stop(server, bound_host, bound_port)
            raise
        try:
            yield handle
        finally:
            handle.close()
            try:
                _stop(server, bound_host, bound_port)
            finally:
                release(handle, server_port=bound_port)
    finally:
        if quiet:
            werkzeug_logger.setLevel(logging.NOTSET)
