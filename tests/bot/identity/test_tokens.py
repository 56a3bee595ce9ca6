"""Partner Center tokens per seller: kept in memory, msal only when needed and off the event
loop, one acquisition per seller at a time, refreshed after a refusal, and a clear "sign in
again" when the refresh token is dead. The integration user signs in with a device code."""

from __future__ import annotations

import asyncio
import logging
import re

import httpx
import pytest
from cryptography.fernet import Fernet
from redis.asyncio import Redis

from bot.identity.caches import SERVICE_PRINCIPAL, TokenCaches
from bot.identity.device import sign_in_integration_user
from bot.identity.sealing import Sealer
from bot.identity.setup import SignInParts
from bot.identity.tokens import DelegatedTokens, ServiceNotSignedIn
from bot.partner_center.auth import SignInRequired
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import PartnerCenterError
from tests.bot.identity.conftest import sign_in
from tests.support.identity_stand_in import PARTNER_CENTER_SCOPE, IdentityStandIn
from tests.support.sign_in import ADA, GRACE, sandbox_checking, username


class ManualClock:
    def __init__(self) -> None:
        self.seconds = 1000.0

    def monotonic(self) -> float:
        return self.seconds

    def now(self):  # type: ignore[no-untyped-def]
        raise AssertionError("not used")


async def test_a_signed_in_seller_gets_a_token_partner_center_accepts(
    parts: SignInParts, fresh_identity: IdentityStandIn, principal: str
) -> None:
    await sign_in(parts, fresh_identity, principal, ADA)

    token = await parts.delegated.provider(principal).token()

    assert fresh_identity.check(token) is None
    # The token from the sign-in was still good: no second request to Entra ID.
    assert fresh_identity.token_requests("refresh_token") == []


async def test_a_hundred_calls_for_one_seller_make_one_token_request(
    parts: SignInParts, fresh_identity: IdentityStandIn, principal: str
) -> None:
    await sign_in(parts, fresh_identity, principal, ADA)
    provider = parts.delegated.provider(principal)
    refused = await provider.token()
    provider.invalidate(refused)  # Partner Center answered 401 to it

    tokens = await asyncio.gather(*(provider.token() for _ in range(100)))

    assert len(set(tokens)) == 1
    assert tokens[0] != refused
    assert len(fresh_identity.token_requests("refresh_token")) == 1


async def test_a_token_is_refreshed_when_it_expires(
    parts: SignInParts,
    fresh_identity: IdentityStandIn,
    principal: str,
) -> None:
    fresh_identity.access_token_lifetime = 200  # msal refreshes whatever lives under 300 s
    await sign_in(parts, fresh_identity, principal, ADA)
    clock = ManualClock()
    tokens = DelegatedTokens(
        parts.apps, parts.caches, scopes=[PARTNER_CENTER_SCOPE], clock=clock
    ).provider(principal)

    first = await tokens.token()
    assert await tokens.token() == first  # in memory: msal is not asked again
    clock.seconds += 101  # past half its life
    second = await tokens.token()

    assert second != first
    assert fresh_identity.check(second) is None
    assert len(fresh_identity.token_requests("refresh_token")) == 2


async def test_a_revoked_sign_in_asks_the_seller_to_sign_in_again(
    parts: SignInParts, fresh_identity: IdentityStandIn, principal: str
) -> None:
    await sign_in(parts, fresh_identity, principal, ADA)
    provider = parts.delegated.provider(principal)
    token = await provider.token()
    fresh_identity.revoke(ADA)
    assert fresh_identity.check(token) is not None
    provider.invalidate(token)

    with pytest.raises(SignInRequired) as needed:
        await provider.token()

    assert needed.value.principal == principal
    assert needed.value.reason.startswith("AADSTS")
    assert "Trace ID" not in needed.value.reason


async def test_a_seller_never_signed_in_is_asked_to_sign_in(
    parts: SignInParts, principal: str
) -> None:
    with pytest.raises(SignInRequired, match="not signed in"):
        await parts.delegated.provider(principal).token()


async def test_a_sign_out_elsewhere_is_seen_within_a_minute(
    parts: SignInParts, fresh_identity: IdentityStandIn, principal: str
) -> None:
    await sign_in(parts, fresh_identity, principal, ADA)
    clock = ManualClock()
    provider = DelegatedTokens(
        parts.apps, parts.caches, scopes=[PARTNER_CENTER_SCOPE], clock=clock
    ).provider(principal)
    await provider.token()
    assert await parts.identity.sign_out(principal)  # another process, say

    clock.seconds += 60
    with pytest.raises(SignInRequired):
        await provider.token()


