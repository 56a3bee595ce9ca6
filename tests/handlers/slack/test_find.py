"""Naming a referral by words in Slack, through signed payloads against the sandbox: several
matches come as a pick list whose buttons run the same command on the referral picked."""

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

NORTHWIND = "5e7a9c1d-3f5b-4d7e-9b1c-3e5a7c9e1b04"
NORTHWIND_MICROSOFT = "1d3f5b7e-9a1c-4e3f-8d5b-7a9c1e3f5d05"
SELLER = "U0001"  # Ada, a referral admin: she sees every referral
SELLER_DM = dm_channel_id(SELLER)


@pytest.fixture
async def bot(bot_of: BotOf) -> AsyncIterator[SlackBot]:
    async with bot_of(referral_admins=SELLER) as started:
        yield started


def said(message: dict[str, Any]) -> str:
    return str(message.get("text", "")) + json.dumps(message.get("blocks", []))


def picks(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        block["accessory"]
        for block in message["blocks"]
        if (block.get("accessory") or {}).get("action_id") == Action.PICK
    ]


async def typed(bot: SlackBot, text: str) -> dict[str, Any]:
    """``/referral <text>``; the last message it left in the seller's DM."""
    await bot.send(bot.requests.command(text))
    await bot.settled()
    return bot.slack.last_message(SELLER_DM)


async def test_several_matches_come_as_a_pick_list_and_a_click_shows_the_one_picked(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    card = await typed(bot, "show northwind")

    assert "2 referrals match 'northwind'. Which one?" in said(card)
    buttons = picks(card)
    assert {button["value"] for button in buttons} == {
        f"/referral show {NORTHWIND}",
        f"/referral show {NORTHWIND_MICROSOFT}",
    }
    assert {button["text"]["text"] for button in buttons} == {"Show"}
    microsoft = next(b for b in buttons if b["value"].endswith(NORTHWIND_MICROSOFT))

    response = await bot.send(
        bot.requests.action(Action.PICK, value=microsoft["value"], message=card)
    )
    await bot.settled()

    assert response.status_code == 200
    shown = bot.slack.last_message(SELLER_DM)
    assert "Northwind Traders - Contoso Experience Platform (Microsoft)" in said(shown)
    assert NORTHWIND_MICROSOFT in said(shown)


async def test_a_pick_list_for_close_starts_closing_the_one_picked(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    card = await typed(bot, "close northwind")
    buttons = picks(card)
    assert {button["text"]["text"] for button in buttons} == {"Close"}
    first = next(b for b in buttons if b["value"] == f"/referral close {NORTHWIND}")

    await bot.send(bot.requests.action(Action.PICK, value=first["value"], message=card))
    await bot.settled()

    question = bot.slack.last_message(SELLER_DM)
    assert "How did it end?" in said(question)
    assert [r for r in fresh_sandbox.requests() if r["method"] != "GET"] == []


async def test_one_match_by_words_is_shown_at_once(bot: SlackBot, fresh_sandbox: Sandbox) -> None:
    card = await typed(bot, "show woodgrove")

    assert "Woodgrove Bank - secure collaboration" in said(card)
    assert picks(card) == []


async def test_a_number_picks_from_the_list_shown_before(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    listed = await typed(bot, "find northwind")
    assert "Referrals matching 'northwind'" in said(listed)
    shows = [
        block["accessory"]["value"]
        for block in listed["blocks"]
        if (block.get("accessory") or {}).get("action_id") == Action.SHOW
    ]

    card = await typed(bot, "show 2")

    assert shows[1] in said(card)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"/referral update {NORTHWIND}", Typed(f"/referral update {NORTHWIND}")),
        ("", None),
        ("  ", None),
        (None, None),
    ],
)
def test_a_pick_click_reads_as_the_command_it_stands_for(
    value: str | None, expected: Typed | None
) -> None:
    clicked = {"action_id": Action.PICK.value, "type": "button", "value": value}

    assert action_input({key: v for key, v in clicked.items() if v is not None}) == expected
