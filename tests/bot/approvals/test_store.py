"""Requests for approval: atomic moves between statuses, one decision when several race,
and every step in the audit stream."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from bot.approvals.store import (
    Approvals,
    ApprovalStatus,
    Posted,
    Request,
    UnknownApproval,
)

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
ASK = Request(
    referral_id="7b9d2e4f-6a8c-4b1d-8e3f-5a7c9e1b3d02",
    requester="slack:T1:U0001",
    requester_name="Ada Lovelace",
    registration={"type": "AzureIPCoSell", "contract": {"value": 120000, "currency": "USD"}},
)


@pytest.fixture
def approvals(redis: Redis, redis_namespace: str) -> Approvals:
    return Approvals(redis, stream=f"rb:jobs:{redis_namespace}")


async def test_a_request_is_pending_and_audited(approvals: Approvals) -> None:
    made = (await approvals.request(ASK, now=NOW)).approval

    again = await approvals.get(made.id)
    assert again.status is ApprovalStatus.PENDING
    assert again.request == ASK
    (line,) = await approvals.history(made.id)
    assert line["status"] == "pending"
    assert line["by"] == "slack:T1:U0001"


async def test_approve_then_submitted_with_the_apis_request_id(approvals: Approvals) -> None:
    made = (await approvals.request(ASK, now=NOW)).approval

    approved = await approvals.move(made.id, ApprovalStatus.APPROVED, by="slack:T1:U0002", now=NOW)
    sent = await approvals.move(
        made.id, ApprovalStatus.SUBMITTED, by="slack:T1:U0002", now=NOW, request_id="req-1"
    )

    assert approved.moved
    assert sent.moved
    assert sent.approval.status is ApprovalStatus.SUBMITTED
    assert sent.approval.request_id == "req-1"
    assert [line["status"] for line in await approvals.history(made.id)] == [
        "pending",
        "approved",
        "submitted",
    ]


async def test_twenty_approvers_at_once_make_one_decision(approvals: Approvals) -> None:
    made = (await approvals.request(ASK, now=NOW)).approval

    outcomes = await asyncio.gather(
        *(
            approvals.move(made.id, ApprovalStatus.APPROVED, by=f"slack:T1:U{n:04}", now=NOW)
            for n in range(20)
        )
    )

    winners = [outcome for outcome in outcomes if outcome.moved]
    assert len(winners) == 1
    decided = winners[0].approval.decided_by
    assert all(outcome.approval.decided_by == decided for outcome in outcomes)
    assert len(await approvals.history(made.id)) == 2


async def test_approve_racing_reject_gives_one_outcome_and_the_loser_sees_who_decided(
    approvals: Approvals,
) -> None:
    made = (await approvals.request(ASK, now=NOW)).approval

    approve, reject = await asyncio.gather(
        approvals.move(made.id, ApprovalStatus.APPROVED, by="slack:T1:U0002", now=NOW),
        approvals.move(
            made.id, ApprovalStatus.REJECTED, by="slack:T1:U0003", now=NOW, reason="Too early"
        ),
    )

    assert approve.moved != reject.moved
    loser = reject if approve.moved else approve
    winner = approve if approve.moved else reject
    assert loser.approval.status is winner.approval.status
    assert loser.approval.decided_by == winner.approval.decided_by


@pytest.mark.parametrize(
    ("first", "then"),
    [
        (ApprovalStatus.REJECTED, ApprovalStatus.APPROVED),
        (ApprovalStatus.WITHDRAWN, ApprovalStatus.APPROVED),
        (ApprovalStatus.EXPIRED, ApprovalStatus.REJECTED),
        (ApprovalStatus.APPROVED, ApprovalStatus.WITHDRAWN),
    ],
)
async def test_a_decided_request_moves_no_further_than_allowed(
    approvals: Approvals, first: ApprovalStatus, then: ApprovalStatus
) -> None:
    made = (await approvals.request(ASK, now=NOW)).approval
    assert (await approvals.move(made.id, first, by="x", now=NOW)).moved

    late = await approvals.move(made.id, then, by="y", now=NOW + timedelta(minutes=1))

    assert not late.moved
    assert late.approval.status is first
    assert late.approval.decided_by == "x"


async def test_a_failed_registration_may_be_approved_again(approvals: Approvals) -> None:
    made = (await approvals.request(ASK, now=NOW)).approval
    await approvals.move(made.id, ApprovalStatus.APPROVED, by="m", now=NOW)
    await approvals.move(made.id, ApprovalStatus.FAILED, by="m", now=NOW, reason="412")

    retry = await approvals.move(made.id, ApprovalStatus.APPROVED, by="m", now=NOW)

    assert retry.moved


async def test_an_unknown_request_is_said_so(approvals: Approvals) -> None:
    with pytest.raises(UnknownApproval):
        await approvals.move("nope", ApprovalStatus.APPROVED, by="m", now=NOW)
    with pytest.raises(UnknownApproval):
        await approvals.get("nope")


async def test_listed_newest_first_by_status(approvals: Approvals) -> None:
    first = (await approvals.request(ASK, now=NOW)).approval
    second = (await approvals.request(ASK, now=NOW + timedelta(minutes=1))).approval
    await approvals.move(first.id, ApprovalStatus.REJECTED, by="m", now=NOW)

    assert [a.id for a in await approvals.listed()] == [second.id, first.id]
    pending = await approvals.listed([ApprovalStatus.PENDING])
    assert [a.id for a in pending] == [second.id]


async def test_asking_twice_under_one_id_files_once(approvals: Approvals) -> None:
    first = await approvals.request(ASK, now=NOW, approval_id="draft-1")
    again = await approvals.request(ASK, now=NOW + timedelta(minutes=5), approval_id="draft-1")

    assert first.new
    assert not again.new
    assert again.approval.created_at == NOW
    assert len(await approvals.history("draft-1")) == 1
    assert [a.id for a in await approvals.listed()] == ["draft-1"]


async def test_where_the_card_was_posted_is_kept(approvals: Approvals) -> None:
    made = (await approvals.request(ASK, now=NOW)).approval
    card = Posted({"platform": "slack", "workspace": "T1", "id": "C1"}, "1700000000.000100")

    await approvals.posted(made.id, card)

    assert (await approvals.get(made.id)).card == card


async def test_only_pending_requests_made_before_a_moment_are_due(approvals: Approvals) -> None:
    old = (await approvals.request(ASK, now=NOW - timedelta(days=8))).approval
    decided = (await approvals.request(ASK, now=NOW - timedelta(days=9))).approval
    await approvals.request(ASK, now=NOW - timedelta(days=1))
    await approvals.move(decided.id, ApprovalStatus.REJECTED, by="m", now=NOW)

    due = await approvals.made_before(NOW - timedelta(days=7))

    assert [a.id for a in due] == [old.id]


async def test_a_move_records_who_by_name_and_the_sender(approvals: Approvals) -> None:
    made = (await approvals.request(ASK, now=NOW)).approval

    moved = await approvals.move(
        made.id,
        ApprovalStatus.APPROVED,
        by="slack:T1:U0002",
        by_name="Grace Hopper",
        now=NOW,
        sender="job-7",
    )

    assert moved.approval.decided_by_name == "Grace Hopper"
    assert moved.approval.sender == "job-7"
    line = (await approvals.history(made.id))[-1]
    assert line["by_name"] == "Grace Hopper"
    assert line["status"] == "approved"


async def test_only_requests_a_decision_may_change_stay_in_the_open_index(
    approvals: Approvals, redis: Redis
) -> None:
    waiting = (await approvals.request(ASK, now=NOW)).approval
    refused = (await approvals.request(ASK, now=NOW)).approval
    sent = (await approvals.request(ASK, now=NOW)).approval
    await approvals.move(refused.id, ApprovalStatus.APPROVED, by="m", now=NOW)
    await approvals.move(refused.id, ApprovalStatus.FAILED, by="m", now=NOW, reason="412")
    await approvals.move(sent.id, ApprovalStatus.APPROVED, by="m", now=NOW)
    await approvals.move(sent.id, ApprovalStatus.SUBMITTED, by="m", now=NOW)

    still_open = {raw.decode() for raw in await redis.zrange(approvals.open, 0, -1)}

    assert still_open == {waiting.id, refused.id}
    open_ones = await approvals.listed([ApprovalStatus.PENDING, ApprovalStatus.FAILED])
    assert {a.id for a in open_ones} == {waiting.id, refused.id}
    assert len(await approvals.listed()) == 3
