"""Time running out for an incoming referral in Slack, on a fake clock: a reminder on the
card's thread (and to its assignee) when 3 days and when 1 day are left, each told once
though two workers look and one restarts in between; once expired, the card says so and
loses its buttons."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from bot.conversation.chat.inbound_rules import InboundRules
from bot.conversation.chat.inbound_timing import InboundTimer
from bot.inbound.store import InboundStatus, InboundStore
from bot.jobs import JobQueue
from cards.ids import Action
from tests.handlers.slack.conftest import BotOf, SlackBot
from tests.handlers.slack.test_inbound import INBOUND, arrived, cards_in, controls, said
from tests.handlers.slack.test_notifications import polled_once
from tests.support.sandbox import Sandbox
from tests.support.slack_payloads import dm_channel_id

ADA = "U0001"
GRACE = "U0002"


class FakeClock:
    """Time that moves only when a test says so."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return self.current.timestamp()


@pytest.fixture
async def bot(bot_of: BotOf) -> AsyncIterator[SlackBot]:
    async with bot_of(
        inbound_channel=INBOUND, poll_interval_seconds=0.2, referral_admins=ADA
    ) as started:
        await polled_once(started)
        yield started


def worker_timer(bot: SlackBot, clock: FakeClock) -> InboundTimer:
    """A worker's timer, as one (re)started on the deployment's Redis sees it."""
    return InboundTimer(
        InboundStore(bot.redis, stream=bot.job_stream),
        InboundRules(reminder_days=(3, 1)),
        jobs=JobQueue(bot.redis, stream=bot.job_stream),
        clock=clock,
    )


def reminders(bot: SlackBot) -> list[str]:
    return [said(m) for m in bot.slack.messages_to(INBOUND) if m.get("thread_ts")]


async def two_workers_then_a_restart(bot: SlackBot, clock: FakeClock) -> int:
    """Two workers look at once; then one restarts and looks again. How many reminders."""
    first, second = worker_timer(bot, clock), worker_timer(bot, clock)
    together = await asyncio.gather(first.remind_due(), second.remind_due())
    restarted = await worker_timer(bot, clock).remind_due()
    await bot.settled()
    return sum(together) + restarted


async def expires_at(bot: SlackBot, referral: str) -> datetime:
    return (await InboundStore(bot.redis, stream=bot.job_stream).get(referral)).expires_at


async def test_reminded_at_3_and_1_days_left_once_each(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    sent = fresh_sandbox.send_incoming(name="Litware - reminders")
    (card,) = await arrived(bot)
    await bot.send(
        bot.requests.action(
            Action.ASSIGN, user_picked=GRACE, message=card, channel=INBOUND, user=ADA
        )
    )
    await bot.settled()
    deadline = await expires_at(bot, sent["id"])
    clock = FakeClock(deadline - timedelta(days=5))

    assert await two_workers_then_a_restart(bot, clock) == 0
    clock.current = deadline - timedelta(days=3) + timedelta(hours=1)
    assert await two_workers_then_a_restart(bot, clock) == 1
    clock.current += timedelta(hours=12)
    assert await two_workers_then_a_restart(bot, clock) == 0
    clock.current = deadline - timedelta(hours=20)
    assert await two_workers_then_a_restart(bot, clock) == 1

    three, one = reminders(bot)
    assert "3 days left" in three
    assert "Litware - reminders" in three
    assert "1 day left" in one
    thread = {m["thread_ts"] for m in bot.slack.messages_to(INBOUND) if m.get("thread_ts")}
    assert thread == {card["ts"]}  # on the card's own thread
    # Her DM got the card when she was assigned, then one reminder per threshold.
    posts = [
        str(call.args.get("blocks"))
        for call in bot.slack.calls("chat.postMessage")
        if call.args.get("channel") in (GRACE, dm_channel_id(GRACE))
    ]
    assert len(posts) == 3
    assert "assigned you" in posts[0]
    assert "Reminder: 3 days left" in posts[1]
    assert "Reminder: 1 day left" in posts[2]


async def test_a_worker_down_across_both_thresholds_reminds_once(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    sent = fresh_sandbox.send_incoming()
    await arrived(bot)
    clock = FakeClock(await expires_at(bot, sent["id"]) - timedelta(hours=6))

    assert await two_workers_then_a_restart(bot, clock) == 1

    (reminder,) = reminders(bot)
    assert "1 day left" in reminder


async def test_no_reminder_for_an_answered_referral(bot: SlackBot, fresh_sandbox: Sandbox) -> None:
    sent = fresh_sandbox.send_incoming()
    (card,) = await arrived(bot)
    await bot.send(
        bot.requests.action(
            Action.ACCEPT, value=sent["id"], message=card, channel=INBOUND, user=ADA
        )
    )
    await bot.settled()
    clock = FakeClock(await expires_at(bot, sent["id"]) - timedelta(days=2))

    assert await two_workers_then_a_restart(bot, clock) == 0
    assert reminders(bot) == []


async def test_expired_unanswered_the_card_says_so_and_loses_its_buttons(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    grace = {"firstName": "Grace", "lastName": "Hopper", "email": "grace.hopper@contoso.example"}
    sent = fresh_sandbox.send_incoming(team=[grace])
    await arrived(bot)
    clock = FakeClock(await expires_at(bot, sent["id"]) + timedelta(minutes=1))
    first, second = worker_timer(bot, clock), worker_timer(bot, clock)

    expired = await asyncio.gather(first.expire_due(), second.expire_due())
    await bot.settled()

    assert sum(expired) == 1
    (card,) = cards_in(bot)
    assert "Expired unanswered" in said(card)
    assert controls(card) == []
    (dm_card,) = bot.slack.messages_to(dm_channel_id(GRACE))
    assert controls(dm_card) == []
    record = await InboundStore(bot.redis, stream=bot.job_stream).get(sent["id"])
    assert record.status is InboundStatus.EXPIRED
    # A click on a copy still showing its buttons changes nothing, and says why.
    await bot.send(
        bot.requests.action(
            Action.ACCEPT, value=sent["id"], message=card, channel=INBOUND, user=ADA
        )
    )
    await bot.settled()
    assert "expired unanswered" in said(bot.slack.last_message(dm_channel_id(ADA)))
    assert [c for c in fresh_sandbox.requests() if c["method"] == "PATCH"] == []
