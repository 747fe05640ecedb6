"""The command line: ``__main__`` without the cli extra, ``--version``, and the demo end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from personalize_tracker import __version__
from personalize_tracker.__main__ import MISSING_EXTRA_MESSAGE, main
from personalize_tracker.cli import cli
from personalize_tracker.testing import serve_personalize_events


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def dummy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give the default credential chain dummy keys, whatever this machine's AWS setup."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def run_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = run("demo", "--json", "--no-progress", *args)
    return result.exit_code, json.loads(result.stdout)


# ------------------------------------------------------------------------------ entry point


@pytest.mark.parametrize("module", ["click", "tqdm"])
def test_main_without_the_cli_extra_says_what_to_install(
    module: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes ``import <module>`` fail

    with pytest.raises(SystemExit) as exited:
        main(["--version"])

    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == MISSING_EXTRA_MESSAGE
    assert "pip install '.[cli]'" in captured.err
    assert captured.out == ""


def test_main_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])

    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"personalize-tracker, version {__version__}"


def test_python_dash_m_runs_the_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "personalize_tracker", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert __version__ in done.stdout


def test_the_entry_point_and_the_package_import_no_command_line_nor_tool() -> None:
    # __main__ must print its message without click; the package must stay light for web apps.
    code = (
        "import sys, personalize_tracker, personalize_tracker.__main__;"
        "heavy = lambda: sorted(m for m in sys.modules if m in ('click', 'tqdm')"
        " or m.startswith(('personalize_tracker.cli', 'personalize_tracker._tools.demo',"
        " 'personalize_tracker._tools.bulk', 'personalize_tracker._tools.replay')));"
        "print(heavy());"
        "personalize_tracker.replay;"
        "print(heavy())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )

    before, after = done.stdout.splitlines()
    assert before == "[]"
    # replay() brings its own modules and the bulk readers, never the CLI, click or the demo.
    assert "click" not in after
    assert "personalize_tracker.cli" not in after
    assert "personalize_tracker._tools.demo" not in after
    assert "'personalize_tracker._tools.replay.loop'" in after


def test_help_lists_the_demo_and_its_options() -> None:
    assert "demo" in run("--help").output
    text = run("demo", "--help").output
    for option in ("--limit", "--endpoint-url", "--tracking-id", "--region", "--data"):
        assert option in text
    for option in ("--session-gap", "--no-progress", "--json"):
        assert option in text


# ------------------------------------------------------------------------------ the demo


def test_the_demo_delivers_2000_ratings_exactly_once_to_the_local_endpoint() -> None:
    code, summary = run_json("--limit", "2000")

    assert code == 0, summary["problems"]
    assert summary["result"] == "PASS"
    assert summary["local_endpoint"] is True
    assert summary["events_read"] == 2000
    # The first 2,000 rows hold 15 users' ratings, in 99 sessions of 30-minute gaps.
    assert (summary["users"], summary["sessions"], summary["calls_floor"]) == (15, 99, 260)
    assert summary["tracked"] == summary["delivered"] == 2000
    assert (summary["failed"], summary["dropped"], summary["pending"]) == (0, 0, 0)
    assert summary["failed_by_reason"] == {}
    assert summary["put_events_calls"] >= summary["calls_floor"]
    assert summary["events_per_call"] == pytest.approx(2000 / summary["put_events_calls"], 1e-3)
    assert summary["wall_seconds"] > 0
    assert summary["events_per_second"] > 0
    check = summary["endpoint_check"]
    assert check["result"] == "PASS"
    assert (check["expected"], check["received"]) == (2000, 2000)
    assert (check["missing"], check["duplicated"]) == (0, 0)
    assert (check["unexpected"], check["mismatched"]) == (0, 0)
    assert check["put_events_calls"] == summary["put_events_calls"]
    assert check["rejected_calls"] == 0
    # Before the ratings, the movies they rate went through PutItems, 10 a call.
    catalog = summary["catalog"]
    assert catalog["items_read"] == catalog["delivered"] == catalog["received"] == 1331
    assert catalog["put_items_calls"] == catalog["calls_floor"] == 134
    assert (catalog["failed"], catalog["dropped"], catalog["pending"]) == (0, 0, 0)


def test_the_catalogue_goes_through_put_items_before_the_ratings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dummy_credentials(monkeypatch)
    items = "arn:aws:personalize:us-east-1:123456789012:dataset/movielens/ITEMS"
    with serve_personalize_events() as endpoint:
        code, summary = run_json(
            "--limit", "5", "--endpoint-url", str(endpoint.endpoint_url), "--tracking-id", "t-1",
            "--items-dataset-arn", items,
        )  # fmt: skip
        operations = [request.operation for request in endpoint.requests]
        movies = {item.item_id: item for item in endpoint.items}
    assert code == 0, summary["problems"]
    assert operations.index("PutEvents") > max(
        i for i, operation in enumerate(operations) if operation == "PutItems"
    )
    assert summary["catalog"]["items_dataset_arn"] == items
    assert summary["catalog"]["received"] is None  # a given endpoint: not looked at
    # The first five ratings (user 1) rate movies 31, 1029, 1061, 1129 and 1172.
    assert sorted(movies) == ["1029", "1061", "1129", "1172", "31"]
    assert movies["31"].properties == '{"title":"Dangerous Minds (1995)","genres":"Drama"}'
    assert movies["1029"].properties == (
        '{"title":"Dumbo (1941)","genres":"Animation|Children|Drama|Musical"}'
    )
    assert {item.dataset_arn for item in movies.values()} == {items}


def test_a_given_endpoint_without_an_items_dataset_gets_no_catalogue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dummy_credentials(monkeypatch)
    with serve_personalize_events() as endpoint:
        result = run(
            "demo", "--limit", "5", "--no-progress", "--tracking-id", "t-1",
            "--endpoint-url", str(endpoint.endpoint_url),
        )  # fmt: skip
        assert endpoint.items == []
    assert result.exit_code == 0, result.output
    assert "catalogue        not sent" in result.stdout
    assert result.stdout.splitlines()[-1] == "PASS: all 5 events delivered exactly once"


def test_the_text_summary_says_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the default data path falls back to the repository's copy

    result = run("demo", "--limit", "50", "--no-progress", "--session-gap", "10")

    assert result.exit_code == 0, result.output
    assert "Local PutEvents endpoint at http://127.0.0.1:" in result.stderr
    lines = result.stdout.splitlines()
    # The first 50 ratings rate 50 distinct movies: the catalogue sent first holds those.
    assert lines[-1] == "PASS: all 50 items and 50 events delivered exactly once"
    assert any(line.split()[:2] == ["delivered", "50"] for line in lines)
    assert any("endpoint check" in line and "PASS" in line for line in lines)


def test_a_missing_data_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run("demo", "--data", str(tmp_path / "absent.csv"), "--no-progress")

    assert result.exit_code == 2
    assert "ratings file not found" in result.stderr
    assert "absent.csv" in result.stderr


def test_without_the_data_the_demo_says_where_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from personalize_tracker._tools.demo import movielens

    # As from a wheel: no data in the current directory, none beside the installed package.
    monkeypatch.setattr(movielens, "__file__", str(tmp_path / "a/b/c/d/e/movielens.py"))
    monkeypatch.chdir(tmp_path)
    result = run("demo", "--no-progress")

    assert result.exit_code == 2
    assert "--data PATH" in result.stderr
    assert "ml-latest-small" in result.stderr
    assert "grouplens.org/datasets/movielens" in result.stderr
    assert "installed from" not in run("demo", "--help").stdout


def test_a_malformed_data_file_fails_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("userId,movieId,rating,timestamp\n1,2,3,4\n1,2,x,4\n", encoding="utf-8")

    result = run("demo", "--data", str(bad), "--no-progress")

    assert result.exit_code == 1
    assert f"{bad}:3: rating 'x'" in result.stderr


def test_endpoint_url_needs_a_tracking_id() -> None:
    result = run("demo", "--endpoint-url", "http://127.0.0.1:9", "--no-progress")

    assert result.exit_code == 2
    assert "--tracking-id is required with --endpoint-url" in result.stderr


def test_a_given_endpoint_skips_the_check_and_a_failure_exits_1(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dummy_credentials(monkeypatch)
    with serve_personalize_events() as endpoint:
        endpoint.reject_events(lambda event: event.item_id == "1029", message="bad item")

        code, summary = run_json(
            "--limit", "30", "--endpoint-url", str(endpoint.endpoint_url), "--tracking-id", "t-1"
        )

        received = endpoint.events
    assert code == 1
    assert summary["result"] == "FAIL"
    assert summary["local_endpoint"] is False
    assert summary["endpoint_check"] is None
    assert (summary["tracked"], summary["delivered"], summary["failed"]) == (30, 29, 1)
    assert summary["failed_by_reason"] == {"invalid": 1}
    assert summary["failures"][0]["error_code"] == "InvalidInputException"
    assert "1 event(s) failed" in summary["problems"]
    assert len(received) == 29
    assert {event.tracking_id for event in received} == {"t-1"}


def test_the_text_summary_says_fail_and_why(monkeypatch: pytest.MonkeyPatch) -> None:
    dummy_credentials(monkeypatch)
    with serve_personalize_events() as endpoint:
        endpoint.reject_events(lambda event: event.item_id == "31")
        result = run(
            "demo", "--limit", "5", "--no-progress", "--tracking-id", "t-1",
            "--endpoint-url", str(endpoint.endpoint_url),
        )  # fmt: skip

    assert result.exit_code == 1
    assert "endpoint check   skipped" in result.stdout
    assert "failure: event" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("FAIL: 1 event(s) failed")


def test_the_demo_without_moto_says_to_install_the_testing_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "personalize_tracker.testing", None)

    result = run("demo", "--limit", "5", "--no-progress")

    assert result.exit_code == 1
    assert "needs the 'testing' extra" in result.stderr
    assert "pip install '.[testing]'" in result.stderr
