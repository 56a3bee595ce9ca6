"""Naming a referral by words in Teams, end to end: several matches come as a pick list card
whose buttons run the same command on the referral picked (a valid Adaptive Card, answered in
place when clicked)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from cards.ids import Action
from cards.teams import TypedText, read_action
from tests.cards.test_teams import executes, schema_errors, texts
from tests.handlers.teams.conftest import DM, BotOf, TeamsBot, card_of
from tests.support.sandbox import Sandbox

NORTHWIND = "5e7a9c1d-3f5b-4d7e-9b1c-3e5a7c9e1b04"
NORTHWIND_MICROSOFT = "1d3f5b7e-9a1c-4e3f-8d5b-7a9c1e3f5d05"


@pytest.fixture
async def bot(bot_of: BotOf) -> AsyncIterator[TeamsBot]:
    # Ada, the stand-in's seller, is an admin: she sees every referral.
    async with bot_of(referral_admins="ada.lovelace@contoso.example") as started:
        yield started


def words(content: dict[str, Any]) -> str:
    return " ".join(texts(content))


async def test_a_pick_list_card_updates_the_referral_picked(
    bot: TeamsBot, fresh_sandbox: Sandbox
) -> None:
    await bot.say("referral update northwind", cards=1)
    assert bot.current is not None
    content = bot.current["card"]
    assert schema_errors(content) == []
    assert "2 referrals match 'northwind'. Which one?" in words(content)
    picks = [action for action in executes(content) if action["verb"] == Action.PICK]
    assert {action["data"]["value"] for action in picks} == {
        f"/referral update {NORTHWIND}",
        f"/referral update {NORTHWIND_MICROSOFT}",
    }
    assert {action["title"] for action in picks} == {"Update"}

    await bot.click(Action.PICK, value=f"/referral update {NORTHWIND_MICROSOFT}")

    question = card_of(bot.teams.messages_in(DM)[-1])
    assert schema_errors(question) == []
    assert "What do you want to change?" in words(question)
    assert [r for r in fresh_sandbox.requests() if r["method"] != "GET"] == []


async def test_none_matching_offers_the_closest_names(
    bot: TeamsBot, fresh_sandbox: Sandbox
) -> None:
    await bot.say("referral show Woodgrve", cards=1)
    assert bot.current is not None

    said = words(bot.current["card"])

    assert "No referral matches 'Woodgrve'." in said
    assert "Closest names: Woodgrove Bank - secure collaboration." in said


def test_a_pick_reads_back_as_the_command_it_stands_for() -> None:
    data = {"verb": Action.PICK.value, "value": f"/referral close {NORTHWIND}"}

    assert read_action(data) == TypedText(text=f"/referral close {NORTHWIND}", step=None)
    assert read_action({"verb": Action.PICK.value, "value": "  "}) is None
