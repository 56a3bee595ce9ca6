"""Register deal on a shown referral, through signed payloads against the sandbox: the card
offers it only for a referral that could be registered, and a click asks for the registration
exactly as typing ``/referral register ID`` does (both eligibility checks first)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from cards.ids import Action
from handlers.slack.inputs import Typed, action_input
from tests.handlers.slack.conftest import BotOf, SlackBot
from tests.support.sandbox import Sandbox
from tests.support.slack_payloads import dm_channel_id

NORTHWIND = "5e7a9c1d-3f5b-4d7e-9b1c-3e5a7c9e1b04"  # Active, Accepted co-sell; USD 30,000
TAILWIND = "7b9d2e4f-6a8c-4b1d-8e3f-5a7c9e1b3d02"  # Microsoft's own, sent to us: incoming
APPROVALS = "C0APPROVALS"
SELLER = "U0001"  # Ada, a referral admin: she sees every referral
SELLER_DM = dm_channel_id(SELLER)


@pytest.fixture
async def bot(bot_of: BotOf) -> AsyncIterator[SlackBot]:
    async with bot_of(approvals_channel=APPROVALS, referral_admins=SELLER) as started:
        yield started


def said(message: dict[str, Any]) -> str:
    return str(message.get("text", "")) + json.dumps(message.get("blocks", []))


def buttons(message: dict[str, Any], action: Action) -> list[dict[str, Any]]:
    return [
        element
        for block in message["blocks"]
        for element in [*(block.get("elements") or ()), block.get("accessory") or {}]
        if element.get("type") == "button" and element.get("action_id") == action
    ]


async def shown(bot: SlackBot, referral: str) -> dict[str, Any]:
    """The card ``/referral show`` leaves in the seller's DM."""
    await bot.send(bot.requests.command(f"show {referral}"))
    await bot.settled()
    card = bot.slack.last_message(SELLER_DM)
    assert referral in said(card)
    return card


async def test_register_deal_on_a_shown_referral_starts_the_registration(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    card = await shown(bot, NORTHWIND)
    (register,) = buttons(card, Action.REGISTER)
    assert register["value"] == NORTHWIND
    before = len(bot.slack.messages_to(SELLER_DM))

    response = await bot.send(
        bot.requests.action(Action.REGISTER, value=register["value"], message=card)
    )
    await bot.settled()

    assert response.status_code == 200
    after = [said(message) for message in bot.slack.messages_to(SELLER_DM)[before:]]
    report = after[0]
    assert "Your organization may register deals" in report
    assert f"Referral {NORTHWIND} is eligible for deal registration" in report
    (question,) = after[1:]
    assert "When was the contract signed?" in question  # the registration's first question
    checked = [call["path"] for call in fresh_sandbox.requests() if call["method"] == "POST"]
    assert any(path.endswith(f"{NORTHWIND}/dealregistrations/eligibility") for path in checked)
    assert not fresh_sandbox.referral(NORTHWIND).get("registrations")  # approvers decide first


async def test_a_referral_that_cannot_be_registered_has_no_register_button(bot: SlackBot) -> None:
    card = await shown(bot, TAILWIND)

    assert buttons(card, Action.REGISTER) == []


@pytest.mark.parametrize(
    ("value", "typed"),
    [
        (NORTHWIND, Typed(f"/referral register {NORTHWIND}")),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_a_register_click_reads_as_the_command_it_stands_for(
    value: str | None, typed: Typed | None
) -> None:
    clicked = {"action_id": Action.REGISTER.value, "type": "button", "value": value}

    assert action_input({key: v for key, v in clicked.items() if v is not None}) == typed
