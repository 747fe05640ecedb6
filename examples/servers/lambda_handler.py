"""AWS Lambda: deliver an invocation's events before it returns.

Between invocations Lambda freezes the execution environment, so background threads do not run;
``flush_after`` flushes the Tracker when the handler returns or raises. The Tracker is created
once per execution environment, outside the handler.
"""

from __future__ import annotations

import os
from typing import Any

from personalize_tracker import Tracker, flush_after

tracker = Tracker(os.environ.get("PERSONALIZE_TRACKING_ID", "your-tracking-id"), sync=True)


@flush_after(tracker, timeout=2.0)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Record a purchase from an API Gateway request."""
    tracker.track(
        "purchase",
        session_id=event["sessionId"],
        user_id=event.get("userId"),
        item_id=event["itemId"],
    )
    return {"statusCode": 200}
