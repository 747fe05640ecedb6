"""The tally of delivered events behind ``Tracker.readiness()`` (``_outcomes/tally.py``)."""

from __future__ import annotations

import attrs

from personalize_tracker._outcomes.tally import DeliveredTally


@attrs.frozen
class Delivered:
    """A delivered record as the tally reads it."""

    event_type: str = "View"
    user_id: str | None = "u1"
    item_id: str | None = "i1"
    impression: tuple[str, ...] | None = None
    recommendation_id: str | None = None


def test_counts_interactions_users_with_two_types_impressions_and_items() -> None:
    tally = DeliveredTally()
    tally.add([
        Delivered(user_id="u1"), Delivered(user_id="u1", item_id="i2"),
        Delivered(user_id="u1", event_type="Purchase"),  # a third: still one user with two
        Delivered(user_id="u2", impression=("a",)),
        Delivered(user_id=None, recommendation_id="r1"),  # anonymous: not a user
        Delivered(item_id=None),  # not an item interaction
    ])  # fmt: skip
    snap = tally.snapshot()
    assert (snap.interactions, snap.users, snap.users_with_two) == (5, 2, 1)
    assert snap.event_types == {"View": 4, "Purchase": 1}
    assert (snap.impressions, snap.items, snap.capped) == (2, 2, False)


def test_memory_is_capped_and_the_snapshot_says_its_counts_are_lower_bounds() -> None:
    tally = DeliveredTally(max_users=2, max_items=2, max_event_types=1)
    tally.add([Delivered(user_id=f"u{n}", item_id=f"i{n}", event_type=f"t{n}") for n in range(5)])
    snap = tally.snapshot()
    assert (snap.users, snap.items, snap.capped) == (2, 2, True)
    assert snap.interactions == 5
    assert snap.event_types == {"t0": 1, None: 4}


def test_a_snapshot_does_not_change_afterwards() -> None:
    tally = DeliveredTally()
    tally.add([Delivered()])
    snap = tally.snapshot()
    tally.add([Delivered(event_type="Watch")])
    assert snap.event_types == {"View": 1}
    assert snap.interactions == 1
