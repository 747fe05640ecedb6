"""``check_interactions`` and ``personalize-tracker check FILE``: the problems an import job
would reject, each with its line, on small files with one kind of error each; the readiness
verdict on MovieLens; exit statuses 0 / 1 / 2."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from personalize_tracker import InteractionsSchema, Target, check_interactions
from personalize_tracker._tools.check.scan import scan_csv
from personalize_tracker.cli import cli
from personalize_tracker.testing import PersonalizeEventsMock

RATINGS = (
    Path(__file__).resolve().parents[1] / "datasets" / "movielens-latest-small" / "ratings.csv"
)
HEADER = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\n"


def write(tmp_path: Path, text: str, name: str = "interactions.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str, **options: object) -> list[tuple[int, str | None, str]]:
    result = check_interactions(write(tmp_path, text), **options)  # type: ignore[arg-type]
    return [(p.line, p.column, p.problem) for p in result.problems]


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["check", "--no-progress", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def movielens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MovieLens ratings as an Interactions CSV: every rating a ``Watch``."""
    path = tmp_path_factory.mktemp("ml") / "interactions.csv"
    with RATINGS.open(newline="") as source, path.open("w", newline="") as out:
        rows = csv.reader(source)
        next(rows)
        out.write("USER_ID,ITEM_ID,EVENT_TYPE,EVENT_VALUE,TIMESTAMP\n")
        out.writelines(f"{u},{m},Watch,{r},{t}\n" for u, m, r, t in rows)
    return path


# -- one kind of error per file -----------------------------------------------------------------


def test_a_clean_file_has_no_problem(tmp_path: Path) -> None:
    assert problems(tmp_path, HEADER + "u1,i1,1700000000,View\nu2,i2,1700000001,View\n") == []


def test_the_header_must_name_the_required_columns(tmp_path: Path) -> None:
    found = problems(tmp_path, "userId,ITEM_ID,TIMESTAMP\nu1,i1,1\n")
    assert found == [(1, "USER_ID", "the header lacks USER_ID")]


def test_timestamps_must_be_epoch_seconds(tmp_path: Path) -> None:
    text = HEADER + "u1,i1,1700000000,View\nu1,i2,1700000000123,View\nu1,i3,2023-11-14,View\n"
    found = problems(tmp_path, text + "u1,i4,1700000000.5,View\n")
    assert [(line, column) for line, column, _ in found] == [
        (4, "TIMESTAMP"), (5, "TIMESTAMP"), (3, "TIMESTAMP")
    ]  # fmt: skip
    assert "milliseconds" in found[2][2]
    assert found[0][2].startswith("a date")
    assert found[1][2].startswith("not whole seconds")


def test_required_cells_must_not_be_empty(tmp_path: Path) -> None:
    found = problems(tmp_path, HEADER + "u1,i1,1700000000,View\n,i2,1700000001,View\nu3,i3,1,\n")
    assert found == [
        (3, "USER_ID", "empty; every interaction needs one"),
        (4, "EVENT_TYPE", "empty; every interaction needs one"),
    ]


def test_ids_are_at_most_256_characters(tmp_path: Path) -> None:
    found = problems(tmp_path, HEADER + f"u1,{'i' * 257},1700000000,View\n")
    assert found == [(2, "ITEM_ID", "257 characters; at most 256")]


def test_a_row_of_the_wrong_width_and_a_value_across_lines(tmp_path: Path) -> None:
    text = HEADER + 'u1,i1,1700000000\nu2,i2,1700000001,"View\nmore"\nu3,i3,1700000002,View\n'
    found = problems(tmp_path, text)
    assert (2, None, "3 fields, the header has 4") in found
    assert any(line == 3 and "one line" in problem for line, _, problem in found)


def test_impression_ids_are_separated_by_a_vertical_bar(tmp_path: Path) -> None:
    text = 'USER_ID,ITEM_ID,TIMESTAMP,IMPRESSION\nu1,i1,1,a|b\nu1,i2,2,"a,b"\n'
    assert problems(tmp_path, text) == [
        (3, "IMPRESSION", "holds ',' or ';': item ids are separated by '|'")
    ]


def test_at_most_five_metadata_columns(tmp_path: Path) -> None:
    names = ",".join(f"M{i}" for i in range(6))
    found = problems(tmp_path, f"USER_ID,ITEM_ID,TIMESTAMP,{names}\nu1,i1,1,a,b,c,d,e,f\n")
    assert len(found) == 1
    assert found[0][:2] == (1, None)
    assert "at most 5" in found[0][2]


