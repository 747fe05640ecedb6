"""The Tracker: the thin facade of a pipeline. Options become a checked configuration,
``track()`` validates an event and queues it (its fast path is inline: it is the hot path), and
``flush()``, ``close()`` and ``stats()`` delegate to the pipeline that the Tracker composes
(``_pipeline``: intake → delivery → outcomes; see ``docs/architecture.md``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import boto3

from ._config import (
    DEFAULT_DATASET_REQUESTS_PER_SECOND,
    DEFAULT_EXIT_TIMEOUT,
    DEFAULT_MAX_REQUESTS_PER_SECOND,
    DEFAULT_MAX_WORKERS,
    DEFAULT_RECOMMENDATION_MEMORY,
    DEFAULT_RECOMMENDATION_TTL,
    Options,
    OverflowPolicy,
)
from ._kinds import DatasetCalls, KindPipelines, check_kinds
from ._limits import LIMITS
from ._pipeline import EventPipeline, event_pipeline
from ._pipeline.clients import ClientSource
from ._pipeline.pipeline import Pipeline
from ._readiness_calls import ReadinessCalls
from ._recommendation_calls import RecommendationCalls, RuntimeClientSource
from ._record.compose import EventComposer
from ._record.event import Event, new_event
from ._record.fields import (
    MAX_EVENT_TYPE,
    check_attribution_source,
    check_impression,
    check_number,
    check_sent_at,
    check_text,
)
from ._record.ids import event_ids
from ._record.properties import encode_properties
from ._record.shared import GroupKey
from .typing import Composer, EventTransport, FailureHandler, PropertiesInput, SentAtInput

if TYPE_CHECKING:  # imported on first use: a Tracker that only tracks never needs them
    from .readiness import Target
    from .schema import DatasetSchema, InteractionsSchema
    from .session import TrackingSession

__all__ = [
    "DEFAULT_EXIT_TIMEOUT",
    "DEFAULT_MAX_REQUESTS_PER_SECOND",
    "DEFAULT_MAX_WORKERS",
    "FailureHandler",
    "OverflowPolicy",
    "Tracker",
]

_ids = event_ids
_time = time.time
_MAX_EVENT_ID = LIMITS.event_id_max
_MAX_RECOMMENDATION_ID = LIMITS.recommendation_id_max


def _check_arguments(client: Any, session: Any, endpoint_url: Any, schema: Any) -> None:
    """The Tracker's arguments that ``Options`` does not hold.

    Raises:
        ValueError: ``client=`` with ``session=``/``endpoint_url=``, or a ``schema`` that is not
            an :class:`InteractionsSchema`.
    """
    if client is not None and (session is not None or endpoint_url is not None):
        raise ValueError("pass either client= or session=/endpoint_url=, not both")
    if schema is None:
        return
    from .schema import DatasetSchema, InteractionsSchema  # a schema was built: imported

    if not isinstance(schema, InteractionsSchema) or isinstance(schema, DatasetSchema):
        raise ValueError(
            f"schema must be an InteractionsSchema, got {type(schema).__name__} "
            "(use InteractionsSchema.from_json or .from_arn)"
        )


_session_class: type[TrackingSession] | None = None


def _load_session_class() -> type[TrackingSession]:
    """TrackingSession, imported at the first ``session()`` (with recommendations.py)."""
    global _session_class
    from .session import TrackingSession

    _session_class = TrackingSession
    return TrackingSession


class Tracker(DatasetCalls, RecommendationCalls, ReadinessCalls):
    """Collects interaction events and delivers them to Amazon Personalize through PutEvents.

    ``track()`` validates an event, stamps its ``eventId`` and ``sentAt`` and queues it: it never
    waits on the network (unless ``sync=True``). Background sender threads group pending events by
    (user id, session id), send at most 10 of a group per PutEvents call (the API's limit), retry
    throttling, 5xx and connection errors with full-jitter exponential backoff, and split a batch
    the service rejects so that only the invalid event fails. Every tracked event ends delivered,
    failed (with a reason, passed to ``on_failure``), dropped (queue full, also passed to
    ``on_failure``) or is still pending; :meth:`stats` shows the counts. ``docs/tracker.md`` has
    the whole reference.

    Args:
        tracking_id: the event tracker's ``trackingId`` (1-256 characters).
        client: a boto3 ``personalize-events`` client to use as is (its own retry, timeout,
            connection-pool and timestamp settings apply).
        session: a ``boto3.Session`` to build the client from (default: a new default session).
        region_name: AWS region of the built client (default: the session's).
        endpoint_url: endpoint of the built client, e.g. a local test endpoint.
        flush_interval: seconds (> 0) the oldest pending event of a session may wait for its
            batch to fill; a full batch leaves within about 20 ms.
        max_queue_size: events held in memory (>= 1; threads tracking at the same instant may
            pass it by one event each). Past it, ``overflow`` decides.
        max_workers: sender threads, i.e. calls in flight, at most (>= 1; how many are used
            adapts: ``stats().senders``). Default 32, or a given ``client``'s pool size.
        max_attempts: PutEvents calls per batch at most, the first included (>= 1); calls
            made during an outage (see ``docs/delivery-guarantees.md``) do not count.
        max_backoff: cap in seconds of one wait between attempts, and between an outage's
            probe calls (> 0).
        retry_deadline: seconds after a batch's first attempt past which it is not retried
            (> 0): what bounds a batch during an outage.
        overflow: an event that does not fit: ``"drop"`` it (reason ``queue_full``), ``"block"``
            the caller up to ``block_timeout`` seconds, then drop it, or ``"spill"`` it to disk.
        block_timeout: seconds (>= 0) ``track()`` may wait for room with ``overflow="block"``.
        spool_path: the spool folder of ``overflow="spill"``; events left in it when the process
            ends are delivered by the next Tracker given the same folder.
        dead_letter_path: a JSON Lines file receiving every failed or dropped event (reason,
            AWS error, the event as sent); ``personalize-tracker resend`` sends it again.
        max_requests_per_second: PutEvents calls per second at most (> 0; it drops to 70% on
            throttling and recovers over ~30 s), or ``None``. Default 950: the quota is about
            1000 per second per dataset group, shared by the processes feeding it.
        max_event_age: seconds (> 0) after ``track()`` past which an undelivered event fails
            with reason ``expired``; ``None``: no limit.
        sync: deliver on the caller's thread (scripts, notebooks, AWS Lambda); no threads.
        on_failure: called with each group of failed or dropped records (:class:`FailedEvent`;
            ``.event`` an ``Event``, or an ``Item``, ``User``... of the other kinds), on the thread
            where it happened; exceptions it raises are logged. It must not call ``flush()`` or
            ``close()``. Default: a WARNING log line (ids, reason, AWS error; never a user id).
        schema: an :class:`InteractionsSchema` every event is also checked against.
        truncate_impressions: keep the first 25 distinct ids of a longer ``impression`` instead
            of raising (counted in ``stats().impressions_truncated``).
        metric_attribution_source: default ``eventAttributionSource`` of every event.
        runtime_client: a boto3 ``personalize-runtime`` client for :meth:`get_recommendations`
            (default: built at first use from ``session``, ``region_name``, ``endpoint_url``).
        exit_timeout: seconds (>= 0) the flush at interpreter exit may take (all record kinds
            together).
        target: a :class:`Target` each event is checked against (``strict``: raise); readiness().
        fork_check: compare the process id on every ``track()`` (~0.2 µs), for a fork that runs
            no Python hooks (uWSGI without ``py-call-osafterfork``); ``None``: on under uWSGI.
        transport: where events go instead of PutEvents (not with ``client``), e.g. a
            ``kinesis.KinesisTransport`` (``docs/fleet.md``); ``delivered``: accepted by it.
            Or ``"lean"`` (the default for the client it builds: the same request, built without
            botocore's per-call machinery, ``docs/performance.md``) or ``"boto3"``.
        allow_placeholder_ids: accept ids that are the text of a missing value (``"null"``,
            ``"None"``, ``"undefined"``, ``"nan"``, any case, or blank), which ``track()``,
            ``put_item()``... refuse by default: the service accepts them, and the records of
            every visitor (or item) whose id went missing become one's.
        items_dataset_arn: the ARN of the Items dataset :meth:`put_item` writes to (PutItems),
            through ``client`` (or one built as for events), even with ``transport``; each
            record kind has a pipeline of its own.
        users_dataset_arn: the same for the Users dataset (:meth:`put_user`, PutUsers).
        actions_dataset_arn: the same for the Actions dataset (:meth:`put_action`, PutActions).
        items_schema: a :class:`DatasetSchema` each item's properties are checked against.
        users_schema: the same for users.
        actions_schema: the same for actions.
        dataset_requests_per_second: PutItems, PutUsers and PutActions calls per second at
            most, per dataset (> 0; adaptive on throttling as for events), or ``None``. Default
            9: the quota is 10 per second (Amazon Personalize quotas page). Action interactions
            (:meth:`track_action`) share ``max_requests_per_second``'s value, with a limiter of
            their own.

    Raises:
        ValueError: an argument is out of range (the message names it), a dataset schema is
            not of its dataset's kind, or no AWS region is known for the client the Tracker
            builds.
        InvalidEventError: ``tracking_id`` is empty or longer than 256 characters, or a
            dataset ARN is not one (the service model's ``datasetArn`` pattern).

    The Tracker is thread-safe. Use it as a context manager, or call :meth:`close`, to deliver what
    is pending; at interpreter exit pending events get a flush bounded by ``exit_timeout``.
    """

    _composer: EventComposer
    _pipeline: EventPipeline

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
        transport: EventTransport | Literal["lean", "boto3"] | None = None,
        allow_placeholder_ids: bool = False,
        target: Target | None = None,
        strict: bool = False,
        items_dataset_arn: str | None = None,
        users_dataset_arn: str | None = None,
        actions_dataset_arn: str | None = None,
        items_schema: DatasetSchema | None = None,
        users_schema: DatasetSchema | None = None,
        actions_schema: DatasetSchema | None = None,
        dataset_requests_per_second: float | None = DEFAULT_DATASET_REQUESTS_PER_SECOND,
    ) -> None:
        check_text(tracking_id, "tracking_id", LIMITS.tracking_id_max)
        options = Options.checked(
            client=client,
            flush_interval=flush_interval,
            max_queue_size=max_queue_size,
            max_workers=max_workers,
            max_attempts=max_attempts,
            max_backoff=max_backoff,
            retry_deadline=retry_deadline,
            overflow=overflow,
            block_timeout=block_timeout,
            spool_path=spool_path,
            dead_letter_path=dead_letter_path,
            max_requests_per_second=max_requests_per_second,
            max_event_age=max_event_age,
            sync=sync,
            exit_timeout=exit_timeout,
            fork_check=fork_check,
            allow_placeholder_ids=allow_placeholder_ids,
        )
        _check_arguments(client, session, endpoint_url, schema)
        arns = (items_dataset_arn, users_dataset_arn, actions_dataset_arn)
        schemas = (items_schema, users_schema, actions_schema)
        check_kinds(arns, schemas, dataset_requests_per_second)
        self.tracking_id, self._options = tracking_id, options
        self._pipeline, self._composer = event_pipeline(
            options,
            tracking_id=tracking_id,
            client=client,
            session=session,
            region_name=region_name,
            endpoint_url=endpoint_url,
            on_failure=on_failure,
            composing=(schema, truncate_impressions, metric_attribution_source, target, strict),
            transport=transport,
        )
        self._expose(options)
        self._kinds = KindPipelines(
            options, tracking_id, arns, schemas,
            ClientSource(client, session, region_name, endpoint_url, *self._shared(transport)),
            dataset_requests_per_second, on_failure, self._pipeline,
        )  # fmt: skip
        self._runtime = RuntimeClientSource(
            runtime_client,
            session=session,
            region_name=region_name,
            endpoint_url=endpoint_url,
            events_client=client,
        )

    def _expose(self, options: Options) -> None:
        """The options, as attributes for reading (setting them has no effect), and what
        track()'s fast path reads."""
        self.flush_interval = options.flush_interval
        self.max_queue_size = options.max_queue_size
        self.max_workers = options.max_workers
        self.overflow: OverflowPolicy = options.overflow
        self.block_timeout = options.block_timeout
        self.max_requests_per_second = options.max_requests_per_second
        self.sync = options.sync
        self.exit_timeout = options.exit_timeout
        self._fork_check = options.fork_check
        self._ids = self._composer.ids  # the shared id strings, read by track()'s fast path
        self._keys, self._item_ids = self._ids.sessions, self._ids.items
        self._plain = self._composer.plain  # no schema, no truncation: track()'s fast path
        self._default_source = self._composer.metric_attribution_source

    def _shared(self, transport: EventTransport | str | None) -> tuple[Any, str | None]:
        """The PutEvents client the other kinds share until a fork (None with a transport
        object), and the transport's name ("lean", "boto3") or None."""
        if isinstance(transport, str):
            return self._pipeline.client, transport
        return (None if transport is not None else self._pipeline.client), None

    def _kind_check_fork(self, pipeline: Pipeline[Any, str]) -> None:
        self._pipeline.check_fork()  # a fork that ran no Python hooks: reset before an id
        pipeline.check_fork()  # is drawn

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
            event_type: ``eventType``, e.g. ``"click"``.
            session_id: ``sessionId``: events of one session and user share PutEvents calls.
            user_id: ``userId``, or ``None`` for an anonymous visitor.
            item_id: ``itemId`` of the item interacted with.
            event_value: ``eventValue``: a finite number (e.g. a rating), not a bool.
            properties: contextual metadata: a mapping of Interactions schema field names (any
                case: ``DEVICE_TYPE``, ``deviceType``; sent as camelCase) to str, number or bool
                values (a list is a multi-valued field, joined with ``"|"``), or a JSON object
                string; at most 1024 characters once encoded.
            sent_at: an aware ``datetime`` or epoch seconds; default now. Sent with milliseconds.
            event_id: ``eventId``; default a new unique id (retries never count twice).
            recommendation_id: ``recommendationId`` of the list the item came from (implicit
                impressions), at most 40 characters.
            impression: ``impression``: 1-25 ids of the items shown alongside (explicit
                impressions); order kept, repeats removed.
            metric_attribution_source: ``eventAttributionSource``, printable ASCII, at most 1024
                characters (default: the Tracker's).

        Ids and the event type are 1-256 characters; an int or UUID id is converted to str.

        Returns:
            The queued :class:`Event` (frozen), with ``event_id`` and ``sent_at`` set.

        Raises:
            InvalidEventError: an argument breaks a PutEvents rule (a ``ValueError`` naming the
                field, the problem and the limit). Nothing is queued.
            TrackerClosedError: the Tracker was closed.
        """
        if self._fork_check:
            self._pipeline.check_fork()  # before the event id is drawn: ids must differ
        if metric_attribution_source is None:
            metric_attribution_source = self._default_source
        if not self._plain:  # a schema or truncation: the composer builds it
            event = self._composer.build(
                event_type, session_id, user_id, item_id, event_value,
                self._composer.properties(properties), sent_at, event_id, recommendation_id,
                impression, metric_attribution_source)  # fmt: skip
            self._pipeline.put(event)
            return event
        # The fast path: Event.create's checks, inlined (~180 ns less per call), in the same
        # order (a test holds them to it). Ids are shared with the events queued before (the
        # events of one session share its id strings, those of one item its item id: ~150 bytes
        # less per queued event); shared ids were checked when first seen.
        if type(event_type) is not str or not 0 < len(event_type) <= MAX_EVENT_TYPE:
            event_type = check_text(event_type, "event_type", MAX_EVENT_TYPE)
        elif not event_type.isascii():  # counted in UTF-16 units; a lone surrogate is refused
            check_text(event_type, "event_type", MAX_EVENT_TYPE)
        known = self._keys.get(session_id) if type(session_id) is str else None
        if known is not None and (
            known[0] is user_id or (type(user_id) is str and known[0] == user_id)
        ):
            user_id, session_id = known
        else:  # a new session, or a visitor who logged in (a new user id)
            user_id, session_id = self._new_session(session_id, user_id)
        if item_id is not None:
            shared = self._item_ids.get(item_id) if type(item_id) is str else None
            item_id = self._new_item(item_id) if shared is None else shared
        event = new_event(
            event_type, session_id, _time() if sent_at is None else check_sent_at(sent_at),
            next(_ids.ids) if event_id is None else check_text(event_id, "event_id", _MAX_EVENT_ID),
            user_id, item_id,
            None if event_value is None else check_number(event_value, "event_value"),
            None if properties is None else encode_properties(properties),
            None if recommendation_id is None
            else check_text(recommendation_id, "recommendation_id", _MAX_RECOMMENDATION_ID),
            None if impression is None else check_impression(impression),
            None if metric_attribution_source is None
            else check_attribution_source(metric_attribution_source),
        )  # fmt: skip
        self._pipeline.put(event)
        return event

    def _new_session(self, session_id: str | int, user_id: str | int | None) -> GroupKey:
        """track()'s fast path met a session it does not know (or a new user id for it)."""
        return self._ids.check_session(session_id, user_id, self._options.allow_placeholder_ids)

    def _new_item(self, item_id: str | int) -> str:
        """track()'s fast path met an item id it does not know: check it and keep it."""
        return self._ids.check_item(item_id, self._options.allow_placeholder_ids)

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

        The arguments are :class:`TrackingSession`'s: the visitor's ``userId`` (``None`` while
        anonymous), its ``sessionId`` (default a new UUID4), the ``context`` merged into every
        event's ``properties``, the default attribution source, and how many recommendation
        lists it remembers (>= 0) for how many seconds (> 0).

        Raises:
            InvalidEventError: an id, the context or the source breaks a PutEvents or schema rule.
            ValueError: ``max_recommendations`` or ``recommendation_ttl`` is out of range.
        """
        return (_session_class or _load_session_class())(
            self,
            user_id,
            session_id,
            context,
            metric_attribution_source,
            max_recommendations=max_recommendations,
            recommendation_ttl=recommendation_ttl,
        )

    @property
    def composer(self) -> Composer:
        """The Tracker's event-building policy: its schema, impression truncation and default
        attribution source, as a :class:`~personalize_tracker.typing.Composer` (what a
        :class:`TrackingSession` builds its events with)."""
        return self._composer

    def enqueue(self, event: Event) -> None:
        """Queue an already built :class:`Event` (see :meth:`Event.create`) for delivery.

        Raises:
            TypeError: the event's ``session_id`` is not a str, or its ``user_id`` neither a
                str nor None (an Event built with ``Event(...)`` is not checked).
            TrackerClosedError: the Tracker was closed (also when it closes while ``track()``
                waits for room with ``overflow="block"``; the event is then not counted).
        """
        if self._fork_check:  # a fork that ran no Python hooks (uWSGI): reset first
            self._pipeline.check_fork()
        if type(event.session_id) is not str or not (
            event.user_id is None or type(event.user_id) is str
        ):
            raise TypeError(
                "enqueue() takes an Event whose session_id is a str and user_id a str or None "
                "(build it with Event.create)"
            )
        self._pipeline.put(event)

    # ---------------------------------------------------------------------------------------
    # configuration and state

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (or the exit flush began)."""
        return self._pipeline.closed

    @property
    def client(self) -> Any:
        """The boto3 ``personalize-events`` client in use (with the lean transport, handlers
        registered on it later do not run: ``transport="boto3"``; ``docs/performance.md``)."""
        return self._pipeline.client

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
        state = "closed" if self.closed else "sync" if self.sync else "open"
        return f"<Tracker tracking_id={self.tracking_id!r} {state}>"
