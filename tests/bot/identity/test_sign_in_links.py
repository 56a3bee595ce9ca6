"""Sign-in links: the authorization code flow with PKCE through msal, single use, 10 minutes,
bound to the chat user it was made for; what Redis holds of it is sealed."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import pytest
from redis.asyncio import Redis

from bot.identity.setup import SignInParts
from bot.identity.signin import SIGN_IN_SECONDS, STATE_PREFIX, SignInRefused, record_key
from bot.partner_center.auth import SignInRequired
from tests.bot.identity.conftest import RESUME, browser_answer, sign_in
from tests.support.identity_stand_in import IdentityStandIn
from tests.support.sign_in import ADA, username


async def test_a_link_signs_the_seller_in_with_pkce(
    parts: SignInParts, fresh_identity: IdentityStandIn, principal: str
) -> None:
    done = await sign_in(parts, fresh_identity, principal, ADA)

    assert done.principal == principal
    assert done.resume == RESUME
    assert done.account.username == ADA.username
    assert username(await parts.caches.account(principal)) == ADA.username
    (redeemed,) = fresh_identity.token_requests("authorization_code")
    assert redeemed.ok


async def test_the_link_asks_for_pkce_and_a_form_post(parts: SignInParts, principal: str) -> None:
    assert parts.sign_ins is not None
    link = await parts.sign_ins.start(principal, RESUME)
    query = parse_qs(urlsplit(link).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["response_mode"] == ["form_post"]
    assert query["redirect_uri"] == ["http://web/auth/callback"]


async def test_a_link_works_once(
    parts: SignInParts, fresh_identity: IdentityStandIn, principal: str
) -> None:
    assert parts.sign_ins is not None
    fields = await browser_answer(parts, fresh_identity, principal, ADA)
    await parts.sign_ins.finish(fields)

    with pytest.raises(SignInRefused, match="expired or was already used"):
        await parts.sign_ins.finish(fields)
    assert len(fresh_identity.token_requests("authorization_code")) == 1


async def test_a_forged_state_is_refused_before_entra_is_asked(
    parts: SignInParts, fresh_identity: IdentityStandIn, principal: str
) -> None:
    assert parts.sign_ins is not None
    fields = await browser_answer(parts, fresh_identity, principal, ADA)

    for forged in ({**fields, "state": "guessed"}, {"code": fields["code"]}):
        with pytest.raises(SignInRefused):
            await parts.sign_ins.finish(forged)
    assert fresh_identity.token_requests() == []
    assert await parts.caches.account(principal) is None


async def test_an_expired_link_is_refused(
    parts: SignInParts, fresh_identity: IdentityStandIn, principal: str, redis: Redis
) -> None:
    assert parts.sign_ins is not None
    fields = await browser_answer(parts, fresh_identity, principal, ADA)
    key = record_key(fields["state"])
    assert SIGN_IN_SECONDS - 5 < await redis.ttl(key) <= SIGN_IN_SECONDS
    await redis.pexpire(key, 1)
    await asyncio.sleep(0.01)

    with pytest.raises(SignInRefused, match="expired"):
        await parts.sign_ins.finish(fields)
    assert await parts.caches.account(principal) is None


async def test_a_refusal_by_entra_says_why_and_where_the_link_came_from(
    parts: SignInParts, principal: str
) -> None:
    assert parts.sign_ins is not None
    link = await parts.sign_ins.start(principal, RESUME)
    state = parse_qs(urlsplit(link).query)["state"][0]
    answer = {
        "state": state,
        "error": "access_denied",
        "error_description": "AADSTS65004: User declined to consent.\r\nTrace ID: 1",
    }

    with pytest.raises(SignInRefused) as refused:
        await parts.sign_ins.finish(answer)
    assert (
        refused.value.message
        == "Microsoft did not sign you in: AADSTS65004: User declined to consent."
    )
    assert refused.value.resume == RESUME


async def test_what_redis_keeps_of_a_link_is_sealed(
    parts: SignInParts, principal: str, redis: Redis
) -> None:
    assert parts.sign_ins is not None
    link = await parts.sign_ins.start(principal, RESUME)
    state = parse_qs(urlsplit(link).query)["state"][0]
    key = record_key(state)
    value = await redis.get(key)

    assert value is not None
    assert key.startswith(STATE_PREFIX)
    assert state not in key
    assert state.encode() not in value
    assert principal.encode() not in value
    assert b"code_verifier" not in value


async def test_a_new_sign_in_is_held_aside_unused_until_the_chat_confirms_it(
    parts: SignInParts, fresh_identity: IdentityStandIn, principal: str
) -> None:
    assert parts.sign_ins is not None
    fields = await browser_answer(parts, fresh_identity, principal, ADA)
    await parts.sign_ins.finish(fields)

    assert username(await parts.identity.held_account(principal)) == ADA.username
    assert await parts.caches.account(principal) is None
    with pytest.raises(SignInRequired):
        await parts.delegated.provider(principal).token()  # a turn queued meanwhile

    assert await parts.identity.confirm(principal)
    assert fresh_identity.check(await parts.delegated.provider(principal).token()) is None
    assert await parts.identity.held_account(principal) is None


async def test_a_refused_sign_in_is_never_used(
    parts: SignInParts, fresh_identity: IdentityStandIn, principal: str
) -> None:
    assert parts.sign_ins is not None
    fields = await browser_answer(parts, fresh_identity, principal, ADA)
    await parts.sign_ins.finish(fields)

    await parts.identity.refuse(principal)

    assert not await parts.identity.confirm(principal)
    assert await parts.caches.account(principal) is None
