"""Incoming referrals in Teams, through signed activities against the sandbox: an admin makes
a team channel the triage place (``referral inbound here``), the sandbox sends a referral as
Microsoft, its card lands in that channel, and an ``Action.Execute`` click accepts or
declines it once; the clicker alone hears the click was taken, and the channel's card is
rewritten for everyone with who answered and no buttons."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from bot.conversation.chat.inbound_rules import InboundRules
from bot.conversation.chat.inbound_timing import InboundTimer
from bot.inbound.places import InboundPlaces
from bot.inbound.store import InboundStatus, InboundStore
from bot.jobs import JobQueue
from cards.ids import ASSIGNEE_INPUT, REASON_INPUT, Action
from handlers.approvals import DECISION_TAKEN, DECLINE_REASON_NEEDED
from tests.cards.test_teams import executes, schema_errors
from tests.handlers.slack.test_inbound import patches
from tests.handlers.slack.test_inbound_time import FakeClock
from tests.handlers.slack.test_notifications import polled_once
from tests.handlers.teams.conftest import BotOf, TeamsBot, card_of
from tests.handlers.teams.test_approvals import EDSGER, answered_with_a_message, typed
from tests.support.sandbox import Sandbox
from tests.support.teams_stand_in import (
    DEFAULT_TEAM,
    MANAGER,
    SELLER,
    TENANT_ID,
    UPDATE,
    TeamsStandIn,
)

TRIAGE = DEFAULT_TEAM.channels[0]  # General


@pytest.fixture
async def bot(bot_of: BotOf, fresh_teams_api: TeamsStandIn) -> AsyncIterator[TeamsBot]:
    fresh_teams_api.set_user(EDSGER)
    async with bot_of(referral_admins=SELLER.aad_object_id, poll_interval_seconds=0.2) as started:
        await polled_once(started)  # type: ignore[arg-type]
        await typed(started, "referral inbound here", user=SELLER, in_channel=False)
        yield started


def said(content: Any) -> str:
    return json.dumps(content)


def cards_in_channel(bot: TeamsBot) -> list[dict[str, Any]]:
    """The bot's posts in the triage channel that start threads (its cards)."""
    return [
        message
        for message in bot.teams.messages_in(TRIAGE.id)
        if ";messageid=" not in message["conversation"]["id"]
    ]


async def make_triage_channel(bot: TeamsBot) -> None:
    activity = bot.activities.message("referral inbound here", user=SELLER, channel=TRIAGE)
    response = await bot.post(activity)
    assert response.status_code == 200, response.text
    await bot.settled()


