"""A check before a bulk import: :func:`check_interactions` reads an Interactions CSV (or a
DataFrame) as a dataset import job would, and says what it would reject (with lines) and
whether the data is enough for a :class:`~personalize_tracker.readiness.Target` (the same
verdict as ``Tracker.readiness()``). ``personalize-tracker check FILE`` prints it.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from ...readiness import Readiness, Target
from ...schema import InteractionsSchema
from .scan import Problem, Scan, scan_csv

__all__ = ["FileCounts", "InteractionsCheck", "Problem", "check_interactions"]


@attrs.frozen
class FileCounts:
    """The interaction counts of a file (a :class:`~personalize_tracker.readiness.Counts`).

    Attributes:
        interactions: rows with an item id.
        users: distinct user ids.
        users_with_two: users with two or more rows.
        event_types: rows per EVENT_TYPE (``None``: the file has no EVENT_TYPE column).
        impressions: rows with IMPRESSION or RECOMMENDATION_ID.
        items: distinct item ids.
        capped: always False (a file's counts are exact).
    """

    interactions: int = 0
    users: int = 0
    users_with_two: int = 0
    event_types: Mapping[str | None, int] = attrs.field(factory=dict)
    impressions: int = 0
    items: int = 0
    capped: bool = False


@attrs.frozen
class InteractionsCheck:
    """What :func:`check_interactions` found.

    Attributes:
        source: the file checked (or ``"<DataFrame>"``).
        rows: data rows read with the header's number of fields.
        problems: the first problems (:class:`Problem`: line, column, what, source).
        problem_count: every problem found (``problems`` keeps the first ``max_problems``).
        counts: the interaction counts (:class:`FileCounts`).
        readiness: the verdict for the target, or ``None`` without one.
    """

    source: str
    rows: int
    problems: tuple[Problem, ...]
    problem_count: int
    counts: FileCounts
    readiness: Readiness | None

    @property
    def ready(self) -> bool:
        """No problem, and (with a target) enough data for each of its models."""
        return not self.problem_count and (self.readiness is None or self.readiness.ready)

    def __str__(self) -> str:
        lines = [f"{self.source}: {self.rows} rows, {self.problem_count} problem(s)"]
        lines += [
            f"  line {p.line}{f' {p.column}' if p.column else ''}: {p.problem} ({p.source})"
            for p in self.problems
        ]
        if self.problem_count > len(self.problems):
            lines.append(f"  ... and {self.problem_count - len(self.problems)} more")
        if self.readiness is not None:
            lines.append(str(self.readiness))
        lines.append("ready" if self.ready else "not ready")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return {
            "source": self.source,
            "ready": self.ready,
            "rows": self.rows,
            "problem_count": self.problem_count,
            "problems": [attrs.asdict(p) for p in self.problems],
            "readiness": None if self.readiness is None else self.readiness.to_dict(),
        }


def check_interactions(
    source: str | os.PathLike[str] | Any,
    *,
    schema: InteractionsSchema | None = None,
    target: Target | None = None,
    progress: bool = False,
    max_problems: int = 1000,
) -> InteractionsCheck:
    """Check an Interactions CSV before a dataset import job.

    Args:
        source: the CSV file (UTF-8, header first), or a pandas DataFrame with the CSV's
            columns (checked as the CSV ``DataFrame.to_csv(index=False)`` writes: line 2 is its
            first row).
        schema: the Interactions schema the header and types must match, or None (then the
            header must have USER_ID, ITEM_ID and TIMESTAMP).
        target: check the counts against it (:class:`~personalize_tracker.readiness.Target`).
        progress: show a tqdm progress bar (stderr) while reading a file.
        max_problems: problems kept (all are counted).

    Returns:
        An :class:`InteractionsCheck` (``ready``, ``problems``, ``readiness``).

    Raises:
        OSError: the file cannot be read.
        ValueError: the file is empty or not UTF-8 (unreadable, not merely wrong).
    """
    if hasattr(source, "to_csv"):
        name = "<DataFrame>"
        scan = scan_csv(io.StringIO(source.to_csv(index=False)), schema=schema,
                        max_problems=max_problems)  # fmt: skip
    else:
        name = os.fspath(source)
        scan = _scan_file(Path(source), schema, progress, max_problems)
    counts = _counts(scan)
    readiness = None if target is None else target.evaluate(counts)
    return InteractionsCheck(
        name, scan.rows, tuple(scan.problems), scan.problem_count, counts, readiness
    )


def _scan_file(
    path: Path, schema: InteractionsSchema | None, progress: bool, max_problems: int
) -> Scan:
    try:
        with path.open(newline="", encoding="utf-8-sig") as stream:
            if not progress:
                return scan_csv(stream, schema=schema, max_problems=max_problems)
            from tqdm import tqdm

            # The bar counts characters read, close to bytes for mostly-ASCII files.
            with tqdm(total=path.stat().st_size, unit="B", unit_scale=True, desc="check") as bar:

                def advance(chars: int) -> None:
                    bar.update(chars)

                return scan_csv(
                    stream, schema=schema, max_problems=max_problems, on_progress=advance
                )
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _counts(scan: Scan) -> FileCounts:
    users = scan.users
    users.pop("", None)  # empty cells (already problems) are no user
    scan.items.discard("")
    return FileCounts(
        interactions=scan.interactions,
        users=len(users),
        users_with_two=sum(1 for n in users.values() if n >= 2),
        event_types=dict(scan.event_types),
        impressions=scan.impressions,
        items=len(scan.items),
    )
