"""Where the other record kinds' ``personalize-events`` client comes from, apart from their
pipelines (``datasets``) so that a Tracker without a dataset ARN does not import those (issue 18:
import time).
"""

from __future__ import annotations

from typing import Any

import attrs
import boto3

from .._delivery.putevents import build_client

__all__ = ["ClientSource"]


@attrs.frozen
class ClientSource:
    """Where the kinds' ``personalize-events`` client comes from: the Tracker's ``client`` (used
    as is, also in a forked child), or one built from ``session``, ``region_name`` and
    ``endpoint_url`` (``shared``: the event pipeline's, used until a fork; each pipeline then
    builds its own)."""

    client: Any = None
    session: boto3.Session | None = None
    region_name: str | None = None
    endpoint_url: str | None = None
    shared: Any = None
    transport: str | None = None  # the Tracker's transport name ("boto3": no lean path)

    def build(self, max_workers: int) -> Any:
        """A new client (see ``putevents.build_client``).

        Raises:
            ValueError: no AWS region is known.
        """
        return build_client(
            session=self.session,
            region_name=self.region_name,
            endpoint_url=self.endpoint_url,
            max_workers=max_workers,
        )
