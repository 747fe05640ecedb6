"""The Tracker's other record kinds: items, users and actions (PutItems, PutUsers, PutActions)
and action interactions (PutActionInteractions). :class:`KindPipelines` composes one pipeline per
configured kind (``_pipeline/datasets.py``) and flushes, closes and counts them with the event
pipeline; :class:`DatasetCalls` is the Tracker's part that validates each record at the call and
queues it (``put_item``, ``put_user``, ``put_action``, ``track_action``).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

import attrs

from ._config import Options
from ._errors import TrackerClosedError
from ._failure import FailedEvent
from ._pipeline import TrackerStats
from ._pipeline.clients import ClientSource
from ._pipeline.group import PipelineGroup
from ._pipeline.pipeline import Pipeline
from .typing import PropertiesInput, SentAtInput

if TYPE_CHECKING:  # imported with the first pipeline of another kind (see _load)
    from ._pipeline import datasets
    from ._record import catalog
    from ._record.catalog import Action, ActionInteraction, FieldsCheck, Item, User

__all__ = ["DatasetCalls", "KindPipelines", "check_kinds"]


def _load() -> None:
    """Import the records of the other kinds and their pipelines (``catalog``, ``datasets``), as
    the module globals of those names: when a Tracker gets a dataset ARN or its first
    ``track_action``. A Tracker that only tracks events never needs them (issue 18: import
    time); every use below comes after a pipeline of those kinds was built, or a check of an
    ARN, each of which calls this first.
    """
    names = globals()
    if "catalog" not in names:
        names["datasets"] = importlib.import_module("._pipeline.datasets", __package__)
        names["catalog"] = importlib.import_module("._record.catalog", __package__)


_DATASETS = ("items", "users", "actions")
_OPTIONS = {kind: f"{kind}_dataset_arn" for kind in _DATASETS}
_CALLS = {"items": "put_item", "users": "put_user", "actions": "put_action"}
_CALLS["action_interactions"] = "track_action"


class _Schema(Protocol):
    """A dataset schema as the Tracker uses it (``schema.DatasetSchema``)."""

    @property
    def kind(self) -> str: ...

    def check(self, fields: dict[str, Any]) -> dict[str, Any]: ...


def check_kinds(
    arns: tuple[str | None, str | None, str | None],
    schemas: tuple[_Schema | None, _Schema | None, _Schema | None],
    dataset_rate: float | None = None,
) -> tuple[dict[str, FieldsCheck | None], dict[str, str]]:
    """Check the Tracker's dataset ARNs, schemas and ``dataset_requests_per_second`` (before
    anything is built); return each kind's schema check and the ARNs given, by kind.

    Raises:
        InvalidEventError: an ARN is not a Personalize dataset ARN (naming its option).
        ValueError: a schema is not a ``DatasetSchema`` of its kind's dataset, or the rate is
            not a number > 0.
    """
    if dataset_rate is not None and (
        isinstance(dataset_rate, bool)
        or not isinstance(dataset_rate, (int, float))
        or not dataset_rate > 0
    ):
        raise ValueError(f"dataset_requests_per_second must be > 0 (or None), got {dataset_rate!r}")
    checks: dict[str, FieldsCheck | None] = {}
    for kind, schema in zip(_DATASETS, schemas, strict=True):
        if schema is not None and getattr(schema, "kind", None) != kind:
            raise ValueError(
                f"{kind}_schema must be a DatasetSchema of a {kind.capitalize()} dataset, "
                f"got {type(schema).__name__} of kind {getattr(schema, 'kind', None)!r}"
            )
        checks[kind] = None if schema is None else schema.check
    if any(arn is not None for arn in arns):
        _load()
    checked = {
        kind: catalog.check_dataset_arn(arn, _OPTIONS[kind])
        for kind, arn in zip(_DATASETS, arns, strict=True)
        if arn is not None
    }
    return checks, checked


class KindPipelines:
    """The pipelines of one Tracker's other record kinds.

    Args:
        options: the Tracker's checked options.
        tracking_id: the event tracker's id (PutActionInteractions' ``trackingId``).
        arns: the ARNs of the Items, Users and Actions datasets (``None``: not configured; its
            ``put_*`` call raises).
        schemas: the dataset schemas checking their records' properties (or None), in the
            same order.
        clients: the client to use, or how to build one.
        dataset_rate: PutItems, PutUsers and PutActions calls per second at most, per dataset
            (adaptive on throttling), or None; action interactions have
            ``options.max_requests_per_second``.
        on_failure: the Tracker's ``on_failure``.
        events: the Tracker's event pipeline: with every kind's, one :class:`PipelineGroup`
            (flushed, closed and flushed at exit together, within one timeout).

    The pipeline of action interactions is built at the first ``track_action``.

    Raises:
        InvalidEventError: an ARN is not a Personalize dataset ARN (naming its option).
        ValueError: a schema is of another kind's dataset; no AWS region for a built client.
        OSError: a kind's spool cannot be opened (the pipelines built so far, ``events``
            included, are closed first).
    """

    def __init__(
        self,
        options: Options,
        tracking_id: str,
        arns: tuple[str | None, str | None, str | None],
        schemas: tuple[_Schema | None, _Schema | None, _Schema | None],
        clients: ClientSource,
        dataset_rate: float | None,
        on_failure: Callable[[Sequence[FailedEvent]], None] | None,
        events: Pipeline[Any, Any],
    ) -> None:
        self._options, self._tracking_id, self._clients = options, tracking_id, clients
        self.group = PipelineGroup()
        self.group.add(events)
        self._rates: dict[str, float | None] = dict.fromkeys(_DATASETS, dataset_rate)
        self._rates["action_interactions"] = options.max_requests_per_second
        self._on_failure = on_failure
        self.allow_placeholders = options.allow_placeholder_ids  # ids "null", "None"...
        self._lock = threading.Lock()
        self.closed = False
        self.checks, checked = check_kinds(arns, schemas, dataset_rate)
        try:
            self.pipelines: dict[str, Pipeline[Any, str]] = {
                kind: self._build(kind, arn) for kind, arn in checked.items()
            }
        except BaseException:  # no Tracker: the pipelines built so far (events' too) are closed
            for pipeline in self.group.members():
                pipeline.close(0)  # nothing queued yet: unregistered, spool released
            raise

    def _build(self, kind: str, key: str) -> Pipeline[Any, str]:
        _load()
        pipeline = datasets.dataset_pipeline(
            self._options,
            kind,
            key,
            self._clients,
            max_requests_per_second=self._rates.get(kind),
            on_failure=self._on_failure,
        )
        self.group.add(pipeline)
        return pipeline

    def pipeline(self, kind: str) -> Pipeline[Any, str]:
        """The pipeline of ``kind`` (action interactions: built at the first call).

        Raises:
            ValueError: the Tracker has no dataset ARN for ``kind`` (naming the option).
            TrackerClosedError: the Tracker was closed.
        """
        found = self.pipelines.get(kind)
        if found is not None:
            return found
        if self.closed:
            raise TrackerClosedError(f"{_CALLS[kind]}() called on a closed Tracker")
        if kind != "action_interactions":
            raise ValueError(
                f"{_CALLS[kind]}() needs the {kind.capitalize()} dataset: pass "
                f"{_OPTIONS[kind]}= (its ARN) to Tracker(...)"
            )
        with self._lock:
            if self.closed:
                raise TrackerClosedError("track_action() called on a closed Tracker")
            found = self.pipelines.get(kind)
            if found is None:
                found = self.pipelines[kind] = self._build(kind, self._tracking_id)
        return found

    def flush(self, timeout: float | None) -> bool:
        """Flush the event pipeline and every kind's, within ``timeout`` seconds in all (see
        :meth:`PipelineGroup.flush`); whether all of them finished."""
        return self.group.flush(timeout)

    def close(self, timeout: float | None) -> None:
        """Close the event pipeline and every kind's, within ``timeout`` seconds in all."""
        with self._lock:
            self.closed = True
        self.group.close(timeout)

    def stats(self) -> dict[str, Any]:
        """Kind → its ``TrackerStats``, for the kinds with a pipeline."""
        with self._lock:
            pipelines = dict(self.pipelines)
        return datasets.kind_stats(pipelines) if pipelines else {}


