"""Only the allowlisted workspaces (refused at the edge, politely, nothing queued) and no guests
(refused by the worker, which alone may ask Slack who they are)."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import httpx
from redis.asyncio import Redis

from bot.app.web import build_web_app
from bot.conversation.runtime.session_store import RedisSessionStore
from bot.settings import Settings
from cards.ids import Action
from tests.handlers.slack.conftest import SlackBot, slack_settings
from tests.support.sandbox import Sandbox
from tests.support.slack_payloads import (
    TEAM_ID,
    SignedRequest,
    SlackRequests,
    SlackUser,
    dm_channel_id,
)
from tests.support.slack_stand_in import RESPONSE_URL, SlackApiStandIn

GUEST = SlackUser(
    "U0GUEST1", "gus", "Gus Guest", "Gus", "Guest", "gus@fabrikam.example", is_restricted=True
)
SINGLE_CHANNEL_GUEST = SlackUser(
    "U0GUEST2", "sol", "Sol Single", "Sol", "Single", "sol@fabrikam.example",
    is_ultra_restricted=True,
)  # fmt: skip
OTHER_WORKSPACE = "T0OTHERWS"
FORM = "application/x-www-form-urlencoded"


async def queued(bot: SlackBot) -> int:
    """Jobs ever added to this test's stream (done ones leave it, the counter stays)."""
    if not await bot.redis.exists(bot.job_stream):
        return 0
    info = await bot.redis.xinfo_stream(bot.job_stream)
    return int(info["entries-added"])


def resigned_interaction(requests: SlackRequests, payload: dict[str, Any]) -> SignedRequest:
    body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()
    return requests.sign(body, FORM, payload=payload)


def resigned_event(requests: SlackRequests, envelope: dict[str, Any]) -> SignedRequest:
    return requests.sign(json.dumps(envelope).encode(), "application/json", payload=envelope)


async def test_a_guest_is_refused_politely_once_and_nothing_is_done(bot: SlackBot) -> None:
    # Telling a guest needs users.info (rate-limited): the worker asks, never the ack path.
    bot.slack.set_user(GUEST)
    first = await bot.send(bot.requests.command("new", user=GUEST.id))
    assert first.status_code == 200
    again = await bot.send(bot.requests.command("list", user=GUEST.id))
    assert again.status_code == 200
    (told,) = await bot.slack.wait_for_async("chat.postMessage", count=1)
    await bot.settled()
    assert "Guests can't use this bot" in str(told.args["text"])
    assert told.args["channel"] == dm_channel_id(GUEST.id)
    await asyncio.sleep(0.1)
    assert len(bot.slack.calls("chat.postMessage")) == 1  # told once
    assert len(bot.slack.calls("users.info")) == 1  # remembered
    stored = await RedisSessionStore(bot.redis).load(f"slack:{bot.requests.team_id}:{GUEST.id}")
    assert stored is None  # no draft was started


async def test_a_single_channel_guest_typing_in_the_dm_is_told_once(bot: SlackBot) -> None:
    bot.slack.set_user(SINGLE_CHANNEL_GUEST)
    for words in ("/referral list", "list"):
        response = await bot.send(bot.requests.dm_message(words, user=SINGLE_CHANNEL_GUEST.id))
        assert response.status_code == 200
    await bot.slack.wait_for_async("chat.postMessage", count=1)
    await bot.settled()
    await asyncio.sleep(0.1)
    (told,) = bot.slack.calls("chat.postMessage")
    assert told.args["channel"] == dm_channel_id(SINGLE_CHANNEL_GUEST.id)
    assert "Guests can't use this bot" in told.args["text"]


async def test_a_member_is_served(bot: SlackBot) -> None:
    response = await bot.send(bot.requests.command("help"))
    assert response.status_code == 200
    await bot.slack.wait_for_async("chat.postMessage", count=1)
    assert await queued(bot) == 1


