"""The command line's client of Partner Center's webhook registration API
(``referral-bot webhooks``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from bot.app.clients import (
    build_http_client,
    check_partner_center_settings,
    redis_client,
    static_token_provider,
)
from bot.identity.caches import SERVICE_PRINCIPAL
from bot.identity.setup import build_sign_in
from bot.identity.tokens import DelegatedTokens
from bot.partner_center.sandbox import run_sandbox_in_thread
from bot.partner_center.webhooks import WebhookRegistrations
from bot.settings import Settings


@asynccontextmanager
async def webhook_registrations(settings: Settings) -> AsyncIterator[WebhookRegistrations]:
    """The command line's webhook registration client: ``PARTNER_CENTER_WEBHOOKS_URL`` (the
    built-in sandbox's own with ``PARTNER_CENTER_BASE_URL=sandbox``), as the deployment: the
    static token, or the integration user with a token for the registration API's own
    audience (``PARTNER_CENTER_WEBHOOKS_SCOPE``; msal gets it with the same refresh token)."""
    check_partner_center_settings(settings)
    async with AsyncExitStack() as stack:
        if settings.sign_in_mode == "static":
            tokens = static_token_provider(settings)
        else:
            redis, _ = await stack.enter_async_context(redis_client(settings))
            sign_in = await build_sign_in(settings, redis)
            stack.callback(sign_in.close)
            webhooks_tokens = DelegatedTokens(
                sign_in.apps,
                sign_in.caches,
                scopes=[settings.partner_center_webhooks_scope],
                service=True,
            )
            tokens = webhooks_tokens.provider(SERVICE_PRINCIPAL)
        base_url = settings.partner_center_webhooks_url
        if settings.uses_sandbox:
            api_root = stack.enter_context(run_sandbox_in_thread())
            base_url = api_root.removesuffix("/v1.0") + "/webhooks/v1"
        http = await stack.enter_async_context(build_http_client(settings))
        yield WebhookRegistrations(http, base_url, tokens)
