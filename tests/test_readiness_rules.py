"""The rule table in the code (``_rules.py``) and the one in ``docs/readiness.md`` agree."""

from __future__ import annotations

import re
from pathlib import Path

from personalize_tracker import _rules

DOC = Path(__file__).resolve().parents[1] / "docs" / "readiness.md"


def _rows(header: str) -> list[list[str]]:
    """The rows of the markdown table whose header line starts with ``header``."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_the_use_case_table_of_the_docs_is_the_codes() -> None:
    documented = {}
    for domain, title, recipe, needs, context in _rows("| domain | use case |"):
        match = re.fullmatch(r"(\d+) (?:`(\w+)` )?events", needs)
        assert match, needs
        documented[recipe.strip("`")] = (
            domain, title, match.group(2), int(match.group(1)), context == "yes"
        )  # fmt: skip
    in_code = {
        u.recipe: (u.domain, u.title, u.event_type, u.min_events, u.uses_context)
        for cases in _rules.DOMAINS.values()
        for u in cases.values()
    }
    assert documented == in_code


def test_the_quota_table_of_the_docs_is_the_codes() -> None:
    values = {rule: value for rule, value in _rows("| rule | value |")}
    assert values == {
        "minimum item interactions": str(_rules.MIN_INTERACTIONS),
        "minimum users with at least 2 interactions": str(_rules.MIN_USERS_WITH_TWO),
        "minimum share of users with at least 2 interactions": (
            f"{_rules.MIN_SHARE_USERS_WITH_TWO:.0%}"
        ),
        "maximum metadata columns in an Item interactions dataset": str(
            _rules.MAX_METADATA_COLUMNS
        ),
        "maximum event types and metadata columns together": str(
            _rules.MAX_EVENT_TYPES_AND_METADATA
        ),
    }


def test_the_recipe_lists_of_the_docs_are_the_codes() -> None:
    text = " ".join(DOC.read_text(encoding="utf-8").split())
    context = re.search(r"Custom recipes that use contextual metadata \(.*?\): (.*?)\.", text)
    assert context is not None
    assert set(re.findall(r"`([\w-]+)`", context.group(1))) == _rules.CONTEXT_RECIPES
    impressions = re.search(r"Models that use impressions .*?\.", text)
    assert impressions is not None
    assert set(re.findall(r"`(aws-[\w-]+)`", impressions.group(0))) == _rules.IMPRESSION_RECIPES


def test_every_source_the_code_cites_is_linked_from_the_docs() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert all(url in text for url in _rules.SOURCES.values())
