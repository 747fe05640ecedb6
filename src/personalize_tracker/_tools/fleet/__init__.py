"""``personalize-tracker demo --fleet N``: a fleet of producer processes feeds Personalize through
a local Kinesis stream (see ``docs/fleet.md``).

- :mod:`.producer`: one producer process: its share of the users through
  ``Tracker(transport=KinesisTransport(...))``, and the cost of ``track()`` against an in-process
  Tracker's.
- :mod:`.run`: :func:`run_fleet_demo` (the endpoint, the stream, the producers, the local runner,
  the exactly-once check) and :func:`fleet_summary_text`.

Needs moto (the ``testing`` extra), imported only when the demo runs.
"""

from __future__ import annotations

from .producer import ProducerResult, ProducerTask, run_producer, share_of
from .run import FleetResult, fleet_summary_text, run_fleet_demo

__all__ = [
    "FleetResult",
    "ProducerResult",
    "ProducerTask",
    "fleet_summary_text",
    "run_fleet_demo",
    "run_producer",
    "share_of",
]
