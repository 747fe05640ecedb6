"""The Tracker: validate at ``track()``, buffer per (user, session), send in PutEvents batches."""

from __future__ import annotations

import atexit
import functools
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any

import boto3

from ._buffer import GroupBuffer, GroupKey
from ._delivery import RetryPolicy, Sender, build_client
from ._errors import TrackerClosedError
from ._event import Event, PropertiesInput, SentAtInput, _text
from ._limits import LIMITS
from ._records import FailedEvent, FailureReason, TrackerStats

__all__ = ["Tracker"]

logger = logging.getLogger("personalize_tracker")

FailureHandler = Callable[[Sequence[FailedEvent]], None]

#: Seconds the exit flush may take, per Tracker, when the interpreter exits.
DEFAULT_EXIT_TIMEOUT = 5.0
# Seconds close() waits past its timeout for sender threads interrupted in a retry wait.
_JOIN_GRACE = 0.1


class Tracker:
    """Collects interaction events and delivers them to Amazon Personalize through PutEvents.

    ``track()`` validates an event, stamps its ``eventId`` and ``sentAt`` and queues it: it never
    waits on the network (unless ``sync=True``). Background sender threads group pending events by
    (user id, session id), send at most 10 of a group per PutEvents call (the API's limit), retry
    throttling, 5xx and connection errors with full-jitter exponential backoff, and split a batch
    the service rejects so that only the invalid event fails. Every tracked event ends delivered,
    failed (with a reason, passed to ``on_failure``), dropped (queue full, also passed to
    ``on_failure``) or is still pending; :meth:`stats` shows the counts.

    Args:
        tracking_id: the event tracker's ``trackingId`` (1-256 characters).
        client: a boto3 ``personalize-events`` client to use as is. Its own retry, timeout,
            connection-pool and timestamp settings apply; note botocore sends ``sentAt`` in whole
            seconds unless the client's session registered
            ``botocore.handlers.enable_millisecond_timestamp_precision``.
        session: a ``boto3.Session`` to build the client from (default: a new default session).
        region_name: AWS region for the built client (default: the session's).
        endpoint_url: endpoint for the built client, e.g. a local test endpoint.
        flush_interval: seconds the oldest pending event of a session may wait for its batch to
            fill (> 0). A session with 10 pending events is sent at once.
        max_queue_size: events held in memory waiting to be sent (>= 1). When full, a new event is
            dropped, counted in ``stats().dropped`` and reported with reason ``queue_full``.
        max_workers: sender threads, i.e. PutEvents calls in flight at once (>= 1). One call to the
            service takes tens of milliseconds, so a single thread cannot keep up.
        max_attempts: PutEvents calls per batch at most, the first included (>= 1).
        max_backoff: cap in seconds of one wait between attempts (> 0).
        retry_deadline: seconds after a batch's first attempt past which it is not retried (> 0).
        sync: deliver on the caller's thread (scripts, notebooks, AWS Lambda): ``track()`` sends a
            batch when one is ready, ``flush()`` sends the rest. Same batching, retries and
            accounting; no threads.
        on_failure: called with each group of events that failed or were dropped (a sequence of
            :class:`FailedEvent`), on the thread where it happened (a sender thread, or the caller
            of ``track()`` for ``queue_full``). Without it, failures are logged at WARNING on the
            ``personalize_tracker`` logger (event ids, reason and AWS error; never user ids or
            properties). Exceptions it raises are logged and swallowed.
        exit_timeout: seconds the flush at interpreter exit may take (>= 0).

    Raises:
        ValueError: an argument is out of range (the message names it).
        InvalidEventError: ``tracking_id`` is empty or longer than 256 characters.

    The Tracker is thread-safe. Use it as a context manager, or call :meth:`close`, to deliver what
    is pending; at interpreter exit pending events get a flush bounded by ``exit_timeout``.
    """

    def __init__(
        self,
        tracking_id: str,
        *,
        client: Any = None,
        session: boto3.Session | None = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        flush_interval: float = 1.0,
        max_queue_size: int = 10_000,
        max_workers: int = 8,
        max_attempts: int = 8,
        max_backoff: float = 30.0,
        retry_deadline: float = 120.0,
        sync: bool = False,
        on_failure: FailureHandler | None = None,
        exit_timeout: float = DEFAULT_EXIT_TIMEOUT,
    ) -> None:
        _text(tracking_id, "tracking_id", LIMITS.tracking_id_max)
        _positive("flush_interval", flush_interval)
        _at_least("max_queue_size", max_queue_size, 1)
        _at_least("max_workers", max_workers, 1)
        _at_least("max_attempts", max_attempts, 1)
        _positive("max_backoff", max_backoff)
        _positive("retry_deadline", retry_deadline)
        if exit_timeout < 0:
            raise ValueError(f"exit_timeout must be 0 or more seconds, got {exit_timeout!r}")
        if client is not None and (session is not None or endpoint_url is not None):
            raise ValueError("pass either client= or session=/endpoint_url=, not both")

        self.tracking_id = tracking_id
        self.flush_interval = float(flush_interval)
        self.max_queue_size = max_queue_size
        self.max_workers = max_workers
        self.sync = sync
        self.exit_timeout = exit_timeout
        self._on_failure = on_failure
        self._policy = RetryPolicy(
            max_attempts=max_attempts, max_backoff=float(max_backoff), deadline=retry_deadline
        )
        self._own_client = client is None
        self._build_client = functools.partial(
            build_client,
            session=session,
            region_name=region_name,
            endpoint_url=endpoint_url,
            max_workers=max_workers,
        )
        self._client = client if client is not None else self._build_client()
        self._closed = False
        self._reset_state()
        _live_trackers.add(self)

    def _reset_state(self) -> None:
        """(Re)build everything a process owns: locks, buffer, counters, threads, sender."""
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # workers wait here for a ready batch
        self._idle = threading.Condition(self._lock)  # flush() waits here for pending == 0
        self._buffer: GroupBuffer[Event] = GroupBuffer(
            LIMITS.max_events_per_call, self.flush_interval
        )
        self._in_flight = 0
        self._flushing = 0
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._tracked = 0
        self._delivered = 0
        self._dropped = 0
        self._requests = 0
        self._retried = 0
        self._failed_by_reason: dict[str, int] = {}
        self._unlogged_drops = 0
        self._next_drop_log = 0.0
        self._sender = Sender(self._client, self.tracking_id, self._policy, self._count_request)

    # ---------------------------------------------------------------------------------------
    # public API

    def track(
        self,
        event_type: str,
        session_id: str | int,
        user_id: str | int | None = None,
        item_id: str | int | None = None,
        *,
        event_value: float | None = None,
        properties: PropertiesInput = None,
        sent_at: SentAtInput = None,
        event_id: str | None = None,
        recommendation_id: str | None = None,
        impression: Iterable[str | int] | None = None,
        metric_attribution_source: str | None = None,
    ) -> Event:
        """Validate one interaction event and queue it for delivery.

        Args:
            event_type: ``eventType``, e.g. ``"click"``, 1-256 characters.
            session_id: ``sessionId``: the visitor's session, 1-256 characters (an int is
                converted with ``str()``). Events of one session and user share PutEvents calls.
            user_id: ``userId``, or ``None`` for an anonymous visitor (1-256 characters).
            item_id: ``itemId`` of the item interacted with (1-256 characters).
            event_value: ``eventValue``, a finite number (e.g. a rating); not a bool.
            properties: contextual metadata: a mapping of Interactions schema field names
                (``DEVICE_TYPE``, ``device_type`` or ``deviceType``; sent as camelCase) to str,
                number or bool values, a list being a multi-valued field joined with ``"|"``; or
                a string holding a JSON object. At most 1024 characters once encoded.
            sent_at: when it happened: an aware ``datetime`` or epoch seconds (int or float).
                Default: now. Sent with millisecond precision.
            event_id: ``eventId`` (1-256 characters). Default: a new unique id. Personalize
                ignores repeated ids in training, so retries never count twice.
            recommendation_id: ``recommendationId`` of the GetRecommendations /
                GetPersonalizedRanking answer the item came from (implicit impressions),
                at most 40 characters.
            impression: ``impression``: ids of the items shown alongside (explicit impressions),
                1-25 ids of 1-256 characters; order kept, repeats removed.
            metric_attribution_source: ``metricAttribution.eventAttributionSource``, printable
                ASCII, at most 1024 characters.

        Returns:
            The queued :class:`Event` (frozen), with ``event_id`` and ``sent_at`` set.

        Raises:
            InvalidEventError: an argument breaks a PutEvents rule (a ``ValueError`` naming the
                field, the problem and the limit). Nothing is queued.
            TrackerClosedError: the Tracker was closed.
        """
        event = Event.create(
            event_type,
            session_id,
            user_id=user_id,
            item_id=item_id,
            event_value=event_value,
            properties=properties,
            sent_at=sent_at,
            event_id=event_id,
            recommendation_id=recommendation_id,
            impression=impression,
            metric_attribution_source=metric_attribution_source,
        )
        self.enqueue(event)
        return event

    def enqueue(self, event: Event) -> None:
        """Queue an already built :class:`Event` (see :meth:`Event.create`) for delivery.

        Raises:
            TrackerClosedError: the Tracker was closed.
        """
        if self._pid != os.getpid():
            self._after_fork()
        dropped = False
        with self._lock:
            if self._closed:
                raise TrackerClosedError("track() called on a closed Tracker")
            self._tracked += 1
            if self._buffer.size >= self.max_queue_size:
                self._dropped += 1
                dropped = True
            elif self._buffer.add((event.user_id, event.session_id), event, time.monotonic()):
                self._work.notify()
            if not self.sync and not self._threads and not dropped:
                self._start_workers()
        if dropped:
            self._report(
                [
                    FailedEvent(
                        event,
                        FailureReason.QUEUE_FULL,
                        None,
                        f"the queue holds max_queue_size={self.max_queue_size} events",
                    )
                ]
            )
        elif self.sync:
            self._pump(force=False, deadline=None)

    def flush(self, timeout: float | None = None) -> bool:
        """Send every pending event now, without waiting for batches to fill.

        Args:
            timeout: seconds to wait at most; ``None`` waits until nothing is pending (retries
                are bounded by ``retry_deadline``).

        Returns:
            True if nothing is pending on return (every event delivered or failed), False if the
            timeout passed first; the rest stays pending and is still delivered later.

        Raises:
            TrackerClosedError: the Tracker was closed.
        """
        if self._closed:
            raise TrackerClosedError("flush() called on a closed Tracker")
        return self._flush(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Deliver what is pending, then stop. Final and idempotent.

        Args:
            timeout: seconds to wait at most for pending events; ``None`` waits until done
                (retries are bounded by ``retry_deadline``). Events still pending when it passes
                fail with reason ``closed`` and are reported to ``on_failure`` (sender threads get
                up to 0.1 s more to record the batches they were retrying); a PutEvents call
                already on the wire finishes on its own and is accounted for when it does.

        After ``close()``, ``track()`` and ``flush()`` raise :class:`TrackerClosedError`.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _live_trackers.discard(self)
        self._shutdown(timeout)

    def stats(self) -> TrackerStats:
        """Return a consistent snapshot of the counters (see :class:`TrackerStats`)."""
        with self._lock:
            return TrackerStats(
                tracked=self._tracked,
                delivered=self._delivered,
                failed=sum(self._failed_by_reason.values()),
                dropped=self._dropped,
                pending=self._buffer.size + self._in_flight,
                retried=self._retried,
                requests=self._requests,
                failed_by_reason=dict(self._failed_by_reason),
            )

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    @property
    def client(self) -> Any:
        """The boto3 ``personalize-events`` client in use."""
        return self._client

    def __enter__(self) -> Tracker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "sync" if self.sync else "open"
        return f"<Tracker tracking_id={self.tracking_id!r} {state}>"

    # ---------------------------------------------------------------------------------------
    # flushing and shutdown

    def _flush(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        if self.sync or not self._threads:
            # No worker threads (sync mode, or none started): deliver on this thread.
            self._pump(force=True, deadline=deadline)
        with self._lock:
            self._flushing += 1
            self._work.notify_all()
            try:
                return self._idle.wait_for(
                    lambda: self._buffer.size == 0 and self._in_flight == 0,
                    None if deadline is None else max(0.0, deadline - time.monotonic()),
                )
            finally:
                self._flushing -= 1

    def _shutdown(self, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        if deadline is not None:
            self._sender.stop_waiting_at(deadline)  # retry waits end at the deadline
        if not self._flush(timeout):
            self._sender.stop_waiting_at(time.monotonic())  # and any still waiting, now
        with self._lock:
            # Anything still queued now (timeout passed) fails; stop the workers.
            leftovers = self._buffer.drain()
            self._stopping = True
            self._work.notify_all()
            threads = list(self._threads)
        failed = [
            FailedEvent(e, FailureReason.CLOSED, None, "close() timed out before it was sent")
            for _, batch in leftovers
            for e in batch
        ]
        if failed:
            self._record_failures(failed)
        # Senders interrupted in a retry wait record their batch (as failed, reason closed)
        # within moments: allow them _JOIN_GRACE seconds past the deadline. One still in a
        # PutEvents call is left to finish; its batch stays pending until it does.
        join_by = None if deadline is None else max(deadline, time.monotonic() + _JOIN_GRACE)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(None if join_by is None else max(0.0, join_by - time.monotonic()))

    def _exit_flush(self) -> None:
        """Flush at interpreter exit, for at most ``exit_timeout`` seconds, starting no thread."""
        if self._closed or self._pid != os.getpid():
            return
        with self._lock:
            self._closed = True
        # Worker threads (daemons) may still run; either way this thread helps deliver, since
        # Python 3.12+ refuses to start threads at shutdown.
        deadline = time.monotonic() + self.exit_timeout
        self._sender.stop_waiting_at(deadline)
        self._pump(force=True, deadline=deadline)
        self._shutdown(max(0.0, deadline - time.monotonic()))

    # ---------------------------------------------------------------------------------------
    # delivery

    def _start_workers(self) -> None:
        """Start the sender threads (lock held).

        At interpreter shutdown Python refuses new threads; events then wait for the exit flush,
        which delivers on the exiting thread.
        """
        for n in range(self.max_workers):
            thread = threading.Thread(
                target=self._worker, name=f"personalize-tracker-sender-{n}", daemon=True
            )
            try:
                thread.start()
            except RuntimeError:  # "can't create new thread at interpreter shutdown"
                return
            self._threads.append(thread)

    def _next_batch(self, force: bool) -> tuple[GroupKey, list[Event]] | None:
        """Take a ready batch and count it in flight (lock held)."""
        taken = self._buffer.take(time.monotonic(), force or self._flushing > 0 or self._stopping)
        if taken is not None:
            self._in_flight += len(taken[1])
        return taken

    def _worker(self) -> None:
        while True:
            with self._lock:
                while True:
                    if self._pid != os.getpid():
                        return  # a forked child's copy of this thread's state; never runs
                    taken = self._next_batch(force=False)
                    if taken is not None:
                        if self._buffer.has_ready(time.monotonic(), self._flushing > 0):
                            self._work.notify()  # more to do: wake another sender
                        break
                    if self._stopping:
                        return
                    self._work.wait(self._buffer.seconds_until_due(time.monotonic()))
            self._deliver(*taken)

    def _pump(self, force: bool, deadline: float | None) -> None:
        """Deliver ready batches on the calling thread until none is ready or ``deadline``."""
        while deadline is None or time.monotonic() < deadline:
            with self._lock:
                taken = self._next_batch(force)
            if taken is None:
                return
            self._deliver(*taken)

    def _deliver(self, key: GroupKey, events: list[Event]) -> None:
        user_id, session_id = key
        try:
            outcome = self._sender.send(user_id, session_id, events)
            delivered, failed = outcome.delivered, outcome.failed
        except BaseException as exc:  # never lose count, even on KeyboardInterrupt
            delivered = 0
            failed = [
                FailedEvent(e, FailureReason.ERROR, type(exc).__name__, str(exc)) for e in events
            ]
            self._finish(delivered, failed, len(events))
            raise
        self._finish(delivered, failed, len(events))

    def _finish(self, delivered: int, failed: list[FailedEvent], taken: int) -> None:
        with self._lock:
            self._delivered += delivered
            self._in_flight -= taken
            self._count_failures(failed)
            if self._in_flight == 0 and self._buffer.size == 0:
                self._idle.notify_all()
        if failed:
            self._report(failed)

    def _count_request(self, retry: bool) -> None:
        with self._lock:
            self._requests += 1
            if retry:
                self._retried += 1

    def _count_failures(self, failed: Sequence[FailedEvent]) -> None:
        """Add failures to the counters (lock held)."""
        for failure in failed:
            reason = failure.reason.value
            self._failed_by_reason[reason] = self._failed_by_reason.get(reason, 0) + 1

    def _record_failures(self, failed: Sequence[FailedEvent]) -> None:
        """Count failures of events that were in the buffer, then report them."""
        with self._lock:
            self._count_failures(failed)
            if self._in_flight == 0 and self._buffer.size == 0:
                self._idle.notify_all()
        self._report(failed)

    def _report(self, failed: Sequence[FailedEvent]) -> None:
        """Pass failures to ``on_failure``, or log them (no lock held)."""
        if self._on_failure is not None:
            try:
                self._on_failure(failed)
            except Exception:
                logger.exception("personalize-tracker: on_failure raised; the failures stand")
            return
        first = failed[0]
        if first.reason is FailureReason.QUEUE_FULL:
            # One line per 10 seconds at most: an overloaded process must not drown in logs.
            with self._lock:
                self._unlogged_drops += len(failed)
                now = time.monotonic()
                if now < self._next_drop_log:
                    return
                count, self._unlogged_drops = self._unlogged_drops, 0
                self._next_drop_log = now + 10.0
            logger.warning(
                "personalize-tracker: %d event(s) dropped: the queue holds max_queue_size=%d "
                "events (see stats().dropped; pass on_failure= to handle them)",
                count,
                self.max_queue_size,
            )
            return
        ids = ", ".join(f.event.event_id for f in failed[:5])
        more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
        logger.warning(
            "personalize-tracker: %d event(s) not delivered (reason=%s, error=%s: %s); "
            "event ids: %s%s",
            len(failed),
            first.reason.value,
            first.error_code,
            first.message,
            ids,
            more,
        )

    # ---------------------------------------------------------------------------------------
    # fork

    def _after_fork(self) -> None:
        """In a forked child: start empty, with new locks, no threads and a new client.

        The parent's pending events stay the parent's: the child never sends them. Counters
        start at zero, so the child's stats describe the child's events only.
        """
        if self._pid == os.getpid():
            return
        if self._own_client:
            self._client = self._build_client()
        self._reset_state()


def _positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a number of seconds > 0, got {value!r}")


def _at_least(name: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


# ---------------------------------------------------------------------------------------------
# process-wide hooks: exit flush and fork

_live_trackers: weakref.WeakSet[Tracker] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    for tracker in list(_live_trackers):
        try:
            tracker._exit_flush()
        except Exception:  # pragma: no cover - last resort at exit
            logger.exception("personalize-tracker: exit flush failed")


def _reset_in_child() -> None:
    for tracker in list(_live_trackers):
        tracker._after_fork()


if hasattr(os, "register_at_fork"):  # pragma: no branch - always on POSIX
    os.register_at_fork(after_in_child=_reset_in_child)
