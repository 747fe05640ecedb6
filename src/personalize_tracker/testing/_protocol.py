"""The wire protocol of the fake endpoints: AWS's error shape, strict JSON, and request signing.

What a real endpoint answers before any operation runs, for requests a client library would not
normally send (an unsigned request, a signature for another service, a body that is not JSON, an
unknown path). AWS's REST-JSON error shape is an HTTP status, an ``x-amzn-ErrorType`` header
with the code, a ``{"message": ...}`` body and an ``x-amzn-RequestId`` header.

The authentication errors are those AWS's front door documents for every API ("Common Errors" in
the Amazon Personalize API reference,
https://docs.aws.amazon.com/personalize/latest/dg/CommonErrors.html):
``MissingAuthenticationTokenException`` (403, no signature), ``IncompleteSignatureException``
(403, a signature that is not SigV4 or misses ``X-Amz-Date``), ``UnrecognizedClientException``
(403, an access key the service does not know: here, an empty one) and
``InvalidSignatureException`` (403, a signature that does not match: here, one computed for
another service). The fake checks a signature's shape, never its value: any credentials work.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = [
    "SIGNING_NAME",
    "BigNumber",
    "ServiceError",
    "auth_error",
    "decode_body",
    "error_response",
    "signing_service",
    "strict_json_object",
]

#: The SigV4 signing name of both APIs (and of the control plane), from botocore's models.
SIGNING_NAME = "personalize"

Response = tuple[int, dict[str, str], str]

_SCOPE = re.compile(r"Credential=([^/,\s]*)/(\d{8})/([^/]+)/([^/]+)/aws4_request")


class ServiceError(Exception):
    """An error the fake answers, in AWS's shape.

    Args:
        status: the HTTP status, e.g. 400.
        code: the error code sent in ``x-amzn-ErrorType``, e.g. ``"InvalidInputException"``.
        message: the text of the body's ``message``.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(
    error: ServiceError, request_id: str | None = None, *, json_1_1: bool = False
) -> Response:
    """``(status, headers, body)`` for ``error`` in AWS's error shape.

    Args:
        error: what to answer.
        request_id: the ``x-amzn-RequestId`` to send (a new UUID when ``None``).
        json_1_1: the AWS JSON 1.1 shape of the control plane (``personalize``), whose body
            also names the code as ``__type``; otherwise REST-JSON's (the header only).
    """
    headers = {
        "Content-Type": "application/x-amz-json-1.1" if json_1_1 else "application/json",
        "x-amzn-RequestId": request_id or str(uuid.uuid4()),
        "x-amzn-ErrorType": error.code,
    }
    body: dict[str, str] = {"__type": error.code} if json_1_1 else {}
    body["message"] = error.message
    return error.status, headers, json.dumps(body)


class BigNumber(str):
    """A JSON number too large for a double (``1e400``), kept as its text.

    A double member holding one is answered with ``SerializationException``; as a ``str`` it
    is written to a recording as a JSON string, so a recording is always standard JSON.
    """

    __slots__ = ()


def _parse_float(text: str) -> float | BigNumber:
    value = float(text)
    return value if math.isfinite(value) else BigNumber(text)


def _refuse_constant(name: str) -> Any:
    # json.loads accepts NaN, Infinity and -Infinity; JSON (RFC 8259) and AWS's parsers do not.
    raise ServiceError(
        400,
        "SerializationException",
        f"Malformed JSON: {name} is not a JSON value (RFC 8259 has no NaN or Infinity)",
    )


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ServiceError(
                400, "SerializationException", f"Malformed JSON: duplicate key {key!r}"
            )
        result[key] = value
    return result


def decode_body(body: bytes) -> dict[str, Any]:
    """Decode a request body strictly: a JSON object, standard JSON only, no duplicate keys.

    An empty body is ``{}`` (botocore sends none for an operation without members). A number
    beyond a double's range is kept as a :class:`BigNumber`; one beyond a 32-bit integer stays
    an ``int`` (the validator refuses it where an integer member holds it).

    Raises:
        ServiceError: 400 ``SerializationException`` for malformed JSON, ``NaN``/``Infinity``
            literals, duplicate keys, or a body that is not an object.
    """
    if not body.strip():
        return {}
    try:
        decoded = json.loads(
            body,
            parse_float=_parse_float,
            parse_constant=_refuse_constant,
            object_pairs_hook=_unique_keys,
        )
    except ServiceError:
        raise
    except ValueError as exc:
        raise ServiceError(400, "SerializationException", f"Malformed JSON: {exc}") from exc
    if not isinstance(decoded, dict):
        raise ServiceError(400, "SerializationException", "The body must be a JSON object")
    return decoded


def strict_json_object(text: str) -> dict[str, Any]:
    """Parse a JSON-object string member (``properties``) as strictly as :func:`decode_body`.

    Raises:
        ValueError: the text is not a standard JSON object without duplicate keys (the message
            says why).
    """
    try:
        decoded = json.loads(
            text,
            parse_float=_parse_float,
            parse_constant=_refuse_constant,
            object_pairs_hook=_unique_keys,
        )
    except ServiceError as exc:
        raise ValueError(exc.message.removeprefix("Malformed JSON: ")) from None
    if not isinstance(decoded, dict):
        raise ValueError("not a JSON object")
    return decoded


def signing_service(headers: Mapping[str, str]) -> str | None:
    """The service named in a SigV4 ``Authorization`` header's scope, or ``None``."""
    match = _SCOPE.search(headers.get("Authorization", "") or "")
    return match.group(4) if match else None


def auth_error(headers: Mapping[str, str], *, in_process: bool) -> ServiceError | None:
    """What AWS answers a request with these headers before looking at it, or ``None`` if the
    signature has the right shape.

    Args:
        headers: the request's headers (case-insensitive mapping, or exact AWS spellings).
        in_process: ``True`` under ``mock_aws()``; a signature for another service is then an
            ``InvalidSignatureException`` (over HTTP, moto's server routes such a request to
            the service it was signed for, and it never reaches this check).
    """
    authorization = headers.get("Authorization") or ""
    if not authorization:
        return ServiceError(
            403, "MissingAuthenticationTokenException", "Missing Authentication Token"
        )
    if not authorization.startswith("AWS4-HMAC-SHA256 ") or not headers.get("X-Amz-Date"):
        return ServiceError(
            403,
            "IncompleteSignatureException",
            "Authorization header requires a SigV4 'AWS4-HMAC-SHA256' signature with "
            "'Credential', 'SignedHeaders' and 'Signature', and an 'X-Amz-Date' header.",
        )
    match = _SCOPE.search(authorization)
    if match is None:
        return ServiceError(
            403,
            "IncompleteSignatureException",
            "Authorization header requires 'Credential=<key>/<date>/<region>/<service>/"
            "aws4_request'.",
        )
    if not match.group(1):
        return ServiceError(
            403,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )
    if in_process and match.group(4) != SIGNING_NAME:
        return ServiceError(
            403,
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{SIGNING_NAME}'.",
        )
    return None
