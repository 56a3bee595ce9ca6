"""Incoming referrals in Slack: the sandbox sends one as Microsoft, the reconciliation poll
sees it, and its triage card lands in ``INBOUND_CHANNEL`` once; Accept and Decline (with a
reason, asked in a modal) answer it in Partner Center once, as the transition table says,
and the card shows who answered, with no buttons left."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest

from bot.app.services import chat_services
from bot.app.worker import working
from bot.inbound.store import InboundStatus, InboundStore
from bot.jobs import JobQueue
from bot.notifications.changes import CHANGE, ReferralChange
from cards.ids import REASON_INPUT, Action
from tests.handlers.slack.conftest import BotOf, SlackBot
from tests.handlers.slack.test_notifications import polled_once
from tests.support.sandbox import Sandbox
from tests.support.slack_payloads import dm_channel_id

INBOUND = "C0INBOUND"
ADA = "U0001"
GRACE = "U0002"


@pytest.fixture
async def bot(bot_of: BotOf) -> AsyncIterator[SlackBot]:
    async with bot_of(inbound_channel=INBOUND, poll_interval_seconds=0.2) as started:
        await polled_once(started)
        yield started


def said(message: dict[str, Any]) -> str:
    return str(message.get("text", "")) + json.dumps(message.get("blocks", []))


def cards_in(bot: SlackBot, channel: str = INBOUND) -> list[dict[str, Any]]:
    """The channel's messages that are not thread replies."""
    return [m for m in bot.slack.messages_to(channel) if not m.get("thread_ts")]


async def arrived(bot: SlackBot, count: int = 1, within: float = 10.0) -> list[dict[str, Any]]:
    """The triage cards once there are ``count``, and everything queued meanwhile done."""
    deadline = asyncio.get_running_loop().time() + within
    while len(cards_in(bot)) < count:
        assert asyncio.get_running_loop().time() < deadline, "no triage card came"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # a second card, were one coming, would have come
    await bot.settled()
    return cards_in(bot)


