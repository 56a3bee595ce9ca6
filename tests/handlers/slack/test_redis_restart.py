"""Redis restarting in the middle of a seller's conversation (the append-only file on, as the
embedded server and ``compose.yaml`` run it): a graceful restart and a crash both keep the
draft, the web process and its worker reconnect by themselves, and the seller carries on where
they were, with nothing asked twice and one referral at the end."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.handlers.slack.conftest import SlackBot, running, slack_settings
from tests.support.redis_server import PrivateRedis
from tests.support.sandbox import Sandbox
from tests.support.slack_payloads import dm_channel_id
from tests.support.slack_stand_in import SlackApiStandIn

DM = dm_channel_id("U0001")
BEFORE = ["private", "Restarted Redis pilot", "Fabrikam Inc", "1 Main St", "skip", "Seattle"]
AFTER = ["WA", "98101", "US", "10 to 50 employees", "skip", "50k", "2027-03-31"]
AFTER += ["all", "skip", "skip", "skip", "skip", "skip", "skip", "yes", "yes", "skip"]


@pytest.fixture
async def bot(
    private_redis: PrivateRedis, fresh_sandbox: Sandbox, fresh_slack_api: SlackApiStandIn
) -> AsyncIterator[SlackBot]:
    settings = slack_settings(
        fresh_sandbox,
        fresh_slack_api,
        private_redis.url,
        "restarts",
        # Short, so a request meeting the restart fails fast instead of waiting it out.
        redis_socket_timeout_seconds=1.0,
    )
    redis = Redis.from_url(private_redis.url)
    try:
        async with running(settings, fresh_slack_api, redis, "restarts") as started:
            yield started
    finally:
        await redis.aclose()


def said(message: dict[str, Any]) -> str:
    return str(message.get("text", "")) + json.dumps(message.get("blocks", []))


async def answer(bot: SlackBot, text: str, *, within: float = 15.0) -> None:
    """Type ``text`` in the DM; once the bot took it (a 200), wait until its reply came.

    While Redis is coming back the web process may answer that it cannot take the message
    (nothing changed): the seller types it again, as a person would.
    """
    deadline = asyncio.get_running_loop().time() + within
    while True:
        before = len(bot.slack.messages_to(DM))
        await bot.send(bot.requests.dm_message(text))
        await bot.settled(within=within)
        replies = bot.slack.messages_to(DM)[before:]
        if replies and not any("can't reach my memory" in said(m) for m in replies):
            return
        assert asyncio.get_running_loop().time() < deadline, [said(m) for m in replies]
        await asyncio.sleep(0.2)


@pytest.mark.parametrize("how", ["restart", "crash"])
async def test_a_seller_carries_on_after_redis_comes_back(
    bot: SlackBot, private_redis: PrivateRedis, fresh_sandbox: Sandbox, how: str
) -> None:
    await answer(bot, "/referral new")
    for text in BEFORE:
        await answer(bot, text)
    asked = said(bot.slack.messages_to(DM)[-1])
    assert "state" in asked.lower() or "region" in asked.lower(), asked

    if how == "restart":
        private_redis.stop()
    else:
        await asyncio.sleep(1.2)  # appendfsync everysec: what is a second old is on disk
        private_redis.kill()
    private_redis.start()

    for text in AFTER:
        await answer(bot, text)
    assert "check your answers" in said(bot.slack.messages_to(DM)[-1])
    await answer(bot, "submit")

    created = [
        call
        for call in fresh_sandbox.requests()
        if call["method"] == "POST" and call["path"].endswith("/engagements/referrals")
    ]
    assert len(created) == 1
    assert "Created your referral" in said(bot.slack.messages_to(DM)[-1])
