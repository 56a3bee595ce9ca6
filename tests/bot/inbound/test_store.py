"""Incoming referrals in Redis: filed once, one answer when several race, every step audited,
each reminder threshold claimed once, each card place claimed once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from bot.inbound.store import InboundStatus, InboundStore, Posted, UnknownInbound
from bot.referrals.models import Referral

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(days=14)
LITWARE = Referral.from_wire(
    {
        "id": "0b6e1f9a-1111-4c2d-9e3f-5a7c9e1b3d99",
        "name": "Litware - Microsoft 365 rollout",
        "status": "New",
        "substatus": "Pending",
        "direction": "Incoming",
        "customerProfile": {"name": "Litware Inc"},
    }
)
REFERRAL = "0b6e1f9a-1111-4c2d-9e3f-5a7c9e1b3d99"


@pytest.fixture
def store(redis: Redis, redis_namespace: str) -> InboundStore:
    return InboundStore(redis, stream=f"rb:jobs:{redis_namespace}")


async def test_a_referral_is_filed_once_as_waiting(store: InboundStore) -> None:
    first = await store.file(LITWARE, now=NOW, expires_at=EXPIRES)
    again = await store.file(LITWARE, now=NOW + timedelta(hours=1), expires_at=EXPIRES)

    assert first.new
    assert not again.new
    assert again.record.status is InboundStatus.WAITING
    assert again.record.filed_at == NOW
    assert again.record.referral.name == "Litware - Microsoft 365 rollout"
    assert [line["status"] for line in await store.history(REFERRAL)] == ["waiting"]
    assert [record.id for record in await store.waiting()] == [REFERRAL]


async def test_accept_and_decline_racing_give_one_outcome(store: InboundStore) -> None:
    await store.file(LITWARE, now=NOW, expires_at=EXPIRES)

    outcomes = await asyncio.gather(
        *(
            store.move(
                REFERRAL,
                InboundStatus.ACCEPTING if n % 2 else InboundStatus.DECLINING,
                by=f"slack:T1:U{n:04}",
                by_name=f"Person {n}",
                now=NOW,
            )
            for n in range(20)
        )
    )

    winners = [outcome for outcome in outcomes if outcome.moved]
    assert len(winners) == 1
    decided = winners[0].record
    assert all(outcome.record.decided_by == decided.decided_by for outcome in outcomes)
    assert all(outcome.record.status is decided.status for outcome in outcomes)
    assert len(await store.history(REFERRAL)) == 2


async def test_an_answer_refused_goes_back_to_waiting_with_the_problem(store: InboundStore) -> None:
    await store.file(LITWARE, now=NOW, expires_at=EXPIRES)
    await store.move(REFERRAL, InboundStatus.ACCEPTING, by="slack:T1:U1", now=NOW)

    back = await store.move(
        REFERRAL, InboundStatus.WAITING, by="slack:T1:U1", now=NOW, problem="Not allowed."
    )
    again = await store.move(REFERRAL, InboundStatus.DECLINING, by="slack:T1:U2", now=NOW)
    done = await store.move(REFERRAL, InboundStatus.DECLINED, by="slack:T1:U2", now=NOW)
    late = await store.move(REFERRAL, InboundStatus.ACCEPTING, by="slack:T1:U3", now=NOW)

    assert back.moved
    assert back.record.problem == "Not allowed."
    assert again.moved
    assert done.moved
    assert not late.moved
    assert late.record.status is InboundStatus.DECLINED
    assert await store.waiting() == []  # answered: out of the open index


async def test_an_assignment_lands_only_on_a_waiting_referral(store: InboundStore) -> None:
    await store.file(LITWARE, now=NOW, expires_at=EXPIRES)

    assigned = await store.assign(
        REFERRAL, to="slack:T1:U2", to_name="Grace", by="slack:T1:U1", by_name="Ada", now=NOW
    )
    await store.move(REFERRAL, InboundStatus.EXPIRED, by="referral-bot", now=NOW)
    late = await store.assign(
        REFERRAL, to="slack:T1:U3", to_name="Alan", by="slack:T1:U1", by_name="Ada", now=NOW
    )

    assert assigned.moved
    assert assigned.record.assignee == "slack:T1:U2"
    assert assigned.record.status is InboundStatus.WAITING
    assert not late.moved
    assert late.record.assignee == "slack:T1:U2"


async def test_each_reminder_threshold_is_claimed_once(store: InboundStore) -> None:
    await store.file(LITWARE, now=NOW, expires_at=EXPIRES)

    three = await asyncio.gather(*(store.remind(REFERRAL, [3]) for _ in range(10)))
    one = await store.remind(REFERRAL, [3, 1])
    one_again = await store.remind(REFERRAL, [3, 1])

    assert three.count(True) == 1
    assert one
    assert not one_again


async def test_both_thresholds_crossed_at_once_are_told_once(store: InboundStore) -> None:
    await store.file(LITWARE, now=NOW, expires_at=EXPIRES)

    assert await store.remind(REFERRAL, [3, 1])
    assert not await store.remind(REFERRAL, [3])


async def test_no_reminder_once_answered(store: InboundStore) -> None:
    await store.file(LITWARE, now=NOW, expires_at=EXPIRES)
    await store.move(REFERRAL, InboundStatus.ANSWERED, by="partner-center", now=NOW)

    assert not await store.remind(REFERRAL, [3])


async def test_a_place_is_claimed_by_one_piece_of_work(store: InboundStore) -> None:
    await store.file(LITWARE, now=NOW, expires_at=EXPIRES)

    claims = await asyncio.gather(
        *(store.claim_place(REFERRAL, "slack:T1", f"job-{n}") for n in range(10))
    )
    await store.posted(REFERRAL, "slack:T1", Posted({"platform": "slack", "id": "C1"}, "1.2"))

    assert claims.count(True) == 1
    holder = f"job-{claims.index(True)}"
    assert await store.claim_place(REFERRAL, "slack:T1", holder)  # its own, run again
    record = await store.get(REFERRAL)
    assert record.cards == {"slack:T1": Posted({"platform": "slack", "id": "C1"}, "1.2")}
    assert not await store.claim_place("nope", "slack:T1", "job-1")


async def test_expiring_before_lists_the_open_ones_soonest_first(store: InboundStore) -> None:
    later = LITWARE.model_copy(update={"id": "later"})
    await store.file(later, now=NOW, expires_at=EXPIRES + timedelta(days=1))
    await store.file(LITWARE, now=NOW, expires_at=EXPIRES)

    due = await store.expiring_before(EXPIRES + timedelta(hours=1))
    every = await store.waiting()

    assert [record.id for record in due] == [REFERRAL]
    assert [record.id for record in every] == [REFERRAL, "later"]


async def test_an_unknown_referral_is_said_so(store: InboundStore) -> None:
    with pytest.raises(UnknownInbound):
        await store.get("nope")
    with pytest.raises(UnknownInbound):
        await store.move("nope", InboundStatus.ACCEPTING, by="x", now=NOW)
