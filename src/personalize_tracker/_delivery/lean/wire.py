"""The HTTP part: one keep-alive urllib3 connection pool, botocore's own.

The pool is the one the boto3 client would send through (``client._endpoint.http_session``,
botocore's ``URLLib3Session``): its CA bundle (``AWS_CA_BUNDLE``, the config's ``ca_bundle``,
certifi), client certificate, proxies (the config's and ``HTTP(S)_PROXY``/``NO_PROXY``) and
proxy settings, connect and read timeouts, socket options (TCP keep-alive) and pool size. Without a
proxy, a request is one write and one strict read on a connection of that pool
(``exchange.py``: ~30 µs against ~220 µs through ``urlopen``); through a proxy it is sent as
``URLLib3Session.send`` sends it. Either way, errors become the botocore exceptions that method
raises for the same failure, so that they classify the same (``putevents.send_error``).
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Mapping
from typing import Any

import botocore.exceptions as bce
from botocore.awsrequest import HeadersDict
from botocore.httpsession import mask_proxy_url
from urllib3.exceptions import ConnectTimeoutError as _ConnectTimeout
from urllib3.exceptions import NewConnectionError, ProtocolError, ProxyError
from urllib3.exceptions import ReadTimeoutError as _ReadTimeout
from urllib3.exceptions import SSLError as _SSLError
from urllib3.util.retry import Retry
from urllib3.util.timeout import Timeout

from .endpoint import LeanUnsupported

try:  # urllib3's own hostname check (botocore's SSL context leaves it to urllib3)
    from urllib3.util.ssl_match_hostname import CertificateError as _HostnameMismatch
except ImportError:  # urllib3 < 1.26 (botocore allows 1.25.4): ssl's own, already caught
    _HostnameMismatch = ssl.CertificateError  # type: ignore[misc,assignment]
from .exchange import AnswerError, ReadTimeout, exchange, host_header, request_head

__all__ = ["Wire"]

_NO_RETRY = Retry(False)  # retries are ours (tenacity), as for the client
_NO_HEADERS: HeadersDict = HeadersDict()


class Wire:
    """POSTs to one URL through the connection pool of a boto3 client.

    Args:
        client: the boto3 client whose HTTP session (pool, TLS, proxies, timeouts) is used.
        url: the full URL requests go to.

    Raises:
        LeanUnsupported: the client's HTTP session is not botocore's ``URLLib3Session`` as this
            reads it, or an option asks for what only that session does per request.
    """

    __slots__ = ("_host", "_manager", "_pool", "_setup", "_timeouts", "proxy_url", "target", "url")

    def __init__(self, client: Any, url: str) -> None:
        if os.environ.get("BOTO_EXPERIMENTAL__ADD_PROXY_HOST_HEADER", "").lower() == "true":
            raise LeanUnsupported("BOTO_EXPERIMENTAL__ADD_PROXY_HOST_HEADER is set")
        try:
            session = client._endpoint.http_session
            self.proxy_url = session._proxy_config.proxy_url_for(url)
            self._manager = session._get_connection_manager(url, self.proxy_url)
            self.target = session._get_request_target(url, self.proxy_url)
            self._pool = self._manager.connection_from_url(url)
            session._setup_ssl_cert(self._pool, url, session._verify)
            self._setup = (session, session._verify)
            pool = self._pool
            self._timeouts: tuple[float | None, float | None] | None = None
            if self.proxy_url is None and hasattr(pool, "_get_conn"):
                timeout = pool.timeout
                connect = Timeout.resolve_default_timeout(timeout.connect_timeout)
                read = Timeout.resolve_default_timeout(timeout.read_timeout)
                self._timeouts = (connect, read)  # the one-write exchange (no proxy)
                self._host = host_header(pool.host, pool.port, pool.ConnectionCls.default_port)
        except AttributeError as exc:
            raise LeanUnsupported(f"cannot read the client's HTTP session ({exc})") from None
        self.url = url

    @property
    def path(self) -> str:
        """How requests go: ``"exchange"`` (one write, one strict read: no proxy) or
        ``"urlopen"`` (through a proxy)."""
        return "urlopen" if self._timeouts is None else "exchange"

    def _current_pool(self) -> Any:
        pool = self._pool
        if pool.pool is None:  # closed: evicted from the manager or closed with it
            session, verify = self._setup
            pool = self._pool = self._manager.connection_from_url(self.url)
            session._setup_ssl_cert(pool, self.url, verify)
        return pool

    def post(self, headers: Mapping[str, str], body: bytes) -> tuple[int, Any, bytes]:
        """Send one ``POST`` and read the whole answer.

        Returns:
            tuple: the status, the answer's headers (case-insensitive; with the one-write
                exchange, empty for a status below 300, which nothing reads) and its body.

        Raises:
            botocore.exceptions.SSLError, EndpointConnectionError, ProxyConnectionError,
            ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError, HTTPClientError: as
                ``URLLib3Session.send`` raises them for the same failure.
        """
        timeouts = self._timeouts
        if timeouts is None:
            return self._urlopen(headers, body)
        try:
            head = request_head(self.target, self._host, headers)
            status, lines, data = exchange(self._current_pool(), timeouts, head, body)
        except Exception as e:
            raise self._botocore_error(e) from e
        return status, (HeadersDict(lines) if status >= 300 else _NO_HEADERS), data

    def _urlopen(self, headers: Mapping[str, str], body: bytes) -> tuple[int, Any, bytes]:
        """``post`` through urllib3's ``urlopen``, as ``URLLib3Session.send`` sends."""
        try:
            response = self._current_pool().urlopen(
                method="POST",
                url=self.target,
                body=body,
                headers=headers,
                retries=_NO_RETRY,
                assert_same_host=False,
                preload_content=True,
                decode_content=False,
                chunked=False,
                enforce_content_length=False,
            )
            return response.status, response.headers, response.data
        except Exception as e:
            raise self._botocore_error(e) from e

    def _botocore_error(self, error: Exception) -> Exception:
        """The botocore exception ``URLLib3Session.send`` raises for ``error``, one from
        urllib3's ``urlopen`` or from the one-write exchange (``exchange.py``)."""
        url = self.url
        if isinstance(error, (ReadTimeout, _ReadTimeout)):
            return bce.ReadTimeoutError(endpoint_url=url, error=error)
        if isinstance(error, (ssl.SSLError, ssl.CertificateError, _SSLError, _HostnameMismatch)):
            return bce.SSLError(endpoint_url=url, error=error)
        if isinstance(error, (NewConnectionError, socket.gaierror)):
            return bce.EndpointConnectionError(endpoint_url=url, error=error)
        if isinstance(error, ProxyError):
            return bce.ProxyConnectionError(proxy_url=mask_proxy_url(self.proxy_url), error=error)
        if isinstance(error, _ConnectTimeout):
            return bce.ConnectTimeoutError(endpoint_url=url, error=error)
        if isinstance(error, (ProtocolError, AnswerError, OSError)):
            return bce.ConnectionClosedError(error=error, request=None, endpoint_url=url)
        return bce.HTTPClientError(error=error)
