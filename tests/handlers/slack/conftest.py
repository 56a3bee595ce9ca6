"""The real web app, Slack mounted, on the suite's Redis, the sandbox and the Slack stand-in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.platforms import build_slack_client
from bot.app.web import build_web_app
from bot.jobs import JobQueue
from bot.settings import Settings
from tests.support.sandbox import Sandbox
from tests.support.sign_in import PUBLIC_URL
from tests.support.slack_payloads import SIGNING_SECRET, SignedRequest, SlackRequests
from tests.support.slack_stand_in import SlackApiStandIn


@dataclass
class SlackBot:
    """The app under test, and how to talk to it the way Slack does."""

    http: httpx.AsyncClient
    requests: SlackRequests
    slack: SlackApiStandIn
    redis: Redis
    job_stream: str
    settings: Settings

    def slack_client(self) -> AsyncWebClient:
        """A Web API client of the deployment's bot, as another worker builds it."""
        return build_slack_client(self.settings)

    async def send(self, request: SignedRequest) -> httpx.Response:
        return await self.http.post(request.path, content=request.body, headers=request.headers)

    async def settled(self, within: float = 10.0) -> None:
        """Wait until every job queued so far is done (done jobs leave the stream)."""
        deadline = asyncio.get_running_loop().time() + within
        jobs = JobQueue(self.redis, stream=self.job_stream, shards=self.settings.job_stream_shards)
        while await jobs.waiting():
            assert asyncio.get_running_loop().time() < deadline, "jobs still queued"
            await asyncio.sleep(0.01)


def slack_settings(
    sandbox: Sandbox, slack_api: SlackApiStandIn, redis_url: str, namespace: str, **more: object
) -> Settings:
    """Settings of a deployment on the test's sandbox, Slack stand-in and Redis."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        partner_center_base_url=sandbox.base_url,
        partner_center_token="test-token",
        redis_url=redis_url,
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack_api.base_url,
        # A stream of this test's own: no job of another test can reach this app.
        job_stream=f"rb:jobs:{namespace}",
        # The requests of these tests come from a workspace of their own (the namespace).
        **{"slack_allowed_teams": namespace, **more},
    )


@asynccontextmanager
async def running(
    settings: Settings, slack_api: SlackApiStandIn, redis: Redis, namespace: str
) -> AsyncIterator[SlackBot]:
    """The web app of ``settings`` started (its worker too), and how to talk to it."""
    app = build_web_app(settings)
    # A workspace id of this test's own keeps its Redis keys apart (and cleaned up).
    requests = SlackRequests(
        team_id=namespace, hooks_url=slack_api.origin, response_urls=slack_api.response_url
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
            yield SlackBot(http, requests, slack_api, redis, settings.job_stream, settings)


BotOf = Callable[..., AbstractAsyncContextManager[SlackBot]]
"""Starts the app with settings of the test's own (``bot_of(approvers="U2")``)."""


@pytest.fixture
def bot_of(
    fresh_sandbox: Sandbox,
    fresh_slack_api: SlackApiStandIn,
    redis_url: str,
    redis: Redis,
    redis_namespace: str,
) -> BotOf:
    """The app on the test's sandbox, Slack stand-in and Redis, with ``more`` settings."""

    def start(**more: object) -> AbstractAsyncContextManager[SlackBot]:
        settings = slack_settings(
            fresh_sandbox, fresh_slack_api, redis_url, redis_namespace, **more
        )
        return running(settings, fresh_slack_api, redis, redis_namespace)

    return start


@pytest.fixture
async def bot(bot_of: BotOf) -> AsyncIterator[SlackBot]:
    async with bot_of() as started:
        yield started
