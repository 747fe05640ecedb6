"""The pipeline of PutEvents: events grouped by (user id, session id), 10 to a call, through a
boto3 ``personalize-events`` client (the user's, or one built here)."""

from __future__ import annotations

import functools
import logging
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import boto3

from .._config import Options
from .._delivery.putevents import PutEventsTransport, build_client
from .._failure import FailedEvent
from .._limits import LIMITS
from .._record.compose import EventComposer
from .._record.event import Event
from .._record.ids import renew_event_ids_after_fork
from .._record.shared import GroupKey, SharedIds
from ..typing import EventTransport, SchemaCheck, TargetRules, Transport
from .pipeline import Codec, Pipeline

if TYPE_CHECKING:  # imported when a Tracker has a target (~3 ms at import otherwise)
    from .._outcomes.tally import DeliveredTally
    from .._record.target import TargetCheck

__all__ = ["TRANSPORT_NAMES", "EventPipeline", "event_letter", "event_pipeline"]

_log = logging.getLogger("personalize_tracker")

#: What ``transport=`` accepts as a string: the PutEvents transport to use with the client the
#: Tracker builds ("lean": the lean request, or an error saying why it cannot be used;
#: "boto3": the client's own ``put_events``).
TRANSPORT_NAMES = ("lean", "boto3")


class EventPipeline(Pipeline[Event, GroupKey]):
    """A :class:`Pipeline` of events through PutEvents. With a Tracker's target, ``tally``
    counts what it delivered and ``target_check`` checks events at the call (else both None:
    nothing is counted, delivery costs no more)."""

    tally: DeliveredTally | None
    target_check: TargetCheck | None

    @property
    def client(self) -> Any:
        """The boto3 ``personalize-events`` client in use (the lean transport's too: it sends
        what this client would send)."""
        return cast(PutEventsTransport, self.transport).client


def event_letter(tracking_id: str) -> Callable[[Event], dict[str, Any]]:
    """The record part of an event's dead letter: ``trackingId``, ``sessionId``, ``userId`` and
    ``event`` (the PutEvents event as sent), the shape ``personalize-tracker resend`` reads."""

    def letter(event: Event) -> dict[str, Any]:
        return {
            "trackingId": tracking_id,
            "sessionId": event.session_id,
            "userId": event.user_id,
            "event": event.to_put_events(),
        }

    return letter


def _decode(record: Mapping[str, Any]) -> Event:
    return Event.from_dict(record, validate=False)  # the spool's own lines: trusted


# A Tracker's schema, truncate_impressions, metric_attribution_source, target and strict.
_Composing = tuple["SchemaCheck | None", bool, "str | None", "TargetRules | None", bool]


def event_pipeline(
    options: Options,
    *,
    tracking_id: str,
    client: Any,
    session: boto3.Session | None,
    region_name: str | None,
    endpoint_url: str | None,
    on_failure: Callable[[Sequence[FailedEvent]], None] | None,
    composing: _Composing = (None, False, None, None, False),
    transport: EventTransport | str | None = None,
) -> tuple[EventPipeline, EventComposer]:
    """Compose the pipeline of one Tracker, and the composer its events are built with.

    Args:
        options: the Tracker's checked options.
        tracking_id: the event tracker's ``trackingId``.
        client: a boto3 ``personalize-events`` client to use as is, or None to build one from
            ``session``, ``region_name`` and ``endpoint_url`` (rebuilt in a forked child).
        on_failure: the Tracker's ``on_failure``, or None.
        composing: the Tracker's ``schema``, ``truncate_impressions``, ``metric_attribution_source``
            (see ``EventComposer``), ``target`` (a ``readiness.Target``, or None) and ``strict``
            (``allow_placeholder_ids`` is in ``options``).
        transport: a transport to use instead of PutEvents (e.g. ``KinesisTransport``): its
            ``group_key`` and ``batch_size`` replace the (user, session) groups of 10, and its
            ``renewed()`` replaces it in a forked child; ``client`` is then unused. Or one of
            :data:`TRANSPORT_NAMES`: ``"lean"`` sends the client the pipeline builds through
            the lean transport (``_delivery/lean``), ``"boto3"`` through its ``put_events``;
            None: lean when the pipeline builds the client and nothing hooked into it would be
            skipped (else boto3, logged), a given ``client`` as is.

    Both share one :class:`SharedIds`: the composer shares the id strings of the events it
    builds, and its session table gives the pipeline its group keys.

    Raises:
        ValueError: no AWS region is known for the client built here; both ``client`` and
            ``transport`` given; an unknown transport name; ``"lean"`` when it cannot be used
            (the message says why).
        InvalidEventError: the ``metric_attribution_source`` breaks the PutEvents pattern.
        OSError: the spool cannot be opened.
    """
    ids = SharedIds(options.max_queue_size)
    build = functools.partial(
        build_client,
        session=session,
        region_name=region_name,
        endpoint_url=endpoint_url,
        max_workers=options.max_workers,
    )
    schema, truncate_impressions, metric_attribution_source, target, strict = composing
    composer = EventComposer(
        schema,
        truncate_impressions,
        metric_attribution_source,
        ids,
        allow_placeholder_ids=options.allow_placeholder_ids,
    )
    check, tally = _target_parts(target, strict)
    on_delivered = None if tally is None else tally.add
    mode, transport = _transport_mode(transport, client)
    if transport is not None:
        if client is not None:
            raise ValueError("pass either client= (PutEvents) or transport=, not both")
        pipeline = _transport_pipeline(
            options, transport, ids, tracking_id, on_failure, composer, on_delivered
        )
        return _attach(pipeline, composer, check, tally), composer

    def built() -> Transport[Event, GroupKey]:  # also a forked child's
        return _built_transport(build(), tracking_id, mode)

    sender = PutEventsTransport(client, tracking_id) if client is not None else built()
    rebuild = built if client is None else None
    reports = (on_failure, on_delivered)
    pipeline = _put_events_pipeline(options, sender, rebuild, ids, tracking_id, reports)
    return _attach(pipeline, composer, check, tally), composer


