"""Will Personalize use my events? What a dataset group trains (a :class:`Target`), and whether
the interactions so far are enough for it (a :class:`Readiness` report).

The rules come from one table (``_rules``), each with the page of the Amazon Personalize
developer guide it comes from; ``docs/readiness.md`` renders it. ``Tracker(target=...)`` checks
each event at ``track()`` and ``Tracker.readiness()`` reports on what was delivered;
``check_interactions`` does the same for a bulk Interactions CSV file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import attrs

from . import _rules
from ._html import html_table

__all__ = ["Counts", "Readiness", "Target", "Verdict"]


class Counts(Protocol):
    """The interaction counts a readiness verdict is made of (the Tracker's tally of delivered
    events, or the counts of a bulk file)."""

    @property
    def interactions(self) -> int:
        """Item interactions (events with an item id)."""

    @property
    def users(self) -> int:
        """Distinct user ids."""

    @property
    def users_with_two(self) -> int:
        """Users with two or more interactions."""

    @property
    def event_types(self) -> Mapping[str | None, int]:
        """Interactions per event type (``None``: types not counted apart)."""

    @property
    def impressions(self) -> int:
        """Interactions carrying impressions (explicit or implicit)."""

    @property
    def items(self) -> int:
        """Distinct item ids."""

    @property
    def capped(self) -> bool:
        """Whether users and items are lower bounds (a memory cap was reached)."""


def _names(values: Iterable[str] | str | None) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    return tuple(dict.fromkeys(_rules.recipe_name(v) for v in values))


@attrs.frozen
class Target:
    """What the events train: a domain dataset group's use cases, custom recipes, or both.

    Build one with :meth:`domain`, :meth:`recipe` or :meth:`from_dataset_group`.

    Attributes:
        domain_name: ``"ECOMMERCE"``, ``"VIDEO_ON_DEMAND"``, or ``None`` (a Custom dataset
            group).
        use_cases: the domain use cases, by recipe name as in their recipe ARNs
            (``aws-ecomm-popular-items-by-views``).
        recipes: custom recipes of solutions (``aws-user-personalization-v2``).
    """

    domain_name: str | None = None
    use_cases: tuple[str, ...] = ()
    recipes: tuple[str, ...] = ()

    @classmethod
    def domain(cls, name: str, use_cases: Iterable[str] | None = None) -> Target:
        """A domain dataset group and its use cases.

        Args:
            name: ``"ECOMMERCE"`` or ``"VIDEO_ON_DEMAND"``.
            use_cases: recipe names (or ARNs) of its use cases; default all of the domain's.

        Raises:
            ValueError: an unknown domain, or a use case that is not one of the domain's (the
                message lists them; source: the domain's use-case page).
        """
        if name not in _rules.DOMAINS:
            raise ValueError(f"domain: {name!r} is not one of {sorted(_rules.DOMAINS)}")
        known = _rules.DOMAINS[name]
        chosen = _names(use_cases) if use_cases is not None else tuple(known)
        for use_case in chosen:
            if use_case not in known:
                raise ValueError(
                    f"use_cases: {use_case!r} is not a {name} use case; those are "
                    f"{', '.join(known)} (source: {_rules.SOURCES[name]})"
                )
        if not chosen:
            raise ValueError("use_cases: empty; name at least one (or pass None for all)")
        return cls(name, chosen, ())

    @classmethod
    def recipe(cls, *names: str) -> Target:
        """Custom solutions trained with these recipes, e.g. ``"aws-user-personalization-v2"``
        (names or recipe ARNs).

        Raises:
            ValueError: no name, a name that is not a recipe, or a domain use case (use
                :meth:`domain` for those).
        """
        chosen = _names(names)
        if not chosen:
            raise ValueError("recipe: name at least one recipe")
        for name in chosen:
            if any(name in cases for cases in _rules.DOMAINS.values()):
                raise ValueError(f"recipe: {name!r} is a domain use case: use Target.domain")
        return cls(None, (), chosen)

    @classmethod
    def from_dataset_group(cls, dataset_group_arn: str, *, client: Any = None) -> Target:
        """Read the target from the service: DescribeDatasetGroup's ``domain``, the recipes of
        the dataset group's recommenders (ListRecommenders) and solutions (ListSolutions).

        Args:
            dataset_group_arn: the dataset group's ARN.
            client: a boto3 ``personalize`` client (default: a new one from the default
                session).

        Raises:
            ValueError: the dataset group has neither a recommender nor a solution.
            botocore.exceptions.ClientError: a call failed (e.g. ``ResourceNotFoundException``).
        """
        if client is None:
            import boto3

            client = boto3.client("personalize")
        group = client.describe_dataset_group(datasetGroupArn=dataset_group_arn)["datasetGroup"]
        domain = group.get("domain")
        use_cases: list[str] = []
        for page in client.get_paginator("list_recommenders").paginate(
            datasetGroupArn=dataset_group_arn
        ):
            use_cases += [r["recipeArn"] for r in page.get("recommenders", [])]
        recipes: list[str] = []
        for page in client.get_paginator("list_solutions").paginate(
            datasetGroupArn=dataset_group_arn
        ):
            recipes += [s["recipeArn"] for s in page.get("solutions", []) if s.get("recipeArn")]
        if not use_cases and not recipes:
            raise ValueError(
                f"{dataset_group_arn}: no recommender and no solution: nothing to check "
                "against (use Target.domain or Target.recipe)"
            )
        return cls(domain, _names(use_cases), _names(recipes))

    # -- what the checks at track() read (typing.TargetRules) -------------------------------

    @property
    def name(self) -> str:
        """The target in words: ``"ECOMMERCE (aws-ecomm-popular-items-by-views)"``."""
        models = ", ".join((*self.use_cases, *self.recipes))
        return f"{self.domain_name} ({models})" if self.domain_name else models

    def _cases(self) -> list[_rules.UseCase]:
        cases = _rules.DOMAINS.get(self.domain_name or "", {})
        return [cases[u] for u in self.use_cases if u in cases]

    @property
    def required_event_types(self) -> Mapping[str, str]:
        """Event types the use cases need, spelled exactly, to the source key of their page."""
        return {c.event_type: c.domain for c in self._cases() if c.event_type is not None}

    @property
    def uses_context(self) -> bool:
        """Whether a model uses contextual metadata (source: contextual-metadata page)."""
        return any(c.uses_context for c in self._cases()) or any(
            r in _rules.CONTEXT_RECIPES for r in self.recipes
        )

    @property
    def uses_impressions(self) -> bool:
        """Whether a model is documented to use impressions: a domain dataset group's use
        cases, or the User-Personalization recipe (source: the impressions page)."""
        return bool(self.domain_name) or any(r in _rules.IMPRESSION_RECIPES for r in self.recipes)

    # -- verdicts ---------------------------------------------------------------------------

    def evaluate(self, counts: Counts, warnings: Mapping[str, int] | None = None) -> Readiness:
        """Check ``counts`` against each use case and recipe of the target.

        Args:
            counts: interactions counted so far (see :class:`Counts`).
            warnings: findings of the checks at ``track()`` per kind, to carry in the report.

        Returns:
            A frozen :class:`Readiness` report.
        """
        common = _common_missing(counts)
        verdicts = []
        for case in self._cases():
            missing = list(common)
            if case.event_type is not None:
                have = counts.event_types.get(case.event_type, 0)
                if have < case.min_events:
                    missing.insert(0, _more_events(case, have, counts))
            verdicts.append(Verdict(case.recipe, case.title, not missing, tuple(missing)))
        for recipe in self.recipes:
            verdicts.append(Verdict(recipe, "custom recipe", not common, tuple(common)))
        return Readiness(self, counts, tuple(verdicts), dict(warnings or {}))


def _more_events(case: _rules.UseCase, have: int, counts: Counts) -> str:
    """``"312 more `Purchase` events"``, naming near misses that do not count (``purchase``)."""
    text = f"{case.min_events - have} more `{case.event_type}` events"
    wanted = _rules.spelling_key(case.event_type or "")
    near = sorted(
        f"{n} `{kind}`"
        for kind, n in counts.event_types.items()
        if kind is not None and kind != case.event_type and _rules.spelling_key(kind) == wanted
    )
    return f"{text} (not counted, spelled otherwise: {', '.join(near)})" if near else text


def _common_missing(counts: Counts) -> list[str]:
    """What every domain use case and custom solution needs (source: the quotas page)."""
    missing = []
    if counts.interactions < _rules.MIN_INTERACTIONS:
        missing.append(f"{_rules.MIN_INTERACTIONS - counts.interactions} more interactions")
    if counts.users_with_two < _rules.MIN_USERS_WITH_TWO:
        more = _rules.MIN_USERS_WITH_TWO - counts.users_with_two
        missing.append(f"{more} more users with two or more interactions")
    if counts.users and counts.users_with_two < _rules.MIN_SHARE_USERS_WITH_TWO * counts.users:
        missing.append(
            f"{_share(counts):.1%} of users have two or more interactions; "
            f"{_rules.MIN_SHARE_USERS_WITH_TWO:.0%} must"
        )
    return missing


def _share(counts: Counts) -> float:
    return counts.users_with_two / counts.users if counts.users else 0.0


@attrs.frozen
class Verdict:
    """One use case's or recipe's verdict.

    Attributes:
        recipe: its recipe name (``aws-vod-most-popular``).
        title: the use case's name ("Most popular"), or ``"custom recipe"``.
        ready: whether the interactions meet every documented minimum.
        missing: what is missing, in words (``"312 more `Purchase` events"``).
    """

    recipe: str
    title: str
    ready: bool
    missing: tuple[str, ...] = ()


@attrs.frozen
class Readiness:
    """Whether the interactions so far are enough for each of a target's models.

    Attributes:
        target: the :class:`Target` checked against.
        counts: the interaction counts (see :class:`Counts`).
        verdicts: one :class:`Verdict` per use case or recipe.
        warnings: findings of the checks at ``track()`` per kind (``contextual_metadata``,
            ``impression``, ``event_type_spelling``, ``metadata_columns``,
            ``event_types_and_metadata``, ``duplicate_event``).

    Renders as text (``str()``), HTML in notebooks and JSON (:meth:`to_json`).
    """

    target: Target
    counts: Counts
    verdicts: tuple[Verdict, ...]
    warnings: Mapping[str, int] = attrs.field(factory=dict)

    @property
    def ready(self) -> bool:
        """Whether every use case and recipe of the target is ready."""
        return all(v.ready for v in self.verdicts)

    def _rows(self) -> list[tuple[str, str]]:
        c = self.counts
        bound = "≥ " if c.capped else ""
        types = ", ".join(
            f"{k if k is not None else '(others)'} {v}"
            for k, v in sorted(c.event_types.items(), key=lambda kv: -kv[1])
        )
        return [
            ("interactions", str(c.interactions)),
            ("users", f"{bound}{c.users}"),
            ("users with ≥ 2", f"{bound}{c.users_with_two} ({_share(c):.1%})"),
            ("events per type", types or "none"),
            ("with impressions", str(c.impressions)),
            ("distinct items", f"{bound}{c.items}"),
        ]

    def __str__(self) -> str:
        lines = [f"Readiness for {self.target.name}: {'ready' if self.ready else 'not ready'}"]
        lines += [f"  {label}: {value}" for label, value in self._rows()]
        for v in self.verdicts:
            state = "ready" if v.ready else "not ready: " + "; ".join(v.missing)
            lines.append(f"  {v.recipe} ({v.title}): {state}")
        found = {k: n for k, n in self.warnings.items() if n}
        if found:
            lines.append("  warnings: " + ", ".join(f"{k} {n}" for k, n in found.items()))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = self._rows() + [
            (f"{v.recipe} ({v.title})", "ready" if v.ready else "; ".join(v.missing))
            for v in self.verdicts
        ]
        rows += [(f"warnings: {k}", str(n)) for k, n in self.warnings.items() if n]
        return html_table(rows, caption=f"Readiness for {self.target.name}", ok=self.ready)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        c = self.counts
        return {
            "target": attrs.asdict(self.target),
            "ready": self.ready,
            "interactions": c.interactions,
            "users": c.users,
            "users_with_two": c.users_with_two,
            "event_types": {
                k if k is not None else "(others)": v for k, v in c.event_types.items()
            },
            "impressions": c.impressions,
            "items": c.items,
            "capped": c.capped,
            "verdicts": [attrs.asdict(v) for v in self.verdicts],
            "warnings": dict(self.warnings),
        }

    def to_json(self) -> str:
        """The report as a JSON object string (see :meth:`to_dict`)."""
        return json.dumps(self.to_dict(), ensure_ascii=False)
