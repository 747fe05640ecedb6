"""One batch's delivery (``BatchSender``) against a fake transport: retries, poison splitting,
expiry, interruption and the rate limiter."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from personalize_tracker._delivery.health import ServiceHealth
from personalize_tracker._delivery.ratelimit import AdaptiveRateLimiter
from personalize_tracker._delivery.retry import RetryPolicy
from personalize_tracker._delivery.send import BatchSender, DeliveryOutcome
from personalize_tracker._errors import PartialSendError, SendError
from personalize_tracker._failure import FailedEvent, FailureReason

Key = tuple[str, str]
KEY: Key = ("u", "s")

# Retries without noticeable waits: every backoff is at most a millisecond.
FAST = RetryPolicy(max_attempts=4, base_backoff=0.0005, max_backoff=0.001, deadline=30.0)


def throttling() -> SendError:
    return SendError("ThrottlingException", "Rate exceeded", retryable=True, throttled=True)


def unavailable() -> SendError:
    return SendError("ServiceUnavailable", "try later", retryable=True)


class FakeTransport:
    """Records every call (key and a copy of the records); ``faults`` are raised by the next
    calls in order (None: that call succeeds); ``script``, when set, decides the calls after
    them (an exception to raise, or None)."""

    def __init__(
        self,
        faults: Sequence[BaseException | None] = (),
        script: Callable[[list[str]], BaseException | None] | None = None,
    ) -> None:
        self.calls: list[tuple[Key, list[str]]] = []
        self.faults: list[BaseException | None] = list(faults)
        self.script = script
        self.called = threading.Event()

    def send(self, key: Key, records: Sequence[str]) -> None:
        self.calls.append((key, list(records)))
        self.called.set()
        error = self.faults.pop(0) if self.faults else None
        if error is None and self.script is not None:
            error = self.script(list(records))
        if error is not None:
            raise error

    @property
    def batches(self) -> list[list[str]]:
        return [records for _, records in self.calls]


class FakeLimiter:
    """A rate limiter with a counting clock: each ``clock()`` reading is 1.0 more than the last;
    ``delay()`` returns ``wait`` every time."""

    def __init__(self, wait: float = 0.0) -> None:
        self.wait = wait
        self.now = 0.0
        self.delays = 0
        self.throttled_at: list[float] = []

    def delay(self) -> float:
        self.delays += 1
        return self.wait

    def clock(self) -> float:
        self.now += 1.0
        return self.now

    def on_throttled(self, sent_at: float) -> None:
        self.throttled_at.append(sent_at)


def invalid_if_holding(bad: str) -> Callable[[list[str]], SendError | None]:
    """A transport script: the service refuses any batch holding ``bad``."""

    def script(records: list[str]) -> SendError | None:
        return SendError("InvalidInputException", "x", invalid=True) if bad in records else None

    return script


def reasons(outcome: DeliveryOutcome[str]) -> list[tuple[str, FailureReason, str | None]]:
    return [(f.event, f.reason, f.error_code) for f in outcome.failed]


# ---------------------------------------------------------------------------------------------
# delivery and splitting


def test_one_call_delivers_a_batch_with_its_key_and_records_in_order() -> None:
    transport = FakeTransport()
    sender: BatchSender[str, Key] = BatchSender(transport, FAST)
    outcome = sender.send(KEY, ["a", "b", "c"])
    assert transport.calls == [(KEY, ["a", "b", "c"])]
    assert outcome.delivered == 3
    assert outcome.delivered_events == ["a", "b", "c"]
    assert outcome.failed == []
    assert outcome.waited == 0.0


def test_an_invalid_record_is_isolated_by_halving_and_alone_fails() -> None:
    def poison(records: list[str]) -> SendError | None:
        return SendError("InvalidInputException", "bad c", invalid=True) if "c" in records else None

    transport = FakeTransport(script=poison)
    sender: BatchSender[str, Key] = BatchSender(transport, FAST)
    outcome = sender.send(KEY, ["a", "b", "c", "d"])
    assert transport.batches == [["a", "b", "c", "d"], ["a", "b"], ["c", "d"], ["c"], ["d"]]
    assert outcome.delivered_events == ["a", "b", "d"]
    assert outcome.delivered == 3
    assert outcome.failed == [
        FailedEvent("c", FailureReason.INVALID, "InvalidInputException", "bad c")
    ]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 10])
def test_splitting_delivers_every_other_record_in_order(size: int) -> None:
    records = [f"r{n}" for n in range(size)]
    for bad in records:
        transport = FakeTransport(script=invalid_if_holding(bad))
        outcome = BatchSender[str, Key](transport, FAST).send(KEY, list(records))
        assert outcome.delivered_events == [r for r in records if r != bad]
        assert reasons(outcome) == [(bad, FailureReason.INVALID, "InvalidInputException")]
        # every call kept the tracked order
        assert all(b == sorted(b, key=records.index) for b in transport.batches)


def test_two_invalid_records_both_fail_and_the_rest_is_delivered() -> None:
    def poison(records: list[str]) -> SendError | None:
        bad = {"b", "e"} & set(records)
        return SendError("InvalidInputException", "x", invalid=True) if bad else None

    outcome = BatchSender[str, Key](FakeTransport(script=poison), FAST).send(
        KEY, ["a", "b", "c", "d", "e", "f"]
    )
    assert outcome.delivered_events == ["a", "c", "d", "f"]
    assert [f.event for f in outcome.failed] == ["b", "e"]
    assert {f.reason for f in outcome.failed} == {FailureReason.INVALID}


def test_a_later_non_invalid_error_of_a_half_fails_only_that_half() -> None:
    transport = FakeTransport(
        faults=[
            SendError("InvalidInputException", "x", invalid=True),
            None,  # the first half is delivered
            SendError("ResourceNotFoundException", "gone", rejected=True),
        ]
    )
    outcome = BatchSender[str, Key](transport, FAST).send(KEY, ["a", "b", "c", "d"])
    assert transport.batches == [["a", "b", "c", "d"], ["a", "b"], ["c", "d"]]
    assert outcome.delivered_events == ["a", "b"]
    assert reasons(outcome) == [
        ("c", FailureReason.REJECTED, "ResourceNotFoundException"),
        ("d", FailureReason.REJECTED, "ResourceNotFoundException"),
    ]


# ---------------------------------------------------------------------------------------------
# retries and final errors


def test_retryable_errors_are_retried_and_on_request_tells_retries_apart() -> None:
    requests: list[bool] = []
    transport = FakeTransport(faults=[throttling(), unavailable()])
    sender: BatchSender[str, Key] = BatchSender(transport, FAST, on_request=requests.append)
    outcome = sender.send(KEY, ["a", "b"])
    assert transport.batches == [["a", "b"]] * 3
    assert requests == [False, True, True]
    assert outcome.delivered_events == ["a", "b"]
    assert outcome.failed == []


def test_retries_exhausted_after_max_attempts() -> None:
    requests: list[bool] = []
    policy = RetryPolicy(max_attempts=3, base_backoff=0.0005, max_backoff=0.001, deadline=30.0)
    transport = FakeTransport(faults=[throttling()] * 10)  # (5xx in a row are an outage)
    outcome = BatchSender[str, Key](transport, policy, on_request=requests.append).send(
        KEY, ["a", "b"]
    )
    assert len(transport.calls) == 3
    assert requests == [False, True, True]
    assert outcome.delivered == 0
    assert outcome.failed == [
        FailedEvent(r, FailureReason.RETRIES_EXHAUSTED, "ThrottlingException", "Rate exceeded")
        for r in ("a", "b")
    ]


def test_a_spent_deadline_stops_retrying() -> None:
    policy = RetryPolicy(max_attempts=100, base_backoff=0.0005, max_backoff=0.001, deadline=0.0)
    transport = FakeTransport(faults=[unavailable()] * 10)
    outcome = BatchSender[str, Key](transport, policy).send(KEY, ["a"])
    assert len(transport.calls) == 1
    assert reasons(outcome) == [("a", FailureReason.RETRIES_EXHAUSTED, "ServiceUnavailable")]


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (SendError("AccessDeniedException", "no", rejected=True), FailureReason.REJECTED),
        (SendError("NoCredentialsError", "no credentials"), FailureReason.ERROR),
        (SendError("InvalidInputException", "bad", invalid=True), FailureReason.INVALID),
    ],
)
def test_final_errors_are_not_retried(error: SendError, reason: FailureReason) -> None:
    requests: list[bool] = []
    transport = FakeTransport(faults=[error])
    outcome = BatchSender[str, Key](transport, FAST, on_request=requests.append).send(KEY, ["a"])
    assert len(transport.calls) == 1
    assert requests == [False]
    assert outcome.failed == [FailedEvent("a", reason, error.code, error.message)]


def test_a_plain_exception_fails_the_batch_with_its_class_name_and_never_propagates() -> None:
    transport = FakeTransport(faults=[KeyError("oops")])
    outcome = BatchSender[str, Key](transport, FAST).send(KEY, ["a", "b"])
    assert len(transport.calls) == 1  # a local error is not retried
    assert [(f.event, f.reason, f.error_code) for f in outcome.failed] == [
        ("a", FailureReason.ERROR, "KeyError"),
        ("b", FailureReason.ERROR, "KeyError"),
    ]
    assert "oops" in (outcome.failed[0].message or "")
    assert outcome.delivered == 0


def test_a_base_exception_propagates_and_the_outcome_knows_what_was_settled() -> None:
    transport = FakeTransport(
        faults=[
            SendError("InvalidInputException", "x", invalid=True),
            None,
            KeyboardInterrupt(),
        ]
    )
    records = ["a", "b", "c", "d"]
    outcome: DeliveryOutcome[str] = DeliveryOutcome()
    with pytest.raises(KeyboardInterrupt):
        BatchSender[str, Key](transport, FAST).send(KEY, records, outcome=outcome)
    assert outcome.delivered_events == ["a", "b"]
    assert outcome.unsettled(records) == ["c", "d"]


def test_retrying_is_logged_once_per_spell(caplog: pytest.LogCaptureFixture) -> None:
    transport = FakeTransport(faults=[throttling(), throttling(), throttling()])
    sender: BatchSender[str, Key] = BatchSender(transport, FAST, name="Sink")
    with caplog.at_level(logging.WARNING, "personalize_tracker"):
        sender.send(KEY, ["a"])
        sender.send(KEY, ["b"])  # retried again, moments later: no second line
        transport.faults = [unavailable()]
        sender.send(KEY, ["c"])
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "personalize-tracker: Sink failed (ThrottlingException: Rate exceeded); "
        "retrying with backoff"
    ]


def test_one_attempt_logs_no_retrying(caplog: pytest.LogCaptureFixture) -> None:
    once = RetryPolicy(max_attempts=1, base_backoff=0.0005, max_backoff=0.001, deadline=30.0)
    transport = FakeTransport(faults=[throttling()])
    with caplog.at_level(logging.WARNING, "personalize_tracker"):
        outcome = BatchSender[str, Key](transport, once, name="Sink").send(KEY, ["a"])
    assert len(transport.calls) == 1
    assert [f.reason for f in outcome.failed] == [FailureReason.RETRIES_EXHAUSTED]
    assert "retrying" not in caplog.text


# ---------------------------------------------------------------------------------------------
# record age


def test_records_older_than_max_event_age_expire_and_the_rest_is_sent() -> None:
    policy = RetryPolicy(max_attempts=2, base_backoff=0.0005, max_backoff=0.001, max_event_age=60)
    now = time.monotonic()
    transport = FakeTransport()
    outcome = BatchSender[str, Key](transport, policy).send(
        KEY, ["old", "new", "older"], [now - 61, now, now - 3600]
    )
    assert transport.batches == [["new"]]
    assert outcome.delivered_events == ["new"]
    assert [(f.event, f.reason, f.error_code) for f in outcome.failed] == [
        ("old", FailureReason.EXPIRED, None),
        ("older", FailureReason.EXPIRED, None),
    ]
    assert "max_event_age" in (outcome.failed[0].message or "")


def test_a_batch_that_all_expired_makes_no_call() -> None:
    requests: list[bool] = []
    policy = RetryPolicy(max_event_age=1)
    now = time.monotonic()
    transport = FakeTransport()
    outcome = BatchSender[str, Key](transport, policy, on_request=requests.append).send(
        KEY, ["a", "b"], [now - 5, now - 5]
    )
    assert transport.calls == []
    assert requests == []
    assert [f.reason for f in outcome.failed] == [FailureReason.EXPIRED] * 2
    assert outcome.unsettled(["a", "b"]) == []


def test_without_times_or_without_a_limit_nothing_expires() -> None:
    old = time.monotonic() - 3600
    aged = RetryPolicy(max_event_age=1)
    assert BatchSender[str, Key](FakeTransport(), aged).send(KEY, ["a"]).delivered == 1
    unlimited = RetryPolicy(max_event_age=None)
    assert BatchSender[str, Key](FakeTransport(), unlimited).send(KEY, ["a"], [old]).delivered == 1


def test_a_record_that_ages_out_between_retries_expires_before_the_next_attempt() -> None:
    policy = RetryPolicy(max_attempts=5, base_backoff=0.0005, max_backoff=0.001, max_event_age=0.2)

    def slow_failure(records: list[str]) -> SendError:
        threading.Event().wait(0.25)  # the call takes longer than the record may live
        return unavailable()

    transport = FakeTransport(script=slow_failure)
    outcome = BatchSender[str, Key](transport, policy).send(KEY, ["a"], [time.monotonic()])
    assert len(transport.calls) == 1
    assert reasons(outcome) == [("a", FailureReason.EXPIRED, None)]


# ---------------------------------------------------------------------------------------------
# interrupting waits


def test_a_past_stop_time_ends_the_retry_wait_with_reason_closed() -> None:
    transport = FakeTransport(faults=[throttling()] * 10)
    policy = RetryPolicy(max_attempts=10, base_backoff=60.0, max_backoff=60.0, deadline=600.0)
    sender: BatchSender[str, Key] = BatchSender(transport, policy)
    sender.stop_waiting_at(time.monotonic())
    started = time.monotonic()
    outcome = sender.send(KEY, ["a", "b"])
    assert time.monotonic() - started < 5
    assert len(transport.calls) == 1  # the first attempt is made; its retry is not waited for
    assert [(f.event, f.reason, f.error_code) for f in outcome.failed] == [
        ("a", FailureReason.CLOSED, "ThrottlingException"),
        ("b", FailureReason.CLOSED, "ThrottlingException"),
    ]
    message = outcome.failed[0].message or ""
    assert "stopped waiting" in message
    assert "ThrottlingException: Rate exceeded" in message


def test_stop_waiting_interrupts_a_wait_under_way_from_another_thread() -> None:
    transport = FakeTransport(faults=[unavailable()] * 100)
    policy = RetryPolicy(max_attempts=100, base_backoff=60.0, max_backoff=60.0, deadline=600.0)
    sender: BatchSender[str, Key] = BatchSender(transport, policy)
    result: list[DeliveryOutcome[str]] = []
    thread = threading.Thread(target=lambda: result.append(sender.send(KEY, ["a"])))
    thread.start()
    assert transport.called.wait(5)
    sender.stop_waiting_at(time.monotonic())
    thread.join(5)
    assert not thread.is_alive()
    assert reasons(result[0]) == [("a", FailureReason.CLOSED, "ServiceUnavailable")]


def test_a_future_stop_time_ends_a_longer_wait_when_it_comes() -> None:
    transport = FakeTransport(faults=[unavailable()] * 100)
    policy = RetryPolicy(max_attempts=100, base_backoff=60.0, max_backoff=60.0, deadline=600.0)
    sender: BatchSender[str, Key] = BatchSender(transport, policy)
    started = time.monotonic()
    sender.stop_waiting_at(started + 0.05)
    outcome = sender.send(KEY, ["a"])
    assert 0.04 <= time.monotonic() - started < 5
    assert reasons(outcome) == [("a", FailureReason.CLOSED, "ServiceUnavailable")]


def test_clearing_the_stop_time_lets_retries_wait_again() -> None:
    transport = FakeTransport(faults=[unavailable()])
    sender: BatchSender[str, Key] = BatchSender(transport, FAST)
    sender.stop_waiting_at(time.monotonic() - 1)
    sender.stop_waiting_at(None)
    outcome = sender.send(KEY, ["a"])
    assert outcome.delivered_events == ["a"]
    assert len(transport.calls) == 2


def test_a_stop_before_any_failure_does_not_touch_a_call_that_succeeds() -> None:
    transport = FakeTransport()
    sender: BatchSender[str, Key] = BatchSender(transport, FAST)
    sender.stop_waiting_at(time.monotonic() - 1)
    assert sender.send(KEY, ["a"]).delivered_events == ["a"]


# ---------------------------------------------------------------------------------------------
# the rate limiter and deliberate waits


def test_throttling_slows_the_real_rate_limiter_and_other_errors_do_not() -> None:
    clock_now = [1000.0]
    limiter = AdaptiveRateLimiter(100.0, clock=lambda: clock_now[0], recovery_seconds=1e6)
    transport = FakeTransport(faults=[unavailable()])
    sender: BatchSender[str, Key] = BatchSender(transport, FAST, limiter=limiter)
    sender.send(KEY, ["a"])
    assert limiter.throttled == 0
    assert limiter.rate == pytest.approx(100.0)
    transport.faults = [throttling()]
    clock_now[0] += 0.001
    outcome = sender.send(KEY, ["b"])
    assert outcome.delivered_events == ["b"]
    assert limiter.throttled == 1
    assert limiter.rate == pytest.approx(70.0)


def test_on_throttled_gets_the_time_the_throttled_call_was_sent() -> None:
    limiter = FakeLimiter()
    transport = FakeTransport(faults=[unavailable(), throttling()])
    sender: BatchSender[str, Key] = BatchSender(transport, FAST, limiter=limiter)  # type: ignore[arg-type]
    assert sender.send(KEY, ["a"]).delivered == 1
    assert limiter.delays == 3  # one slot per attempt
    assert limiter.throttled_at == [2.0]  # the clock's reading before the second call


def test_waited_counts_rate_limit_waits_and_backoff() -> None:
    limiter = FakeLimiter(wait=0.003)
    transport = FakeTransport(faults=[unavailable()])
    sender: BatchSender[str, Key] = BatchSender(transport, FAST, limiter=limiter)  # type: ignore[arg-type]
    outcome = sender.send(KEY, ["a"])
    assert outcome.delivered == 1
    # two attempts, each waiting 3 ms for the limiter, and one backoff of at most 1 ms
    assert 0.006 <= outcome.waited <= 0.007 + 1e-9


def test_backoff_waits_are_real_and_counted() -> None:
    policy = RetryPolicy(max_attempts=5, base_backoff=0.05, max_backoff=0.05, deadline=30.0)
    transport = FakeTransport(faults=[unavailable()] * 4)
    started = time.monotonic()
    outcome = BatchSender[str, Key](transport, policy).send(KEY, ["a"])
    elapsed = time.monotonic() - started
    assert outcome.delivered == 1
    assert 0 < outcome.waited <= 4 * 0.05 + 1e-9  # four random waits of at most 50 ms
    assert elapsed >= outcome.waited * 0.9


def test_waited_is_zero_without_limiter_or_retry() -> None:
    assert BatchSender[str, Key](FakeTransport(), FAST).send(KEY, ["a"]).waited == 0.0


def test_an_outcome_passed_in_is_filled_in_and_returned() -> None:
    outcome: DeliveryOutcome[str] = DeliveryOutcome()
    returned = BatchSender[str, Key](FakeTransport(), FAST).send(KEY, ["a"], outcome=outcome)
    assert returned is outcome
    assert outcome.delivered_events == ["a"]


# ---------------------------------------------------------------------------------------------
# DeliveryOutcome


def test_unsettled_lists_records_neither_delivered_nor_failed_by_identity() -> None:
    a, b, c = {"n": 1}, {"n": 2}, {"n": 3}
    twin = {"n": 1}  # equal to a, but another record
    outcome: DeliveryOutcome[Any] = DeliveryOutcome(
        delivered=1,
        delivered_events=[a],
        failed=[FailedEvent(b, FailureReason.ERROR)],
    )
    assert outcome.unsettled([a, b, c, twin]) == [c, twin]
    assert DeliveryOutcome[Any]().unsettled([a, b]) == [a, b]


# ---------------------------------------------------------------------------------------------
# calls that fail per record (PartialSendError)


def test_a_partial_failure_retries_only_the_failed_records_and_settles_the_rest() -> None:
    # Records 1 and 3 fail on their own: 1 for good (rejected), 3 for now (throttled); the
    # others were delivered by that call and are never sent again.
    transport = FakeTransport(
        faults=[
            PartialSendError(
                {
                    1: SendError("ValidationException", "too big", rejected=True),
                    3: SendError("ThroughputExceeded", "slow", retryable=True, throttled=True),
                }
            )
        ]
    )
    limiter = FakeLimiter()
    sender: BatchSender[str, Key] = BatchSender(transport, FAST, limiter=limiter)  # type: ignore[arg-type]
    outcome = sender.send(KEY, ["a", "b", "c", "d", "e"])
    assert transport.batches == [["a", "b", "c", "d", "e"], ["d"]]
    assert sorted(outcome.delivered_events) == ["a", "c", "d", "e"]
    assert outcome.delivered == 4
    assert reasons(outcome) == [("b", FailureReason.REJECTED, "ValidationException")]
    assert len(limiter.throttled_at) == 1  # a record was throttled: the rate backs off


def test_a_partial_failure_with_nothing_retryable_makes_no_second_call() -> None:
    transport = FakeTransport(faults=[PartialSendError({0: SendError("X", "bad", invalid=True)})])
    outcome = BatchSender[str, Key](transport, FAST).send(KEY, ["a", "b"])
    assert transport.batches == [["a", "b"]]
    assert outcome.delivered_events == ["b"]
    assert reasons(outcome) == [("a", FailureReason.INVALID, "X")]


def test_records_failing_per_record_until_retries_run_out_fail_with_their_code() -> None:
    policy = RetryPolicy(max_attempts=2, base_backoff=0.0005, max_backoff=0.001, deadline=30.0)
    slow = SendError("ThroughputExceeded", "slow", retryable=True)
    transport = FakeTransport(
        faults=[PartialSendError({0: slow, 2: slow}), PartialSendError({1: slow})]
    )
    outcome = BatchSender[str, Key](transport, policy).send(KEY, ["a", "b", "c"])
    assert transport.batches == [["a", "b", "c"], ["a", "c"]]
    assert outcome.delivered_events == ["b", "a"]  # b by the first call, a by the retry
    assert reasons(outcome) == [("c", FailureReason.RETRIES_EXHAUSTED, "ThroughputExceeded")]


def test_a_partial_send_error_needs_a_failed_record() -> None:
    with pytest.raises(ValueError, match="at least one"):
        PartialSendError({})


# ---------------------------------------------------------------------------------------------
# a bad day: outages, deadlines, one attempt


def test_attempts_during_an_outage_are_not_counted_time_bounds_them() -> None:
    # The service is down for 30 calls: with 4 attempts per batch and a per-batch count, the
    # batch would fail retries_exhausted; in an outage only time (the deadline) bounds it.
    transport = FakeTransport(faults=[unavailable()] * 30)
    sender: BatchSender[str, Key] = BatchSender(transport, FAST)
    outcome = sender.send(KEY, ["a", "b"])
    assert outcome.delivered_events == ["a", "b"]
    assert not outcome.failed
    assert len(transport.calls) == 31
    assert not sender.health.outage  # the success ended it


def test_an_outage_fails_a_batch_when_its_retry_deadline_passes() -> None:
    transport = FakeTransport(script=lambda records: unavailable())
    policy = RetryPolicy(max_attempts=3, base_backoff=0.0005, max_backoff=0.001, deadline=0.2)
    outcome = BatchSender[str, Key](transport, policy).send(KEY, ["a"])
    assert [(f.event, f.reason) for f in outcome.failed] == [("a", FailureReason.RETRIES_EXHAUSTED)]
    assert len(transport.calls) > 3  # more than max_attempts: the outage's probes


def test_throttling_is_not_an_outage() -> None:
    transport = FakeTransport(faults=[throttling()] * 10)
    sender: BatchSender[str, Key] = BatchSender(transport, FAST)
    outcome = sender.send(KEY, ["a"])
    assert outcome.failed
    assert outcome.failed[0].reason is FailureReason.RETRIES_EXHAUSTED
    assert len(transport.calls) == FAST.max_attempts
    assert not sender.health.outage
    assert sender.health.outages == 0


def test_a_call_still_under_way_at_the_deadline_is_abandoned_and_deferred() -> None:
    release = threading.Event()

    class Hanging(FakeTransport):
        def send(self, key: Key, records: Sequence[str]) -> None:
            super().send(key, records)
            release.wait(30)  # a server that accepts and never answers

    transport = Hanging()
    try:
        outcome = BatchSender[str, Key](transport, FAST).send(
            KEY, ["a", "b"], [1.0, 2.0], deadline=time.monotonic() + 0.2
        )
    finally:
        release.set()
    assert outcome.deferred == ["a", "b"]
    assert outcome.deferred_times == [1.0, 2.0]
    assert not outcome.failed
    assert not outcome.delivered
    assert outcome.unsettled(["a", "b"]) == []


def test_no_retry_wait_runs_past_the_deadline() -> None:
    transport = FakeTransport(script=lambda records: unavailable())
    slow = RetryPolicy(max_attempts=8, base_backoff=60.0, max_backoff=60.0, deadline=600.0)
    outcome = BatchSender[str, Key](transport, slow).send(
        KEY, ["a"], deadline=time.monotonic() + 0.5
    )
    assert outcome.deferred == ["a"]
    assert not outcome.failed


def test_one_attempt_defers_what_may_be_retried_and_fails_what_may_not() -> None:
    transport = FakeTransport(faults=[unavailable()])
    sender: BatchSender[str, Key] = BatchSender(transport, FAST)
    outcome = sender.send(KEY, ["a"], retry_waits=False)
    assert outcome.deferred == ["a"]
    assert len(transport.calls) == 1
    transport.faults = [SendError("AccessDeniedException", "no", rejected=True)]
    outcome = sender.send(KEY, ["b"], retry_waits=False)
    assert [(f.event, f.reason) for f in outcome.failed] == [("b", FailureReason.REJECTED)]


def test_an_interrupted_probe_frees_the_outage_for_the_next_call() -> None:
    transport = FakeTransport(faults=[unavailable()] * 3 + [KeyboardInterrupt()])
    sender: BatchSender[str, Key] = BatchSender(transport, FAST)
    sender.send(KEY, ["a"], retry_waits=False)
    sender.send(KEY, ["b"], retry_waits=False)
    sender.send(KEY, ["c"], retry_waits=False)
    assert sender.health.outage
    time.sleep(0.01)  # the outage's first probe wait (max_backoff is 1 ms) passes
    with pytest.raises(KeyboardInterrupt):
        sender.send(KEY, ["d"])  # the probe's call is cut short by Ctrl-C
    outcome = sender.send(KEY, ["e"], deadline=time.monotonic() + 5)
    assert outcome.delivered_events == ["e"]  # before: the slot stayed taken, no call went out
    assert not sender.health.outage


def test_max_event_age_bounds_a_record_waiting_out_an_outage() -> None:
    transport = FakeTransport(script=lambda records: unavailable())
    policy = RetryPolicy(
        max_attempts=3, base_backoff=0.05, max_backoff=30.0, deadline=60.0, max_event_age=0.3
    )
    # probes far apart: the first waits up to 30 s
    health = ServiceHealth(max_backoff=30.0, base_backoff=30.0)
    sender: BatchSender[str, Key] = BatchSender(transport, policy, health=health)
    now = time.monotonic()
    outcome = sender.send(KEY, ["a", "b"], [now, now])
    assert [(f.event, f.reason) for f in outcome.failed] == [
        ("a", FailureReason.EXPIRED),
        ("b", FailureReason.EXPIRED),
    ]
    assert time.monotonic() - now < 5  # at their age limit, not at the next probe
