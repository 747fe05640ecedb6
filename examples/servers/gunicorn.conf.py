"""gunicorn settings for a web app that records events with personalize-tracker.

The app creates one Tracker at import (here in ``app/tracking.py``)::

    tracker = Tracker(os.environ["PERSONALIZE_TRACKING_ID"])

With ``preload_app = True`` the master imports the app, then forks the workers. Nothing is needed
for the fork itself: each worker's Tracker starts with an empty queue, new locks and a new boto3
client (``os.register_at_fork``), and never sends the master's events. What a worker must do is
deliver its pending events when it exits, within gunicorn's graceful timeout.

Run: ``gunicorn -c gunicorn.conf.py app.wsgi``.
"""

from __future__ import annotations

from typing import Any

bind = "127.0.0.1:8000"
workers = 4
preload_app = True
graceful_timeout = 30  # seconds a worker has to finish after SIGTERM


def post_fork(server: Any, worker: Any) -> None:
    """In each new worker: the Tracker has already reset itself; log that it starts empty."""
    from app.tracking import tracker

    server.log.info(
        "worker %s: personalize-tracker queue starts with %d pending events",
        worker.pid,
        tracker.stats().pending,
    )


def worker_exit(server: Any, worker: Any) -> None:
    """In each worker as it exits: deliver what is pending, leaving a second of the graceful
    timeout to spare. Events still undelivered then are reported to ``on_failure`` (or written
    to the dead-letter file / spool, when configured)."""
    from app.tracking import tracker

    tracker.close(timeout=max(1.0, server.cfg.graceful_timeout - 1.0))
