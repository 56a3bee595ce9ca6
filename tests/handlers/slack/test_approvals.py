"""Deal registrations approved in Slack, through signed payloads against the sandbox: a seller
asks (both eligibility checks, the registration collected step by step), the request's card
goes to the approvals channel, an approver decides with one click, and only then is the
registration sent, once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.app.clients import build_http_client
from bot.approvals.places import ApprovalPlaces
from bot.approvals.store import Approvals, ApprovalStatus
from bot.clock import SystemClock
from bot.conversation import Decision, Seller, Turn
from bot.conversation.chat.approving import ApprovalRules, ApprovalTurns
from bot.jobs import JobQueue
from bot.partner_center.auth import StaticTokenProvider
from bot.partner_center.client import PartnerCenterClient
from bot.referrals.models import DealRegistration
from bot.settings import Settings
from cards.ids import REASON_INPUT, Action
from handlers.slack import SlackReplier
from tests.handlers.slack.conftest import BotOf, SlackBot, running, slack_settings
from tests.support.sandbox import Sandbox
from tests.support.slack_payloads import SlackUser, dm_channel_id
from tests.support.slack_stand_in import SlackApiStandIn

NORTHWIND = "5e7a9c1d-3f5b-4d7e-9b1c-3e5a7c9e1b04"  # Active, Accepted co-sell; USD 30,000
TAILWIND = "7b9d2e4f-6a8c-4b1d-8e3f-5a7c9e1b3d02"  # Microsoft's own: not a co-sell of ours
APPROVALS = "C0APPROVALS"
SELLER = "U0001"  # Ada, who asks
BOSS = "U0002"  # Grace, an approver
DEPUTY = "U0003"  # Alan, an approver through the leads' user group
STRANGER = "U0004"  # Edsger, neither
SELLER_DM = dm_channel_id(SELLER)

ANSWERS = (
    "2026-11-20",  # signed
    "2026-12-01",  # starts
    "2027-11-30",  # ends
    "yes",  # deployed on Azure
    "Partner",  # primary deployment
    "Other",  # pricing model
    "30000 USD",  # the solution's value
    "no",  # not transacted on the marketplace
)


@pytest.fixture
async def bot(bot_of: BotOf, fresh_slack_api: SlackApiStandIn) -> AsyncIterator[SlackBot]:
    fresh_slack_api.set_user(
        SlackUser(DEPUTY, "alan", "Alan Turing", "Alan", "Turing", "alan@contoso.example")
    )
    fresh_slack_api.set_user(
        SlackUser(STRANGER, "edsger", "Edsger Dijkstra", "Edsger", "Dijkstra", "ed@contoso.example")
    )
    fresh_slack_api.set_usergroup("S0LEADS", [DEPUTY])
    async with bot_of(
        approvers=f"{BOSS},S0LEADS", approvals_channel=APPROVALS, referral_admins=SELLER
    ) as started:
        yield started


def said(message: dict[str, Any]) -> str:
    return str(message.get("text", "")) + json.dumps(message.get("blocks", []))


async def ask_for_registration(bot: SlackBot, referral: str = NORTHWIND) -> list[str]:
    """The seller's whole request, typed in the DM; what the DM said along the way."""
    await bot.send(bot.requests.command(f"register {referral}"))
    await bot.settled()
    for answer in ANSWERS:
        await bot.send(bot.requests.dm_message(answer))
        await bot.settled()
    await bot.send(bot.requests.dm_message("submit"))
    await bot.settled()
    return [said(message) for message in bot.slack.messages_to(SELLER_DM)]


def approval_card(bot: SlackBot) -> dict[str, Any]:
    (card,) = bot.slack.messages_to(APPROVALS)
    return bot.slack.message(APPROVALS, card["ts"])


def approval_id(card: dict[str, Any]) -> str:
    for block in card["blocks"]:
        for element in block.get("elements") or ():
            if element.get("action_id") == Action.APPROVE:
                return str(element["value"])
    raise AssertionError(f"no Approve button on {said(card)}")


