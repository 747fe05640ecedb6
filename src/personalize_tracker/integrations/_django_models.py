"""Keeping the Items, Users or Actions dataset in step with a Django model: each save of the model
becomes a ``put_item`` (``put_user``, ``put_action``) with the fields you map, sent once the
transaction commits. Imported through :mod:`personalize_tracker.integrations.django`
(``sync_items``, ``sync_users``, ``sync_actions``); see ``docs/items-users-actions.md``.

What Django users should know (said again in the docs):

* **Deletes are not sent**: PutItems, PutUsers and PutActions have no delete. Hide a deleted
  item with a filter on a field you map (``AVAILABLE``...), or remove it with a dataset import
  in ``FULL`` mode.
* **No signal, no record**: ``queryset.update()``, ``bulk_create()`` and raw SQL send no
  ``post_save``; call :meth:`ModelSync.send_all` on what they changed.
* **Fixtures are not sent**: ``loaddata`` saves are *raw*; :meth:`ModelSync.send_all` sends
  them when wanted.
* **A rolled-back save sends nothing**: the record is put from ``transaction.on_commit``, with
  the row's values as committed (read again by primary key: a many-to-many set after the save in
  the same transaction, as the admin does, is sent).
* **A many-to-many change alone sends nothing**: ``product.genres.add(...)`` without a save
  sends no ``post_save``; call :meth:`ModelSync.send` after it.
"""

from __future__ import annotations

import datetime
import decimal
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import transaction
from django.db.models.signals import post_save

from .._errors import InvalidEventError, TrackerClosedError
from ..tracker import Tracker

__all__ = [
    "FieldSource",
    "ModelSync",
    "set_default_tracker",
    "sync_actions",
    "sync_items",
    "sync_users",
]

logger = logging.getLogger("personalize_tracker")

# The Tracker of a link made without one: the settings' (``django.get_tracker``, set by the
# module that imports this one, so that this one does not import it back).
_default_tracker: Callable[[], Tracker] | None = None


def set_default_tracker(source: Callable[[], Tracker]) -> None:
    """Set where a link made without ``tracker=`` gets its Tracker (``django.get_tracker``)."""
    global _default_tracker
    _default_tracker = source


#: Where a value comes from: an attribute name of the model (``"price"``; a related object's
#: with ``__``: ``"brand__name"``), or a function of the instance (``lambda p: [...]``).
FieldSource = str | Callable[[Any], Any]


def _attribute(instance: Any, path: str) -> Any:
    value = instance
    for name in path.split("__"):
        value = getattr(value, name)
        if value is None:
            return None
    return value


