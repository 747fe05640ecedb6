"""A fast loopback HTTP/1.1 endpoint for the benchmarks, run as its own process.

It answers every POST with ``200`` and the body ``{}`` (what PutEvents answers), keeps connections
alive so clients reuse them, and can answer late by a fixed delay (``--delay-ms``) to stand in for a
real round trip. Paths it knows: PutEvents' ``/events``, Segment's ``/v1/batch`` and PostHog's
``/batch/``; any other POST gets the same answer and is counted under its path.

Control: ``GET /__stats`` returns the counts as JSON (requests and events per path); ``POST
/__reset`` zeroes them. The server listens on 127.0.0.1 only, prints ``PORT <n>`` on its first line
of output, and exits when its standard input closes (its parent died) or on SIGTERM/SIGINT.

Usage: ``python -m benchmarks.server [--port 0] [--delay-ms 20]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import threading
from collections import Counter

# How each known path marks one event in a request body, to count events without parsing JSON.
_EVENT_MARKERS = {
    b"/events": b'"eventId"',
    b"/v1/batch": b'"messageId"',
    b"/batch/": b'"uuid"',
}
_OK = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: 2\r\n"
    b"x-amzn-RequestId: 00000000-0000-0000-0000-000000000000\r\n"
    b"Connection: keep-alive\r\n"
    b"\r\n"
    b"{}"
)


class Stats:
    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.events: Counter[str] = Counter()
        self.connections = 0

    def as_json(self) -> bytes:
        return json.dumps(
            {
                "requests": dict(self.requests),
                "events": dict(self.events),
                "connections": self.connections,
            }
        ).encode()

    def reset(self) -> None:
        self.requests.clear()
        self.events.clear()
        self.connections = 0


def _response(status: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


class HttpProtocol(asyncio.Protocol):
    """Minimal HTTP/1.1: Content-Length or chunked bodies, keep-alive, in-order answers."""

    def __init__(self, stats: Stats, delay: float) -> None:
        self.stats = stats
        self.delay = delay
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.stats.connections += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            request = self._parse()
            if request is None:
                return
            self._answer(*request)

    def _parse(self) -> tuple[bytes, bytes, bytes] | None:
        buf = self.buffer
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(buf[:end])
        lines = head.split(b"\r\n")
        method, target, _ = [*lines[0].split(b" ", 2), b"", b""][:3]
        length = 0
        chunked = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip())
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        start = end + 4
        if chunked:
            body = bytearray()
            pos = start
            while True:
                line_end = buf.find(b"\r\n", pos)
                if line_end < 0:
                    return None
                size = int(bytes(buf[pos:line_end]).split(b";")[0], 16)
                if len(buf) < line_end + 2 + size + 2:
                    return None
                body += buf[line_end + 2 : line_end + 2 + size]
                pos = line_end + 2 + size + 2
                if size == 0:
                    break
            del buf[:pos]
            return method, target, bytes(body)
        if len(buf) < start + length:
            return None
        body = bytes(buf[start : start + length])
        del buf[: start + length]
        return method, target, body

    def _answer(self, method: bytes, target: bytes, body: bytes) -> None:
        path = target.split(b"?", 1)[0]
        if path == b"/__stats":
            self._write(_response("200 OK", self.stats.as_json()))
            return
        if path == b"/__reset":
            self.stats.reset()
            self._write(_response("200 OK", b"{}"))
            return
        name = path.decode("latin-1")
        self.stats.requests[name] += 1
        marker = _EVENT_MARKERS.get(path)
        if marker is not None:
            self.stats.events[name] += body.count(marker)
        if self.delay > 0:
            self.loop.call_later(self.delay, self._write, _OK)
        else:
            self._write(_OK)

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(port: int, delay: float) -> None:
    loop = asyncio.get_running_loop()
    stats = Stats()
    server = await loop.create_server(
        lambda: HttpProtocol(stats, delay), "127.0.0.1", port, backlog=1024, reuse_address=True
    )
    bound = server.sockets[0].getsockname()[1]
    print(f"PORT {bound}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def watch_stdin() -> None:  # the parent closed our stdin (or died): stop
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="answer this many ms late")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.port, args.delay_ms / 1000.0))


if __name__ == "__main__":
    main()
