"""The pipelines of the other record kinds: items, users and actions (PutItems, PutUsers,
PutActions, grouped by dataset ARN, a later record of an id replacing a waiting one) and action
interactions (PutActionInteractions, grouped by tracking id). One pipeline per kind, each with
its own sender pool, rate limit, spool subfolder and exit flush (docs/architecture.md, "Adding a
record kind or a transport").
"""

from __future__ import annotations

import functools
import logging
import operator
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from .._config import Options
from .._delivery.lean import LeanUnsupported, lean_kind
from .._delivery.putdatasets import (
    DATASET_OPERATIONS,
    DatasetKind,
    PutActionInteractionsTransport,
    PutDatasetTransport,
)
from .._failure import FailedEvent
from .._limits import DATASET_LIMITS
from .._record.catalog import Action, ActionInteraction, Item, User, user_log_id
from ..typing import Transport
from .clients import ClientSource
from .pipeline import Codec, Pipeline

__all__ = ["KINDS", "ClientSource", "dataset_pipeline", "kind_letter", "kind_stats"]

_log = logging.getLogger("personalize_tracker")

#: The record kinds besides events, in the order ``stats().kinds`` lists them.
KINDS = ("items", "users", "actions", "action_interactions")

_RECORDS: dict[str, Any] = {
    "items": Item,
    "users": User,
    "actions": Action,
    "action_interactions": ActionInteraction,
}


def kind_letter(kind: str, key: str) -> Callable[[Any], dict[str, Any]]:
    """The record part of a dead-letter line of ``kind``: ``kind``, the call's ``datasetArn``
    (``trackingId`` for action interactions) and ``record``, the entry as sent in the call's list
    (``{"itemId": ..., "properties": "<JSON object>"}``; an action interaction's ``timestamp`` in
    epoch seconds)."""
    key_name = "trackingId" if kind == "action_interactions" else "datasetArn"

    def letter(record: Any) -> dict[str, Any]:
        return {"kind": kind, key_name: key, "record": record.to_request()}

    return letter


_NOUNS = {"items": "item", "users": "user", "actions": "action"}
_NOUNS["action_interactions"] = "action interaction"


def _codec(kind: str, key: str) -> Codec[Any, str]:
    record_type = _RECORDS[kind]
    return Codec(
        key=lambda _record: key,
        batch_size=DATASET_LIMITS.records_per_call,
        encode=operator.methodcaller("to_request"),
        decode=record_type.from_request,  # the spool's own lines: trusted
        letter=kind_letter(kind, key),
        record_id=user_log_id if kind == "users" else operator.attrgetter("record_id"),
        identity=None if kind == "action_interactions" else operator.attrgetter("record_id"),
        noun=_NOUNS[kind],
    )


def _kind_options(options: Options, kind: str, rate: float | None) -> Options:
    """The Tracker's options for ``kind``: its own rate limit, its spool in a subfolder."""
    spool = None if options.spool_path is None else os.path.join(options.spool_path, kind)
    return attrs.evolve(options, max_requests_per_second=rate, spool_path=spool)


def dataset_pipeline(
    options: Options,
    kind: str,
    key: str,
    clients: ClientSource,
    *,
    max_requests_per_second: float | None,
    on_failure: Callable[[Sequence[FailedEvent]], None] | None,
) -> Pipeline[Any, str]:
    """Compose the pipeline of one record kind of a Tracker.

    Args:
        options: the Tracker's checked options (the spool goes in ``<spool_path>/<kind>``).
        kind: ``"items"``, ``"users"``, ``"actions"`` or ``"action_interactions"``.
        key: the dataset ARN (``action_interactions``: the tracking id).
        clients: the client to use, or how to build one.
        max_requests_per_second: the kind's rate limit (calls per second; adaptive), or None.
        on_failure: the Tracker's ``on_failure`` (called with ``FailedEvent`` s whose
            ``event`` is an :class:`Item`, :class:`User`...), or None to log.

    Raises:
        ValueError: no AWS region is known for a client built here.
        OSError: the spool cannot be opened.
    """
    build = functools.partial(clients.build, options.max_workers)
    client = clients.client if clients.client is not None else clients.shared
    if client is None:
        client = build()

    def transport(of: Any) -> Transport[Any, str]:
        if clients.client is None and clients.transport != "boto3":  # a client built here
            try:
                return lean_kind(of, kind)
            except LeanUnsupported as exc:
                _log.info("%s through the boto3 client, not the lean transport: %s", kind, exc)
        if kind == "action_interactions":
            return PutActionInteractionsTransport(of)
        dataset: DatasetKind = kind  # type: ignore[assignment]
        return PutDatasetTransport(of, dataset)

    name = DATASET_OPERATIONS[kind][2] if kind in DATASET_OPERATIONS else "PutActionInteractions"
    return Pipeline(
        _kind_options(options, kind, max_requests_per_second),
        transport(client),
        _codec(kind, key),
        on_failure=on_failure,
        name=name,
        rebuild_transport=None if clients.client is not None else lambda: transport(build()),
    )


def kind_stats(pipelines: Mapping[str, Pipeline[Any, str]]) -> dict[str, Any]:
    """Each pipeline's :meth:`Pipeline.stats`, in the order of :data:`KINDS`."""
    return {kind: pipelines[kind].stats() for kind in KINDS if kind in pipelines}
