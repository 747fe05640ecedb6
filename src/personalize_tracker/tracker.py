"""The Tracker: validate at ``track()``, buffer per (user, session), send in PutEvents batches."""

from __future__ import annotations

import atexit
import functools
import logging
import os
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal

import boto3

from ._buffer import Batch, GroupBuffer, GroupKey
from ._compose import EventComposer
from ._concurrency import SenderConcurrency, gil_enabled
from ._deadletter import DeadLetterWriter
from ._delivery import DeliveryOutcome, RetryPolicy, Sender, build_client
from ._errors import TrackerClosedError
from ._event import (
    _MAX_EVENT_TYPE,
    _MAX_ITEM_ID,
    _MAX_SESSION_ID,
    _MAX_USER_ID,
    Event,
    PropertiesInput,
    SentAtInput,
    _attribution_source,
    _ident,
    _ids,
    _impression,
    _new_event,
    _number,
    _sent_at,
    _text,
    _time,
    encode_properties,
    renew_event_ids_after_fork,
)
from ._limits import LIMITS
from ._ratelimit import AdaptiveRateLimiter
from ._records import FailedEvent, FailureReason, TrackerStats
from ._spool import Spool
from .recommendations import (
    Recommendations,
    RuntimeClientSource,
    ranking_params,
    recommendation_params,
)
from .schema import InteractionsSchema
from .session import DEFAULT_RECOMMENDATION_MEMORY, DEFAULT_RECOMMENDATION_TTL, TrackingSession

__all__ = ["Tracker"]

_getpid = os.getpid
_monotonic = time.monotonic
_thread_time = time.thread_time
_MAX_EVENT_ID = LIMITS.event_id_max
_MAX_RECOMMENDATION_ID = LIMITS.recommendation_id_max

logger = logging.getLogger("personalize_tracker")

FailureHandler = Callable[[Sequence[FailedEvent]], None]

#: Seconds the exit flush may take, per Tracker, when the interpreter exits.
DEFAULT_EXIT_TIMEOUT = 5.0
# Seconds close() waits past its timeout for sender threads interrupted in a retry wait.
_JOIN_GRACE = 1.0
#: Requests per second one Tracker sends at most by default: under the PutEvents quota of about
#: 1000 requests per second per dataset group.
DEFAULT_MAX_REQUESTS_PER_SECOND = 950.0
#: Sender threads at most by default (see Tracker's max_workers).
DEFAULT_MAX_WORKERS = 32
# Events read back from the spool at a time.
_REFILL_CHUNK = 1000
# Seconds at most a waiting sender leaves events in the inbox while they keep coming (see
# Tracker._enqueue): a session's full batch leaves about this late at most, when a sender is
# free (a sender in a call takes the inbox in when the call ends).
_COLLECT_INTERVAL = 0.02
# Events in the inbox at which track() wakes a sender at once (a PutEvents batch's worth).
_NUDGE_AT = LIMITS.max_events_per_call
# Seconds senders keep collecting after the inbox was last found holding events.
_COLLECT_LINGER = 0.1
# Seconds after which a sender still busy with one batch (a hung connection, a retry backoff)
# no longer counts against the number of senders allowed to deliver at once.
_STALLED = 0.5

