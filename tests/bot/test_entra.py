"""Bot tokens by client credentials, against the Entra token endpoint of the Teams stand-in."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from bot.entra import ClientCredentials, TokenRefused
from tests.support.teams_stand_in import APP_ID, APP_PASSWORD, TENANT_ID, TOKEN, TeamsStandIn

SCOPE = "https://api.botframework.com/.default"


def credentials(
    http: httpx.AsyncClient, stand_in: TeamsStandIn, *, secret: str = APP_PASSWORD, **more: str
) -> ClientCredentials:
    return ClientCredentials(
        http,
        client_id=APP_ID,
        client_secret=SecretStr(secret),
        login_url=stand_in.login_endpoint,
        **more,  # type: ignore[arg-type]
    )


async def test_a_token_is_fetched_once_and_reused(fresh_teams_api: TeamsStandIn) -> None:
    async with httpx.AsyncClient() as http:
        tokens = credentials(http, fresh_teams_api, tenant_id=TENANT_ID)
        first = await tokens(SCOPE, None)
        assert await tokens(SCOPE, "another-tenant") == first  # single tenant: always its own
    (call,) = fresh_teams_api.calls(TOKEN)
    assert call.path.startswith(f"/{TENANT_ID}/oauth2/v2.0/token")
    assert call.body["grant_type"] == "client_credentials"
    assert call.body["scope"] == SCOPE


async def test_a_multi_tenant_bot_asks_the_bot_framework_tenant(
    fresh_teams_api: TeamsStandIn,
) -> None:
    async with httpx.AsyncClient() as http:
        await credentials(http, fresh_teams_api)(SCOPE, None)
    (call,) = fresh_teams_api.calls(TOKEN)
    assert call.path.startswith("/botframework.com/oauth2/v2.0/token")


async def test_a_refusal_says_why_without_the_secret(fresh_teams_api: TeamsStandIn) -> None:
    async with httpx.AsyncClient() as http:
        tokens = credentials(http, fresh_teams_api, secret="not-the-secret", tenant_id=TENANT_ID)
        with pytest.raises(TokenRefused) as refused:
            await tokens(SCOPE, None)
    message = str(refused.value)
    assert "invalid_client" in message or "AADSTS" in message
    assert APP_ID in message
    assert "not-the-secret" not in message


async def test_an_unreachable_login_endpoint_is_reported() -> None:
    async with httpx.AsyncClient() as http:
        tokens = ClientCredentials(
            http,
            client_id=APP_ID,
            client_secret=SecretStr(APP_PASSWORD),
            login_url="http://127.0.0.1:1",
        )
        with pytest.raises(TokenRefused, match=r"cannot reach http://127\.0\.0\.1:1"):
            await tokens(SCOPE, None)
