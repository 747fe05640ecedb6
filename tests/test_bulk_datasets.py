"""Items, Users and Actions bulk CSVs: telling the dataset by the header, reading rows into the
arguments of put_item / put_user / put_action, and the replay loop against a fake Tracker."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner, Result

from personalize_tracker import InvalidEventError, TrackerStats
from personalize_tracker._tools.bulk import BulkFormatError, read_interactions_csv
from personalize_tracker._tools.bulk.csv_reader import read_csv_rows
from personalize_tracker._tools.bulk.dataset_export import DatasetLetter, read_dataset_letters
from personalize_tracker._tools.bulk.datasets import (
    DATASET_KINDS,
    check_dataset_header,
    dataset_kind_of,
    dataset_kind_of_header,
    dataset_row,
)
from personalize_tracker._tools.bulk.values import RowError
from personalize_tracker._tools.replay.datasets import replay_dataset_rows
from personalize_tracker.cli import cli
from personalize_tracker.testing import PersonalizeEventsMock

ITEMS = DATASET_KINDS["items"]
USERS = DATASET_KINDS["users"]
ACTIONS = DATASET_KINDS["actions"]


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        (["ITEM_ID", "GENRES", "PRICE"], "items"),
        (["item_id", "CREATION_TIMESTAMP"], "items"),
        (["USER_ID", "AGE", "GENDER"], "users"),
        (["ACTION_ID", "VALUE", "EXPIRATION_TIMESTAMP"], "actions"),
        (["USER_ID", "ITEM_ID", "TIMESTAMP"], None),  # interactions
        (["USER_ID", "TIMESTAMP", "EVENT_TYPE"], None),
        (["USER_ID", "ITEM_ID"], None),  # interactions without TIMESTAMP: its check says so
        (["GENRES"], None),
    ],
)
def test_the_header_tells_the_dataset(header: list[str], kind: str | None) -> None:
    found = dataset_kind_of_header("f.csv", header)
    assert (found.name if found else None) == kind


def test_an_action_interactions_csv_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "ai.csv"
    path.write_text("ACTION_ID,USER_ID,TIMESTAMP,EVENT_TYPE\na1,u1,1700000000,Taken\n")
    with pytest.raises(BulkFormatError, match=r"Action interactions CSV.*track_action"):
        dataset_kind_of(path)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert dataset_kind_of(empty) is None


def test_dataset_rows_keep_categorical_values_and_leave_out_empty_cells() -> None:
    record = {"ITEM_ID": " m1 ", "GENRES": "Comedy|Drama", "PRICE": "9.99", "TITLE": ""}
    assert dataset_row(ITEMS, record) == ("m1", {"GENRES": "Comedy|Drama", "PRICE": "9.99"})
    assert dataset_row(USERS, {"user_id": "u1"}) == ("u1", {})
    with pytest.raises(RowError, match="no action id: the ACTION_ID column is empty"):
        dataset_row(ACTIONS, {"ACTION_ID": " ", "VALUE": "3"})


def test_reading_a_dataset_csv_by_line(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text(
        'ITEM_ID,GENRES,TITLE\nm1,Comedy|Drama,"Toy Story, 1995"\n\nm2,Horror\nm3,,"A\nB"\n'
    )
    rows = list(read_csv_rows(path, check_dataset_header(ITEMS)))
    assert rows == [
        (2, {"ITEM_ID": "m1", "GENRES": "Comedy|Drama", "TITLE": "Toy Story, 1995"}),
        (4, "2 fields, the header has 3"),
        (5, {"ITEM_ID": "m3", "GENRES": "", "TITLE": "A\nB"}),
    ]
    assert len(list(read_csv_rows(path, check_dataset_header(ITEMS), limit=1))) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("GENRES,TITLE\nx,y\n", "lacks ITEM_ID; an Items CSV has ITEM_ID,<metadata columns>"),
        ("ITEM_ID,GENRES,genres\nx,y,z\n", "the same field twice: GENRES, genres"),
    ],
)
def test_a_dataset_header_is_checked(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "items.csv"
    path.write_text(text)
    with pytest.raises(BulkFormatError, match=message):
        list(read_csv_rows(path, check_dataset_header(ITEMS)))


def test_the_interactions_reader_still_checks_its_header(tmp_path: Path) -> None:
    path = tmp_path / "i.csv"
    path.write_text("ITEM_ID,GENRES\nm1,Comedy\n")
    with pytest.raises(BulkFormatError, match="lacks USER_ID and TIMESTAMP"):
        list(read_interactions_csv(path))


# ---------------------------------------------------------------------------- the loop


class FakeTracker:
    """A sync Tracker's surface as the dataset replay uses it: put_item refuses long ids,
    a later put of a waiting id replaces it (coalesced), flush delivers 10 per call."""

    sync = True
    max_queue_size = 25

    def __init__(self) -> None:
        self.waiting: dict[str, Any] = {}
        self.calls: list[list[tuple[str, Any]]] = []
        self.tracked = self.delivered = self.coalesced = 0
        self.flushes = 0

    def put_item(self, item_id: str, properties: Any = None) -> None:
        if len(item_id) > 256:
            raise InvalidEventError("item_id", "is longer than 256 characters", "PutItems API")
        self.tracked += 1
        if item_id in self.waiting:
            self.coalesced += 1
            del self.waiting[item_id]
        self.waiting[item_id] = properties
        assert len(self.waiting) <= self.max_queue_size, "the replay did not pace itself"

    def flush(self, timeout: float | None = None) -> bool:
        self.flushes += 1
        records = list(self.waiting.items())
        self.waiting.clear()
        for start in range(0, len(records), 10):
            self.calls.append(records[start : start + 10])
        self.delivered += len(records)
        return True

    def stats(self) -> Any:
        items = TrackerStats(
            tracked=self.tracked,
            delivered=self.delivered,
            failed=0,
            dropped=self.coalesced,
            pending=len(self.waiting),
            requests=len(self.calls),
            coalesced=self.coalesced,
        )
        return SimpleNamespace(kinds={"items": items})


def test_the_replay_puts_every_row_paces_and_reports_bad_ones(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    lines = ["ITEM_ID,GENRES"]
    lines += [f"m{n},Comedy|Drama" for n in range(100)]
    lines += ["m5,Horror", "x" * 300 + ",Horror", ",Horror", "m7"]
    path.write_text("\n".join(lines) + "\n")
    tracker = FakeTracker()
    rows = read_csv_rows(path, check_dataset_header(ITEMS))
    summary = replay_dataset_rows(tracker, rows, ITEMS, progress=False)  # type: ignore[arg-type]
    assert tracker.flushes > 1  # paced: flushed while reading (sync), then at the end
    assert summary.rows_read == 104
    assert summary.tracked == 101
    assert summary.distinct_ids == 100
    assert summary.delivered + summary.coalesced == 101
    assert summary.calls_floor == 10
    assert [(b.line, b.message) for b in summary.bad_rows] == [
        (103, "item_id: is longer than 256 characters (limit: PutItems API)"),
        (104, "no item id: the ITEM_ID column is empty"),
        (105, "1 fields, the header has 2"),
    ]
    assert summary.problems == ["3 bad row(s) skipped"]
    assert not summary.ok
    data = summary.to_dict()
    assert data["result"] == "FAIL"
    assert data["bad_rows"][0] == {"row": 101, "line": 103, "message": summary.bad_rows[0].message}
    assert "PutItems calls" in str(summary)
    delivered = {item: props for call in tracker.calls for item, props in call}
    assert delivered["m5"] in ({"GENRES": "Horror"}, {"GENRES": "Comedy|Drama"})


# ---------------------------------------------------------------------------- the command


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def items_csv(tmp_path: Path) -> Path:
    path = tmp_path / "items.csv"
    path.write_text("ITEM_ID,GENRES\nm1,Comedy|Drama\n")
    return path


def test_an_items_csv_needs_the_dataset_arn(tmp_path: Path) -> None:
    result = run("replay", str(items_csv(tmp_path)), "--no-progress")
    assert result.exit_code == 2
    assert "Missing option '--dataset-arn': items.csv is an Items CSV" in result.output


def test_options_for_events_are_refused_with_a_dataset_csv(tmp_path: Path) -> None:
    arn = "arn:aws:personalize:us-east-1:123456789012:dataset/shop/ITEMS"
    for flag in (["--event-type", "x"], ["--session-gap", "5"], ["--random-ids"]):
        result = run("replay", str(items_csv(tmp_path)), "--dataset-arn", arn, *flag)
        assert result.exit_code == 2, flag
        assert f"{flag[0]} is for interactions; the file is an Items CSV" in result.output


def test_the_dataset_arn_is_refused_with_interactions(tmp_path: Path) -> None:
    path = tmp_path / "i.csv"
    path.write_text("USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\nu1,i1,1700000000,click\n")
    arn = "arn:aws:personalize:us-east-1:123456789012:dataset/shop/ITEMS"
    result = run("replay", str(path), "--dataset-arn", arn, "--tracking-id", "t")
    assert result.exit_code == 2
    assert "--dataset-arn is for an Items, Users or Actions CSV" in result.output
    result = run("replay", str(path))
    assert result.exit_code == 2
    assert "Missing option '--tracking-id' (the file holds interactions)" in result.output


def test_an_action_interactions_csv_is_named(tmp_path: Path) -> None:
    path = tmp_path / "ai.csv"
    path.write_text("ACTION_ID,USER_ID,TIMESTAMP,EVENT_TYPE\na1,u1,1700000000,Taken\n")
    result = run("replay", str(path), "--tracking-id", "t")
    assert result.exit_code == 1
    assert "an Action interactions CSV, which replay does not read" in result.output


def test_a_users_csv_with_a_tracking_id_is_read_as_interactions(tmp_path: Path) -> None:
    # USER_ID and no TIMESTAMP: with --tracking-id alone, the Interactions check names the gap.
    path = tmp_path / "u.csv"
    path.write_text("USER_ID,ITEM_ID,EVENT_TYPE\nu1,i1,click\n")
    result = run("replay", str(path), "--tracking-id", "t")
    assert result.exit_code == 1
    assert "the header lacks TIMESTAMP" in result.output


def test_help_says_the_kind_is_told_by_the_header() -> None:
    text = " ".join(run("replay", "--help").output.split())
    assert "the header tells which: ITEM_ID, USER_ID or ACTION_ID and no TIMESTAMP" in text
    assert "--dataset-arn ARN" in text


# ---------------------------------------------------------------------------- export

ITEMS_ARN = "arn:aws:personalize:us-east-1:123456789012:dataset/shop/ITEMS"


def letter(kind: str, record: dict[str, Any], reason: str = "invalid") -> str:
    line = {
        "failedAt": 1790000000.1,
        "reason": reason,
        "errorCode": "InvalidInputException",
        "message": "m",
        "kind": kind,
        "datasetArn": ITEMS_ARN,
        "record": record,
    }
    return json.dumps(line)


def test_export_writes_item_dead_letters_as_an_items_csv(tmp_path: Path) -> None:
    letters = tmp_path / "dead.jsonl"
    letters.write_text(
        "\n".join(
            [
                letter("items", {"itemId": "m1", "properties": '{"genres":"Comedy|Drama"}'}),
                letter("items", {"itemId": "m2", "properties": '{"price":9.5,"inStock":true}'}),
                letter("items", {"itemId": "m3"}, reason="closed"),
                letter("items", {"itemId": "m1", "properties": '{"genres":"Horror"}'}),
                '{"kind": "items", "record": {"itemId": "m4", "pro',
            ]
        )
        + "\n"
    )
    out = tmp_path / "items.csv"
    result = CliRunner().invoke(cli, ["export", str(letters), "-o", str(out)])
    assert result.exit_code == 1  # the torn last line
    assert list(csv.reader(io.StringIO(out.read_text()))) == [
        ["ITEM_ID", "GENRES", "PRICE", "IN_STOCK"],
        ["m1", "Horror", "", ""],  # the last line of an id wins
        ["m2", "", "9.5", "true"],
        ["m3", "", "", ""],
    ]
    assert "3 items to" in result.stderr
    assert f"{letters}:5: not valid JSON" in result.stderr
    result = CliRunner().invoke(cli, ["export", str(letters), "-o", str(out), "--exclude-invalid"])
    assert [row[0] for row in csv.reader(io.StringIO(out.read_text()))] == ["ITEM_ID", "m3"]


def test_export_warns_that_an_import_puts_an_older_write_back(tmp_path: Path) -> None:
    letters = tmp_path / "dead.jsonl"
    letters.write_text(letter("items", {"itemId": "m1", "properties": '{"price":9.5}'}) + "\n")
    result = CliRunner().invoke(cli, ["export", str(letters), "-o", str(tmp_path / "items.csv")])
    assert result.exit_code == 0, result.output
    assert (
        "  caution: each row is the last write of its id that failed (failed from "
        "2026-09-21T14:13:20Z to 2026-09-21T14:13:20Z): importing the CSV puts it back over any "
        "later write of the id that was delivered; leave out the ids written since"
    ) in result.stderr


def test_export_names_the_columns_a_schema_may_spell_otherwise(tmp_path: Path) -> None:
    letters = tmp_path / "dead.jsonl"
    properties = '{"s3Path":"a","itemGroupV2":"b","top3Items":"c","genres":"d"}'
    letters.write_text(letter("items", {"itemId": "m1", "properties": properties}) + "\n")
    result = CliRunner().invoke(cli, ["export", str(letters)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "ITEM_ID,S_3_PATH,ITEM_GROUP_V_2,TOP_3_ITEMS,GENRES"
    assert (
        "  caution: column names guessed from camelCase keys, which lose the '_' before a digit: "
        "S_3_PATH (or S3_PATH), ITEM_GROUP_V_2 (or ITEM_GROUP_V2), TOP_3_ITEMS (or TOP3_ITEMS); "
        "a header the dataset's schema does not have fails the import job: pass --schema"
    ) in result.stderr


def test_export_of_users_takes_the_schemas_names(tmp_path: Path) -> None:
    letters = tmp_path / "dead.jsonl"
    letters.write_text(
        letter("users", {"userId": "u1", "properties": '{"feature0":"a","membership":"gold"}'})
        + "\n"
    )
    schema = tmp_path / "users.json"
    schema.write_text(
        json.dumps(
            {
                "type": "record",
                "name": "Users",
                "namespace": "com.amazonaws.personalize.schema",
                "fields": [
                    {"name": "USER_ID", "type": "string"},
                    {"name": "FEATURE0", "type": "string"},
                    {"name": "MEMBERSHIP", "type": "string"},
                ],
                "version": "1.0",
            }
        )
    )
    result = CliRunner().invoke(cli, ["export", str(letters), "--schema", str(schema)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["USER_ID,FEATURE0,MEMBERSHIP", "u1,a,gold"]


def test_export_of_mixed_kinds_needs_the_kind(tmp_path: Path) -> None:
    letters = tmp_path / "dead.jsonl"
    event = {
        "reason": "invalid",
        "trackingId": "t",
        "sessionId": "s",
        "userId": "u1",
        "event": {"eventType": "click", "sentAt": 1700000000, "itemId": "m1", "eventId": "e1"},
    }
    letters.write_text(json.dumps(event) + "\n" + letter("items", {"itemId": "m1"}) + "\n")
    result = CliRunner().invoke(cli, ["export", str(letters)])
    assert result.exit_code == 1
    assert "the files hold lines of interactions, items: a CSV is of one kind" in result.output
    # --kind picks the lines of one kind: the others are left out, not lines that failed.
    result = CliRunner().invoke(cli, ["export", str(letters), "--kind", "items"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["ITEM_ID", "m1"]
    assert "1 items to stdout (Items CSV), 0 line(s) skipped" in result.stderr
    assert "  left out: 1 line(s) of other kinds (interactions: 1), for another --kind" in (
        result.stderr
    )
    result = CliRunner().invoke(cli, ["export", str(letters), "--kind", "interactions"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].startswith("u1,m1,1700000000,click")
    assert "  left out: 1 line(s) of other kinds (items: 1), for another --kind" in (result.stderr)


def test_export_says_action_interactions_have_no_csv(tmp_path: Path) -> None:
    letters = tmp_path / "dead.jsonl"
    letters.write_text(letter("action_interactions", {"actionId": "a1"}) + "\n")
    result = CliRunner().invoke(cli, ["export", str(letters)])
    assert result.exit_code == 1
    assert "the files hold action_interactions: export writes" in result.output


def test_dataset_letters_name_what_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "dead.jsonl"
    path.write_text(
        "\n".join(
            [
                letter("actions", {"actionId": "a1", "properties": '{"value":3}'}),
                letter("actions", {"properties": "{}"}),
                letter("actions", {"actionId": "a2", "properties": "[1]"}),
                letter("users", {"userId": "u"}),
            ]
        )
        + "\n"
    )
    read = list(read_dataset_letters(path, ACTIONS))
    assert read == [
        DatasetLetter(1, "a1", {"value": 3}, "invalid", 1790000000.1),
        (2, "no record.actionId"),
        (3, "record.properties is not a JSON object string"),
        (4, "a line of users, not of actions"),
    ]


# ---------------------------------------------------------------------------- end to end


@pytest.fixture
def endpoint(
    personalize_events_server: PersonalizeEventsMock, monkeypatch: pytest.MonkeyPatch
) -> PersonalizeEventsMock:
    """The local endpoint over HTTP, and dummy credentials for the command's default chain."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return personalize_events_server


