"""Shared pieces: statistics, the loopback-only network guard, the server process, workers."""

from __future__ import annotations

import http.client
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATASET = ROOT / "datasets" / "movielens-latest-small" / "ratings.csv"
LOOPBACK = "127.0.0.1"
# Dummy credentials: nothing here ever talks to AWS.
DUMMY_CREDENTIALS = {
    "aws_access_key_id": "bench",
    "aws_secret_access_key": "bench",
    "region_name": "us-east-1",
}
TRACKING_ID = "bench-tracking-id"
RESULT_PREFIX = "BENCH-RESULT "


# ---------------------------------------------------------------------------------------------
# statistics


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; values need not be sorted."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    pos = (len(ordered) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def spread(values: Sequence[float]) -> list[float]:
    """[min, max] of repeated measurements: how far the runs of one figure disagreed."""
    return [min(values), max(values)] if values else [math.nan, math.nan]


# ---------------------------------------------------------------------------------------------
# network guard: every benchmark process may reach 127.0.0.1 only

_blocked: list[str] = []
_connects = 0


def _is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("latin-1")
    if host is None:
        return True  # getaddrinfo(None, port): a local wildcard
    if not isinstance(host, str):
        return False
    return host in ("localhost", "::1") or host.startswith("127.")


def _audit(event: str, args: tuple[Any, ...]) -> None:
    global _connects
    if event == "socket.getaddrinfo":
        if not _is_loopback(args[0]):
            _blocked.append(f"getaddrinfo {args[0]!r}")
            raise ConnectionRefusedError(f"benchmark network guard: {args[0]!r} is not loopback")
    elif event == "socket.connect":
        address = args[1]
        if isinstance(address, tuple):  # AF_INET / AF_INET6; AF_UNIX addresses are paths
            _connects += 1
            if not _is_loopback(address[0]):
                _blocked.append(f"connect {address!r}")
                raise ConnectionRefusedError(
                    f"benchmark network guard: {address!r} is not loopback"
                )


def install_network_guard() -> None:
    """Refuse (and record) any DNS lookup or connection to a host other than loopback."""
    sys.addaudithook(_audit)


def network_report() -> dict[str, Any]:
    return {"connects": _connects, "blocked": list(_blocked)}


def child_env() -> dict[str, str]:
    """The environment of benchmark processes: no proxies, no AWS or PostHog configuration."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.lower().endswith("_proxy")
        and not k.startswith(("AWS_", "POSTHOG_"))
        and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        PYTHONHASHSEED="0",
        # Bytecode caches outside the tree, so imports are timed as users see them (cached).
        PYTHONPYCACHEPREFIX=str(Path(tempfile.gettempdir()) / "personalize-tracker-bench-pycache"),
    )
    return env


# ---------------------------------------------------------------------------------------------
# the loopback server, in its own process


def cpu_split() -> tuple[int, int] | None:
    """(client CPU, server CPU) to pin the timed process and the server to, or None where the
    process cannot be pinned (not Linux, or a single CPU).

    The caller-cost and latency sections pin, every library alike: on the reference VM the
    threads of the timed process (the caller and the library's background sender) otherwise
    move between the two vCPUs, and the GIL handed across CPUs made per-call timings bimodal
    (rounds of ~2.5 us and of ~4.3 us for the same call).
    """
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    return (cpus[0], cpus[-1]) if len(cpus) >= 2 else None


def pin(pid: int, cpu: int | None) -> None:
    """Pin process ``pid`` (0: this one) to ``cpu``; None: leave it be."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(pid, {cpu})


class ServerProcess:
    """``benchmarks.server`` in a child process; ``url`` is its address, ``stats()`` its counts.
    ``cpu``: pin the server to that CPU (see :func:`cpu_split`)."""

    def __init__(self, delay_ms: float = 0.0, cpu: int | None = None) -> None:
        self.delay_ms = delay_ms
        self.cpu = cpu
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def __enter__(self) -> ServerProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.server", "--delay-ms", str(self.delay_ms)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=child_env(),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"benchmark server did not start: {line!r}")
        self.port = int(line.split()[1])
        pin(self.proc.pid, self.cpu)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()  # the server exits when its stdin closes
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def _call(self, method: str, path: str) -> dict[str, Any]:
        conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=10)
        try:
            conn.request(method, path)
            result: dict[str, Any] = json.loads(conn.getresponse().read())
            return result
        finally:
            conn.close()

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/__stats")

    def reset(self) -> None:
        self._call("POST", "/__reset")


# ---------------------------------------------------------------------------------------------
# workers: each measurement runs in a fresh interpreter


def run_worker(name: str, params: dict[str, Any], timeout: float = 600) -> dict[str, Any]:
    """Run ``benchmarks.run --worker name`` in a fresh process; return the dict it reports."""
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--worker", name, "--params", json.dumps(params)],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    raise RuntimeError(
        f"worker {name} failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n"
        f"{proc.stderr[-5000:]}"
    )


def report(result: dict[str, Any]) -> None:
    """Print a worker's result (with the network guard's record) and leave at once.

    ``os._exit`` skips the libraries' exit hooks: a worker never waits on a flush it did not ask
    for, and background threads cannot skew the next measurement.
    """
    result["network"] = network_report()
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def cpu_ns() -> int:
    """CPU time of the whole process (every thread), in ns."""
    return time.process_time_ns()


# ---------------------------------------------------------------------------------------------
# the machine


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def load_average() -> list[float] | None:
    """The 1, 5 and 15-minute load averages: above the core count, something else competed."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine_info() -> dict[str, Any]:
    mem_total = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_total = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    status = _git("status", "--porcelain", "--untracked-files=no", "--", "src")
    return {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory": mem_total,
        "load_average_at_end": load_average(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "git_commit": _git("rev-parse", "HEAD"),
        "src_modified": bool(status) if status is not None else None,
        "libraries": {
            dist: _version(dist)
            for dist in (
                "personalize-tracker",
                "boto3",
                "botocore",
                "tenacity",
                "attrs",
                "segment-analytics-python",
                "posthog",
                "requests",
                "urllib3",
            )
        },
    }
