"""What the chat front ends' tests share: a client reading the sandbox they write to."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from bot.app.clients import build_http_client
from bot.partner_center.auth import StaticTokenProvider
from bot.partner_center.client import PartnerCenterClient
from bot.settings import Settings
from tests.support.sandbox import Sandbox


@pytest.fixture
async def client_for_sandbox(fresh_sandbox: Sandbox) -> AsyncIterator[PartnerCenterClient]:
    """A Partner Center client of this test's sandbox, to check what the bot created."""
    async with build_http_client(Settings(_env_file=None)) as http:  # type: ignore[call-arg]
        yield PartnerCenterClient(
            http, base_url=fresh_sandbox.base_url, tokens=StaticTokenProvider(SecretStr("t"))
        )
