"""The number of sender threads in use adapts to where a PutEvents call's time goes."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from personalize_tracker import Tracker
from personalize_tracker._delivery.concurrency import SenderConcurrency

from conftest import FakeClient, client_error


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _window(c: SenderConcurrency, clock: FakeClock, calls: list[tuple[float, float]]) -> bool:
    """Feed one window's calls (wall, cpu) with the clock past the window at the last one."""
    ended = False
    for n, (wall, cpu) in enumerate(calls):
        if n == len(calls) - 1:
            clock.now += c.window
        ended = c.observe(wall, cpu)
    return ended


# ---------------------------------------------------------------------------------------------
# the controller on its own


def test_starts_with_one_sender_and_a_window_ends_only_when_its_time_is_up() -> None:
    clock = FakeClock()
    c = SenderConcurrency(32, clock=clock, adaptive=True)
    assert c.limit == 1
    assert c.observe(0.021, 0.001) is False  # the window has not ended
    assert c.due() is False
    clock.now += c.window
    assert c.due() is True


def test_calls_that_mostly_wait_get_senders_in_proportion_to_the_wait() -> None:
    clock = FakeClock()
    c = SenderConcurrency(32, clock=clock, adaptive=True)
    # 20 ms of waiting for 1 ms of CPU: the knee is at 1 + 20 calls in flight, plus headroom;
    # the limit gets there doubling per window while the senders keep busy.
    limits = []
    for _ in range(6):
        assert _window(c, clock, [(0.021, 0.001)] * (2 * c.limit))
        limits.append(c.adjust(backlog=True))
    assert limits == [2, 4, 8, 16, 31, 31]
    c2 = SenderConcurrency(8, clock=clock, adaptive=True)
    c2.limit = 6
    _window(c2, clock, [(0.021, 0.001)] * 12)
    assert c2.adjust(backlog=True) == 8  # never beyond max_workers


def test_senders_that_keep_up_are_not_added_to() -> None:
    # The same far endpoint, but the one sender is in calls for a fifth of the window: it keeps
    # up with the traffic, and more threads would only take GIL time from the application.
    clock = FakeClock()
    c = SenderConcurrency(32, clock=clock, adaptive=True)
    _window(c, clock, [(0.010, 0.001)])
    assert c.adjust(backlog=False) == 1
    c.limit = 6
    _window(c, clock, [(0.010, 0.001)] * 3)  # 6 senders, 30 ms of calls in 50 ms: idle
    assert c.adjust(backlog=False) == 5  # one fewer per window


def test_calls_that_are_all_cpu_get_one_sender() -> None:
    clock = FakeClock()
    c = SenderConcurrency(32, clock=clock, adaptive=True)
    c.limit = 4
    # GIL contention makes most calls wait, but the least-waiting call shows the network's
    # share: none.
    _window(c, clock, [(0.004, 0.001), (0.0011, 0.001), (0.003, 0.001)])
    assert c.adjust(backlog=True) == 2  # at most halved in one window
    _window(c, clock, [(0.0011, 0.001)] * 5)
    assert c.adjust(backlog=True) == 1


def test_stalled_senders_make_room_for_as_many_more() -> None:
    clock = FakeClock()
    c = SenderConcurrency(32, clock=clock, adaptive=True)
    _window(c, clock, [(0.0011, 0.001)])
    assert c.adjust(backlog=True, stalled=2) == 3


def test_a_window_without_calls_grows_by_one_only_while_batches_wait() -> None:
    clock = FakeClock()
    c = SenderConcurrency(32, clock=clock, adaptive=True)
    clock.now += c.window
    assert c.adjust(backlog=False) == 1
    clock.now += c.window
    assert c.adjust(backlog=True) == 2


def test_not_adaptive_uses_every_sender() -> None:
    c = SenderConcurrency(8, adaptive=False)
    assert c.limit == 8
    assert c.observe(0.001, 0.001) is False
    assert c.due() is False


def test_rejects_no_senders() -> None:
    with pytest.raises(ValueError, match="maximum"):
        SenderConcurrency(0)


# ---------------------------------------------------------------------------------------------
# in the Tracker


class SlowClient(FakeClient):
    """Each call waits ``delay`` seconds with the GIL released, like a far endpoint; records
    how many calls were in flight at once."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.in_flight = 0
        self.most_in_flight = 0
        self._never = threading.Event()

    def put_events(self, **params: Any) -> dict[str, Any]:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            self._never.wait(self.delay)  # the network's share of the call
            return super().put_events(**params)
        finally:
            with self.lock:
                self.in_flight -= 1


class BusyClient(FakeClient):
    """Each call is ``seconds`` of Python work holding the GIL, like a loopback endpoint."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def put_events(self, **params: Any) -> dict[str, Any]:
        end = time.thread_time() + self.seconds
        while time.thread_time() < end:
            pass
        return super().put_events(**params)


