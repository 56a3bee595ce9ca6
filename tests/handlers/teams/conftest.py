"""The real web app, Teams mounted, on the suite's Redis, the sandbox, the Teams stand-in
(Bot Connector, Bot Framework keys) and the identity stand-in (the bot's tokens, from msal)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from bot.app.web import build_web_app
from bot.jobs import JobQueue
from bot.settings import Settings
from handlers.teams import MESSAGES_PATH
from tests.cards.test_teams import executes, inputs, schema_errors
from tests.support.identity_stand_in import BOT_CLIENT_SECRET, IdentityStandIn
from tests.support.sandbox import Sandbox
from tests.support.sign_in import PUBLIC_URL
from tests.support.teams_stand_in import (
    APP_ID,
    SELLER,
    TENANT_ID,
    TeamsActivities,
    TeamsStandIn,
    personal_conversation_id,
)

DM = personal_conversation_id(SELLER)


def teams_settings(
    sandbox: Sandbox,
    teams: TeamsStandIn,
    identity: IdentityStandIn,
    redis_url: str,
    namespace: str,
    **more: object,
) -> Settings:
    """Settings of a deployment on the test's sandbox, Teams and identity stand-ins and Redis:
    the bot's tokens come from msal at the identity stand-in, for its own tenant."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        partner_center_base_url=sandbox.base_url,
        partner_center_token="test-token",
        redis_url=redis_url,
        teams_client_id=APP_ID,
        teams_client_secret=BOT_CLIENT_SECRET,
        teams_tenant_id=TENANT_ID,
        entra_authority=identity.authority_root,
        requests_ca_bundle=identity.ca_bundle,
        teams_login_url=teams.login_endpoint,
        teams_openid_metadata_url=teams.openid_metadata_url,
        job_stream=f"rb:jobs:{namespace}",
        # The stand-in is the Bot Connector of these tests (its port only, not loopback).
        **{"teams_service_url_hosts": service_host(teams), **more},
    )


def service_host(teams: TeamsStandIn) -> str:
    """The stand-in's ``host:port``, as ``TEAMS_SERVICE_URL_HOSTS`` names it."""
    return teams.origin.removeprefix("http://")


@dataclass
class TeamsBot:
    """The app under test, and how to talk to it the way Teams does."""

    http: httpx.AsyncClient
    activities: TeamsActivities
    teams: TeamsStandIn
    redis: Redis
    job_stream: str
    answers: list[dict[str, Any]] = field(default_factory=list)
    """Every invoke response's card, in order (each must be a valid card)."""
    current: dict[str, Any] | None = None
    """The card the seller sees last, with the id of the message it is in."""

    async def post(self, activity: Mapping[str, Any], **knobs: Any) -> httpx.Response:
        headers = self.activities.headers(activity, **knobs)
        return await self.http.post(MESSAGES_PATH, json=dict(activity), headers=headers)

    async def say(self, text: str, *, cards: int | None = None) -> None:
        """Type ``text`` in the chat; wait for the bot's cards (``cards``: total so far)."""
        before = len(self.teams.messages_in(DM))
        response = await self.post(self.activities.message(text))
        assert response.status_code == 200, response.text
        await self.settled()
        after = self.teams.messages_in(DM)
        assert len(after) > before if cards is None else len(after) == cards
        self.current = {"id": after[-1]["id"], "card": card_of(after[-1])}

    async def click(self, verb: str, *, value: str | None = None, answer: Any = None) -> Any:
        """Click the ``verb`` action of the current card (the one whose value is ``value``),
        with ``answer`` in its input; returns the card Teams put in place of the clicked one."""
        assert self.current is not None
        content = self.current["card"]
        candidates = [a for a in executes(content) if a["verb"] == verb]
        if value is not None:
            candidates = [a for a in candidates if a["data"].get("value") == value]
        assert candidates, f"no {verb} action (value {value!r}) on the card"
        action = candidates[0]
        data = dict(action["data"])
        if answer is not None and action.get("associatedInputs") != "none":
            data |= {each["id"]: answer for each in inputs(content)}
        activity = self.activities.card_action(verb, data, reply_to_id=self.current["id"])
        response = await self.post(activity)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["statusCode"] == 200
        assert body["type"] == "application/vnd.microsoft.card.adaptive"
        replaced = body["value"]
        assert schema_errors(replaced) == []
        self.answers.append(replaced)
        self.current = {"id": self.current["id"], "card": replaced}
        await self.settled()
        posted = self.teams.messages_in(DM)
        if posted and posted[-1]["id"] != self.current["id"] and _newer(posted, self.current):
            self.current = {"id": posted[-1]["id"], "card": card_of(posted[-1])}
        return replaced

    async def settled(self, within: float = 10.0) -> None:
        """Wait until every job queued so far is done (done jobs leave the stream)."""
        deadline = asyncio.get_running_loop().time() + within
        jobs = JobQueue(self.redis, stream=self.job_stream)
        while await jobs.waiting():
            assert asyncio.get_running_loop().time() < deadline, "jobs still queued"
            await asyncio.sleep(0.01)


def _newer(posted: list[dict[str, Any]], current: Mapping[str, Any]) -> bool:
    ids = [message["id"] for message in posted]
    return current["id"] not in ids or ids.index(current["id"]) < len(ids) - 1


def card_of(message: Mapping[str, Any]) -> dict[str, Any]:
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    content: dict[str, Any] = attachment["content"]
    return content


@asynccontextmanager
async def running(
    settings: Settings, teams: TeamsStandIn, activities: TeamsActivities, redis: Redis
) -> AsyncIterator[TeamsBot]:
    """The web app of ``settings`` started (its worker too), and how to talk to it."""
    app = build_web_app(settings)
    await forget_teams_keys(redis)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
                yield TeamsBot(http, activities, teams, redis, settings.job_stream)
    finally:
        await forget_teams_keys(redis)


BotOf = Callable[..., AbstractAsyncContextManager[TeamsBot]]
"""Starts the app with settings of the test's own (``bot_of(approvers="...")``)."""


@pytest.fixture
def bot_of(
    fresh_sandbox: Sandbox,
    fresh_teams_api: TeamsStandIn,
    teams_activities: TeamsActivities,
    identity: IdentityStandIn,
    redis_url: str,
    redis: Redis,
    redis_namespace: str,
) -> BotOf:
    """The app on the test's sandbox, Teams and identity stand-ins and Redis, with ``more``
    settings."""

    def start(**more: object) -> AbstractAsyncContextManager[TeamsBot]:
        settings = teams_settings(
            fresh_sandbox, fresh_teams_api, identity, redis_url, redis_namespace, **more
        )
        return running(settings, fresh_teams_api, teams_activities, redis)

    return start


@pytest.fixture
async def bot(bot_of: BotOf) -> AsyncIterator[TeamsBot]:
    async with bot_of() as started:
        yield started


async def forget_teams_keys(redis: Redis) -> None:
    """The stand-in's people and tenant are the same in every test: start each afresh."""
    for pattern in (f"rb:{{teams:{TENANT_ID}:*", "rb:ref:teams:*", "rb:identity:tokens:teams:*"):
        keys = [key async for key in redis.scan_iter(match=pattern)]
        if keys:
            await redis.delete(*keys)
