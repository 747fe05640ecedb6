"""The local HTTP endpoint: moto's WSGI application behind a gate that answers as AWS's front
door does, served by werkzeug on a thread of this process.

moto's own ``ThreadedMotoServer`` is not used: its ``start()`` waits forever on a busy port, its
``stop()`` leaves the socket open, and moto 5.0's has no ``get_host_and_port``. The gate (see
``_protocol.py``) answers, before moto sees the request:

* a request to a data-plane path (``/events``...) or a control-plane call
  (``X-Amz-Target: AmazonPersonalize.*``) without a signature, or with one of the wrong shape:
  403 with AWS's JSON error (moto would answer an HTML 500, which clients retry for seconds);
* a request signed for ``personalize`` at a path no operation has: 404
  ``UnknownOperationException`` as JSON.

Requests signed for other services pass untouched: moto routes them by their signing name (a
request to ``/events`` signed for S3 goes to moto's S3).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ._handle import PersonalizeEventsMock
from ._leaks import LeakGuard
from ._moto import PATHS, acquire, internal, release
from ._protocol import SIGNING_NAME, ServiceError, auth_error, error_response, signing_service

__all__ = ["serve_personalize_events"]

_STATUS_TEXT = {403: "403 Forbidden", 404: "404 Not Found"}
# How often the serving loop looks for a stop request, in seconds (werkzeug's default is 0.5).
_POLL_INTERVAL = 0.05

StartResponse = Callable[..., Any]


class _Gate:
    """WSGI middleware in front of moto's application (see the module's docstring)."""

    def __init__(self, app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = (environ.get("PATH_INFO") or "/").rstrip("/") or "/"
        target = environ.get("HTTP_X_AMZ_TARGET") or ""
        headers = {
            "Authorization": environ.get("HTTP_AUTHORIZATION") or "",
            "X-Amz-Date": environ.get("HTTP_X_AMZ_DATE") or "",
        }
        if "X-Amz-Signature=" in (environ.get("QUERY_STRING") or ""):
            return self.app(environ, start_response)  # a presigned URL: moto's business
        ours = path in PATHS or (path == "/" and target.startswith("AmazonPersonalize."))
        service = signing_service(headers)
        error: ServiceError | None = None
        if ours and service in (None, SIGNING_NAME):
            error = auth_error(headers, in_process=False)
        elif service == SIGNING_NAME and not ours and path != "/":
            error = ServiceError(404, "UnknownOperationException", f"No operation at {path}")
        if error is None:
            return self.app(environ, start_response)
        status, response_headers, body = error_response(error, json_1_1=path == "/")
        start_response(_STATUS_TEXT[status], list(response_headers.items()))
        return [body.encode()]


def _make_server(host: str, port: int) -> Any:
    from werkzeug.serving import make_server

    werkzeug_app = "moto.moto_server.werkzeug_app"
    dispatcher = internal(werkzeug_app, "DomainDispatcherApplication", type)
    create_app = internal(werkzeug_app, "create_backend_app", object)
    handler = getattr(__import__(werkzeug_app, fromlist=["_"]), "MotoRequestHandler", None)
    app = _Gate(dispatcher(create_app))
    if port:
        _check_port_free(host, port)  # werkzeug would print to stderr and sys.exit(1)
    return make_server(host, port, app, threaded=True, request_handler=handler)


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


@contextlib.contextmanager
def serve_personalize_events(
    host: str = "127.0.0.1", port: int = 0, *, strict_resources: bool = False
) -> Iterator[PersonalizeEventsMock]:
    """Serve moto with the extension over HTTP, on a thread of this process.

    Build clients with ``endpoint_url=handle.endpoint_url``, any region and any non-empty
    dummy credentials (for example ``aws_access_key_id="testing"``): the signature's shape is
    checked, not its value. Both APIs, the ``personalize`` control plane and moto's other
    services are served at that one URL; moto picks the API by the request's SigV4 signing
    name. The handle shares the server's state. While the server runs, werkzeug's per-request
    log lines are silenced if the ``werkzeug`` logger was not configured by you. Trackers
    created while it runs and still open when it ends are closed against it first, with a
    :class:`LeakedTrackerWarning`.

    Args:
        host: address to listen on (keep the default loopback address for tests).
        port: TCP port; 0 (default) lets the OS pick a free one.
        strict_resources: data-plane calls must name resources that exist in
            ``handle.resources`` (see :class:`PersonalizeEventsMock`); default lenient.

    Yields:
        PersonalizeEventsMock: the handle, with ``endpoint_url`` such as
        ``"http://127.0.0.1:54321"``.

    Raises:
        OSError: if ``port`` is already in use.
        RuntimeError: if moto's internals moved.
    """
    werkzeug_logger = logging.getLogger("werkzeug")
    quiet = werkzeug_logger.level == logging.NOTSET
    if quiet:
        werkzeug_logger.setLevel(logging.WARNING)
    try:
        server = _make_server(host, port)
        bound_host, bound_port = server.server_address[:2]
        shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
        handle = PersonalizeEventsMock(
            endpoint_url=f"http://{shown}:{bound_port}", strict_resources=strict_resources
        )
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name="personalize-events-server",
            daemon=True,
        )
        try:
            acquire(handle, server_port=bound_port)
        except BaseException:
            server.server_close()
            raise
        thread.start()
        guard = LeakGuard("serve_personalize_events()")
        try:
            try:
                yield handle
            finally:
                guard.close_leaks()
        finally:
            handle.close()
            server.shutdown()
            thread.join()
            server.server_close()
            release(handle, server_port=bound_port)
    finally:
        if quiet:
            werkzeug_logger.setLevel(logging.NOTSET)
