"""The one-write exchange on a connection of a urllib3 pool (``lean/exchange.py``), against a
loopback socket server that answers with bytes each test scripts: how an answer is read (sized,
chunked, to the close, after 1xx), when the connection is kept, and how a broken one fails."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import urllib3
from lean_recording import SocketServer, read_request

from personalize_tracker._delivery.lean.exchange import (
    AnswerError,
    ReadTimeout,
    exchange,
    host_header,
    request_head,
)

CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b'2\r\n{"\r\n3;x=1\r\na"}\r\n0\r\nT: v\r\n\r\n'
)
OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class Scripted(SocketServer):
    """Accepts connections on 127.0.0.1; for each request read (head and ``Content-Length``
    body), sends the next answer of ``answers`` (``None``: closes the connection instead; a
    tuple ``(answer, "close")``: sends it, then closes; ``(answer, "early")``: sends it as
    soon as the head is read, without reading the body, then closes; once they run out, ``OK``).
    ``requests`` holds each request's bytes, ``connections`` counts accepted connections."""

    def __init__(self, answers: list[bytes | tuple[bytes, str] | None]) -> None:
        self.answers = answers
        self.requests: list[bytes] = []
        super().__init__()

    def talk(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        with conn, reader:
            while (request := read_request(reader)) is not None:
                head, length = request
                answer = self.answers.pop(0) if self.answers else OK
                if isinstance(answer, tuple) and answer[1] == "early":
                    self.requests.append(head)
                    conn.sendall(answer[0])
                    return
                self.requests.append(head + reader.read(length))
                if answer is None:
                    return
                if isinstance(answer, tuple):
                    conn.sendall(answer[0])
                    return
                conn.sendall(answer)


@pytest.fixture
def pool() -> Iterator[urllib3.HTTPConnectionPool]:
    with urllib3.HTTPConnectionPool("127.0.0.1", 1, maxsize=1) as made:
        yield made


def serve(
    pool: urllib3.HTTPConnectionPool, answers: list[bytes | tuple[bytes, str] | None]
) -> Scripted:
    server = Scripted(answers)
    pool.port = server.port
    return server


def post(
    pool: urllib3.HTTPConnectionPool, body: bytes = b'{"a":1}', read: float = 5.0
) -> tuple[int, list[tuple[str, str]], bytes]:
    head = request_head("/events", f"127.0.0.1:{pool.port}", {"Content-Length": str(len(body))})
    return exchange(pool, (5.0, read), head, body)


def test_the_request_is_written_as_http_client_writes_it(pool: urllib3.HTTPConnectionPool) -> None:
    server = serve(pool, [])
    head = request_head("/events", "example.com", {"X-A": "1", "Content-Length": "7"})
    assert exchange(pool, (5.0, 5.0), head, b'{"a":1}') == (
        200,
        [("Content-Type", "application/json"), ("Content-Length", "2")],
        b"{}",
    )
    assert server.requests == [
        b"POST /events HTTP/1.1\r\nHost: example.com\r\nAccept-Encoding: identity\r\n"
        b'X-A: 1\r\nContent-Length: 7\r\n\r\n{"a":1}'
    ]


def test_a_kept_connection_is_used_again(pool: urllib3.HTTPConnectionPool) -> None:
    server = serve(pool, [])
    for _ in range(3):
        assert post(pool)[0] == 200
    assert server.connections == 1


@pytest.mark.parametrize(
    ("answer", "body"),
    [
        (CHUNKED, b'{"a"}'),
        (b"HTTP/1.1 100 Continue\r\n\r\n" + OK, b"{}"),
        (b"HTTP/1.1 204 No Content\r\n\r\n", b""),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}", b"{}"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\n{}\r\n0\r\n\r\n",
            b"{}",
        ),
    ],
    ids=[
        "chunked with a trailer",
        "after 100 Continue",
        "204 without a body",
        "the same Content-Length twice",
        "chunked in a second Transfer-Encoding line",
    ],
)  # fmt: skip
def test_answers_are_read_whole_and_the_connection_kept(
    pool: urllib3.HTTPConnectionPool, answer: bytes, body: bytes
) -> None:
    server = serve(pool, [answer])
    assert post(pool)[2] == body
    assert post(pool)[2] == b"{}"  # the same connection: nothing of the first answer is left
    assert server.connections == 1


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nConnection: TE, Close\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}",
    ],
    ids=["Connection: close", "close among other tokens", "HTTP/1.0"],
)
def test_a_connection_the_answer_does_not_keep_is_closed(
    pool: urllib3.HTTPConnectionPool, answer: bytes
) -> None:
    server = serve(pool, [answer])
    assert post(pool)[0] == 200
    assert post(pool)[0] == 200
    assert server.connections == 2


def test_a_body_without_length_runs_to_the_close(pool: urllib3.HTTPConnectionPool) -> None:
    answer = b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n\r\n<h1>x</h1>"
    server = serve(pool, [(answer, "close")])
    status, headers, data = post(pool)
    assert (status, data) == (502, b"<h1>x</h1>")
    assert headers == [("Content-Type", "text/html")]
    assert post(pool)[0] == 200
    assert server.connections == 2


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (None, "without answering"),
        ((b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", "close"), "cut short"),
        (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP/1.x status line"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "bad header line"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "bad Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\n{}", "bad Content-Length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\n{}\r\n", "bad chunk size"),
    ],
    ids=[
        "closed",
        "cut short",
        "not http",
        "bad header",
        "bad length",
        "two lengths",
        "bad chunk",
        "negative chunk",
    ],
)
def test_a_broken_answer_fails_and_the_connection_is_not_kept(
    pool: urllib3.HTTPConnectionPool, answer: bytes | tuple[bytes, str] | None, problem: str
) -> None:
    server = serve(pool, [answer])
    with pytest.raises(AnswerError, match=problem):
        post(pool)
    assert post(pool)[0] == 200  # a new connection
    assert server.connections == 2


def test_no_answer_within_the_read_timeout(pool: urllib3.HTTPConnectionPool) -> None:
    server = serve(pool, [b""])  # sends nothing: the exchange waits for a status line
    with pytest.raises(ReadTimeout):
        post(pool, read=0.2)
    assert post(pool)[0] == 200
    assert server.connections == 2


def test_header_values_with_line_breaks_or_nul_are_refused() -> None:
    bad = ({"X": "a\r\nInjected: 1"}, {"X": "a\nb"}, {"X": "a\0"}, {"X:Y": "1"}, {"": "1"})
    for headers in bad:
        with pytest.raises(ValueError, match="invalid HTTP header"):
            request_head("/", "h", headers)


def test_host_as_http_client_writes_it() -> None:
    assert host_header("example.com", 443, 443) == "example.com"
    assert host_header("example.com", None, 443) == "example.com"
    assert host_header("127.0.0.1", 8080, 80) == "127.0.0.1:8080"
    assert host_header("::1", 8080, 80) == "[::1]:8080"


def test_an_answer_sent_before_the_body_was_read_is_read(pool: urllib3.HTTPConnectionPool) -> None:
    # The server refuses a body too large after its head and closes: the write fails (a reset
    # or a broken pipe), the answer is still there to read, as urllib3 reads it.
    answer = b"HTTP/1.1 413 Too Large\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbig"
    serve(pool, [(answer, "early")])
    assert post(pool, body=b"x" * 8_000_000)[::2] == (413, b"big")
