"""One HTTP/1.1 request and its answer on a connection of the client's urllib3 pool, written
and read without urllib3's and ``http.client``'s per-request machinery.

The pool still owns the connection (``_get_conn`` drops one the server closed while idle, as
for ``urlopen``; its ``_validate_conn`` and urllib3's ``connect()`` apply the client's TLS
settings, CA bundle, connect timeout and socket options), so only the exchange is ours: the
request line and headers in one write with the body, as ``http.client`` would write them
(``Host``, then ``Accept-Encoding: identity``, then the given headers), and a strict reading of
the answer (status line, headers, a body sized by ``Content-Length``, chunked, or up to the
close). That is ~30 µs of CPU per call against ~220 µs through ``urlopen`` on loopback
(``docs/performance.md``), most of it ``http.client``'s header parsing by the ``email`` package
and urllib3's response wrapper.

Used only where nothing more is asked of a request than that: without a proxy (``wire.py``
sends through ``urlopen`` otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["AnswerError", "ReadTimeout", "exchange", "host_header", "request_head"]

_MAX_LINE = 65_536  # as http.client's _MAXLINE
_MAX_HEADERS = 100  # as http.client's _MAXHEADERS


class AnswerError(Exception):
    """The answer could not be read as HTTP/1.1 (or the connection ended first)."""


def host_header(url_host: str, port: int | None, default_port: int) -> str:
    """The ``Host`` header ``http.client`` writes for a connection to ``url_host``:``port``
    (IDNA-encoded, IPv6 in brackets, the port left out when it is the scheme's default)."""
    host = url_host.encode("idna").decode("ascii")
    if ":" in host:
        host = f"[{host}]"
    return host if port is None or port == default_port else f"{host}:{port}"


def request_head(target: str, host: str, headers: Mapping[str, str]) -> bytes:
    """The request line and headers of a ``POST`` to ``target``, ending with the blank line.

    Raises:
        ValueError: a header name or value holds a line break or a NUL, or a name is empty or
            holds a colon (``http.client`` refuses them too).
    """
    lines = [f"POST {target} HTTP/1.1", f"Host: {host}", "Accept-Encoding: identity"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    text = "\r\n".join(lines)
    # One scan for the whole head: each line holds exactly one line break, at its end.
    breaks = len(lines) - 1
    if text.count("\n") != breaks or text.count("\r") != breaks or "\0" in text:
        raise ValueError(f"invalid HTTP header (a line break or NUL) in {dict(headers)!r}")
    if any(not name or ":" in name for name in headers):
        raise ValueError(f"invalid HTTP header name in {list(headers)!r}")
    return (text + "\r\n\r\n").encode("latin-1")


class ReadTimeout(Exception):
    """The answer did not come within the read timeout."""


def exchange(
    pool: Any, timeouts: tuple[float | None, float | None], head: bytes, body: bytes
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Write ``head`` and ``body`` in one go on a connection of urllib3's ``pool`` and read
    the whole answer; the connection goes back to the pool (closed unless the answer allows
    keeping it).

    Args:
        pool: the ``HTTPConnectionPool`` (its connections' TLS and socket options apply).
        timeouts: seconds (connect, read): for a new connection, then for each socket
            operation of the exchange; None is no limit.

    Returns:
        tuple: the status, the answer's header lines (name, value) in order, its body.

    Raises:
        urllib3.exceptions.NewConnectionError, ConnectTimeoutError: no connection could be
            made (urllib3's ``connect()``).
        ssl.SSLError, ssl.CertificateError, urllib3.exceptions.SSLError,
            urllib3.util.ssl_match_hostname.CertificateError: the TLS handshake or the
            certificate's check failed.
        ReadTimeout: the TLS handshake or the answer did not come within its timeout (as
            urllib3 reports both).
        OSError: the connection failed while writing (a timeout included) or reading.
        AnswerError: the answer was cut short or is not HTTP/1.x.
    """
    conn = pool._get_conn()
    keep = False
    try:
        if conn.sock is None:  # new, or dropped by the pool: connect as urlopen would
            conn.timeout = timeouts[0]
            try:
                pool._validate_conn(conn)  # HTTPS: connects, warns when not verified
                if conn.sock is None:
                    conn.connect()  # plain HTTP
            except TimeoutError as exc:  # the TLS handshake (TCP's is ConnectTimeoutError)
                raise ReadTimeout(str(exc)) from exc
        sock = conn.sock
        sock.settimeout(timeouts[1])
        unsent: OSError | None = None
        try:
            sock.sendall(head + body)
        except (BrokenPipeError, ConnectionResetError) as exc:
            unsent = exc  # the server may have answered (413) and closed: read it, as urllib3
        reader = sock.makefile("rb")
        try:
            status, headers, data, keep = _read_answer(reader)
        except TimeoutError as exc:  # socket.timeout
            raise ReadTimeout(str(exc)) from (unsent or exc)
        except (AnswerError, OSError):
            if unsent is not None:
                raise unsent from None  # no answer either: the write's error
            raise
        finally:
            reader.close()  # the socket stays open (makefile's reference is dropped)
        keep = keep and unsent is None
    finally:
        if not keep:
            conn.close()
        pool._put_conn(conn)
    return status, headers, data


def _line(reader: Any) -> bytes:
    line: bytes = reader.readline(_MAX_LINE + 1)
    if len(line) > _MAX_LINE:
        raise AnswerError("answer line too long")
    return line


def _read_answer(reader: Any) -> tuple[int, list[tuple[str, str]], bytes, bool]:
    """One answer: status, header lines, body, and whether the connection may be used again."""
    while True:
        first = _line(reader)
        if not first:
            raise AnswerError("the server closed the connection without answering")
        version, _, rest = first.decode("latin-1").rstrip("\r\n").partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise AnswerError(f"not an HTTP/1.x status line: {first[:80]!r}")
        status = int(code)
        headers = _read_headers(reader)
        if status >= 200:
            break  # 1xx (100 Continue, 103 Early Hints) precede the answer: read on
    fields: dict[str, str] = {}
    for name, value in headers:  # repeated fields are one list (RFC 9110, 5.3)
        key = name.lower()
        fields[key] = f"{fields[key]}, {value}" if key in fields else value
    tokens = {t.strip() for t in fields.get("connection", "").lower().split(",")}
    keep = version == "HTTP/1.1" and "close" not in tokens
    if status in (204, 304):
        return status, headers, b"", keep
    if "chunked" in fields.get("transfer-encoding", "").lower():
        return status, headers, _read_chunked(reader), keep
    length = fields.get("content-length")
    if length is None:  # the body runs to the close
        return status, headers, reader.read(), False
    sizes = {value.strip() for value in length.split(",")}  # repeated: the same value only
    size_text = sizes.pop()
    if sizes or not size_text.isdigit():
        raise AnswerError(f"bad Content-Length: {length!r}")
    size = int(size_text)
    data: bytes = reader.read(size)
    if len(data) != size:
        raise AnswerError(f"answer cut short: {len(data)} of {size} bytes")
    return status, headers, data, keep


def _read_headers(reader: Any) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    while True:
        line = _line(reader)
        if line in (b"\r\n", b"\n"):
            return headers
        if not line:
            raise AnswerError("the connection closed inside the answer's headers")
        if len(headers) >= _MAX_HEADERS:
            raise AnswerError(f"more than {_MAX_HEADERS} headers")
        text = line.decode("latin-1").rstrip("\r\n")
        if text[:1] in (" ", "\t") and headers:  # an obsolete folded line continues the last
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {text.strip()}")
            continue
        name, colon, value = text.partition(":")
        if not colon or not name or name != name.strip():
            raise AnswerError(f"bad header line: {line[:80]!r}")
        headers.append((name, value.strip()))


def _read_chunked(reader: Any) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = _line(reader).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16) if size_line.isalnum() else -1
        except ValueError:
            size = -1
        if size < 0:
            raise AnswerError(f"bad chunk size: {size_line[:20]!r}")
        if size == 0:
            _read_headers(reader)  # the trailer, if any
            return b"".join(parts)
        chunk = reader.read(size)
        if len(chunk) != size or reader.read(2) != b"\r\n":
            raise AnswerError("answer cut short inside a chunk")
        parts.append(chunk)
