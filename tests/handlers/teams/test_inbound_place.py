"""Choosing the triage place in Teams: only a named referral admin may (with none named,
nobody may: the place decides who reads every incoming deal), and a channel chosen after
referrals arrived gets the cards of those still waiting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.inbound.places import InboundPlaces
from bot.inbound.store import InboundStatus, InboundStore
from tests.handlers.slack.test_notifications import polled_once
from tests.handlers.teams.conftest import BotOf, TeamsBot, card_of
from tests.handlers.teams.test_approvals import EDSGER
from tests.handlers.teams.test_inbound import TRIAGE, card_arrived, cards_in_channel, said
from tests.support.sandbox import Sandbox
from tests.support.teams_stand_in import SELLER, TENANT_ID, TeamsStandIn


@pytest.fixture
async def unconfigured(bot_of: BotOf, fresh_teams_api: TeamsStandIn) -> AsyncIterator[TeamsBot]:
    fresh_teams_api.set_user(EDSGER)
    async with bot_of(poll_interval_seconds=0.2) as started:
        yield started


@pytest.fixture
async def bot(bot_of: BotOf, fresh_teams_api: TeamsStandIn) -> AsyncIterator[TeamsBot]:
    fresh_teams_api.set_user(EDSGER)
    async with bot_of(referral_admins=SELLER.aad_object_id, poll_interval_seconds=0.2) as started:
        await polled_once(started)  # type: ignore[arg-type]
        yield started


async def test_with_no_referral_admins_nobody_makes_a_channel_the_triage_place(
    unconfigured: TeamsBot,
) -> None:
    bot = unconfigured
    await bot.post(bot.activities.message("referral inbound here", user=SELLER, channel=TRIAGE))
    await bot.settled()

    refusal = said(bot.teams.last_message(TRIAGE.id))
    assert "Only referral admins" in refusal
    assert "REFERRAL_ADMINS, which is empty" in refusal
    assert await InboundPlaces(bot.redis, stream=bot.job_stream).get("teams", TENANT_ID) is None


async def test_a_channel_chosen_after_a_referral_arrived_gets_its_card(
    bot: TeamsBot, fresh_sandbox: Sandbox
) -> None:
    sent = fresh_sandbox.send_incoming(name="Litware - early bird")
    store = InboundStore(bot.redis, stream=bot.job_stream)
    for _ in range(200):  # the poll files it, with nowhere to post it yet
        if any(record.id == sent["id"] for record in await store.waiting(limit=10)):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the incoming referral was not filed")
    await bot.settled()
    assert cards_in_channel(bot) == []

    before = len(cards_in_channel(bot))
    await bot.post(bot.activities.message("referral inbound here", user=SELLER, channel=TRIAGE))
    card = await card_arrived(bot, before)

    assert "Litware - early bird" in said(card_of(card))
    told = [said(message) for message in bot.teams.messages_in(TRIAGE.id)]
    assert any("The one waiting for an answer is posted here too" in text for text in told)
    record = await store.get(sent["id"])
    assert record.status is InboundStatus.WAITING
    # Posted once: choosing the same channel again adds no second card.
    await bot.post(bot.activities.message("referral inbound here", user=SELLER, channel=TRIAGE))
    await bot.settled()
    await asyncio.sleep(0.3)
    await bot.settled()
    assert len(cards_in_channel(bot)) == before + 1
