"""The conformance table, through the AWS SDK for JavaScript v3 (Node.js, ``js/runner.mjs``).

Skipped, with the reason, where Node.js or the packages (``npm ci`` in ``tests/conformance/js``,
which ``.ci/run`` does) are missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance_cases import CASES, Case
from conformance_endpoint import Endpoint, endpoint_fixture  # noqa: F401 (the fixture)

JS = Path(__file__).parent / "js"
PACKAGES = ("client-personalize-events", "client-personalize-runtime")


class Runner:
    """One Node.js process sending the cases it is given, one at a time."""

    def __init__(self, node: str) -> None:
        self.process = subprocess.Popen(
            [node, str(JS / "runner.mjs")],
            cwd=JS,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def send(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, f"the Node.js runner stopped (exit status {self.process.poll()})"
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()


@pytest.fixture(scope="module")
def runner() -> Iterator[Runner]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the JavaScript SDK cases need it")
    missing = [p for p in PACKAGES if not (JS / "node_modules" / "@aws-sdk" / p).is_dir()]
    if missing:
        pytest.skip(f"@aws-sdk/{missing[0]} is not installed: run 'npm ci' in {JS}")
    started = Runner(node)
    yield started
    started.close()


@pytest.mark.parametrize("case", [c for c in CASES if "js" in c.clients], ids=lambda c: c.name)
def test_javascript_sdk(endpoint: Endpoint, runner: Runner, case: Case) -> None:
    params = endpoint.prepare(case)
    answer = runner.send(
        {
            "service": case.service,
            "operation": case.operation,
            "params": params,
            "endpoint": str(endpoint.url),
        }
    )
    endpoint.check(case, params, answer["status"], answer["code"])


def test_javascript_sdk_unsigned_gets_the_auth_error(endpoint: Endpoint, runner: Runner) -> None:
    endpoint.handle.reset()
    case = CASES[0]
    answer = runner.send(
        {
            "service": case.service,
            "operation": case.operation,
            "params": case.params,
            "endpoint": str(endpoint.url),
            "signed": False,
        }
    )
    assert answer == {"status": 403, "code": "MissingAuthenticationTokenException"}
    assert endpoint.handle.requests == []
