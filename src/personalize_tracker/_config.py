"""A Tracker's options, checked once: :class:`Options`, built by :meth:`Options.checked` from the
``Tracker(...)`` arguments, and read by the pipeline that the options describe.

A leaf: it imports nothing of ours.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, Literal

import attrs

__all__ = [
    "DEFAULT_DATASET_REQUESTS_PER_SECOND",
    "DEFAULT_EXIT_TIMEOUT",
    "DEFAULT_MAX_REQUESTS_PER_SECOND",
    "DEFAULT_MAX_WORKERS",
    "DEFAULT_RECOMMENDATION_MEMORY",
    "DEFAULT_RECOMMENDATION_TTL",
    "Options",
    "OverflowPolicy",
]

logger = logging.getLogger("personalize_tracker")

#: Seconds the exit flush may take, per Tracker, when the interpreter exits.
DEFAULT_EXIT_TIMEOUT = 5.0
#: Requests per second one Tracker sends at most by default: under the PutEvents quota of about
#: 1000 requests per second per dataset group.
DEFAULT_MAX_REQUESTS_PER_SECOND = 950.0
#: PutItems, PutUsers or PutActions calls per second one Tracker sends at most by default, per
#: dataset: under the quota of 10 requests per second of each (Amazon Personalize, "Endpoints and
#: quotas": https://docs.aws.amazon.com/personalize/latest/dg/limits.html).
DEFAULT_DATASET_REQUESTS_PER_SECOND = 9.0
#: Sender threads at most by default (see Tracker's max_workers).
DEFAULT_MAX_WORKERS = 32
#: Recommendation lists a session remembers by default (the most recent ones).
DEFAULT_RECOMMENDATION_MEMORY = 10
#: Seconds a remembered list stays usable by default: 30 minutes, the usual session gap.
DEFAULT_RECOMMENDATION_TTL = 1800.0

#: What to do with an event that does not fit in the queue (see ``Tracker``).
OverflowPolicy = Literal["drop", "block", "spill"]


@attrs.frozen(eq=False)  # (no __eq__/__hash__ to generate: ~1 ms less at import)
class Options:
    """The checked options of one Tracker's pipeline (see ``Tracker`` for each)."""

    flush_interval: float = 1.0
    max_queue_size: int = 10_000
    max_workers: int = DEFAULT_MAX_WORKERS
    max_attempts: int = 8
    max_backoff: float = 30.0
    retry_deadline: float = 120.0
    overflow: OverflowPolicy = "drop"
    block_timeout: float = 1.0
    spool_path: str | os.PathLike[str] | None = None
    dead_letter_path: str | os.PathLike[str] | None = None
    max_requests_per_second: float | None = DEFAULT_MAX_REQUESTS_PER_SECOND
    max_event_age: float | None = None
    sync: bool = False
    exit_timeout: float = DEFAULT_EXIT_TIMEOUT
    fork_check: bool = False
    allow_placeholder_ids: bool = False

    @classmethod
    def checked(
        cls,
        *,
        client: Any,
        flush_interval: float,
        max_queue_size: int,
        max_workers: int | None,
        max_attempts: int,
        max_backoff: float,
        retry_deadline: float,
        overflow: OverflowPolicy,
        block_timeout: float,
        spool_path: str | os.PathLike[str] | None,
        dead_letter_path: str | os.PathLike[str] | None,
        max_requests_per_second: float | None,
        max_event_age: float | None,
        sync: bool,
        exit_timeout: float,
        fork_check: bool | None,
        allow_placeholder_ids: bool = False,
    ) -> Options:
        """Check the ``Tracker(...)`` arguments of the same names and fill in the defaults.

        ``max_workers=None`` becomes 32, or the connection pool size of a given ``client`` if
        smaller; ``fork_check=None`` becomes True under uWSGI (its ``uwsgi`` module is loaded).

        Raises:
            ValueError: an argument is out of range (the message names it and the range), or
                ``client`` is not a ``personalize-events`` client (see :func:`_check_client`).
        """
        _check_client(client)
        _positive("flush_interval", flush_interval)
        _at_least("max_queue_size", max_queue_size, 1)
        workers = _max_workers(max_workers, client)
        _at_least("max_attempts", max_attempts, 1)
        _positive("max_backoff", max_backoff)
        _positive("retry_deadline", retry_deadline)
        if exit_timeout < 0:
            raise ValueError(f"exit_timeout must be 0 or more seconds, got {exit_timeout!r}")
        if overflow not in ("drop", "block", "spill"):
            raise ValueError(f"overflow must be 'drop', 'block' or 'spill', got {overflow!r}")
        if overflow == "spill" and spool_path is None:
            raise ValueError("overflow='spill' needs spool_path= (a folder for the spool)")
        if block_timeout < 0:
            raise ValueError(f"block_timeout must be 0 or more seconds, got {block_timeout!r}")
        if max_requests_per_second is not None:
            _positive("max_requests_per_second", max_requests_per_second)
        if max_event_age is not None:
            _positive("max_event_age", max_event_age)
        return cls(
            flush_interval=float(flush_interval),
            max_queue_size=max_queue_size,
            max_workers=workers,
            max_attempts=max_attempts,
            max_backoff=float(max_backoff),
            retry_deadline=retry_deadline,
            overflow=overflow,
            block_timeout=float(block_timeout),
            spool_path=spool_path,
            dead_letter_path=dead_letter_path,
            max_requests_per_second=max_requests_per_second,
            max_event_age=max_event_age,
            sync=bool(sync),
            exit_timeout=exit_timeout,
            fork_check="uwsgi" in sys.modules if fork_check is None else bool(fork_check),
            allow_placeholder_ids=bool(allow_placeholder_ids),
        )


