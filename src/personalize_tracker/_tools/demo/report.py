"""The demo's summary: as text for people (:func:`summary_text`), as JSON data for scripts
(:func:`summary_dict`, the ``--json`` output)."""

from __future__ import annotations

from typing import Any

from ..backfill import failure_record, failure_text
from .run import DemoResult

__all__ = ["summary_dict", "summary_text"]


def summary_dict(result: DemoResult) -> dict[str, Any]:
    """Return the summary of a run as JSON-ready data (the ``--json`` output).

    Args:
        result: the run.

    Returns:
        A dict of plain values; times in seconds, rates in events per second.
    """
    stats = result.stats
    check = result.check
    return {
        "result": "PASS" if result.passed else "FAIL",
        "problems": result.problems,
        "data": str(result.data_path),
        "endpoint_url": result.endpoint_url,
        "local_endpoint": result.local,
        "tracking_id": result.tracking_id,
        "region": result.region,
        "events_read": result.events_read,
        "users": result.users,
        "sessions": result.sessions,
        "tracked": stats.tracked,
        "delivered": stats.delivered,
        "failed": stats.failed,
        "failed_by_reason": dict(stats.failed_by_reason),
        "dropped": stats.dropped,
        "pending": stats.pending,
        "put_events_calls": stats.requests,
        "retried_calls": stats.retried,
        "events_per_call": round(result.events_per_call, 3),
        "calls_floor": result.calls_floor,
        "wall_seconds": round(result.wall_seconds, 3),
        "events_per_second": round(result.events_per_second, 1),
        "failures": [failure_record(f) for f in result.failures],
        "endpoint_check": None
        if check is None
        else {
            "result": "PASS" if check.passed else "FAIL",
            "expected": check.expected,
            "received": check.received,
            "missing": check.missing,
            "duplicated": check.duplicated,
            "unexpected": check.unexpected,
            "mismatched": check.mismatched,
            "put_events_calls": check.calls,
            "rejected_calls": check.rejected_calls,
            "samples": list(check.samples),
        },
        "readiness": None if result.readiness is None else result.readiness.to_dict(),
        "catalog": _catalog_dict(result),
    }


def _catalog_dict(result: DemoResult) -> dict[str, Any] | None:
    """The catalogue's part of the JSON summary (``None``: not sent)."""
    items = result.item_stats
    if result.items_dataset_arn is None or items is None:
        return None
    return {
        "items_dataset_arn": result.items_dataset_arn,
        "items_read": result.items_read,
        "delivered": items.delivered,
        "failed": items.failed,
        "dropped": items.dropped,
        "coalesced": items.coalesced,
        "pending": items.pending,
        "put_items_calls": items.requests,
        "retried_calls": items.retried,
        "calls_floor": -(-result.items_read // 10),
        "received": result.items_received,
        "wall_seconds": round(result.catalog_seconds, 3),
    }


def _catalog_rows(result: DemoResult) -> list[tuple[str, str]]:
    """The catalogue's lines of the text summary."""
    items = result.item_stats
    if result.items_dataset_arn is None or items is None:
        return [("catalogue", "not sent (no movies.csv beside the ratings, or no Items dataset)")]
    received = "" if result.items_received is None else f", {result.items_received:,} received"
    return [
        (
            "catalogue",
            f"{result.items_read:,} movies read, {items.delivered:,} items delivered"
            f"{received}, {items.failed:,} failed",
        ),
        (
            "PutItems calls",
            f"{items.requests:,} ({items.retried:,} retried; floor "
            f"{-(-result.items_read // 10):,}: 10 items a call), "
            f"{result.catalog_seconds:.2f} s",
        ),
    ]


def summary_text(result: DemoResult) -> str:
    """Return the human-readable summary of a run, ending with a PASS or FAIL line.

    Args:
        result: the run.

    Returns:
        Several lines of text, without a final newline.
    """
    stats = result.stats
    reasons = ", ".join(f"{k}: {v:,}" for k, v in sorted(stats.failed_by_reason.items()))
    rows: list[tuple[str, str]] = [
        ("data", str(result.data_path)),
        ("endpoint", f"{result.endpoint_url} ({'local' if result.local else 'given'})"),
        *_catalog_rows(result),
        (
            "events read",
            f"{result.events_read:,} ({result.users:,} users, {result.sessions:,} sessions)",
        ),
        ("tracked", f"{stats.tracked:,}"),
        ("delivered", f"{stats.delivered:,}"),
        ("failed", f"{stats.failed:,}" + (f" ({reasons})" if reasons else "")),
        ("dropped", f"{stats.dropped:,}"),
        ("pending", f"{stats.pending:,}"),
        (
            "PutEvents calls",
            f"{stats.requests:,} ({stats.retried:,} retried), "
            f"{result.events_per_call:.2f} events per call",
        ),
        ("floor of calls", f"{result.calls_floor:,} (sum over sessions of ceil(events / 10))"),
        ("wall time", f"{result.wall_seconds:.2f} s (first track() to close())"),
        ("throughput", f"{result.events_per_second:,.0f} events/s delivered"),
    ]
    check = result.check
    if check is None:
        rows.append(("endpoint check", "skipped: another endpoint was given, its records unseen"))
    else:
        verdict = "PASS" if check.passed else "FAIL"
        rows.append(
            (
                "endpoint check",
                f"{verdict}: received {check.received:,} events for {check.expected:,} tracked; "
                f"missing {check.missing:,}, duplicated {check.duplicated:,}, unexpected "
                f"{check.unexpected:,}, mismatched fields {check.mismatched:,}",
            )
        )
        rows.append(
            ("endpoint calls", f"{check.calls:,} PutEvents ({check.rejected_calls:,} rejected)")
        )
    width = max(len(label) for label, _ in rows)
    lines = [f"  {label.ljust(width)}  {value}" for label, value in rows]
    if check is not None:
        lines.extend(f"    {sample}" for sample in check.samples)
    lines.extend(f"    {failure_text(failure)}" for failure in result.failures)
    if result.readiness is not None:
        lines.extend(f"  {line}" for line in str(result.readiness).splitlines())
    if result.passed:
        items = f"{result.items_read:,} items and " if result.item_stats is not None else ""
        lines.append(f"PASS: all {items}{result.events_read:,} events delivered exactly once")
    else:
        lines.append("FAIL: " + "; ".join(result.problems))
    title = (
        "the MovieLens catalogue through PutItems, its ratings through PutEvents"
        if result.item_stats is not None
        else "MovieLens ratings through PutEvents"
    )
    return "\n".join([f"personalize-tracker demo: {title}", *lines])
