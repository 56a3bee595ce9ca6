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


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A bearer token and when (monotonic seconds) it stops being valid; None: never."""

    value: SecretStr
    expires_at: float | None = None


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


TokenSource = Callable[[], Awaitable[AccessToken]]


class CachingTokenProvider:
    """Keeps a token from ``source`` until ``refresh_margin`` seconds before it expires."""

    def __init__(
        self,
        source: TokenSource,
        *,
        clock: Clock | None = None,
        refresh_margin: float = 300.0,
    ) -> None:
        self._source = source
        self._clock = clock or SystemClock()
        self._refresh_margin = refresh_margin
        self._current: AccessToken | None = None
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
                current = await self._source()
                self.acquisitions += 1
                self._current = current
            return current.value.get_secret_value()

    def invalidate(self, token: str) -> bool:
        """Drop the cached token if it is the one the API refused."""
        current = self._current
        if current is not None and current.value.get_secret_value() == token:
            self._current = None
        return True

    def _fresh(self, token: AccessToken) -> bool:
        if token.expires_at is None:
            return True
        return self._clock.monotonic() < token.expires_at - self._refresh_margin
