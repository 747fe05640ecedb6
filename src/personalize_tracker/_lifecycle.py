"""Process-wide hooks: the bounded flush at interpreter exit, and the reset after ``fork()``.

A pipeline registers two of its bound methods; the registry keeps the pipeline only through a
weak reference (a pipeline nobody uses any more is not kept alive for the exit flush, as
OpenTelemetry's ``BatchProcessor`` holds its fork hook through a ``WeakMethod``). One ``atexit``
hook and one ``os.register_at_fork`` hook serve every pipeline: hooks registered with the
interpreter can never be removed, so they are not registered per object. (The event-id source
has a fork hook of its own, in ``_record/ids.py``.)

No lock here: a fork hook runs in a child where a lock held by another thread of the parent at
the instant of the fork stays held forever. The registry is a ``WeakKeyDictionary`` whose
single-item updates are atomic under the GIL.
"""

from __future__ import annotations

import atexit
import logging
import os
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["owners", "register", "registered", "unregister"]

logger = logging.getLogger("personalize_tracker")

# owner -> (its exit hook, its fork hook), as plain functions taking the owner: bound methods
# would hold the owner strongly.
_hooks: weakref.WeakKeyDictionary[Any, tuple[Callable[[Any], None], Callable[[Any], None]]] = (
    weakref.WeakKeyDictionary()
)


def register(at_exit: Callable[[], None], after_fork: Callable[[], None]) -> None:
    """Call ``at_exit`` at interpreter exit, and ``after_fork`` in a forked child.

    Args:
        at_exit: a bound method; its owner is held weakly. It must bound its own time.
        after_fork: a bound method of the same owner, called in the child of ``os.fork()``
            (uWSGI-style forks that run no Python hooks must call it themselves).

    Raises:
        TypeError: the two are not bound methods of one object.
    """
    owner = getattr(at_exit, "__self__", None)
    if owner is None or getattr(after_fork, "__self__", None) is not owner:
        raise TypeError("register() takes two bound methods of the same object")
    _hooks[owner] = (at_exit.__func__, after_fork.__func__)  # type: ignore[attr-defined]


def unregister(owner: object) -> None:
    """Forget ``owner``'s hooks (when it closed: nothing is left to flush or reset)."""
    _hooks.pop(owner, None)


def registered(owner: object) -> bool:
    """Whether ``owner`` has hooks registered."""
    return owner in _hooks


def owners() -> list[Any]:
    """The objects with hooks registered now (open pipelines), oldest first: what the testing
    package's leak guard closes when a mock ends."""
    return list(_hooks.keys())


@atexit.register
def _flush_at_exit() -> None:
    for owner, (at_exit, _) in list(_hooks.items()):
        try:
            at_exit(owner)
        except Exception:  # pragma: no cover - last resort at exit
            logger.exception("personalize-tracker: exit flush failed")


def _reset_in_child() -> None:
    for owner, (_, after_fork) in list(_hooks.items()):
        try:
            after_fork(owner)
        except Exception:  # one owner's failure must not leave the others un-reset
            logger.exception("personalize-tracker: reset after fork failed")


if hasattr(os, "register_at_fork"):  # pragma: no branch - always on POSIX
    os.register_at_fork(after_in_child=_reset_in_child)
