"""Strict resources and the control-plane calls the local endpoint adds to moto's personalize."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from personalize_tracker import Tracker
from personalize_tracker.testing import (
    FakeResources,
    PersonalizeEventsMock,
    mock_personalize_events,
    serve_personalize_events,
)
from personalize_tracker.testing._protocol import ServiceError

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})
EVENT = {"eventType": "click", "sentAt": 1714564800, "itemId": "i1"}
RECIPE = "arn:aws:personalize:::recipe/aws-user-personalization"
USE_CASE = "arn:aws:personalize:::recipe/aws-ecomm-recommended-for-you"


class Endpoint:
    def __init__(self, handle: PersonalizeEventsMock) -> None:
        self.handle = handle

    def client(self, service: str) -> Any:
        extra: dict[str, Any] = {}
        if self.handle.endpoint_url is not None:
            extra = {
                "endpoint_url": self.handle.endpoint_url,
                "aws_access_key_id": "testing",
                "aws_secret_access_key": "testing",
            }
        return boto3.client(service, region_name="eu-west-1", config=NO_RETRY, **extra)  # type: ignore[call-overload]


@pytest.fixture(params=["in_process", "server"])
def strict(request: pytest.FixtureRequest) -> Iterator[Endpoint]:
    context = mock_personalize_events if request.param == "in_process" else serve_personalize_events
    with context(strict_resources=True) as handle:
        yield Endpoint(handle)


def error_of(call: Any, **params: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as excinfo:
        call(**params)
    response = excinfo.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def test_strict_mode_needs_a_tracker_created_through_the_control_plane(strict: Endpoint) -> None:
    events = strict.client("personalize-events")
    code, status, message = error_of(
        events.put_events, trackingId="nope", sessionId="s", eventList=[EVENT]
    )
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert "tracking ID nope" in message

    control = strict.client("personalize")
    group = control.create_dataset_group(name="shop", domain="ECOMMERCE")["datasetGroupArn"]
    assert group == "arn:aws:personalize:eu-west-1:123456789012:dataset-group/shop"
    created = control.create_event_tracker(name="web", datasetGroupArn=group)
    events.put_events(trackingId=created["trackingId"], sessionId="s", eventList=[EVENT])
    assert [e.tracking_id for e in strict.handle.events] == [created["trackingId"]]

    strict.handle.resources.set_status(created["eventTrackerArn"], "CREATE PENDING")
    assert (
        control.describe_event_tracker(eventTrackerArn=created["eventTrackerArn"])["eventTracker"][
            "status"
        ]
        == "CREATE PENDING"
    )
    assert error_of(
        events.put_events, trackingId=created["trackingId"], sessionId="s", eventList=[EVENT]
    )[:2] == ("ResourceNotFoundException", 404)


def test_strict_mode_checks_datasets_campaigns_and_recommenders(strict: Endpoint) -> None:
    resources = strict.handle.resources
    group = resources.create_dataset_group("shop", region="eu-west-1", domain="ECOMMERCE")
    items = resources.create_dataset(group, "Items")
    campaign = resources.create_campaign(
        "arn:aws:personalize:eu-west-1:123456789012:solution/s/v1", name="c"
    )
    recommender = resources.create_recommender(group, name="r", recipe_arn=USE_CASE)
    events = strict.client("personalize-events")
    runtime = strict.client("personalize-runtime")

    events.put_items(datasetArn=items, items=[{"itemId": "i"}])
    runtime.get_recommendations(campaignArn=campaign, userId="u", numResults=1)
    runtime.get_recommendations(recommenderArn=recommender, userId="u", numResults=1)
    runtime.get_personalized_ranking(campaignArn=campaign, userId="u", inputList=["a"])
    for call, params in [
        (
            events.put_users,
            {
                "datasetArn": group.replace("dataset-group", "dataset") + "/USERS",
                "users": [{"userId": "u"}],
            },
        ),
        (runtime.get_recommendations, {"campaignArn": campaign + "x", "userId": "u"}),
        (runtime.get_recommendations, {"recommenderArn": campaign, "userId": "u"}),
        (
            runtime.get_personalized_ranking,
            {"campaignArn": recommender, "userId": "u", "inputList": ["a"]},
        ),
    ]:
        assert error_of(call, **params)[:2] == ("ResourceNotFoundException", 404)


def test_default_is_lenient_and_strictness_can_change(
    personalize_events: PersonalizeEventsMock,
) -> None:
    events = boto3.client("personalize-events", region_name="us-east-1", config=NO_RETRY)
    events.put_events(trackingId="anything", sessionId="s", eventList=[EVENT])
    personalize_events.strict_resources = True
    assert error_of(events.put_events, trackingId="anything", sessionId="s", eventList=[EVENT])[
        :2
    ] == ("ResourceNotFoundException", 404)
    personalize_events.strict_resources = False
    events.put_events(trackingId="anything", sessionId="s", eventList=[EVENT])
    assert len(personalize_events.events) == 2


def test_what_the_readiness_check_reads(strict: Endpoint) -> None:
    """DescribeDatasetGroup (domain), ListSolutions/DescribeSolution and ListRecommenders
    (recipeArn), for one dataset group: what issue 15 needs."""
    control = strict.client("personalize")
    group = control.create_dataset_group(name="g", domain="VIDEO_ON_DEMAND")["datasetGroupArn"]
    other = control.create_dataset_group(name="other")["datasetGroupArn"]
    solution = control.create_solution(name="sol", datasetGroupArn=group, recipeArn=RECIPE)
    control.create_solution(name="elsewhere", datasetGroupArn=other, recipeArn=RECIPE)
    control.create_recommender(name="rec", datasetGroupArn=group, recipeArn=USE_CASE)

    described = control.describe_dataset_group(datasetGroupArn=group)["datasetGroup"]
    assert (described["domain"], described["status"]) == ("VIDEO_ON_DEMAND", "ACTIVE")
    assert "domain" not in control.describe_dataset_group(datasetGroupArn=other)["datasetGroup"]
    listed = control.list_solutions(datasetGroupArn=group)["solutions"]
    assert [(s["name"], s["recipeArn"]) for s in listed] == [("sol", RECIPE)]
    assert len(control.list_solutions()["solutions"]) == 2
    assert (
        control.describe_solution(solutionArn=solution["solutionArn"])["solution"]["recipeArn"]
        == RECIPE
    )
    recommenders = control.list_recommenders(datasetGroupArn=group)["recommenders"]
    assert [(r["name"], r["recipeArn"]) for r in recommenders] == [("rec", USE_CASE)]
    assert control.list_recommenders(datasetGroupArn=other)["recommenders"] == []
    with pytest.raises(ClientError) as excinfo:
        control.describe_dataset_group(datasetGroupArn=group + "-missing")
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_control_plane_answers_hold_only_members_of_the_model(strict: Endpoint) -> None:
    control = strict.client("personalize")
    model = botocore.session.get_session().get_service_model("personalize")
    group = control.create_dataset_group(name="g", domain="ECOMMERCE")["datasetGroupArn"]
    schema = control.create_schema(name="s", schema='{"type": "record", "name": "x", "fields": []}')
    answers = {
        "CreateDataset": control.create_dataset(
            name="d", schemaArn=schema["schemaArn"], datasetGroupArn=group, datasetType="Items"
        ),
        "CreateEventTracker": control.create_event_tracker(name="t", datasetGroupArn=group),
        "CreateSolution": control.create_solution(name="s", datasetGroupArn=group),
        "CreateCampaign": control.create_campaign(name="c", solutionVersionArn=group + "/v"),
        "CreateRecommender": control.create_recommender(
            name="r", datasetGroupArn=group, recipeArn=USE_CASE
        ),
        "ListDatasetGroups": control.list_dataset_groups(),
    }
    answers["DescribeDataset"] = control.describe_dataset(
        datasetArn=answers["CreateDataset"]["datasetArn"]
    )
    answers["DescribeCampaign"] = control.describe_campaign(
        campaignArn=answers["CreateCampaign"]["campaignArn"]
    )
    answers["DescribeRecommender"] = control.describe_recommender(
        recommenderArn=answers["CreateRecommender"]["recommenderArn"]
    )
    for operation, answer in answers.items():
        output = model.operation_model(operation).output_shape
        members = set(answer) - {"ResponseMetadata"}
        assert members, operation
        assert members <= set(output.members), operation
        for name in members:
            inner = output.members[name]
            values = answer[name] if inner.type_name == "list" else [answer[name]]
            shape = inner.member if inner.type_name == "list" else inner
            if shape.type_name == "structure":
                for value in values:
                    assert set(value) <= set(shape.members), (operation, name)


def test_control_plane_refusals(strict: Endpoint) -> None:
    control = strict.client("personalize")
    with pytest.raises(ClientError) as excinfo:
        control.create_event_tracker(
            name="t", datasetGroupArn="arn:aws:personalize:eu-west-1:123456789012:dataset-group/no"
        )
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"
    control.create_dataset_group(name="g")
    with pytest.raises(ClientError) as excinfo:
        control.create_dataset_group(name="g")
    assert excinfo.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    unchecked = boto3.client(
        "personalize",
        region_name="eu-west-1",
        config=Config(parameter_validation=False, retries={"total_max_attempts": 1}),
        **(
            {}
            if strict.handle.endpoint_url is None
            else {
                "endpoint_url": strict.handle.endpoint_url,
                "aws_access_key_id": "testing",
                "aws_secret_access_key": "testing",
            }
        ),
    )
    with pytest.raises(ClientError) as excinfo:
        unchecked.create_dataset_group(name="")
    assert excinfo.value.response["Error"]["Code"] == "InvalidInputException"


def test_fake_resources_on_their_own() -> None:
    resources = FakeResources(account_id="111122223333")
    group = resources.create_dataset_group("g", region="ap-south-1")
    assert group == "arn:aws:personalize:ap-south-1:111122223333:dataset-group/g"
    dataset = resources.create_dataset(group, "Interactions")
    assert dataset.endswith(":dataset/g/INTERACTIONS")
    tracker = resources.create_event_tracker(group)
    assert resources.active_tracking_id(resources.tracking_id_of(tracker))
    with pytest.raises(ServiceError) as excinfo:
        resources.create_dataset(group + "x", "Items")
    assert (excinfo.value.status, excinfo.value.code) == (404, "ResourceNotFoundException")
    with pytest.raises(KeyError):
        resources.set_status("arn:nope", "ACTIVE")
    resources.clear()
    assert resources.listed("dataset_group") == []


def test_a_tracker_against_a_strict_endpoint() -> None:
    with mock_personalize_events(strict_resources=True) as endpoint:
        group = endpoint.resources.create_dataset_group("g")
        tracking_id = endpoint.resources.tracking_id_of(
            endpoint.resources.create_event_tracker(group)
        )
        failures: list[Any] = []
        with Tracker("unknown", region_name="us-east-1", on_failure=failures.extend) as bad:
            bad.track("click", "s", "u", "i")
        with Tracker(tracking_id, region_name="us-east-1") as good:
            good.track("click", "s", "u", "i")
        assert [f.error_code for f in failures] == ["ResourceNotFoundException"]
        assert [e.tracking_id for e in endpoint.events] == [tracking_id]
