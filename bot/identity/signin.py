"""Sellers signing in as themselves: the authorization code flow with PKCE, through msal.

:meth:`SignIns.start` makes a private link for one chat user and conversation. msal makes the
PKCE verifier, the nonce and the authorize URL; the flow, who asked, and what to do once
signed in are sealed and kept in Redis for 10 minutes under a hash of ``state`` (a random
value only the link carries). :meth:`SignIns.finish`, behind ``GET /auth/callback``, takes
that record out of Redis in the same command that reads it, so a link works once: a
replayed, forged or expired ``state`` finds nothing and is refused before Entra ID is asked
anything. Then msal redeems the code, and the principal's new token cache is sealed and
stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msal
import requests

from bot.identity.apps import MsalApps, refusal_reason
from bot.identity.caches import Account, TokenCaches, account_in
from bot.identity.sealing import Sealer, Unreadable
from bot.storage.redis import RedisClient

logger = logging.getLogger(__name__)

SIGN_IN_SECONDS = 600
"""How long a sign-in link works."""
STATE_PREFIX = "rb:identity:sign-in:"
CALLBACK_PATH = "/auth/callback"


class SignInRefused(Exception):
    """The callback cannot complete a sign-in; the message is for the person at the browser.

    ``resume`` is what the link was made for, when the link itself was genuine (Entra ID
    refused, or the code did not redeem), so the chat can be told too.
    """

    def __init__(self, message: str, *, resume: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.resume = dict(resume) if resume is not None else None


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A completed sign-in (held aside until confirmed): whose, as whom, and what the chat
    should do next."""

    principal: str
    account: Account
    resume: dict[str, Any]


class SignIns:
    """Starts and finishes sellers' sign-ins."""

    def __init__(
        self,
        redis: RedisClient,
        sealer: Sealer,
        apps: MsalApps,
        caches: TokenCaches,
        *,
        scopes: list[str],
        redirect_uri: str,
    ) -> None:
        self._redis = redis
        self._sealer = sealer
        self._apps = apps
        self._caches = caches
        self._scopes = list(scopes)
        self.redirect_uri = redirect_uri

    async def start(self, principal: str, resume: Mapping[str, Any]) -> str:
        """A sign-in link for ``principal``; ``resume`` comes back from :meth:`finish`."""
        state = secrets.token_urlsafe(32)
        flow = await asyncio.to_thread(self._initiate, state)
        record = {"principal": principal, "resume": dict(resume), "flow": flow}
        sealed = self._sealer.seal(json.dumps(record).encode())
        await self._redis.set(record_key(state), sealed, ex=SIGN_IN_SECONDS)
        return str(flow["auth_uri"])

    async def finish(self, params: Mapping[str, str]) -> SignedIn:
        """Redeem the callback's ``code`` for the link's principal; :class:`SignInRefused`
        with a message for the browser otherwise."""
        state = params.get("state", "")
        if not state:
            raise SignInRefused("This address is not a sign-in link.")
        record = await self._take(state)
        principal, resume = str(record["principal"]), dict(record["resume"])
        if "error" in params:
            reason = refusal_reason(params)
            raise SignInRefused(f"Microsoft did not sign you in: {reason}", resume=resume)
        cache = msal.SerializableTokenCache()
        result = await asyncio.to_thread(self._redeem, cache, record["flow"], dict(params))
        if "access_token" not in result:
            logger.info("sign-in of %s refused: %s", principal, result.get("error"))
            raise SignInRefused(
                f"The sign-in could not be completed: {refusal_reason(result)}", resume=resume
            )
        serialized = cache.serialize()
        account = account_in(serialized)
        if account is None:
            raise SignInRefused("Microsoft answered without an account.", resume=resume)
        # Held aside until the chat confirms the account is the chat user's own: a link
        # opened by someone else must never be used, not even by a turn already queued.
        await self._caches.hold(principal, serialized)
        logger.info("%s signed in to Partner Center as %s", principal, account.username)
        return SignedIn(principal, account, resume)

    async def _take(self, state: str) -> dict[str, Any]:
        sealed = await self._redis.getdel(record_key(state))
        if sealed is None:
            raise SignInRefused(
                "This sign-in link has expired or was already used. Go back to chat and type "
                "login for a new one."
            )
        try:
            record: dict[str, Any] = json.loads(self._sealer.open(sealed))
        except (Unreadable, ValueError):
            raise SignInRefused("This sign-in link cannot be read; ask for a new one.") from None
        return record

    def _initiate(self, state: str) -> dict[str, Any]:
        try:
            app = self._apps.confidential()
            flow: dict[str, Any] = app.initiate_auth_code_flow(
                self._scopes,
                redirect_uri=self.redirect_uri,
                state=state,
                prompt="select_account",
                # The code comes back in a POST body, not in a URL that browsers keep in
                # their history and proxies in their logs.
                response_mode="form_post",
            )
        except (requests.RequestException, ValueError) as error:
            raise SignInUnavailable(
                "Could not reach the Microsoft sign-in service to make a link "
                f"({error.__class__.__name__}); try again in a minute."
            ) from None
        return flow

    def _redeem(
        self, cache: msal.SerializableTokenCache, flow: dict[str, Any], params: dict[str, str]
    ) -> dict[str, Any]:
        try:
            app = self._apps.confidential(cache)
            result: dict[str, Any] = app.acquire_token_by_auth_code_flow(
                flow, params, scopes=self._scopes
            )
        except ValueError as error:
            # msal's own checks (state or nonce mismatch): never a token.
            return {"error": "invalid_request", "error_description": str(error)}
        except requests.RequestException as error:
            unreachable = f"cannot reach the sign-in service ({error.__class__.__name__})"
            return {"error": "temporarily_unavailable", "error_description": unreachable}
        return result


class SignInUnavailable(Exception):
    """No sign-in link could be made right now (Entra ID unreachable)."""


def record_key(state: str) -> str:
    """The Redis key of the sign-in record of ``state``."""
    # The state itself never reaches Redis: only its hash names the record.
    return STATE_PREFIX + hashlib.sha256(state.encode()).hexdigest()
