"""The bulk-data commands: ``replay FILE``, ``export FILE...`` and ``serve``."""

from __future__ import annotations

import csv
import io
import json
import operator
import os
import re
import signal
import socket
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import click
import pytest
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

from personalize_tracker import InteractionsSchema, Tracker, to_camel_case
from personalize_tracker._tools.bulk import FieldMapping, detect_format, to_upper_snake
from personalize_tracker._tools.bulk.export import ExportLine, export_line
from personalize_tracker._tools.bulk.jsonl_reader import json_objects, read_json_lines
from personalize_tracker.cli import cli
from personalize_tracker.cli._common import bulk_tracker
from personalize_tracker.cli.serve import recorded_line
from personalize_tracker.testing import PersonalizeEventsMock

CSV_TEXT = """\
USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE,IMPRESSION,RECOMMENDATION_ID,DEVICE_TYPE
u1,i1,1700000000,click,,i1|i2|i3,RID-1,mobile
u1,i2,1700000600,purchase,19.99,,,mobile

u2,i3,1700000000,click,,,,"tv"
u2,i4,1700009000,click,,,,tv
"""


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def endpoint(
    personalize_events_server: PersonalizeEventsMock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[PersonalizeEventsMock]:
    """The local endpoint over HTTP, and dummy credentials for the command's default chain."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return personalize_events_server


def replay_args(endpoint: PersonalizeEventsMock, path: Path, *more: str) -> list[str]:
    assert endpoint.endpoint_url is not None
    return [
        "replay",
        str(path),
        "--tracking-id",
        "tracking-1",
        "--endpoint-url",
        endpoint.endpoint_url,
        "--region",
        "us-east-1",
        "--no-progress",
        *more,
    ]


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# ------------------------------------------------------------------------------ replay


def test_replay_sends_an_interactions_csv(endpoint: PersonalizeEventsMock, tmp_path: Path) -> None:
    path = tmp_path / "interactions.csv"
    path.write_text(CSV_TEXT)

    result = run(*replay_args(endpoint, path))

    assert result.exit_code == 0, result.output
    assert "PASS: every row delivered" in result.output
    events = sorted(endpoint.events, key=lambda e: (e.user_id or "", e.sent_at))
    assert [(e.user_id, e.item_id, e.event_type) for e in events] == [
        ("u1", "i1", "click"),
        ("u1", "i2", "purchase"),
        ("u2", "i3", "click"),
        ("u2", "i4", "click"),
    ]
    first, second, third, fourth = events
    assert first.impression == ("i1", "i2", "i3")
    assert first.recommendation_id == "RID-1"
    assert json.loads(first.properties or "") == {"deviceType": "mobile"}
    assert second.event_value == 19.99
    assert first.sent_at == 1_700_000_000
    # u1's two rows are 10 minutes apart, u2's 2.5 hours: sessions at the 30-minute default.
    assert first.session_id == second.session_id
    assert third.session_id != fourth.session_id
    assert {e.tracking_id for e in events} == {"tracking-1"}


def test_replay_reports_bad_rows_with_their_line_numbers(
    endpoint: PersonalizeEventsMock, tmp_path: Path
) -> None:
    path = tmp_path / "interactions.csv"
    path.write_text(
        "USER_ID,ITEM_ID,TIMESTAMP,COMMENT\n"
        "u1,i1,1700000000,fine\n"
        "u1,i2,1700000000000,milliseconds\n"
        "\n"
        'u2,i3,1700000000,"two\nlines"\n'
        "u2,i4,yesterday,bad time\n"
        "u3,i5\n"
        ",i6,1700000000,no user\n"
        "u4,i7,1700000000,fine\n"
    )

    result = run(*replay_args(endpoint, path, "--event-type", "view", "--json"))

    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["result"] == "FAIL"
    assert (data["rows_read"], data["tracked"], data["delivered"]) == (7, 3, 3)
    assert [(b["line"], b["row"]) for b in data["bad_rows"]] == [(3, 1), (7, 3), (8, 4), (9, 5)]
    messages = {b["line"]: b["message"] for b in data["bad_rows"]}
    assert "milliseconds" in messages[3]
    assert "'yesterday'" in messages[7]
    assert messages[8] == "2 fields, the header has 4"
    assert "no user id" in messages[9]
    assert sorted(e.item_id or "" for e in endpoint.events) == ["i1", "i3", "i7"]
    # The other column became a property: the multi-line cell arrived whole.
    (multi,) = [e for e in endpoint.events if e.item_id == "i3"]
    assert json.loads(multi.properties or "") == {"comment": "two\nlines"}

    text = run(*replay_args(endpoint, path, "--event-type", "view")).output
    assert "line 3: sent_at" in text
    assert "line 8: 2 fields" in text
    assert "FAIL: 4 bad row(s) skipped" in text


def test_a_csv_without_event_type_needs_the_option(
    endpoint: PersonalizeEventsMock, tmp_path: Path
) -> None:
    path = tmp_path / "i.csv"
    path.write_text("USER_ID,ITEM_ID,TIMESTAMP\nu1,i1,1700000000\n")

    refused = run(*replay_args(endpoint, path))
    assert refused.exit_code == 2
    assert "no EVENT_TYPE column: pass --event-type" in refused.output

    result = run(*replay_args(endpoint, path, "--event-type", "watch", "--limit", "1"))
    assert result.exit_code == 0, result.output
    assert [e.event_type for e in endpoint.events] == ["watch"]


def test_a_csv_without_the_required_columns_is_refused(
    endpoint: PersonalizeEventsMock, tmp_path: Path
) -> None:
    path = tmp_path / "i.csv"
    path.write_text("userId,movieId,rating\n1,2,3\n")

    result = run(*replay_args(endpoint, path, "--event-type", "x"))

    assert result.exit_code == 1
    assert "the header lacks TIMESTAMP" in result.output
    assert endpoint.events == []


def test_empty_cells_are_bad_rows_named_as_on_the_dataframe_path(
    endpoint: PersonalizeEventsMock, tmp_path: Path
) -> None:
    path = tmp_path / "i.csv"
    path.write_text(
        "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\n"
        "u1,i1,1700000000,click\n"
        ",i2,1700000000,click\n"
        "u3,i3,,click\n"
        "u4,i4,1700000000,\n"
    )

    result = run(*replay_args(endpoint, path, "--json"))

    assert result.exit_code == 1
    messages = {b["line"]: b["message"] for b in json.loads(result.stdout)["bad_rows"]}
    assert messages == {
        3: "no user id and no session id (column 'USER_ID' is empty)",
        4: "no timestamp (column 'TIMESTAMP' is empty)",
        5: "no event type (column 'EVENT_TYPE' is empty): pass --event-type for such rows",
    }
    assert [e.item_id for e in endpoint.events] == ["i1"]


def test_a_csv_with_another_delimiter_is_named_so(
    endpoint: PersonalizeEventsMock, tmp_path: Path
) -> None:
    path = tmp_path / "i.csv"
    path.write_text("USER_ID;ITEM_ID;TIMESTAMP;EVENT_TYPE\nu1;i1;1700000000;click\n")

    result = run(*replay_args(endpoint, path))

    assert result.exit_code == 1
    assert "'USER_ID;ITEM_ID;TIMESTAMP;EVENT_TYPE'" in result.output
    assert "semicolon-delimited" in result.output
    assert "EVENT_TYPE column" not in result.output


def test_cli_messages_name_flags_not_python_arguments(
    endpoint: PersonalizeEventsMock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "i.csv"
    many = "|".join(f"i{n}" for n in range(30))  # over PutEvents' 25 impression ids
    path.write_text(
        f"USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,IMPRESSION\nu1,i1,1700000000,click,{many}\n"
    )

    refused = run(*replay_args(endpoint, path, "--json"))
    [bad] = json.loads(refused.stdout)["bad_rows"]
    assert "pass --truncate-impressions" in bad["message"]
    assert "truncate_impressions=True" not in bad["message"]

    result = run(*replay_args(endpoint, path, "--truncate-impressions"))
    assert result.exit_code == 0, result.output
    [event] = endpoint.events
    assert event.impression == tuple(f"i{n}" for n in range(25))

    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    no_region = CliRunner().invoke(cli, ["replay", str(path), "--tracking-id", "t"])
    assert no_region.exit_code == 2
    assert "pass --region" in no_region.output
    assert "region_name=" not in no_region.output


def test_a_rerun_of_the_same_file_sends_the_same_event_ids(
    endpoint: PersonalizeEventsMock, tmp_path: Path
) -> None:
    path = tmp_path / "interactions.csv"
    path.write_text(CSV_TEXT)

    def event_ids(*more: str) -> list[str]:
        endpoint.reset()
        assert run(*replay_args(endpoint, path, *more)).exit_code == 0
        return sorted(e.event_id for e in endpoint.events)

    first = event_ids()
    assert len(set(first)) == 4
    assert all(i.startswith("rp-") for i in first)
    assert event_ids() == first
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    path = path.rename(moved / path.name)
    assert event_ids() == first  # the file's name, not its folder
    assert set(event_ids("--id-namespace", "shop-2024")).isdisjoint(first)
    assert set(event_ids("--random-ids")).isdisjoint(first)


def test_replay_sends_dead_letters_again_keeping_their_event_ids(
    endpoint: PersonalizeEventsMock, tmp_path: Path
) -> None:
    dead = tmp_path / "dead.jsonl"
    endpoint.inject_fault("access_denied")  # the first call is refused for good
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    with Tracker(
        "tracking-1", session=session, endpoint_url=endpoint.endpoint_url, dead_letter_path=dead
    ) as tracker:
        sent = [
            tracker.track("click", "s-1", "u1", f"i{n}", properties={"DEVICE_TYPE": "tv"})
            for n in range(3)
        ]
    assert len(dead.read_text().splitlines()) == 3
    with dead.open("a") as f:
        f.write('{"torn": \n')
    endpoint.reset()

    result = run(*replay_args(endpoint, dead, "--json"))

    assert result.exit_code == 1  # the torn line
    data = json.loads(result.stdout)
    assert data["format"] == "jsonl"
    assert data["delivered"] == 3
    assert [b["line"] for b in data["bad_rows"]] == [4]
    assert "not valid JSON" in data["bad_rows"][0]["message"]
    got = {e.event_id: e for e in endpoint.events}
    assert set(got) == {e.event_id for e in sent}
    assert {e.session_id for e in got.values()} == {"s-1"}  # kept, not re-cut
    assert {e.properties for e in got.values()} == {'{"deviceType":"tv"}'}


def test_failed_events_go_to_the_dead_letter_file_and_exit_1(
    endpoint: PersonalizeEventsMock, tmp_path: Path
) -> None:
    path = tmp_path / "i.csv"
    path.write_text(CSV_TEXT)
    endpoint.reject_events(lambda e: e.item_id == "i2")
    dead = tmp_path / "failed.jsonl"

    result = run(*replay_args(endpoint, path, "--dead-letters", str(dead)))

    assert result.exit_code == 1
    assert "FAIL: 1 event(s) failed" in result.output
    assert "failure: event" in result.output
    assert "invalid" in result.output
    assert f"appended to {dead}" in result.output
    (line,) = dead.read_text().splitlines()
    assert json.loads(line)["event"]["itemId"] == "i2"


# ------------------------------------------------------------------------------ export


def serial(**fields: Any) -> str:
    base = {"eventId": "e", "eventType": "click", "sentAt": 1_700_000_000.75, "sessionId": "s"}
    return json.dumps({**base, **fields})


def test_export_writes_an_interactions_csv(tmp_path: Path) -> None:
    recording = tmp_path / "events.jsonl"
    recording.write_text(
        "\n".join(
            [
                serial(userId="u1", itemId="i1", impression=["i1", "i2"], recommendationId="R"),
                serial(userId="u2", itemId="i2", eventValue=4.5, properties='{"deviceType":"tv"}'),
                serial(userId="u3", properties='{"pageNumber":2,"isPromo":true}'),
            ]
        )
        + "\n"
    )
    out = tmp_path / "out.csv"

    result = run("export", str(recording), "-o", str(out))

    assert result.exit_code == 0, result.output
    assert "3 events to" in result.stderr
    text = out.read_text()
    assert text.splitlines()[0] == (
        "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE,IMPRESSION,RECOMMENDATION_ID,"
        "DEVICE_TYPE,PAGE_NUMBER,IS_PROMO"
    )
    assert text.splitlines()[1:] == [
        "u1,i1,1700000000,click,,i1|i2,R,,,",
        "u2,i2,1700000000,click,4.5,,,tv,,",
        "u3,,1700000000,click,,,,,2,true",
    ]


def test_export_leaves_out_unused_optional_columns_unless_asked(tmp_path: Path) -> None:
    recording = tmp_path / "events.jsonl"
    recording.write_text(serial(userId="u1", itemId="i1") + "\n")

    plain = run("export", str(recording))
    full = run("export", str(recording), "--all-columns")

    assert plain.stdout.splitlines() == [
        "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE",
        "u1,i1,1700000000,click",
    ]
    assert full.stdout.splitlines()[0] == ",".join(
        [
            "USER_ID",
            "ITEM_ID",
            "TIMESTAMP",
            "EVENT_TYPE",
            "EVENT_VALUE",
            "IMPRESSION",
            "RECOMMENDATION_ID",
        ]
    )


def test_export_reads_dead_letters_and_reports_unusable_lines(tmp_path: Path) -> None:
    def letter(reason: str, item: str) -> str:
        return json.dumps(
            {
                "failedAt": 1.0,
                "reason": reason,
                "errorCode": "X",
                "message": "m",
                "trackingId": "t",
                "sessionId": "s",
                "userId": "u",
                "event": {
                    "eventId": item,
                    "eventType": "view",
                    "sentAt": 1_700_000_001,
                    "itemId": item,
                },
            }
        )

    dead = tmp_path / "dead.jsonl"
    dead.write_text(
        "\n".join(
            [
                letter("retries_exhausted", "a"),
                letter("invalid", "b"),
                serial(itemId="no-user"),
                "[1, 2]",
            ]
        )
        + "\n"
    )

    everything = run("export", str(dead))
    valid_only = run("export", str(dead), "--exclude-invalid")

    assert everything.exit_code == 1
    assert [r["ITEM_ID"] for r in csv_rows(everything.stdout)] == ["a", "b"]
    assert [r["ITEM_ID"] for r in csv_rows(valid_only.stdout)] == ["a"]
    assert f"{dead}:3: no userId" in everything.stderr
    assert f"{dead}:4: a JSON list, not an object" in everything.stderr
    assert "2 line(s) skipped" in everything.stderr


def test_csv_to_endpoint_to_recording_to_csv_round_trips(
    endpoint: PersonalizeEventsMock, tmp_path: Path
) -> None:
    source = tmp_path / "in.csv"
    source.write_text(CSV_TEXT)
    assert run(*replay_args(endpoint, source)).exit_code == 0
    recording = tmp_path / "recording.jsonl"
    recording.write_text("".join(recorded_line(e) for e in endpoint.events))

    exported = run("export", str(recording))

    assert exported.exit_code == 0
    key = "USER_ID", "TIMESTAMP"
    want = sorted(csv_rows(CSV_TEXT), key=lambda r: tuple(r[k] for k in key))
    got = sorted(csv_rows(exported.stdout), key=lambda r: tuple(r[k] for k in key))
    assert got == want


def test_helpers_name_columns_and_formats() -> None:
    assert to_upper_snake("deviceType") == "DEVICE_TYPE"
    assert to_upper_snake("location") == "LOCATION"
    assert to_upper_snake("DEVICE_TYPE") == "DEVICE_TYPE"
    assert to_upper_snake("httpURLPath") == "HTTP_U_R_L_PATH"  # to_camel_case's own inverse
    assert to_upper_snake("userFeature0") == "USER_FEATURE_0"
    assert to_upper_snake("page-kind") == "PAGE_KIND"
    assert detect_format("a.CSV") == "csv"
    assert detect_format("a.ndjson") == "jsonl"
    assert detect_format("a.txt", "jsonl") == "jsonl"
    with pytest.raises(ValueError, match="pass --format"):
        detect_format("a.txt")


_LETTERS = st.text(alphabet=string.ascii_uppercase, min_size=1, max_size=6)
_NUMBER = st.builds(
    operator.add,
    st.text(alphabet=string.digits, min_size=1, max_size=3),
    st.text(alphabet=string.ascii_uppercase, max_size=2),
)


@st.composite
def schema_field_names(draw: st.DrawFn) -> str:
    """UPPER_SNAKE names: words of letters, or digits (then letters), never two numbers in a
    row (camelCase cannot tell "A_1_2" from "A_12"), the first of letters."""
    words = [draw(_LETTERS)]
    for _ in range(draw(st.integers(0, 4))):
        numeric = words[-1][0].isalpha() and draw(st.booleans())
        words.append(draw(_NUMBER if numeric else _LETTERS))
    return "_".join(words)


@given(schema_field_names())
def test_upper_snake_is_the_inverse_of_camel_case(name: str) -> None:
    assert to_upper_snake(to_camel_case(name)) == name


def test_the_open_bandit_schema_round_trips_through_export(tmp_path: Path) -> None:
    schema_path = Path(__file__).parent.parent / "examples/open_bandit/interactions_schema.json"
    schema = InteractionsSchema.from_json(schema_path.read_text())
    names = [f.name for f in schema.fields if not f.reserved]
    assert "USER_FEATURE_0" in names
    properties = {to_camel_case(name): f"v{n}" for n, name in enumerate(names)}
    recording = tmp_path / "events.jsonl"
    event = {"userId": "u", "sessionId": "s", "eventType": "click", "sentAt": 1_700_000_000}
    recording.write_text(json.dumps({**event, "properties": json.dumps(properties)}) + "\n")

    for extra in ([], ["--schema", str(schema_path)]):
        exported = run("export", str(recording), *extra)
        assert exported.exit_code == 0, exported.output
        [row] = csv_rows(exported.stdout)
        assert {name: row[name] for name in names} == {
            name: f"v{n}" for n, name in enumerate(names)
        }


def test_export_schema_names_columns_as_the_schema_does(tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    fields = [
        {"name": n, "type": t}
        for n, t in [("USER_ID", "string"), ("ITEM_ID", "string"), ("TIMESTAMP", "long")]
    ]
    fields.append({"name": "FEATURE0", "type": ["null", "string"], "categorical": True})
    schema.write_text(json.dumps({"type": "record", "name": "Interactions", "fields": fields}))
    recording = tmp_path / "events.jsonl"
    event = {"userId": "u", "sessionId": "s", "eventType": "click", "sentAt": 1_700_000_000}
    recording.write_text(json.dumps({**event, "properties": '{"feature0":"a"}'}) + "\n")

    guessed = run("export", str(recording))
    assert "FEATURE_0" in guessed.stdout.splitlines()[0]
    assert "  caution: column names guessed from camelCase keys, which lose the '_' before a " \
        "digit: FEATURE_0 (or FEATURE0); a header the dataset's schema does not have fails the " \
        "import job: pass --schema" in guessed.stderr  # fmt: skip
    with_schema = run("export", str(recording), "--schema", str(schema))
    assert csv_rows(with_schema.stdout)[0]["FEATURE0"] == "a"
    assert "caution" not in with_schema.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    refused = CliRunner().invoke(cli, ["export", str(recording), "--schema", str(broken)])
    assert refused.exit_code == 2
    assert "--schema" in refused.output


def test_export_given_a_csv_says_once_that_it_is_not_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "interactions.csv"
    path.write_text(CSV_TEXT)

    result = run("export", str(path))

    assert result.exit_code == 1
    assert result.output.count("not a JSON Lines file") == 1
    assert "it looks like a CSV" in result.output
    assert "not valid JSON" not in result.output


def test_json_objects_name_each_line_that_is_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('\ufeff{"a": 1}\n\n[1]\n  \n"text"\n{"torn": \n{"b": 2}\n', encoding="utf-8")

    got = list(json_objects(path))

    assert got == [
        (1, {"a": 1}),  # the byte-order mark is ignored
        (3, "a JSON list, not an object"),
        (5, "a JSON str, not an object"),
        # The line ending is part of what json.loads reads: the column is that of the next line.
        (6, "not valid JSON (Expecting value at column 1)"),
        (7, {"b": 2}),
    ]
    # read_json_lines flattens the objects and counts problems toward its limit.
    assert list(read_json_lines(path, limit=3)) == got[:3]


def test_export_line_keeps_a_dead_letters_reason_and_names_what_is_missing() -> None:
    fields = FieldMapping({"context": ()})
    event = {"eventId": "e-1", "eventType": "view", "sentAt": 1_700_000_000, "itemId": "i"}

    dead = export_line(
        4, {"reason": "invalid", "sessionId": "s", "userId": "u", "event": event}, fields
    )
    plain = export_line(5, {**event, "sessionId": "s", "userId": "u", "reason": "x"}, fields)
    no_user = export_line(6, {**event, "sessionId": "s"}, fields)
    no_time = export_line(7, {"eventType": "view", "userId": "u"}, fields)

    assert isinstance(dead, ExportLine)
    assert (dead.line, dead.reason, dead.event.event_id, dead.event.user_id) == (
        4,
        "invalid",
        "e-1",
        "u",
    )
    assert isinstance(plain, ExportLine)
    assert plain.reason is None  # a "reason" key outside a dead letter is not one
    assert no_user == (6, "no userId: an Interactions dataset row needs a USER_ID")
    assert no_time == (7, "no sentAt: an Interactions dataset row needs a TIMESTAMP")


def test_a_bulk_tracker_without_a_region_is_a_usage_error_naming_the_option(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))

    with pytest.raises(click.UsageError, match=r"pass --region, or set AWS_REGION"):
        bulk_tracker(
            "t", region=None, endpoint_url=None, dead_letter_path=None, on_failure=lambda f: None
        )


# ------------------------------------------------------------------------------ serve


def start_serve(*args: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    """Start ``personalize-tracker serve`` and read its banner up to the endpoint_url."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "personalize_tracker", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line)
        found = re.search(r"endpoint_url\s+(http://127\.0\.0\.1:\d+)", line)
        if found:
            return process, found.group(1), lines
    process.kill()
    raise AssertionError("no endpoint_url in: " + "".join(lines))


def rest_of_output(process: subprocess.Popen[str]) -> str:
    """Read to the end of the output through the same buffered stream (``communicate()`` would
    skip what it already buffered), then reap the process."""
    assert process.stdout is not None
    output = process.stdout.read()  # ends when the process exits (pytest-timeout guards it)
    process.wait(timeout=30)
    return output


def send(url: str, count: int) -> None:
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    with Tracker("dev-tracker", session=session, endpoint_url=url) as tracker:
        for n in range(count):
            tracker.track("click", "s-1", "u-1", f"i-{n}", properties={"PAGE": "home"})


@pytest.mark.slow
def test_serve_prints_the_url_counts_and_records_events(tmp_path: Path) -> None:
    recording = tmp_path / "dev" / "events.jsonl"
    process, url, banner = start_serve("--exit-after-events", "3", "--record", str(recording))
    try:
        send(url, 3)
        output = rest_of_output(process)
    finally:
        process.kill()

    assert process.returncode == 0, output
    assert any(f'endpoint_url="{url}"' in line for line in banner + output.splitlines())
    assert "received 3 events in 1 PutEvents calls (0 rejected)" in output
    assert output.rstrip().endswith("stopped: received 3 events in 1 PutEvents calls (0 rejected)")
    lines = [json.loads(line) for line in recording.read_text().splitlines()]
    assert [line["itemId"] for line in lines] == ["i-0", "i-1", "i-2"]
    assert {line["trackingId"] for line in lines} == {"dev-tracker"}
    # A recording exports as is.
    exported = run("export", str(recording))
    assert [r["ITEM_ID"] for r in csv_rows(exported.stdout)] == ["i-0", "i-1", "i-2"]
    assert {r["PAGE"] for r in csv_rows(exported.stdout)} == {"home"}


@pytest.mark.slow
def test_serve_counts_items_users_and_actions_too() -> None:
    process, url, _ = start_serve()
    try:
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        arn = "arn:aws:personalize:us-east-1:123456789012:dataset/dev/ITEMS"
        with Tracker("dev", session=session, endpoint_url=url, items_dataset_arn=arn,
                     users_dataset_arn=arn.replace("ITEMS", "USERS")) as tracker:  # fmt: skip
            for n in range(12):
                tracker.put_item(f"i-{n}", {"GENRES": ["a", "b"]})
            tracker.put_user("u-1")
        assert process.stdout is not None
        for line in process.stdout:  # within a second of the calls
            if "12 items, 1 user" in line:
                break
        process.send_signal(signal.SIGINT)
        output = rest_of_output(process)
    finally:
        process.kill()
    assert process.returncode == 0, output
    assert "stopped: received 0 events in 0 PutEvents calls (0 rejected); 12 items, 1 user" in (
        output
    )


@pytest.mark.slow
def test_serve_stops_cleanly_on_ctrl_c() -> None:
    process, url, _ = start_serve()
    try:
        send(url, 2)
        assert process.stdout is not None
        for line in process.stdout:  # the live count reaches 2 before we interrupt
            if "received 2 events" in line:
                break
        process.send_signal(signal.SIGINT)
        output = rest_of_output(process)
    finally:
        process.kill()

    assert process.returncode == 0, output
    assert "stopped: received 2 events in 1 PutEvents calls (0 rejected)" in output
    assert "Traceback" not in output


def test_serve_says_when_the_port_is_taken() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = run("serve", "--port", str(port), "--max-seconds", "1")

    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "--port 0" in result.output


def test_serve_in_process_stops_after_max_seconds() -> None:
    result = run("serve", "--port", "0", "--max-seconds", "0.2")

    assert result.exit_code == 0
    assert "endpoint_url  http://127.0.0.1:" in result.output
    assert "stopped: received 0 events in 0 PutEvents calls (0 rejected)" in result.output


def test_serve_strict_resources_flag() -> None:
    result = run("serve", "--port", "0", "--max-seconds", "0.2", "--strict-resources")

    assert result.exit_code == 0
    assert "resources     strict: create them first" in result.output
    assert "resources" not in run("serve", "--port", "0", "--max-seconds", "0.2").output


def test_help_lists_the_bulk_commands() -> None:
    text = run("--help").output
    for command in ("demo", "resend", "replay", "export", "serve"):
        assert command in text
    replay_help = run("replay", "--help").output
    for option in (
        "--tracking-id",
        "--endpoint-url",
        "--region",
        "--event-type",
        "--session-gap",
        "--limit",
        "--dead-letters",
        "--no-progress",
        "--json",
        "--format",
    ):
        assert option in replay_help
