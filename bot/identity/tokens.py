"""Partner Center tokens per principal (app + user, delegated), from sealed msal caches.

The client asks for a token on every request, so the current one is kept in memory until
shortly before it expires (:class:`~bot.partner_center.auth.CachingTokenProvider`, one per
principal, which also lets only one acquisition per principal run at a time). Only then is
the principal's cache read from Redis and msal asked, off the event loop: msal is blocking,
and a refresh is an HTTPS round trip to Entra ID. A token the API refused (401) makes the
next acquisition skip msal's cache and use the refresh token.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

import msal
import requests
from pydantic import SecretStr

from bot.clock import Clock, SystemClock
from bot.identity.apps import MsalApps, refusal_reason
from bot.identity.caches import TokenCaches
from bot.partner_center.auth import AccessToken, CachingTokenProvider, SignInRequired
from bot.partner_center.errors import Unauthorized, Unavailable

logger = logging.getLogger(__name__)

MAX_PRINCIPALS_IN_MEMORY = 10_000
RECHECK_SECONDS = 60.0
"""How long a token is used from memory before the cache in Redis is read again: the bound
on how long another process keeps calling for a seller who signed out."""
REFRESH_MARGIN_SECONDS = 300.0
SIGN_IN_AGAIN_ERRORS = frozenset(
    {"invalid_grant", "interaction_required", "login_required", "consent_required"}
)
"""msal's answers that only the person can fix, by signing in again."""


class IdentityUnavailable(Unavailable):
    """Entra ID could not be reached or failed: nothing was sent; trying later may work."""


class ServiceNotSignedIn(Unauthorized):
    """``AUTH_MODE=service`` and the integration user is not (or no longer) signed in."""


class DelegatedTokens:
    """Token providers for principals, each acting as the person signed in for it."""

    def __init__(
        self,
        apps: MsalApps,
        caches: TokenCaches,
        *,
        scopes: list[str],
        service: bool = False,
        clock: Clock | None = None,
        max_in_memory: int = MAX_PRINCIPALS_IN_MEMORY,
    ) -> None:
        self._apps = apps
        self._caches = caches
        self._scopes = list(scopes)
        self._service = service
        self._clock = clock or SystemClock()
        self._max_in_memory = max_in_memory
        self._providers: OrderedDict[str, CachingTokenProvider] = OrderedDict()

    def provider(self, principal: str) -> CachingTokenProvider:
        """The token provider of ``principal`` (one per process, kept while used)."""
        provider = self._providers.get(principal)
        if provider is None:
            provider = CachingTokenProvider(
                lambda refused: self._acquire(principal, refused),
                clock=self._clock,
                refresh_margin=REFRESH_MARGIN_SECONDS,
                recheck_after=RECHECK_SECONDS,
            )
            self._providers[principal] = provider
            if len(self._providers) > self._max_in_memory:
                self._providers.popitem(last=False)
        else:
            self._providers.move_to_end(principal)
        return provider

    def forget(self, principal: str) -> None:
        """Drop what this process holds for ``principal`` (signed out here)."""
        provider = self._providers.pop(principal, None)
        if provider is not None:
            provider.forget()

    async def _acquire(self, principal: str, refused: bool) -> AccessToken:
        serialized = await self._caches.load(principal)
        if serialized is None:
            raise self._not_signed_in(principal, "not signed in")
        token, changed = await asyncio.to_thread(self._silent, principal, serialized, refused)
        if changed is not None:
            await self._caches.save(principal, changed)
        return token

    def _silent(
        self, principal: str, serialized: str, refused: bool
    ) -> tuple[AccessToken, str | None]:
        """msal, blocking: the cached token, or one from the refresh token."""
        cache = msal.SerializableTokenCache()
        cache.deserialize(serialized)
        try:
            app = self._apps.public(cache) if self._service else self._apps.confidential(cache)
            accounts = app.get_accounts()
            if not accounts:
                raise self._not_signed_in(principal, "not signed in")
            result = app.acquire_token_silent_with_error(
                self._scopes, account=accounts[0], force_refresh=refused
            )
        except (requests.RequestException, ValueError) as error:
            # ValueError: msal could not read the authority's metadata.
            raise IdentityUnavailable(
                f"Could not reach the Microsoft sign-in service ({error.__class__.__name__})."
            ) from None
        if not result:
            raise self._not_signed_in(principal, "the sign-in has no refresh token")
        if "access_token" not in result:
            code = str(result.get("error", "unknown"))
            if code in SIGN_IN_AGAIN_ERRORS:
                raise self._not_signed_in(principal, refusal_reason(result))
            raise IdentityUnavailable(
                f"The Microsoft sign-in service refused: {refusal_reason(result)}"
            )
        lifetime = float(result.get("expires_in") or 3600)
        token = AccessToken(
            SecretStr(str(result["access_token"])), self._clock.monotonic() + lifetime
        )
        return token, cache.serialize() if cache.has_state_changed else None

    def _not_signed_in(self, principal: str, reason: str) -> Exception:
        if self._service:
            return ServiceNotSignedIn(
                "The integration user is not signed in to Partner Center "
                f"({reason}); an operator must run `referral-bot login`."
            )
        return SignInRequired(principal, reason)