def _put_events_pipeline(
    options: Options,
    sender: Transport[Event, GroupKey],
    rebuild: Callable[[], Transport[Event, GroupKey]] | None,
    ids: SharedIds,
    tracking_id: str,
    reports: tuple[
        Callable[[Sequence[FailedEvent]], None] | None, Callable[[Sequence[Event]], None] | None
    ],
) -> EventPipeline:
    """The PutEvents pipeline of ``sender``: events grouped by (user, session), 10 to a call;
    ``rebuild`` makes the transport of a forked child (None: ``sender`` is kept); ``reports``
    are the pipeline's ``on_failure`` and ``on_delivered``."""
    codec: Codec[Event, GroupKey] = Codec(
        key=ids.key_of,
        batch_size=LIMITS.max_events_per_call,
        encode=Event.to_dict,
        decode=_decode,
        letter=event_letter(tracking_id),
        record_id=operator.attrgetter("event_id"),
        forget=ids.forget,
        watch=ids.watch,
    )

    def on_fork() -> None:
        renew_event_ids_after_fork()  # before any id is drawn in the child
        ids.clear()

    return EventPipeline(
        options,
        sender,
        codec,
        on_failure=reports[0],
        name="PutEvents",
        rebuild_transport=rebuild,
        on_fork=on_fork,
        on_delivered=reports[1],
    )


def _transport_mode(
    transport: EventTransport | str | None, client: Any
) -> tuple[str | None, EventTransport | None]:
    """``transport=`` split into a transport name (or None) and a transport object (or None).

    Raises:
        ValueError: a string that is not in :data:`TRANSPORT_NAMES`; a name with ``client``.
    """
    if not isinstance(transport, str):
        return None, transport
    if transport not in TRANSPORT_NAMES:
        raise ValueError(
            f"transport={transport!r} is not a transport: pass one of {TRANSPORT_NAMES} or a "
            "transport object (e.g. kinesis.KinesisTransport)"
        )
    if client is not None:
        raise ValueError(
            f"transport={transport!r} chooses how the client the Tracker builds is used; a "
            "client= is used as is (its put_events): pass one or the other"
        )
    return transport, None


def _built_transport(client: Any, tracking_id: str, mode: str | None) -> Transport[Event, GroupKey]:
    """The PutEvents transport of the client the pipeline built: lean unless ``mode`` is
    ``"boto3"``, or the lean path cannot honour the client (then boto3, logged; or, when
    ``mode`` is ``"lean"``, a ``ValueError`` saying why)."""
    if mode == "boto3":
        return PutEventsTransport(client, tracking_id)
    from .._delivery.lean import LeanUnsupported, lean_put_events  # once a client is built

    try:
        return lean_put_events(client, tracking_id)
    except LeanUnsupported as exc:
        if mode == "lean":
            raise ValueError(f"transport='lean' cannot be used: {exc}") from None
        _log.info("PutEvents through the boto3 client, not the lean transport: %s", exc)
        return PutEventsTransport(client, tracking_id)


def _target_parts(
    target: TargetRules | None, strict: bool
) -> tuple[TargetCheck | None, DeliveredTally | None]:
    """The check at the call and the tally of deliveries of a Tracker's target (imported only
    then), or ``(None, None)``."""
    if target is None:
        return None, None
    from .._outcomes.tally import DeliveredTally
    from .._record.target import TargetCheck

    return TargetCheck(target, strict), DeliveredTally()


def _attach(
    pipeline: EventPipeline,
    composer: EventComposer,
    check: TargetCheck | None,
    tally: DeliveredTally | None,
) -> EventPipeline:
    """Give the composer the target check, the pipeline both, and the composer the fork check."""
    if check is not None:
        composer.add_target(check)
    pipeline.tally, pipeline.target_check = tally, check
    if pipeline.options.fork_check:  # the composer checks before an event id is drawn
        composer.check_fork = pipeline.check_fork
    return pipeline


def _transport_pipeline(
    options: Options,
    transport: EventTransport,
    ids: SharedIds,
    tracking_id: str,
    on_failure: Callable[[Sequence[FailedEvent]], None] | None,
    composer: EventComposer,
    on_delivered: Callable[[Sequence[Event]], None] | None,
) -> EventPipeline:
    """:func:`event_pipeline` through a given transport, grouped and sized as it says."""
    codec: Codec[Event, Any] = Codec(
        key=transport.group_key,
        batch_size=transport.batch_size,
        encode=Event.to_dict,
        decode=_decode,
        letter=event_letter(tracking_id),
        record_id=operator.attrgetter("event_id"),
    )
    current = [transport]
    ids.keep_checked = True  # its groups are the transport's, not sessions: keep them all

    def rebuild() -> Transport[Event, Any]:
        current[0] = current[0].renewed()
        return current[0]

    def on_fork() -> None:
        renew_event_ids_after_fork()  # before any id is drawn in the child
        ids.clear()

    return EventPipeline(
        options,
        transport,
        codec,
        on_failure=on_failure,
        name=type(transport).__name__,
        rebuild_transport=rebuild,
        on_fork=on_fork,
        on_delivered=on_delivered,
    )
