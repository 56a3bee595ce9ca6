"""Where the bearer token for Partner Center comes from.

The client asks a :class:`TokenProvider` for a token on every request, so a provider must be
cheap when it already holds a valid token. :class:`CachingTokenProvider` gives any slow source
(msal, a token endpoint) that property: it keeps the current token in memory until shortly
before it expires and lets only one acquisition run at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from pydantic import SecretStr

from bot.clock import Clock, SystemClock
from bot.metrics import TOKEN_REFRESHES


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A bearer token and when (monotonic seconds) it stops being valid; None: never."""

    value: SecretStr
    expires_at: float | None = None


class SignInRequired(Exception):
    """No token can be had for ``principal`` until that person signs in (again): never signed
    in, signed out, or the refresh was refused (revoked, password changed, MFA now required).

    Not a :class:`~bot.partner_center.errors.PartnerCenterError`: nothing was sent, and the
    answer is a sign-in link, which only the chat pipeline can give.
    """

    def __init__(self, principal: str, reason: str) -> None:
        super().__init__(reason)
        self.principal = principal
        self.reason = reason


class TokenProvider(Protocol):
    """Supplies bearer tokens for Partner Center requests."""

    async def token(self) -> str:
        """A token valid now."""
        ...

    def invalidate(self, token: str) -> bool:
        """Forget ``token`` after the API refused it; True when a fresh one may differ."""
        ...


class StaticTokenProvider:
    """One fixed token (``PARTNER_CENTER_TOKEN``): for scripting and the sandbox."""

    def __init__(self, token: SecretStr) -> None:
        if not token.get_secret_value():
            raise ValueError("the static token is empty")
        self._token = token

    async def token(self) -> str:
        """The configured token."""
        return self._token.get_secret_value()

    def invalidate(self, token: str) -> bool:
        """A static token cannot be refreshed."""
        return False


TokenSource = Callable[[bool], Awaitable[AccessToken]]
"""Makes a token; the argument is True when the last one was refused by the API, so cached
copies (msal's own cache) must be skipped and a new token fetched."""


class CachingTokenProvider:
    """Keeps a token from ``source`` until ``refresh_margin`` seconds before it expires, and
    at most ``recheck_after`` seconds (so a sign-out elsewhere is seen within that time)."""

    def __init__(
        self,
        source: TokenSource,
        *,
        clock: Clock | None = None,
        refresh_margin: float = 300.0,
        recheck_after: float | None = None,
    ) -> None:
        self._source = source
        self._clock = clock or SystemClock()
        self._refresh_margin = refresh_margin
        self._recheck_after = recheck_after
        self._current: AccessToken | None = None
        self._obtained = 0.0
        self._margin = refresh_margin
        self._refused = False
        self._lock = asyncio.Lock()
        self.acquisitions = 0

    async def token(self) -> str:
        """The cached token, or a new one when it is missing or about to expire."""
        current = self._current
        if current is not None and self._fresh(current):
            return current.value.get_secret_value()
        async with self._lock:
            # Another task may have refreshed it while this one waited for the lock.
            current = self._current
            if current is None or not self._fresh(current):
                current = await self._acquired()
                self.acquisitions += 1
                self._obtained, self._refused = self._clock.monotonic(), False
                self._current = current
                self._margin = self._refresh_margin
                if current.expires_at is not None:
                    # A token that lives less than twice the margin is used for half its
                    # life, not fetched again on every call.
                    lifetime = current.expires_at - self._obtained
                    self._margin = min(self._refresh_margin, max(lifetime, 0.0) / 2)
            return current.value.get_secret_value()

    async def _acquired(self) -> AccessToken:
        """A new token from the source, counted by how it went."""
        try:
            current = await self._source(self._refused)
        except SignInRequired:
            TOKEN_REFRESHES.labels("sign_in_required").inc()
            raise
        except Exception:
            TOKEN_REFRESHES.labels("unavailable").inc()
            raise
        TOKEN_REFRESHES.labels("ok").inc()
        return current

    def invalidate(self, token: str) -> bool:
        """Drop the cached token if it is the one the API refused; the next is fetched anew."""
        current = self._current
        if current is not None and current.value.get_secret_value() == token:
            self._current = None
            self._refused = True
        return True

    def forget(self) -> None:
        """Drop the cached token (signed out): the next call goes back to the source."""
        self._current = None

    def _fresh(self, token: AccessToken) -> bool:
        now = self._clock.monotonic()
        if self._recheck_after is not None and now - self._obtained >= self._recheck_after:
            return False
        if token.expires_at is None:
            return True
        return now < token.expires_at - self._margin
