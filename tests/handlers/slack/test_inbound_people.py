"""Incoming referrals put in front of people in Slack: the sellers whose referral it is (its
team, or its customer's other referrals) hear of it in their DM, once; Assign puts a seller on
its team and tells them; ``/referral inbox`` lists what waits for an answer, oldest first,
and the App Home tab shows it too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.inbound.store import InboundStore
from cards.ids import INBOUND_BLOCK_PREFIX, Action
from tests.handlers.slack.conftest import BotOf, SlackBot
from tests.handlers.slack.test_inbound import INBOUND, arrived, cards_in, controls, said
from tests.handlers.slack.test_notifications import polled_once
from tests.support.sandbox import Sandbox
from tests.support.slack_payloads import SlackUser, dm_channel_id
from tests.support.slack_stand_in import SlackApiStandIn

ADA = "U0001"  # a referral admin
GRACE = "U0002"
JANE = SlackUser("U0003", "jane", "Jane Doe", "Jane", "Doe", "jane.doe@contoso.com")
"""On the team of the seeded Tailwind Traders referral (the customer's seller)."""
GRACE_MEMBER = {"firstName": "Grace", "lastName": "Hopper", "email": "grace.hopper@contoso.example"}


@pytest.fixture
async def bot(bot_of: BotOf, fresh_slack_api: SlackApiStandIn) -> AsyncIterator[SlackBot]:
    fresh_slack_api.set_user(JANE)
    async with bot_of(
        inbound_channel=INBOUND, poll_interval_seconds=0.2, referral_admins=ADA
    ) as started:
        await polled_once(started)
        yield started


def dms(bot: SlackBot, user: str) -> list[dict[str, Any]]:
    return bot.slack.messages_to(dm_channel_id(user))


async def test_the_seller_on_its_team_hears_of_it_in_their_dm_once(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    fresh_sandbox.send_incoming(team=[GRACE_MEMBER])

    await arrived(bot)

    (told,) = dms(bot, GRACE)
    assert "a customer or team of yours" in said(told)
    assert "Incoming referral from Microsoft" in said(told)
    assert controls(told) == [Action.ACCEPT, Action.DECLINE, Action.ASSIGN]
    assert dms(bot, JANE.id) == []
    assert dms(bot, ADA) == []


async def test_the_seller_of_its_customer_hears_of_it(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    fresh_sandbox.send_incoming(customerProfile={"name": "Tailwind Traders"})

    await arrived(bot)

    (told,) = dms(bot, JANE.id)
    assert "Tailwind Traders" in said(told)
    assert dms(bot, GRACE) == []


async def test_accepted_from_the_dm_every_card_shows_it(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    sent = fresh_sandbox.send_incoming(team=[GRACE_MEMBER])
    await arrived(bot)
    (told,) = dms(bot, GRACE)

    await bot.send(bot.requests.action(Action.ACCEPT, value=sent["id"], message=told, user=GRACE))
    await bot.settled()

    (dm_card,) = dms(bot, GRACE)
    (channel_card,) = cards_in(bot)
    for card in (dm_card, channel_card):
        assert "Accepted by Grace Hopper" in said(card)
        assert controls(card) == []


async def test_assign_puts_the_seller_on_its_team_and_tells_them(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    sent = fresh_sandbox.send_incoming()
    (card,) = await arrived(bot)

    await bot.send(
        bot.requests.action(
            Action.ASSIGN, user_picked=GRACE, message=card, channel=INBOUND, user=ADA
        )
    )
    await bot.settled()

    team = fresh_sandbox.referral(sent["id"])["team"]
    assert [(m["firstName"], m["lastName"], m["email"]) for m in team] == [
        ("Grace", "Hopper", "grace.hopper@contoso.example")
    ]
    (patch,) = [call for call in fresh_sandbox.requests() if call["method"] == "PATCH"]
    assert patch["headers"]["if-match"] == sent["eTag"]
    (shown,) = cards_in(bot)
    assert "Assigned to" in said(shown)
    assert "Grace Hopper" in said(shown)
    assert controls(shown) == [Action.ACCEPT, Action.DECLINE, Action.ASSIGN]  # still waiting
    (told,) = dms(bot, GRACE)
    assert "Ada Lovelace assigned you this incoming referral" in said(told)
    record = await InboundStore(bot.redis, stream=bot.job_stream).get(sent["id"])
    assert record.assignee == f"slack:{bot.requests.team_id}:{GRACE}"


async def test_the_inbox_lists_what_waits_oldest_first_with_days_left(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    fresh_sandbox.send_incoming(name="First in")
    await arrived(bot, 1)
    fresh_sandbox.send_incoming(name="Second in")
    await arrived(bot, 2)

    await bot.send(bot.requests.command("inbox", user=ADA))
    await bot.settled()

    inbox = said(bot.slack.last_message(dm_channel_id(ADA)))
    assert inbox.index("First in") < inbox.index("Second in")
    assert "days left" in inbox
    assert "Incoming referrals waiting for an answer" in inbox


async def test_a_seller_sees_only_those_that_are_theirs_in_the_inbox(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    fresh_sandbox.send_incoming(name="Grace's", team=[GRACE_MEMBER])
    # Another customer: a referral of the same customer would be Grace's too.
    fresh_sandbox.send_incoming(name="Someone else's", customerProfile={"name": "Fourth Coffee"})
    await arrived(bot, 2)

    await bot.send(bot.requests.command("inbox", user=GRACE))
    await bot.settled()

    inbox = said(bot.slack.last_message(dm_channel_id(GRACE)))
    assert "Grace's" in inbox
    assert "Someone else's" not in inbox


async def test_app_home_shows_what_waits_with_its_buttons(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    sent = fresh_sandbox.send_incoming(name="Litware - home")
    await arrived(bot)

    await bot.send(bot.requests.home_opened(user=ADA))
    await bot.settled()

    (published,) = bot.slack.calls("views.publish")
    view = published.args["view"]
    shown = str(view)
    assert "Litware - home" in shown
    block_ids = [block.get("block_id") for block in view["blocks"]]
    assert f"{INBOUND_BLOCK_PREFIX}{sent['id']}" in block_ids
