"""The Teams bot's own tokens: real msal against the identity stand-in."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import jwt
import pytest
from pydantic import SecretStr

from bot.identity.bot_framework import BotFrameworkTokens, TokenRefused
from tests.support.identity_stand_in import (
    BOT_CLIENT_ID,
    BOT_CLIENT_SECRET,
    BOT_FRAMEWORK_SCOPE,
    BOT_FRAMEWORK_TENANT,
    PARTNER_CENTER_RESOURCE,
    TENANT,
    IdentityStandIn,
)

GRANT = "client_credentials"
OTHER_SCOPE = f"{PARTNER_CENTER_RESOURCE}/.default"


class ManualClock:
    """Monotonic time that moves only when told."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def now(self) -> datetime:
        raise AssertionError("not used")

    def monotonic(self) -> float:
        return self.seconds


def bot_tokens(
    identity: IdentityStandIn,
    *,
    tenant_id: str | None = TENANT,
    secret: str = BOT_CLIENT_SECRET,
    clock: ManualClock | None = None,
    ca_bundle: Path | None = None,
) -> BotFrameworkTokens:
    return BotFrameworkTokens(
        client_id=BOT_CLIENT_ID,
        client_secret=SecretStr(secret),
        tenant_id=tenant_id,
        authority_root=identity.authority_root + "/",
        ca_bundle=ca_bundle or identity.ca_bundle,
        clock=clock,
    )


def claims(token: str) -> dict[str, object]:
    decoded: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    return decoded


async def test_many_callers_share_one_token_fetched_once(fresh_identity: IdentityStandIn) -> None:
    tokens = bot_tokens(fresh_identity)
    got = await asyncio.gather(*(tokens(BOT_FRAMEWORK_SCOPE, None) for _ in range(50)))
    assert len(set(got)) == 1
    (request,) = fresh_identity.token_requests(GRANT)
    assert (request.client_id, request.scope, request.ok) == (
        BOT_CLIENT_ID,
        BOT_FRAMEWORK_SCOPE,
        True,
    )
    assert fresh_identity.check(got[0], BOT_FRAMEWORK_SCOPE) is None
    assert claims(got[0])["appid"] == BOT_CLIENT_ID


async def test_the_token_is_kept_in_memory_until_shortly_before_it_expires(
    fresh_identity: IdentityStandIn,
) -> None:
    clock = ManualClock()
    tokens = bot_tokens(fresh_identity, clock=clock)
    first = await tokens(BOT_FRAMEWORK_SCOPE)
    clock.seconds += 3600 - 300 - 1  # the stand-in's tokens last an hour
    assert await tokens(BOT_FRAMEWORK_SCOPE) == first
    assert tokens.acquisitions == 1
    clock.seconds += 2  # within 5 minutes of the end: msal is asked again
    await tokens(BOT_FRAMEWORK_SCOPE)
    assert tokens.acquisitions == 2
    assert len(fresh_identity.token_requests(GRANT)) == 1  # msal's own cache still had it


@pytest.fixture
def short_lived() -> Iterator[IdentityStandIn]:
    """A stand-in whose tokens last 2 seconds (msal's cache counts them as expired at once)."""
    with IdentityStandIn(access_token_lifetime=2) as stand_in:
        yield stand_in


async def test_an_expired_token_is_never_served(short_lived: IdentityStandIn) -> None:
    tokens = bot_tokens(short_lived)
    first = await tokens(BOT_FRAMEWORK_SCOPE)
    await asyncio.sleep(2.5)
    second = await tokens(BOT_FRAMEWORK_SCOPE)
    assert second != first
    assert short_lived.check(first, BOT_FRAMEWORK_SCOPE) == (401, "The access token has expired.")
    assert short_lived.check(second, BOT_FRAMEWORK_SCOPE) is None
    assert len(short_lived.token_requests(GRANT)) == 2


