"""What the chat asks of sign-in, whatever ``AUTH_MODE`` is: is this seller signed in, a link
to sign in, whom they act as, and signing out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.identity.caches import SERVICE_PRINCIPAL, Account, TokenCaches
from bot.identity.signin import SignIns
from bot.identity.tokens import DelegatedTokens
from bot.settings import AuthMode


class Identity:
    """Sign-in as the chat sees it. ``static``: one configured token, no sign-in at all;
    ``service``: everyone acts as the integration user; ``user``: each seller as themselves."""

    def __init__(
        self,
        mode: AuthMode,
        *,
        caches: TokenCaches | None = None,
        sign_ins: SignIns | None = None,
        tokens: DelegatedTokens | None = None,
    ) -> None:
        if mode != "static" and (caches is None or tokens is None):
            raise ValueError(f"AUTH_MODE={mode} needs token caches and tokens")
        if mode == "user" and sign_ins is None:
            raise ValueError("AUTH_MODE=user needs sign-in links")
        self.mode: AuthMode = mode
        self._caches = caches
        self._sign_ins = sign_ins
        self._tokens = tokens

    @property
    def per_seller(self) -> bool:
        """Whether each seller signs in as themselves."""
        return self.mode == "user"

    async def is_signed_in(self, principal: str) -> bool:
        """Whether calls for ``principal`` have someone to act as (always, but per seller)."""
        if not self.per_seller:
            return True
        assert self._caches is not None
        return await self._caches.exists(principal)

    async def link(self, principal: str, resume: Mapping[str, Any]) -> str:
        """A private, single-use sign-in link for ``principal``."""
        if self._sign_ins is None:
            raise RuntimeError(f"AUTH_MODE={self.mode} has no sign-in links")
        return await self._sign_ins.start(principal, resume)

    async def account(self, principal: str) -> Account | None:
        """Whom calls for ``principal`` act as (the integration user in service mode)."""
        if self._caches is None:
            return None
        return await self._caches.account(self._acting(principal))

    async def held_account(self, principal: str) -> Account | None:
        """Whom a new sign-in waiting for confirmation is for."""
        if self._caches is None:
            return None
        return await self._caches.held_account(principal)

    async def confirm(self, principal: str) -> bool:
        """The new sign-in is the chat user's own: from now on calls act as it."""
        if self._caches is None or self._tokens is None:
            return False
        promoted = await self._caches.promote(principal)
        self._tokens.forget(principal)
        return promoted

    async def refuse(self, principal: str) -> None:
        """The new sign-in is someone else's: forgotten, never used."""
        if self._caches is not None:
            await self._caches.drop_held(principal)

    async def sign_out(self, principal: str) -> bool:
        """Delete the seller's tokens; True when there were any."""
        if not self.per_seller:
            return False
        assert self._caches is not None
        assert self._tokens is not None
        self._tokens.forget(principal)
        return await self._caches.delete(principal)

    def _acting(self, principal: str) -> str:
        return principal if self.per_seller else SERVICE_PRINCIPAL