def buttons(card: dict[str, Any]) -> list[str]:
    return [
        element["action_id"]
        for block in card["blocks"]
        for element in block.get("elements") or ()
        if element.get("type") == "button"
    ]


def registrations(sandbox: Sandbox, referral: str = NORTHWIND) -> list[dict[str, Any]]:
    return list(sandbox.referral(referral).get("registrations") or [])


def patches(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [call for call in sandbox.requests() if call["method"] == "PATCH"]


@pytest.fixture
async def client(fresh_sandbox: Sandbox) -> AsyncIterator[PartnerCenterClient]:
    """Partner Center as the deployment's own worker reaches it."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    async with build_http_client(settings) as http:
        yield PartnerCenterClient(
            http, base_url=fresh_sandbox.base_url, tokens=StaticTokenProvider(SecretStr("t"))
        )


def approval_turns(
    bot: SlackBot, redis: Redis, client: PartnerCenterClient, *, ttl: timedelta
) -> ApprovalTurns:
    """Another worker's approvals, on the same Redis, sandbox and Slack."""
    return ApprovalTurns(
        Approvals(redis, stream=bot.job_stream),
        ApprovalPlaces(redis, stream=bot.job_stream),
        client,
        ApprovalRules(approvers=frozenset({BOSS}), slack_channel=APPROVALS, ttl=ttl),
        repliers={"slack": SlackReplier(bot.slack_client())},
        jobs=JobQueue(redis, stream=bot.job_stream),
        clock=SystemClock(),
    )


def clicked_by(bot: SlackBot, user: str) -> Turn:
    """A click on the approvals channel's card, as the Slack edge parses it."""
    return Turn(
        platform="slack",
        conversation=f"slack:{bot.requests.team_id}:{user}",
        seller=Seller(user_id=user),
        delivery=f"action-{user}",
        kind="click",
    )


async def click(bot: SlackBot, action: Action, value: str, *, user: str) -> None:
    card = approval_card(bot)
    await bot.send(
        bot.requests.action(action, value=value, message=card, channel=APPROVALS, user=user)
    )


async def test_eligible_collected_approved_sent_once_and_the_requester_told(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    dm = await ask_for_registration(bot)

    report = dm[0]
    assert "Your organization may register deals" in report
    assert "Sent to the approvers" in dm[-2] or "Sent to the approvers" in dm[-1]
    card = approval_card(bot)
    shown = said(card)
    assert "Northwind Traders - Contoso Experience Platform" in shown
    assert "Ada Lovelace" in shown
    assert "DEAL-123456-XYZ" in shown
    assert buttons(card) == [Action.APPROVE, Action.REJECT]
    assert registrations(fresh_sandbox) == []  # nothing is sent before a decision

    updates_before = len(bot.slack.calls("chat.update"))
    await click(bot, Action.APPROVE, approval_id(card), user=BOSS)
    await bot.settled()

    # The card was rewritten through the click's response_url: chat.update allows about 50
    # calls a minute per workspace, which a busy approvals channel would run out of.
    assert len(bot.slack.calls("chat.update")) == updates_before
    (registered,) = registrations(fresh_sandbox)
    assert registered["type"] == "AzureIPCoSell"
    assert registered["contract"]["value"] == 30000
    assert registered["contract"]["currency"] == "USD"
    assert registered["contract"]["term"] == "Finite"
    assert registered["contract"]["startDateTime"].startswith("2026-12-01")
    [solution] = registered["solutionDetails"]
    assert solution["id"] == "DEAL-123456-XYZ"
    assert solution["isDeployedOnAzure"] is True
    assert solution["primaryDeploymentOn"] == "Partner"
    assert solution["pricingModel"] == "Other"
    assert solution["marketplaceTransactionDetails"]["isMarketplaceTransacted"] is False
    assert len(patches(fresh_sandbox)) == 1
    decided = approval_card(bot)
    assert "Grace Hopper" in said(decided)
    assert buttons(decided) == []
    told = said(bot.slack.last_message(SELLER_DM))
    assert "Grace Hopper approved your deal registration" in told
    audit = await Approvals(bot.redis, stream=bot.job_stream).history(approval_id(card))
    assert [line["status"] for line in audit] == ["pending", "approved", "submitted"]
    assert audit[-1]["request_id"]


async def test_not_eligible_is_a_report_and_nothing_else(bot: SlackBot) -> None:
    await bot.send(bot.requests.command(f"register {TAILWIND}"))
    await bot.settled()

    (report,) = [said(message) for message in bot.slack.messages_to(SELLER_DM)]
    assert "eligible" in report.lower()
    assert bot.slack.messages_to(APPROVALS) == []
    # No draft was started: typing an answer finds none.
    await bot.send(bot.requests.dm_message("2026-11-20"))
    await bot.settled()
    assert "no referral in progress" in said(bot.slack.last_message(SELLER_DM))


@pytest.mark.parametrize("who", [STRANGER, SELLER])
async def test_a_non_approver_and_the_requester_are_refused_and_nothing_changes(
    bot: SlackBot, fresh_sandbox: Sandbox, who: str
) -> None:
    await ask_for_registration(bot)
    card = approval_card(bot)
    before = said(card)

    await click(bot, Action.APPROVE, approval_id(card), user=who)
    await bot.settled()

    assert said(approval_card(bot)) == before
    assert registrations(fresh_sandbox) == []
    approval = await Approvals(bot.redis, stream=bot.job_stream).get(approval_id(card))
    assert approval.status is ApprovalStatus.PENDING
    refusal = said(bot.slack.last_message(dm_channel_id(who)))
    assert "nothing changed" in refusal.lower()


async def test_an_approver_through_a_user_group_may_decide(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    await ask_for_registration(bot)

    await click(bot, Action.APPROVE, approval_id(approval_card(bot)), user=DEPUTY)
    await bot.settled()

    assert len(registrations(fresh_sandbox)) == 1
    assert "Alan Turing" in said(approval_card(bot))


async def test_twenty_concurrent_approve_clicks_send_exactly_one_patch(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    await ask_for_registration(bot)
    card = approval_card(bot)
    clicks = [
        bot.requests.action(
            Action.APPROVE,
            value=approval_id(card),
            message=card,
            channel=APPROVALS,
            user=BOSS if n % 2 else DEPUTY,
        )
        for n in range(20)
    ]

    await asyncio.gather(*(bot.send(request) for request in clicks))
    await bot.settled()

    assert len(registrations(fresh_sandbox)) == 1
    assert len(patches(fresh_sandbox)) == 1
    approval = await Approvals(bot.redis, stream=bot.job_stream).get(approval_id(card))
    assert approval.status is ApprovalStatus.SUBMITTED


async def test_approve_racing_reject_gives_one_outcome_and_the_loser_is_told_who_decided(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    await ask_for_registration(bot)
    card = approval_card(bot)
    approval = approval_id(card)
    approve = bot.requests.action(
        Action.APPROVE, value=approval, message=card, channel=APPROVALS, user=BOSS
    )
    reject = bot.requests.view_submission(
        Action.REJECT_REASON,
        {REASON_INPUT: {REASON_INPUT: {"type": "plain_text_input", "value": "Too early"}}},
        user=DEPUTY,
        private_metadata=approval,
    )

    await asyncio.gather(bot.send(approve), bot.send(reject))
    await bot.settled()

    stored = await Approvals(bot.redis, stream=bot.job_stream).get(approval)
    assert stored.status in (ApprovalStatus.SUBMITTED, ApprovalStatus.REJECTED)
    approved = stored.status is ApprovalStatus.SUBMITTED
    assert len(registrations(fresh_sandbox)) == (1 if approved else 0)
    loser = DEPUTY if approved else BOSS
    winner = "Grace Hopper" if approved else "Alan Turing"
    assert winner in said(bot.slack.last_message(dm_channel_id(loser)))


async def test_reject_asks_why_and_tells_the_requester(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    await ask_for_registration(bot)
    card = approval_card(bot)
    approval = approval_id(card)

    await click(bot, Action.REJECT, approval, user=BOSS)
    (modal,) = bot.slack.modals()
    assert modal["private_metadata"] == approval
    assert bot.slack.messages_to(APPROVALS)[0]["ts"] == card["ts"]  # nothing queued
    await bot.send(
        bot.requests.view_submission(
            Action.REJECT_REASON,
            {REASON_INPUT: {REASON_INPUT: {"type": "plain_text_input", "value": "Dates wrong"}}},
            user=BOSS,
            private_metadata=approval,
        )
    )
    await bot.settled()

    rejected = said(approval_card(bot))
    assert "Dates wrong" in rejected
    assert buttons(approval_card(bot)) == []
    told = said(bot.slack.last_message(SELLER_DM))
    assert "rejected your deal registration" in told
    assert "Dates wrong" in told
    assert registrations(fresh_sandbox) == []


async def test_withdrawn_by_the_requester_then_an_approve_changes_nothing(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    await ask_for_registration(bot)
    approval = approval_id(approval_card(bot))

    await bot.send(bot.requests.command(f"withdraw {NORTHWIND}"))
    await bot.settled()
    assert "Withdrawn" in said(bot.slack.last_message(SELLER_DM))
    assert buttons(approval_card(bot)) == []

    await click(bot, Action.APPROVE, approval, user=BOSS)
    await bot.settled()

    assert registrations(fresh_sandbox) == []
    assert "withdrew" in said(bot.slack.last_message(dm_channel_id(BOSS))) or "withdrawn" in (
        said(bot.slack.last_message(dm_channel_id(BOSS)))
    )


async def test_partner_center_refusing_shows_why_and_retry_sends_once(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    await ask_for_registration(bot)
    approval = approval_id(approval_card(bot))
    fresh_sandbox.set_partner_eligible(False)

    await click(bot, Action.APPROVE, approval, user=BOSS)
    await bot.settled()

    failed = approval_card(bot)
    assert "not eligible" in said(failed)
    assert buttons(failed) == [Action.RETRY, Action.REJECT]
    assert registrations(fresh_sandbox) == []
    assert "refused" in said(bot.slack.last_message(SELLER_DM))

    fresh_sandbox.set_partner_eligible(True)
    retry = bot.requests.action(
        Action.RETRY, value=approval, message=failed, channel=APPROVALS, user=DEPUTY
    )
    await asyncio.gather(bot.send(retry), bot.send(retry.with_body(retry.body)))
    await bot.settled()

    assert len(registrations(fresh_sandbox)) == 1
    assert buttons(approval_card(bot)) == []


async def test_a_send_whose_answer_was_lost_is_found_not_sent_again(
    bot: SlackBot, fresh_sandbox: Sandbox, redis: Redis, client: PartnerCenterClient
) -> None:
    # A worker died after its PATCH reached Partner Center and before it recorded it: the
    # request stands approved by that piece of work, and its job runs again.
    await ask_for_registration(bot)
    approval = approval_id(approval_card(bot))
    store = Approvals(redis, stream=bot.job_stream)
    stored = await store.get(approval)
    registration = DealRegistration.from_wire(stored.request.registration)
    await store.move(
        approval, ApprovalStatus.APPROVED, by=f"slack:{bot.requests.team_id}:{BOSS}",
        now=datetime.now(UTC), sender="job-dead",
    )  # fmt: skip
    await client.register_deal(NORTHWIND, registration)  # the dead worker's PATCH
    turns = approval_turns(bot, redis, client, ttl=timedelta(days=7))

    await turns.decide(
        clicked_by(bot, BOSS), SlackReplier(bot.slack_client()), Decision(
            approval=approval, verdict="approve"
        ), attempt="job-dead",
    )  # fmt: skip

    assert len(patches(fresh_sandbox)) == 1
    assert len(registrations(fresh_sandbox)) == 1
    assert (await store.get(approval)).status is ApprovalStatus.SUBMITTED
    assert "Grace Hopper" in said(approval_card(bot)) or "submitted" in said(approval_card(bot))


async def test_an_unanswered_request_expires_and_the_requester_is_told(
    bot: SlackBot, redis: Redis, client: PartnerCenterClient
) -> None:
    await ask_for_registration(bot)
    approval = approval_id(approval_card(bot))
    store = Approvals(redis, stream=bot.job_stream)
    turns = approval_turns(bot, redis, client, ttl=timedelta(seconds=0))

    assert await turns.expire_due() == 1
    assert await turns.expire_due() == 0
    await bot.settled()  # the requester is told by a job of its own

    assert "expired" in said(approval_card(bot)).lower()
    assert buttons(approval_card(bot)) == []
    assert "expired without a decision" in said(bot.slack.last_message(SELLER_DM))
    assert (await store.get(approval)).status is ApprovalStatus.EXPIRED


async def test_bad_answers_are_asked_again_with_a_specific_message(bot: SlackBot) -> None:
    await bot.send(bot.requests.command(f"register {NORTHWIND}"))
    await bot.settled()
    await bot.send(bot.requests.dm_message("2026-11-20"))
    await bot.send(bot.requests.dm_message("2026-12-01"))
    await bot.settled()

    await bot.send(bot.requests.dm_message("2026-11-01"))  # ends before it starts
    await bot.settled()
    assert "before" in said(bot.slack.last_message(SELLER_DM))

    for answer in ("2027-11-30", "yes", "Partner", "Other"):
        await bot.send(bot.requests.dm_message(answer))
        await bot.settled()
    await bot.send(bot.requests.dm_message("lots"))  # not a number
    await bot.settled()
    assert "lots" in said(bot.slack.last_message(SELLER_DM))

    await bot.send(bot.requests.dm_message("edit solutions"))
    await bot.settled()
    await bot.send(bot.requests.dm_message("NOPE-1"))
    await bot.settled()
    refused = said(bot.slack.last_message(SELLER_DM))
    assert "NOPE-1" in refused
    assert "DEAL-123456-XYZ" in refused or "Contoso Experience Platform" in refused


async def test_asking_again_replaces_the_request_still_open(bot: SlackBot) -> None:
    await ask_for_registration(bot)
    await ask_for_registration(bot)

    first, second = bot.slack.messages_to(APPROVALS)
    replaced = bot.slack.message(APPROVALS, first["ts"])
    assert buttons(replaced) == []
    assert "withdrawn" in said(replaced)
    assert buttons(bot.slack.message(APPROVALS, second["ts"])) == [Action.APPROVE, Action.REJECT]
    waiting = await Approvals(bot.redis, stream=bot.job_stream).listed([ApprovalStatus.PENDING])
    assert len(waiting) == 1


async def test_without_an_approvals_channel_the_report_says_whom_to_ask(
    fresh_sandbox: Sandbox,
    fresh_slack_api: SlackApiStandIn,
    redis_url: str,
    redis: Redis,
    redis_namespace: str,
) -> None:
    settings = slack_settings(
        fresh_sandbox, fresh_slack_api, redis_url, redis_namespace, referral_admins=SELLER
    )
    async with running(settings, fresh_slack_api, redis, redis_namespace) as bot:
        await bot.send(bot.requests.command(f"register {NORTHWIND}"))
        await bot.settled()

        report, problem = [said(m) for m in bot.slack.messages_to(SELLER_DM)]
        assert "Your organization may register deals" in report
        assert "No approvals channel is set up" in problem
        assert "/referral approvals here" in problem
        await bot.send(bot.requests.dm_message("2026-11-20"))
        await bot.settled()
        assert "no referral in progress" in said(bot.slack.last_message(SELLER_DM))
