"""PutItems, PutUsers, PutActions and PutActionInteractions through boto3: one transport for the
three dataset calls (parametrised by the operation) and one for action interactions. Errors are
classified as PutEvents' are (:func:`~.putevents.send_error`): the same service, the same
error shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

from .putevents import send_error

__all__ = ["DATASET_OPERATIONS", "PutActionInteractionsTransport", "PutDatasetTransport"]

#: A dataset kind → (boto3 method, the request's list parameter, the operation's name).
DATASET_OPERATIONS: dict[str, tuple[str, str, str]] = {
    "items": ("put_items", "items", "PutItems"),
    "users": ("put_users", "users", "PutUsers"),
    "actions": ("put_actions", "actions", "PutActions"),
}

DatasetKind = Literal["items", "users", "actions"]


class _Entry(Protocol):
    def to_request(self) -> dict[str, Any]: ...


class PutDatasetTransport:
    """Sends one batch of items, users or actions through ``put_items``, ``put_users`` or
    ``put_actions`` of a boto3 ``personalize-events`` client.

    Args:
        client: the client (thread-safe; shared by every sender thread).
        kind: ``"items"``, ``"users"`` or ``"actions"``: which call.

    The group key is the dataset ARN (``datasetArn``); a batch is 1-10 records (the service
    model's maximum of the list).
    """

    __slots__ = ("client", "kind", "list_name", "method", "operation")

    def __init__(self, client: Any, kind: DatasetKind) -> None:
        self.client = client
        self.kind = kind
        self.method, self.list_name, self.operation = DATASET_OPERATIONS[kind]

    def send(self, key: str, records: Sequence[_Entry]) -> None:
        """Call the operation once for ``records`` of the dataset ``key``.

        Raises:
            SendError: the call failed (see ``putevents.send_error``).
        """
        params = {"datasetArn": key, self.list_name: [r.to_request() for r in records]}
        try:
            getattr(self.client, self.method)(**params)
        except Exception as exc:
            raise send_error(exc) from exc


class PutActionInteractionsTransport:
    """Sends one batch of action interactions through ``put_action_interactions``.

    Args:
        client: the client (thread-safe; shared by every sender thread).

    The group key is the event tracker's ``trackingId``: each interaction carries its own
    session and user, so any 1-10 of them share a call.
    """

    __slots__ = ("client",)

    def __init__(self, client: Any) -> None:
        self.client = client

    def send(self, key: str, records: Sequence[_Entry]) -> None:
        """Call PutActionInteractions once for ``records`` of the tracker ``key``.

        Raises:
            SendError: the call failed (see ``putevents.send_error``).
        """
        entries = [r.to_request() for r in records]
        try:
            self.client.put_action_interactions(trackingId=key, actionInteractions=entries)
        except Exception as exc:
            raise send_error(exc) from exc
