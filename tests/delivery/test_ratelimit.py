"""The adaptive request-rate limit (fake clock: no sleeping)."""

from __future__ import annotations

import itertools

import pytest

from personalize_tracker._delivery.ratelimit import AdaptiveRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_requests_are_spaced_at_the_rate_after_a_small_burst() -> None:
    clock = Clock()
    limiter = AdaptiveRateLimiter(100.0, clock=clock)
    waits = [limiter.delay() for _ in range(30)]
    # 0.1 s of unused capacity is spent at once (10 requests, and the one due now), then one
    # every 10 ms
    assert waits[:11] == [0.0] * 11
    assert waits[11:] == pytest.approx([0.01 * n for n in range(1, 20)])


def test_throttling_cuts_the_rate_once_per_signal() -> None:
    clock = Clock()
    limiter = AdaptiveRateLimiter(100.0, clock=clock, recovery_seconds=1e6)
    sent = clock()
    clock.now += 0.001
    for _ in range(5):  # a volley of answers to requests sent before the decrease
        limiter.on_throttled(sent)
    assert limiter.rate == pytest.approx(70.0)
    clock.now += 0.001
    limiter.on_throttled(clock() - 0.0001)  # a request sent after the decrease: a new signal
    assert limiter.rate == pytest.approx(49.0)
    assert limiter.throttled == 6


def test_rate_recovers_linearly_to_the_ceiling() -> None:
    clock = Clock()
    limiter = AdaptiveRateLimiter(100.0, min_rate=10.0, clock=clock, recovery_seconds=9)
    for _ in range(20):
        clock.now += 0.001
        limiter.on_throttled(clock() - 0.0001)
    assert limiter.rate == pytest.approx(10.0, abs=0.1)  # never below min_rate
    clock.now += 4.5  # half the recovery time: half way back
    assert limiter.rate == pytest.approx(55.0, abs=0.5)
    clock.now += 100
    assert limiter.rate == 100.0


def test_lower_rate_spaces_requests_further() -> None:
    clock = Clock()
    limiter = AdaptiveRateLimiter(100.0, clock=clock, recovery_seconds=1e9)
    for _ in range(20):
        limiter.delay()
    clock.now += 10  # idle: the bucket refills (to its burst)
    limiter.on_throttled(clock() - 1)  # 100 -> 70 requests per second
    waits = [limiter.delay() for _ in range(20)]
    gaps = [b - a for a, b in itertools.pairwise(waits[10:])]
    assert gaps == pytest.approx([1 / 70] * 9)


def test_default_floor_is_five_percent() -> None:
    assert AdaptiveRateLimiter(950.0).min_rate == pytest.approx(47.5)
    assert AdaptiveRateLimiter(10.0).min_rate == 1.0


def test_bad_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="max_rate"):
        AdaptiveRateLimiter(0)


def test_wait_time_peeks_at_the_next_slot_without_reserving_it() -> None:
    clock = Clock()
    limiter = AdaptiveRateLimiter(10.0, clock=clock)
    assert limiter.wait_time() == 0.0
    assert limiter.wait_time() == 0.0  # a peek reserves nothing
    limiter.delay()  # the burst's one slot and the one due now
    limiter.delay()
    assert limiter.wait_time() == pytest.approx(0.1)
    clock.now += 0.1
    assert limiter.wait_time() == 0.0
