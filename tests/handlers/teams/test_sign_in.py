"""Sellers signing in as themselves from Teams (AUTH_MODE=user): a sign-in card in the 1:1
chat, the code flow through /auth/callback, then the seller told in the chat and carried on.
None of it in a channel, where others would see the link."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.handlers.teams.conftest import DM, TeamsBot, card_of, running, teams_settings
from tests.support.identity_stand_in import IdentityStandIn
from tests.support.sandbox import Sandbox
from tests.support.sign_in import ADA, browse, sign_in_settings
from tests.support.teams_stand_in import DEFAULT_TEAM, SEND, TeamsActivities, TeamsStandIn


@pytest.fixture
async def bot(
    checked_sandbox: Sandbox,
    fresh_teams_api: TeamsStandIn,
    teams_activities: TeamsActivities,
    fresh_identity: IdentityStandIn,
    redis_url: str,
    redis: Redis,
    redis_namespace: str,
) -> AsyncIterator[TeamsBot]:
    settings = teams_settings(
        checked_sandbox,
        fresh_teams_api,
        fresh_identity,
        redis_url,
        redis_namespace,
        **{
            name: value
            for name, value in sign_in_settings(fresh_identity).items()
            if name not in ("entra_authority", "requests_ca_bundle")  # already the same
        },
    )
    async with running(settings, fresh_teams_api, teams_activities, redis) as started:
        yield started


def link_in(card: dict[str, Any]) -> str:
    """The URL of the card's Action.OpenUrl."""
    found = [
        action["url"]
        for element in card["body"]
        for action in element.get("actions", [])
        if action.get("type") == "Action.OpenUrl"
    ]
    assert len(found) == 1, json.dumps(card)
    return str(found[0])


def said(message: dict[str, Any]) -> str:
    return json.dumps(message)


async def test_a_seller_signs_in_from_a_teams_message_and_is_carried_on(
    bot: TeamsBot, fresh_identity: IdentityStandIn, checked_sandbox: Sandbox
) -> None:
    await bot.say("referral list mine")
    assert checked_sandbox.requests() == []
    assert bot.current is not None
    link = link_in(bot.current["card"])

    page = await browse(fresh_identity, link, ADA, bot.http)
    assert page.status_code == 200
    await bot.settled()

    welcome, listing = bot.teams.messages_in(DM)[-2:]
    assert "Signed in to Partner Center as ada.lovelace@contoso.example" in said(welcome)
    assert "ada.lovelace@contoso.example" in said(listing)
    (listed,) = checked_sandbox.requests()
    assert listed["status"] == 200
    # The replies went out on the bot's own token, from msal.
    assert fresh_identity.token_requests("client_credentials")


@pytest.mark.parametrize("line", ["referral login", "referral new"])
async def test_no_sign_in_link_in_a_channel(bot: TeamsBot, line: str) -> None:
    activity = bot.activities.message(line, channel=DEFAULT_TEAM.channels[0])
    assert (await bot.post(activity)).status_code == 200
    await bot.settled()

    (sent,) = bot.teams.calls(SEND)
    answer = said(card_of(sent.activity))
    assert "Action.OpenUrl" not in answer
    assert "1:1 chat" in answer
