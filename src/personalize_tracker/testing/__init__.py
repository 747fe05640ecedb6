"""A faithful fake of Amazon Personalize's event and runtime APIs, built on moto.

moto 5 implements neither ``personalize-events`` (PutEvents, PutUsers, PutItems, PutActions,
PutActionInteractions) nor ``personalize-runtime`` (GetRecommendations, GetPersonalizedRanking).
This package adds them, validating input against botocore's service model, recording every call,
and injecting faults on demand:

* :func:`mock_personalize_events` serves boto3 clients in this process (inside ``mock_aws()``);
* :func:`serve_personalize_events` runs a local HTTP endpoint for clients that need a URL;
* :class:`PersonalizeEventsMock` is the handle both yield: ``.events``, ``.items``, ``.users``,
  ``.actions`` and ``.action_interactions`` (:class:`RecordedEvent`, :class:`RecordedItem`...)
  are what the accepted calls carried; its ``resources``
  (:class:`FakeResources`) are the dataset groups, event trackers, campaigns... the fake knows,
  created there or through the ``personalize`` control-plane calls of :data:`CONTROL_PLANE`,
  and required to exist with ``strict_resources=True``;
* the pytest plugin (``personalize_tracker.testing.pytest_plugin``) offers them as the fixtures
  ``personalize_events`` and ``personalize_events_server``.

The endpoints answer as the service does: the documented rejections, AWS's error shapes, its
auth errors for unsigned requests. No test reaches AWS: a Tracker left open when a mock ends is
closed against the fake, with a :class:`LeakedTrackerWarning`. See ``docs/testing.md``, "How
faithful is the local endpoint".

Requires moto: ``pip install 'personalize-tracker[testing]'``. The package itself imports without
it (so the pytest plugin loads for everyone); the first use of :func:`mock_personalize_events` or
:func:`serve_personalize_events` raises :class:`ImportError` saying so if moto is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._handle import FAULT_KINDS, PersonalizeEventsMock
from ._leaks import LeakedTrackerWarning
from ._records import (
    RecordedAction,
    RecordedActionInteraction,
    RecordedEvent,
    RecordedItem,
    RecordedRequest,
    RecordedUser,
)
from ._resources import CONTROL_PLANE, FakeResources

if TYPE_CHECKING:
    from ._moto import mock_personalize_events
    from ._server import serve_personalize_events

__all__ = [
    "CONTROL_PLANE",
    "FAULT_KINDS",
    "FakeResources",
    "LeakedTrackerWarning",
    "PersonalizeEventsMock",
    "RecordedAction",
    "RecordedActionInteraction",
    "RecordedEvent",
    "RecordedItem",
    "RecordedRequest",
    "RecordedUser",
    "mock_personalize_events",
    "serve_personalize_events",
]

_NEEDS_MOTO = {"mock_personalize_events": "_moto", "serve_personalize_events": "_server"}


def __getattr__(name: str) -> Any:
    # moto is imported on first use, not with the package: the pytest plugin in this package is
    # loaded by pytest for everyone who installed personalize-tracker, with or without moto.
    if name in _NEEDS_MOTO:
        import importlib

        value = getattr(importlib.import_module(f".{_NEEDS_MOTO[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