def _check_client(client: Any) -> None:
    """A given ``client`` must be a boto3 ``personalize-events`` client (or a stand-in with a
    ``put_events`` method, as in tests): anything else would fail every event later, at send
    time, far from the mistake.

    Raises:
        ValueError: ``client`` has no callable ``put_events`` (a str, a ``personalize-runtime``
            or ``personalize`` client), or is a boto3 client of another service.
    """
    if client is None:
        return
    model = getattr(getattr(client, "meta", None), "service_model", None)
    service = getattr(model, "service_name", None)
    if isinstance(service, str) and service != "personalize-events":
        raise ValueError(
            f"client must be a boto3 'personalize-events' client, got a {service!r} client "
            "(build it with boto3.client('personalize-events'))"
        )
    if not callable(getattr(client, "put_events", None)):
        raise ValueError(
            "client must be a boto3 'personalize-events' client (with put_events), got "
            f"{type(client).__name__} (build it with boto3.client('personalize-events'))"
        )


def _max_workers(max_workers: int | None, client: Any) -> int:
    """``max_workers`` checked, or its default: 32, or a given client's connection pool size
    (botocore's default is 10), since a sender beyond it would open and discard a connection
    per call. An explicit value above the pool size is logged at WARNING."""
    pool = getattr(
        getattr(getattr(client, "meta", None), "config", None), "max_pool_connections", None
    )
    if not isinstance(pool, int) or isinstance(pool, bool) or pool < 1:
        pool = None
    if max_workers is None:
        return DEFAULT_MAX_WORKERS if pool is None else min(DEFAULT_MAX_WORKERS, pool)
    _at_least("max_workers", max_workers, 1)
    if pool is not None and max_workers > pool:
        logger.warning(
            "personalize-tracker: max_workers=%d exceeds the client's max_pool_connections=%d: "
            "build the client with botocore.config.Config(max_pool_connections=%d)",
            max_workers,
            pool,
            max_workers,
        )
    return max_workers


def _positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a number of seconds > 0, got {value!r}")


def _at_least(name: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
