"""Teams end to end: referrals only to their team, and never into a channel.

Ada (the stand-in's seller, ada.lovelace@contoso.example) is put on Tailwind's team; the
seeded Northwind referral is Raj's.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.partner_center.client import PartnerCenterClient
from bot.referrals.models import Member
from tests.cards.test_teams import texts
from tests.handlers.teams.conftest import DM, TeamsBot, card_of
from tests.support.sandbox import Sandbox
from tests.support.teams_stand_in import DEFAULT_TEAM, SEND

TAILWIND = "7b9d2e4f-6a8c-4b1d-8e3f-5a7c9e1b3d02"
NORTHWIND = "5e7a9c1d-3f5b-4d7e-9b1c-3e5a7c9e1b04"
ADA = Member(first_name="Ada", last_name="Lovelace", email="ada.lovelace@contoso.example")


def words(message: dict[str, Any]) -> str:
    return " ".join(texts(card_of(message)))


@pytest.fixture
async def on_tailwind(client_for_sandbox: PartnerCenterClient, fresh_sandbox: Sandbox) -> None:
    await client_for_sandbox.add_team_member(TAILWIND, ADA)
    fresh_sandbox.admin.delete("/requests").raise_for_status()


@pytest.mark.usefixtures("on_tailwind")
@pytest.mark.parametrize(
    "line",
    [
        "referral list",
        "referral list mine",
        f"referral show {TAILWIND}",
        "referral show tailwind",
        "referral find tailwind",
        # A draft on a referral shows its values in its questions and review.
        f"referral update {TAILWIND}",
        f"referral close {TAILWIND}",
        f"referral team {TAILWIND}",
    ],
)
async def test_in_a_channel_referrals_are_not_posted(
    bot: TeamsBot, fresh_sandbox: Sandbox, line: str
) -> None:
    message = bot.activities.message(line, channel=DEFAULT_TEAM.channels[0])
    assert (await bot.post(message)).status_code == 200
    await bot.settled()
    (sent,) = bot.teams.calls(SEND)
    said = " ".join(texts(card_of(sent.activity)))
    assert "Tailwind" not in said
    assert TAILWIND not in said
    assert "1:1 chat" in said
    assert fresh_sandbox.requests() == []  # nothing was even read


@pytest.mark.usefixtures("on_tailwind")
async def test_in_the_1_1_chat_the_list_holds_the_sellers_referrals(bot: TeamsBot) -> None:
    await bot.say("referral list", cards=1)
    said = words(bot.teams.messages_in(DM)[-1])
    assert "Tailwind Traders" in said
    assert "Northwind" not in said


@pytest.mark.usefixtures("on_tailwind")
async def test_another_sellers_referral_cannot_be_closed(
    bot: TeamsBot, fresh_sandbox: Sandbox, client_for_sandbox: PartnerCenterClient
) -> None:
    await bot.say(f"referral close {NORTHWIND}", cards=1)
    assert "not on the team" in words(bot.teams.messages_in(DM)[-1])
    await bot.say("won")
    await bot.say("submit")
    assert [r for r in fresh_sandbox.requests() if r["method"] != "GET"] == []
    assert (await client_for_sandbox.get(NORTHWIND)).status == "Active"
