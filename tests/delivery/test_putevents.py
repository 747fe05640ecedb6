"""The PutEvents transport: botocore errors as ``SendError`` flags, and the call's parameters."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)

from personalize_tracker import Event
from personalize_tracker._delivery.putevents import PutEventsTransport, send_error
from personalize_tracker._errors import SendError


def client_error(code: str | None, status: int, message: str = "boom") -> ClientError:
    error: dict[str, Any] = {"Message": message}
    if code is not None:
        error["Code"] = code
    return ClientError(
        {"Error": error, "ResponseMetadata": {"HTTPStatusCode": status}},  # type: ignore[typeddict-item]
        "PutEvents",
    )


def flags(error: SendError) -> dict[str, bool]:
    return {
        "retryable": error.retryable,
        "invalid": error.invalid,
        "throttled": error.throttled,
        "rejected": error.rejected,
    }


RETRY_THROTTLED = {"retryable": True, "invalid": False, "throttled": True, "rejected": False}
RETRY = {"retryable": True, "invalid": False, "throttled": False, "rejected": False}
INVALID = {"retryable": False, "invalid": True, "throttled": False, "rejected": False}
REJECTED = {"retryable": False, "invalid": False, "throttled": False, "rejected": True}
LOCAL = {"retryable": False, "invalid": False, "throttled": False, "rejected": False}


# ---------------------------------------------------------------------------------------------
# send_error


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ThrottlingException", 400, RETRY_THROTTLED),
        ("TooManyRequestsException", 400, RETRY_THROTTLED),
        ("SlowDown", 503, RETRY_THROTTLED),
        ("SomethingElse", 429, RETRY_THROTTLED),
        ("InternalFailure", 500, RETRY),
        ("ServiceUnavailable", 503, RETRY),
        ("InvalidInputException", 400, INVALID),
        ("ResourceNotFoundException", 404, REJECTED),
        ("AccessDeniedException", 403, REJECTED),
        ("UnrecognizedClientException", 400, REJECTED),
        ("ValidationException", 400, REJECTED),  # any other error answer
    ],
)
def test_client_errors_are_classified(code: str, status: int, expected: dict[str, bool]) -> None:
    error = send_error(client_error(code, status, "the message"))
    assert flags(error) == expected
    assert error.code == code
    assert error.message == "the message"


@pytest.mark.parametrize(
    ("code", "expected"),
    [("InvalidInputException", INVALID), ("AccessDeniedException", REJECTED)],
)
def test_final_codes_are_never_retried_whatever_the_status(
    code: str, expected: dict[str, bool]
) -> None:
    assert flags(send_error(client_error(code, 500))) == expected
    assert flags(send_error(client_error(code, 503))) == expected


def test_an_error_answer_without_a_code_is_unknown_and_rejected() -> None:
    error = send_error(client_error(None, 400))
    assert error.code == "Unknown"
    assert error.rejected


@pytest.mark.parametrize(
    "exc",
    [
        EndpointConnectionError(endpoint_url="https://personalize-events.invalid"),
        ConnectTimeoutError(endpoint_url="https://personalize-events.invalid"),
        ReadTimeoutError(endpoint_url="https://personalize-events.invalid"),
    ],
)
def test_connection_errors_and_timeouts_are_retryable(exc: Exception) -> None:
    error = send_error(exc)
    assert flags(error) == RETRY
    assert error.code == type(exc).__name__
    assert error.message == str(exc)


@pytest.mark.parametrize("exc", [NoCredentialsError(), RuntimeError("local trouble")])
def test_other_exceptions_are_local_errors(exc: Exception) -> None:
    error = send_error(exc)
    assert flags(error) == LOCAL
    assert error.code == type(exc).__name__


@pytest.mark.parametrize(
    "exc",
    [
        ParamValidationError(report="Invalid type for parameter eventList[0].eventValue"),
        ValueError("Invalid value NaN (not a number)"),
        TypeError("Object of type object is not JSON serializable"),
        OverflowError("date value out of range"),
        UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"),
    ],
)
def test_a_request_the_client_cannot_build_is_invalid_so_the_batch_is_split(
    exc: Exception,
) -> None:
    """Raised while serialising one record's values: the record's own fault, so the sender
    splits the batch until it stands alone and only it fails (reason invalid)."""
    error = send_error(exc)
    assert flags(error) == INVALID
    assert error.code == type(exc).__name__


def test_a_numeric_sent_at_out_of_the_datetime_range_is_the_records_own_error() -> None:
    """The built client's hook turns a numeric sentAt into a datetime; out of range it raises
    ValueError (botocore alone would raise RuntimeError, a local error for the whole batch)."""
    from personalize_tracker._delivery.putevents import _aware_sent_at

    params: dict[str, Any] = {"eventList": [{"eventId": "e", "sentAt": 1e20}]}
    with pytest.raises(ValueError, match="out of range") as raised:
        _aware_sent_at(params)
    assert flags(send_error(raised.value)) == INVALID


# ---------------------------------------------------------------------------------------------
# PutEventsTransport


class FakeEventsClient:
    """A ``personalize-events`` client that records ``put_events`` calls and raises ``fault``."""

    def __init__(self, fault: Exception | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fault = fault

    def put_events(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        if self.fault is not None:
            raise self.fault
        return {}


def events(user_id: str | None, count: int = 2) -> list[Event]:
    return [
        Event.create(
            "click",
            "s1",
            user_id=user_id,
            item_id=f"i{n}",
            properties={"page": n},
            sent_at=1_714_564_800.0 + n,
        )
        for n in range(count)
    ]


def test_send_calls_put_events_with_the_key_and_every_event_in_order() -> None:
    client = FakeEventsClient()
    batch = events("u1", 3)
    PutEventsTransport(client, "tracking-1").send(("u1", "s1"), batch)
    assert client.calls == [
        {
            "trackingId": "tracking-1",
            "sessionId": "s1",
            "userId": "u1",
            "eventList": [event.to_put_events() for event in batch],
        }
    ]
    assert [e["itemId"] for e in client.calls[0]["eventList"]] == ["i0", "i1", "i2"]


def test_an_anonymous_visitor_has_no_user_id_in_the_call() -> None:
    client = FakeEventsClient()
    batch = events(None)
    PutEventsTransport(client, "t").send((None, "s1"), batch)
    assert "userId" not in client.calls[0]
    assert client.calls[0]["sessionId"] == "s1"
    assert client.calls[0]["eventList"] == [event.to_put_events() for event in batch]


def test_a_client_error_becomes_a_send_error_with_its_cause() -> None:
    fault = client_error("ThrottlingException", 400, "Rate exceeded")
    transport = PutEventsTransport(FakeEventsClient(fault), "t")
    with pytest.raises(SendError) as raised:
        transport.send(("u1", "s1"), events("u1"))
    assert raised.value.__cause__ is fault
    assert raised.value.code == "ThrottlingException"
    assert raised.value.message == "Rate exceeded"
    assert raised.value.throttled
    assert raised.value.retryable


def test_a_local_client_exception_becomes_a_local_send_error() -> None:
    fault = NoCredentialsError()
    transport = PutEventsTransport(FakeEventsClient(fault), "t")
    with pytest.raises(SendError) as raised:
        transport.send(("u1", "s1"), events("u1"))
    assert raised.value.__cause__ is fault
    assert raised.value.code == "NoCredentialsError"
    assert flags(raised.value) == LOCAL