async def test_guests_are_served_when_allowed(
    fresh_sandbox: Sandbox,
    fresh_slack_api: SlackApiStandIn,
    redis_url: str,
    redis: Redis,
    redis_namespace: str,
) -> None:
    settings = slack_settings(
        fresh_sandbox, fresh_slack_api, redis_url, redis_namespace, allow_guests=True
    )
    fresh_slack_api.set_user(GUEST)
    requests = SlackRequests(team_id=redis_namespace, hooks_url=fresh_slack_api.origin)
    async with served(settings) as http:
        command = requests.command("help", user=GUEST.id)
        response = await http.post(command.path, content=command.body, headers=command.headers)
        assert response.status_code == 200
        (posted,) = await fresh_slack_api.wait_for_async("chat.postMessage", count=1)
    assert "Guests can't" not in str(posted.args)


async def test_another_workspace_is_refused_with_the_name_of_ours(bot: SlackBot) -> None:
    other = SlackRequests(team_id=OTHER_WORKSPACE, hooks_url=bot.slack.origin)
    answer = await bot.send(other.command("list"))
    assert answer.status_code == 200
    assert answer.json()["text"] == "This bot serves the Example Workspace workspace only."
    await bot.settled()
    assert await queued(bot) == 0
    assert bot.slack.calls("users.info") == []


async def test_a_slack_connect_user_clicking_in_a_shared_channel_is_refused(
    bot: SlackBot,
) -> None:
    click = bot.requests.action(Action.CANCEL, value="x", channel="C0SHARED1")
    payload = copy.deepcopy(click.payload)
    payload["user"]["team_id"] = OTHER_WORKSPACE  # the clicker's own workspace
    response = await bot.send(resigned_interaction(bot.requests, payload))
    assert response.status_code == 200
    (told,) = await bot.slack.wait_for_async(RESPONSE_URL, count=1)
    assert "serves the Example Workspace workspace only" in str(told.args)
    assert told.args.get("response_type") == "ephemeral"
    await bot.settled()
    assert await queued(bot) == 0


async def test_a_slack_connect_user_typing_in_the_dm_is_refused(bot: SlackBot) -> None:
    message = bot.requests.dm_message("/referral list")
    envelope = copy.deepcopy(message.payload)
    envelope["event"]["user_team"] = OTHER_WORKSPACE
    envelope["event"]["team"] = OTHER_WORKSPACE
    response = await bot.send(resigned_event(bot.requests, envelope))
    assert response.status_code == 200
    await bot.settled()
    assert await queued(bot) == 0
    (told,) = bot.slack.calls("chat.postMessage")
    assert "serves the Example Workspace workspace only" in told.args["text"]


async def test_by_default_the_workspace_of_the_bot_token_is_the_one_served(
    fresh_sandbox: Sandbox,
    fresh_slack_api: SlackApiStandIn,
    redis_url: str,
    redis: Redis,
    redis_namespace: str,
) -> None:
    settings = slack_settings(
        fresh_sandbox, fresh_slack_api, redis_url, redis_namespace, slack_allowed_teams=""
    )
    assert settings.slack_allowed_teams == ()
    ours = SlackRequests(team_id=TEAM_ID, hooks_url=fresh_slack_api.origin)  # auth.test's
    theirs = SlackRequests(team_id=redis_namespace, hooks_url=fresh_slack_api.origin)
    try:
        async with served(settings) as http:
            refused = theirs.command("help")
            answer = await http.post(refused.path, content=refused.body, headers=refused.headers)
            assert "serves the Example Workspace workspace only" in answer.text
            served_ = ours.command("help")
            await http.post(served_.path, content=served_.body, headers=served_.headers)
            (posted,) = await fresh_slack_api.wait_for_async("chat.postMessage", count=1)
        assert "serves" not in str(posted.args)
        assert fresh_slack_api.calls("auth.test")
    finally:
        keys = [key async for key in redis.scan_iter(match=f"rb:{{slack:{TEAM_ID}:*")]
        if keys:
            await redis.delete(*keys)


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The web app of ``settings``, running, with an HTTP client for it."""
    app = build_web_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as http:
            yield http
