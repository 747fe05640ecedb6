"""The ledger's counters, its balance and its ``TrackerStats`` snapshot."""

from __future__ import annotations

from personalize_tracker._failure import FailedEvent, FailureReason
from personalize_tracker._outcomes.ledger import Ledger, TrackerStats


def failures(*reasons: FailureReason) -> list[FailedEvent]:
    return [FailedEvent(f"e{n}", reason) for n, reason in enumerate(reasons)]


def test_a_new_ledger_is_empty_and_balanced() -> None:
    ledger = Ledger()
    assert (ledger.tracked, ledger.delivered, ledger.failed, ledger.dropped) == (0, 0, 0, 0)
    assert (ledger.requests, ledger.retried, ledger.recovered) == (0, 0, 0)
    assert ledger.failed_by_reason == {}
    assert ledger.balanced(0)
    assert not ledger.balanced(1)


def test_recovered_records_count_as_tracked_and_pending() -> None:
    ledger = Ledger(recovered=3)
    assert ledger.recovered == 3
    assert ledger.tracked == 3
    assert ledger.balanced(3)
    assert not ledger.balanced(0)
    ledger.accepted(2)
    assert ledger.tracked == 5
    assert ledger.recovered == 3


def test_failures_are_counted_by_reason_value() -> None:
    ledger = Ledger()
    ledger.fail(failures(FailureReason.INVALID, FailureReason.EXPIRED, FailureReason.INVALID))
    ledger.fail(failures(FailureReason.CLOSED))
    ledger.fail([])
    assert ledger.failed_by_reason == {"invalid": 2, "expired": 1, "closed": 1}
    assert all(type(key) is str for key in ledger.failed_by_reason)
    assert ledger.failed == 4


def test_unread_spool_records_fail_with_reason_error() -> None:
    ledger = Ledger()
    ledger.fail_unread(0)
    assert ledger.failed_by_reason == {}  # no empty entry
    ledger.fail(failures(FailureReason.ERROR))
    ledger.fail_unread(2)
    assert ledger.failed_by_reason == {"error": 3}
    assert ledger.failed == 3


def test_balanced_adds_up_every_outcome_and_what_is_pending() -> None:
    ledger = Ledger()
    ledger.accepted()
    ledger.accepted(9)
    ledger.delivered += 4
    ledger.fail(failures(FailureReason.REJECTED, FailureReason.RETRIES_EXHAUSTED))
    ledger.fail_unread(1)
    ledger.drop()
    assert ledger.balanced(2)  # 10 == 4 + 3 + 1 + 2
    assert not ledger.balanced(1)
    assert not ledger.balanced(3)


def test_requests_count_calls_and_retries() -> None:
    ledger = Ledger()
    ledger.request(False)
    ledger.request(True)
    ledger.request(True)
    ledger.request(False)
    assert ledger.requests == 4
    assert ledger.retried == 2


def test_stats_is_a_snapshot_of_the_counters_and_of_what_the_other_parts_hold() -> None:
    ledger = Ledger(recovered=2)
    ledger.accepted(8)
    ledger.delivered = 5
    ledger.drop()
    ledger.fail(failures(FailureReason.INVALID))
    ledger.request(False)
    ledger.request(True)
    stats = ledger.stats(pending=3, spooled=2, senders=4)
    assert stats == TrackerStats(
        tracked=10,
        delivered=5,
        failed=1,
        dropped=1,
        pending=3,
        retried=1,
        requests=2,
        failed_by_reason={"invalid": 1},
        spooled=2,
        recovered=2,
    )
    assert stats.senders == 4
    # a snapshot: later counting changes neither it nor its breakdown
    ledger.fail(failures(FailureReason.INVALID))
    ledger.delivered += 1
    assert stats.failed_by_reason == {"invalid": 1}
    assert stats.delivered == 5


def test_the_senders_gauge_is_not_part_of_equality() -> None:
    ledger = Ledger()
    ledger.accepted(1)
    one = ledger.stats(pending=1, spooled=0, senders=1)
    eight = ledger.stats(pending=1, spooled=0, senders=8)
    assert one == eight
    assert one != ledger.stats(pending=0, spooled=0, senders=1)
