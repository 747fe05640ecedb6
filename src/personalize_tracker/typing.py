"""Types and protocols of personalize-tracker: the one home of the aliases and protocols that
the parts of the library (and code built on it) speak.

Nothing here imports the rest of the package, so any module may import it.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any, Union

__all__ = ["PropertiesInput", "SentAtInput"]

#: What ``sent_at`` accepts: an aware datetime, or epoch seconds.
SentAtInput = Union[_dt.datetime, float, int, None]  # noqa: UP007 - a runtime alias
#: What ``properties`` accepts: a mapping, or a string holding a JSON object.
PropertiesInput = Union[Mapping[str, Any], str, None]  # noqa: UP007 - a runtime alias
