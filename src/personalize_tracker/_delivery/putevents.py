"""PutEvents through boto3: the transport that sends one batch of events of one (user, session),
the translation of botocore's errors into :class:`~personalize_tracker._errors.SendError`, and
the ``personalize-events`` client the Tracker builds for itself.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import botocore.serialize
import botocore.utils

from .._errors import SendError
from .._record.event import Event
from .._record.shared import GroupKey

__all__ = ["PutEventsTransport", "build_client", "put_events_params", "send_error"]

# Error codes retried whatever their HTTP status.
_THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
    }
)
# Error codes never retried, whatever their HTTP status.
_FINAL_CODES = frozenset(
    {
        "InvalidInputException",
        "ResourceNotFoundException",
        "AccessDeniedException",
        "AccessDenied",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "ResourceInUseException",
    }
)
_INVALID = "InvalidInputException"
# What botocore raises for a parameter it cannot serialise (a record's own fault, found before
# anything is sent): one record's problem, not the batch's.
_UNSENDABLE = (ValueError, TypeError, OverflowError)


def send_error(exc: BaseException) -> SendError:
    """What an exception raised by a boto3 call means for delivery.

    Retryable: throttling codes (``ThrottlingException``, ``TooManyRequestsException``, …), HTTP
    429 and 5xx answers, and botocore connection errors and timeouts. Invalid (the batch is
    split until the record at fault stands alone, and only it fails, with reason ``invalid``):
    ``InvalidInputException``, and a record the client cannot turn into a request (botocore's
    ``ParamValidationError``, or a ``ValueError``/``TypeError``/``OverflowError`` raised while
    serialising: a value out of range, a NaN, a lone surrogate in an ``Event`` built without
    checks). Rejected: every other error answer (``ResourceNotFoundException``, access-denied
    and credential errors…). Anything else (e.g. ``NoCredentialsError``) is a local error.
    """
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "Unknown")
        message = str(error.get("Message") or exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        throttled = code in _THROTTLING_CODES or status == 429
        retryable = code not in _FINAL_CODES and (throttled or status >= 500)
        invalid = code == _INVALID
        return SendError(
            code,
            message,
            retryable=retryable,
            invalid=invalid,
            throttled=throttled,
            rejected=not (retryable or invalid),
        )
    retryable = isinstance(
        exc, (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)
    )
    invalid = isinstance(exc, _UNSENDABLE) and not isinstance(
        exc, botocore.exceptions.BotoCoreError
    )
    if isinstance(exc, botocore.exceptions.ParamValidationError):
        invalid = True
    return SendError(type(exc).__name__, str(exc), retryable=retryable, invalid=invalid)


def put_events_params(
    tracking_id: str,
    key: GroupKey,
    records: Sequence[Event],
    entry: Callable[[Event], dict[str, Any]] = Event.to_put_events,
) -> dict[str, Any]:
    """The parameters of one PutEvents call, in the order both transports send them:
    ``trackingId``, ``sessionId``, ``userId`` (left out for an anonymous visitor, a None user
    id), ``eventList`` (``entry`` of each record; boto3's parameter form by default)."""
    user_id, session_id = key
    params: dict[str, Any] = {"trackingId": tracking_id, "sessionId": session_id}
    if user_id is not None:
        params["userId"] = user_id
    params["eventList"] = [entry(event) for event in records]
    return params


class PutEventsTransport:
    """Sends one batch of events through ``put_events`` of a boto3 ``personalize-events`` client.

    Args:
        client: the client (thread-safe; shared by every sender thread).
        tracking_id: the event tracker's ``trackingId``.

    A batch is 1-10 events of one ``(user_id, session_id)``: the call's ``userId`` (left out
    for an anonymous visitor) and ``sessionId``.
    """

    __slots__ = ("client", "tracking_id")

    def __init__(self, client: Any, tracking_id: str) -> None:
        self.client = client
        self.tracking_id = tracking_id

    def send(self, key: GroupKey, records: Sequence[Event]) -> None:
        """Call PutEvents once for ``records``.

        Raises:
            SendError: the call failed (see :func:`send_error`).
        """
        params = put_events_params(self.tracking_id, key, records)
        try:
            self.client.put_events(**params)
        except Exception as exc:
            raise send_error(exc) from exc


def _millisecond_sent_at(serializer_kwargs: dict[str, Any], **_: Any) -> None:
    """``creating-serializer`` handler: serialise timestamps (``sentAt``) with milliseconds.

    botocore 1.40.76 added the ``creating-serializer`` event and a handler doing the same
    (``botocore.handlers.enable_millisecond_timestamp_precision``); botocore 1.44 dropped that
    handler but kept the event and the serializer option, so we set the option ourselves.
    """
    serializer_kwargs["timestamp_precision"] = getattr(
        botocore.serialize, "TIMESTAMP_PRECISION_MILLISECOND", "millisecond"
    )


# botocore's own UTC tzinfo (dateutil's tzutc singleton): a datetime in it converts to it as is.
_UTC = botocore.utils.parse_to_aware_datetime("1970-01-01T00:00:00Z").tzinfo
_from_timestamp = _dt.datetime.fromtimestamp


def _aware(entry: Any) -> Any:
    """``entry`` with a numeric ``sentAt`` as an aware UTC datetime (same microseconds).

    Raises:
        ValueError: ``sentAt`` is out of the datetime range (an ``Event`` built without
            checks): the record's own fault, so only it fails (see :func:`send_error`).
    """
    if type(entry) is dict:
        sent_at = entry.get("sentAt")
        if type(sent_at) is float or type(sent_at) is int:
            try:
                return {**entry, "sentAt": _from_timestamp(sent_at, _UTC)}
            except (ValueError, OverflowError, OSError):  # botocore would raise RuntimeError
                raise ValueError(f"sentAt {sent_at!r} is out of range for a timestamp") from None
    return entry


def _aware_sent_at(params: dict[str, Any], **_: Any) -> None:
    """``before-parameter-build`` handler of PutEvents: ``sentAt`` as an aware UTC datetime.

    botocore turns a number into a datetime through ``parse_to_aware_datetime``, which builds a
    dateutil ``tzlocal()`` and converts through it: ~10 us per event, about a tenth of a
    PutEvents call's CPU. A datetime already in its UTC passes straight through (~2 us) and is
    serialised to the same milliseconds. The caller's dicts are copied, never changed.
    """
    events = params.get("eventList")
    if type(events) is list:
        params["eventList"] = [_aware(entry) for entry in events]


def build_client(
    *,
    session: boto3.Session | None,
    region_name: str | None,
    endpoint_url: str | None,
    max_workers: int,
) -> Any:
    """Build the ``personalize-events`` client the Tracker uses when not given one.

    - botocore's own retries are set to a single attempt: tenacity retries instead, so the two
      layers do not multiply;
    - the connection pool holds ``max_workers`` connections, one per sender thread;
    - ``sentAt`` is serialised with millisecond precision (botocore's default is whole seconds);
    - botocore's parameter validation is off: ``track()`` already checked every field against the
      same service model, including the maxima botocore does not check;
    - a numeric ``sentAt`` reaches botocore's serializer as an aware UTC datetime (the same
      milliseconds on the wire, a quarter of the CPU).
    """
    session = session if session is not None else boto3.Session()
    session.events.register(
        "creating-serializer.personalize-events",
        _millisecond_sent_at,
        unique_id="personalize_tracker.millisecond_sent_at",
    )
    config = botocore.config.Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        max_pool_connections=max(10, max_workers),
        parameter_validation=False,
        connect_timeout=5,
        read_timeout=15,
        tcp_keepalive=True,
        user_agent_extra="personalize-tracker",
    )
    try:
        client = session.client(
            "personalize-events", region_name=region_name, endpoint_url=endpoint_url, config=config
        )
    except botocore.exceptions.NoRegionError:
        raise ValueError(
            "no AWS region for the personalize-events client: pass region_name= (or the "
            "session's), or set AWS_REGION / AWS_DEFAULT_REGION, or a region in ~/.aws/config"
        ) from None
    client.meta.events.register(
        "before-parameter-build.personalize-events.PutEvents",
        _aware_sent_at,
        unique_id="personalize_tracker.aware_sent_at",
    )
    return client
