"""Change detection: one event per real change, whoever observes it and however often."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from bot.notifications.changes import CHANGE, Before, ChangeDetector, ReferralChange
from bot.referrals.models import Referral

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def referral(
    status: str = "Active", substatus: str = "Accepted", *, at: datetime = T0, etag: str = "e1"
) -> Referral:
    return Referral.from_wire(
        {
            "id": "c5fbb3b6-be74-4795-9fb5-4324c73fed37",
            "name": "Contoso pilot",
            "status": status,
            "substatus": substatus,
            "updatedDateTime": at.isoformat(),
            "eTag": etag,
            "customerProfile": {"name": "Contoso"},
            "details": {"dealValue": 75000, "currency": "USD"},
            "team": [{"firstName": "Ada", "lastName": "Lovelace", "email": "Ada@Contoso.com"}],
        }
    )


@pytest.fixture
def stream(redis_namespace: str) -> str:
    return f"rb:jobs:{redis_namespace}"


@pytest.fixture
def detector(redis: Redis, stream: str) -> ChangeDetector:
    return ChangeDetector(redis, stream=stream)


async def events(redis: Redis, stream: str) -> list[ReferralChange]:
    entries = await redis.xrange(stream)
    assert all(fields[b"kind"] == CHANGE.encode() for _, fields in entries)
    return [ReferralChange.model_validate(json.loads(f[b"payload"])) for _, f in entries]


async def test_the_first_sighting_is_new_and_a_second_look_is_no_news(
    detector: ChangeDetector, redis: Redis, stream: str
) -> None:
    assert await detector.observe(referral(), source="bot")
    assert not await detector.observe(referral(), source="poll")

    (event,) = await events(redis, stream)
    assert event.event == "new"
    assert event.before is None
    assert event.name == "Contoso pilot"
    assert event.customer == "Contoso"
    assert event.value == 75000
    assert event.team == ("Ada Lovelace",)
    assert event.team_emails == ("ada@contoso.com",)


async def test_a_status_move_is_one_event_with_what_it_was_before(
    detector: ChangeDetector, redis: Redis, stream: str
) -> None:
    await detector.observe(referral(), source="poll")
    won = referral("Closed", "Won", at=T0 + timedelta(hours=1), etag="e2")

    assert await detector.observe(won, source="webhook")
    assert not await detector.observe(won, source="poll")

    (_, event) = await events(redis, stream)
    assert event.event == "won"
    assert event.before is not None
    assert (event.before.status, event.before.substatus) == ("Active", "Accepted")
    assert event.source == "webhook"


async def test_an_older_observation_changes_nothing(
    detector: ChangeDetector, redis: Redis, stream: str
) -> None:
    await detector.observe(referral(), source="poll")
    await detector.observe(referral("Closed", "Won", at=T0 + timedelta(hours=2)), source="poll")

    late = referral("Closed", "Lost", at=T0 + timedelta(hours=1))
    assert not await detector.observe(late, source="webhook")
    assert [event.event for event in await events(redis, stream)] == ["new", "won"]


async def test_an_edit_that_leaves_the_status_is_recorded_without_an_event(
    detector: ChangeDetector, redis: Redis, stream: str
) -> None:
    await detector.observe(referral(), source="poll")
    renamed = referral(at=T0 + timedelta(minutes=5), etag="e2")
    assert not await detector.observe(renamed, source="poll")
    # ...and the move after it is still seen as a move from Active.
    lost = referral("Closed", "Lost", at=T0 + timedelta(minutes=9), etag="e3")
    assert await detector.observe(lost, source="poll")
    assert [event.event for event in await events(redis, stream)] == ["new", "lost"]


async def test_a_baseline_records_without_an_event(
    detector: ChangeDetector, redis: Redis, stream: str
) -> None:
    assert not await detector.observe(referral(), source="poll", baseline=True)
    assert await events(redis, stream) == []
    won = referral("Closed", "Won", at=T0 + timedelta(hours=1))
    assert await detector.observe(won, source="poll")
    assert [event.event for event in await events(redis, stream)] == ["won"]


async def test_racing_observers_of_one_change_make_one_event(
    detector: ChangeDetector, redis: Redis, stream: str
) -> None:
    await detector.observe(referral(), source="poll")
    won = referral("Closed", "Won", at=T0 + timedelta(hours=1), etag="e2")

    added = await asyncio.gather(
        *(detector.observe(won, source="webhook") for _ in range(20)),
        *(detector.observe(won, source="poll") for _ in range(20)),
    )

    assert sum(added) == 1
    assert [event.event for event in await events(redis, stream)] == ["new", "won"]


@pytest.mark.parametrize(
    ("status", "substatus", "event"),
    [
        ("Active", "Accepted", "accepted"),
        ("Closed", "Won", "won"),
        ("Closed", "Lost", "lost"),
        ("Closed", "Declined", "declined"),
        ("Closed", "Expired", "expired"),
        ("Active", "Engaged", None),
        ("New", "Pending", None),
    ],
)
async def test_what_a_move_means_to_channels(
    status: str, substatus: str, event: str | None
) -> None:
    change = ReferralChange(
        referral_id="r",
        updated=T0,
        status=status,
        substatus=substatus,
        before=Before(status="New", substatus="Pending"),
    )
    assert change.event == event


async def test_a_referral_without_an_id_or_a_change_time_is_not_observed(
    detector: ChangeDetector, redis: Redis, stream: str
) -> None:
    bare = Referral.from_wire({"name": "x", "status": "Active"})
    assert not await detector.observe(bare, source="poll")
    assert await events(redis, stream) == []
