"""Interactions schemas: check events against the Avro schema of the Interactions dataset.

A Tracker given ``schema=`` checks each event at ``track()``: property keys must be metadata
fields of the schema, values must fit each field's type (coerced where that is safe), and the
event's optional fields must exist in the schema. Personalize itself only finds such mistakes
when it trains (or not at all: an unknown property is silently ignored).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

import attrs

from ._errors import InvalidEventError
from ._record.properties import to_camel_case

__all__ = ["RESERVED_FIELDS", "DatasetSchema", "InteractionsSchema", "SchemaField"]

#: Interactions schema fields that PutEvents fills from its own members, not from ``properties``
#: (Amazon Personalize, "Interactions dataset schema requirements").
RESERVED_FIELDS = frozenset(
    {
        "USER_ID",
        "ITEM_ID",
        "TIMESTAMP",
        "EVENT_TYPE",
        "EVENT_VALUE",
        "IMPRESSION",
        "RECOMMENDATION_ID",
    }
)

#: Avro primitive types Personalize schemas use (Amazon Personalize, "Schema data types").
_TYPES = frozenset({"string", "int", "long", "float", "double", "boolean"})
_INT_RANGES = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_INTEGER_TEXT = re.compile(r"^\s*[+-]?\d+\s*$")
#: Characters at most in one categorical value of a dataset (Amazon Personalize developer guide,
#: Items/Users dataset schema requirements: "Categorical values can have at most 1000
#: characters"; a longer one fails the dataset import job).
_CATEGORY_MAX = 1000
_CATEGORY_LIMIT = "at most 1000 characters per categorical value (Personalize datasets)"


@attrs.frozen
class SchemaField:
    """One field of an Interactions schema.

    Attributes:
        name: the field name as written in the schema (``"DEVICE_TYPE"``).
        type: the Avro type without ``null``: ``"string"``, ``"int"``, ``"long"``, ``"float"``,
            ``"double"`` or ``"boolean"``.
        nullable: whether the type is a union with ``"null"`` (the field may be absent).
        categorical: the field's ``categorical`` attribute (a string field whose values may be
            several categories joined with ``"|"``).
        property_name: the ``properties`` key PutEvents expects: ``name`` in camelCase
            (``"deviceType"``).
    """

    name: str
    type: str
    nullable: bool = False
    categorical: bool = False
    property_name: str = attrs.field(init=False)

    @property_name.default
    def _property_name(self) -> str:
        return to_camel_case(self.name)

    @property
    def reserved(self) -> bool:
        """Whether PutEvents fills this field from its own members (``ITEM_ID``, ...)."""
        return self.name.upper() in RESERVED_FIELDS


@attrs.frozen
class InteractionsSchema:
    """The Avro schema of an Interactions dataset, used to check events at ``track()``.

    Build it with :meth:`from_json` (the schema JSON you gave ``CreateSchema``) or
    :meth:`from_arn` (fetched with the ``personalize`` client's ``DescribeSchema``), and pass it
    as ``Tracker(..., schema=...)``.

    Attributes:
        name: the schema's name (the Personalize schema name with :meth:`from_arn`, else the
            Avro record's ``name``); errors name it.
        fields: every field, in schema order.
    """

    name: str
    fields: tuple[SchemaField, ...]
    _by_property: dict[str, SchemaField] = attrs.field(init=False, repr=False, eq=False)

    @_by_property.default
    def _index(self) -> dict[str, SchemaField]:
        return {f.property_name: f for f in self.fields if not f.reserved}

    @property
    def _limit(self) -> str:
        """The rule's source in error messages: the schema, by name."""
        return f"Interactions schema {self.name!r}"

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_json(
        cls, schema: str | Mapping[str, Any], *, name: str | None = None
    ) -> InteractionsSchema:
        """Parse the Avro JSON of an Interactions schema.

        Args:
            schema: the Avro schema as a JSON string or an already decoded mapping: a
                ``"record"`` with ``"fields"``, each a ``{"name": ..., "type": ...}`` where the
                type is one of ``string``, ``int``, ``long``, ``float``, ``double``, ``boolean``,
                optionally in a union with ``"null"``, and ``"categorical": true`` allowed.
            name: the name errors use (default: the record's ``name``).

        Returns:
            The schema.

        Raises:
            ValueError: not JSON, not a record with fields, a field without a name, an
                unsupported type, or a field name given twice (also once in camelCase).
        """
        if isinstance(schema, str):
            try:
                decoded = json.loads(schema)
            except json.JSONDecodeError as exc:
                raise ValueError(f"the Interactions schema is not valid JSON ({exc.msg})") from None
        else:
            decoded = schema
        if not isinstance(decoded, Mapping) or decoded.get("type") != "record":
            raise ValueError('an Interactions schema is an Avro {"type": "record", ...} object')
        raw_fields = decoded.get("fields")
        if not isinstance(raw_fields, list) or not raw_fields:
            raise ValueError("the Interactions schema has no fields")
        fields = tuple(_parse_field(raw, index) for index, raw in enumerate(raw_fields))
        seen: dict[str, str] = {}
        for field in fields:
            key = field.property_name.lower()
            if key in seen:
                raise ValueError(
                    f"the Interactions schema has fields {seen[key]!r} and {field.name!r}, "
                    "which are the same properties key once in camelCase"
                )
            seen[key] = field.name
        schema_name = name if name is not None else decoded.get("name")
        if not isinstance(schema_name, str) or not schema_name:
            schema_name = "Interactions"
        return cls(schema_name, fields)

    @classmethod
    def from_arn(
        cls,
        schema_arn: str,
        *,
        client: Any = None,
        session: Any = None,
        region_name: str | None = None,
    ) -> InteractionsSchema:
        """Fetch a schema with the ``personalize`` API's ``DescribeSchema`` and parse it.

        Args:
            schema_arn: the schema's ARN.
            client: a boto3 ``personalize`` client (default: one built from ``session``).
            session: a ``boto3.Session`` for the default client (default: a new default one).
            region_name: region of the default client (default: the session's).

        Returns:
            The schema, named after the Personalize schema.

        Raises:
            botocore.exceptions.ClientError: ``DescribeSchema`` failed (e.g.
                ``ResourceNotFoundException``).
            ValueError: the schema is not an Interactions schema this class can read.
        """
        if client is None:
            import boto3

            session = session if session is not None else boto3.Session()
            client = session.client("personalize", region_name=region_name)
        described = client.describe_schema(schemaArn=schema_arn)["schema"]
        return cls.from_json(described["schema"], name=described.get("name"))

    # ------------------------------------------------------------------ queries

    def field(self, name: str) -> SchemaField | None:
        """Return the field called ``name`` (schema form, snake_case or camelCase), or ``None``."""
        wanted = to_camel_case(name).lower()
        for field in self.fields:
            if field.property_name.lower() == wanted:
                return field
        return None

    @property
    def property_names(self) -> tuple[str, ...]:
        """The ``properties`` keys (camelCase) this schema accepts: its non-reserved fields."""
        return tuple(self._by_property)

    @property
    def has_event_value(self) -> bool:
        """Whether the schema has an ``EVENT_VALUE`` field (needed to send ``event_value``)."""
        return self.field("EVENT_VALUE") is not None

    @property
    def has_impression(self) -> bool:
        """Whether the schema has an ``IMPRESSION`` field (needed to send ``impression``)."""
        return self.field("IMPRESSION") is not None

    @property
    def item_id_required(self) -> bool:
        """Whether the schema's ``ITEM_ID`` field exists and is not nullable."""
        item = self.field("ITEM_ID")
        return item is not None and not item.nullable

    # ------------------------------------------------------------------ checks

    def check_properties(self, properties: Mapping[str, Any]) -> dict[str, Any]:
        """Check normalised properties (camelCase keys) and return them coerced to field types.

        ``None`` values (fields left out) pass unchanged. Coercions (only where no information
        is lost): a string field takes a number (as its decimal text); an ``int``/``long`` field
        takes an integral float or integer text (``"12"``); a ``float``/``double`` field takes
        an int or numeric text; a ``boolean`` field takes ``"true"``/``"false"``.

        Raises:
            InvalidEventError: a key that is not a metadata field of the schema, or a value that
                does not fit its field's type (``field`` is ``properties.<camelCaseKey>``,
                ``limit`` names the schema). Values are never repeated in the message.
        """
        result: dict[str, Any] = {}
        by_property = self._by_property
        for key, value in properties.items():
            field = by_property.get(key)
            if field is None:
                raise InvalidEventError(
                    f"properties.{key}",
                    "is not a metadata field of the schema (fields: "
                    + (", ".join(by_property) or "none")
                    + ")",
                    self._limit,
                )
            result[key] = value if value is None else self._coerce(field, key, value)
        return result

    def check_event(
        self,
        item_id: object,
        event_value: object,
        impression: object,
    ) -> None:
        """Check the event's own optional members against the schema.

        Raises:
            InvalidEventError: ``event_value`` without an ``EVENT_VALUE`` field, ``impression``
                without an ``IMPRESSION`` field, or no ``item_id`` while the schema's
                ``ITEM_ID`` field is not nullable.
        """
        if item_id is None and self.item_id_required:
            raise InvalidEventError(
                "item_id", "is required: the schema's ITEM_ID field is not nullable", self._limit
            )
        if event_value is not None and not self.has_event_value:
            raise InvalidEventError(
                "event_value", "cannot be sent: the schema has no EVENT_VALUE field", self._limit
            )
        if impression is not None and not self.has_impression:
            raise InvalidEventError(
                "impression", "cannot be sent: the schema has no IMPRESSION field", self._limit
            )

    def _coerce(self, field: SchemaField, key: str, value: Any) -> Any:
        kind = field.type
        where = f"properties.{key}"
        if kind == "string":
            if isinstance(value, str):
                return value
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return str(value)
            raise InvalidEventError(
                where, f"is a {type(value).__name__}; {self._is(field)}", self._limit
            )
        if kind in ("int", "long"):
            number: Any = value
            if isinstance(value, bool):
                number = None
            elif isinstance(value, float):
                number = int(value) if value.is_integer() else None
            elif isinstance(value, str):
                number = int(value) if _INTEGER_TEXT.match(value) else None
            elif not isinstance(value, int):
                number = None
            if number is None:
                raise InvalidEventError(
                    where,
                    f"is not an integer ({type(value).__name__}); {self._is(field)}",
                    self._limit,
                )
            low, high = _INT_RANGES[kind]
            if not low <= number <= high:
                raise InvalidEventError(
                    where, f"is out of range; {self._is(field)} ({low} to {high})", self._limit
                )
            return number
        if kind in ("float", "double"):
            result: float | None = None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                result = float(value)
            elif isinstance(value, str):
                try:
                    result = float(value)
                except ValueError:
                    result = None
            if result is None or not math.isfinite(result):
                raise InvalidEventError(
                    where,
                    f"is not a finite number ({type(value).__name__}); {self._is(field)}",
                    self._limit,
                )
            return result
        # boolean
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise InvalidEventError(
            where, f"is not a boolean ({type(value).__name__}); {self._is(field)}", self._limit
        )

    @staticmethod
    def _is(field: SchemaField) -> str:
        return (
            f"the field {field.name} is {'categorical ' if field.categorical else ''}{field.type}"
        )


def _parse_field(raw: object, index: int) -> SchemaField:
    if not isinstance(raw, Mapping):
        raise ValueError(f"field {index} of the Interactions schema is not an object")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"field {index} of the Interactions schema has no name")
    kind = raw.get("type")
    nullable = False
    if isinstance(kind, list):
        others = [k for k in kind if k != "null"]
        nullable = len(others) < len(kind)
        if len(others) != 1:
            raise ValueError(
                f"field {name!r} of the Interactions schema has the union type {kind!r}; "
                'Personalize supports one type, optionally with "null"'
            )
        kind = others[0]
    if isinstance(kind, Mapping):
        kind = kind.get("type")
    if kind not in _TYPES:
        raise ValueError(
            f"field {name!r} of the Interactions schema has the type {kind!r}; expected one of "
            + ", ".join(sorted(_TYPES))
        )
    return SchemaField(
        name=name, type=str(kind), nullable=nullable, categorical=raw.get("categorical") is True
    )


