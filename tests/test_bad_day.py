"""Promises on a bad day, in real processes: a server that accepts and never answers, Ctrl-C
(a real SIGINT) during close(), exits with calls on the wire, multiprocessing children that end
without close(), and sync mode's bounds (issue 12, items 1-5 and 9-11; items 6-8 are in
``test_hostile.py``). Everything talks to 127.0.0.1 only."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ENV = {
    **os.environ,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def hanging_server() -> Iterator[str]:
    """An HTTP endpoint on 127.0.0.1 that accepts connections and reads, but never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)  # kept open, never answered

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    listener.close()


def run_script(script: str, *args: str, timeout: float = 120) -> tuple[float, str]:
    """Run ``script`` in a new interpreter; return its wall time and stdout (it must succeed)."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return time.monotonic() - started, result.stdout


def letters(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_the_exit_flush_ends_by_exit_timeout_against_a_server_that_never_answers(
    hanging_server: str, tmp_path: Path
) -> None:
    dead = tmp_path / "dead.jsonl"
    elapsed, _ = run_script(
        """
        import sys
        from personalize_tracker import Tracker
        tracker = Tracker("t", endpoint_url=sys.argv[1], exit_timeout=2, flush_interval=3600,
                          dead_letter_path=sys.argv[2], on_failure=lambda failed: None)
        for n in range(10):
            tracker.track("click", "s-1", "u-1", f"i-{n}")
        """,
        hanging_server,
        str(dead),
    )
    # Before: 17-19 s (the exit flush's own call was bounded by botocore's 15 s read timeout).
    assert elapsed < 2 + 5, elapsed
    assert sorted(line["reason"] for line in letters(dead)) == ["closed"] * 10


@pytest.mark.slow
def test_events_on_the_wire_when_close_returns_are_accounted_for_at_exit(
    hanging_server: str, tmp_path: Path
) -> None:
    dead = tmp_path / "dead.jsonl"
    _, out = run_script(
        """
        import sys
        from personalize_tracker import Tracker
        tracker = Tracker("t", endpoint_url=sys.argv[1], exit_timeout=1, flush_interval=0.01,
                          dead_letter_path=sys.argv[2], on_failure=lambda failed: None)
        for n in range(200):
            tracker.track("click", f"s-{n % 20}", f"u-{n % 20}", f"i-{n}")
        tracker.close(timeout=0.5)
        print(tracker.stats().pending)
        """,
        hanging_server,
        str(dead),
    )
    assert int(out.split()[-1]) > 0  # close() returned with calls still on the wire
    # Before: 200 of 200 vanished (close() had forgotten the Tracker; the exit flush skipped it).
    assert len(letters(dead)) == 200


@pytest.mark.slow
def test_ctrl_c_during_close_leaves_a_tracker_a_second_close_finishes() -> None:
    _, out = run_script(
        """
        import os, signal, threading
        from personalize_tracker import Tracker
        from personalize_tracker.testing import serve_personalize_events

        with serve_personalize_events() as server:
            server.inject_fault("unavailable", times=40)  # close() is retrying when Ctrl-C comes
            tracker = Tracker("t", endpoint_url=server.endpoint_url, max_backoff=0.05,
                              flush_interval=3600, on_failure=lambda failed: None)
            for n in range(500):
                tracker.track("click", f"s-{n % 50}", f"u-{n % 50}", f"i-{n}")
            threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
            try:
                tracker.close()
            except KeyboardInterrupt:
                print("interrupted", tracker.stats().pending)
            tracker.close()  # before: returned at once, 460-470 of 500 left pending
            stats = tracker.stats()
            print(stats.delivered, stats.pending, stats.failed, len(server.events))
        """
    )
    lines = out.splitlines()
    assert lines[0].startswith("interrupted")
    assert lines[-1].split() == ["500", "0", "0", "500"]


@pytest.mark.slow
def test_sync_flush_and_the_lambda_recipe_end_by_their_timeout(hanging_server: str) -> None:
    _, out = run_script(
        """
        import sys, time
        from personalize_tracker import Tracker
        from personalize_tracker.serverless import flush_after

        tracker = Tracker("t", endpoint_url=sys.argv[1], sync=True, exit_timeout=0,
                          on_failure=lambda failed: None)

        @flush_after(tracker, timeout=1.0)
        def handler():
            for n in range(5):
                tracker.track("click", "s-1", "u-1", f"i-{n}")

        started = time.monotonic()
        handler()
        took = time.monotonic() - started
        started = time.monotonic()
        flushed = tracker.flush(timeout=1.0)
        print(round(took, 2), round(time.monotonic() - started, 2), flushed,
              tracker.stats().pending)
        """,
        hanging_server,
    )
    handler_took, flush_took, flushed, pending = out.split()
    # Before: the recipe took ~16 s, flush(timeout=2) ~10 s against a down endpoint.
    assert float(handler_took) < 1.0 + 1.5
    assert float(flush_took) < 1.0 + 1.5
    assert flushed == "False"
    assert pending == "5"  # not delivered by then: still pending, for the next flush


@pytest.mark.slow
@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_a_multiprocessing_child_that_ends_without_close_delivers_its_events(
    method: str, tmp_path: Path
) -> None:
    script = tmp_path / "children.py"
    script.write_text(
        textwrap.dedent(
            """
            import multiprocessing, sys
            from personalize_tracker import Tracker
            from personalize_tracker.testing import serve_personalize_events

            def child(url):
                tracker = Tracker("t", endpoint_url=url, flush_interval=3600)
                for n in range(5):
                    tracker.track("click", "s-1", "u-1", f"i-{n}")
                # no close(): multiprocessing ends the child with os._exit()

            if __name__ == "__main__":
                with serve_personalize_events() as server:
                    process = multiprocessing.get_context(sys.argv[1]).Process(
                        target=child, args=(server.endpoint_url,))
                    process.start()
                    process.join(60)
                    print(process.exitcode, len(server.events))
            """
        )
    )
    result = subprocess.run(
        [sys.executable, str(script), method],
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # Before (fork, forkserver): "0 0", the child's 5 events lost silently.
    assert result.stdout.split() == ["0", "5"]