def _plain(value: Any) -> Any:
    """A model value as ``put_item`` takes it: a ``Decimal`` as a float, an aware datetime as
    epoch seconds (an int), a date as its ISO text; a list or tuple value by value."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, datetime.datetime):
        return int(value.timestamp())
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return value


class ModelSync:
    """The link :func:`sync_items`, :func:`sync_users` or :func:`sync_actions` makes between a
    model and a dataset: a ``post_save`` receiver, and what it did.

    Attributes:
        model: the model class.
        kind: ``"items"``, ``"users"`` or ``"actions"``.
        errors: records not sent, logged on ``personalize_tracker``: the Tracker refused them
            or a mapping failed (a counter for your metrics).
    """

    def __init__(
        self,
        model: type[Any],
        kind: str,
        record_id: FieldSource,
        fields: Mapping[str, FieldSource],
        tracker: Tracker | Callable[[], Tracker] | None,
        *,
        on_commit: bool,
        raise_errors: bool,
    ) -> None:
        """Check the mapping (see :func:`sync_items`); :meth:`connect` starts listening.

        Raises:
            ImproperlyConfigured: a source that is neither a str nor a callable, or an
                attribute the model does not have.
        """
        self.model, self.kind = model, kind
        self._call = {"items": "put_item", "users": "put_user", "actions": "put_action"}[kind]
        self._id, self._fields = record_id, dict(fields)
        self._tracker = tracker
        self._on_commit, self._raise = on_commit, raise_errors
        self._lock = threading.Lock()
        self.errors = 0
        self._uid = f"personalize_tracker.sync_{kind}.{model._meta.label}"
        for name, source in [("id", record_id), *self._fields.items()]:
            self._check(name, source)
        self._reads = self._fields_read()

    def _fields_read(self) -> frozenset[str] | None:
        """The concrete fields the properties read (names and attnames), when every source is
        one: a save whose ``update_fields`` touch none of them changes nothing the dataset
        holds. ``None`` (every save sends) when a source is a function, a property or a method
        (it may read any field), or a relation that is not a column."""
        reads: set[str] = set()
        meta = self.model._meta
        for source in self._fields.values():
            if callable(source):
                return None
            first = source.split("__")[0]
            try:
                field = meta.pk if first == "pk" else meta.get_field(first)
            except FieldDoesNotExist:
                return None
            if not getattr(field, "concrete", False) or getattr(field, "many_to_many", False):
                return None
            reads.update((field.name, field.attname))
        return frozenset(reads)

    def _check(self, name: str, source: object) -> None:
        if callable(source):
            return
        if not isinstance(source, str) or not source:
            raise ImproperlyConfigured(
                f"sync_{self.kind}({self.model.__name__}): the source of {name} must be an "
                f"attribute name or a function of the instance, not {source!r}"
            )
        first = source.split("__")[0]
        if not hasattr(self.model, first) and first != "pk":
            raise ImproperlyConfigured(
                f"sync_{self.kind}({self.model.__name__}): the source of {name}, {source!r}, "
                f"is not an attribute of {self.model.__name__}"
            )

    def connect(self) -> ModelSync:
        """Listen to the model's ``post_save`` (once per model and kind: connecting again
        replaces the earlier link)."""
        post_save.disconnect(sender=self.model, dispatch_uid=self._uid)
        post_save.connect(self._saved, sender=self.model, weak=False, dispatch_uid=self._uid)
        return self

    def disconnect(self) -> None:
        """Stop listening."""
        post_save.disconnect(sender=self.model, dispatch_uid=self._uid)

    def record_of(self, instance: Any) -> tuple[Any, dict[str, Any]]:
        """The id and properties of ``instance``'s record (``None`` values left out).

        Raises:
            Exception: what reading an attribute or a mapping function raises.
        """
        read = self._read
        properties = {name: read(instance, source) for name, source in self._fields.items()}
        record_id = read(instance, self._id)
        return (
            record_id if isinstance(record_id, int) else str(record_id),
            {name: value for name, value in properties.items() if value is not None},
        )

    @staticmethod
    def _read(instance: Any, source: FieldSource) -> Any:
        return _plain(source(instance) if callable(source) else _attribute(instance, source))

    def send(self, instance: Any) -> bool:
        """Put ``instance``'s record now (not waiting for a commit); return whether it was put.

        Raises:
            Exception: a mapping that fails, or the Tracker's refusal (``InvalidEventError``,
                ``ValueError`` without the dataset's ARN, ``TrackerClosedError``): only with
                ``raise_errors``; otherwise logged and counted in :attr:`errors`.
        """
        try:
            record_id, properties = self.record_of(instance)
        except Exception as exc:
            self._failed(instance, exc)
            return False
        return self._put(instance, record_id, properties)

    def send_all(self, instances: Iterable[Any]) -> int:
        """Put the record of each instance, e.g. ``sync.send_all(Product.objects.all())``
        after a ``queryset.update()``, a ``bulk_create()`` or a ``loaddata``; returns how many
        were put (refused ones are logged and counted)."""
        return sum(1 for instance in instances if self.send(instance))

    def _resolve(self) -> Tracker:
        tracker = self._tracker if self._tracker is not None else _default_tracker
        if tracker is None:
            raise ImproperlyConfigured(
                "sync_*() without tracker= uses the Tracker of settings.PERSONALIZE_TRACKER: "
                "import it from personalize_tracker.integrations.django"
            )
        return tracker if isinstance(tracker, Tracker) else tracker()

    def _failed(self, instance: Any, exc: Exception) -> None:
        with self._lock:
            self.errors += 1
        if self._raise:
            raise exc
        # InvalidEventError names the field and the limit, never the value; a user's pk (the
        # userId by default) is not logged, as the Tracker's own log lines leave user ids out.
        which = "" if self.kind == "users" else f" pk={getattr(instance, 'pk', None)}"
        logger.warning(
            "personalize-tracker: %s%s was not sent to the %s dataset (%s: %s)",
            self.model._meta.label,
            which,
            self.kind.capitalize(),
            type(exc).__name__,
            exc,
        )

    def _saved(
        self,
        sender: Any,
        instance: Any,
        raw: bool = False,
        using: str | None = None,
        update_fields: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if raw:
            return  # loaddata: see send_all
        reads = self._reads
        if update_fields is not None and reads is not None and reads.isdisjoint(update_fields):
            return
        if not self._on_commit:
            self.send(instance)
            return
        # Put once the transaction commits (nothing on a rollback), with the row as committed:
        # what the transaction did after this save (a many-to-many set, another save) is in it.
        transaction.on_commit(lambda: self._committed(instance, using), using=using)

    def _committed(self, instance: Any, using: str | None) -> None:
        """Read the saved row again by primary key and put its record (none when the row was
        deleted before the commit: the datasets have no delete)."""
        try:
            row = self.model._base_manager.using(using).filter(pk=instance.pk).first()
        except Exception as exc:  # the database is gone: logged, counted
            self._failed(instance, exc)
            return
        if row is not None:
            self.send(row)

    def _put(self, instance: Any, record_id: Any, properties: dict[str, Any]) -> bool:
        try:
            getattr(self._resolve(), self._call)(record_id, properties)
        except (InvalidEventError, ValueError, TrackerClosedError) as exc:
            self._failed(instance, exc)
            return False
        return True


def _sync(
    kind: str,
    model: type[Any],
    record_id: FieldSource,
    fields: Mapping[str, FieldSource] | None,
    tracker: Tracker | Callable[[], Tracker] | None,
    on_commit: bool,
    raise_errors: bool,
) -> ModelSync:
    link = ModelSync(
        model, kind, record_id, fields or {}, tracker, on_commit=on_commit,
        raise_errors=raise_errors,
    )  # fmt: skip
    return link.connect()


def sync_items(
    model: type[Any],
    *,
    item_id: FieldSource = "pk",
    fields: Mapping[str, FieldSource] | None = None,
    tracker: Tracker | Callable[[], Tracker] | None = None,
    on_commit: bool = True,
    raise_errors: bool = False,
) -> ModelSync:
    """Keep the Items dataset in step with ``model``: each save becomes a ``put_item``.

    Call it once, e.g. in your ``AppConfig.ready()``::

        sync_items(Product, item_id="sku", fields={
            "PRICE": "price",                                    # an attribute
            "GENRES": lambda p: [g.name for g in p.genres.all()],  # a list: categorical, '|'
            "BRAND": "brand__name",                              # a related object's attribute
        })

    Each ``post_save`` of the model (created or updated) puts the mapped values once the
    transaction commits (``transaction.on_commit``: a rolled-back save sends nothing), read from
    the row as committed (one query by primary key): a many-to-many set after the save in the
    same transaction (the admin saves the object, then its many-to-many) is in the record, and
    a row deleted before the commit sends nothing. A many-to-many change alone
    (``p.genres.add(...)``, no save) sends no ``post_save``: call :meth:`ModelSync.send`. The
    Tracker batches them (10 a PutItems call), replaces a waiting record of the same id by
    the later one, and retries. Values: a ``Decimal`` is sent as a float, an aware datetime as
    epoch seconds, a date as ISO text, a list as a multi-valued categorical field; ``None``
    leaves the field out. Deletes, ``queryset.update()``, ``bulk_create()`` and ``loaddata``
    send nothing (see :meth:`ModelSync.send_all`). A save whose ``update_fields`` hold none of
    the model fields named in the mapping sends nothing either (with a function, a property or
    a method in the mapping, every save sends: it may read any field).

    Args:
        model: the model class (a subclass's saves are not seen: Django sends them under the
            subclass).
        item_id: the item id: an attribute (default the primary key) or a function.
        fields: Items schema field name (``PRICE``, sent as ``price``) -> its source: an
            attribute name (``__`` for a related object's) or a function of the instance.
        tracker: the Tracker (with ``items_dataset_arn``) or a function returning it; default
            the one of ``settings.PERSONALIZE_TRACKER`` (``get_tracker()``: put
            ``"items_dataset_arn"`` in its ``OPTIONS``).
        on_commit: put after the commit (default); ``False``: at the save itself, with the
            instance's values then (a many-to-many set later is not seen).
        raise_errors: let a refused record's error propagate (tests, development) instead of
            logging it and counting it in :attr:`ModelSync.errors`; with ``on_commit`` it
            propagates from the commit (the data is committed by then).

    Returns:
        The :class:`ModelSync` (``disconnect()``, ``send(instance)``, ``send_all(instances)``,
        ``errors``). Calling ``sync_items`` again for the same model replaces it.

    Raises:
        ImproperlyConfigured: a source that is neither an attribute of the model nor a
            function.
    """
    return _sync("items", model, item_id, fields, tracker, on_commit, raise_errors)


def sync_users(
    model: type[Any],
    *,
    user_id: FieldSource = "pk",
    fields: Mapping[str, FieldSource] | None = None,
    tracker: Tracker | Callable[[], Tracker] | None = None,
    on_commit: bool = True,
    raise_errors: bool = False,
) -> ModelSync:
    """Keep the Users dataset in step with ``model`` (your user model, or a profile): each
    save becomes a ``put_user``; as :func:`sync_items`, with ``user_id`` (default the primary
    key: the id ``PersonalizeMiddleware`` sends as ``userId`` by default) and the Tracker's
    ``users_dataset_arn``.

    Raises:
        ImproperlyConfigured: as :func:`sync_items`.
    """
    return _sync("users", model, user_id, fields, tracker, on_commit, raise_errors)


def sync_actions(
    model: type[Any],
    *,
    action_id: FieldSource = "pk",
    fields: Mapping[str, FieldSource] | None = None,
    tracker: Tracker | Callable[[], Tracker] | None = None,
    on_commit: bool = True,
    raise_errors: bool = False,
) -> ModelSync:
    """Keep the Actions dataset in step with ``model``: each save becomes a ``put_action``; as
    :func:`sync_items`, with ``action_id`` and the Tracker's ``actions_dataset_arn``.

    Raises:
        ImproperlyConfigured: as :func:`sync_items`.
    """
    return _sync("actions", model, action_id, fields, tracker, on_commit, raise_errors)
