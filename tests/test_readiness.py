"""Targets, readiness verdicts and reports (``readiness.py``), and a Tracker with a target end
to end: on fakes, on MovieLens ratings and on the Open Bandit example."""

from __future__ import annotations

import csv
import importlib.util
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from personalize_tracker import InvalidEventError, Readiness, Target, Tracker
from personalize_tracker._outcomes.tally import TallySnapshot
from personalize_tracker.testing import mock_personalize_events, serve_personalize_events

from conftest import FakeClient

ROOT = Path(__file__).resolve().parents[1]
RATINGS = ROOT / "datasets" / "movielens-latest-small" / "ratings.csv"
GROUP = "arn:aws:personalize:us-east-1:123456789012:dataset-group/shop"


def counts(**values: Any) -> TallySnapshot:
    return TallySnapshot(**values)


# -- targets -----------------------------------------------------------------------------------


def test_a_domain_target_takes_use_cases_by_recipe_name_or_arn() -> None:
    target = Target.domain(
        "ECOMMERCE",
        use_cases=[
            "aws-ecomm-popular-items-by-views",
            "arn:aws:personalize:::recipe/aws-ecomm-recommended-for-you",
        ],
    )
    assert target.use_cases == ("aws-ecomm-popular-items-by-views", "aws-ecomm-recommended-for-you")
    assert target.required_event_types == {"View": "ECOMMERCE"}
    assert target.uses_context  # Recommended for you does
    assert len(Target.domain("VIDEO_ON_DEMAND").use_cases) == 5  # default: all of them


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Target.domain("RETAIL"), "not one of"),
        (lambda: Target.domain("ECOMMERCE", ["aws-vod-top-picks"]), "not a ECOMMERCE use case"),
        (lambda: Target.domain("ECOMMERCE", ["aws-ecomm-most-viewed"]), "aws-ecomm-popular"),
        (lambda: Target.domain("ECOMMERCE", []), "empty"),
        (lambda: Target.recipe(), "at least one"),
        (lambda: Target.recipe("user-personalization"), "not a recipe name"),
        (lambda: Target.recipe("aws-vod-top-picks"), "use Target.domain"),
    ],
)
def test_bad_targets_are_refused_with_what_is_wrong(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_custom_recipes_use_context_and_impressions_as_documented() -> None:
    v2 = Target.recipe("aws-user-personalization-v2")
    assert v2.uses_context
    assert not v2.uses_impressions
    assert Target.recipe("aws-user-personalization").uses_impressions
    assert not Target.recipe("aws-similar-items").uses_context
    assert Target.domain("VIDEO_ON_DEMAND", ["aws-vod-most-popular"]).uses_impressions


def test_from_dataset_group_reads_the_domain_and_the_recipes_of_recommenders_and_solutions() -> (
    None
):
    client = boto3.client(
        "personalize",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stub:
        stub.add_response(
            "describe_dataset_group",
            {"datasetGroup": {"datasetGroupArn": GROUP, "domain": "ECOMMERCE"}},
            {"datasetGroupArn": GROUP},
        )
        recipe = "arn:aws:personalize:::recipe/"
        stub.add_response(
            "list_recommenders",
            {"recommenders": [{"recipeArn": recipe + "aws-ecomm-popular-items-by-purchases"}]},
            {"datasetGroupArn": GROUP},
        )
        stub.add_response(
            "list_solutions",
            {"solutions": [{"recipeArn": recipe + "aws-user-personalization-v2"}]},
            {"datasetGroupArn": GROUP},
        )
        target = Target.from_dataset_group(GROUP, client=client)
        stub.assert_no_pending_responses()
    assert target == Target(
        "ECOMMERCE", ("aws-ecomm-popular-items-by-purchases",), ("aws-user-personalization-v2",)
    )


@pytest.mark.parametrize("served", [False, True], ids=["in_process", "server"])
def test_from_dataset_group_through_the_local_endpoint(served: bool) -> None:
    context = serve_personalize_events if served else mock_personalize_events
    with context() as endpoint:
        extra: dict[str, Any] = {"region_name": "eu-west-1"}
        if endpoint.endpoint_url is not None:
            extra.update(endpoint_url=endpoint.endpoint_url, aws_access_key_id="testing",
                         aws_secret_access_key="testing")  # fmt: skip
        control = boto3.client("personalize", **extra)
        group = control.create_dataset_group(name="films", domain="VIDEO_ON_DEMAND")
        arn = group["datasetGroupArn"]
        recipe = "arn:aws:personalize:::recipe/"
        for name, use_case in (("top", "aws-vod-top-picks"), ("popular", "aws-vod-most-popular")):
            control.create_recommender(name=name, datasetGroupArn=arn, recipeArn=recipe + use_case)
        control.create_solution(
            name="custom", datasetGroupArn=arn, recipeArn=recipe + "aws-user-personalization-v2"
        )
        target = Target.from_dataset_group(arn, client=control)
    assert target.domain_name == "VIDEO_ON_DEMAND"
    assert sorted(target.use_cases) == ["aws-vod-most-popular", "aws-vod-top-picks"]
    assert target.recipes == ("aws-user-personalization-v2",)


def test_from_dataset_group_with_nothing_to_train_says_so() -> None:
    client = boto3.client("personalize", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response("describe_dataset_group", {"datasetGroup": {"datasetGroupArn": GROUP}})
        stub.add_response("list_recommenders", {"recommenders": []})
        stub.add_response("list_solutions", {"solutions": []})
        with pytest.raises(ValueError, match="no recommender and no solution"):
            Target.from_dataset_group(GROUP, client=client)


# -- verdicts and reports ----------------------------------------------------------------------


def test_the_verdict_says_how_many_more_events_of_which_type() -> None:
    target = Target.domain("ECOMMERCE", ["aws-ecomm-popular-items-by-purchases"])
    report = target.evaluate(
        counts(interactions=2000, users=100, users_with_two=40, event_types={"Purchase": 688})
    )
    (verdict,) = report.verdicts
    assert not verdict.ready
    assert not report.ready
    assert verdict.missing == ("312 more `Purchase` events",)


def test_every_model_needs_1000_interactions_and_25_users_with_two_and_1_percent() -> None:
    report = Target.recipe("aws-user-personalization-v2").evaluate(
        counts(interactions=999, users=5000, users_with_two=24)
    )
    assert report.verdicts[0].missing == (
        "1 more interactions",
        "1 more users with two or more interactions",
        "0.5% of users have two or more interactions; 1% must",
    )
    ready = Target.recipe("aws-sims").evaluate(
        counts(interactions=1000, users=2500, users_with_two=25)
    )
    assert ready.ready
    assert ready.verdicts[0].missing == ()


def test_a_report_renders_as_text_html_and_json() -> None:
    report = Target.domain("VIDEO_ON_DEMAND", ["aws-vod-most-popular"]).evaluate(
        counts(interactions=10, users=3, users_with_two=2, event_types={"Watch": 10}, items=4),
        {"duplicate_event": 2, "impression": 0},
    )
    text = str(report)
    assert "not ready" in text
    assert "990 more `Watch` events" in text
    assert text.endswith("warnings: duplicate_event 2")  # kinds never found are left out
    html = report._repr_html_()
    assert "<table" in html
    assert "990 more `Watch` events" in html
    data = json.loads(report.to_json())
    assert data["ready"] is False
    assert data["users_with_two"] == 2
    assert data["verdicts"][0]["missing"][0] == "990 more `Watch` events"


# -- a Tracker with a target -------------------------------------------------------------------


def test_without_a_target_nothing_is_checked_and_readiness_asks_for_one(
    fake_client: FakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    with Tracker("t", client=fake_client, sync=True) as tracker, caplog.at_level(logging.WARNING):
        tracker.track("view", "s1", "u1", "i1", properties={"a": 1}, impression=["x"])
        assert tracker.target is None
        with pytest.raises(ValueError, match="needs a target"):
            tracker.readiness()
    assert caplog.records == []


def test_track_warns_once_per_cause_and_readiness_counts_what_was_delivered(
    fake_client: FakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    target = Target.domain("ECOMMERCE", ["aws-ecomm-popular-items-by-views"])
    with Tracker("t", client=fake_client, sync=True, target=target) as tracker:
        with caplog.at_level(logging.WARNING, logger="personalize_tracker"):
            for user in range(30):
                for item in range(2):
                    kind = "view" if item else "View"
                    tracker.track(kind, f"s{user}", f"u{user}", f"i{item}", properties={"a": 1})
        assert tracker.flush(timeout=10)
        report = tracker.readiness()
    assert tracker.target is target
    assert len(caplog.records) == 2  # contextual metadata; 'view' for 'View'
    assert report.warnings["event_type_spelling"] == 30
    assert report.warnings["contextual_metadata"] == 60
    assert (report.counts.interactions, report.counts.users_with_two) == (60, 30)
    assert report.verdicts[0].missing == (
        "970 more `View` events (not counted, spelled otherwise: 30 `view`)",
        "940 more interactions",
    )


def test_strict_raises_at_the_call_and_queues_nothing(fake_client: FakeClient) -> None:
    target = Target.domain("VIDEO_ON_DEMAND", ["aws-vod-most-popular"])
    with Tracker("t", client=fake_client, sync=True, target=target, strict=True) as tracker:
        with pytest.raises(InvalidEventError, match="'watch' is not 'Watch'"):
            tracker.track("watch", "s1", "u1", "i1")
        visitor = tracker.session("u2")
        with pytest.raises(InvalidEventError, match="contextual metadata"):
            visitor.track("Watch", item_id="i1", properties={"device": "tv"})
        tracker.track("Watch", "s1", "u1", "i1")
        assert tracker.stats().tracked == 1


def test_a_target_that_is_not_one_is_refused(fake_client: FakeClient) -> None:
    with pytest.raises(ValueError, match="target must be a Target"):
        Tracker("t", client=fake_client, target="ECOMMERCE")  # type: ignore[arg-type]


def test_movielens_ratings_are_ready_for_custom_user_personalization_not_for_watch_use_cases(
    fake_client: FakeClient,
) -> None:
    with RATINGS.open(newline="") as file:
        rows = list(csv.DictReader(file))[:20_000]
    target = Target(
        "VIDEO_ON_DEMAND",
        ("aws-vod-because-you-watched-x", "aws-vod-top-picks"),
        ("aws-user-personalization-v2",),
    )
    with Tracker(
        "t", client=fake_client, target=target, flush_interval=3600, max_queue_size=30_000
    ) as tracker:
        for row in rows:
            tracker.track(
                "rating", f"s{row['userId']}", row["userId"], row["movieId"],
                event_value=float(row["rating"]), sent_at=int(row["timestamp"]),
            )  # fmt: skip
        assert tracker.flush(timeout=120)
        report = tracker.readiness()
    assert report.counts.interactions == 20_000
    verdicts = {v.recipe: v for v in report.verdicts}
    assert verdicts["aws-vod-because-you-watched-x"].missing == ("1000 more `Watch` events",)
    assert verdicts["aws-vod-top-picks"].ready
    assert verdicts["aws-user-personalization-v2"].ready
    assert not report.ready


def test_open_bandit_clicks_and_views_against_an_ecommerce_target(
    fake_client: FakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    spec = importlib.util.spec_from_file_location(
        "open_bandit_replay_r", ROOT / "examples" / "open_bandit" / "replay.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    rows = module.load_rows(limit=1200)
    target = Target.domain("ECOMMERCE", ["aws-ecomm-customers-who-viewed-x-also-viewed"])
    with Tracker(
        "obd", client=fake_client, schema=module.load_schema(), target=target,
        flush_interval=3600, max_queue_size=1200,
    ) as tracker, caplog.at_level(logging.WARNING, logger="personalize_tracker"):  # fmt: skip
        module.replay(tracker, rows)
        assert tracker.flush(timeout=60)
        report: Readiness = tracker.readiness()
    assert report.warnings["event_type_spelling"] == 1196  # 'view', not 'View'
    assert report.warnings["contextual_metadata"] == 1200  # this use case ignores it
    assert report.counts.users == 0  # anonymous impressions: no user ids
    assert report.verdicts[0].missing[0] == (
        "1000 more `View` events (not counted, spelled otherwise: 1196 `view`)"
    )
    assert "'view' is not 'View'" in caplog.text


def test_the_package_imports_the_readiness_rules_on_first_use() -> None:
    # A Tracker without a target never needs them (issue 18: import time).
    code = (
        "import sys, personalize_tracker;"
        "print(sorted(m for m in ('personalize_tracker.readiness', 'personalize_tracker._rules')"
        " if m in sys.modules));"
        "print(personalize_tracker.Target.__module__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split("\n")[:2] == ["[]", "personalize_tracker.readiness"]
