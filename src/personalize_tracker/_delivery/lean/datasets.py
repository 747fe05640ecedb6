"""The lean path of PutItems, PutUsers, PutActions and PutActionInteractions: the same
mechanism as PutEvents' (:class:`~personalize_tracker._delivery.lean.LeanTransport`), with
the body each call's boto3 transport (``putdatasets.py``) would have botocore write."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from ..putdatasets import (
    DATASET_OPERATIONS,
    DatasetKind,
    PutActionInteractionsTransport,
    PutDatasetTransport,
)
from .body import wire_timestamp

__all__ = ["action_interactions_body", "dataset_body", "lean_kind_parts"]

_dumps = json.dumps
_ARN = "arn:aws:personalize:us-east-1:000000000000:dataset/sample/ITEMS"
_SAMPLES: dict[str, dict[str, Any]] = {
    "items": {"datasetArn": _ARN, "items": [{"itemId": "i"}]},
    "users": {"datasetArn": _ARN, "users": [{"userId": "u"}]},
    "actions": {"datasetArn": _ARN, "actions": [{"actionId": "a"}]},
    "action_interactions": {
        "trackingId": "t",
        "actionInteractions": [
            {"actionId": "a", "sessionId": "s", "timestamp": 0.0, "eventType": "Viewed"}
        ],
    },
}


def dataset_body(list_name: str) -> Callable[[str, Sequence[Any]], bytes]:
    """The body of PutItems/PutUsers/PutActions for the list ``list_name``: ``datasetArn`` and
    each record's ``to_request()`` (strings only), as ``PutDatasetTransport`` passes them."""

    def body(key: str, records: Sequence[Any]) -> bytes:
        return _dumps({"datasetArn": key, list_name: [r.to_request() for r in records]}).encode()

    return body


def _wire_interaction(record: Any) -> dict[str, Any]:
    entry: dict[str, Any] = record.to_request()
    if "timestamp" in entry:
        entry["timestamp"] = wire_timestamp(entry["timestamp"])
    return entry


def action_interactions_body(key: str, records: Sequence[Any]) -> bytes:
    """The body of PutActionInteractions: ``trackingId`` and each record's ``to_request()``
    with its ``timestamp`` as botocore writes it (``body.wire_timestamp``).

    Raises:
        ValueError: a ``timestamp`` cannot be sent.
    """
    entries = [_wire_interaction(r) for r in records]
    return _dumps({"trackingId": key, "actionInteractions": entries}).encode()


def lean_kind_parts(
    client: Any, kind: str
) -> tuple[str, Callable[[str, Sequence[Any]], bytes], Any, dict[str, Any]]:
    """What :class:`LeanTransport` needs for ``kind`` (``"items"``, ``"users"``, ``"actions"``
    or ``"action_interactions"``): the operation, the body, the boto3 transport (its fallback)
    and a sample call for the dry run."""
    if kind == "action_interactions":
        fallback: Any = PutActionInteractionsTransport(client)
        return "PutActionInteractions", action_interactions_body, fallback, _SAMPLES[kind]
    dataset: DatasetKind = kind  # type: ignore[assignment]
    _, list_name, operation = DATASET_OPERATIONS[dataset]
    fallback = PutDatasetTransport(client, dataset)
    return operation, dataset_body(list_name), fallback, _SAMPLES[kind]
