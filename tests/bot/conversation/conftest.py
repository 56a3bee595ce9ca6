"""Engines on the suite's real Redis, talking to the sandbox over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.app.clients import build_http_client
from bot.conversation.chat.desk import Desk
from bot.conversation.runtime.engine import Conversation, Engine
from bot.conversation.runtime.session_store import RedisSessionStore
from bot.conversation.views import Seller
from bot.partner_center.auth import StaticTokenProvider
from bot.partner_center.client import PartnerCenterClient
from bot.settings import Settings
from tests.support.sandbox import Sandbox

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
TTL = 72 * 3600


class FixedClock:
    """A clock that stays where the test puts it."""

    def __init__(self, now: datetime = NOW) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return self.at.timestamp()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
async def client(fresh_sandbox: Sandbox) -> AsyncIterator[PartnerCenterClient]:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    async with build_http_client(settings) as http:
        yield PartnerCenterClient(
            http, base_url=fresh_sandbox.base_url, tokens=StaticTokenProvider(SecretStr("t"))
        )


EngineFactory = Callable[[], Engine]


@pytest.fixture
def make_engine(redis: Redis, client: PartnerCenterClient, clock: FixedClock) -> EngineFactory:
    """A new engine each call, as a new process would have: same Redis, empty cache."""

    def make() -> Engine:
        return Engine(RedisSessionStore(redis), client, clock=clock, ttl_seconds=TTL)

    return make


@pytest.fixture
def engine(make_engine: EngineFactory) -> Engine:
    return make_engine()


@pytest.fixture
def desk(engine: Engine, client: PartnerCenterClient) -> Desk:
    return Desk(engine, client)


@pytest.fixture
def conversation(conversation_key: str) -> Conversation:
    return Conversation(
        key=conversation_key,
        seller=Seller(
            user_id="U0001",
            display_name="Ana Lopez",
            first_name="Ana",
            last_name="Lopez",
            email="ana.lopez@contoso.com",
        ),
    )
