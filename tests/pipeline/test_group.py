"""A Tracker's pipelines together (``PipelineGroup``): flushed, closed and flushed at exit
within one timeout for all, each started before any is waited for, against fake transports."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from personalize_tracker._config import Options
from personalize_tracker._errors import SendError
from personalize_tracker._pipeline import Codec, Pipeline
from personalize_tracker._pipeline.group import PipelineGroup


@attrs.frozen
class Note:
    n: int


CODEC: Codec[Note, str] = Codec(
    key=lambda note: "all",
    batch_size=10,
    encode=attrs.asdict,
    decode=lambda data: Note(data["n"]),
    letter=lambda note: {"note": attrs.asdict(note)},
    record_id=lambda note: str(note.n),
)


class Down:
    """Every call fails as an unavailable service does."""

    def __init__(self) -> None:
        self.calls = 0

    def send(self, key: str, records: Sequence[Note]) -> None:
        self.calls += 1
        raise SendError("ServiceUnavailableException", "down", retryable=True)


class Up:
    def __init__(self) -> None:
        self.sent: list[int] = []
        self.lock = threading.Lock()

    def send(self, key: str, records: Sequence[Note]) -> None:
        with self.lock:
            self.sent.extend(note.n for note in records)


def pipeline(transport: Any, **options: Any) -> Pipeline[Note, str]:
    values: Mapping[str, Any] = {
        "max_requests_per_second": None,
        "flush_interval": 3600,
        "max_backoff": 0.05,
        **options,
    }
    return Pipeline(Options(**values), transport, CODEC, name="PutNotes")


def group_of(*members: Pipeline[Note, str]) -> PipelineGroup:
    group = PipelineGroup()
    for member in members:
        group.add(member)
    return group


def test_a_member_in_an_outage_does_not_take_the_others_time() -> None:
    for sync in (False, True):
        down, up = Down(), Up()
        first, second = pipeline(down, sync=sync), pipeline(up, sync=sync)
        group = group_of(first, second)
        first.put(Note(0))
        for n in range(1, 4):
            second.put(Note(n))
        assert not group.flush(0.6)  # the first cannot deliver
        assert up.sent == [1, 2, 3], sync
        second.put(Note(4))
        group.close(0.6)
        assert up.sent == [1, 2, 3, 4], sync
        assert first.stats().failed_by_reason == {"closed": 1}


def test_the_exit_flush_runs_once_for_every_member_within_one_exit_timeout() -> None:
    downs = [Down() for _ in range(4)]
    members = [pipeline(down, exit_timeout=0.5) for down in downs]
    group_of(*members)
    for member in members:
        member.put(Note(0))
    started = time.monotonic()
    for member in members:  # as the interpreter's exit hook calls each one
        member.exit_flush()
    took = time.monotonic() - started
    assert took < 1.5  # one exit_timeout (0.5 s) and moments; one each would take 2 s or more
    assert all(down.calls for down in downs)  # every member had its chance
    assert all(member.closed for member in members)
    assert [member.stats().failed_by_reason for member in members] == [{"closed": 1}] * 4
