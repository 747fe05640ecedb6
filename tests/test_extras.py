"""A missing optional extra says which extra to install and how, not a raw ModuleNotFoundError."""

from __future__ import annotations

import subprocess
import sys

import pytest

# (code run with `blocked` unimportable, the extra the message must name)
CASES = [
    ("import personalize_tracker.integrations.django", "django", "django"),
    ("import personalize_tracker.integrations.django", "asgiref", "django"),
    ("import personalize_tracker.integrations.flask", "flask", "flask"),
    ("import personalize_tracker.integrations.asgi", "starlette", "asgi"),
    (
        "from personalize_tracker.integrations import device_type; device_type()",
        "ua_parser",
        "flask",
    ),
    (
        "from personalize_tracker import ReplaySummary; "
        "ReplaySummary(0, 0, 0, 0, {}, 0, 0, (), 0, 0, 0, 0, 0, 0, 0.0, ()).plot()",
        "matplotlib",
        "notebook",
    ),
]


def run_without(module: str, code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter where ``module`` cannot be imported."""
    program = f"import sys; sys.modules[{module!r}] = None\n{code}"
    return subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(("code", "blocked", "extra"), CASES)
def test_a_missing_extra_names_the_extra_and_the_command(
    code: str, blocked: str, extra: str
) -> None:
    result = run_without(blocked, code)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: ")  # still an ImportError for callers
    assert f"needs the '{extra}' extra (no module named {blocked!r})" in last
    assert f"pip install '.[{extra}]'" in last