def dataset_args(endpoint: PersonalizeEventsMock, path: Path, arn: str, *more: str) -> list[str]:
    assert endpoint.endpoint_url is not None
    return [
        "replay", str(path), "--dataset-arn", arn, "--endpoint-url", endpoint.endpoint_url,
        "--region", "us-east-1", "--no-progress", *more,
    ]  # fmt: skip


def test_an_items_csv_goes_through_put_items_and_its_dead_letters_come_back(
    endpoint: PersonalizeEventsMock, tmp_path: Path
) -> None:
    path = tmp_path / "movies.csv"
    rows = ["ITEM_ID,TITLE,GENRES,YEAR"]
    rows += [f'm{n},"Film {n}, the",Comedy|Drama,{1990 + n}' for n in range(24)]
    rows += ["m3,Film 3 (director's cut),Drama,", ",No id,Drama,2000", "poison,Bad,Drama,2001"]
    path.write_text("\n".join(rows) + "\n")
    endpoint.reject_items(lambda item: item.item_id == "poison", message="bad item")
    letters = tmp_path / "dead.jsonl"
    result = run(*dataset_args(endpoint, path, ITEMS_ARN, "--dead-letters", str(letters)))
    assert result.exit_code == 1, result.output
    assert f"personalize-tracker replay: {path} (Items CSV) -> {ITEMS_ARN}" in result.output
    assert "line 27: no item id: the ITEM_ID column is empty" in result.output
    assert "failure: item poison (line 28): invalid (InvalidInputException:" in result.output
    assert "FAIL: 1 bad row(s) skipped; 1 items failed" in result.output
    sent = {item.item_id: item for item in endpoint.items}
    assert len(sent) == 24  # m0..m23, m3 once or twice (a later row replaces a waiting one)
    assert json.loads(sent["m5"].properties or "") == {
        "title": "Film 5, the", "genres": "Comedy|Drama", "year": "1995",
    }  # fmt: skip
    assert json.loads(sent["m3"].properties or "") == {
        "title": "Film 3 (director's cut)", "genres": "Drama",
    }  # fmt: skip
    assert {item.dataset_arn for item in endpoint.items} == {ITEMS_ARN}
    # The dead letter goes back to a bulk CSV.
    exported = CliRunner().invoke(cli, ["export", str(letters)])
    assert exported.exit_code == 0, exported.output
    assert exported.stdout.splitlines() == ["ITEM_ID,TITLE,GENRES,YEAR", "poison,Bad,Drama,2001"]


