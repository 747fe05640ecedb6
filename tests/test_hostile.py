"""Hostile input and bad days end to end (issue 12, items 6-8): text UTF-8 cannot carry, a disk
that fills while spilling, values that used to slip through, a record the client cannot
serialise."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest

from personalize_tracker import Event, FailedEvent, InvalidEventError, Tracker

from conftest import FakeClient, client_error, connection_error


def balanced(tracker: Tracker) -> bool:
    s = tracker.stats()
    return s.tracked == s.delivered + s.failed + s.dropped + s.pending


def collecting() -> tuple[list[FailedEvent], Any]:
    failed: list[FailedEvent] = []
    lock = threading.Lock()

    def on_failure(events: Sequence[FailedEvent]) -> None:
        with lock:
            failed.extend(events)

    return failed, on_failure


# --- item 6: text UTF-8 cannot carry ------------------------------------------------------

SURROGATE = "x\ud800"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("click\udfff", "s-1"), "event_type"),
        (("click", SURROGATE), "session_id"),
        (("click", "s-1", SURROGATE), "user_id"),
        (("click", "s-1", "u-1", SURROGATE), "item_id"),
    ],
)
def test_track_refuses_a_lone_surrogate_on_its_fast_path(
    fake_client: FakeClient, args: tuple[str, ...], field: str
) -> None:
    with Tracker("t", client=fake_client, sync=True) as tracker:
        tracker.track("click", "s-1", "u-1", "i-1")  # known ids: the shared tables hold them
        for _ in range(2):  # refused every time, not remembered as a known id
            with pytest.raises(InvalidEventError, match="lone surrogate") as raised:
                tracker.track(*args)
            assert raised.value.field == field
        assert tracker.stats().tracked == 1


def test_a_session_refuses_a_lone_surrogate(fake_client: FakeClient) -> None:
    with Tracker("t", client=fake_client, sync=True) as tracker:
        session = tracker.session("u-1", "s-1")
        with pytest.raises(InvalidEventError, match="lone surrogate"):
            session.track("click", item_id=SURROGATE)
        with pytest.raises(InvalidEventError, match="lone surrogate"):
            session.track("click", properties={"device": SURROGATE})
        assert tracker.stats().tracked == 0


def unchecked(event_id: str, **fields: Any) -> Event:
    """An Event built with the plain constructor, which trusts its arguments."""
    return Event(event_type="click", session_id="s-1", sent_at=1.7e9, event_id=event_id, **fields)


def test_writers_keep_an_unchecked_record_with_a_lone_surrogate(
    fake_client: FakeClient, tmp_path: Path
) -> None:
    """An Event built without checks reaches the dead-letter file and the spool: each writes it
    (escaped), nothing raises out of close(), every event is accounted."""
    fake_client.script = lambda params: client_error("ResourceNotFoundException", 404)
    failed, on_failure = collecting()
    letters = tmp_path / "dead.jsonl"
    tracker = Tracker(
        "t", client=fake_client, dead_letter_path=letters, on_failure=on_failure, sync=True
    )
    tracker.enqueue(unchecked("e-1", item_id=SURROGATE))
    tracker.close()
    assert [f.event.event_id for f in failed] == ["e-1"]
    (line,) = letters.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["event"]["itemId"] == SURROGATE
    assert balanced(tracker)

    fake_client.script = lambda params: connection_error()
    spool = tmp_path / "spool"
    spilling = Tracker(
        "t", client=fake_client, overflow="spill", spool_path=spool, max_queue_size=1,
        flush_interval=3600, max_attempts=10_000, retry_deadline=600, max_backoff=0.01,
    )  # fmt: skip
    for n in range(5):
        spilling.enqueue(unchecked(f"s-{n}", properties=json.dumps({"p": SURROGATE})))
    spilling.close(timeout=0.2)  # raised UnicodeEncodeError before
    spilling.close(timeout=10)  # waits for a call left on the wire (slow machine), not retrying it
    stats = spilling.stats()
    assert (stats.failed, stats.pending, stats.spooled) == (0, 5, 5)
    assert balanced(spilling)


def test_a_writer_or_on_failure_that_raises_leaves_the_failures_accounted(
    fake_client: FakeClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A dead-letter line that cannot be encoded (a property no JSON can hold, in an unchecked
    Event) and an on_failure that raises: logged; the sender thread lives on."""
    fake_client.script = lambda params: client_error("ResourceNotFoundException", 404)
    calls: list[int] = []

    def on_failure(events: Sequence[FailedEvent]) -> None:
        calls.append(len(events))
        raise RuntimeError("handler bug")

    tracker = Tracker(
        "t", client=fake_client, dead_letter_path=tmp_path / "dead.jsonl", on_failure=on_failure
    )
    tracker.enqueue(unchecked("e-1", properties=object()))  # type: ignore[arg-type]
    assert tracker.flush(timeout=10)
    tracker.track("click", "s-2")  # the sender thread still delivers
    fake_client.script = None
    assert tracker.flush(timeout=10)
    tracker.close()
    stats = tracker.stats()
    assert (stats.tracked, stats.delivered, stats.failed, stats.pending) == (2, 1, 1, 0)
    assert calls == [1]
    assert "could not write 1 failed event(s)" in caplog.text
    assert "on_failure raised" in caplog.text


# --- item 7: a disk that fills during spill -------------------------------------------------