SCHEMA = {
    "type": "record",
    "name": "Interactions",
    "namespace": "com.amazonaws.personalize.schema",
    "fields": [
        {"name": "USER_ID", "type": "string"},
        {"name": "ITEM_ID", "type": "string"},
        {"name": "TIMESTAMP", "type": "long"},
        {"name": "EVENT_TYPE", "type": "string"},
        {"name": "EVENT_VALUE", "type": ["null", "float"]},
        {"name": "DEVICE", "type": ["null", "string"], "categorical": True},
    ],
    "version": "1.0",
}


def test_with_a_schema_the_header_and_the_types_must_match_it(tmp_path: Path) -> None:
    schema = InteractionsSchema.from_json(SCHEMA)
    text = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_VALUE,COLOUR\nu1,i1,1,4.5,red\nu1,i2,2,high,red\n"
    found = problems(tmp_path, text, schema=schema)
    assert (1, "COLOUR", "not a field of the schema") in found
    assert (1, "EVENT_TYPE", "a required field of the schema is missing") in found
    assert (3, "EVENT_VALUE", "not a number of the schema's type") in found
    assert len(found) == 3


def test_categorical_values_are_at_most_1000_characters(tmp_path: Path) -> None:
    schema = InteractionsSchema.from_json(SCHEMA)
    text = HEADER.replace("\n", ",DEVICE\n") + f"u1,i1,1,View,{'x' * 1001}\n"
    assert problems(tmp_path, text, schema=schema) == [
        (2, "DEVICE", "1001 characters; at most 1000")
    ]


def test_problems_are_all_counted_and_the_first_ones_kept(tmp_path: Path) -> None:
    text = HEADER + "".join(f"u{n},i{n},x,View\n" for n in range(50))
    result = check_interactions(write(tmp_path, text), max_problems=5)
    assert (len(result.problems), result.problem_count) == (5, 50)
    assert [p.line for p in result.problems] == [2, 3, 4, 5, 6]


def test_lines_are_counted_across_chunks(tmp_path: Path) -> None:
    text = HEADER + "".join(f"u{n},i{n},{1_700_000_000 + n},View\n" for n in range(5000))
    text += "u1,i1,oops,View\n"
    with write(tmp_path, text).open(newline="") as stream:
        scan = scan_csv(stream, chunk_chars=1000)
    assert [(p.line, p.column) for p in scan.problems] == [(5002, "TIMESTAMP")]
    assert scan.rows == 5001


# -- verdicts -----------------------------------------------------------------------------------


def test_movielens_is_ready_for_most_popular_but_not_for_best_sellers(movielens: Path) -> None:
    vod = check_interactions(movielens, target=Target.domain("VIDEO_ON_DEMAND"))
    assert vod.problem_count == 0
    assert vod.rows == vod.counts.interactions == 100_004
    assert (vod.counts.users, vod.counts.users_with_two) == (671, 671)
    assert vod.ready
    shop = check_interactions(
        movielens, target=Target.domain("ECOMMERCE", ["aws-ecomm-popular-items-by-purchases"])
    )
    assert shop.readiness is not None
    assert shop.readiness.verdicts[0].missing == ("1000 more `Purchase` events",)
    assert not shop.ready


def test_a_dataframe_is_checked_like_its_csv(movielens: Path) -> None:
    frame = pd.read_csv(movielens, dtype=str).head(2000)
    frame.loc[5, "TIMESTAMP"] = "yesterday"
    result = check_interactions(frame, target=Target.recipe("aws-user-personalization-v2"))
    assert [(p.line, p.column) for p in result.problems] == [(7, "TIMESTAMP")]
    assert result.counts.interactions == 2000
    assert not result.ready  # a problem: the import would fail


# -- the command --------------------------------------------------------------------------------


def test_the_command_exits_0_when_ready_and_1_when_not(movielens: Path) -> None:
    ready = run(str(movielens), "--use-case", "aws-vod-most-popular")
    assert ready.exit_code == 0, ready.output
    assert ready.output.rstrip().endswith("ready")
    missing = run(str(movielens), "--use-case", "aws-ecomm-popular-items-by-views", "--json")
    assert missing.exit_code == 1
    data = json.loads(missing.output)
    assert data["readiness"]["verdicts"][0]["missing"] == ["1000 more `View` events"]


