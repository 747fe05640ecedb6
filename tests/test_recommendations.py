"""Recommendations: the runtime helpers, remembered lists (implicit impressions), shown()."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from personalize_tracker import InvalidEventError, Recommendations, Tracker, TrackingSession
from personalize_tracker import recommendations as recommendations_module
from personalize_tracker.recommendations import build_runtime_client
from personalize_tracker.testing import PersonalizeEventsMock

CAMPAIGN = "arn:aws:personalize:us-east-1:123456789012:campaign/shop"
RECOMMENDER = "arn:aws:personalize:us-east-1:123456789012:recommender/shop"


def boto_session() -> boto3.Session:
    return boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )


def local_tracker(**kwargs: Any) -> Tracker:
    options: dict[str, Any] = {"flush_interval": 3600, "max_backoff": 0.01}
    options.update(kwargs)
    return Tracker("tracking-1", session=boto_session(), **options)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def runtime_calls(fake: PersonalizeEventsMock, operation: str) -> list[Any]:
    return [r for r in fake.requests if r.operation == operation]


# -- the runtime helpers ----------------------------------------------------------------------


def test_get_recommendations_wraps_the_response(
    personalize_events: PersonalizeEventsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[dict[str, Any]] = []

    def counting(**options: Any) -> Any:
        built.append(options)
        return build_runtime_client(**options)

    monkeypatch.setattr(recommendations_module, "build_runtime_client", counting)
    with local_tracker() as tracker:
        assert built == []  # built lazily, at first use
        result = tracker.get_recommendations(
            campaign_arn=CAMPAIGN,
            user_id=7,
            num_results=5,
            context={"DEVICE_TYPE": "ios"},
            filter_values={"GENRE": '"drama"'},
        )
        assert len(built) == 1
        (call,) = runtime_calls(personalize_events, "GetRecommendations")
        assert call.params == {
            "campaignArn": CAMPAIGN,
            "userId": "7",
            "numResults": 5,
            "context": {"DEVICE_TYPE": "ios"},
            "filterValues": {"GENRE": '"drama"'},
        }
        answer = call.response
        assert result.item_ids == tuple(i["itemId"] for i in answer["itemList"])
        assert result.scores == tuple(i["score"] for i in answer["itemList"])
        assert result.recommendation_id == answer["recommendationId"]
        assert len(result) == 5
        assert result.shown_item_ids is None
        related = tracker.get_recommendations(recommender_arn=RECOMMENDER, item_id="item-3")
        assert "item-3" not in related.item_ids
        assert related.recommendation_id != result.recommendation_id


def test_get_personalized_ranking(personalize_events: PersonalizeEventsMock) -> None:
    inputs = ["item-1", "item-2", "item-3", "item-4"]
    with local_tracker() as tracker:
        ranked = tracker.get_personalized_ranking(
            campaign_arn=CAMPAIGN, input_list=inputs, user_id="u-1"
        )
    (call,) = runtime_calls(personalize_events, "GetPersonalizedRanking")
    assert call.params == {"campaignArn": CAMPAIGN, "inputList": inputs, "userId": "u-1"}
    assert sorted(ranked.item_ids) == inputs
    assert ranked.item_ids == tuple(i["itemId"] for i in call.response["personalizedRanking"])
    assert ranked.scores == tuple(sorted(ranked.scores, reverse=True))


def test_runtime_errors_propagate(personalize_events: PersonalizeEventsMock) -> None:
    personalize_events.inject_fault("not_found", operation="GetRecommendations")
    with local_tracker() as tracker:
        with pytest.raises(ClientError) as info:
            tracker.get_recommendations(campaign_arn=CAMPAIGN, user_id="u")
        assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
        with pytest.raises(ClientError, match="Exactly one of campaignArn"):
            tracker.get_recommendations(user_id="u")
        # The built client retries throttling (3 attempts): two throttles, then an answer.
        personalize_events.inject_fault("throttling", times=2, operation="GetRecommendations")
        assert tracker.get_recommendations(campaign_arn=CAMPAIGN, user_id="u").item_ids


def test_runtime_client_given_is_used_as_is(personalize_events: PersonalizeEventsMock) -> None:
    runtime = boto3.client(
        "personalize-runtime", region_name="eu-west-1", config=Config(retries={"max_attempts": 0})
    )
    with local_tracker(runtime_client=runtime) as tracker:
        assert tracker.runtime_client is runtime
        tracker.get_recommendations(campaign_arn=CAMPAIGN, user_id="u")
    assert runtime_calls(personalize_events, "GetRecommendations")[0].region == "eu-west-1"


def test_runtime_client_follows_the_events_client_region(
    personalize_events: PersonalizeEventsMock,
) -> None:
    events = boto3.client("personalize-events", region_name="ap-northeast-1")
    with Tracker("t", client=events, flush_interval=3600) as tracker:
        tracker.get_recommendations(campaign_arn=CAMPAIGN, user_id="u")
    assert runtime_calls(personalize_events, "GetRecommendations")[0].region == "ap-northeast-1"


def test_built_runtime_client_maps_the_events_host() -> None:
    client = build_runtime_client(
        session=boto_session(),
        region_name="us-east-1",
        endpoint_url="https://personalize-events.us-east-1.amazonaws.com",
    )
    assert client.meta.endpoint_url == "https://personalize-runtime.us-east-1.amazonaws.com"
    local = build_runtime_client(
        session=boto_session(), region_name=None, endpoint_url="http://127.0.0.1:5000"
    )
    assert local.meta.endpoint_url == "http://127.0.0.1:5000"


# -- remembered lists: recommendation -> click ------------------------------------------------


def test_click_on_a_recommended_item_carries_its_recommendation_id(
    personalize_events: PersonalizeEventsMock,
) -> None:
    with local_tracker() as tracker:
        visitor = tracker.session()
        recs = visitor.get_recommendations(campaign_arn=CAMPAIGN, num_results=10)
        ranked = visitor.get_personalized_ranking(
            campaign_arn=CAMPAIGN, input_list=["x-1", "x-2", recs.item_ids[0]]
        )
        visitor.identify("u-1")
        later = visitor.get_recommendations(campaign_arn=CAMPAIGN, num_results=10)
        outside = next(f"item-{n}" for n in range(1000) if f"item-{n}" not in recs.item_ids)
        visitor.track("click", recs.item_ids[3])
        visitor.track("click", "x-2")
        visitor.track("click", recs.item_ids[0])
        visitor.track("click", later.item_ids[0])
        visitor.track("click", recs.item_ids[1], recommendation_id="RID-explicit")
        visitor.track("click", recs.item_ids[2], impression=["a", "b"])
        visitor.track("view")
        clicked = visitor.track("click", 999_999)
        assert clicked.recommendation_id is None
        tracker.track("click", visitor.session_id, "u-1", recs.item_ids[4])
    calls = runtime_calls(personalize_events, "GetRecommendations")
    ranking_call = runtime_calls(personalize_events, "GetPersonalizedRanking")[0]
    # Anonymous: asked by session id; after login: by user id.
    assert calls[0].params["userId"] == visitor.session_id
    assert ranking_call.params["userId"] == visitor.session_id
    assert calls[1].params["userId"] == "u-1"
    received = [(e.item_id, e.recommendation_id, e.impression) for e in personalize_events.events]
    in_later = recs.item_ids[3] in later.item_ids
    assert received[0] == (
        recs.item_ids[3],
        later.recommendation_id if in_later else recs.recommendation_id,
        None,
    )
    assert received[1] == ("x-2", ranked.recommendation_id, None)
    # The most recent list holding the item wins.
    assert received[2][1] == (
        later.recommendation_id if recs.item_ids[0] in later.item_ids else ranked.recommendation_id
    )
    assert received[3] == (later.item_ids[0], later.recommendation_id, None)
    assert received[4] == (recs.item_ids[1], "RID-explicit", None)  # explicit id wins
    assert received[5] == (recs.item_ids[2], None, ("a", "b"))  # explicit impression wins
    assert received[6] == (None, None, None)
    assert received[7] == ("999999", None, None)
    assert received[8] == (recs.item_ids[4], None, None)  # Tracker.track remembers nothing
    assert outside not in recs.item_ids


def test_lists_expire_after_their_time_to_live(personalize_events: PersonalizeEventsMock) -> None:
    clock = Clock()
    with local_tracker() as tracker:
        visitor = TrackingSession(tracker, recommendation_ttl=60, clock=clock)
        recs = visitor.get_recommendations(campaign_arn=CAMPAIGN, num_results=3)
        clock.now += 59.9
        assert visitor.track("click", recs.item_ids[0]).recommendation_id == recs.recommendation_id
        clock.now += 0.1
        assert visitor.track("click", recs.item_ids[0]).recommendation_id is None


def test_memory_is_bounded_oldest_forgotten(personalize_events: PersonalizeEventsMock) -> None:
    personalize_events.set_catalog([f"p-{n}" for n in range(40)])
    with local_tracker() as tracker:
        visitor = tracker.session(max_recommendations=2)
        lists = [
            visitor.get_personalized_ranking(campaign_arn=CAMPAIGN, input_list=[f"p-{n}"])
            for n in range(3)
        ]
        assert visitor.track("click", "p-0").recommendation_id is None  # forgotten
        assert visitor.track("click", "p-1").recommendation_id == lists[1].recommendation_id
        assert visitor.track("click", "p-2").recommendation_id == lists[2].recommendation_id
        forgetful = tracker.session(max_recommendations=0)
        forgetful.get_recommendations(campaign_arn=CAMPAIGN, num_results=3)
        assert forgetful.track("click", "p-0").recommendation_id is None


# -- shown() and explicit impressions ---------------------------------------------------------


def test_shown_items_become_an_explicit_impression(
    personalize_events: PersonalizeEventsMock,
) -> None:
    with local_tracker() as tracker:
        visitor = tracker.session(user_id="u-1")
        recs = visitor.get_recommendations(campaign_arn=CAMPAIGN, num_results=10)
        in_stock = [recs.item_ids[5], recs.item_ids[1], recs.item_ids[5], recs.item_ids[2]]
        shown = recs.shown(in_stock)
        assert shown.shown_item_ids == (recs.item_ids[5], recs.item_ids[1], recs.item_ids[2])
        assert recs.shown_item_ids is None  # immutable: shown() returns a copy
        visitor.track("click", recs.item_ids[1])
        visitor.track("click", recs.item_ids[0])  # in the list, but not shown
    first, second = personalize_events.events
    assert first.recommendation_id is None
    assert first.impression == shown.shown_item_ids
    assert (second.recommendation_id, second.impression) == (None, None)


def test_shown_refuses_unknown_and_too_many_ids(personalize_events: PersonalizeEventsMock) -> None:
    with local_tracker() as tracker:
        recs = tracker.session().get_recommendations(campaign_arn=CAMPAIGN, num_results=40)
        with pytest.raises(InvalidEventError, match="shown: has an item id that is not in") as info:
            recs.shown(["not-recommended"])
        assert "not-recommended" not in str(info.value)
        with pytest.raises(InvalidEventError, match="shown: has 40 distinct item ids"):
            recs.shown(recs.item_ids)
        with pytest.raises(InvalidEventError, match="shown: is empty"):
            recs.shown([])
        assert tracker.stats().impressions_truncated == 0


def test_truncate_impressions_keeps_first_25_and_counts(
    personalize_events: PersonalizeEventsMock,
) -> None:
    ids = [f"i-{n}" for n in range(30)] + ["i-0"]
    with local_tracker() as strict:
        with pytest.raises(InvalidEventError, match="impression: has 30 distinct item ids"):
            strict.track("view", "s", impression=ids)
        assert strict.stats().impressions_truncated == 0
    with local_tracker(truncate_impressions=True) as tracker:
        event = tracker.track("view", "s-1", item_id="i-0", impression=ids)
        assert event.impression == tuple(ids[:25])
        tracker.track("view", "s-1", item_id="i-0", impression=ids[:25])  # not truncated
        with pytest.raises(InvalidEventError, match="event_type"):
            tracker.track("", "s-1", impression=ids)  # invalid: not tracked, not counted
        visitor = tracker.session()
        recs = visitor.get_recommendations(campaign_arn=CAMPAIGN, num_results=40)
        shown = recs.shown(recs.item_ids)
        assert shown.shown_item_ids == recs.item_ids[:25]
        visitor.track("click", recs.item_ids[0])
        assert tracker.stats().impressions_truncated == 2
        assert tracker.stats().tracked == 3
    impressions = sorted(e.impression or () for e in personalize_events.events)
    assert impressions == sorted([tuple(ids[:25]), tuple(ids[:25]), recs.item_ids[:25]])


def test_remember_binds_a_list_fetched_by_the_tracker(
    personalize_events: PersonalizeEventsMock,
) -> None:
    with local_tracker() as tracker:
        recs = tracker.get_recommendations(campaign_arn=CAMPAIGN, user_id="u-1", num_results=5)
        visitor = tracker.session(user_id="u-1")
        bound = visitor.remember(recs.shown(recs.item_ids[:2]))
        assert bound.shown_item_ids == recs.item_ids[:2]
        event = visitor.track("click", recs.item_ids[1])
        assert event.impression == recs.item_ids[:2]


def test_from_response_without_scores() -> None:
    result = Recommendations.from_response(
        {"itemList": [{"itemId": "a"}, {"itemId": "b", "score": 0.5}], "recommendationId": "R"}
    )
    assert (result.item_ids, result.scores, result.recommendation_id) == (
        ("a", "b"),
        (None, 0.5),
        "R",
    )


# -- over HTTP --------------------------------------------------------------------------------


def test_recommendation_to_click_over_http(
    personalize_events_server: PersonalizeEventsMock,
) -> None:
    endpoint = personalize_events_server.endpoint_url
    with local_tracker(endpoint_url=endpoint) as tracker:
        visitor = tracker.session(context={"DEVICE_TYPE": "web"})
        recs = visitor.get_recommendations(campaign_arn=CAMPAIGN, num_results=5)
        visitor.track("click", recs.item_ids[2])
        visitor.identify("u-9", event_type="identify")
        assert tracker.flush(timeout=30)
    assert tracker.runtime_client.meta.endpoint_url == endpoint
    # Different (user, session) groups: separate calls, in any order.
    by_type = {e.event_type: e for e in personalize_events_server.events}
    click, login = by_type["click"], by_type["identify"]
    assert (click.item_id, click.recommendation_id) == (recs.item_ids[2], recs.recommendation_id)
    assert click.properties == '{"deviceType":"web"}'
    assert (login.session_id, login.user_id) == (visitor.session_id, "u-9")
