"""The composition root: the one place that turns :class:`Settings` into live objects.

Everything else receives its dependencies from here, so a test can build the same parts
around a loopback sandbox or a local Redis without patching anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import httpx
from httpx_aiohttp import AiohttpTransport
from pydantic import SecretStr
from starlette.applications import Starlette

from bot.clock import SystemClock
from bot.conversation.desk import Desk
from bot.conversation.engine import Engine
from bot.conversation.store import RedisSessionStore
from bot.partner_center.auth import StaticTokenProvider, TokenProvider
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.retry import RetryPolicy
from bot.partner_center.sandbox import run_sandbox_in_thread
from bot.settings import SANDBOX, ConfigurationError, Settings
from bot.storage.redis import connect, redact_url, resolve_redis_url
from bot.web import create_web_app

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


def build_token_provider(settings: Settings) -> TokenProvider:
    """The token provider ``AUTH_MODE`` asks for."""
    if settings.auth_mode != "static":
        raise ConfigurationError(
            f"AUTH_MODE={settings.auth_mode} is not available yet; use AUTH_MODE=static "
            "with PARTNER_CENTER_TOKEN."
        )
    if (
        settings.partner_center_token is None
        or not settings.partner_center_token.get_secret_value()
    ):
        if settings.uses_sandbox:
            return StaticTokenProvider(SANDBOX_TOKEN)
        raise ConfigurationError(
            "Missing required setting(s): PARTNER_CENTER_TOKEN. Set it to a Partner Center "
            "bearer token, or set PARTNER_CENTER_BASE_URL=sandbox to use the built-in sandbox."
        )
    return StaticTokenProvider(settings.partner_center_token)


def build_partner_center_client(
    settings: Settings, http: httpx.AsyncClient, *, base_url: str | None = None
) -> PartnerCenterClient:
    """A client for ``base_url`` (default: the configured API root)."""
    return PartnerCenterClient(
        http,
        base_url=base_url or settings.partner_center_base_url,
        tokens=build_token_provider(settings),
        retry=RetryPolicy(max_attempts=settings.partner_center_max_attempts),
        max_pages=settings.partner_center_max_pages,
    )


@asynccontextmanager
async def partner_center(settings: Settings) -> AsyncIterator[PartnerCenterClient]:
    """A ready client, with the built-in sandbox running on loopback when configured."""
    async with AsyncExitStack() as stack:
        base_url = settings.partner_center_base_url
        if settings.uses_sandbox:
            base_url = stack.enter_context(run_sandbox_in_thread())
        http = await stack.enter_async_context(build_http_client(settings))
        yield build_partner_center_client(settings, http, base_url=base_url)


def build_web_app(settings: Settings) -> Starlette:
    """The ``web`` process's ASGI app."""
    build_token_provider(settings)  # fail at start, naming the variable, not on first use
    return create_web_app()


@dataclass(frozen=True)
class ChatServices:
    """What a chat front end needs, and where it lives (for the banner)."""

    desk: Desk
    redis_url: str
    partner_center_url: str
    sandbox: bool
    data_dir: Path


def for_local_chat(settings: Settings) -> Settings:
    """Settings for a laptop: with no Partner Center configured, the built-in sandbox."""
    configured = {"partner_center_base_url", "partner_center_token"} & settings.model_fields_set
    if configured:
        return settings
    return settings.model_copy(update={"partner_center_base_url": SANDBOX})


@asynccontextmanager
async def chat_services(settings: Settings) -> AsyncIterator[ChatServices]:
    """The desk on Redis (``REDIS_URL`` or the embedded server) and Partner Center."""
    settings = for_local_chat(settings)
    build_token_provider(settings)  # a configuration error stops us before Redis starts
    redis_url = await asyncio.to_thread(resolve_redis_url, settings.redis_url, settings.data_dir)
    async with AsyncExitStack() as stack:
        redis = await connect(
            redis_url,
            max_connections=settings.redis_max_connections,
            pool_timeout=settings.redis_pool_timeout_seconds,
            socket_timeout=settings.redis_socket_timeout_seconds,
        )
        stack.push_async_callback(redis.aclose)
        client = await stack.enter_async_context(partner_center(settings))
        engine = Engine(
            RedisSessionStore(redis),
            client,
            clock=SystemClock(),
            ttl_seconds=settings.session_ttl_seconds,
        )
        yield ChatServices(
            desk=Desk(engine, client),
            redis_url=redact_url(redis_url),
            partner_center_url=client.base_url,
            sandbox=settings.uses_sandbox,
            data_dir=settings.data_dir,
        )