async def card_arrived(bot: TeamsBot, before: int, within: float = 10.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + within
    while len(cards_in_channel(bot)) <= before:
        assert asyncio.get_running_loop().time() < deadline, "no triage card came"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    await bot.settled()
    return cards_in_channel(bot)[-1]


def verbs(content: dict[str, Any]) -> list[str]:
    return [action["verb"] for action in executes(content)]


async def click(bot: TeamsBot, message_id: str, verb: Action, **typed_in: str) -> str:
    content = card_of(bot.teams.message(message_id))
    (action,) = [each for each in executes(content) if each["verb"] == verb]
    user = typed_in.pop("user", None)
    activity = bot.activities.card_action(
        verb,
        {**action["data"], **typed_in},
        reply_to_id=message_id,
        user=MANAGER if user is None else {"edsger": EDSGER, "ada": SELLER}[user],
        channel=TRIAGE,
    )
    answer = answered_with_a_message(await bot.post(activity))
    await bot.settled()
    return answer


async def test_only_an_admin_makes_a_channel_the_triage_place(bot: TeamsBot) -> None:
    places = InboundPlaces(bot.redis, stream=bot.job_stream)
    activity = bot.activities.message("referral inbound here", user=EDSGER, channel=TRIAGE)
    await bot.post(activity)
    await bot.settled()
    assert "Only referral admins" in said(bot.teams.last_message(TRIAGE.id))
    assert await places.get("teams", TENANT_ID) is None

    await make_triage_channel(bot)

    assert "now come to" in said(bot.teams.last_message(TRIAGE.id))
    place = await places.get("teams", TENANT_ID)
    assert place is not None
    assert place.id == TRIAGE.id


async def test_an_incoming_referral_is_triaged_and_accepted_in_the_channel(
    bot: TeamsBot, fresh_sandbox: Sandbox
) -> None:
    await make_triage_channel(bot)
    before = len(cards_in_channel(bot))
    sent = fresh_sandbox.send_incoming(name="Litware - Teams rollout")

    card = await card_arrived(bot, before)

    content = card_of(card)
    assert schema_errors(content) == []
    assert "Incoming referral from Microsoft: Litware - Teams rollout" in said(content)
    assert "days left" in said(content)
    assert verbs(content) == [Action.ACCEPT, Action.DECLINE, Action.ASSIGN]
    answer = await click(bot, card["id"], Action.ACCEPT)
    assert answer == DECISION_TAKEN
    (patch,) = patches(fresh_sandbox)
    assert patch["headers"]["if-match"] == sent["eTag"]
    now = fresh_sandbox.referral(sent["id"])
    assert (now["status"], now["substatus"]) == ("Active", "Accepted")
    rewritten = card_of(bot.teams.message(card["id"]))
    assert "Accepted by Grace Hopper" in said(rewritten)
    assert verbs(rewritten) == []
    assert schema_errors(rewritten) == []
    updates = [call for call in bot.teams.calls(UPDATE) if call.path.endswith(card["id"])]
    assert len(updates) == 1
    # A click on a copy of the card still showing its buttons: told who, privately.
    late = bot.activities.card_action(
        Action.DECLINE,
        {"verb": Action.DECLINE.value, "value": sent["id"], REASON_INPUT: "Too late."},
        reply_to_id=card["id"],
        user=EDSGER,
        channel=TRIAGE,
    )
    told = answered_with_a_message(await bot.post(late))
    await bot.settled()
    assert "Grace Hopper accepted this" in told
    assert len(patches(fresh_sandbox)) == 1


async def test_decline_takes_the_reason_typed_on_the_card(
    bot: TeamsBot, fresh_sandbox: Sandbox
) -> None:
    await make_triage_channel(bot)
    before = len(cards_in_channel(bot))
    sent = fresh_sandbox.send_incoming()
    card = await card_arrived(bot, before)

    refused = await click(bot, card["id"], Action.DECLINE)
    answer = await click(bot, card["id"], Action.DECLINE, **{REASON_INPUT: "Not our field."})

    assert refused == DECLINE_REASON_NEEDED
    assert answer == DECISION_TAKEN
    now = fresh_sandbox.referral(sent["id"])
    assert (now["status"], now["substatus"], now["statusReason"]) == (
        "Closed",
        "Declined",
        "Not our field.",
    )
    rewritten = said(card_of(bot.teams.message(card["id"])))
    assert "Declined by Grace Hopper on " in rewritten
    assert "UTC: Not our field." in rewritten
    record = await InboundStore(bot.redis, stream=bot.job_stream).get(sent["id"])
    assert record.status is InboundStatus.DECLINED


async def test_assign_by_email_puts_the_seller_on_the_team(
    bot: TeamsBot, fresh_sandbox: Sandbox
) -> None:
    await make_triage_channel(bot)
    before = len(cards_in_channel(bot))
    sent = fresh_sandbox.send_incoming()
    card = await card_arrived(bot, before)

    answer = await click(bot, card["id"], Action.ASSIGN, **{ASSIGNEE_INPUT: EDSGER.email})

    assert answer == DECISION_TAKEN
    team = fresh_sandbox.referral(sent["id"])["team"]
    assert [member["email"] for member in team] == [EDSGER.email]
    assert "Edsger Dijkstra" in said(card_of(bot.teams.message(card["id"])))
    assert verbs(card_of(bot.teams.message(card["id"]))) == [
        Action.ACCEPT,
        Action.DECLINE,
        Action.ASSIGN,
    ]


async def test_a_reminder_goes_on_the_cards_thread_and_expiry_clears_the_buttons(
    bot: TeamsBot, fresh_sandbox: Sandbox
) -> None:
    await make_triage_channel(bot)
    before = len(cards_in_channel(bot))
    sent = fresh_sandbox.send_incoming(name="Litware - Teams reminder")
    card = await card_arrived(bot, before)
    store = InboundStore(bot.redis, stream=bot.job_stream)
    deadline = (await store.get(sent["id"])).expires_at
    jobs = JobQueue(bot.redis, stream=bot.job_stream)
    rules = InboundRules(reminder_days=(3, 1))
    clock = FakeClock(deadline - timedelta(days=3) + timedelta(hours=1))

    assert await InboundTimer(store, rules, jobs=jobs, clock=clock).remind_due() == 1
    await bot.settled()
    clock.current = deadline + timedelta(minutes=1)
    assert await InboundTimer(store, rules, jobs=jobs, clock=clock).expire_due() == 1
    await bot.settled()

    (reminder,) = [
        message
        for message in bot.teams.messages_in(TRIAGE.id)
        if message["conversation"]["id"].endswith(f";messageid={card['id']}")
    ]
    assert "Reminder: 3 days left" in said(card_of(reminder))
    expired = card_of(bot.teams.message(card["id"]))
    assert "Expired unanswered" in said(expired)
    assert verbs(expired) == []
    assert schema_errors(expired) == []
