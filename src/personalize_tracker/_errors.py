"""Exceptions raised by personalize-tracker."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["InvalidEventError", "PartialSendError", "SendError", "TrackerClosedError"]


class InvalidEventError(ValueError):
    """An event argument breaks a PutEvents rule; raised by ``track()`` before anything is queued.

    Attributes:
        field: the ``track()`` argument at fault, in snake_case (``"properties"``,
            ``"impression[3]"``, ``"properties.deviceType"``).
        problem: what is wrong with the value, in words.
        limit: the rule it breaks and where that rule comes from (the PutEvents API), or ``None``.

    The message never repeats the value of a sensitive field (user ids, item ids, properties),
    only its type or length, so it is safe to log.
    """

    field: str
    problem: str
    limit: str | None

    def __init__(self, field: str, problem: str, limit: str | None = None) -> None:
        self.field = field
        self.problem = problem
        self.limit = limit
        message = f"{field}: {problem}"
        if limit:
            message += f" (limit: {limit})"
        super().__init__(message)


class TrackerClosedError(RuntimeError):
    """``track()`` (or ``flush()``) was called on a Tracker after ``close()``."""


class SendError(Exception):
    """A :class:`~personalize_tracker.typing.Transport` call failed: what it means for delivery.

    Transports turn their client's exceptions into this one, so that the part that retries and
    splits batches needs to know no client library.

    Attributes:
        code: the service's error code (``"ThrottlingException"``, ``"InvalidInputException"``…)
            or the client exception's class name for a local error (``"EndpointConnectionError"``).
        message: the service's (or the client's) message.
        retryable: a later attempt may succeed: throttling, HTTP 429 and 5xx answers, connection
            errors and timeouts.
        invalid: the service rejected a record of the batch (``InvalidInputException``): the
            batch is split until the offending record stands alone.
        throttled: the service asked to slow down (the rate limit backs off).
        rejected: the service refused the call for good (not retryable, not one record's
            fault: an unknown tracking id, access denied); False for a local error.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retryable: bool = False,
        invalid: bool = False,
        throttled: bool = False,
        rejected: bool = False,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable
        self.invalid = invalid
        self.throttled = throttled
        self.rejected = rejected


class PartialSendError(SendError):
    """A call that reports failures per record (Kinesis PutRecords): the records it lists failed
    on their own, every other record of the call was delivered.

    The sender settles each record: the delivered ones, those that failed for good (with the
    reason their own error gives), and retries only the retryable ones. As a ``SendError`` it is
    retryable (and throttled) when any of its records' errors is.

    Attributes:
        errors: each failed record's error, by its index in the records of the call.
    """

    def __init__(self, errors: Mapping[int, SendError]) -> None:
        if not errors:
            raise ValueError("PartialSendError needs at least one failed record")
        first = next((e for e in errors.values() if e.retryable), next(iter(errors.values())))
        super().__init__(
            first.code,
            f"{len(errors)} record(s) of the call failed ({first.code}: {first.message})",
            retryable=any(e.retryable for e in errors.values()),
            throttled=any(e.throttled for e in errors.values()),
        )
        self.errors = dict(errors)
