"""The leak guard: no Tracker created inside a mock sends anywhere after the mock ended.

A Tracker that outlives ``mock_personalize_events()`` would flush its events at interpreter exit,
when moto no longer intercepts anything: to the real endpoint, with whatever credentials the
machine has. So when a mock (or a local server) ends, every Tracker created while it ran and still
open is closed against the fake, while the fake still answers, and a
:class:`LeakedTrackerWarning` names it and says what became of its events.
"""

from __future__ import annotations

import contextlib
import os
import warnings
import weakref
from collections.abc import Iterator
from typing import Any, Protocol

from .. import _lifecycle

__all__ = ["LeakGuard", "LeakedTrackerWarning", "fake_aws_environment"]

#: The service-specific endpoint variables botocore reads (``AWS_ENDPOINT_URL_<SERVICE ID>``,
#: botocore >= 1.31), for the three Personalize APIs; ``AWS_ENDPOINT_URL`` covers the others.
ENDPOINT_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_PERSONALIZE_EVENTS",
    "AWS_ENDPOINT_URL_PERSONALIZE_RUNTIME",
    "AWS_ENDPOINT_URL_PERSONALIZE",
)
# What could send a client elsewhere or to real credentials: removed while the fake runs.
_REMOVED = (
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
)


@contextlib.contextmanager
def fake_aws_environment(endpoint_url: str) -> Iterator[None]:
    """Point every boto3 client built in the block at ``endpoint_url``, with fake credentials.

    Sets ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` to ``testing``, a default region
    (``us-east-1``) unless ``AWS_REGION`` or ``AWS_DEFAULT_REGION`` is set, the endpoint
    variables of :data:`ENDPOINT_VARIABLES` to ``endpoint_url``, the config and credentials
    files to ``os.devnull``, and removes session tokens, profiles and the container/web-identity
    credential sources; restores the environment as it was on exit. So
    ``Tracker("tracking-id")``, with no ``endpoint_url`` and no credentials, sends to the fake.

    Args:
        endpoint_url: e.g. ``"http://127.0.0.1:54321"``.
    """
    saved = dict(os.environ)
    try:
        for name in _REMOVED:
            os.environ.pop(name, None)
        os.environ.update(
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        )
        if not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
            os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
        for name in ENDPOINT_VARIABLES:
            os.environ[name] = endpoint_url
        yield
    finally:
        for name in [name for name in os.environ if name not in saved]:
            del os.environ[name]
        os.environ.update(saved)


#: Seconds a leaked Tracker gets to deliver its events to the fake when it is closed.
LEAK_CLOSE_TIMEOUT = 5.0


class LeakedTrackerWarning(UserWarning):
    """A Tracker created inside a mock was still open when the mock ended; it was closed
    against the fake. Close Trackers (or use ``with Tracker(...)``) inside the block."""


class _Owner(Protocol):
    """What the guard uses of an open Tracker's pipeline (the owner of its exit hook)."""

    name: str

    def stats(self) -> Any: ...

    def close(self, timeout: float | None) -> None: ...


class LeakGuard:
    """Remembers the Trackers open when a mock starts; :meth:`close_leaks` closes the others.

    Args:
        where: what the mock is called in warnings, e.g. ``"mock_personalize_events()"``.
    """

    def __init__(self, where: str) -> None:
        self.where = where
        self._before: weakref.WeakSet[Any] = weakref.WeakSet(_lifecycle.owners())

    def close_leaks(self, timeout: float = LEAK_CLOSE_TIMEOUT) -> int:
        """Close every Tracker opened since the guard was made and still open, warning once per
        Tracker with a :class:`LeakedTrackerWarning`.

        Args:
            timeout: seconds each gets to deliver its events (to the fake) before what is left
                fails with reason ``closed``.

        Returns:
            How many Trackers were closed.
        """
        leaked: list[_Owner] = [o for o in _lifecycle.owners() if o not in self._before]
        for owner in leaked:
            owner.close(timeout)
            stats = owner.stats()
            transport = getattr(owner, "transport", None)
            tracking_id = getattr(transport, "tracking_id", None)
            who = f"tracking id {tracking_id!r}" if tracking_id is not None else owner.name
            warnings.warn(
                LeakedTrackerWarning(
                    f"a Tracker ({who}) created inside {self.where} was still open when it "
                    f"ended; closed against the fake: {stats.tracked} tracked, "
                    f"{stats.delivered} delivered, {stats.failed} failed, {stats.dropped} "
                    "dropped. Close it inside the block (or use 'with Tracker(...)') so it "
                    "never sends outside the fake."
                ),
                stacklevel=4,
            )
        return len(leaked)
