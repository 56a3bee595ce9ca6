"""The real web app, Slack mounted, on the suite's Redis, the sandbox and the Slack stand-in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from bot.app import build_web_app
from bot.settings import Settings
from tests.sandbox import Sandbox
from tests.slack_payloads import SIGNING_SECRET, SignedRequest, SlackRequests
from tests.slack_stand_in import SlackApiStandIn


@dataclass
class SlackBot:
    """The app under test, and how to talk to it the way Slack does."""

    http: httpx.AsyncClient
    requests: SlackRequests
    slack: SlackApiStandIn

    async def send(self, request: SignedRequest) -> httpx.Response:
        return await self.http.post(request.path, content=request.body, headers=request.headers)


@pytest.fixture
async def bot(
    fresh_sandbox: Sandbox,
    fresh_slack_api: SlackApiStandIn,
    redis_url: str,
    redis_namespace: str,
    tmp_path: object,
) -> AsyncIterator[SlackBot]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        partner_center_base_url=fresh_sandbox.base_url,
        partner_center_token="test-token",
        redis_url=redis_url,
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fresh_slack_api.base_url,
    )
    app = build_web_app(settings)
    # A workspace id of this test's own keeps its Redis keys apart (and cleaned up).
    requests = SlackRequests(team_id=redis_namespace, hooks_url=fresh_slack_api.origin)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as http:
            yield SlackBot(http, requests, fresh_slack_api)
            # Listeners carry on after the ack; let them finish before Redis closes.
            others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            if others:
                await asyncio.wait(others, timeout=5)
