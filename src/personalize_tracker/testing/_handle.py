"""The recorded state and behaviour of the fake Personalize endpoints (no moto in here)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from ._datasets import DATASET_OPERATIONS, DatasetMembers, DatasetRecords
from ._operations import PUT_OPERATIONS, check_documented
from ._protocol import Response, ServiceError, decode_body, error_response
from ._records import RecordedEvent, RecordedRequest
from ._resources import CONTROL_PLANE, FakeResources
from ._runtime import DEFAULT_CATALOG, personalized_ranking, recommend
from ._validation import format_errors, operation_input_shape, validate

__all__ = ["FAULT_KINDS", "OPERATIONS", "PersonalizeEventsMock"]

#: Operation name -> (botocore service name, request path). All are ``POST``.
OPERATIONS: dict[str, tuple[str, str]] = {
    "PutEvents": ("personalize-events", "/events"),
    "PutUsers": ("personalize-events", "/users"),
    "PutItems": ("personalize-events", "/items"),
    "PutActions": ("personalize-events", "/actions"),
    "PutActionInteractions": ("personalize-events", "/action-interactions"),
    "GetRecommendations": ("personalize-runtime", "/recommendations"),
    "GetPersonalizedRanking": ("personalize-runtime", "/personalize-ranking"),
}

#: Fault kind -> (HTTP status, error code, default message). ``"slow"`` answers normally.
FAULT_KINDS: dict[str, tuple[int, str, str]] = {
    "throttling": (400, "ThrottlingException", "Rate exceeded"),
    "too_many_requests": (429, "TooManyRequestsException", "Too Many Requests"),
    "server_error": (
        500,
        "InternalFailure",
        "The request processing has failed because of an unknown error, exception or failure.",
    ),
    "unavailable": (503, "ServiceUnavailable", "Service Unavailable"),
    "invalid_input": (400, "InvalidInputException", "Invalid input (injected fault)."),
    "not_found": (404, "ResourceNotFoundException", "The requested resource was not found."),
    "access_denied": (
        403,
        "AccessDeniedException",
        "User is not authorized to perform this action (injected fault).",
    ),
    "resource_in_use": (409, "ResourceInUseException", "The resource is in use."),
    "slow": (200, "", ""),
}


@attrs.define(slots=True)
class _Fault:
    kind: str
    remaining: int
    operation: str | None
    message: str | None
    delay: float


@attrs.define(slots=True)
class _Rejection:
    predicate: Callable[[RecordedEvent], bool]
    message: str | None


class PersonalizeEventsMock(DatasetMembers):
    """Handle on the fake Personalize event and runtime endpoints: records and fault controls.

    Thread-safe: the HTTP server answers on its own threads while a test reads the records.
    Created by :func:`mock_personalize_events` and :func:`serve_personalize_events`; it is not
    meant to be constructed directly. Besides ``.events``, it keeps the records of the other
    Put* calls: ``.items``, ``.users``, ``.actions`` and ``.action_interactions``, with their
    ``wait_for_*`` and ``reject_*`` (see :class:`DatasetMembers`).

    Attributes:
        endpoint_url: ``"http://127.0.0.1:<port>"`` in server mode, ``None`` in process.
        resources: the dataset groups, datasets, event trackers, solutions, campaigns and
            recommenders the fake knows (:class:`FakeResources`), created here or through the
            ``personalize`` control-plane calls.
        strict_resources: when ``True``, data-plane calls must name resources that exist and
            are ``ACTIVE`` in :attr:`resources` (404 ``ResourceNotFoundException`` otherwise,
            as the service answers); when ``False`` (the default) any name is accepted. May be
            changed at any time.
    """

    def __init__(self, endpoint_url: str | None = None, *, strict_resources: bool = False) -> None:
        """Create an empty handle.

        Args:
            endpoint_url: the server's base URL, or ``None`` in process.
            strict_resources: see :attr:`strict_resources`.
        """
        self.endpoint_url = endpoint_url
        self.resources = FakeResources()
        self.strict_resources = strict_resources
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._closed = threading.Event()
        self._requests: list[RecordedRequest] = []
        self._events: list[RecordedEvent] = []
        self._datasets = DatasetRecords(self._changed)
        self._faults: list[_Fault] = []
        self._rejections: list[_Rejection] = []
        self._catalog: tuple[str, ...] = DEFAULT_CATALOG

    def __repr__(self) -> str:
        with self._lock:
            counts = f"requests={len(self._requests)}, events={len(self._events)}"
        return f"PersonalizeEventsMock(endpoint_url={self.endpoint_url!r}, {counts})"

    # ------------------------------------------------------------------ records

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every call received, accepted or not, in arrival order (a snapshot copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def events(self) -> list[RecordedEvent]:
        """Every event of every accepted PutEvents call, in arrival order (a snapshot copy)."""
        with self._lock:
            return list(self._events)

    def wait_for_events(self, n: int, timeout: float | None = 5.0) -> bool:
        """Block until at least ``n`` events were accepted, or ``timeout`` passes.

        Args:
            n: number of accepted events to wait for.
            timeout: the most to wait, in seconds; ``None`` waits without limit.

        Returns:
            ``True`` if ``n`` events are recorded, ``False`` on timeout.
        """
        with self._changed:
            return self._changed.wait_for(lambda: len(self._events) >= n, timeout)

    def wait_for_requests(self, n: int, timeout: float | None = 5.0) -> bool:
        """Block until at least ``n`` calls (accepted or not) were received, or ``timeout`` passes.

        Args:
            n: number of calls to wait for.
            timeout: the most to wait, in seconds; ``None`` waits without limit.

        Returns:
            ``True`` if ``n`` calls are recorded, ``False`` on timeout.
        """
        with self._changed:
            return self._changed.wait_for(lambda: len(self._requests) >= n, timeout)

    # ------------------------------------------------------------------ controls

    def inject_fault(
        self,
        kind: str,
        *,
        times: int = 1,
        operation: str | None = "PutEvents",
        message: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Make the next ``times`` calls to ``operation`` fail (or be slow).

        Faults are queued: ``inject_fault("throttling", times=2)`` then
        ``inject_fault("server_error")`` answers two throttles, one 500, then normally. A faulted
        call is recorded in :attr:`requests` but its events are not accepted.

        Kinds: ``"throttling"`` (400 ThrottlingException), ``"too_many_requests"``
        (429 TooManyRequestsException), ``"server_error"`` (500 InternalFailure),
        ``"unavailable"`` (503 ServiceUnavailable), ``"invalid_input"``
        (400 InvalidInputException), ``"not_found"`` (404 ResourceNotFoundException),
        ``"access_denied"`` (403 AccessDeniedException), ``"resource_in_use"``
        (409 ResourceInUseException) and ``"slow"`` (answers normally after ``delay``).

        Args:
            kind: one of the kinds above.
            times: how many calls the fault applies to (at least 1).
            operation: the operation it applies to, e.g. ``"PutEvents"`` or
                ``"GetRecommendations"``; ``None`` for any operation.
            message: the error message to answer instead of the default.
            delay: seconds to wait before answering (any kind; the point of ``"slow"``).
                :meth:`reset` and leaving the context cut the wait short.

        Raises:
            ValueError: unknown ``kind`` or ``operation``, ``times < 1`` or ``delay < 0``.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if operation is not None and operation not in OPERATIONS:
            raise ValueError(
                f"unknown operation {operation!r}; expected None or one of {sorted(OPERATIONS)}"
            )
        if times < 1:
            raise ValueError(f"times must be at least 1, not {times}")
        if delay < 0:
            raise ValueError(f"delay must be >= 0 seconds, not {delay}")
        with self._lock:
            self._faults.append(_Fault(kind, times, operation, message, float(delay)))

    def reject_events(
        self, predicate: Callable[[RecordedEvent], bool], *, message: str | None = None
    ) -> None:
        """Fail every PutEvents call that contains an event matching ``predicate``.

        Like the real service, the whole call fails (400 InvalidInputException) and none of its
        events are accepted; the message names the offending event's index in ``eventList``
        (0-based) and its ``eventId``, so a client has to split the batch to deliver the others.
        The rule stays until :meth:`reset`.

        Args:
            predicate: called with each event of the call, as a :class:`RecordedEvent`; a true
                result poisons the call. It runs on the server's thread in server mode; an
                exception it raises is answered as 500 InternalFailure.
            message: text added to the error message (default: "rejected by test predicate").
        """
        with self._lock:
            self._rejections.append(_Rejection(predicate, message))

    def set_catalog(self, item_ids: Iterable[str]) -> None:
        """Set the item ids the runtime fake recommends and ranks from.

        Args:
            item_ids: the catalogue (duplicates are dropped, order is irrelevant). The default
                is ``item-0`` ... ``item-999``.

        Raises:
            ValueError: if ``item_ids`` is empty or holds a non-string.
        """
        catalog = tuple(dict.fromkeys(item_ids))
        if not catalog or not all(isinstance(item, str) and item for item in catalog):
            raise ValueError("the catalogue must be a non-empty collection of non-empty strings")
        with self._lock:
            self._catalog = catalog

    def reset(self) -> None:
        """Forget all records (events, items, users...), pending faults and rejection rules, and
        restore the catalogue. The resources stay (``resources.clear()`` forgets them).

        A call currently held by a ``delay`` is answered at once.
        """
        with self._lock:
            self._requests.clear()
            self._events.clear()
            self._datasets.clear()
            self._faults.clear()
            self._rejections.clear()
            self._catalog = DEFAULT_CATALOG
            self._changed.notify_all()
            # Wake calls sleeping in a delay, then re-arm for future delays.
            self._closed.set()
            self._closed = threading.Event()

    def close(self) -> None:
        """Cut short any call held by a ``delay`` (called when the context exits)."""
        self._closed.set()

    # ------------------------------------------------------------------ serving

    def serve(self, operation: str, region: str, body: bytes) -> Response:
        """Answer one call; used by the moto hook. Never raises.

        Args:
            operation: a key of :data:`OPERATIONS`.
            region: the region the call was addressed to.
            body: the raw request body.

        Returns:
            ``(status, headers, body)`` as moto expects from a URL handler.
        """
        service = OPERATIONS[operation][0]
        request_id = str(uuid.uuid4())
        params: dict[str, Any] = {}
        try:
            decode_error: ServiceError | None = None
            try:
                params = decode_body(body)
            except ServiceError as exc:
                decode_error = exc
            fault = self._take_fault(operation)  # faults come first, as throttling does
            if fault is not None:
                if fault.delay > 0:
                    with self._lock:
                        closed = self._closed
                    closed.wait(fault.delay)
                if fault.kind != "slow":
                    status, code, default = FAULT_KINDS[fault.kind]
                    raise ServiceError(status, code, fault.message or default)
            if decode_error is not None:
                raise decode_error
            response = self._answer(service, operation, region, params, request_id)
        except ServiceError as exc:
            return self._error(service, operation, region, params, request_id, exc)
        except Exception as exc:  # a bug or a failing predicate: answer, never crash moto
            error = ServiceError(500, "InternalFailure", f"{type(exc).__name__}: {exc}")
            return self._error(service, operation, region, params, request_id, error)
        # "If the action is successful, the service sends back an HTTP 200 response with an
        # empty HTTP body." (the API reference of each Put* operation)
        text = "" if operation in PUT_OPERATIONS else json.dumps(response)
        return 200, self._headers(request_id), text

    def serve_control_plane(self, operation: str, region: str, body: bytes) -> Response:
        """Answer one ``personalize`` control-plane call of :data:`CONTROL_PLANE` (not
        recorded in :attr:`requests`); used by the moto hook. Never raises.

        Args:
            operation: e.g. ``"CreateEventTracker"``.
            region: the region the call was addressed to.
            body: the raw request body (AWS JSON 1.1).

        Returns:
            ``(status, headers, body)``; errors in the shape of :func:`error_response`.
        """
        try:
            if operation not in CONTROL_PLANE:
                raise ServiceError(400, "UnknownOperationException", f"Unknown {operation}")
            params = decode_body(body)
            errors = validate(operation_input_shape("personalize", operation), params)
            if errors:
                raise ServiceError(400, "InvalidInputException", format_errors(errors))
            answer = self.resources.call(operation, params, region)
        except ServiceError as exc:
            return error_response(exc, json_1_1=True)
        except Exception as exc:  # a bug: answer, never crash moto
            error = ServiceError(500, "InternalFailure", f"{exc!r}")
            return error_response(error, json_1_1=True)
        headers = {"Content-Type": "application/x-amz-json-1.1"}
        headers["x-amzn-RequestId"] = str(uuid.uuid4())
        return 200, headers, json.dumps(answer)

    def _take_fault(self, operation: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.operation is None or fault.operation == operation:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    @staticmethod
    def _headers(request_id: str) -> dict[str, str]:
        return {"Content-Type": "application/json", "x-amzn-RequestId": request_id}

    def _error(
        self,
        service: str,
        operation: str,
        region: str,
        params: dict[str, Any],
        request_id: str,
        error: ServiceError,
    ) -> Response:
        record = RecordedRequest(
            operation=operation,
            params=params,
            status=error.status,
            error_code=error.code,
            region=region,
            service=service,
            error_message=error.message,
            request_id=request_id,
        )
        with self._changed:
            self._requests.append(record)
            self._changed.notify_all()
        headers = self._headers(request_id)
        headers["x-amzn-ErrorType"] = error.code
        return error.status, headers, json.dumps({"message": error.message})

    def _answer(
        self,
        service: str,
        operation: str,
        region: str,
        params: dict[str, Any],
        request_id: str,
    ) -> dict[str, Any]:
        errors = validate(operation_input_shape(service, operation), params)
        if errors:
            raise ServiceError(400, "InvalidInputException", format_errors(errors))
        check_documented(operation, params)
        if self.strict_resources:
            self._check_resources(operation, params)
        events: list[RecordedEvent] = []
        records: list[Any] = []
        response: dict[str, Any] = {}
        if operation in DATASET_OPERATIONS:
            records = self._datasets.receive(operation, params)
        elif operation == "PutEvents":
            events = [RecordedEvent.from_wire(params, event) for event in params["eventList"]]
            self._check_rejections(events)
        elif operation == "GetRecommendations":
            with self._lock:
                catalog = self._catalog
            response = recommend(params, catalog)
        elif operation == "GetPersonalizedRanking":
            response = personalized_ranking(params)
        record = RecordedRequest(
            operation=operation,
            params=params,
            status=200,
            error_code=None,
            region=region,
            service=service,
            request_id=request_id,
            response=response,
        )
        with self._changed:
            self._requests.append(record)
            self._events.extend(events)
            if records:
                self._datasets.add(operation, records)
            self._changed.notify_all()
        return response

    def _check_rejections(self, events: list[RecordedEvent]) -> None:
        with self._lock:
            rejections = list(self._rejections)
        for rejection in rejections:
            for index, event in enumerate(events):
                if rejection.predicate(event):
                    reason = rejection.message or "rejected by test predicate"
                    raise ServiceError(
                        400,
                        "InvalidInputException",
                        f"Invalid event at index {index} of eventList "
                        f"(eventId={event.event_id!r}): {reason}",
                    )

    def _check_resources(self, operation: str, params: dict[str, Any]) -> None:
        """In strict mode: what the call names must exist and be ACTIVE (404 otherwise)."""
        resources = self.resources
        tracking_id = params.get("trackingId")
        if tracking_id is not None and not resources.active_tracking_id(tracking_id):
            raise ServiceError(
                404,
                "ResourceNotFoundException",
                f"No ACTIVE event tracker has the tracking ID {tracking_id}.",
            )
        for member, kind in _NAMED_RESOURCES:
            arn = params.get(member)
            if arn is not None and not resources.active(kind, arn):
                raise ServiceError(
                    404, "ResourceNotFoundException", f"Resource {arn} does not exist."
                )


# The ARN members of the data-plane calls and the kind of resource each names.
_NAMED_RESOURCES = (
    ("datasetArn", "dataset"),
    ("campaignArn", "campaign"),
    ("recommenderArn", "recommender"),
)
