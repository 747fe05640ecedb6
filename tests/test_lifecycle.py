"""Process lifecycle: the flush at interpreter exit (in a subprocess) and a real os.fork()."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from personalize_tracker import Tracker

# A client that appends each PutEvents call to a file, as JSON lines {"pid", "ids"}; it lets a
# test see what a subprocess or a forked child sent after that process is gone.
FILE_CLIENT = textwrap.dedent(
    """
    import json, os, threading
    from botocore.exceptions import ClientError

    class FileClient:
        def __init__(self, path, throttle=False):
            self.path, self.throttle, self.lock = path, throttle, threading.Lock()

        def put_events(self, **params):
            if self.throttle:
                raise ClientError(
                    {"Error": {"Code": "ThrottlingException", "Message": "slow down"},
                     "ResponseMetadata": {"HTTPStatusCode": 400}}, "PutEvents")
            line = json.dumps({"pid": os.getpid(), "session": params["sessionId"],
                               "ids": [e["eventId"] for e in params["eventList"]]})
            with self.lock, open(self.path, "a") as f:
                f.write(line + "\\n")
            return {}
    """
)


def read_calls(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def run_script(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "script.py"
    script.write_text(FILE_CLIENT + textwrap.dedent(body))
    return subprocess.run(
        [sys.executable, str(script), str(tmp_path / "calls.jsonl")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize("sync", [False, True])
def test_pending_events_are_delivered_at_exit(tmp_path: Path, sync: bool) -> None:
    result = run_script(
        tmp_path,
        f"""
        import sys
        from personalize_tracker import Tracker
        tracker = Tracker("t", client=FileClient(sys.argv[1]), flush_interval=3600, sync={sync})
        ids = [tracker.track("click", f"s-{{n % 3}}", "u", f"i-{{n}}").event_id for n in range(25)]
        print(" ".join(ids))
        # no close(), no flush(): the interpreter exits with events pending
        """,
    )
    assert result.returncode == 0, result.stderr
    tracked = result.stdout.split()
    calls = read_calls(tmp_path / "calls.jsonl")
    sent = [i for call in calls for i in call["ids"]]  # type: ignore[attr-defined]
    assert sorted(sent) == sorted(tracked)
    assert len(tracked) == 25


@pytest.mark.slow
def test_exit_flush_is_bounded_and_reports_what_it_could_not_send(tmp_path: Path) -> None:
    result = run_script(
        tmp_path,
        """
        import sys
        from personalize_tracker import Tracker

        def on_failure(failed):
            for f in failed:
                print("FAILED", f.event.event_id, f.reason.value, flush=True)

        tracker = Tracker("t", client=FileClient(sys.argv[1], throttle=True), flush_interval=3600,
                          max_backoff=3600, retry_deadline=3600, max_attempts=1000,
                          exit_timeout=0.5, on_failure=on_failure)
        print("TRACKED", tracker.track("click", "s-1").event_id, flush=True)
        """,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    tracked = lines[0].split()[1]
    assert f"FAILED {tracked} closed" in lines


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork() in a threaded process
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_child_sends_only_its_own_events(tmp_path: Path) -> None:
    namespace: dict[str, object] = {}
    exec(FILE_CLIENT, namespace)
    path = tmp_path / "calls.jsonl"
    client = namespace["FileClient"](str(path))  # type: ignore[operator]
    tracker = Tracker("t", client=client, flush_interval=3600)
    tracker.track("warmup", "s-0")
    assert tracker.flush(timeout=10)  # the sender threads are running in the parent
    parent_ids = [tracker.track("click", "s-parent").event_id for _ in range(3)]

    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            child_ids = [tracker.track("click", "s-child").event_id for _ in range(2)]
            ok = tracker.flush(timeout=10)
            stats = tracker.stats()
            with open(tmp_path / "child.json", "w") as f:
                json.dump({"ids": child_ids, "ok": ok, "tracked": stats.tracked}, f)
            code = 0
        finally:
            os._exit(code)

    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    child = json.loads((tmp_path / "child.json").read_text())
    assert child["ok"] is True
    assert child["tracked"] == 2  # the child's counters start empty
    assert tracker.flush(timeout=10)
    tracker.close()

    calls = read_calls(path)
    by_pid: dict[int, list[str]] = {}
    for call in calls:
        by_pid.setdefault(call["pid"], []).extend(call["ids"])  # type: ignore[arg-type]
    assert sorted(by_pid[pid]) == sorted(child["ids"])
    parent_sent = by_pid[os.getpid()]
    assert set(parent_ids) <= set(parent_sent)
    assert not set(parent_ids) & set(by_pid[pid])
    # event ids never collide across the fork
    assert not set(child["ids"]) & set(parent_sent)
