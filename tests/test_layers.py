"""The layout's rules (docs/architecture.md), checked on the source: import directions between
the layers, no import cycle (``TYPE_CHECKING`` imports included), and the size of every module,
class and function.

Each rule is a function of the parsed source, so the tests at the end also check that a rule
fails when it is broken (on a small made-up package), not only that today's code passes.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

PACKAGE = "personalize_tracker"
SOURCE = Path(__file__).resolve().parents[1] / "src" / PACKAGE

#: Modules that import nothing of ours; anyone may import them.
LEAVES = frozenset(
    {"_config", "_errors", "_failure", "_html", "_lifecycle", "_limits", "_rules", "typing"}
)
#: The three siblings of the record's path: none imports another.
SIBLINGS = ("_intake", "_delivery", "_outcomes")
#: The composition root: the only module that imports all three siblings.
ROOT = "_pipeline"
#: Public modules: what edges may import (besides leaves and other edges).
PUBLIC = frozenset(
    {
        "",
        "tracker",
        "session",
        "readiness",
        "recommendations",
        "schema",
        "serverless",
        "typing",
        "kinesis",
    }
)
#: The facade: the only modules that import the composition root.
FACADE = frozenset({"", "tracker", "_kinds", "kinesis"})
#: Edges: the command line, tools, integrations and the testing endpoint.
EDGES = ("cli", "_tools", "integrations", "testing", "__main__")

MAX_MODULE_LINES = 500
MAX_CLASS_LINES = 400
MAX_FUNCTION_LINES = 90


def module_name(path: Path, root: Path) -> str:
    """``a/b/c.py`` → ``"a.b.c"``; ``a/__init__.py`` → ``"a"``; the package's own ``""``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path) -> dict[str, Path]:
    return {module_name(path, root): path for path in sorted(root.rglob("*.py"))}


def _resolve(name: str, level: int, current: str, is_package: bool) -> str | None:
    """The package-relative name of an import, or None when it is not one of ours."""
    if level == 0:
        if name == PACKAGE:
            return ""
        if name.startswith(PACKAGE + "."):
            return name[len(PACKAGE) + 1 :]
        return None
    base = current.split(".") if current else []
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, *([name] if name else [])])


def imports(source: str, current: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules of ours that ``source`` imports, anywhere in it (functions and
    ``TYPE_CHECKING`` blocks included). ``from . import x`` counts as importing ``x`` when ``x``
    is a module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _resolve(alias.name, 0, current, is_package)
                if target is not None:
                    found.add(target)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node.module or "", node.level, current, is_package)
            if target is None:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}" if target else alias.name
                found.add(sub if sub in known else target)
    found.discard(current)
    return found


def graph(root: Path) -> dict[str, set[str]]:
    found = modules(root)
    known = set(found)
    return {
        name: imports(path.read_text(), name, path.name == "__init__.py", known)
        for name, path in found.items()
    }


def _top(name: str) -> str:
    return name.split(".")[0]


def _is_edge(name: str) -> bool:
    return _top(name) in EDGES


def _is_leaf(name: str) -> bool:
    return name in LEAVES


def violations(edges: Mapping[str, set[str]]) -> list[str]:
    """Every import that breaks a layer rule, as ``"a imports b: why"``."""
    problems = []
    for module, targets in sorted(edges.items()):
        top = _top(module)
        for target in sorted(targets):
            target_top = _top(target)
            why = None
            if _is_leaf(module):
                why = "a leaf imports nothing of ours"
            elif top == "_record" and not (_is_leaf(target) or target_top == "_record"):
                why = "_record imports only leaves"
            elif top in SIBLINGS and not (_is_leaf(target) or target_top in ("_record", top)):
                why = f"{top} imports only leaves, _record and itself"
            elif target_top in SIBLINGS and top not in (*SIBLINGS, ROOT):
                why = f"only the composition root ({ROOT}) imports {target_top}"
            elif (
                target_top == ROOT and top != ROOT and module not in FACADE and not _is_edge(module)
            ):
                why = f"only the facade ({', '.join(sorted(FACADE - {''}))}) imports {ROOT}"
            elif _is_edge(module) and not (
                _is_leaf(target) or target in PUBLIC or _is_edge(target)
            ):
                why = "edges import only public modules, leaves and other edges"
            elif not _is_edge(module) and _is_edge(target):
                why = "only edges import edges"
            if why:
                problems.append(f"{module or PACKAGE} imports {target or PACKAGE}: {why}")
    return problems


def cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """The import cycles (one path each), found by depth-first search."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def oversized(source: str, where: str) -> Iterator[str]:
    """Modules, classes and functions over their size (docstrings and decorators included)."""
    lines = source.count("\n")
    if lines > MAX_MODULE_LINES:
        yield f"{where}: module of {lines} lines (max {MAX_MODULE_LINES})"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            size = (node.end_lineno or node.lineno) - first + 1
            limit = MAX_CLASS_LINES if isinstance(node, ast.ClassDef) else MAX_FUNCTION_LINES
            if size > limit:
                kind = "class" if isinstance(node, ast.ClassDef) else "function"
                yield f"{where}: {kind} {node.name} of {size} lines (max {limit})"


# ---------------------------------------------------------------------------------------------
# the package


def test_layers_import_downward_only() -> None:
    assert violations(graph(SOURCE)) == []


def test_no_import_cycle() -> None:
    assert cycles(graph(SOURCE)) == []


def test_no_module_class_or_function_over_its_size() -> None:
    found = [
        problem
        for name, path in modules(SOURCE).items()
        for problem in oversized(path.read_text(), name or PACKAGE)
    ]
    assert found == []


def test_the_layers_named_here_exist() -> None:
    names = set(modules(SOURCE))
    for package in (*SIBLINGS, "_record"):
        assert package in names, f"{package}/ is missing"
    assert ROOT in names
    assert {name for name in LEAVES | PUBLIC | FACADE if name not in names} == set()


# ---------------------------------------------------------------------------------------------
# the rules themselves fail when broken


def _fake(tmp_path: Path, files: Mapping[str, str]) -> Path:
    root = tmp_path / PACKAGE
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"_errors.py": "from . import tracker\n", "tracker.py": ""}, "a leaf imports"),
        (
            {"_record/__init__.py": "from .._intake import x\n", "_intake/__init__.py": ""},
            "_record imports only leaves",
        ),
        (
            {"_intake/a.py": "from .._delivery import b\n", "_delivery/__init__.py": ""},
            "_intake imports only leaves, _record and itself",
        ),
        (
            {"tracker.py": "from ._outcomes import ledger\n", "_outcomes/ledger.py": ""},
            "only the composition root",
        ),
        (
            {"cli/__init__.py": "from .._pipeline import P\n", "_pipeline.py": ""},
            "edges import only public modules",
        ),
        (
            {"session.py": "from ._pipeline import Pipeline\n", "_pipeline.py": ""},
            "only the facade (_kinds, kinesis, tracker) imports _pipeline",
        ),
        (
            {"tracker.py": "from ._tools import demo\n", "_tools/demo.py": ""},
            "only edges import edges",
        ),
        (
            {
                "session.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                "    from personalize_tracker._delivery import pool\n",
                "_delivery/pool.py": "",
            },
            "only the composition root",
        ),
    ],
)
def test_a_broken_layer_rule_is_reported(
    tmp_path: Path, files: Mapping[str, str], expected: str
) -> None:
    problems = violations(graph(_fake(tmp_path, files)))
    assert any(expected in problem for problem in problems), problems


def test_allowed_imports_are_not_reported(tmp_path: Path) -> None:
    root = _fake(
        tmp_path,
        {
            "_errors.py": "",
            "_record/event.py": "from .._errors import E\n",
            "_intake/inbox.py": "from .._record.event import Event\nfrom . import buffer\n",
            "_intake/buffer.py": "",
            "_pipeline.py": "from ._intake import inbox\nfrom ._outcomes import x\n",
            "_outcomes/x.py": "",
            "tracker.py": "from ._pipeline import Pipeline\n",
            "cli/__init__.py": "from personalize_tracker import tracker\nfrom .. import _errors\n"
            "from .._tools import demo\n",
            "_tools/demo.py": "from ..tracker import Tracker\n",
        },
    )
    assert violations(graph(root)) == []


def test_a_cycle_is_found_also_through_type_checking_imports(tmp_path: Path) -> None:
    root = _fake(
        tmp_path,
        {
            "tracker.py": "from .session import S\n",
            "session.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from .tracker import Tracker\n",
        },
    )
    assert cycles(graph(root)) == [["session", "tracker", "session"]]


def test_sizes_over_the_limits_are_reported() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    source = f"def long():\n{body}\n"
    assert list(oversized(source, "m")) == [
        f"m: function long of {MAX_FUNCTION_LINES + 1} lines (max {MAX_FUNCTION_LINES})"
    ]
    assert list(oversized("x = 1\n" * (MAX_MODULE_LINES + 1), "m")) == [
        f"m: module of {MAX_MODULE_LINES + 1} lines (max {MAX_MODULE_LINES})"
    ]