#: What to do with an event that does not fit in the queue (see ``Tracker``).
OverflowPolicy = Literal["drop", "block", "spill"]


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
            fill (> 0). A session with 10 pending events is sent within about 20 ms (as soon as
            a sender is free).
        max_queue_size: events held in memory waiting to be sent (>= 1; threads tracking at the
            same instant may pass it by one event each). When full, a new event is dropped,
            counted in ``stats().dropped`` and reported with reason ``queue_full``.
        max_workers: sender threads at most, i.e. PutEvents calls in flight at once (>= 1). The
            number in use adapts (``stats().senders``): about ``1 + 1.5 * wait / cpu`` per call,
            from the call's network wait and its CPU time in botocore. A call to the service
            waits tens of milliseconds, so many are needed; against a near endpoint one sender
            is fastest, since more only contend for the GIL. Threads start as they are needed.
            Default 32, or the connection pool size of a ``client`` you pass (botocore's
            default: 10), since a sender beyond the pool opens and drops a connection per call
            (a larger explicit value is logged at WARNING).
        max_attempts: PutEvents calls per batch at most, the first included (>= 1).
        max_backoff: cap in seconds of one wait between attempts (> 0).
        retry_deadline: seconds after a batch's first attempt past which it is not retried (> 0).
        overflow: what to do with an event that does not fit in the queue: ``"drop"`` it
            (reported with reason ``queue_full``); ``"block"`` the caller of ``track()`` up to
            ``block_timeout`` seconds for room, then drop it; or ``"spill"`` it to the spool on
            disk (``spool_path``), from where it is delivered when the queue drains.
        block_timeout: seconds ``track()`` may wait for room with ``overflow="block"`` (>= 0).
        spool_path: folder for the spool of ``overflow="spill"``. Events still spooled when the
            process ends are delivered by the next Tracker given the same folder.
        dead_letter_path: a JSON Lines file to which every failed or dropped event is appended
            (reason, AWS error, the event as sent); ``personalize-tracker resend`` sends it again.
        max_requests_per_second: PutEvents calls per second at most, shared by all sender
            threads; it drops to 70% when the service throttles and recovers over about 30 s.
            Default 950, under the PutEvents quota of about 1000 requests per second per dataset
            group: processes feeding one dataset group share that quota, so divide it between
            them. ``None``: no limit.
        max_event_age: seconds after ``track()`` past which an undelivered event is no longer
            sent or retried; it fails with reason ``expired``. ``None``: no limit.
        sync: deliver on the caller's thread (scripts, notebooks, AWS Lambda): ``track()`` sends a
            batch when one is ready, ``flush()`` sends the rest. Same batching, retries and
            accounting; no threads.
        on_failure: called with each group of events that failed or were dropped (a sequence of
            :class:`FailedEvent`), on the thread where it happened (a sender thread, or the caller
            of ``track()`` for ``queue_full``). Without it, failures are logged at WARNING on the
            ``personalize_tracker`` logger (event ids, reason and AWS error; never user ids or
            properties). Exceptions it raises are logged and swallowed. It must not call
            ``flush()`` or ``close()``: on a sender thread, they would wait for that thread.
        schema: an :class:`InteractionsSchema`: ``track()`` then also checks each event against
            it (property keys are schema fields, values fit their types, ``event_value`` needs
            ``EVENT_VALUE``, ``impression`` needs ``IMPRESSION``, a non-nullable ``ITEM_ID``
            makes ``item_id`` required). Default: no schema check.
        truncate_impressions: keep the first 25 distinct ids of a longer ``impression`` (the
            PutEvents maximum) instead of raising; counted in
            ``stats().impressions_truncated``.
        metric_attribution_source: default ``metricAttribution.eventAttributionSource`` of
            every event (a session's or an event's own value wins).
        runtime_client: a boto3 ``personalize-runtime`` client for :meth:`get_recommendations`
            and :meth:`get_personalized_ranking`, used as is. Default: one built at first use
            from ``session``, ``region_name`` and ``endpoint_url`` (see
            ``personalize_tracker.recommendations.build_runtime_client``).
        exit_timeout: seconds the flush at interpreter exit may take (>= 0).
        fork_check: compare the process id on every ``track()`` (a system call, ~0.2 µs) to
            notice a fork that ran no Python fork hooks: uWSGI forks its workers that way
            unless ``py-call-osafterfork`` is set. Default ``None``: on when the process runs
            under uWSGI (its ``uwsgi`` module is loaded), off otherwise, since ``os.fork()``
            (gunicorn, Celery, multiprocessing) runs the hooks that reset the Tracker anyway.

    Raises:
        ValueError: an argument is out of range (the message names it), or no AWS region is
            known for the client the Tracker builds.
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
        max_workers: int | None = None,
        max_attempts: int = 8,
        max_backoff: float = 30.0,
        retry_deadline: float = 120.0,
        overflow: OverflowPolicy = "drop",
        block_timeout: float = 1.0,
        spool_path: str | os.PathLike[str] | None = None,
        dead_letter_path: str | os.PathLike[str] | None = None,
        max_requests_per_second: float | None = DEFAULT_MAX_REQUESTS_PER_SECOND,
        max_event_age: float | None = None,
        sync: bool = False,
        on_failure: FailureHandler | None = None,
        schema: InteractionsSchema | None = None,
        truncate_impressions: bool = False,
        metric_attribution_source: str | None = None,
        runtime_client: Any = None,
        exit_timeout: float = DEFAULT_EXIT_TIMEOUT,
        fork_check: bool | None = None,
    ) -> None:
        _text(tracking_id, "tracking_id", LIMITS.tracking_id_max)
        _positive("flush_interval", flush_interval)
        _at_least("max_queue_size", max_queue_size, 1)
        max_workers = _max_workers(max_workers, client)
        _at_least("max_attempts", max_attempts, 1)
        _positive("max_backoff", max_backoff)
        _positive("retry_deadline", retry_deadline)
        if exit_timeout < 0:
            raise ValueError(f"exit_timeout must be 0 or more seconds, got {exit_timeout!r}")
        if overflow not in ("drop", "block", "spill"):
            raise ValueError(f"overflow must be 'drop', 'block' or 'spill', got {overflow!r}")
        if overflow == "spill" and spool_path is None:
            raise ValueError("overflow='spill' needs spool_path= (a folder for the spool)")
        if block_timeout < 0:
            raise ValueError(f"block_timeout must be 0 or more seconds, got {block_timeout!r}")
        if max_requests_per_second is not None:
            _positive("max_requests_per_second", max_requests_per_second)
        if max_event_age is not None:
            _positive("max_event_age", max_event_age)
        if client is not None and (session is not None or endpoint_url is not None):
            raise ValueError("pass either client= or session=/endpoint_url=, not both")

        self.tracking_id = tracking_id
        self.flush_interval = float(flush_interval)
        self.max_queue_size = max_queue_size
        self.max_workers = max_workers
        self.sync = sync
        self.exit_timeout = exit_timeout
        self._fork_check = "uwsgi" in sys.modules if fork_check is None else bool(fork_check)
        # track() may queue an event without the lock, in the inbox (see _enqueue): not in sync
        # mode, with a spool or an age limit (their bookkeeping is per event), or without a GIL.
        self._direct = not sync and spool_path is None and max_event_age is None and gil_enabled()
        self._on_failure = on_failure
        self.overflow: OverflowPolicy = overflow
        self._sync_block = sync and overflow == "block"
        self.block_timeout = float(block_timeout)
        self.max_requests_per_second = max_requests_per_second
        self._spool_path = spool_path
        self._dead_letters = (
            None if dead_letter_path is None else DeadLetterWriter(dead_letter_path, tracking_id)
        )
        self._policy = RetryPolicy(
            max_attempts=max_attempts,
            max_backoff=float(max_backoff),
            deadline=retry_deadline,
            max_event_age=max_event_age,
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
        self._composer = EventComposer(schema, truncate_impressions, metric_attribution_source)
        self._plain = self._composer.plain
        self._default_source = self._composer.metric_attribution_source
        self._runtime = RuntimeClientSource(
            runtime_client,
            session=session,
            region_name=region_name,
            endpoint_url=endpoint_url,
            events_client=client,
        )
        self._closed = False
        self._reset_state()
        _live_trackers.add(self)

    def _reset_state(self, in_child: bool = False) -> None:
        """(Re)build everything a process owns: locks, buffer, counters, threads, sender.

        In a forked child a spool that cannot be opened is logged, not raised (the fork hook
        must not fail half way): the child then drops what does not fit, with a reason.
        """
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # workers wait here for a ready batch
        self._idle = threading.Condition(self._lock)  # flush() and close() wait here
        self._room = threading.Condition(self._lock)  # overflow="block" waits here for room
        self._item_ids: dict[str, str] = {}  # see _share_item_id
        self._keys: dict[str, GroupKey] = {}  # by session id: see track()
        # Events queued without the lock, oldest first, that no sender has taken in yet (see
        # _enqueue), and the senders due to take them in: those in a short wait, and those
        # delivering a batch, which look when their call ends (see _wait_for_work).
        self._inbox: deque[Event] = deque()
        self._sealed = False  # close() took the inbox in for the last time
        self._collectors = 0
        self._want_collector = False  # a track() found none: the next waiting sender collects
        self._collector: threading.Thread | None = None  # the sender in a collecting wait
        self._inbox_seen = 0.0  # monotonic time the inbox was last taken in holding events
        self._buffer: GroupBuffer[Event] = GroupBuffer(
            LIMITS.max_events_per_call,
            self.flush_interval,
            keep_times=self._policy.max_event_age is not None,
        )
        self._waiting_for_room = 0
        # overflow="spill": the spool on disk; events being read back count in _refilling.
        self._spool = None
        if self._spool_path is not None:
            try:
                self._spool = Spool(self._spool_path)
            except OSError:
                if not in_child:
                    raise
                logger.exception("personalize-tracker: no spool in this forked process")
        self._refilling = 0
        self._close_spool_when_idle = False
        self._aborting = False  # close() ran out of time: no new batch is taken
        self._recovered = 0 if self._spool is None else self._spool.recovered
        self._spooled = self._recovered  # events on disk, not yet read back
        self._in_flight = 0
        self._on_the_wire: dict[int, Batch[Event]] = {}  # batches taken, not yet finished
        self._flush_waiters = 0  # threads in flush()
        # ids of batches a flush() waits for that were on the wire when it began: their end (or
        # a forced batch's) is what wakes flush(), not every call's (a hint: an id may be reused
        # later, which costs a spurious wake-up only).
        self._flush_awaits: set[int] = set()
        self._stopping = False
        self._threads: list[threading.Thread] = []
        # Senders allowed to deliver at once (adapted to where a call's time goes), and when
        # each batch being delivered by a sender thread was taken (by id(batch)): the other
        # sender threads wait, one of them watching the backlog.
        self._concurrency = SenderConcurrency(self.max_workers)
        self._sending: dict[int, float] = {}
        self._watcher: threading.Thread | None = None  # the sender timing calls under way
        self._tracked = self._recovered  # events adopted from an ended process count as tracked
        self._delivered = 0
        self._dropped = 0
        self._requests = 0
        self._retried = 0
        self._failed_by_reason: dict[str, int] = {}
        self._unlogged_drops = 0
        self._next_drop_log = 0.0
        limiter = (
            None
            if self.max_requests_per_second is None
            else AdaptiveRateLimiter(self.max_requests_per_second)
        )
        self._sender = Sender(
            self._client, self.tracking_id, self._policy, self._count_request, limiter
        )

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
        if self._fork_check and self._pid != _getpid():
            self._after_fork()  # before the event id is drawn: ids must differ from the parent's
        if metric_attribution_source is None:
            metric_attribution_source = self._default_source
        if self._plain:  # no schema, no truncation: the fast path
            # Event.create's checks, inlined (~180 ns less per call), in the same order (a test
            # holds them to it). Ids are shared with the events queued before: the events of
            # one session share its user and session id strings, those of one item its item id
            # (~150 bytes less per queued event). Shared ids were checked when first seen.
            if type(event_type) is not str or not 0 < len(event_type) <= _MAX_EVENT_TYPE:
                event_type = _text(event_type, "event_type", _MAX_EVENT_TYPE)
            keys = self._keys
            known = keys.get(session_id) if type(session_id) is str else None
            if known is not None and (
                known[0] is user_id or (type(user_id) is str and known[0] == user_id)
            ):
                user_id, session_id = known
            else:
                if type(session_id) is not str or not 0 < len(session_id) <= _MAX_SESSION_ID:
                    session_id = _ident(session_id, "session_id", _MAX_SESSION_ID)
                if user_id is not None and (
                    type(user_id) is not str or not 0 < len(user_id) <= _MAX_USER_ID
                ):
                    user_id = _ident(user_id, "user_id", _MAX_USER_ID)
                # (a visitor who logs in changes user id: the entry is replaced)
                if len(keys) >= self.max_queue_size:
                    keys.clear()  # bounded: it starts over
                keys[session_id] = (user_id, session_id)
            if item_id is not None:
                shared = self._item_ids.get(item_id) if type(item_id) is str else None
                if shared is not None:
                    item_id = shared
                else:
                    if type(item_id) is not str or not 0 < len(item_id) <= _MAX_ITEM_ID:
                        item_id = _ident(item_id, "item_id", _MAX_ITEM_ID)
                    self._remember_item_id(item_id)
            event = _new_event(
                event_type,
                session_id,
                _time() if sent_at is None else _sent_at(sent_at),
                next(_ids.ids) if event_id is None else _text(event_id, "event_id", _MAX_EVENT_ID),
                user_id,
                item_id,
                None if event_value is None else _number(event_value, "event_value"),
                None if properties is None else encode_properties(properties),
                None
                if recommendation_id is None
                else _text(recommendation_id, "recommendation_id", _MAX_RECOMMENDATION_ID),
                None if impression is None else _impression(impression),
                None
                if metric_attribution_source is None
                else _attribution_source(metric_attribution_source),
            )
        else:
            composer = self._composer
            event = composer.build(
                event_type,
                session_id,
                user_id,
                self._share_item_id(item_id) if type(item_id) is str else item_id,
                event_value,
                composer.properties(properties),
                sent_at,
                event_id,
                recommendation_id,
                impression,
                metric_attribution_source,
            )
        self._enqueue(event)
        return event

    def session(
        self,
        user_id: str | int | None = None,
        session_id: str | int | None = None,
        context: PropertiesInput = None,
        metric_attribution_source: str | None = None,
        *,
        max_recommendations: int = DEFAULT_RECOMMENDATION_MEMORY,
        recommendation_ttl: float = DEFAULT_RECOMMENDATION_TTL,
    ) -> TrackingSession:
        """Return a :class:`TrackingSession` bound to one visitor (cheap; one per request is fine).

        Args:
            user_id: the visitor's ``userId``, or ``None`` while anonymous (events then carry
                the ``sessionId`` alone; see :meth:`TrackingSession.identify`).
            session_id: the ``sessionId``; default a new random UUID4 (``session.session_id``).
            context: contextual metadata merged into every event's ``properties`` (event keys
                win), in the forms ``track(properties=...)`` accepts; checked once, here.
            metric_attribution_source: default attribution source of the session's events
                (default: the Tracker's).
            max_recommendations: recommendation lists the session remembers (>= 0, default 10).
            recommendation_ttl: seconds a remembered list stays usable (> 0, default 1800).

        Raises:
            InvalidEventError: an id, the context or the source breaks a PutEvents or schema rule.
            ValueError: ``max_recommendations`` or ``recommendation_ttl`` is out of range.
        """
        return TrackingSession(
            self,
            user_id,
            session_id,
            context,
            metric_attribution_source,
            max_recommendations=max_recommendations,
            recommendation_ttl=recommendation_ttl,
        )

    def get_recommendations(
        self,
        *,
        campaign_arn: str | None = None,
        recommender_arn: str | None = None,
        user_id: str | int | None = None,
        item_id: str | int | None = None,
        num_results: int | None = None,
        context: Mapping[str, str] | None = None,
        filter_arn: str | None = None,
        filter_values: Mapping[str, str] | None = None,
        promotions: Sequence[Mapping[str, Any]] | None = None,
        metadata_columns: Mapping[str, Sequence[str]] | None = None,
    ) -> Recommendations:
        """Call ``personalize-runtime`` GetRecommendations, synchronously, on this thread.

        The arguments are boto3's, in snake_case; ``None`` leaves one out. Give exactly one of
        ``campaign_arn`` and ``recommender_arn``, and ``user_id`` and/or ``item_id``.

        Args:
            campaign_arn: ``campaignArn``.
            recommender_arn: ``recommenderArn`` (domain dataset groups).
            user_id: ``userId`` (for an anonymous visitor, the session id: see
                :attr:`TrackingSession.recommendation_user_id`).
            item_id: ``itemId`` (related-items recipes).
            num_results: ``numResults`` (service default 25, at most 500).
            context: ``context``: contextual metadata keyed by schema field name
                (``{"DEVICE_TYPE": "mobile"}``), at most 150 entries.
            filter_arn: ``filterArn``.
            filter_values: ``filterValues``, at most 25 entries.
            promotions: ``promotions`` (at most 1), each in boto3's camelCase form.
            metadata_columns: ``metadataColumns``.

        Returns:
            :class:`Recommendations`: ``item_ids`` best first, ``scores``, ``recommendation_id``.
            Not remembered: use :meth:`TrackingSession.get_recommendations` for that.

        Raises:
            botocore.exceptions.ClientError: the service refused the call
                (``InvalidInputException``, ``ResourceNotFoundException``, throttling after the
                client's retries...). Errors propagate: this is the application's request path.
            botocore.exceptions.BotoCoreError: connection errors, timeouts, missing credentials.
        """
        params = recommendation_params(
            campaign_arn=campaign_arn,
            recommender_arn=recommender_arn,
            user_id=user_id,
            item_id=item_id,
            num_results=num_results,
            context=context,
            filter_arn=filter_arn,
            filter_values=filter_values,
            promotions=promotions,
            metadata_columns=metadata_columns,
        )
        response = self._runtime.get().get_recommendations(**params)
        return Recommendations.from_response(response, policy=self._composer)

    def get_personalized_ranking(
        self,
        *,
        campaign_arn: str,
        input_list: Iterable[str | int],
        user_id: str | int,
        context: Mapping[str, str] | None = None,
        filter_arn: str | None = None,
        filter_values: Mapping[str, str] | None = None,
        metadata_columns: Mapping[str, Sequence[str]] | None = None,
    ) -> Recommendations:
        """Call ``personalize-runtime`` GetPersonalizedRanking, synchronously, on this thread.

        Args:
            campaign_arn: ``campaignArn``.
            input_list: ``inputList``: the item ids to rank (at most 500).
            user_id: ``userId``.
            context: ``context`` (see :meth:`get_recommendations`).
            filter_arn: ``filterArn``.
            filter_values: ``filterValues``.
            metadata_columns: ``metadataColumns``.

        Returns:
            :class:`Recommendations` with the items in ranked order.

        Raises:
            botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError: as
                :meth:`get_recommendations`.
        """
        params = ranking_params(
            campaign_arn=campaign_arn,
            input_list=input_list,
            user_id=user_id,
            context=context,
            filter_arn=filter_arn,
            filter_values=filter_values,
            metadata_columns=metadata_columns,
        )
        response = self._runtime.get().get_personalized_ranking(**params)
        return Recommendations.from_response(response, policy=self._composer)

    @property
    def runtime_client(self) -> Any:
        """The boto3 ``personalize-runtime`` client (built now if it was not given or built)."""
        return self._runtime.get()

    def _share_item_id(self, item_id: str) -> str:
        """The first equal item id string seen lately, so that queued events of a popular item
        share one string (~50 bytes less per event). At most ``max_queue_size`` ids are kept;
        then the table starts over. Dictionary operations only: safe without the lock."""
        shared = self._item_ids.get(item_id)
        if shared is not None:
            return shared
        if 0 < len(item_id) <= _MAX_ITEM_ID:  # track() trusts the ids kept: valid ones only
            self._remember_item_id(item_id)
        return item_id

    def _remember_item_id(self, item_id: str) -> str:
        """Keep ``item_id``, a valid item id, as the string to share (a miss of
        :meth:`_share_item_id`)."""
        if len(self._item_ids) >= self.max_queue_size:
            self._item_ids.clear()
        self._item_ids[item_id] = item_id
        return item_id

    def enqueue(self, event: Event) -> None:
        """Queue an already built :class:`Event` (see :meth:`Event.create`) for delivery.

        Raises:
            TypeError: the event's ``session_id`` is not a str, or its ``user_id`` neither a
                str nor None (an Event built with ``Event(...)`` is not checked).
            TrackerClosedError: the Tracker was closed (also when it closes while ``track()``
                waits for room with ``overflow="block"``; the event is then not counted).
        """
        self._check_fork()
        if type(event.session_id) is not str or not (
            event.user_id is None or type(event.user_id) is str
        ):
            raise TypeError(
                "enqueue() takes an Event whose session_id is a str and user_id a str or None "
                "(build it with Event.create)"
            )
        self._enqueue(event)

    def _check_fork(self) -> None:
        """Reset this process's state if it is a forked child that ran no fork hooks (with
        ``fork_check``; the hooks do it otherwise)."""
        if self._fork_check and self._pid != _getpid():
            self._after_fork()

    def _enqueue(self, event: Event) -> None:
        if self._direct:
            # The common case takes no lock: the event goes to the inbox, which a sender takes
            # into the buffer within _COLLECT_INTERVAL seconds, grouping it off the caller's
            # request path. This holds only while a sender is due to (counted in _collectors,
            # or asked to: _want_collector; both read after the append, see _wait_for_work)
            # and close() has not begun.
            inbox = self._inbox
            if len(inbox) + self._buffer.size < self.max_queue_size:
                inbox.append(event)
                if not (self._collectors or self._want_collector) or self._closed:
                    self._take_in(event)
                elif len(inbox) == _NUDGE_AT:
                    self._nudge()
                return
        if self._sync_block and self._is_full():
            self._pump(force=True, deadline=None, max_batches=1)  # make room on this thread
        problem = None
        start: list[threading.Thread] = []
        lock = self._lock
        lock.acquire()  # not ``with``: ~80 ns less on the caller's request path
        try:
            if self._closed:
                raise TrackerClosedError("track() called on a closed Tracker")
            self._drain()  # events queued earlier go first
            buffer = self._buffer
            # The common case, kept short (no spool, hence nothing being read back from one).
            if self._spool is None and buffer.size < self.max_queue_size:
                if (
                    buffer.add(self._group_key(event), event)
                    and len(self._sending) < self._concurrency.limit
                ):
                    self._work.notify()
            elif self._spool is not None and (self._spooled or self._refilling or self._is_full()):
                # Once spilling, events go to disk until the spool is drained: first in, first out.
                problem = self._spill([event], [_monotonic()])
            elif self._is_full() and not self._wait_for_room():
                if self._closed:  # close() ran while we waited: the event was never accepted
                    raise TrackerClosedError("the Tracker closed while track() waited for room")
                problem = f"the queue holds max_queue_size={self.max_queue_size} events"
            elif buffer.add(self._group_key(event), event):
                self._work.notify()
            # Counted here, with its outcome decided, so that stats() always balances.
            self._tracked += 1
            if problem is not None:
                self._dropped += 1
            elif not self._threads and not self.sync:
                start = self._plan_workers()  # started below, once the lock is released
        finally:
            lock.release()
        if start:
            self._launch(start)
        if problem is not None:
            self._report([FailedEvent(event, FailureReason.QUEUE_FULL, None, problem)])
        elif self.sync:
            self._pump(force=False, deadline=None)

    def _take_in(self, event: Event) -> None:
        """``event`` is in the inbox, but no sender is due to take it in, or close() began:
        take the inbox in now, on the caller's thread (and start the senders if none runs).

        Raises:
            TrackerClosedError: the Tracker closed before the event was taken in (it is taken
                back out of the inbox: never counted, never sent).
        """
        start: list[threading.Thread] = []
        with self._lock:
            if self._closed and self._retract(event):
                raise TrackerClosedError("track() called on a closed Tracker")
            self._drain(notify=True)
            if not self._threads and not self._closed:
                start = self._plan_workers()
            elif not self._collectors and not self._want_collector and not self._closed:
                # Events are coming: have a sender collect the next ones (see _wait_for_work).
                self._want_collector = True
                self._work.notify()
        if start:
            self._launch(start)

    def _nudge(self) -> None:
        """A batch's worth of events waits in the inbox: wake a sender to take it in and send
        what is ready now, rather than at its next collection. The caller (a web request, often
        at its end) then leaves the sender its idle time, as when track() found a batch full."""
        with self._lock:
            if len(self._sending) < self._concurrency.limit:
                self._work.notify()

    def _retract(self, event: Event) -> bool:
        """Remove ``event`` from the inbox if no one took it in yet (lock held). Other threads
        may append meanwhile, never remove: its position stays valid."""
        for position, queued in enumerate(list(self._inbox)):
            if queued is event:
                del self._inbox[position]
                return True
        return False

    def _group_key(self, event: Event) -> GroupKey:
        """The key of ``event``'s group: the session table's tuple when it holds the event's
        own strings (one tuple per session, and the table forgets the session when its group
        empties: see :meth:`_next_batch`), else a new one."""
        key = self._keys.get(event.session_id)
        if key is None or key[1] is not event.session_id or key[0] is not event.user_id:
            return (event.user_id, event.session_id)
        return key

    def _seal_inbox(self) -> None:
        """close() begins (lock held, ``_closed`` just set): take the inbox in for the last
        time. A track() that saw ``_closed`` false appended before this; any later one finds
        its event still in the inbox, takes it back and raises (see :meth:`_take_in`)."""
        self._drain(notify=True)
        self._sealed = True

    def _drain(self, notify: bool = False) -> int:
        """Take the inbox into the buffer, in arrival order (lock held); return how many
        events. Counted as tracked only now, so that stats() (which drains first) balances.
        Nothing is taken once close() began (see :meth:`_seal_inbox`).

        ``notify``: wake a sender if a batch became ready (or the buffer was empty).
        """
        inbox = self._inbox
        if not inbox or self._sealed:
            return 0
        add, group_key = self._buffer.add, self._group_key
        ready = False
        count = 0
        popleft = inbox.popleft
        try:
            while inbox:  # only a lock holder takes from the inbox; others may append meanwhile
                event = popleft()
                if add(group_key(event), event):
                    ready = True
                count += 1
        finally:
            self._tracked += count
        self._inbox_seen = _monotonic()
        if notify and ready and len(self._sending) < self._concurrency.limit:
            self._work.notify()
        return count

    def _is_full(self) -> bool:
        return self._buffer.size + len(self._inbox) + self._refilling >= self.max_queue_size

    def _wait_for_room(self) -> bool:
        """overflow="block": wait up to block_timeout for room (lock held); True if there is."""
        if self.overflow != "block" or self.sync or self.block_timeout <= 0:
            return False
        if not self._threads:
            self._start_workers()
        self._waiting_for_room += 1
        try:
            return (
                self._room.wait_for(lambda: not self._is_full() or self._closed, self.block_timeout)
                and not self._closed
                and not self._is_full()
            )
        finally:
            self._waiting_for_room -= 1

    def _spill(self, events: list[Event], tracked_at: list[float] | None = None) -> str | None:
        """Write events to the spool (lock held); return a problem if the disk refused them.

        ``tracked_at`` holds the monotonic time each event was tracked, kept on disk (as wall
        clock time) so that ``max_event_age`` still counts from ``track()``; default: now.
        """
        assert self._spool is not None
        now_mono, now_wall = _monotonic(), time.time()
        walls = (
            [now_wall] * len(events)
            if not tracked_at
            else [now_wall - (now_mono - t) for t in tracked_at]
        )
        try:
            self._spooled += self._spool.append(events, walls)
        except OSError as exc:
            return f"the spool could not be written ({exc})"
        return None

    def flush(self, timeout: float | None = None) -> bool:
        """Send the events pending now, without waiting for their batches to fill, and wait
        until each is delivered or failed.

        Events tracked by other threads while it waits are not forced out nor waited for (they
        fill their batches as usual), so a flush ends under steady traffic; events in the spool
        (``overflow="spill"``) are all waited for, the spool being first in, first out.

        Args:
            timeout: seconds to wait at most; ``None`` waits until done (retries are bounded by
                ``retry_deadline``).

        Returns:
            True if every event pending at the call was delivered or failed, False if the
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
                go to the spool (``overflow="spill"``: the next Tracker with the same
                ``spool_path`` delivers them), or fail with reason ``closed`` and are reported to
                ``on_failure`` and the dead-letter file (sender threads get
                up to 1 s more to record the batches they were retrying); a PutEvents call
                already on the wire finishes on its own and is accounted for when it does.

        After ``close()``, ``track()`` and ``flush()`` raise :class:`TrackerClosedError`.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._seal_inbox()
        _live_trackers.discard(self)
        self._shutdown(timeout)

    def stats(self) -> TrackerStats:
        """Return a consistent snapshot of the counters (see :class:`TrackerStats`)."""
        with self._lock:
            self._drain(notify=True)  # events in the inbox count as tracked and pending
            return TrackerStats(
                tracked=self._tracked,
                delivered=self._delivered,
                failed=sum(self._failed_by_reason.values()),
                dropped=self._dropped,
                pending=self._pending(),
                retried=self._retried,
                requests=self._requests,
                failed_by_reason=dict(self._failed_by_reason),
                spooled=self._spooled + self._refilling,
                recovered=self._recovered,
                impressions_truncated=self._composer.impressions_truncated,
                senders=0 if self.sync else self._concurrency.limit,
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
        """Send what was pending when called; wait until it is delivered or failed.

        Events tracked meanwhile by other threads are neither forced out nor waited for (so a
        flush ends under steady traffic), except those in the spool, which drains first in,
        first out.
        """
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        with self._lock:
            self._drain()
            self._buffer.force_pending()
            # Batches already on the wire hold events pending now too: wait for them as well
            # (the objects, not their ids: an id may be reused by a later batch).
            on_the_wire_before = list(self._on_the_wire.values())
            self._flush_awaits.update(self._on_the_wire)
            self._flush_waiters += 1  # from here on, events read back from the spool are forced
        try:
            if self.sync or not self._threads:
                # No worker threads (sync mode, or none started): deliver on this thread.
                self._pump(force=False, deadline=deadline)
            with self._lock:
                self._work.notify_all()
                done = self._idle.wait_for(
                    lambda: self._flushed(on_the_wire_before),
                    None if deadline is None else max(0.0, deadline - time.monotonic()),
                )
                # close() on another thread may have ended the wait, leaving events in the spool
                return done and not (self._stopping and (self._spooled or self._refilling))
        finally:
            with self._lock:
                self._flush_waiters -= 1

    def _flushed(self, on_the_wire_before: list[Batch[Event]]) -> bool:
        """Whether everything a flush waits for is done (lock held): the items forced in the
        buffer, the batches holding such items or already on the wire when the flush began, and
        the spool (first in, first out). Once close() has drained the queue (to the spool, or as
        failures), only the calls still on the wire remain to wait for."""
        wire = self._on_the_wire
        if any(wire.get(id(batch)) is batch for batch in on_the_wire_before):
            return False
        if any(batch.forced for batch in wire.values()):
            return False
        if self._stopping:
            return True
        return not (self._spooled or self._refilling or self._buffer.forced)

    def _pending(self) -> int:
        """Events not yet delivered, failed or dropped (lock held)."""
        return self._buffer.size + self._in_flight + self._refilling + self._spooled

    def _shutdown(self, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        if deadline is not None:
            self._sender.stop_waiting_at(deadline)  # retry waits end at the deadline
        flushed = self._flush(timeout)
        if not flushed:
            self._sender.stop_waiting_at(time.monotonic())  # and any still waiting, now
        failed: list[FailedEvent] = []
        with self._lock:
            if not flushed:
                self._aborting = True  # senders take no new batch: what is left is drained here
            # Anything still queued now (timeout passed) goes to the spool, or fails; counted in
            # this same critical section, so that stats() balances at every moment.
            self._drain()  # the last time: events queued after this are retracted by their callers
            batches = self._buffer.drain()
            leftovers = [e for batch in batches for e in batch.items]
            times = [t for batch in batches for t in batch.times]
            problem = None
            if leftovers and self._spool is not None:
                problem = self._spill(leftovers, times if len(times) == len(leftovers) else None)
            if leftovers and (self._spool is None or problem is not None):
                message = problem or "close() timed out before it was sent"
                failed = [FailedEvent(e, FailureReason.CLOSED, None, message) for e in leftovers]
                self._count_failures(failed)
            self._stopping = True
            self._work.notify_all()
            self._room.notify_all()
            self._idle.notify_all()  # a flush() on another thread re-checks: the queue is drained
            threads = list(self._threads)
        if failed:
            self._report(failed)
        # Senders interrupted in a retry wait record their batch (spooled, or failed with reason
        # closed) within moments: allow them _JOIN_GRACE seconds past the deadline. One still in
        # a PutEvents call is left to finish; its batch stays pending until it does, and the
        # spool stays open for it until then.
        grace_until = None if deadline is None else max(deadline, time.monotonic()) + _JOIN_GRACE
        spool = None
        with self._lock:
            self._idle.wait_for(
                lambda: self._in_flight == 0 and self._refilling == 0,
                None if grace_until is None else max(0.0, grace_until - time.monotonic()),
            )
            if self._in_flight == 0 and self._refilling == 0:
                spool, self._spool = self._spool, None
            else:
                self._close_spool_when_idle = True
        for thread in threads:
            # (a thread planned but not started yet cannot be joined: it sees the stop itself)
            if thread is not threading.current_thread() and thread.is_alive():
                thread.join(
                    None if grace_until is None else max(0.0, grace_until - time.monotonic())
                )
        if spool is not None:
            spool.close()  # what is left stays on disk, for the next process to deliver
        if self._dead_letters is not None:
            self._dead_letters.close()

    def _exit_flush(self) -> None:
        """Flush at interpreter exit, for at most ``exit_timeout`` seconds, starting no thread."""
        if self._pid != os.getpid():
            return
        with self._lock:
            if self._closed:  # close() ran, or runs now on another thread: it does the work
                return
            self._closed = True
            self._seal_inbox()
            self._room.notify_all()
        # Worker threads (daemons) may still run; either way this thread helps deliver, since
        # Python 3.12+ refuses to start threads at shutdown.
        deadline = time.monotonic() + self.exit_timeout
        self._sender.stop_waiting_at(deadline)
        self._pump(force=True, deadline=deadline)
        self._shutdown(max(0.0, deadline - time.monotonic()))
        self._abandon_in_flight()

    def _abandon_in_flight(self) -> None:
        """At interpreter exit: account for batches whose PutEvents call is still under way.

        Their sender threads die with the process, so they would vanish. They go to the spool
        (when it is still open) or fail with reason ``closed``; the call may in fact succeed, in
        which case the event arrives twice, harmlessly (same event ids).
        """
        failed: list[FailedEvent] = []
        with self._lock:
            batches = list(self._on_the_wire.values())
            self._on_the_wire.clear()
            for batch in batches:
                self._in_flight -= len(batch.items)
                if self._spool is not None and self._spill(batch.items) is None:
                    continue
                failed.extend(
                    FailedEvent(
                        e,
                        FailureReason.CLOSED,
                        None,
                        "the interpreter exited while its PutEvents call was under way "
                        "(outcome unknown)",
                    )
                    for e in batch.items
                )
            self._count_failures(failed)
            spool = None
            if self._close_spool_when_idle and self._in_flight == 0 and self._refilling == 0:
                spool, self._spool = self._spool, None
        if spool is not None:
            spool.close()  # release the lock: the next process adopts what is left
        if failed:
            self._report(failed)

    # ---------------------------------------------------------------------------------------
    # delivery

    def _start_workers(self) -> None:
        """Start the sender threads still wanted, lock held (see :meth:`_plan_workers`); for
        ``overflow="block"``, which waits for room right after."""
        self._launch(self._plan_workers(), locked=True)

    def _plan_workers(self) -> list[threading.Thread]:
        """The sender threads to start now (lock held): one per sender allowed to deliver, plus
        a spare that watches calls under way, up to ``max_workers`` in all. They are counted in
        ``_threads`` at once; the caller starts them with :meth:`_launch`, if it can after
        releasing the lock (``Thread.start()`` waits for the new thread to run).

        Threads start as the allowed number grows, and stay until close.
        """
        wanted = min(self.max_workers, self._concurrency.limit + 1)
        planned = []
        while len(self._threads) < wanted:
            thread = threading.Thread(
                target=self._worker,
                name=f"personalize-tracker-sender-{len(self._threads)}",
                daemon=True,
            )
            self._threads.append(thread)
            planned.append(thread)
        return planned

    def _launch(self, threads: list[threading.Thread], locked: bool = False) -> None:
        """Start planned sender threads (``locked``: the caller holds the lock). At interpreter
        shutdown Python refuses new threads: those are forgotten, and events wait for the exit
        flush, which delivers on the exiting thread."""
        for n, thread in enumerate(threads):
            try:
                thread.start()
            except RuntimeError:  # "can't create new thread at interpreter shutdown"
                if not locked:
                    self._lock.acquire()
                try:
                    for unstarted in threads[n:]:
                        if unstarted in self._threads:
                            self._threads.remove(unstarted)
                finally:
                    if not locked:
                        self._lock.release()
                return

    def _adapt_senders(self, wall: float | None, cpu: float = 0.0) -> list[threading.Thread]:
        """Feed the concurrency controller (lock held): a finished call's ``wall`` and sender
        ``cpu`` seconds, or ``wall=None`` from the sender watching calls under way. At a
        window's end the number of senders allowed may move: waiting senders are woken, and
        the threads to start are returned (to :meth:`_launch` once the lock is released)."""
        concurrency = self._concurrency
        if not (concurrency.due() if wall is None else concurrency.observe(wall, cpu)):
            return []
        before = concurrency.limit
        now = _monotonic()
        stalled = sum(1 for since in self._sending.values() if now - since > _STALLED)
        after = concurrency.adjust(self._buffer.has_ready(now, self._stopping), stalled)
        if after <= before or self._stopping:
            return []
        self._work.notify(after - before)
        return self._plan_workers()

    def _next_batch(self, force: bool) -> Batch[Event] | None:
        """Take a ready batch and count it in flight (lock held)."""
        if self._aborting:
            return None
        batch = self._buffer.take(time.monotonic(), force or self._stopping)
        if batch is not None:
            key = batch.key
            if self._keys.get(key[1]) is key and key not in self._buffer.groups:
                # The session has nothing pending: forget its strings (see track()).
                self._keys.pop(key[1], None)
            self._in_flight += len(batch.items)
            self._on_the_wire[id(batch)] = batch
            if self._waiting_for_room:
                self._room.notify(len(batch.items))  # room for as many callers as it frees
        return batch

    def _refill_due(self) -> int:
        """How many spooled events to read back now (lock held); reserves them."""
        if not self._spooled or self._refilling or self._spool is None or self._stopping:
            return 0
        if self._buffer.size > self.max_queue_size // 2:
            return 0
        count = min(self._spooled, self.max_queue_size - self._buffer.size, _REFILL_CHUNK)
        self._spooled -= count
        self._refilling += count
        return count

    def _refill(self, count: int) -> None:
        """Read ``count`` reserved events back from the spool into the queue (no lock held)."""
        spool = self._spool
        events: list[Event] = []
        walls: list[float] = []
        try:
            if spool is not None:
                events, walls = spool.read(count)
        except OSError as exc:
            logger.error("personalize-tracker: reading the spool failed: %s", exc)
        finally:
            # Whatever happened (even KeyboardInterrupt), the reservation is released and every
            # reserved event is accounted for: in the queue, back on disk, or failed.
            now_mono, now_wall = _monotonic(), time.time()
            with self._lock:
                self._refilling -= count
                lost = count - len(events)
                if lost:  # unreadable lines (each logged by the spool) or a read error
                    self._failed_by_reason["error"] = self._failed_by_reason.get("error", 0) + lost
                if self._stopping and self._spool is not None and self._spill(events) is None:
                    events, walls = [], []  # close() began meanwhile: they stay on disk
                for event, wall in zip(events, walls, strict=True):
                    self._buffer.add(
                        (event.user_id, event.session_id), event, now_mono - (now_wall - wall)
                    )
                if events and self._flush_waiters:  # they predate the flush: force them out too
                    self._buffer.force_pending()
                self._work.notify_all()
                if self._flush_waiters or (self._stopping and self._in_flight == 0):
                    self._idle.notify_all()
                spool = None
                if self._close_spool_when_idle and self._in_flight == 0 and self._refilling == 0:
                    spool, self._spool = self._spool, None
            if spool is not None:
                spool.close()

    def _worker(self) -> None:
        try:
            while True:
                refill, batch, start = self._wait_for_work()
                if start:
                    self._launch(start)
                if refill:
                    self._refill(refill)
                elif batch is not None:
                    self._deliver(batch, sender=True)
                elif not start:
                    return
        except BaseException:
            # Something escaped (on_failure calling sys.exit(), say): its batch is accounted
            # for already. The thread ends, and a new one takes its place.
            me = threading.current_thread()
            with self._lock:
                if me in self._threads:
                    self._threads.remove(me)
                start = [] if self._stopping or self._pid != os.getpid() else self._plan_workers()
            self._launch(start)
            raise

    def _wait_for_work(self) -> tuple[int, Batch[Event] | None, list[threading.Thread]]:
        """Block until there is spool to read back (a count), a batch to send, or sender
        threads to start; (0, None, []) means stop.

        A batch is taken only while fewer senders than allowed are delivering. While calls are
        under way, one waiting sender (the watcher) looks at the clock every window and feeds
        the controller, so that calls that hang or sleep in a retry backoff do not hold back the
        batches behind them; the other waiting senders sleep until woken.
        """
        me = threading.current_thread()
        with self._lock:
            try:
                while True:
                    if self._pid != os.getpid():
                        return 0, None, []  # a forked child's copy of this thread's state
                    # While events keep coming through the inbox, one waiting sender's waits are
                    # short and counted in _collectors, so that track() leaves events there (the
                    # watcher and the senders in a call count too: they look soon). When an
                    # inbox is found empty, it waits as long as it has to, uncounted: track()
                    # then takes the lock itself and wakes a sender if needed. _collectors is
                    # lowered (after the wait) before the inbox is looked at (here): a track()
                    # that still saw the count appended its event before this look.
                    self._drain()
                    collect = (
                        self._want_collector or _monotonic() - self._inbox_seen < _COLLECT_LINGER
                    )
                    refill = self._refill_due()
                    if refill:
                        return refill, None, []
                    limit = self._concurrency.limit
                    sending = self._sending
                    if len(sending) < limit:
                        batch = self._next_batch(force=False)
                        if batch is not None:
                            now = _monotonic()
                            sending[id(batch)] = now
                            self._collectors += 1  # it looks at the inbox when the call ends
                            if self._watcher is None or (
                                len(sending) < limit and self._buffer.has_ready(now, self._stopping)
                            ):
                                # wake another sender: to watch this call, or to send more
                                self._work.notify()
                            return 0, batch, []
                    if self._stopping:
                        return 0, None, []
                    if sending and self._watcher in (None, me):
                        self._watcher = me
                        self._collectors += 1  # it wakes every window anyway
                        self._want_collector = False
                        try:
                            self._work.wait(self._concurrency.window)
                        finally:
                            self._collectors -= 1
                        self._drain()  # so that the controller sees the batches waiting there
                        start = self._adapt_senders(None)
                        if start:
                            return 0, None, start
                    else:
                        if self._watcher is me:
                            self._watcher = None  # nothing under way to watch any more
                        # No room (others are sending): sleep until woken. Else until the next
                        # batch is due (it is not due yet: none was taken).
                        timeout = (
                            None
                            if len(sending) >= limit
                            else self._buffer.seconds_until_due(_monotonic())
                        )
                        if not collect or self._collector not in (None, me):
                            # One sender collects at a time: the others sleep, uncounted.
                            if self._collector is me:
                                self._collector = None
                            self._work.wait(timeout)
                            continue
                        self._collector = me
                        self._collectors += 1
                        self._want_collector = False
                        try:
                            self._work.wait(
                                _COLLECT_INTERVAL
                                if timeout is None
                                else min(timeout, _COLLECT_INTERVAL)
                            )
                        finally:
                            self._collectors -= 1
            finally:
                if self._collector is me:
                    # It leaves (with a batch, threads to start, or to stop): while events
                    # keep coming, another waiting sender takes the collecting over now.
                    self._collector = None
                    if not self._stopping and _monotonic() - self._inbox_seen < _COLLECT_LINGER:
                        self._work.notify()
                if self._watcher is me:
                    # Leaving the watch (a batch to send, threads to start, or stop): another
                    # waiting sender takes it over while calls are still under way.
                    self._watcher = None
                    if self._sending:
                        self._work.notify()

    def _pump(self, force: bool, deadline: float | None, max_batches: int | None = None) -> None:
        """Deliver ready batches on the calling thread until none is ready, ``deadline`` passes
        or ``max_batches`` were sent."""
        sent = 0
        while (deadline is None or time.monotonic() < deadline) and (
            max_batches is None or sent < max_batches
        ):
            with self._lock:
                self._drain()
                refill = self._refill_due()
                batch = None if refill else self._next_batch(force)
            if refill:
                self._refill(refill)
            elif batch is None:
                return
            else:
                self._deliver(batch)
                sent += 1

    def _deliver(self, batch: Batch[Event], sender: bool = False) -> None:
        """Send ``batch`` and record its outcome; ``sender``: called by a sender thread, which
        counted itself busy when it took the batch (its CPU time feeds the controller)."""
        user_id, session_id = batch.key
        events = batch.items
        outcome = DeliveryOutcome()
        if sender:
            wall, cpu = _monotonic(), _thread_time()
        try:
            self._sender.send(user_id, session_id, events, batch.times or None, outcome)
        except BaseException as exc:  # never lose count, even on KeyboardInterrupt
            # What was settled before the interruption stays settled; the rest fails.
            settled = {id(e) for e in outcome.delivered_events}
            settled.update(id(f.event) for f in outcome.failed)
            failed = outcome.failed + [
                FailedEvent(e, FailureReason.ERROR, type(exc).__name__, str(exc))
                for e in events
                if id(e) not in settled
            ]
            self._finish(batch, outcome.delivered, failed, len(events), sender=sender)
            raise
        if sender:
            # Waits for the rate limit or between retries are not the call's: left out.
            wall, cpu = _monotonic() - wall - outcome.waited, _thread_time() - cpu
            self._finish(batch, outcome.delivered, outcome.failed, len(events), (wall, cpu), True)
        else:
            self._finish(batch, outcome.delivered, outcome.failed, len(events))

    def _finish(
        self,
        batch: Batch[Event],
        delivered: int,
        failed: list[FailedEvent],
        taken: int,
        timing: tuple[float, float] | None = None,
        sender: bool = False,
    ) -> None:
        """Record a batch's outcome. ``sender``: a sender thread delivered it (it stops counting
        as busy); ``timing``: the call's (wall, CPU) seconds, for the concurrency controller."""
        start: list[threading.Thread] = []
        spool = None
        with self._lock:
            if sender:
                self._sending.pop(id(batch), None)
                self._collectors -= 1  # lowered before its next look (see _wait_for_work)
                if timing is not None:
                    self._drain()  # so that the controller sees the batches waiting there
                    start = self._adapt_senders(*timing)
            if self._on_the_wire.pop(id(batch), None) is None:
                failed = []  # abandoned at interpreter exit: already accounted for
            else:
                self._delivered += delivered
                self._in_flight -= taken
                if failed and self._spool is not None:
                    # Batches cut short by close() stay pending, on disk, for the next process.
                    closed = [f.event for f in failed if f.reason is FailureReason.CLOSED]
                    if closed and self._spill(closed) is None:
                        failed = [f for f in failed if f.reason is not FailureReason.CLOSED]
                self._count_failures(failed)
                awaited = False
                if self._flush_awaits:
                    awaited = id(batch) in self._flush_awaits
                    self._flush_awaits.discard(id(batch))
                # A flush is done at the earliest when no forced item is left in the buffer.
                flush_may_end = awaited or (batch.forced and not self._buffer.forced)
                if (self._flush_waiters and flush_may_end) or (
                    self._stopping and not self._in_flight
                ):
                    self._idle.notify_all()
                if self._close_spool_when_idle and self._in_flight == 0 and self._refilling == 0:
                    spool, self._spool = self._spool, None
        if start:
            self._launch(start)
        if spool is not None:
            spool.close()  # the last call close() left running has ended
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
            if self._flush_waiters:
                self._idle.notify_all()
        self._report(failed)

    def _report(self, failed: Sequence[FailedEvent]) -> None:
        """Write failures to the dead-letter file, then pass them to ``on_failure`` or log them
        (no lock held)."""
        if self._dead_letters is not None:
            try:
                self._dead_letters.write(failed)
            except OSError as exc:
                logger.error(
                    "personalize-tracker: could not write %d failed event(s) to %s: %s",
                    len(failed),
                    self._dead_letters.path,
                    exc,
                )
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
        renew_event_ids_after_fork()
        if self._own_client:
            self._client = self._build_client()
        if self._spool is not None:
            self._spool.abandon()  # the parent's spool stays the parent's
            self._spool = None
        if self._dead_letters is not None:  # its lock may have been held by a parent thread
            self._dead_letters = DeadLetterWriter(self._dead_letters.path, self.tracking_id)
        self._reset_state(in_child=True)


def _max_workers(max_workers: int | None, client: Any) -> int:
    """``max_workers`` checked, or its default: 32, or a given client's connection pool size
    (botocore's default is 10), since a sender beyond it would open and discard a connection
    per call. An explicit value above the pool size is logged at WARNING."""
    pool = getattr(
        getattr(getattr(client, "meta", None), "config", None), "max_pool_connections", None
    )
    if not isinstance(pool, int) or isinstance(pool, bool) or pool < 1:
        pool = None
    if max_workers is None:
        return DEFAULT_MAX_WORKERS if pool is None else min(DEFAULT_MAX_WORKERS, pool)
    _at_least("max_workers", max_workers, 1)
    if pool is not None and max_workers > pool:
        logger.warning(
            "personalize-tracker: max_workers=%d exceeds the client's max_pool_connections=%d: "
            "build the client with botocore.config.Config(max_pool_connections=%d)",
            max_workers,
            pool,
            max_workers,
        )
    return max_workers


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