async def test_a_refused_token_is_fetched_anew_past_msals_cache(
    fresh_identity: IdentityStandIn,
) -> None:
    tokens = bot_tokens(fresh_identity)
    first = await tokens(BOT_FRAMEWORK_SCOPE)
    tokens.invalidate(first)
    second = await tokens(BOT_FRAMEWORK_SCOPE)
    assert second != first
    assert len(fresh_identity.token_requests(GRANT)) == 2


async def test_tokens_are_kept_per_scope_and_tenant(fresh_identity: IdentityStandIn) -> None:
    tokens = bot_tokens(fresh_identity, tenant_id=None)
    bot, other, elsewhere = await asyncio.gather(
        tokens(BOT_FRAMEWORK_SCOPE, None),
        tokens(OTHER_SCOPE, None),
        tokens(BOT_FRAMEWORK_SCOPE, TENANT),
    )
    assert len({bot, other, elsewhere}) == 3
    assert await tokens(BOT_FRAMEWORK_SCOPE, None) == bot
    assert await tokens([OTHER_SCOPE], None) == other
    assert await tokens(BOT_FRAMEWORK_SCOPE, TENANT) == elsewhere
    requests = fresh_identity.token_requests(GRANT)
    assert sorted(request.scope for request in requests) == sorted(
        [BOT_FRAMEWORK_SCOPE, BOT_FRAMEWORK_SCOPE, OTHER_SCOPE]
    )
    assert fresh_identity.check(other, OTHER_SCOPE) is None
    assert fresh_identity.check(other, BOT_FRAMEWORK_SCOPE) is not None


async def test_a_single_tenant_bot_asks_its_own_tenant(fresh_identity: IdentityStandIn) -> None:
    tokens = bot_tokens(fresh_identity, tenant_id=TENANT)
    first = await tokens(BOT_FRAMEWORK_SCOPE, None)
    # Whatever tenant the SDK names, a single-tenant bot's token comes from its own.
    assert await tokens(BOT_FRAMEWORK_SCOPE, BOT_FRAMEWORK_TENANT) == first
    assert claims(first)["tid"] == TENANT
    assert len(fresh_identity.token_requests(GRANT)) == 1


async def test_a_multi_tenant_bot_asks_the_bot_framework_tenant(
    fresh_identity: IdentityStandIn,
) -> None:
    token = await bot_tokens(fresh_identity, tenant_id=None)(BOT_FRAMEWORK_SCOPE)
    assert claims(token)["tid"] != TENANT
    assert claims(token)["iss"] == f"https://sts.windows.net/{claims(token)['tid']}/"
    assert fresh_identity.check(token, BOT_FRAMEWORK_SCOPE) is None


async def test_a_wrong_secret_is_refused_clearly_without_the_secret(
    fresh_identity: IdentityStandIn,
) -> None:
    wrong = "not-the-bot-secret~0123456789"
    tokens = bot_tokens(fresh_identity, secret=wrong)
    with pytest.raises(TokenRefused) as refused:
        await tokens(BOT_FRAMEWORK_SCOPE)
    message = str(refused.value)
    assert BOT_CLIENT_ID in message
    assert TENANT in message
    assert "invalid_client" in message
    assert "AADSTS7000215" in message
    assert wrong not in message
    assert BOT_CLIENT_SECRET not in message
    (request,) = fresh_identity.token_requests(GRANT)
    assert (request.ok, request.error) == (False, "invalid_client")


async def test_an_untrusted_authority_is_reported(
    fresh_identity: IdentityStandIn, tmp_path: Path
) -> None:
    # A CA bundle that does not hold the stand-in's CA: the TLS handshake fails.
    other_ca = tmp_path / "other.pem"
    with IdentityStandIn() as other:
        other_ca.write_bytes(other.ca_bundle.read_bytes())
    tokens = bot_tokens(fresh_identity, ca_bundle=other_ca)
    with pytest.raises(TokenRefused, match=r"cannot reach https://127\.0\.0\.1:\d+/") as refused:
        await tokens(BOT_FRAMEWORK_SCOPE)
    assert BOT_CLIENT_ID in str(refused.value)
    assert fresh_identity.token_requests(GRANT) == []
