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

from bot.approvals.places import ApprovalPlaces
from bot.approvals.store import Approvals, ApprovalStatus
from cards.ids import REASON_INPUT, Action
from handlers.approvals import DECISION_TAKEN, REASON_NEEDED
from tests.cards.test_teams import executes, inputs
from tests.handlers.slack.test_approvals import ANSWERS, NORTHWIND, patches, registrations
from tests.handlers.teams.conftest import BotOf, TeamsBot, card_of
from tests.support.sandbox import Sandbox
from tests.support.teams_stand_in import (
    DEFAULT_TEAM,
    MANAGER,
    SELLER,
    SEND,
    TENANT_ID,
    UPDATE,
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
async def bot(bot_of: BotOf, fresh_teams_api: TeamsStandIn) -> AsyncIterator[TeamsBot]:
    fresh_teams_api.set_user(ALAN)
    fresh_teams_api.set_user(EDSGER)
    async with bot_of(
        approvers=f"{MANAGER.aad_object_id},{ALAN.email}",
        referral_admins=SELLER.aad_object_id,
    ) as started:
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


def updates_of(bot: TeamsBot, message_id: str) -> int:
    """How many times the bot rewrote its message ``message_id``."""
    return sum(call.path.endswith(f"/activities/{message_id}") for call in bot.teams.calls(UPDATE))


def posted(bot: TeamsBot, *users: TeamsUser) -> list[dict[str, Any]]:
    """The bot's messages in the approvals channel (its threads included) and in the 1:1
    chats of ``users``."""
    messages = bot.teams.messages_in(APPROVALS.id)
    for user in users:
        messages.extend(bot.teams.messages_in(personal_conversation_id(user)))
    return messages


def message_ids(bot: TeamsBot, *users: TeamsUser) -> set[str]:
    return {str(message["id"]) for message in posted(bot, *users)}


def said_since(bot: TeamsBot, before: set[str], *users: TeamsUser) -> list[str]:
    """What the bot posted, not in ``before`` (message ids), where :func:`posted` looks."""
    return [said(message) for message in posted(bot, *users) if message["id"] not in before]


async def status_of(bot: TeamsBot, approval: str) -> ApprovalStatus:
    return (await Approvals(bot.redis, stream=bot.job_stream).get(approval)).status


# The approvals place ------------------------------------------------------------------------


@pytest.mark.parametrize("approver", [MANAGER, ALAN], ids=["by-object-id", "by-email"])
async def test_only_an_approver_makes_a_team_channel_the_approvals_place(
    bot: TeamsBot, approver: TeamsUser
) -> None:
    places = ApprovalPlaces(bot.redis, stream=bot.job_stream)

    await make_approvals_channel(bot, EDSGER)

    assert "Only approvers decide" in said(bot.teams.last_message(APPROVALS.id))
    assert await places.get("teams", TENANT_ID) is None
    await typed(bot, f"referral register {NORTHWIND}")
    assert "No approvals channel is set up" in chat_with(bot, SELLER)[-1]

    await make_approvals_channel(bot, approver)

    assert "now come to" in said(bot.teams.last_message(APPROVALS.id))
    place = await places.get("teams", TENANT_ID)
    assert place is not None
    assert place.id == APPROVALS.id  # the channel, not the thread it was typed in
    card_id = await ask_for_registration(bot)
    assert verbs(card_at(bot, card_id)) == [Action.APPROVE, Action.REJECT]


# Deciding in the channel --------------------------------------------------------------------


async def test_asked_in_the_chat_approved_in_the_channel_sent_once_and_the_requester_told(
    bot: TeamsBot, fresh_sandbox: Sandbox
) -> None:
    await make_approvals_channel(bot)

    card_id = await ask_for_registration(bot)

    assert any("Sent to the approvers" in line for line in chat_with(bot, SELLER)[-2:])
    asked = card_at(bot, card_id)
    shown = said(asked)
    assert "Northwind Traders - Contoso Experience Platform" in shown
    assert "Ada Lovelace" in shown
    assert "DEAL-123456-XYZ" in shown
    assert verbs(asked) == [Action.APPROVE, Action.REJECT]
    (box,) = inputs(asked)
    assert box["id"] == REASON_INPUT
    assert registrations(fresh_sandbox) == []  # nothing is sent before a decision

    answer = await click(bot, card_id, Action.APPROVE, user=MANAGER)

    assert answer == DECISION_TAKEN  # to the clicker alone: the shared card is not answered
    (registered,) = registrations(fresh_sandbox)
    assert registered["type"] == "AzureIPCoSell"
    assert registered["contract"]["value"] == 30000
    assert registered["contract"]["startDateTime"].startswith("2026-12-01")
    [solution] = registered["solutionDetails"]
    assert solution["id"] == "DEAL-123456-XYZ"
    assert len(patches(fresh_sandbox)) == 1
    decided = card_at(bot, card_id)  # the same message, rewritten in place
    assert updates_of(bot, card_id) == 1
    assert "approved by Grace Hopper" in said(decided)
    assert verbs(decided) == []
    assert inputs(decided) == []
    assert "Grace Hopper approved your deal registration" in chat_with(bot, SELLER)[-1]
    approval = approval_id(asked)
    assert await status_of(bot, approval) is ApprovalStatus.SUBMITTED


@pytest.mark.parametrize("who", [EDSGER, SELLER], ids=["a-stranger", "the-requester"])
async def test_a_non_approver_and_the_requester_are_refused_and_nothing_changes(
    bot: TeamsBot, fresh_sandbox: Sandbox, who: TeamsUser
) -> None:
    await make_approvals_channel(bot)
    card_id = await ask_for_registration(bot)
    posted = bot.teams.message(card_id)
    before = message_ids(bot, who, SELLER)
    sent_before = len(bot.teams.calls(SEND))

    answer = await click(bot, card_id, Action.APPROVE, user=who)
    await bot.settled()

    # The click's own answer is the refusal: the clicker alone sees it, not the channel.
    assert "nothing changed" in answer.lower()
    assert bot.teams.message(card_id) == posted
    assert updates_of(bot, card_id) == 0
    assert patches(fresh_sandbox) == []
    assert await status_of(bot, approval_id(card_of(posted))) is ApprovalStatus.PENDING
    assert said_since(bot, before, who, SELLER) == []
    assert len(bot.teams.calls(SEND)) == sent_before  # nothing said anywhere, the thread too


async def test_rejected_with_the_reason_typed_on_the_card_and_the_requester_told(
    bot: TeamsBot, fresh_sandbox: Sandbox
) -> None:
    await make_approvals_channel(bot)
    card_id = await ask_for_registration(bot)

    answer = await click(bot, card_id, Action.REJECT, user=ALAN, reason="  Dates wrong ")

    assert answer == DECISION_TAKEN
    rejected = said(card_at(bot, card_id))
    assert "rejected by Alan Turing: Dates wrong" in rejected
    assert verbs(card_at(bot, card_id)) == []
    told = chat_with(bot, SELLER)[-1]
    assert "Alan Turing rejected your deal registration" in told
    assert "Dates wrong" in told
    assert patches(fresh_sandbox) == []
    assert registrations(fresh_sandbox) == []


@pytest.mark.parametrize("reason", ["", "   "], ids=["empty", "blank"])
async def test_a_rejection_without_a_reason_is_refused_and_nothing_changes(
    bot: TeamsBot, reason: str
) -> None:
    await make_approvals_channel(bot)
    card_id = await ask_for_registration(bot)
    posted = bot.teams.message(card_id)
    before = message_ids(bot, MANAGER, SELLER)

    answer = await click(bot, card_id, Action.REJECT, user=MANAGER, reason=reason)

    assert answer == REASON_NEEDED
    assert bot.teams.message(card_id) == posted
    assert updates_of(bot, card_id) == 0
    assert said_since(bot, before, MANAGER, SELLER) == []
    assert await status_of(bot, approval_id(card_of(posted))) is ApprovalStatus.PENDING


# Deciding from the 1:1 chat, and taking a request back ----------------------------------------


async def test_the_approvers_list_in_their_chat_decides_and_the_channel_card_follows(
    bot: TeamsBot, fresh_sandbox: Sandbox
) -> None:
    await make_approvals_channel(bot)
    card_id = await ask_for_registration(bot)
    approval = approval_id(card_at(bot, card_id))

    await typed(bot, "referral approvals", user=MANAGER)

    listed = bot.teams.last_message(personal_conversation_id(MANAGER))
    content = card_of(listed)
    assert "Waiting for your decision" in said(content)
    assert "Northwind Traders - Contoso Experience Platform" in said(content)
    assert [(a["verb"], a["data"]["value"]) for a in executes(content)] == [
        (Action.APPROVE, approval),
        (Action.REJECT, approval),
    ]
    assert [box["id"] for box in inputs(content)] == [f"{REASON_INPUT}:{approval}"]

    answer = await click(
        bot, listed["id"], Action.APPROVE, user=MANAGER, in_channel=False, approval=approval
    )

    assert answer == DECISION_TAKEN
    assert len(registrations(fresh_sandbox)) == 1
    assert len(patches(fresh_sandbox)) == 1
    in_channel = card_at(bot, card_id)
    assert "approved by Grace Hopper" in said(in_channel)
    assert verbs(in_channel) == []
    assert verbs(card_at(bot, listed["id"])) == []  # the list's card, decided too
    assert "Grace Hopper approved your deal registration" in chat_with(bot, SELLER)[-1]


async def test_withdrawn_by_the_requester_the_channel_card_says_so_and_approve_sends_nothing(
    bot: TeamsBot, fresh_sandbox: Sandbox
) -> None:
    await make_approvals_channel(bot)
    card_id = await ask_for_registration(bot)
    asked = card_at(bot, card_id)
    (approve,) = [a for a in executes(asked) if a["verb"] == Action.APPROVE]

    await typed(bot, f"referral withdraw {NORTHWIND}")

    assert "Withdrawn" in chat_with(bot, SELLER)[-1]
    withdrawn = card_at(bot, card_id)
    assert "withdrawn by the requester" in said(withdrawn)
    assert verbs(withdrawn) == []
    assert await status_of(bot, approval_id(asked)) is ApprovalStatus.WITHDRAWN

    # An approver whose client still shows the old card clicks its Approve.
    before = message_ids(bot, MANAGER)
    stale = bot.activities.card_action(
        Action.APPROVE, approve["data"], reply_to_id=card_id, user=MANAGER, channel=APPROVALS
    )
    told = answered_with_a_message(await bot.post(stale))
    await bot.settled()

    assert "Ada Lovelace withdrew this" in told  # to the clicker alone
    assert patches(fresh_sandbox) == []
    assert registrations(fresh_sandbox) == []
    assert "withdrawn by the requester" in said(card_at(bot, card_id))
    assert said_since(bot, before, MANAGER) == []
