"""The outage state shared by a pipeline's senders (``_delivery.health``)."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from personalize_tracker._delivery.health import ServiceHealth, Unavailable


def never() -> float | None:
    return None


def down(health: ServiceHealth, times: int) -> None:
    for _ in range(times):
        health.failed(False, "ServiceUnavailable: down")


def test_an_outage_begins_after_the_threshold_and_ends_at_the_first_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    health = ServiceHealth(max_backoff=0.01, threshold=3)
    with caplog.at_level(logging.INFO, "personalize_tracker"):
        down(health, 2)
        assert not health.outage
        assert health.enter(None, never) == (False, 0.0)  # no gate before the outage
        down(health, 5)  # more failures in the outage: still one entry line
        assert health.outage
        assert health.outages == 1
        probe, _ = health.enter(None, never)
        assert probe
        health.answered(probe)
        assert not health.outage
        health.answered(False)  # already over: no second line
    lines = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert len(lines) == 2
    assert lines[0][0] == logging.WARNING
    assert "failed 3 times in a row" in lines[0][1]
    assert "ServiceUnavailable: down" in lines[0][1]
    assert lines[1][0] == logging.INFO
    assert "the outage is over" in lines[1][1]


def test_one_probe_at_a_time_the_others_wait_without_a_call() -> None:
    health = ServiceHealth(max_backoff=0.001, threshold=1)
    down(health, 1)
    probe, _ = health.enter(None, never)
    assert probe
    with pytest.raises(Unavailable):  # the probe is under way: nobody else may call
        health.enter(None, never, block=False)
    with pytest.raises(Unavailable):  # a caller's bound passes while it waits
        health.enter(time.monotonic() + 0.05, never)
    waiting: list[tuple[bool, float]] = []
    waiter = threading.Thread(target=lambda: waiting.append(health.enter(None, never)))
    waiter.start()
    health.answered(probe)  # the service is back: the waiter goes, not as a probe
    waiter.join(10)
    assert waiting
    assert waiting[0][0] is False


def test_a_failed_probe_backs_off_within_max_backoff_and_hands_the_probe_on() -> None:
    health = ServiceHealth(max_backoff=0.05, threshold=1)
    down(health, 1)
    for _ in range(20):  # the backoff doubles up to its cap, never past it
        probe, _ = health.enter(time.monotonic() + 5, never)
        assert probe
        health.failed(True, "ServiceUnavailable: still down")
    started = time.monotonic()
    probe, waited = health.enter(time.monotonic() + 5, never)
    assert probe
    assert waited <= time.monotonic() - started + 0.001
    assert health.outage


def test_the_stop_time_ends_a_wait_and_wake_makes_waiters_look_at_it() -> None:
    health = ServiceHealth(max_backoff=30.0, threshold=1)
    down(health, 1)
    _probe, _ = health.enter(None, never)
    stop_at: list[float] = []
    raised: list[BaseException] = []

    def wait() -> None:
        try:
            health.enter(None, lambda: stop_at[0] if stop_at else None)
        except Unavailable as exc:
            raised.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    stop_at.append(time.monotonic())
    health.wake()
    waiter.join(10)
    assert not waiter.is_alive()
    assert raised


def test_an_abandoned_probe_frees_the_slot() -> None:
    health = ServiceHealth(max_backoff=0.001, threshold=1)
    down(health, 1)
    probe, _ = health.enter(None, never)
    health.abandoned(probe)
    assert health.enter(time.monotonic() + 5, never)[0]