async def test_sellers_act_as_themselves(
    parts: SignInParts, fresh_identity: IdentityStandIn, principal: str
) -> None:
    other = principal.replace("U0001", "U0002")
    await sign_in(parts, fresh_identity, principal, ADA)
    await sign_in(parts, fresh_identity, other, GRACE)

    assert username(await parts.identity.account(principal)) == ADA.username
    assert username(await parts.identity.account(other)) == GRACE.username
    assert (
        await parts.delegated.provider(principal).token()
        != await parts.delegated.provider(other).token()
    )


async def test_the_integration_user_signs_in_with_a_device_code(
    parts: SignInParts, fresh_identity: IdentityStandIn, redis: Redis
) -> None:
    shown: list[str] = []
    instructions = asyncio.Event()

    def show(text: str) -> None:
        shown.append(text)
        instructions.set()

    await parts.caches.delete(SERVICE_PRINCIPAL)
    try:
        with pytest.raises(ServiceNotSignedIn, match="referral-bot login"):
            await parts.service.provider(SERVICE_PRINCIPAL).token()

        signing_in = asyncio.create_task(
            sign_in_integration_user(parts, [PARTNER_CENTER_SCOPE], show)
        )
        await asyncio.wait_for(instructions.wait(), 5)
        (code,) = re.findall(r"enter the code (\S+)", shown[0])
        fresh_identity.approve_device_code(code, GRACE)
        account = await signing_in

        assert account.username == GRACE.username
        token = await parts.service.provider(SERVICE_PRINCIPAL).token()
        assert fresh_identity.check(token) is None
    finally:
        await parts.caches.delete(SERVICE_PRINCIPAL)


async def test_the_integration_user_not_signed_in_is_a_partner_center_error() -> None:
    # Sellers cannot fix it by signing in: it reaches them as a refusal, with who can.
    assert issubclass(ServiceNotSignedIn, PartnerCenterError)


async def test_no_secret_reaches_redis_or_the_log(
    parts: SignInParts,
    fresh_identity: IdentityStandIn,
    principal: str,
    redis: Redis,
    redis_namespace: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("msal", "urllib3", "httpx", "httpcore", "bot"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    await sign_in(parts, fresh_identity, principal, ADA)
    provider = parts.delegated.provider(principal)
    provider.invalidate(await provider.token())
    await provider.token()  # a refresh
    assert parts.sign_ins is not None
    await parts.sign_ins.start(principal, {"platform": "slack"})  # a link left unused

    values = [await _value(redis, key) async for key in redis.scan_iter(match="rb:identity:*")]
    stored = b"\n".join(values)
    secrets = fresh_identity.secrets()
    assert secrets  # tokens, codes, verifiers and the client secret were all seen
    assert [secret for secret in secrets if secret.encode() in stored] == []
    leaked = [record for record in caplog.records if any(s in record.getMessage() for s in secrets)]
    assert [(record.name, record.getMessage()[:300]) for record in leaked] == []


async def _value(redis: Redis, key: bytes) -> bytes:
    value = await redis.get(key)
    return value or b""


async def test_a_401_from_partner_center_refreshes_once_and_retries_once(
    parts: SignInParts, fresh_identity: IdentityStandIn, principal: str
) -> None:
    await sign_in(parts, fresh_identity, principal, ADA)
    with sandbox_checking(fresh_identity) as sandbox:
        async with httpx.AsyncClient() as http:
            tokens, principals = parts.tokens_for()
            client = PartnerCenterClient(
                http, base_url=sandbox.base_url, tokens=tokens, principals=principals
            ).acting_for(principal)
            await client.list(top=1).collect()
            fresh_identity.expire_access_tokens()  # the service now refuses the token held

            await client.list(top=1).collect()

            statuses = [request["status"] for request in sandbox.requests()]
            assert statuses == [200, 401, 200]
            assert len(fresh_identity.token_requests("refresh_token")) == 1
            fresh_identity.revoke(ADA)
            with pytest.raises(SignInRequired):
                await client.list(top=1).collect()
            assert [request["status"] for request in sandbox.requests()][3:] == [401]


async def test_a_cache_no_configured_key_opens_asks_to_sign_in_rather_than_failing(
    parts: SignInParts, principal: str, redis: Redis
) -> None:
    # Sealed with a key since dropped from TOKEN_ENCRYPTION_KEY.
    stale = TokenCaches(redis, Sealer(Fernet.generate_key().decode()))
    await stale.save(principal, '{"Account": {}}')

    with pytest.raises(SignInRequired, match="not signed in"):
        await parts.delegated.provider(principal).token()
    assert not await parts.caches.exists(principal)  # dropped, said once in the log
