"""The documentation site: ``mkdocs build --strict`` passes (every page in the navigation, no
broken link or anchor, docstrings mkdocstrings can read), and the API reference documents every
public name."""

from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings")
pytest.importorskip("material")

ROOT = Path(__file__).resolve().parent.parent

#: The public modules and what the reference documents them under.
PUBLIC = [
    "personalize_tracker",
    "personalize_tracker.typing",
    "personalize_tracker.integrations",
    "personalize_tracker.integrations.django",
    "personalize_tracker.integrations.flask",
    "personalize_tracker.integrations.asgi",
    "personalize_tracker.testing",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr
    return out


def documented(site: Path) -> set[str]:
    """The objects of the site's inventory (``objects.inv``: 4 header lines, then zlib)."""
    raw = (site / "objects.inv").read_bytes()
    body = zlib.decompress(raw.split(b"\n", 4)[4]).decode()
    return {line.split(" ", 1)[0] for line in body.splitlines()}


def public_names() -> list[tuple[str, str, object]]:
    found = []
    for module_name in PUBLIC:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if name.startswith("__"):
                continue
            found.append((module_name, name, getattr(module, name)))
    return found


@pytest.mark.slow
def test_the_site_builds_strictly_and_documents_every_public_name(site: Path) -> None:
    inventory = documented(site)
    short = {entry.rsplit(".", 1)[-1] for entry in inventory}
    missing = [f"{m}.{n}" for m, n, _ in public_names() if n not in short]
    assert missing == []
    assert (site / "reference" / "index.html").is_file()
    for page in ("integrations/flask", "command-line", "getting-started"):
        assert (site / page / "index.html").is_file()


def test_every_public_class_and_function_has_a_docstring() -> None:
    # Type aliases (typing.PropertiesInput...) are documented by their "#:" comments.
    bare = [
        f"{m}.{n}"
        for m, n, obj in public_names()
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and not inspect.getdoc(obj)
    ]
    assert bare == []


def test_every_page_is_in_the_navigation() -> None:
    config = (ROOT / "mkdocs.yml").read_text()
    pages = sorted(p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md"))
    assert [p for p in pages if f": {p}" not in config] == []
