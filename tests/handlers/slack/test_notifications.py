"""Slack channels hearing about referral changes: subscribed with /referral subscribe in the
channel, told once of each change Microsoft makes (the sandbox's admin routes act for it), as
the reconciliation poll finds it; filters kept; a channel the bot left is unsubscribed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.jobs import JobQueue
from bot.jobs.keys import StreamKeys
from bot.notifications.changes import CHANGE, Before, ReferralChange
from cards.ids import Action
from tests.handlers.slack.conftest import BotOf, SlackBot
from tests.support.sandbox import Sandbox
from tests.support.slack_payloads import dm_channel_id

TAILWIND = "7b9d2e4f-6a8c-4b1d-8e3f-5a7c9e1b3d02"  # Active, Accepted; USD 120,000
ADVENTURE = "3f2a7c1e-8d4b-4e6f-9a10-2b5c7d9e1f01"  # New, Pending
WINS = "C0WINS"
BIG_LOSSES = "C0LOSSES"


@pytest.fixture
async def bot(bot_of: BotOf) -> AsyncIterator[SlackBot]:
    async with bot_of(poll_interval_seconds=0.2) as started:
        yield started


def said(message: dict[str, Any]) -> str:
    return str(message.get("text", "")) + json.dumps(message.get("blocks", []))


async def subscribe(bot: SlackBot, channel: str, words: str = "") -> None:
    name = channel.lower()
    await bot.send(bot.requests.command(f"subscribe {words}", channel=channel, channel_name=name))
    await bot.settled()


async def polled_once(bot: SlackBot) -> None:
    """Wait for the first poll (a baseline: no events) to have recorded every referral."""
    cursor = f"{StreamKeys(bot.job_stream).slot}:poll:cursor"
    for _ in range(200):
        if await bot.redis.exists(cursor):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no poll ran")


async def told(bot: SlackBot, channel: str, count: int, within: float = 10.0) -> list[str]:
    """The channel's messages once there are ``count`` (after the subscription's own)."""
    deadline = asyncio.get_running_loop().time() + within
    while len(bot.slack.messages_to(channel)) < count + 1:
        assert asyncio.get_running_loop().time() < deadline, said_in(bot, channel)
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # anything more that was coming has come
    await bot.settled()
    return said_in(bot, channel)[1:]


def subscriptions_of(bot: SlackBot) -> str:
    return f"{StreamKeys(bot.job_stream).slot}:subscriptions"


def said_in(bot: SlackBot, channel: str) -> list[str]:
    return [said(message) for message in bot.slack.messages_to(channel)]


async def test_a_win_on_microsofts_side_is_told_once_to_each_channel_that_wants_it(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    await subscribe(bot, WINS)
    await subscribe(bot, BIG_LOSSES, "lost min=1m")
    (confirmation,) = said_in(bot, WINS)
    assert "This channel now hears about referrals: won lost" in confirmation
    await polled_once(bot)

    fresh_sandbox.act(TAILWIND, "win")
    (card,) = await told(bot, WINS, 1)

    assert "Won" in card
    assert "Tailwind Traders - store modernization" in card
    assert "120,000" in card
    assert "Active, Accepted" in card
    assert len(said_in(bot, BIG_LOSSES)) == 1  # its own confirmation only: a win, too small
    assert len(bot.slack.messages_to(dm_channel_id("U0001"))) == 0

    # Show, clicked in the channel: the referral goes to the clicker's DM (the seller is on
    # its team in the sandbox? no: so they are told why), never into the channel.
    notification = bot.slack.messages_to(WINS)[-1]
    await bot.send(
        bot.requests.action(Action.SHOW, value=TAILWIND, message=notification, channel=WINS)
    )
    await bot.settled()
    assert bot.slack.messages_to(WINS)[-1] == notification  # the card stays as it was
    assert len(bot.slack.messages_to(WINS)) == 2
    answer = said(bot.slack.last_message(dm_channel_id("U0001")))
    assert TAILWIND in answer or "Tailwind" in answer


async def test_filters_by_event_and_value(bot: SlackBot, fresh_sandbox: Sandbox) -> None:
    await subscribe(bot, WINS, "won accepted")
    await subscribe(bot, BIG_LOSSES, "lost declined min=100k")
    await polled_once(bot)

    fresh_sandbox.act(ADVENTURE, "accept")
    fresh_sandbox.act(TAILWIND, "lose", reason="Budget cut")

    wins = await told(bot, WINS, 1)
    losses = await told(bot, BIG_LOSSES, 1)
    assert "Adventure Works - connected factory" in wins[0]
    assert "Tailwind" in losses[0]
    assert "Budget cut" in losses[0]


async def test_a_channel_the_bot_was_removed_from_is_unsubscribed(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    await subscribe(bot, WINS)
    await polled_once(bot)
    bot.slack.close_channel(WINS, "not_in_channel")

    fresh_sandbox.act(TAILWIND, "win")
    for _ in range(200):
        if not await bot.redis.hexists(
            subscriptions_of(bot), f"slack:{bot.requests.team_id}:{WINS}"
        ):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("still subscribed")


async def test_subscriptions_are_listed_and_ended_from_the_channel(bot: SlackBot) -> None:
    await subscribe(bot, WINS, "all min=50k")
    await subscribe(bot, BIG_LOSSES)

    await bot.send(bot.requests.command("subscriptions", channel=WINS, channel_name="c0wins"))
    await bot.settled()
    listing = said(bot.slack.last_message(dm_channel_id("U0001")))
    assert "This channel hears about: new accepted won lost declined expired, min=50000" in listing
    assert "Other channels here: #c0losses: won lost" in listing

    await bot.send(bot.requests.command("unsubscribe", channel=WINS, channel_name="c0wins"))
    await bot.settled()
    assert "no longer hears" in said(bot.slack.last_message(dm_channel_id("U0001")))


async def test_subscribing_a_dm_or_with_a_wrong_word_says_how(bot: SlackBot) -> None:
    await bot.send(bot.requests.command("subscribe"))
    await bot.settled()
    assert "Subscriptions are for channels" in said(bot.slack.last_message(dm_channel_id("U0001")))

    await bot.send(bot.requests.command("subscribe wonn", channel=WINS, channel_name="c0wins"))
    await bot.settled()
    answer = said(bot.slack.last_message(dm_channel_id("U0001")))
    assert "I don't know 'wonn' here. Did you mean won?" in answer
    assert bot.slack.messages_to(WINS) == []


async def test_a_private_channel_the_bot_is_not_in_is_not_subscribed(bot: SlackBot) -> None:
    bot.slack.close_channel("G0PRIVATE", "not_in_channel")
    await subscribe(bot, "G0PRIVATE")
    answer = said(bot.slack.last_message(dm_channel_id("U0001")))
    assert "Invite me to the channel first" in answer
    assert not await bot.redis.hexists(
        subscriptions_of(bot), f"slack:{bot.requests.team_id}:G0PRIVATE"
    )


async def test_an_event_fanned_out_twice_is_still_told_once(bot: SlackBot) -> None:
    """As when a worker dies after queueing the cards but before acknowledging the event:
    another worker fans it out again."""
    await subscribe(bot, WINS)
    change = ReferralChange(
        referral_id=TAILWIND,
        updated=datetime(2026, 12, 4, 9, 0, tzinfo=UTC),
        status="Closed",
        substatus="Won",
        before=Before(status="Active", substatus="Accepted"),
        name="Tailwind Traders - store modernization",
    )
    jobs = JobQueue(bot.redis, stream=bot.job_stream)
    for _ in range(3):
        await jobs.put(CHANGE, change.model_dump(mode="json"))

    (card,) = await told(bot, WINS, 1)
    assert "Tailwind Traders - store modernization" in card