def test_a_failed_record_is_named_by_its_lines_and_a_long_id_shortened(
    endpoint: PersonalizeEventsMock, tmp_path: Path
) -> None:
    long_id = "é" * 250
    path = tmp_path / "people.csv"
    path.write_text("USER_ID,MEMBERSHIP\nu1,gold\nu2,gold\nu1,silver\n")
    endpoint.reject_users(lambda user: user.user_id == "u1", message="bad user")
    result = run(*dataset_args(endpoint, path, ITEMS_ARN.replace("ITEMS", "USERS")))
    assert result.exit_code == 1, result.output
    assert "failure: user (lines 2, 4): invalid (InvalidInputException:" in result.output

    path = tmp_path / "long.csv"
    path.write_text(f"ITEM_ID,GENRES\n{long_id},Drama\nm1,Drama\n")
    endpoint.reject_items(lambda item: item.item_id == long_id, message="bad item")
    result = run(*dataset_args(endpoint, path, ITEMS_ARN))
    assert result.exit_code == 1, result.output
    shown = f"failure: item {'é' * 40}… (250 characters) (line 2): invalid"
    assert shown in result.output
    assert long_id not in result.output  # nor in the service's message quoting it
    as_json = json.loads(run(*dataset_args(endpoint, path, ITEMS_ARN, "--json")).output)
    assert [(f["id"], f["lines"]) for f in as_json["failures"]] == [(long_id, [2])]


