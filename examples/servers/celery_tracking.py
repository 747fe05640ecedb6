"""Celery: deliver each worker process's events when the process shuts down.

Celery's prefork pool forks its worker processes from the main one. A Tracker created at import
(``app/tracking.py``) resets itself in each child, so children never send their parent's events;
each child must then deliver its own pending events before it exits, which
``worker_process_shutdown`` (sent in the child) is for. Import this module where Celery loads
your tasks (e.g. from ``app/celery.py``).
"""

from __future__ import annotations

from typing import Any

from app.tracking import tracker
from celery.signals import worker_process_shutdown

# Seconds the flush may take: keep it under your pool's shutdown timeout.
SHUTDOWN_FLUSH_SECONDS = 10.0


@worker_process_shutdown.connect
def deliver_pending_events(**kwargs: Any) -> None:
    """Flush and close the process's Tracker as the Celery worker process shuts down."""
    tracker.close(timeout=SHUTDOWN_FLUSH_SECONDS)
