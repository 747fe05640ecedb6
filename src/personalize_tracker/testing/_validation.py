"""Server-side input validation driven by botocore's service models.

The limits (lengths, counts, patterns, required members) are read from the models that botocore
ships, so they follow the real API. Messages imitate the service's validation layer:
``1 validation error detected: Value at 'eventList.1.member.eventType' failed to satisfy
constraint: Member must have length less than or equal to 256``.

A non-finite float, which AWS's JSON protocols write as the string ``"NaN"``, ``"Infinity"`` or
``"-Infinity"`` (as botocore and the JavaScript SDK do), is refused with
``InvalidInputException``: the service documents no answer to one, and a fake should not accept
what the service may refuse. Any other value of the wrong JSON type (a string where a number or
a timestamp belongs, a boolean for a float, an ISO string for ``sentAt``, a fraction for an
integer, a number beyond a double's or a 32-bit integer's range) never reaches that layer: AWS's
JSON protocols fail to deserialize the request and answer 400 ``SerializationException``, which
:func:`validate` raises at the first such value, as a deserializer stops there.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from botocore.model import ListShape, MapShape, ServiceModel, Shape, StructureShape
from botocore.session import get_session

from ._protocol import BigNumber, ServiceError, strict_json_object

__all__ = ["format_errors", "operation_input_shape", "service_model", "validate"]


@functools.cache
def service_model(service: str) -> ServiceModel:
    """Return botocore's model of ``service`` (cached).

    Raises:
        botocore.exceptions.UnknownServiceError: if botocore does not know the service.
    """
    return get_session().get_service_model(service)


def operation_input_shape(service: str, operation: str) -> StructureShape:
    """Return the input structure of ``operation`` of ``service``.

    Raises:
        botocore.exceptions.OperationNotFoundError: if the operation is unknown.
        RuntimeError: if the operation has no input structure.
    """
    shape = service_model(service).operation_model(operation).input_shape
    if not isinstance(shape, StructureShape):
        raise RuntimeError(f"{service} {operation} has no input structure in botocore's model")
    return shape


@functools.cache
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _length(value: str) -> int:
    # The service counts UTF-16 code units (Java String.length), not code points.
    return len(value.encode("utf-16-le")) // 2


#: How AWS's JSON protocols write a non-finite float or double: as these strings (Smithy's
#: JSON serialization rules).
_NON_FINITE = frozenset({"NaN", "Infinity", "-Infinity"})

#: Java's ``int`` and ``long`` ranges: the service's integer and long members.
_INT_RANGE = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _type_error(path: str, expected: str, value: Any) -> ServiceError:
    if isinstance(value, BigNumber):
        got = f"the number {value}, out of range for a double"
    elif isinstance(value, bool):
        got = "a boolean"
    else:
        got = f"a JSON {_json_kind(value)}"
    return ServiceError(
        400,
        "SerializationException",
        f"Cannot deserialize {path or 'body'}: expected {expected}, got {got}",
    )


def _json_kind(value: Any) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "number"


def _check_size(shape: Shape, size: int, what: str, path: str, errors: list[str]) -> None:
    low = shape.metadata.get("min")
    high = shape.metadata.get("max")
    if low is not None and size < low:
        errors.append(_fail(path, f"Member must have {what} greater than or equal to {low}"))
    if high is not None and size > high:
        errors.append(_fail(path, f"Member must have {what} less than or equal to {high}"))


def _fail(path: str, constraint: str) -> str:
    return f"Value at '{path}' failed to satisfy constraint: {constraint}"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def validate(shape: Shape, value: Any, path: str = "") -> list[str]:
    """Check ``value`` (decoded JSON) against ``shape`` and its constraints.

    Members that are absent or ``null`` are skipped unless required; unknown members are ignored,
    as the service does.

    Args:
        shape: a botocore shape, usually an operation's input structure.
        value: the decoded JSON value.
        path: the dotted path of ``value`` used in messages (``""`` for the top level).

    Returns:
        One message per violation, in document order; empty when valid.

    Raises:
        ServiceError: 400 ``SerializationException`` at the first value of the wrong JSON type
            or out of its type's range (see the module's docstring).
    """
    errors: list[str] = []
    _validate(shape, value, path, errors)
    return errors


def _validate(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            raise _type_error(path, "a JSON object", value)
        for name in shape.required_members:
            if value.get(name) is None:
                errors.append(_fail(_join(path, name), "Member must not be null"))
        for name, member in shape.members.items():
            if value.get(name) is not None:
                _validate(member, value[name], _join(path, name), errors)
    elif isinstance(shape, ListShape):
        if not isinstance(value, list):
            raise _type_error(path, "a JSON array", value)
        _check_size(shape, len(value), "length", path, errors)
        for index, item in enumerate(value, start=1):
            if item is None:
                errors.append(_fail(f"{path}.{index}.member", "Member must not be null"))
            else:
                _validate(shape.member, item, f"{path}.{index}.member", errors)
    elif isinstance(shape, MapShape):
        if not isinstance(value, dict):
            raise _type_error(path, "a JSON object", value)
        _check_size(shape, len(value), "length", path, errors)
        for key, item in value.items():
            _validate(shape.key, key, f"{path}.key", errors)
            if item is not None:
                _validate(shape.value, item, f"{path}.{key}", errors)
    elif kind == "string":
        _validate_string(shape, value, path, errors)
    elif kind in ("integer", "long"):
        low_bound, high_bound = _INT_RANGE[kind]
        if not isinstance(value, int) or isinstance(value, bool):
            raise _type_error(path, f"an {kind}", value)
        if not low_bound <= value <= high_bound:
            raise ServiceError(
                400,
                "SerializationException",
                f"Cannot deserialize {path}: {value} is out of range for an {kind} "
                f"({low_bound}..{high_bound})",
            )
        low = shape.metadata.get("min")
        high = shape.metadata.get("max")
        if low is not None and value < low:
            errors.append(_fail(path, f"Member must have value greater than or equal to {low}"))
        if high is not None and value > high:
            errors.append(_fail(path, f"Member must have value less than or equal to {high}"))
    elif kind in ("float", "double"):
        if value in _NON_FINITE and type(value) is str:
            # Valid JSON-protocol encoding of a non-finite value (botocore and the JavaScript SDK
            # write NaN and Infinity so); the service documents no answer to one: refused.
            errors.append(_fail(path, f"Member must be a finite number, not {value}"))
        elif not _is_number(value):
            raise _type_error(path, "a number", value)
    elif kind == "timestamp":
        if not _is_number(value):
            raise _type_error(path, "a timestamp in epoch seconds (a JSON number)", value)
    elif kind == "boolean" and not isinstance(value, bool):
        raise _type_error(path, "a boolean", value)


def _validate_string(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    if not isinstance(value, str) or isinstance(value, BigNumber):
        raise _type_error(path, "a string", value)
    _check_size(shape, _length(value), "length", path, errors)
    pattern = shape.metadata.get("pattern")
    if pattern is not None and _pattern(pattern).fullmatch(value) is None:
        errors.append(_fail(path, f"Member must satisfy regular expression pattern: {pattern}"))
    if shape.serialization.get("jsonvalue"):
        # Strict, as the service's JSON parser: no NaN/Infinity, no duplicate keys (the service
        # documents neither; a key given twice is ambiguous, so the fake refuses it).
        try:
            strict_json_object(value)
        except ValueError as exc:
            errors.append(_fail(path, f"Member must be a JSON object string ({exc})"))


def format_errors(errors: list[str]) -> str:
    """Join violation messages the way the service does.

    Returns:
        e.g. ``"2 validation errors detected: ...; ..."``.
    """
    plural = "s" if len(errors) != 1 else ""
    return f"{len(errors)} validation error{plural} detected: " + "; ".join(errors)