def _track_sessions(tracker: Tracker, sessions: int, per_session: int = 10) -> None:
    for s in range(sessions):
        for n in range(per_session):
            tracker.track("click", f"s{s}", user_id=f"u{s}", item_id=f"i{n}")


def test_far_endpoint_gets_many_calls_in_flight() -> None:
    client = SlowClient(delay=0.02)
    with Tracker("tid", client=client, max_workers=16, max_queue_size=100_000) as tracker:
        assert tracker.stats().senders == 1
        _track_sessions(tracker, 600)
        assert tracker.flush(timeout=60)
        assert tracker.stats().senders > 8
    assert client.most_in_flight > 8
    assert len(client.delivered_events) == 6000


def test_cpu_bound_calls_keep_few_senders() -> None:
    client = BusyClient(seconds=0.001)
    with Tracker("tid", client=client, max_workers=16, max_queue_size=100_000) as tracker:
        _track_sessions(tracker, 400)
        assert tracker.flush(timeout=60)
        # Calls that never wait would only contend for the GIL: no more than a spare.
        assert tracker.stats().senders <= 3
    assert len(client.delivered_events) == 4000


def test_a_hung_call_does_not_hold_back_other_sessions() -> None:
    client = FakeClient()
    hang = threading.Event()
    first_call = threading.Event()

    def script(params: dict[str, Any]) -> None:
        if params["sessionId"] == "stuck":
            first_call.set()
            assert hang.wait(30)
        return None

    original = client.put_events

    def put_events(**params: Any) -> dict[str, Any]:
        script(params)  # outside the client's lock, like a hung connection
        return original(**params)

    client.put_events = put_events  # type: ignore[method-assign]
    # flush_interval=60: no timer wakes anyone; only full batches (and the watch) move things.
    with Tracker("tid", client=client, max_workers=4, flush_interval=60) as tracker:
        for n in range(10):
            tracker.track("click", "stuck", item_id=f"i{n}")
        assert first_call.wait(10)  # the one sender allowed is stuck; the queue is empty
        _track_sessions(tracker, 20)
        try:
            # The spare sender watches the call under way: once it counts as stalled, another
            # sender is allowed and delivers the other sessions (with the hang still on).
            assert client.wait_for_accepted_events(200, timeout=10)
            assert tracker.stats().delivered == 200
        finally:
            hang.set()
        assert tracker.flush(timeout=10)
    assert len(client.delivered_events) == 210


def test_flush_waits_for_batches_ending_in_any_order() -> None:
    # A batch already on the wire when flush() begins, and a forced one after it, end in the
    # reverse order: flush() returns True only once both have.
    client = FakeClient()
    release_first = threading.Event()
    second_done = threading.Event()
    original = client.put_events

    def put_events(**params: Any) -> dict[str, Any]:
        if params["sessionId"] == "first":
            assert release_first.wait(30)
        answer = original(**params)
        if params["sessionId"] == "second":
            second_done.set()
        return answer

    client.put_events = put_events  # type: ignore[method-assign]
    with Tracker("tid", client=client, max_workers=4, flush_interval=60) as tracker:
        _track_sessions(tracker, 1, per_session=10)  # session s0: a full batch, delivered
        assert client.wait_for_accepted_events(10)
        for n in range(10):
            tracker.track("click", "first", item_id=f"i{n}")  # on the wire, held
        tracker.track("click", "second", item_id="i0")  # a partial batch: flush forces it
        result: list[bool] = []
        flusher = threading.Thread(target=lambda: result.append(tracker.flush(timeout=30)))
        flusher.start()
        assert second_done.wait(10)  # sent by another sender once the first counts as stalled
        assert not result  # the first batch is still on the wire
        release_first.set()
        flusher.join(30)
        assert result == [True]
    assert len(client.delivered_events) == 21


def test_sync_mode_reports_no_senders(fake_client: FakeClient) -> None:
    with Tracker("tid", client=fake_client, sync=True) as tracker:
        tracker.track("click", "s1")
        assert tracker.stats().senders == 0


# The sender thread ends with that SystemExit, as intended here.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_sender_killed_by_on_failure_is_replaced() -> None:
    client = FakeClient()
    client.faults = [client_error("InvalidInputException", 400)]

    dying: list[threading.Thread] = []

    def on_failure(failed: Any) -> None:
        dying.append(threading.current_thread())
        raise SystemExit("an on_failure that exits")

    with Tracker("tid", client=client, on_failure=on_failure, flush_interval=60) as tracker:
        tracker.track("click", "s-bad")
        assert tracker.flush(timeout=10)
        dying[0].join(10)  # the sender that ran on_failure is gone
        assert not dying[0].is_alive()
        tracker.track("click", "s-good")
        assert tracker.flush(timeout=10)  # ...and another one delivers
        stats = tracker.stats()
    assert stats.delivered == 1
    assert stats.failed_by_reason == {"invalid": 1}
