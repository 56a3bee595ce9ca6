"""Slack end to end: a seller sees and changes only referrals whose team includes them.

Ada (U0001, ada.lovelace@contoso.example) is on none of the sandbox's seeded referrals.
"""

from __future__ import annotations

from typing import Any

from bot.partner_center.client import PartnerCenterClient
from bot.referrals.models import Member
from tests.handlers.slack.conftest import SlackBot
from tests.support.sandbox import Sandbox
from tests.support.slack_payloads import DEFAULT_USERS, SlackUser, dm_channel_id

DM = dm_channel_id("U0001")
TAILWIND = "7b9d2e4f-6a8c-4b1d-8e3f-5a7c9e1b3d02"  # Active; team: Jane Doe
SEEDED_NAMES = ("Tailwind Traders", "Northwind Traders", "Fabrikam", "Adventure Works")


def texts(call: Any) -> str:
    return str(call.args.get("text", "")) + str(call.args.get("blocks", ""))


def without_email() -> SlackUser:
    ada = DEFAULT_USERS[0]
    return SlackUser(ada.id, ada.name, ada.real_name, ada.first_name, ada.last_name, email="")


def writes(sandbox: Sandbox) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in sandbox.requests() if r["method"] != "GET"]


async def test_another_sellers_referral_is_neither_shown_nor_closed(
    bot: SlackBot, fresh_sandbox: Sandbox, client_for_sandbox: PartnerCenterClient
) -> None:
    await bot.send(bot.requests.command(f"show {TAILWIND}"))
    (shown,) = await bot.slack.wait_for_async("chat.postMessage")
    assert shown.args["channel"] == DM
    assert "not on the team" in texts(shown)
    assert "Tailwind" not in texts(shown)

    await bot.send(bot.requests.command(f"close {TAILWIND}"))
    await bot.send(bot.requests.dm_message("lost"))
    await bot.send(bot.requests.dm_message("submit"))
    refused, *_ = (await bot.slack.wait_for_async("chat.postMessage", count=4))[1:]
    assert "not on the team" in texts(refused)
    await bot.settled()
    assert writes(fresh_sandbox) == []
    assert (await client_for_sandbox.get(TAILWIND)).status == "Active"


async def test_list_shows_only_the_sellers_referrals(
    bot: SlackBot, client_for_sandbox: PartnerCenterClient
) -> None:
    await bot.send(bot.requests.command("list"))
    (listed,) = await bot.slack.wait_for_async("chat.postMessage")
    assert not any(name in texts(listed) for name in SEEDED_NAMES)

    await client_for_sandbox.add_team_member(
        TAILWIND,
        Member(first_name="Ada", last_name="Lovelace", email="ADA.Lovelace@contoso.example"),
    )
    await bot.send(bot.requests.command("list"))
    _, again = await bot.slack.wait_for_async("chat.postMessage", count=2)
    assert "Tailwind Traders" in texts(again)
    assert "Northwind Traders" not in texts(again)


async def test_home_without_an_email_lists_nothing_and_says_why(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    bot.slack.set_user(without_email())
    await bot.send(bot.requests.home_opened())
    (published,) = await bot.slack.wait_for_async("views.publish")
    view = str(published.args["view"])
    assert "Your chat profile has no email address" in view
    assert not any(name in view for name in SEEDED_NAMES)
    assert fresh_sandbox.requests() == []


async def test_without_an_email_show_says_why(bot: SlackBot, fresh_sandbox: Sandbox) -> None:
    bot.slack.set_user(without_email())
    await bot.send(bot.requests.command(f"show {TAILWIND}"))
    (shown,) = await bot.slack.wait_for_async("chat.postMessage")
    assert "chat profile has no email" in texts(shown)
    assert "Tailwind" not in texts(shown)
    assert fresh_sandbox.requests() == []


async def test_the_home_lists_only_the_sellers_open_referrals(bot: SlackBot) -> None:
    await bot.send(bot.requests.home_opened())
    (published,) = await bot.slack.wait_for_async("views.publish")
    assert not any(name in str(published.args["view"]) for name in SEEDED_NAMES)