@pytest.mark.parametrize(
    ("header", "row", "attribute"),
    [
        ("USER_ID,MEMBERSHIP", "u1,gold", "users"),
        ("ACTION_ID,VALUE,REPEAT_FREQUENCY", "a1,3,5", "actions"),
    ],
)
def test_users_and_actions_csvs_as_json(
    endpoint: PersonalizeEventsMock, tmp_path: Path, header: str, row: str, attribute: str
) -> None:
    path = tmp_path / f"{attribute}.csv"
    path.write_text(f"{header}\n{row}\n")
    arn = ITEMS_ARN.replace("ITEMS", attribute.upper())
    result = run(*dataset_args(endpoint, path, arn, "--json"))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["result"] == "PASS"
    assert (summary["kind"], summary["delivered"], summary["calls"]) == (attribute, 1, 1)
    assert summary["dataset_arn"] == arn
    [record] = getattr(endpoint, attribute)
    assert record.dataset_arn == arn


def test_a_bad_dataset_arn_names_the_flag(tmp_path: Path) -> None:
    result = run("replay", str(items_csv(tmp_path)), "--dataset-arn", "not-an-arn",
                 "--region", "us-east-1")  # fmt: skip
    assert result.exit_code == 2
    assert "--dataset-arn" in result.output
    assert "items_dataset_arn" not in result.output