def test_the_command_exits_1_on_a_format_problem_and_lists_its_line(tmp_path: Path) -> None:
    result = run(str(write(tmp_path, HEADER + "u1,i1,soon,View\n")))
    assert result.exit_code == 1
    assert "line 2 TIMESTAMP: not whole seconds" in result.output


@pytest.mark.parametrize("content", [b"", b"USER_ID,ITEM_ID,TIMESTAMP\n\xff\xfe,i,1\n"])
def test_the_command_exits_2_on_an_unreadable_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    result = run(str(path))
    assert result.exit_code == 2
    assert "Error:" in result.output


def test_the_command_refuses_a_use_case_of_no_domain(tmp_path: Path) -> None:
    result = run(str(write(tmp_path, HEADER)), "--use-case", "aws-sims")
    assert result.exit_code == 2
    assert "one domain" in result.output


def test_the_progress_bar_goes_to_stderr(movielens: Path) -> None:
    result = CliRunner().invoke(cli, ["check", str(movielens)], catch_exceptions=False)
    assert result.exit_code == 0
    assert "B/s" in result.stderr  # tqdm's bar, in bytes
    assert "B/s" not in result.stdout


# -- replay with a target -----------------------------------------------------------------------


def test_replay_with_a_target_warns_as_track_does_and_reports_readiness(
    personalize_events_server: PersonalizeEventsMock,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    assert personalize_events_server.endpoint_url is not None
    path = write(tmp_path, HEADER + "u1,i1,1700000000,view\nu1,i2,1700000060,View\n")
    with caplog.at_level(logging.WARNING, logger="personalize_tracker"):
        result = CliRunner().invoke(
            cli,
            ["replay", str(path), "--tracking-id", "t", "--region", "us-east-1",
             "--endpoint-url", personalize_events_server.endpoint_url, "--no-progress",
             "--use-case", "aws-ecomm-popular-items-by-views"],
            catch_exceptions=False,
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "'view' is not 'View'" in caplog.text
    assert "aws-ecomm-popular-items-by-views (Most viewed): not ready: 999 more `View` events" in (
        result.output
    )
    assert len(personalize_events_server.events) == 2  # a warning sends the event all the same


# -- Open Bandit --------------------------------------------------------------------------------

BANDIT = RATINGS.parents[1] / "open-bandit-sample" / "random_all.csv"


def bandit_csv(path: Path, rows: int, *, epoch: bool) -> Path:
    """The first Open Bandit rows as an Interactions CSV: its hashed user feature as the user,
    ``click`` or ``view``, its position as contextual metadata, its timestamp as is (a date) or
    in epoch seconds."""
    import datetime as dt

    with BANDIT.open(newline="") as source, path.open("w", newline="") as out:
        out.write("USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,POSITION\n")
        for n, row in enumerate(csv.DictReader(source)):
            if n == rows:
                break
            when = row["timestamp"]
            if epoch:
                when = str(int(dt.datetime.fromisoformat(when).timestamp()))
            kind = "click" if row["click"] == "1" else "view"
            out.write(f"{row['user_feature_0']},{row['item_id']},{when},{kind},{row['position']}\n")
    return path


def test_open_bandit_dates_are_what_an_import_job_rejects(tmp_path: Path) -> None:
    result = check_interactions(bandit_csv(tmp_path / "obd.csv", 300, epoch=False))
    assert result.problem_count == 300
    assert {(p.column, p.problem.split(";")[0]) for p in result.problems} == {
        ("TIMESTAMP", "a date")
    }


def test_open_bandit_views_do_not_count_as_ecommerce_view_events(tmp_path: Path) -> None:
    target = Target.domain("ECOMMERCE", ["aws-ecomm-customers-who-viewed-x-also-viewed"])
    result = check_interactions(bandit_csv(tmp_path / "obd.csv", 1200, epoch=True), target=target)
    assert result.problem_count == 0
    assert result.readiness is not None
    assert result.counts.event_types == {"view": 1196, "click": 4}
    assert result.readiness.verdicts[0].missing[0] == (
        "1000 more `View` events (not counted, spelled otherwise: 1196 `view`)"
    )


def test_the_command_reads_a_schema_file(tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA), encoding="utf-8")
    path = write(tmp_path, "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\nu1,i1,1,View,x\n")
    result = run(str(path), "--schema", str(schema))
    assert result.exit_code == 1
    assert "line 2 EVENT_VALUE: not a number of the schema's type" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    assert run(str(path), "--schema", str(bad)).exit_code == 2  # an unreadable schema
