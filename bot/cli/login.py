"""``referral-bot login``, ``logout`` and ``whoami``: the integration user's sign-in.

With ``AUTH_MODE=service`` every call acts as the integration user; with ``AUTH_MODE=user``
sellers sign in from chat, and the integration user is whom the command line acts as.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer

from bot.app.clients import redis_client
from bot.cli._shared import configure_logging
from bot.identity.caches import SERVICE_PRINCIPAL
from bot.identity.device import DeviceSignInFailed, sign_in_integration_user
from bot.identity.setup import SignInParts, build_sign_in
from bot.settings import ConfigurationError, Settings, load_settings

T = TypeVar("T")


def login() -> None:
    """Sign the integration user in to Partner Center (device code: open the address shown
    in any browser and enter the code). Its tokens are kept in Redis, sealed."""

    async def work(settings: Settings, parts: SignInParts) -> str:
        scopes = [settings.partner_center_scope]
        try:
            account = await sign_in_integration_user(parts, scopes, typer.echo)
        except DeviceSignInFailed as failed:
            raise ConfigurationError(f"Not signed in: {failed}") from None
        return f"Signed in to Partner Center as {account.username}."

    typer.echo(_with_sign_in(work))


def logout() -> None:
    """Delete the integration user's tokens from Redis."""

    async def work(settings: Settings, parts: SignInParts) -> str:
        parts.service.forget(SERVICE_PRINCIPAL)
        if await parts.caches.delete(SERVICE_PRINCIPAL):
            return "Signed out: the integration user's tokens are deleted."
        return "The integration user was not signed in."

    typer.echo(_with_sign_in(work))


def whoami() -> None:
    """Whom the integration user is signed in as."""

    async def work(settings: Settings, parts: SignInParts) -> str:
        account = await parts.caches.account(SERVICE_PRINCIPAL)
        if account is None:
            return "The integration user is not signed in: run referral-bot login."
        roles = f" Roles: {', '.join(account.roles)}." if account.roles else ""
        return f"Signed in as {account.username} (tenant {account.tenant_id}).{roles}"

    typer.echo(_with_sign_in(work))


def _with_sign_in(work: Callable[[Settings, SignInParts], Awaitable[T]]) -> T:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_level_libraries, settings.log_format)
    if settings.sign_in_mode == "static":
        raise ConfigurationError(
            "AUTH_MODE=static calls Partner Center with PARTNER_CENTER_TOKEN: there is no "
            "sign-in. Set ENTRA_CLIENT_ID, ENTRA_TENANT_ID and TOKEN_ENCRYPTION_KEY (and "
            "AUTH_MODE=service for one integration user)."
        )

    async def main() -> T:
        async with redis_client(settings) as (redis, _):
            parts = await build_sign_in(settings, redis)
            try:
                return await work(settings, parts)
            finally:
                parts.close()

    return asyncio.run(main())
