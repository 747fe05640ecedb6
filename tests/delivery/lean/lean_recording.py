"""Helpers of the lean transport's tests: a loopback HTTP/1.1 server that records every request
as it arrived and answers as a test scripts it (an answer, or a connection reset), and the
client the Tracker builds (dummy credentials, no retries)."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
import boto3

from personalize_tracker._delivery.putevents import build_client


@attrs.frozen
class Received:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


@attrs.frozen
class Answer:
    status: int = 200
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    body: bytes = b"{}"
    reset: bool = False  # close the connection without answering


class RecordingServer:
    """Serves on 127.0.0.1; ``answers`` are used in order, then 200 ``{}``."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: list[Answer] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_CONNECT(self) -> None:  # a proxy's tunnel: recorded, refused
                with owner.lock:
                    owner.received.append(Received(self.command, self.path, {}, b""))
                self.send_response(403)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with owner.lock:
                    owner.received.append(
                        Received(
                            self.command,
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                        )
                    )
                    answer = owner.answers.pop(0) if owner.answers else Answer()
                if answer.reset:
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(answer.status)
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> RecordingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class SocketServer:
    """Accepts connections on 127.0.0.1 (at ``port``), each handled by :meth:`talk` on a
    thread of its own; ``connections`` counts them. Subclasses set their own attributes before
    calling ``__init__``, which starts accepting."""

    def __init__(self) -> None:
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed
            self.connections += 1
            threading.Thread(target=self.talk, args=(conn,), daemon=True).start()

    def talk(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.listener.close()


def read_request(reader: Any) -> tuple[bytes, int] | None:
    """The head of the next request on ``reader`` (a socket's binary file) and its
    ``Content-Length`` (0 without one), or None when the client closed the connection."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = reader.readline()
        if not line:
            return None
        head += line
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head, length


CREDENTIALS = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG"}


def tracker_client(
    endpoint_url: str | None, region: str = "us-east-1", token: str | None = None
) -> Any:
    """The personalize-events client the Tracker builds, with dummy credentials (temporary
    ones with ``token``)."""
    session = boto3.Session(region_name=region, aws_session_token=token, **CREDENTIALS)
    return build_client(session=session, region_name=None, endpoint_url=endpoint_url, max_workers=4)