#: A dataset kind → the field that is the record's id (Amazon Personalize, "Schema
#: requirements" of the Items, Users and Actions datasets).
_ID_FIELDS = {"items": "ITEM_ID", "users": "USER_ID", "actions": "ACTION_ID"}


@attrs.frozen
class DatasetSchema(InteractionsSchema):
    """The Avro schema of an Items, Users or Actions dataset, used to check the properties of
    ``put_item``, ``put_user`` or ``put_action`` at the call, as :class:`InteractionsSchema`
    checks events: every key must be a field of the schema, every value fit its field's type
    (coerced where nothing is lost), and every field that is not nullable must be given.

    Build it with :meth:`from_json` or :meth:`from_arn` and pass it as
    ``Tracker(..., items_schema=...)`` (``users_schema``, ``actions_schema``).

    Attributes:
        name: the schema's name (errors name it).
        fields: the metadata fields, in schema order (without the id field).
        kind: ``"items"``, ``"users"`` or ``"actions"``: the dataset it describes.
    """

    kind: str = "items"

    @property
    def _limit(self) -> str:
        return f"{self.kind.capitalize()} schema {self.name!r}"

    @classmethod
    def from_json(
        cls, schema: str | Mapping[str, Any], *, name: str | None = None, kind: str | None = None
    ) -> DatasetSchema:
        """Parse the Avro JSON of an Items, Users or Actions schema.

        Args:
            schema: the Avro schema (JSON text or a decoded mapping), as for
                :meth:`InteractionsSchema.from_json`.
            name: the name errors use (default: the record's ``name``).
            kind: ``"items"``, ``"users"`` or ``"actions"``; default: the one whose id field
                (``ITEM_ID``, ``USER_ID``, ``ACTION_ID``) the schema has, alone.

        Raises:
            ValueError: what :meth:`InteractionsSchema.from_json` refuses; an unknown ``kind``;
                no id field, or several, to tell the kind by; or no field of ``kind``'s id.
        """
        parsed = InteractionsSchema.from_json(schema, name=name)
        names = {f.name.upper() for f in parsed.fields}
        if kind is None:
            found = [k for k, id_field in _ID_FIELDS.items() if id_field in names]
            if len(found) != 1:
                raise ValueError(
                    "cannot tell the dataset of the schema by its id field (ITEM_ID, USER_ID or "
                    "ACTION_ID, one of them): pass kind='items', 'users' or 'actions'"
                )
            kind = found[0]
        if kind not in _ID_FIELDS:
            raise ValueError(f"kind must be 'items', 'users' or 'actions', got {kind!r}")
        if _ID_FIELDS[kind] not in names:
            raise ValueError(f"the {kind.capitalize()} schema has no {_ID_FIELDS[kind]} field")
        metadata = tuple(f for f in parsed.fields if f.name.upper() != _ID_FIELDS[kind])
        return cls(parsed.name, metadata, kind)

    @classmethod
    def from_arn(
        cls,
        schema_arn: str,
        *,
        client: Any = None,
        session: Any = None,
        region_name: str | None = None,
        kind: str | None = None,
    ) -> DatasetSchema:
        """Fetch a schema with the ``personalize`` API's ``DescribeSchema`` and parse it (see
        :meth:`InteractionsSchema.from_arn` for the arguments, :meth:`from_json` for ``kind``).

        Raises:
            botocore.exceptions.ClientError: ``DescribeSchema`` failed.
            ValueError: as :meth:`from_json`.
        """
        if client is None:
            import boto3

            session = session if session is not None else boto3.Session()
            client = session.client("personalize", region_name=region_name)
        described = client.describe_schema(schemaArn=schema_arn)["schema"]
        return cls.from_json(described["schema"], name=described.get("name"), kind=kind)

    def check(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Check a record's camelCase fields; return them coerced to the fields' types.

        Raises:
            InvalidEventError: a key that is not a field of the schema, a value that does not
                fit its field's type (a list for a field that is not a categorical string), a
                categorical value over 1,000 characters, or a field that is not nullable left
                out (``field`` is ``properties.<camelCaseKey>``; ``limit`` names the schema).
        """
        checked = self.check_properties({k: self._joined(k, v) for k, v in fields.items()})
        for field in self.fields:
            value = checked.get(field.property_name)
            if value is None and not field.nullable:
                raise InvalidEventError(
                    f"properties.{field.property_name}",
                    f"is missing: the field {field.name} is not nullable",
                    self._limit,
                )
            if field.categorical and type(value) is str and len(value) > _CATEGORY_MAX:
                longest = max(len(part) for part in value.split("|"))
                if longest > _CATEGORY_MAX:
                    raise InvalidEventError(
                        f"properties.{field.property_name}",
                        f"has a value {longest} characters long",
                        _CATEGORY_LIMIT,
                    )
        return checked

    def _joined(self, key: str, value: Any) -> Any:
        """A multi-valued field's values (a tuple, see ``encode_dataset_properties``) joined
        with ``"|"``: only a categorical string field takes several values."""
        if type(value) is not tuple:
            return value
        field = self._by_property.get(key)
        if field is not None and not (field.type == "string" and field.categorical):
            raise InvalidEventError(
                f"properties.{key}",
                f"is a list; {self._is(field)}: only a categorical string field takes several "
                "values",
                self._limit,
            )
        return "|".join(value)  # (a key of no field: check_properties names it)