class DatasetCalls:
    """The Tracker's calls for items, users, actions and action interactions, and its flush,
    close and stats, which cover the event pipeline and every kind's."""

    _kinds: KindPipelines
    _fork_check: bool  # see Tracker's fork_check
    _pipeline: Any  # the event pipeline (an EventPipeline)
    _composer: Any  # the event composer (an EventComposer)

    def flush(self, timeout: float | None = None) -> bool:
        """Send the events and records pending now, without waiting for their batches to fill,
        and wait until each is delivered or failed.

        Events tracked by other threads while it waits are not forced out nor waited for (they
        fill their batches as usual), so a flush ends under steady traffic; events in the spool
        (``overflow="spill"``) are all waited for, the spool being first in, first out. Every
        kind (events, items, users, actions, action interactions) is forced out first, each by
        its own senders, then waited for, all within ``timeout`` (with ``sync=True``, where this
        thread sends, each kind holding records gets an equal share of the time left).

        Args:
            timeout: seconds to wait at most; ``None`` waits until done (retries are bounded by
                ``retry_deadline``).

        Returns:
            True if every event and record pending at the call was delivered or failed, False
            if the timeout passed first; the rest stays pending and is still delivered later.

        Raises:
            TrackerClosedError: the Tracker was closed.
        """
        if self._pipeline.closed:
            raise TrackerClosedError("flush() called on a closed Tracker")
        return self._kinds.flush(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Deliver what is pending (events and every other kind, all started before any is
        waited for, as in :meth:`flush`), then stop. Final and idempotent.

        Args:
            timeout: seconds to wait at most, for all kinds together; ``None`` waits until done
                (retries are bounded by ``retry_deadline``). Records still pending then go to
                the spool (with ``overflow="spill"``), or fail with reason ``closed`` (sender
                threads get up to 0.1 s more to record the batches they were retrying); a
                call already on the wire finishes on its own and is accounted for when it does
                (a second ``close()`` waits for it, within its timeout, without retrying it).

        After ``close()``, ``track()``, ``put_item()``... and ``flush()`` raise
        :class:`TrackerClosedError`.
        """
        self._kinds.close(timeout)

    def stats(self) -> TrackerStats:
        """Return a consistent snapshot of the counters (see :class:`TrackerStats`): the
        events', and in ``kinds`` those of each other record kind (each consistent on its own:
        ``tracked == delivered + failed + dropped + pending`` holds for every kind)."""
        truncated = self._composer.impressions_truncated
        stats: TrackerStats = attrs.evolve(
            self._pipeline.stats(), impressions_truncated=truncated, kinds=self._kinds.stats()
        )
        return stats

    def _kind_check_fork(self, pipeline: Pipeline[Any, str]) -> None:
        """With ``fork_check``: reset after a fork that ran no hooks (the Tracker's)."""

    def _put(
        self,
        kind: str,
        call: str,
        build: str,
        record_id: str | int,
        properties: PropertiesInput,
    ) -> object:
        """What put_item, put_user and put_action share: the kind's pipeline (built on first
        use), the fork check, the record built and checked at the call by ``catalog``'s
        ``build`` function (named: ``catalog`` is imported with the first pipeline), then queued.
        """
        kinds = self._kinds
        pipeline = kinds.pipelines.get(kind) or kinds.pipeline(kind)
        if self._fork_check:
            self._kind_check_fork(pipeline)
        allow = kinds.allow_placeholders
        builder: Callable[..., object] = getattr(catalog, build)
        record = builder(record_id, properties, kinds.checks.get(kind), allow_placeholders=allow)
        try:
            pipeline.put(record)
        except TrackerClosedError:
            raise TrackerClosedError(f"{call}() called on a closed Tracker") from None
        return record

    def put_item(self, item_id: str | int, properties: PropertiesInput = None) -> Item:
        """Validate an item of the Items dataset and queue it for PutItems.

        Args:
            item_id: ``itemId``: a str of 1-256 characters, an int or a UUID.
            properties: the item's metadata: a mapping of Items schema field names (any case:
                ``GENRES``, ``genres``; sent as camelCase) to str, number or bool values (a
                list is a multi-valued categorical field, joined with ``"|"``; its values may not
                hold ``"|"``), or a JSON object string; at most 32,000 characters once encoded
                (the service model's ``Item.properties``). Checked against ``items_schema``.

        A second ``put_item`` of the same id before the first one is sent replaces it (counted
        as ``coalesced`` in ``stats().kinds["items"]``): the dataset keeps the last write.

        Returns:
            The queued :class:`Item` (frozen).

        Raises:
            InvalidEventError: the id or the properties break a PutItems or schema rule (the
                message names the field, the problem and the limit), or the id is the text of a
                missing value (``"null"``, ``"None"``, blank...) without
                ``allow_placeholder_ids``. Nothing is queued.
            ValueError: the Tracker has no ``items_dataset_arn``.
            TrackerClosedError: the Tracker was closed.
        """
        return cast("Item", self._put("items", "put_item", "build_item", item_id, properties))

    def put_user(self, user_id: str | int, properties: PropertiesInput = None) -> User:
        """Validate a user of the Users dataset and queue it for PutUsers.

        As :meth:`put_item`, with ``user_id`` (``userId``, 1-256 characters) and properties of
        at most 24,000 characters (the service model's ``User.properties``), checked against
        ``users_schema``; a later ``put_user`` of the same id replaces a waiting one.

        Raises:
            InvalidEventError: the id or the properties break a PutUsers or schema rule.
            ValueError: the Tracker has no ``users_dataset_arn``.
            TrackerClosedError: the Tracker was closed.
        """
        return cast("User", self._put("users", "put_user", "build_user", user_id, properties))

    def put_action(self, action_id: str | int, properties: PropertiesInput = None) -> Action:
        """Validate an action of the Actions dataset and queue it for PutActions.

        As :meth:`put_item`, with ``action_id`` (``actionId``, 1-256 characters) and properties
        of at most 32,000 characters (the service model's ``Action.properties``), checked
        against ``actions_schema``; a later ``put_action`` of the same id replaces a waiting one.

        Raises:
            InvalidEventError: the id or the properties break a PutActions or schema rule.
            ValueError: the Tracker has no ``actions_dataset_arn``.
            TrackerClosedError: the Tracker was closed.
        """
        return cast(
            "Action", self._put("actions", "put_action", "build_action", action_id, properties)
        )

    def track_action(
        self,
        event_type: str,
        action_id: str | int,
        session_id: str | int,
        user_id: str | int | None = None,
        sent_at: SentAtInput = None,
        event_id: str | None = None,
        properties: PropertiesInput = None,
        recommendation_id: str | None = None,
        impression: Iterable[str | int] | None = None,
    ) -> ActionInteraction:
        """Validate an action interaction and queue it for PutActionInteractions (sent with
        the Tracker's ``tracking_id``; any sessions' interactions share a call, 10 at most).

        Args:
            event_type: ``"Viewed"``, ``"Taken"`` or ``"Not Taken"`` (the only types the
                service model's documentation allows).
            action_id: ``actionId`` (1-256 characters; an int or a UUID is converted).
            session_id: ``sessionId`` (1-256 characters).
            user_id: ``userId``, or ``None`` for an anonymous visitor.
            sent_at: ``timestamp``: an aware ``datetime`` or epoch seconds; default now.
            event_id: ``eventId``; default a new unique id.
            properties: contextual metadata, as ``track()``'s (at most 1,024 characters).
            recommendation_id: ``recommendationId``, at most 40 characters.
            impression: 1-25 ids of the actions shown alongside.

        Returns:
            The queued :class:`ActionInteraction` (frozen).

        Raises:
            InvalidEventError: a field breaks a PutActionInteractions rule (an unknown event
                type says which was given and, if only the case differs, which was meant), an
                id is the text of a missing value (as ``track()``), or ``properties`` holds
                ``actionId``/``eventId`` or a list value holding ``"|"``.
            TrackerClosedError: the Tracker was closed.
        """
        pipeline = self._kinds.pipeline("action_interactions")
        if self._fork_check:
            self._kind_check_fork(pipeline)  # before the event id is drawn
        interaction = catalog.build_action_interaction(
            event_type, action_id, session_id, user_id, sent_at, event_id, properties,
            recommendation_id, impression, allow_placeholders=self._kinds.allow_placeholders,
        )  # fmt: skip
        try:
            pipeline.put(interaction)
        except TrackerClosedError:
            raise TrackerClosedError("track_action() called on a closed Tracker") from None
        return interaction