_SPILL_ON_A_FULL_DISK = """
import atexit, json, resource, signal, sys

def report():  # registered first, so it runs last: after the library's exit flush
    s = tracker.stats()
    print(json.dumps({"ids": ids, "failed": failed, "stats": [s.tracked, s.delivered, s.failed,
                      s.dropped, s.pending, s.spooled]}))

atexit.register(report)
from botocore.exceptions import EndpointConnectionError
from personalize_tracker import Tracker

class Down:  # the endpoint is down: every call fails, retryably
    def put_events(self, **params):
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

failed = []
tracker = Tracker(
    "t", client=Down(), max_queue_size=5, flush_interval=3600, overflow="spill",
    spool_path=sys.argv[1], max_attempts=10_000, retry_deadline=600, max_backoff=0.01,
    on_failure=lambda events: failed.extend(f.event.event_id for f in events),
)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), int(sys.argv[2])))
ids = [tracker.track("view", f"s-{n}", properties={"pad": "x" * 80}).event_id for n in range(300)]
tracker.close(timeout=0.3)
import threading  # senders still recording a batch (at exit that is another issue's: wait here)
for thread in threading.enumerate():
    if thread is not threading.main_thread():
        thread.join(10)
"""


def test_a_disk_that_fills_during_spill_gives_each_event_one_outcome(
    fake_client: FakeClient, tmp_path: Path
) -> None:
    """A real full disk (a file-size limit in a child process): the events the spool holds are
    delivered by the next Tracker, the others fail in the first; none does both."""
    spool = tmp_path / "spool"
    child = subprocess.run(
        [sys.executable, "-c", _SPILL_ON_A_FULL_DISK, str(spool), "20000"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(child.stdout)
    tracked, delivered, failed, dropped, pending, spooled = result["stats"]
    assert tracked == 300
    assert delivered == 0
    assert tracked == delivered + failed + dropped + pending
    assert pending == spooled > 0  # some were written before the disk filled...
    assert failed + dropped == len(result["failed"]) > 0  # ...the rest failed, each reported

    second = Tracker("t", client=fake_client, overflow="spill", spool_path=spool)
    assert second.stats().recovered == spooled
    assert second.flush(timeout=30)
    second.close()
    sent = [e["eventId"] for e in fake_client.delivered_events]
    assert len(sent) == spooled
    assert not set(sent) & set(result["failed"])  # no event with two outcomes
    assert set(sent) | set(result["failed"]) == set(result["ids"])  # and none without one


# --- item 8: input that slipped through ----------------------------------------------------


@pytest.mark.parametrize("value", ["null", "None", "undefined", "NaN", " ", ""])
def test_track_refuses_placeholder_ids_by_default(fake_client: FakeClient, value: str) -> None:
    with Tracker("t", client=fake_client, sync=True) as tracker:
        for args in (("click", value), ("click", "s-1", value), ("click", "s-1", "u", value)):
            with pytest.raises(InvalidEventError):
                tracker.track(*args)
        with pytest.raises(InvalidEventError):
            tracker.session(value, "s-2")  # at the session's start, not its first event
        with pytest.raises(InvalidEventError):
            tracker.session("u-1", value)
        with pytest.raises(InvalidEventError):
            tracker.session(None, "s-3").identify(value)
        assert tracker.stats().tracked == 0


def test_placeholder_ids_are_sent_when_allowed(fake_client: FakeClient) -> None:
    with Tracker("t", client=fake_client, sync=True, allow_placeholder_ids=True) as tracker:
        tracker.track("click", "null", "None", "nan")
        tracker.session("undefined", "s-2").track("click", item_id="null")
        tracker.flush()
    events = fake_client.delivered_events
    assert [e["itemId"] for e in events] == ["nan", "null"]
    assert [c["userId"] for c in fake_client.accepted] == ["None", "undefined"]


def test_a_placeholder_refused_on_a_session_is_not_trusted_later(fake_client: FakeClient) -> None:
    """The session path shares item ids with track()'s fast path: a refused id must not be
    kept as a known (trusted) one."""
    with Tracker("t", client=fake_client, sync=True) as tracker:
        with pytest.raises(InvalidEventError):
            tracker.session("u", "s").track("click", item_id="null")
        with pytest.raises(InvalidEventError):
            tracker.track("click", "s", "u", "null")


@pytest.mark.parametrize(
    "client",
    ["personalize-events", boto3.client("personalize-runtime", region_name="us-east-1")],
    ids=["a str", "a personalize-runtime client"],
)
def test_a_client_that_is_not_personalize_events_is_refused_at_construction(
    client: Any,
) -> None:
    with pytest.raises(ValueError, match="personalize-events"):
        Tracker("t", client=client)


def test_a_record_the_client_cannot_serialise_fails_alone(
    personalize_events: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A record that breaks at send time for a reason of its own (here a sentAt no timestamp
    can hold, in an unchecked Event) fails alone with reason invalid, like a poison event; the
    rest of its batch is delivered."""
    failed, on_failure = collecting()
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    tracker = Tracker("t", session=session, on_failure=on_failure, flush_interval=3600)
    good = [tracker.track("click", "s-1", "u-1").event_id for _ in range(4)]
    tracker.enqueue(Event(event_type="click", session_id="s-1", user_id="u-1", sent_at=1e20,
                          event_id="bad"))  # fmt: skip
    good += [tracker.track("click", "s-1", "u-1").event_id for _ in range(4)]
    tracker.close(timeout=30)
    assert [(f.event.event_id, f.reason.value) for f in failed] == [("bad", "invalid")]
    stats = tracker.stats()
    assert (stats.delivered, stats.failed, stats.pending) == (8, 1, 0)
    assert {e.event_id for e in personalize_events.events} == set(good)
