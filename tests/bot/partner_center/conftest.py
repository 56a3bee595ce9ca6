"""A real sandbox on a loopback port, and the project's client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from bot.app.clients import build_http_client
from bot.partner_center.auth import StaticTokenProvider
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.retry import RetryPolicy
from bot.settings import Settings
from tests.support.sandbox import Sandbox


class SleepRecorder:
    """Stands in for asyncio.sleep so retry tests take no wall time but show the waits."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
async def client(
    fresh_sandbox: Sandbox, sleeps: SleepRecorder
) -> AsyncIterator[PartnerCenterClient]:
    settings = Settings(_env_file=None, partner_center_timeout_seconds=2)  # type: ignore[call-arg]
    async with build_http_client(settings) as http:
        yield PartnerCenterClient(
            http,
            base_url=fresh_sandbox.base_url,
            tokens=StaticTokenProvider(SecretStr("test-token")),
            retry=RetryPolicy(max_attempts=3),
            sleep=sleeps,
        )
