"""Teams channels hearing about referral changes: subscribed from a channel post, told once of
a change Microsoft makes, as the poll finds it; the 1:1 chat hears nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.jobs import JobQueue
from bot.jobs.keys import StreamKeys
from bot.notifications.changes import CHANGE, Before, ReferralChange
from cards.ids import Action
from tests.cards.test_teams import executes
from tests.handlers.teams.conftest import DM, BotOf, TeamsBot, card_of
from tests.support.sandbox import Sandbox
from tests.support.teams_stand_in import DEFAULT_TEAM

TAILWIND = "7b9d2e4f-6a8c-4b1d-8e3f-5a7c9e1b3d02"
CHANNEL = DEFAULT_TEAM.channels[0]


@pytest.fixture
async def bot(bot_of: BotOf) -> AsyncIterator[TeamsBot]:
    async with bot_of(poll_interval_seconds=0.2) as started:
        yield started


async def test_a_teams_channel_subscribes_and_hears_of_a_win_once(
    bot: TeamsBot, fresh_sandbox: Sandbox
) -> None:
    post = bot.activities.message("referral subscribe won", channel=CHANNEL)
    assert (await bot.post(post)).status_code == 200
    await bot.settled()
    (confirmation,) = bot.teams.messages_in(CHANNEL.id)
    assert "This channel now hears about referrals: won" in json.dumps(confirmation)
    cursor = f"{StreamKeys(bot.job_stream).slot}:poll:cursor"
    for _ in range(200):  # the first poll: a baseline, no events
        if await bot.redis.exists(cursor):
            break
        await asyncio.sleep(0.05)

    fresh_sandbox.act(TAILWIND, "win")
    for _ in range(200):
        if len(bot.teams.messages_in(CHANNEL.id)) > 1:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    await bot.settled()

    _, card = bot.teams.messages_in(CHANNEL.id)
    shown = json.dumps(card)
    assert "Tailwind Traders - store modernization" in shown
    assert "Won" in shown
    assert bot.teams.messages_in(DM) == []


async def test_show_on_a_channel_card_answers_the_clicker_alone_and_leaves_the_card(
    bot: TeamsBot,
) -> None:
    subscribe = bot.activities.message("referral subscribe all", channel=CHANNEL)
    assert (await bot.post(subscribe)).status_code == 200
    await bot.settled()
    change = ReferralChange(
        referral_id=TAILWIND,
        updated=datetime(2026, 12, 4, 9, 0, tzinfo=UTC),
        status="Closed",
        substatus="Won",
        before=Before(status="Active", substatus="Accepted"),
        name="Tailwind Traders - store modernization",
    )
    await JobQueue(bot.redis, stream=bot.job_stream).put(CHANGE, change.model_dump(mode="json"))
    for _ in range(200):
        if len(bot.teams.messages_in(CHANNEL.id)) > 1:
            break
        await asyncio.sleep(0.05)
    notification = bot.teams.messages_in(CHANNEL.id)[-1]
    (show,) = [a for a in executes(card_of(notification)) if a["verb"] == Action.SHOW]

    click = bot.activities.card_action(
        Action.SHOW, show["data"], reply_to_id=notification["id"], channel=CHANNEL
    )
    response = await bot.post(click)
    await bot.settled()

    body = response.json()
    assert body["type"] == "application/vnd.microsoft.activity.message"
    assert "1:1 chat" in body["value"]
    assert TAILWIND in body["value"]
    assert bot.teams.messages_in(CHANNEL.id)[-1] == notification
