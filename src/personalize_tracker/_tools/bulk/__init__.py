"""Bulk interaction data: column mapping, Interactions CSV and JSON Lines reading, CSV export.

The pieces behind :func:`personalize_tracker.replay` and the ``personalize-tracker replay`` and
``export`` commands:

- :mod:`.fields`: :class:`FieldMapping` finds which column of a record holds which event field
  (by an explicit mapping, or by name: ``user_id``, ``userId`` and ``USER_ID`` are all the user
  id) and turns one record into :class:`RowFields`; :mod:`.values` reads each value, raising
  :class:`RowError` with a readable message when it cannot be used.
- :mod:`.formats`, :mod:`.csv_reader`, :mod:`.jsonl_reader`: :func:`detect_format`, and
  :func:`read_interactions_csv` and :func:`read_json_lines`, which stream a file as
  ``(line, record)`` pairs, a problem text standing in for a record that cannot be read.
- :mod:`.export`: :func:`write_interactions_csv` writes events as an Interactions CSV for a
  dataset import job, and :func:`read_export_events` reads the events to write.
- :mod:`.datasets`: Items, Users and Actions CSVs: :func:`dataset_kind_of` tells the dataset by
  the header, :func:`dataset_row` reads a row as a ``put_item`` (``put_user``, ``put_action``).

Nothing here imports pandas, tqdm or click.
"""

from __future__ import annotations

from .csv_reader import check_interactions_header, read_csv_rows, read_interactions_csv
from .datasets import (
    DATASET_KINDS,
    DatasetKind,
    check_dataset_header,
    dataset_kind_of,
    dataset_row,
)
from .export import (
    INTERACTIONS_COLUMNS,
    ExportLine,
    export_rows,
    read_export_events,
    to_upper_snake,
    write_interactions_csv,
)
from .fields import CONTEXT_ALL, FIELDS, FieldMapping, RowFields
from .formats import BulkFormatError, count_lines, detect_format
from .jsonl_reader import flatten_record, read_json_lines
from .values import RowError

__all__ = [
    "CONTEXT_ALL",
    "DATASET_KINDS",
    "FIELDS",
    "INTERACTIONS_COLUMNS",
    "BulkFormatError",
    "DatasetKind",
    "ExportLine",
    "FieldMapping",
    "RowError",
    "RowFields",
    "check_dataset_header",
    "check_interactions_header",
    "count_lines",
    "dataset_kind_of",
    "dataset_row",
    "detect_format",
    "export_rows",
    "flatten_record",
    "read_csv_rows",
    "read_export_events",
    "read_interactions_csv",
    "read_json_lines",
    "to_upper_snake",
    "write_interactions_csv",
]