def controls(card: dict[str, Any]) -> list[str]:
    return [
        element["action_id"]
        for block in card["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def patches(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [call for call in sandbox.requests() if call["method"] == "PATCH"]


async def click(bot: SlackBot, action: Action, referral: str, *, user: str) -> None:
    (card,) = cards_in(bot)
    await bot.send(
        bot.requests.action(action, value=referral, message=card, channel=INBOUND, user=user)
    )


def decline_submitted(bot: SlackBot, referral: str, reason: str, *, user: str) -> Any:
    return bot.requests.view_submission(
        Action.DECLINE_REASON,
        {REASON_INPUT: {REASON_INPUT: {"type": "plain_text_input", "value": reason}}},
        user=user,
        private_metadata=referral,
    )


async def test_an_incoming_referral_gets_one_triage_card_with_what_it_takes_to_decide(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    sent = fresh_sandbox.send_incoming(
        name="Litware - Microsoft 365 rollout",
        details={"dealValue": 60000, "currency": "USD", "closingDateTime": "2027-03-31T00:00:00Z"},
    )

    (card,) = await arrived(bot)

    shown = said(card)
    assert "Incoming referral from Microsoft: Litware - Microsoft 365 rollout" in shown
    assert "Litware Inc" in shown
    assert "Microsoft365" in shown  # the need: solution and product
    assert "Education" in shown  # and industry
    assert "60,000 USD" in shown
    assert "2027-03-31" in shown
    assert "Dana Reyes" in shown
    assert "dana.reyes@litware.example" in shown
    assert "13 days left" in shown or "14 days left" in shown
    assert controls(card) == [Action.ACCEPT, Action.DECLINE, Action.ASSIGN]
    record = await InboundStore(bot.redis, stream=bot.job_stream).get(sent["id"])
    assert record.status is InboundStatus.WAITING


async def test_another_partners_referral_says_who_sent_it(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    fresh_sandbox.send_incoming(
        inviteContext={"invitedBy": {"organizationId": "org-9", "organizationName": "Litware"}}
    )

    (card,) = await arrived(bot)

    assert "Incoming referral from Litware:" in said(card)


async def test_a_change_seen_twice_and_a_second_worker_still_post_one_card(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    async with chat_services(bot.settings) as services, AsyncExitStack() as stack:
        await stack.enter_async_context(working(bot.settings, services))
        sent = fresh_sandbox.send_incoming()
        await arrived(bot)
        # The same change reported again (a webhook after the poll, a fan-out run twice).
        stored = fresh_sandbox.referral(sent["id"])
        change = ReferralChange(
            referral_id=sent["id"],
            updated=stored["updatedDateTime"],
            status="New",
            substatus="Pending",
            direction="Incoming",
        )
        jobs = JobQueue(bot.redis, stream=bot.job_stream)
        for _ in range(3):
            await jobs.put(CHANGE, change.model_dump(mode="json"))
        await asyncio.sleep(0.5)
        await bot.settled()

    assert len(cards_in(bot)) == 1
    assert len(bot.slack.calls("chat.update")) == 0


async def test_seeded_referrals_waiting_before_the_first_poll_get_no_card(
    bot: SlackBot,
) -> None:
    await asyncio.sleep(0.6)  # a few polls
    await bot.settled()

    assert cards_in(bot) == []


async def test_accept_sends_one_patch_and_the_card_says_who_accepted(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    sent = fresh_sandbox.send_incoming()
    await arrived(bot)
    updates_before = len(bot.slack.calls("chat.update"))

    await click(bot, Action.ACCEPT, sent["id"], user=GRACE)
    await bot.settled()

    (patch,) = patches(fresh_sandbox)
    assert patch["headers"]["if-match"] == sent["eTag"]
    now = fresh_sandbox.referral(sent["id"])
    assert (now["status"], now["substatus"]) == ("Active", "Accepted")
    (card,) = cards_in(bot)
    assert "Accepted by Grace Hopper" in said(card)
    assert controls(card) == []
    # Rewritten through the click's response_url, outside chat.update's rate tier.
    assert len(bot.slack.calls("chat.update")) == updates_before
    history = await InboundStore(bot.redis, stream=bot.job_stream).history(sent["id"])
    assert [line["status"] for line in history] == ["waiting", "accepting", "accepted"]


async def test_decline_asks_why_and_closes_it_declined_with_the_reason(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    sent = fresh_sandbox.send_incoming()
    await arrived(bot)

    await click(bot, Action.DECLINE, sent["id"], user=ADA)
    (modal,) = bot.slack.modals()
    assert modal["private_metadata"] == sent["id"]
    assert patches(fresh_sandbox) == []  # nothing before the reason
    await bot.send(decline_submitted(bot, sent["id"], "Outside our region.", user=ADA))
    await bot.settled()

    now = fresh_sandbox.referral(sent["id"])
    assert (now["status"], now["substatus"]) == ("Closed", "Declined")
    assert now["statusReason"] == "Outside our region."
    (card,) = cards_in(bot)
    assert "Declined by Ada Lovelace" in said(card)
    assert "Outside our region." in said(card)
    assert controls(card) == []


async def test_a_blank_decline_reason_is_refused_in_the_modal(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    sent = fresh_sandbox.send_incoming()
    await arrived(bot)

    answer = await bot.send(decline_submitted(bot, sent["id"], "   ", user=ADA))
    await bot.settled()

    assert answer.json()["response_action"] == "errors"
    assert REASON_INPUT in answer.json()["errors"]
    assert patches(fresh_sandbox) == []


async def test_accept_and_decline_at_once_give_one_outcome_and_the_other_hears_who(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    sent = fresh_sandbox.send_incoming()
    (card,) = await arrived(bot)
    accept = bot.requests.action(
        Action.ACCEPT, value=sent["id"], message=card, channel=INBOUND, user=GRACE
    )
    decline = decline_submitted(bot, sent["id"], "Not our field.", user=ADA)

    await asyncio.gather(
        bot.send(accept), bot.send(accept.with_body(accept.body)), bot.send(decline)
    )
    await bot.settled()

    assert len(patches(fresh_sandbox)) == 1
    now = fresh_sandbox.referral(sent["id"])
    accepted = now["status"] == "Active"
    assert (now["status"], now["substatus"]) in (("Active", "Accepted"), ("Closed", "Declined"))
    record = await InboundStore(bot.redis, stream=bot.job_stream).get(sent["id"])
    assert record.status is (InboundStatus.ACCEPTED if accepted else InboundStatus.DECLINED)
    winner, loser = ("Grace Hopper", ADA) if accepted else ("Ada Lovelace", GRACE)
    assert winner in said(bot.slack.last_message(dm_channel_id(loser)))
    assert controls(cards_in(bot)[0]) == []


async def test_partner_center_refusing_puts_it_back_to_waiting_with_why(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    sent = fresh_sandbox.send_incoming()
    await arrived(bot)
    fresh_sandbox.fault(method="PATCH", status=403, times=1)

    await click(bot, Action.ACCEPT, sent["id"], user=GRACE)
    await bot.settled()

    (card,) = cards_in(bot)
    assert "refused" in said(card)
    assert controls(card) == [Action.ACCEPT, Action.DECLINE, Action.ASSIGN]
    assert fresh_sandbox.referral(sent["id"])["status"] == "New"
    told = said(bot.slack.last_message(dm_channel_id(GRACE)))
    assert "Nothing changed" in told


async def test_answered_in_partner_center_the_card_says_so(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    sent = fresh_sandbox.send_incoming()
    await arrived(bot)

    fresh_sandbox.act(sent["id"], "accept")
    deadline = asyncio.get_running_loop().time() + 10
    while "answered in Partner Center" not in said(cards_in(bot)[0]):
        assert asyncio.get_running_loop().time() < deadline, said(cards_in(bot)[0])
        await asyncio.sleep(0.05)

    assert controls(cards_in(bot)[0]) == []
    assert "Active, Accepted" in said(cards_in(bot)[0])
