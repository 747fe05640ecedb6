"""An error answer read as botocore's client reads it, so that it classifies as the boto3
transport classifies it (``putevents.send_error``)."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import botocore.parsers
from botocore.awsrequest import AWSResponse
from botocore.retries import standard

from ..._errors import SendError
from ..putevents import send_error

__all__ = ["Answers"]


class Answers:
    """Turns an error answer (status >= 300) into the ``SendError`` the boto3 client's
    exception would give.

    botocore's response parser for the service's protocol (``rest-json``: the code from the
    ``x-amzn-ErrorType`` header or the body, the message from the body, an HTML or empty 5xx
    body as the status code and its reason) builds the error response, then a ``ClientError``
    as the client raises it: the ``ResponseMetadata`` with ``HTTPStatusCode``, ``RetryAttempts``
    0 and, for an answer botocore's standard retry conditions would retry, ``MaxAttemptsReached``
    (the client the Tracker builds makes one attempt; this shows in the exception's message).

    Args:
        client: the boto3 client whose service model and operation are answered.
        operation: the operation's name, e.g. ``"PutEvents"``.
    """

    __slots__ = ("model", "operation", "parser", "url")

    def __init__(self, client: Any, operation: str, url: str) -> None:
        service = client.meta.service_model
        self.operation = operation
        self.parser = botocore.parsers.create_parser(service.protocol)
        self.model = service.operation_model(operation)
        self.url = url

    def error(self, status: int, headers: Any, body: bytes) -> SendError:
        """The ``SendError`` of an answer with ``status`` >= 300 (``headers`` case-insensitive)."""
        response = {
            "status_code": status,
            "headers": headers,
            "body": body,
            "context": {"operation_name": self.operation},
        }
        parsed: dict[str, Any] = self.parser.parse(response, self.model.output_shape)
        context = standard.RetryContext(
            attempt_number=1,
            operation_model=self.model,
            parsed_response=parsed,
            http_response=AWSResponse(self.url, status, headers, None),
            request_context={},
        )
        standard.StandardRetryConditions(max_attempts=1).is_retryable(context)
        metadata = parsed.setdefault("ResponseMetadata", {})
        metadata.update(context.get_retry_metadata(), HTTPStatusCode=status, RetryAttempts=0)
        return send_error(botocore.exceptions.ClientError(parsed, self.operation))  # type: ignore[arg-type]
