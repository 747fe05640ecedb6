"""The conformance table, through the AWS CLI (v1, its driver run in this process; one test runs
the installed ``aws`` script)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore import xform_name

from personalize_tracker.testing._leaks import fake_aws_environment

from conformance_cases import CASES, Case
from conformance_endpoint import Endpoint, endpoint_fixture  # noqa: F401 (the fixture)

clidriver = pytest.importorskip("awscli.clidriver", reason="the AWS CLI (awscli) is not installed")

_ERROR = re.compile(r"An error occurred \((\w+)\)")


@pytest.fixture(scope="module")
def cli_environment(endpoint: Endpoint) -> Iterator[None]:
    """Fake credentials, one attempt per call, and no user configuration."""
    with fake_aws_environment(str(endpoint.url)):
        os.environ["AWS_MAX_ATTEMPTS"] = "1"
        os.environ["AWS_RETRY_MODE"] = "standard"
        yield


def arguments(case: Case, params: dict[str, Any], url: str) -> list[str]:
    return [
        case.service,
        xform_name(case.operation, "-"),
        "--cli-input-json",
        json.dumps(params),
        "--endpoint-url",
        url,
        "--region",
        "us-east-1",
        "--output",
        "json",
    ]


_DRIVERS: list[Any] = []


def run_cli(args: list[str]) -> tuple[int, str, str]:
    """Run the CLI's driver in this process (one driver for all calls, as building one costs
    ~0.4 s); return its exit status, stdout and stderr."""
    if not _DRIVERS:
        _DRIVERS.append(clidriver.create_clidriver())
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = _DRIVERS[0].main(args)
    return status, out.getvalue(), err.getvalue()


def code_of(status: int, stderr: str) -> str | None:
    if status == 0:
        return None
    found = _ERROR.search(stderr)
    assert found, stderr
    return found.group(1)


@pytest.mark.parametrize("case", [c for c in CASES if "awscli" in c.clients], ids=lambda c: c.name)
@pytest.mark.usefixtures("cli_environment")
def test_awscli(endpoint: Endpoint, case: Case) -> None:
    params = endpoint.prepare(case)
    status, _, stderr = run_cli(arguments(case, params, str(endpoint.url)))
    # The CLI shows the error code, not the HTTP status: the status is checked on the record.
    endpoint.check(case, params, None, code_of(status, stderr))


@pytest.mark.usefixtures("cli_environment")
def test_the_cli_unsigned_gets_the_auth_error(endpoint: Endpoint) -> None:
    endpoint.handle.reset()
    case = CASES[0]
    status, _, stderr = run_cli(
        [*arguments(case, case.params, str(endpoint.url)), "--no-sign-request"]
    )
    assert code_of(status, stderr) == "MissingAuthenticationTokenException"
    assert endpoint.handle.requests == []


@pytest.mark.slow
def test_the_installed_aws_script(endpoint: Endpoint, tmp_path: Path) -> None:
    aws = shutil.which("aws", path=str(Path(sys.executable).parent))
    if aws is None:
        pytest.skip("no 'aws' script next to this Python")
    endpoint.handle.reset()
    endpoint.handle.strict_resources = False
    case = CASES[1]
    with fake_aws_environment(str(endpoint.url)):
        env = dict(os.environ)
    result = subprocess.run(
        [aws, *arguments(case, case.params, str(endpoint.url))],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    (event,) = endpoint.handle.events
    assert (event.event_value, event.recommendation_id) == (4.5, "RID-1")
