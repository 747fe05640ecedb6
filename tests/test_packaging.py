"""The package as PyPI would get it: sdist and wheel built offline, their contents, and the wheel
installed in a fresh virtual environment."""

from __future__ import annotations

import email
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("build")
pytest.importorskip("hatchling")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build`` of this checkout, offline (the build backend comes from .[dev])."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir", out],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out


def only(folder: Path, pattern: str) -> Path:
    [path] = folder.glob(pattern)
    return path


@pytest.mark.slow
def test_the_wheel_holds_every_module_the_marker_and_the_entry_points(dist: Path) -> None:
    with zipfile.ZipFile(only(dist, "*.whl")) as wheel:
        names = set(wheel.namelist())
        info = "personalize_tracker-0.1.0.dist-info"
        metadata = email.message_from_bytes(wheel.read(f"{info}/METADATA"))
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    sources = {
        path.relative_to(ROOT / "src").as_posix()
        for path in (ROOT / "src").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert sources <= names
    assert "personalize_tracker/py.typed" in names  # PEP 561: mypy reads our annotations
    assert not any("tests/" in n or n.endswith(".pyc") for n in names)
    assert "personalize-tracker = personalize_tracker.__main__:main" in entry_points
    assert "personalize_tracker = personalize_tracker.testing.pytest_plugin" in entry_points
    assert metadata["Name"] == "personalize-tracker"
    assert metadata["Requires-Python"] == ">=3.10"
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert "# personalize-tracker" in metadata.get_payload()  # the README, PyPI's project page
    extras = set(metadata.get_all("Provides-Extra") or [])
    assert {"testing", "cli", "notebook", "django", "flask", "asgi"} <= extras
    assert "Typing :: Typed" in (metadata.get_all("Classifier") or [])


@pytest.mark.slow
def test_the_sdist_can_run_its_own_tests(dist: Path) -> None:
    with tarfile.open(only(dist, "*.tar.gz")) as sdist:
        names = {name.partition("/")[2] for name in sdist.getnames()}
    for needed in (
        "pyproject.toml",
        "Makefile",
        "mkdocs.yml",
        "LICENSE",
        "README.md",
        "src/personalize_tracker/py.typed",
        "tests/conftest.py",
        "docs/getting-started.md",
        "examples/open_bandit/interactions_schema.json",
        "datasets/movielens-latest-small/ratings.csv",
        "datasets/movielens-latest-small/README.txt",  # the licence asks for it beside the data
    ):
        assert needed in names, needed
    assert not any("__pycache__" in n or n.startswith(".venv") for n in names)


@pytest.mark.slow
def test_the_wheel_installs_and_imports_in_a_fresh_venv(dist: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", only(dist, "*.whl")],
        check=True,
        capture_output=True,
        timeout=300,
    )
    # The dependencies (boto3...) come from this environment's site-packages, placed after the
    # fresh venv's own: PYTHONPATH does not run .pth files, so our editable install stays out.
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    code = (
        "import personalize_tracker, personalize_tracker.tracker as t; "
        "print(personalize_tracker.__file__); print(personalize_tracker.__version__); "
        "print(t.Tracker.__name__)"
    )
    result = subprocess.run(
        [python, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    where, version, name = result.stdout.split()
    assert Path(where).is_relative_to(venv)  # the wheel's copy, not this checkout
    assert (version, name) == ("0.1.0", "Tracker")
    command = subprocess.run(
        [venv / "bin" / "personalize-tracker", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert command.returncode == 0, command.stderr
    assert "replay" in command.stdout
