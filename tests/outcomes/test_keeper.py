"""The spool's keeper and the spool together, on a temporary folder, with plain dict records:
spilling, reserving and reading back, detaching, adoption by a later keeper."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from personalize_tracker._outcomes.keeper import SpoolKeeper

Record = dict[str, Any]


@pytest.fixture
def keepers() -> Iterator[list[SpoolKeeper[Record]]]:
    """Keepers whose spool is closed at the end of the test (when still attached)."""
    made: list[SpoolKeeper[Record]] = []
    yield made
    for keeper in made:
        keeper.settle(keeper.refilling)  # a test that failed half way
        spool = keeper.detach_if_idle(0, force=True)
        if spool is not None:
            spool.close()


@pytest.fixture
def keeper_at(keepers: list[SpoolKeeper[Record]]) -> Any:
    def make(path: Path | None, **kwargs: Any) -> SpoolKeeper[Record]:
        keeper: SpoolKeeper[Record] = SpoolKeeper(path, encode=dict, decode=dict, **kwargs)
        keepers.append(keeper)
        return keeper

    return make


def records(*numbers: int) -> list[Record]:
    return [{"n": n, "text": f"record {n}"} for n in numbers]


def reserve_and_read(keeper: SpoolKeeper[Record], count: int) -> tuple[list[Record], list[float]]:
    """What the pipeline does: reserve (lock held), read (no lock), settle (lock held)."""
    reserved = keeper.due(0, 10_000, stopping=False)
    assert reserved == count
    got = keeper.read(reserved)
    keeper.settle(reserved)
    return got


def test_a_new_keeper_opens_an_empty_spool(tmp_path: Path, keeper_at: Any) -> None:
    keeper = keeper_at(tmp_path / "spool")
    assert keeper.spool is not None
    assert (tmp_path / "spool").is_dir()
    assert (keeper.spooled, keeper.refilling, keeper.recovered) == (0, 0, 0)
    assert not keeper.spilling
    assert keeper.due(0, 100, stopping=False) == 0


def test_without_a_path_there_is_no_spool(keeper_at: Any) -> None:
    keeper = keeper_at(None)
    assert keeper.spool is None
    assert not keeper.spilling
    assert keeper.due(0, 100, stopping=False) == 0
    assert keeper.read(5) == ([], [])
    assert keeper.detach_if_idle(0, force=True) is None


def test_spill_counts_records_and_read_returns_them_in_order(
    tmp_path: Path, keeper_at: Any
) -> None:
    keeper = keeper_at(tmp_path / "spool")
    assert keeper.spill(records(1, 2)) == (2, None)
    assert keeper.spill(records(3)) == (1, None)
    assert keeper.spooled == 3
    assert keeper.spilling
    got, walls = reserve_and_read(keeper, 3)
    assert got == records(1, 2, 3)  # decode gets back exactly what encode gave
    assert len(walls) == 3
    assert keeper.spooled == 0
    assert keeper.refilling == 0
    assert not keeper.spilling


def test_spilled_records_keep_the_wall_time_they_were_tracked(
    tmp_path: Path, keeper_at: Any
) -> None:
    keeper = keeper_at(tmp_path / "spool")
    mono, wall = time.monotonic(), time.time()
    keeper.spill(records(1, 2), [mono - 60, mono - 5])
    keeper.spill(records(3))  # default: now
    _, walls = reserve_and_read(keeper, 3)
    assert walls == pytest.approx([wall - 60, wall - 5, wall], abs=1.0)
    assert walls[0] < walls[1] < walls[2]


def test_spill_does_not_change_the_callers_records(tmp_path: Path, keeper_at: Any) -> None:
    keeper = keeper_at(tmp_path / "spool")
    mine = records(1)
    keeper.spill(mine)
    assert mine == records(1)


def test_due_reserves_a_chunk_at_most(tmp_path: Path, keeper_at: Any) -> None:
    keeper = keeper_at(tmp_path / "spool")
    keeper.spill(records(*range(2500)))
    assert keeper.due(0, 100_000, stopping=False) == 1000
    assert (keeper.spooled, keeper.refilling) == (1500, 1000)
    assert keeper.spilling
    assert keeper.due(0, 100_000, stopping=False) == 0  # one read-back at a time
    got, _ = keeper.read(1000)
    keeper.settle(1000)
    assert [r["n"] for r in got] == list(range(1000))
    assert keeper.refilling == 0
    assert keeper.due(0, 100_000, stopping=False) == 1000
    got, _ = keeper.read(1000)
    keeper.settle(1000)
    assert [r["n"] for r in got] == list(range(1000, 2000))


def test_due_waits_for_a_buffer_at_most_half_full_and_fills_it_at_most(
    tmp_path: Path, keeper_at: Any
) -> None:
    keeper = keeper_at(tmp_path / "spool")
    keeper.spill(records(*range(50)))
    assert keeper.due(6, 10, stopping=False) == 0  # more than half full
    assert keeper.spooled == 50
    assert keeper.due(5, 10, stopping=False) == 5  # half full: the room left
    keeper.settle(5)
    assert keeper.due(0, 10, stopping=False) == 10
    keeper.settle(10)
    assert keeper.spooled == 35


def test_nothing_is_read_back_while_stopping(tmp_path: Path, keeper_at: Any) -> None:
    keeper = keeper_at(tmp_path / "spool")
    keeper.spill(records(1))
    assert keeper.due(0, 100, stopping=True) == 0
    assert (keeper.spooled, keeper.refilling) == (1, 0)


def test_an_unreadable_record_is_skipped_and_logged(
    tmp_path: Path, keepers: list[SpoolKeeper[Record]], caplog: pytest.LogCaptureFixture
) -> None:
    def decode(record: Mapping[str, Any]) -> Record:
        if record.get("broken"):
            raise ValueError("cannot rebuild")
        return dict(record)

    keeper: SpoolKeeper[Record] = SpoolKeeper(tmp_path / "spool", encode=dict, decode=decode)
    keepers.append(keeper)
    keeper.spill([*records(1), {"broken": True}, *records(3)])
    with caplog.at_level(logging.WARNING, "personalize_tracker"):
        got, walls = keeper.read(keeper.due(0, 100, stopping=False))
    keeper.settle(3)
    assert got == records(1, 3)
    assert len(walls) == 2
    assert "unreadable spool line" in caplog.text
    assert "cannot rebuild" in caplog.text


def test_detach_only_when_asked_and_idle(tmp_path: Path, keeper_at: Any) -> None:
    keeper = keeper_at(tmp_path / "spool")
    keeper.spill(records(1, 2))
    assert keeper.detach_if_idle(0) is None  # not asked to close
    keeper.close_later()
    assert keeper.detach_if_idle(3) is None  # a call under way
    reserved = keeper.due(0, 100, stopping=False)
    assert keeper.detach_if_idle(0) is None  # a read-back under way
    keeper.read(reserved)
    assert keeper.detach_if_idle(0) is None  # read, not yet settled
    keeper.settle(reserved)
    spool = keeper.detach_if_idle(0)
    assert spool is not None
    assert keeper.spool is None
    assert keeper.detach_if_idle(0) is None  # detached once
    spool.close()


def test_force_detaches_without_close_later_but_not_while_busy(
    tmp_path: Path, keeper_at: Any
) -> None:
    keeper = keeper_at(tmp_path / "spool")
    assert keeper.detach_if_idle(1, force=True) is None
    spool = keeper.detach_if_idle(0, force=True)
    assert spool is not None
    spool.close()


def test_a_later_keeper_adopts_what_a_closed_spool_left(tmp_path: Path, keeper_at: Any) -> None:
    folder = tmp_path / "spool"
    first = keeper_at(folder)
    first.spill(records(1, 2, 3, 4))
    assert first.due(0, 1, stopping=False) == 1  # a tiny buffer: one record read back
    got, _ = first.read(1)
    first.settle(1)
    assert got == records(1)
    first.close_later()
    spool = first.detach_if_idle(0)
    assert spool is not None
    spool.close()

    second = keeper_at(folder)
    assert second.recovered == 3
    assert second.spooled == 3
    assert second.spilling
    got, _ = reserve_and_read(second, 3)
    assert got == records(2, 3, 4)


def test_folders_that_are_not_a_spools_are_neither_adopted_nor_removed(
    tmp_path: Path, keeper_at: Any
) -> None:
    # A spool folder may hold other things: another record kind's spool in a subfolder, or a
    # folder of the user's. Only "<pid>-<8 hex digits>" subfolders are a process's spool.
    folder = tmp_path / "spool"
    for name in ("items", "backup", "123-notahex", ".456-0badcafe"):
        (folder / name).mkdir(parents=True)
        (folder / name / "keep.txt").write_text("mine")
    keeper = keeper_at(folder)
    assert keeper.recovered == 0
    for name in ("items", "backup", "123-notahex", ".456-0badcafe"):
        assert (folder / name / "keep.txt").read_text() == "mine"
        assert not (folder / name / "lock").exists()


def test_a_spool_still_open_is_not_adopted(tmp_path: Path, keeper_at: Any) -> None:
    folder = tmp_path / "spool"
    first = keeper_at(folder)
    first.spill(records(1))
    second = keeper_at(folder)
    assert second.recovered == 0
    assert second.spooled == 0
    assert reserve_and_read(first, 1)[0] == records(1)


def test_an_emptied_spool_leaves_nothing_to_adopt(tmp_path: Path, keeper_at: Any) -> None:
    folder = tmp_path / "spool"
    first = keeper_at(folder)
    first.spill(records(1))
    reserve_and_read(first, 1)
    spool = first.detach_if_idle(0, force=True)
    assert spool is not None
    spool.close()
    assert keeper_at(folder).recovered == 0


def test_a_folder_that_cannot_be_created_raises(tmp_path: Path, keeper_at: Any) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(NotADirectoryError):  # an OSError
        keeper_at(blocker / "spool")


def test_in_a_forked_child_a_folder_that_cannot_be_created_is_logged(
    tmp_path: Path, keeper_at: Any, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with caplog.at_level(logging.ERROR, "personalize_tracker"):
        keeper = keeper_at(blocker / "spool", in_child=True)
    assert keeper.spool is None
    assert (keeper.spooled, keeper.recovered) == (0, 0)
    assert keeper.due(0, 100, stopping=False) == 0
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert "no spool" in record.getMessage()
    assert record.exc_info is not None


def test_a_record_that_cannot_be_encoded_spools_the_ones_before_it(
    tmp_path: Path, keeper_at: Any
) -> None:
    keeper = keeper_at(tmp_path / "spool")
    written, problem = keeper.spill([*records(1, 2), {"bad": object()}, *records(4)])
    assert written == 2
    assert problem is not None
    assert "could not be encoded" in problem
    assert keeper.spooled == 2  # exactly what is on disk
    got, _ = reserve_and_read(keeper, 2)
    assert got == records(1, 2)


def test_text_utf8_cannot_carry_is_spooled_escaped_not_raised(
    tmp_path: Path, keeper_at: Any
) -> None:
    keeper = keeper_at(tmp_path / "spool")
    assert keeper.spill([{"id": "a\ud800"}]) == (1, None)
    got, _ = reserve_and_read(keeper, 1)
    assert got == [{"id": "a\ud800"}]


def test_keep_without_a_spool_keeps_nothing(keeper_at: Any) -> None:
    assert keeper_at(None).keep(records(1, 2)) == 0


_FULL_DISK_CHILD = """
import json, resource, signal, sys
from personalize_tracker._outcomes.keeper import SpoolKeeper
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), int(sys.argv[2])))
keeper = SpoolKeeper(sys.argv[1], encode=dict, decode=dict)
records = [{"n": n, "text": "x" * 97} for n in range(100)]
written, problem = keeper.spill(records[:30])
more, problem2 = keeper.spill(records[30:])
print(json.dumps([written, more, problem2, keeper.spooled]))
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="POSIX rlimits")
def test_a_disk_that_fills_mid_spill_spools_exactly_whole_records(
    tmp_path: Path, keeper_at: Any
) -> None:
    """A real full disk: a file-size limit in a child process (SIGXFSZ ignored, so the write
    that crosses it is cut short, then fails with EFBIG). The spool keeps whole lines only, and
    the next keeper finds exactly the records counted as written."""
    import json
    import subprocess
    import sys

    spool = tmp_path / "spool"
    limit = 5_000  # not a multiple of a line's length: the 40th line is torn by the limit
    child = subprocess.run(
        [sys.executable, "-c", _FULL_DISK_CHILD, str(spool), str(limit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    written, more, problem, spooled = json.loads(child.stdout)
    assert written == 30
    assert 0 < more < 70  # the disk filled during the second spill
    assert "could not be written" in problem
    assert spooled == written + more

    adopter = keeper_at(spool)
    assert adopter.recovered == written + more
    got, _ = reserve_and_read(adopter, written + more)
    assert [r["n"] for r in got] == list(range(written + more))
    assert all(r["text"] == "x" * 97 for r in got)


def test_a_read_offset_the_disk_refuses_loses_no_record_read(
    tmp_path: Path, keeper_at: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from personalize_tracker._outcomes import spool as spool_module

    keeper = keeper_at(tmp_path / "spool")
    keeper.spill(records(1, 2, 3))

    def full_disk(folder: Path, offset: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spool_module, "_write_offset", full_disk)
    got, _ = reserve_and_read(keeper, 3)  # before: OSError, and 3 records failed 'error'
    assert got == records(1, 2, 3)
    monkeypatch.undo()
    keeper.spill(records(4))  # the spool still works once the disk has room
    assert reserve_and_read(keeper, 1)[0] == records(4)
