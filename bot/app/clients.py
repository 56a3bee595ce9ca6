"""The connections of a process: the HTTP client, Partner Center's clients and Redis.

Each is built from :class:`~bot.settings.Settings`, with the sign-in parts its mode needs,
and closed by the block that opened it; the chat services, the webhook registration client
and the command line get their connections here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar
from typing import Any

import httpx
from httpx_aiohttp import AiohttpTransport
from pydantic import SecretStr

from bot.identity.setup import SignInParts, build_sign_in, check_sign_in_settings
from bot.partner_center.auth import StaticTokenProvider, TokenProvider
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.retry import RetryPolicy
from bot.partner_center.sandbox import run_sandbox_in_thread
from bot.settings import ConfigurationError, Settings
from bot.storage.redis import RedisClient, connect, resolve_redis_url

SANDBOX_TOKEN = SecretStr("sandbox")
HTTP_POOL_SIZE = 100


class _RefuseAllCookies(CookieJar):
    """A jar that never stores a cookie.

    The API authenticates with bearer tokens; a cookie one user's response set must not ride
    along on another user's request through the shared client. Skipping the jar also saves
    the standard library's cookie parsing on every response.
    """

    def extract_cookies(self, response: Any, request: Any) -> None:
        """Ignore every Set-Cookie."""


def build_http_client(settings: Settings) -> httpx.AsyncClient:
    """The long-lived HTTP client for Partner Center.

    httpx's own connection pool degrades badly under concurrency on this kind of workload;
    the aiohttp transport keeps the httpx API on aiohttp's engine.
    """
    limits = httpx.Limits(max_connections=HTTP_POOL_SIZE, max_keepalive_connections=HTTP_POOL_SIZE)
    return httpx.AsyncClient(
        transport=AiohttpTransport(limits=limits, trust_env=False),
        timeout=httpx.Timeout(settings.partner_center_timeout_seconds),
        cookies=_RefuseAllCookies(),
        trust_env=False,
    )


def static_token_provider(settings: Settings) -> TokenProvider:
    """The one token of ``AUTH_MODE=static``: ``PARTNER_CENTER_TOKEN``, or any for the sandbox."""
    if (
        settings.partner_center_token is None
        or not settings.partner_center_token.get_secret_value()
    ):
        if settings.uses_sandbox:
            return StaticTokenProvider(SANDBOX_TOKEN)
        raise ConfigurationError(
            "Missing required setting(s): PARTNER_CENTER_TOKEN. Set it to a Partner Center "
            "bearer token, set ENTRA_CLIENT_ID (and the rest of the app registration) to sign "
            "in with msal, or set PARTNER_CENTER_BASE_URL=sandbox to use the built-in sandbox."
        )
    return StaticTokenProvider(settings.partner_center_token)


def check_partner_center_settings(settings: Settings) -> None:
    """Fail at start, naming the variable, on what ``AUTH_MODE`` needs and lacks."""
    if settings.sign_in_mode == "static":
        static_token_provider(settings)
    else:
        check_sign_in_settings(settings)


def build_partner_center_client(
    settings: Settings,
    http: httpx.AsyncClient,
    *,
    base_url: str | None = None,
    sign_in: SignInParts | None = None,
    as_integration_user: bool = False,
) -> PartnerCenterClient:
    """A client for ``base_url`` (default: the configured API root), with its tokens from
    ``sign_in`` (``user`` and ``service`` mode) or the static token."""
    tokens, principals = (
        sign_in.tokens_for(as_integration_user=as_integration_user)
        if sign_in is not None
        else (static_token_provider(settings), None)
    )
    return PartnerCenterClient(
        http,
        base_url=base_url or settings.partner_center_base_url,
        tokens=tokens,
        principals=principals,
        retry=RetryPolicy(max_attempts=settings.partner_center_max_attempts),
        max_pages=settings.partner_center_max_pages,
    )


@asynccontextmanager
async def partner_center_access(
    settings: Settings, redis: RedisClient | None
) -> AsyncIterator[PartnerCenterParts]:
    """Ready clients and, unless ``AUTH_MODE=static``, the sign-in parts (on ``redis``),
    with the built-in sandbox running on loopback when configured."""
    async with AsyncExitStack() as stack:
        sign_in = None
        if settings.sign_in_mode != "static":
            if redis is None:
                raise ValueError(f"AUTH_MODE={settings.sign_in_mode} keeps its tokens in Redis")
            sign_in = await build_sign_in(settings, redis)
            stack.callback(sign_in.close)
        base_url = settings.partner_center_base_url
        if settings.uses_sandbox:
            base_url = stack.enter_context(run_sandbox_in_thread())
        http = await stack.enter_async_context(build_http_client(settings))
        client = build_partner_center_client(settings, http, base_url=base_url, sign_in=sign_in)
        deployment = (
            build_partner_center_client(
                settings, http, base_url=base_url, sign_in=sign_in, as_integration_user=True
            )
            if sign_in is not None and sign_in.identity.per_seller
            else client
        )
        yield PartnerCenterParts(client, deployment, sign_in)


@dataclass(frozen=True)
class PartnerCenterParts:
    """The clients of a process, and how they sign in."""

    client: PartnerCenterClient
    """Acts for whoever a call names (each seller with ``AUTH_MODE=user``)."""
    deployment: PartnerCenterClient
    """Acts as the deployment itself: the static token or the integration user (the command
    line, webhooks' follow-ups, the poll)."""
    sign_in: SignInParts | None


@asynccontextmanager
async def partner_center(settings: Settings) -> AsyncIterator[PartnerCenterClient]:
    """The command line's client: the static token, or the integration user that
    ``referral-bot login`` signed in (Redis holds its tokens)."""
    check_partner_center_settings(settings)
    async with AsyncExitStack() as stack:
        redis = None
        if settings.sign_in_mode != "static":
            redis, _ = await stack.enter_async_context(redis_client(settings))
        parts = await stack.enter_async_context(partner_center_access(settings, redis))
        yield parts.deployment


@asynccontextmanager
async def redis_client(settings: Settings) -> AsyncIterator[tuple[RedisClient, str]]:
    """The shared Redis (``REDIS_URL`` or the embedded server) and its URL; closed after."""
    redis_url = await asyncio.to_thread(resolve_redis_url, settings.redis_url, settings.data_dir)
    redis = await connect(
        redis_url,
        max_connections=settings.redis_max_connections,
        pool_timeout=settings.redis_pool_timeout_seconds,
        socket_timeout=settings.redis_socket_timeout_seconds,
        cluster=settings.redis_cluster,
    )
    try:
        yield redis, redis_url
    finally:
        await redis.aclose()
