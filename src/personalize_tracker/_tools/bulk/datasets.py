"""Items, Users and Actions bulk CSVs, the files of a dataset import job: which dataset a header
is for, and each row as the id and the properties of one ``put_item``, ``put_user`` or
``put_action`` call.

The format is the developer guide's ("Data format guidelines",
https://docs.aws.amazon.com/personalize/latest/dg/data-prep-formatting.html): a comma-separated
file whose header names the schema's fields, one record per line; the id column (``ITEM_ID``,
``USER_ID``, ``ACTION_ID``) plus metadata columns, the values of a multi-valued categorical
field separated by ``|`` ("Items dataset schema requirements",
https://docs.aws.amazon.com/personalize/latest/dg/item-dataset-requirements.html: "For items
with multiple categories, separate each value with the vertical bar, '|'").
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from pathlib import Path

import attrs

from .csv_reader import HeaderCheck
from .fields import normal_name
from .formats import BulkFormatError
from .values import RowError

__all__ = [
    "DATASET_KINDS",
    "DatasetKind",
    "check_dataset_header",
    "dataset_kind_of",
    "dataset_kind_of_header",
    "dataset_row",
]


@attrs.frozen
class DatasetKind:
    """One dataset a bulk CSV can be for.

    Attributes:
        name: ``"items"``, ``"users"`` or ``"actions"`` (the key of ``stats().kinds``).
        label: ``"Items"``... (the dataset type, as the developer guide names it).
        id_column: the required id field: ``ITEM_ID``, ``USER_ID`` or ``ACTION_ID``.
        id_key: the id's name in a PutItems/PutUsers/PutActions entry (``itemId``...).
        call: the Tracker method that sends one record (``put_item``...).
        operation: the API operation (``PutItems``...).
        option: the Tracker argument naming the dataset (``items_dataset_arn``...).
    """

    name: str
    label: str
    id_column: str
    id_key: str
    call: str
    operation: str
    option: str

    @property
    def noun(self) -> str:
        """``"item"``, ``"user"`` or ``"action"``."""
        return self.name[:-1]


#: The datasets a bulk CSV can be replayed into, by ``DatasetKind.name``.
DATASET_KINDS: dict[str, DatasetKind] = {
    kind.name: kind
    for kind in (
        DatasetKind("items", "Items", "ITEM_ID", "itemId", "put_item", "PutItems",
                    "items_dataset_arn"),
        DatasetKind("users", "Users", "USER_ID", "userId", "put_user", "PutUsers",
                    "users_dataset_arn"),
        DatasetKind("actions", "Actions", "ACTION_ID", "actionId", "put_action", "PutActions",
                    "actions_dataset_arn"),
    )
}  # fmt: skip

_NORMAL = {normal_name(kind.id_column): kind for kind in DATASET_KINDS.values()}
_TIMESTAMP = normal_name("TIMESTAMP")


def dataset_kind_of_header(path: str | os.PathLike[str], names: list[str]) -> DatasetKind | None:
    """Tell the dataset of a bulk CSV by its header.

    A header with ``TIMESTAMP`` is an interactions file (``None``); else the one id column it
    has (if only one) says which dataset: ``ITEM_ID`` Items, ``USER_ID`` Users, ``ACTION_ID``
    Actions.

    Args:
        path: the file, for messages.
        names: the header's column names.

    Returns:
        The :class:`DatasetKind`, or ``None`` for an Interactions CSV (or a header that names
        no id: the Interactions check then says what is missing).

    Raises:
        BulkFormatError: an Action interactions CSV (``ACTION_ID`` and ``TIMESTAMP``), which
            replay does not read.
    """
    normal = {normal_name(name) for name in names}
    found = [kind for key, kind in _NORMAL.items() if key in normal]
    if _TIMESTAMP in normal:
        if DATASET_KINDS["actions"] in found:
            raise BulkFormatError(
                f"{path}:1: ACTION_ID and TIMESTAMP: an Action interactions CSV, which replay "
                "does not read (send action interactions with Tracker.track_action)"
            )
        return None
    # Several ids and no TIMESTAMP: an Interactions CSV lacking it (its check says so).
    return found[0] if len(found) == 1 else None


def dataset_kind_of(path: str | os.PathLike[str]) -> DatasetKind | None:
    """Read the header of a CSV file and tell its dataset (see :func:`dataset_kind_of_header`).

    Raises:
        OSError: the file cannot be read.
        BulkFormatError: as :func:`dataset_kind_of_header`.
    """
    with Path(path).open(newline="", encoding="utf-8-sig") as stream:
        header = next(csv.reader(stream), None)
    return None if header is None else dataset_kind_of_header(path, header)


def check_dataset_header(kind: DatasetKind) -> HeaderCheck:
    """The header check of ``kind``'s bulk CSV, for :func:`~.csv_reader.read_csv_rows`.

    Returns:
        ``check(path, header) -> names``, raising :class:`BulkFormatError` when the file is
        empty, has no ``kind.id_column`` or names a column twice (as a dataset import job fails).
    """

    def check(path: str | os.PathLike[str], header: list[str] | None) -> list[str]:
        if header is None:
            raise BulkFormatError(f"{path}: the file is empty; expected a header line")
        names = [name.strip() for name in header]
        normal = [normal_name(name) for name in names]
        if normal_name(kind.id_column) not in normal:
            raise BulkFormatError(
                f"{path}:1: the header lacks {kind.id_column}; an {kind.label} CSV has "
                f"{kind.id_column},<metadata columns>, got {','.join(names)}"
            )
        pairs = zip(names, normal, strict=True)
        twice = sorted({name for name, key in pairs if normal.count(key) > 1})
        if twice:
            raise BulkFormatError(
                f"{path}:1: the header names the same field twice: {', '.join(twice)}"
            )
        return names

    return check


def dataset_row(kind: DatasetKind, record: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """One row of ``kind``'s bulk CSV as the arguments of its ``put_*`` call.

    The id column's value is the id; every other column is a property under the column's own
    name (``put_item`` sends it in camelCase: ``GENRES`` -> ``genres``), its text as it is
    (``Comedy|Drama`` stays one ``|``-joined categorical value; numbers stay text unless a
    dataset schema coerces them). An empty cell is a missing value, left out.

    Args:
        kind: the dataset.
        record: column -> text, as :func:`~.csv_reader.read_csv_rows` yields it.

    Returns:
        ``(record id, properties)``.

    Raises:
        RowError: the id is empty.
    """
    key = normal_name(kind.id_column)
    record_id: str | None = None
    properties: dict[str, str] = {}
    for column, text in record.items():
        if normal_name(column) == key:
            record_id = text.strip()
        elif text != "":
            properties[column] = text
    if not record_id:
        raise RowError(f"no {kind.noun} id: the {kind.id_column} column is empty")
    return record_id, properties
