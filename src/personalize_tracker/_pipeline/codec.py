"""A record kind as the pipeline sees it, besides its transport: :class:`Codec`."""

from __future__ import annotations

from collections.abc import Callable, Container, Hashable, Mapping
from typing import Any, Generic, TypeVar

__all__ = ["Codec", "nothing"]

R = TypeVar("R")
K = TypeVar("K", bound=Hashable)


def nothing() -> None:
    """Nothing left to do after settling a batch."""


class Codec(Generic[R, K]):
    """What the pipeline needs to know of a record kind besides its transport.

    Args:
        key: the group a record is batched with (for events, its ``(user_id, session_id)``):
            hashable, and cheap (it runs with the pipeline's lock held).
        batch_size: records per call at most (PutEvents: 10, its ``eventList`` maximum).
        encode, decode: a record as a new JSON object (the spool adds its ``trackedAt`` key to
            it) and back, for the spool.
        letter: the record part of a dead-letter line (keys other than ``failedAt``,
            ``reason``, ``errorCode`` and ``message``).
        record_id: a record's id, for log lines: no user data.
        forget: called when a key's group emptied (to drop shared strings), or None.
        watch: called with the keys of the groups held (the buffer's live mapping, read with
            the pipeline's lock held) each time the buffer is built (in a forked child too), or
            None: for a key function that asks whether a record's group holds one already.
        identity: a record's identity within its group, for a kind whose later record replaces
            an earlier one still waiting (an item's id: the dataset keeps the last write), or
            None (every record is sent). See ``_intake/coalesce.py``. Such a kind has one
            call on the wire at a time (``Pipeline.one_call``).
        noun: what a record is called in log lines (``"event"``, ``"item"``...).
    """

    __slots__ = (
        "batch_size",
        "decode",
        "encode",
        "forget",
        "identity",
        "key",
        "letter",
        "noun",
        "record_id",
        "watch",
    )

    def __init__(
        self,
        *,
        key: Callable[[R], K],
        batch_size: int,
        encode: Callable[[R], dict[str, Any]],
        decode: Callable[[Mapping[str, Any]], R],
        letter: Callable[[R], dict[str, Any]],
        record_id: Callable[[R], str],
        forget: Callable[[K], None] | None = None,
        watch: Callable[[Container[K]], None] | None = None,
        identity: Callable[[R], Hashable] | None = None,
        noun: str = "event",
    ) -> None:
        self.noun = noun
        self.key = key
        self.batch_size = batch_size
        self.encode = encode
        self.decode = decode
        self.letter = letter
        self.record_id = record_id
        self.forget = forget
        self.watch = watch
        self.identity = identity
