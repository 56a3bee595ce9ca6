"""Deal registrations approved in Teams, through signed activities against the sandbox: an
approver makes a team channel the approvals place, a seller asks in their 1:1 chat, the
request's card goes to that channel, an approver decides with one ``Action.Execute`` click
(there or on the list ``referral approvals`` gives them), and only then is the registration
sent, once; the channel's card is rewritten in place and the requester is told."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from bot.approvals.places import ApprovalPlaces
from bot.approvals.store import Approvals, ApprovalStatus
from cards.ids import REASON_INPUT, Action
from handlers.approvals import DECISION_TAKEN, REASON_NEEDED
from tests.cards.test_teams import executes
from tests.handlers.slack.test_approvals import ANSWERS, NORTHWIND, patches, registrations
from tests.handlers.teams.conftest import TeamsBot, card_of, running, teams_settings
from tests.support.identity_stand_in import IdentityStandIn
from tests.support.sandbox import Sandbox
from tests.support.teams_stand_in import (
    DEFAULT_TEAM,
    MANAGER,
    SELLER,
    TENANT_ID,
    UPDATE,
    TeamsActivities,
    TeamsStandIn,
    TeamsUser,
    personal_conversation_id,
)

APPROVALS = DEFAULT_TEAM.channels[1]  # Deal Approvals
MESSAGE = "application/vnd.microsoft.activity.message"
ALAN = TeamsUser(
    "29:1alan-turing", "4e3d2c1b-0a9f-4e8d-b7c6-5a4b3c2d1e0f", "Alan Turing", "Alan", "Turing",
    "alan.turing@contoso.example",
)  # fmt: skip
"""An approver named in APPROVERS by his email."""
EDSGER = TeamsUser(
    "29:1edsger-dijkstra", "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d", "Edsger Dijkstra", "Edsger",
    "Dijkstra", "edsger.dijkstra@contoso.example",
)  # fmt: skip
"""Neither an approver nor the requester."""


@pytest.fixture
async def bot(
    fresh_sandbox: Sandbox,
    fresh_teams_api: TeamsStandIn,
    teams_activities: TeamsActivities,
    identity: IdentityStandIn,
    redis_url: str,
    redis: Redis,
    redis_namespace: str,
) -> AsyncIterator[TeamsBot]:
    settings = teams_settings(
        fresh_sandbox,
        fresh_teams_api,
        identity,
        redis_url,
        redis_namespace,
        approvers=f"{MANAGER.aad_object_id},{ALAN.email}",
        referral_admins=SELLER.aad_object_id,
    )
    fresh_teams_api.set_user(ALAN)
    fresh_teams_api.set_user(EDSGER)
    async with running(settings, fresh_teams_api, teams_activities, redis) as started:
        yield started


def said(content: Any) -> str:
    return json.dumps(content)


def chat_with(bot: TeamsBot, user: TeamsUser) -> list[str]:
    """What the bot said in its 1:1 chat with ``user``, oldest first."""
    return [said(message) for message in bot.teams.messages_in(personal_conversation_id(user))]


async def typed(
    bot: TeamsBot, text: str, *, user: TeamsUser = SELLER, in_channel: bool = False
) -> None:
    """``user`` types ``text`` in their 1:1 chat with the bot, or (``in_channel``) in a new
    post in the approvals channel mentioning it; the worker's answers are waited for."""
    activity = bot.activities.message(text, user=user, channel=APPROVALS if in_channel else None)
    response = await bot.post(activity)
    assert response.status_code == 200, response.text
    await bot.settled()


async def make_approvals_channel(bot: TeamsBot, user: TeamsUser = MANAGER) -> None:
    await typed(bot, "referral approvals here", user=user, in_channel=True)


async def ask_for_registration(bot: TeamsBot) -> str:
    """The seller's whole request, typed in their 1:1 chat; the id of the approval card that
    came to the approvals channel."""
    before = {message["id"] for message in bot.teams.messages_in(APPROVALS.id)}
    await typed(bot, f"referral register {NORTHWIND}")
    for answer in ANSWERS:
        await typed(bot, answer)
    await typed(bot, "submit")
    (card,) = [m for m in bot.teams.messages_in(APPROVALS.id) if m["id"] not in before]
    return str(card["id"])


def card_at(bot: TeamsBot, message_id: str) -> dict[str, Any]:
    return card_of(bot.teams.message(message_id))


def verbs(content: dict[str, Any]) -> list[str]:
    return [action["verb"] for action in executes(content)]


def approval_id(content: dict[str, Any]) -> str:
    for action in executes(content):
        if action["verb"] == Action.APPROVE:
            return str(action["data"]["value"])
    raise AssertionError(f"no Approve on {said(content)}")


async def click(
    bot: TeamsBot,
    message_id: str,
    verb: Action,
    *,
    user: TeamsUser,
    reason: str | None = None,
    in_channel: bool = True,
    approval: str | None = None,
) -> str:
    """``user`` clicks ``verb`` on the card ``message_id`` (of ``approval``, on a card of
    several), with ``reason`` typed in its box; the invoke's answer, a message to them alone."""
    content = card_at(bot, message_id)
    (action,) = [
        each
        for each in executes(content)
        if each["verb"] == verb and approval in (None, each["data"].get("value"))
    ]
    data = dict(action["data"])
    if reason is not None:
        box = REASON_INPUT if approval is None else f"{REASON_INPUT}:{approval}"
        data[box] = reason  # Teams merges the card's inputs into the data, by id
    activity = bot.activities.card_action(
        verb,
        data,
        reply_to_id=message_id,
        user=user,
        channel=APPROVALS if in_channel else None,
    )
    response = await bot.post(activity)
    answer = answered_with_a_message(response)
    await bot.settled()
    return answer


def answered_with_a_message(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == MESSAGE, body
    return str(body["value"])


async def test_explore(bot: TeamsBot, fresh_sandbox: Sandbox) -> None:
    await make_approvals_channel(bot)
    card_id = await ask_for_registration(bot)
    print("CHANNEL", [said(m)[:300] for m in bot.teams.messages_in(APPROVALS.id)])
    print("DM", [m[:300] for m in chat_with(bot, SELLER)][-3:])
    answer = await click(bot, card_id, Action.APPROVE, user=EDSGER)
    print("ANSWER", answer)
    print("CHANNEL", [said(m)[:400] for m in bot.teams.messages_in(APPROVALS.id)])
    print("EDSGER", chat_with(bot, EDSGER))
    answer = await click(bot, card_id, Action.APPROVE, user=MANAGER)
    print("ANSWER", answer)
    print("CHANNEL", [said(m)[:400] for m in bot.teams.messages_in(APPROVALS.id)])
    print("DM", [m[:600] for m in chat_with(bot, SELLER)][-2:])
    print(patches(fresh_sandbox))
    assert 0
