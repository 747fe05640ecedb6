"""The demo's summary ends with the readiness of the MovieLens replay against every
VIDEO_ON_DEMAND use case and a custom User-Personalization-v2 solution."""

from __future__ import annotations

import json

from click.testing import CliRunner

from personalize_tracker.cli import cli


def test_the_demo_reports_what_the_ratings_are_enough_for() -> None:
    result = CliRunner().invoke(
        cli, ["demo", "--json", "--no-progress", "--limit", "2000"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    readiness = json.loads(result.stdout)["readiness"]
    assert readiness["interactions"] == 2000
    assert readiness["users_with_two"] == 15  # the first 2,000 rows hold 15 users
    verdicts = {v["recipe"]: v["missing"] for v in readiness["verdicts"]}
    assert set(verdicts) == {
        "aws-vod-because-you-watched-x", "aws-vod-more-like-x", "aws-vod-most-popular",
        "aws-vod-trending-now", "aws-vod-top-picks", "aws-user-personalization-v2",
    }  # fmt: skip
    assert verdicts["aws-vod-most-popular"] == [
        "1000 more `Watch` events",  # ratings are not Watch events
        "10 more users with two or more interactions",
    ]
    assert verdicts["aws-user-personalization-v2"] == [
        "10 more users with two or more interactions"
    ]
    assert sum(readiness["warnings"].values()) == 0


def test_the_text_summary_shows_the_verdicts() -> None:
    result = CliRunner().invoke(
        cli, ["demo", "--no-progress", "--limit", "50"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "Readiness for VIDEO_ON_DEMAND" in result.stdout
    assert "aws-user-personalization-v2 (custom recipe): not ready" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("PASS")
