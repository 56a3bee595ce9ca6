"""Sign-in parts on the suite's Redis, against the identity stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.identity.setup import SignInParts, build_sign_in
from bot.identity.signin import SignedIn
from tests.support.identity_stand_in import IdentityStandIn, Person
from tests.support.sign_in import settings_for


@pytest.fixture
def principal(redis_namespace: str) -> str:
    """A seller's conversation key, in this test's namespace (cleaned up after)."""
    return f"slack:{redis_namespace}:U0001"


@pytest.fixture
async def parts(
    fresh_identity: IdentityStandIn, redis_url: str, redis: Redis
) -> AsyncIterator[SignInParts]:
    """``AUTH_MODE=user`` parts: links, caches, per-seller and integration-user tokens."""
    built = await build_sign_in(settings_for(fresh_identity, redis_url), redis)
    try:
        yield built
    finally:
        built.close()


RESUME: dict[str, Any] = {"platform": "slack", "text": "/referral list"}


async def browser_answer(
    parts: SignInParts, identity: IdentityStandIn, principal: str, person: Person
) -> dict[str, str]:
    """What the browser posts to the callback after ``person`` signs in through a link made
    for ``principal`` (nothing redeemed yet)."""
    assert parts.sign_ins is not None
    link = await parts.sign_ins.start(principal, RESUME)
    _, fields = identity.authorize_form(link, person)
    return fields


async def sign_in(
    parts: SignInParts, identity: IdentityStandIn, principal: str, person: Person
) -> SignedIn:
    """``person`` signs in through a link made for ``principal``, and the chat confirms it
    (as the worker does once the account proves to be the chat user's)."""
    assert parts.sign_ins is not None
    done = await parts.sign_ins.finish(await browser_answer(parts, identity, principal, person))
    assert await parts.identity.confirm(principal)
    return done
