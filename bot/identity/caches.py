"""msal token caches in Redis, one per principal, sealed.

A *principal* is whoever Partner Center calls act as: a seller (their conversation key,
``slack:T1:U2``) when sellers sign in themselves, or :data:`SERVICE_PRINCIPAL`, the one
integration user. Its cache is msal's serialized cache (accounts, id token, access and
refresh tokens), sealed by :class:`~bot.identity.sealing.Sealer`: the Redis value never holds
a token in clear. Every process reads the cache afresh before asking msal for a token and
writes it back when msal changed it, so a refresh made by one worker serves all of them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from bot.identity.sealing import Sealer, Unreadable
from bot.storage.redis import RedisClient

logger = logging.getLogger(__name__)

SERVICE_PRINCIPAL = "service"
"""The principal of ``AUTH_MODE=service``: the integration user ``referral-bot login`` signs in."""
CACHE_PREFIX = "rb:identity:tokens:"
PENDING_PREFIX = "rb:identity:pending:"
PENDING_SECONDS = 600
"""How long a new sign-in waits for the chat to confirm it is the chat user's own."""
CACHE_TTL_SECONDS = 90 * 24 * 3600
"""A refresh token unused for 90 days is dead at Entra ID too; so is its cache here."""


@dataclass(frozen=True, slots=True)
class Account:
    """Who a principal is signed in as, from the id token msal keeps (no secrets)."""

    username: str
    name: str | None
    object_id: str | None
    tenant_id: str | None
    roles: tuple[str, ...] = ()
    """App roles and directory roles the id token lists, when it lists any."""


class TokenCaches:
    """Sealed msal caches, keyed by principal."""

    def __init__(self, redis: RedisClient, sealer: Sealer) -> None:
        self._redis = redis
        self._sealer = sealer

    async def load(self, principal: str) -> str | None:
        """The principal's serialized cache, or None: never signed in, signed out, or sealed
        with a key no longer configured (then it is as good as gone, and said so once)."""
        sealed = await self._redis.get(_key(principal))
        if sealed is None:
            return None
        try:
            return self._sealer.open(sealed).decode()
        except Unreadable:
            logger.warning("the token cache of %s opens with no configured key: dropped", principal)
            await self._redis.delete(_key(principal))
            return None

    async def save(self, principal: str, serialized: str) -> None:
        """Replace the principal's cache (a refresh, or a new sign-in)."""
        sealed = self._sealer.seal(serialized.encode())
        await self._redis.set(_key(principal), sealed, ex=CACHE_TTL_SECONDS)

    async def hold(self, principal: str, serialized: str) -> None:
        """Keep a new sign-in aside, unused, until :meth:`promote` (the account proved to be
        the chat user's) or :meth:`drop_held`."""
        sealed = self._sealer.seal(serialized.encode())
        await self._redis.set(PENDING_PREFIX + principal, sealed, ex=PENDING_SECONDS)

    async def held_account(self, principal: str) -> Account | None:
        """Whom the sign-in held aside for ``principal`` is for, if one is held."""
        sealed = await self._redis.get(PENDING_PREFIX + principal)
        if sealed is None:
            return None
        try:
            return account_in(self._sealer.open(sealed).decode())
        except Unreadable:
            return None

    async def promote(self, principal: str) -> bool:
        """Make the held sign-in the principal's cache; False when none was held."""
        sealed = await self._redis.getdel(PENDING_PREFIX + principal)
        if sealed is None:
            return False
        # Sealed already, with the same keys: moved as it is.
        await self._redis.set(_key(principal), sealed, ex=CACHE_TTL_SECONDS)
        return True

    async def drop_held(self, principal: str) -> bool:
        """Forget the held sign-in (it was someone else's)."""
        return bool(await self._redis.delete(PENDING_PREFIX + principal))

    async def delete(self, principal: str) -> bool:
        """Sign the principal out here; True when there was something to forget."""
        return bool(await self._redis.delete(_key(principal)))

    async def exists(self, principal: str) -> bool:
        """Whether the principal has a cache (cheap: nothing is opened)."""
        return bool(await self._redis.exists(_key(principal)))

    async def account(self, principal: str) -> Account | None:
        """Who the principal is signed in as, or None."""
        serialized = await self.load(principal)
        return account_in(serialized) if serialized is not None else None


def account_in(serialized: str) -> Account | None:
    """The account of a serialized msal cache (its first), with the id token's roles."""
    try:
        cache: dict[str, Any] = json.loads(serialized)
    except ValueError:
        return None
    accounts = list((cache.get("Account") or {}).values())
    if not accounts:
        return None
    first = accounts[0]
    claims = _id_token_claims(cache, first.get("home_account_id"))
    roles = [*claims.get("roles", ()), *claims.get("wids", ())]
    return Account(
        username=str(first.get("username") or claims.get("preferred_username") or ""),
        name=claims.get("name"),
        object_id=claims.get("oid") or first.get("local_account_id"),
        tenant_id=claims.get("tid") or first.get("realm"),
        roles=tuple(str(role) for role in roles),
    )


def _id_token_claims(cache: dict[str, Any], home_account_id: str | None) -> dict[str, Any]:
    from msal.oauth2cli.oidc import decode_part  # noqa: PLC0415 - msal loads only when used

    for entry in (cache.get("IdToken") or {}).values():
        if entry.get("home_account_id") != home_account_id:
            continue
        try:
            claims = json.loads(decode_part(str(entry.get("secret", "")).split(".")[1]))
        except (ValueError, IndexError):
            return {}
        return claims if isinstance(claims, dict) else {}
    return {}


def _key(principal: str) -> str:
    return CACHE_PREFIX + principal
