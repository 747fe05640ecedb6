"""The ``personalize-tracker demo`` command's engine: send the MovieLens catalogue through
``put_item``, then replay its ratings through a Tracker.

- :mod:`.movielens`: the data (:func:`resolve_data_path`, :func:`count_rows`,
  :func:`iter_movielens`, :func:`sessionize`), plain and small functions tested on their own.
- :mod:`.check`: the comparison of what the local endpoint received with what was tracked
  (:func:`check_delivery`).
- :mod:`.run`: :func:`run_demo`, which ties them to a :class:`~personalize_tracker.Tracker` and a
  local PutEvents endpoint.
- :mod:`.report`: the summary of a run, as text or JSON data.

Nothing here needs click; the progress bar needs tqdm (the ``cli`` extra) and the local endpoint
needs moto (the ``testing`` extra), both imported only when used.
"""

from __future__ import annotations

from ..backfill import calls_floor
from .check import DeliveryCheck, check_delivery
from .movielens import (
    DEFAULT_DATA_PATH,
    DEFAULT_SESSION_GAP_MINUTES,
    EVENT_TYPE,
    MovieLensFormatError,
    Rating,
    RatingEvent,
    count_rows,
    iter_movielens,
    resolve_data_path,
    sessionize,
)
from .report import summary_dict, summary_text
from .run import (
    DEFAULT_LOCAL_ITEMS_DATASET_ARN,
    DEFAULT_LOCAL_TRACKING_ID,
    DEFAULT_REGION,
    DemoResult,
    run_demo,
)

__all__ = [
    "DEFAULT_DATA_PATH",
    "DEFAULT_LOCAL_ITEMS_DATASET_ARN",
    "DEFAULT_LOCAL_TRACKING_ID",
    "DEFAULT_REGION",
    "DEFAULT_SESSION_GAP_MINUTES",
    "EVENT_TYPE",
    "DeliveryCheck",
    "DemoResult",
    "MovieLensFormatError",
    "Rating",
    "RatingEvent",
    "calls_floor",
    "check_delivery",
    "count_rows",
    "iter_movielens",
    "resolve_data_path",
    "run_demo",
    "sessionize",
    "summary_dict",
    "summary_text",
]
