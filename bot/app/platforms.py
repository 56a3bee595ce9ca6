"""The chat platforms' apps and clients, and whether each platform is configured.

Slack's Bolt app and Web API client; the Teams SDK app (imported on first use), its running
state and the check of its inbound tokens. The web process and the worker build what they
serve from here.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import httpx
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.identity.bot_framework import BotFrameworkTokens
from bot.inbound_tokens import InboundTokens
from bot.settings import ConfigurationError, Settings

if TYPE_CHECKING:
    from types import ModuleType

    from microsoft_teams.apps import App as TeamsApp

logger = logging.getLogger(__name__)


def build_slack_client(settings: Settings) -> AsyncWebClient:
    """The Web API client: on ``SLACK_API_URL``, retrying 429s as ``Retry-After`` says, and
    once a call whose pooled connection the server had closed.

    Passing retry handlers replaces slack_sdk's defaults, which include the connection retry:
    without it, a keep-alive connection closed by Slack (or a proxy) while idle failed the
    next call on it (``ServerDisconnectedError``), and the seller heard nothing. Such a call
    was not taken by the server, so trying it once on a new connection is what the SDK's
    default does too.
    """
    settings.require("slack_bot_token")
    assert settings.slack_bot_token is not None
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=str(settings.slack_api_url),
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        ],
    )


def build_slack_app(settings: Settings) -> AsyncApp:
    """The Bolt app that verifies and acknowledges Slack's requests."""
    settings.require("slack_bot_token", "slack_signing_secret")
    assert settings.slack_signing_secret is not None
    return AsyncApp(
        client=build_slack_client(settings),
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        # Listeners queue the turn, then acknowledge: Slack hears "received" only once the
        # turn is in Redis (listeners do nothing slow, so this stays well inside 3 s).
        process_before_response=True,
        # The signature is checked on the raw body in front of Bolt (handlers/slack/http.py),
        # before anything parses it; Socket Mode needs no HTTP signature at all.
        request_verification_enabled=False,
        logger=logging.getLogger("slack_bolt"),
    )


def slack_configured(settings: Settings) -> bool:
    """Whether the Slack front end is set up (a bot token and the signing secret)."""
    return settings.slack_bot_token is not None or settings.slack_signing_secret is not None


def teams_configured(settings: Settings) -> bool:
    """Whether the Teams front end is set up (the bot's Entra app id and secret)."""
    return settings.teams_client_id is not None or settings.teams_client_secret is not None


def teams_front_end() -> ModuleType:
    """:mod:`handlers.teams`, imported on first use: the Teams SDK takes over a second to
    import, and only processes serving Teams should pay for it."""
    with warnings.catch_warnings():
        # The SDK flags parts of itself as experimental at import; nothing to act on here.
        warnings.simplefilter("ignore", FutureWarning)
        import handlers.teams  # noqa: PLC0415

    return handlers.teams


def build_login_client() -> httpx.AsyncClient:
    """The HTTP client the Teams front end fetches the inbound tokens' signing keys with."""
    return httpx.AsyncClient(timeout=httpx.Timeout(10.0), trust_env=False)


def build_teams_app(settings: Settings) -> TeamsApp:
    """The Teams SDK app: inbound JWTs checked against ``TEAMS_OPENID_METADATA_URL``'s keys,
    outbound calls with the bot's tokens from msal (``ENTRA_AUTHORITY``), no web server of its
    own."""
    settings.require("teams_client_id", "teams_client_secret")
    assert settings.teams_client_id is not None
    assert settings.teams_client_secret is not None
    if not settings.teams_tenants:
        raise ConfigurationError(
            "Missing required setting(s): TEAMS_ALLOWED_TENANTS (or TEAMS_TENANT_ID): the "
            "Entra tenants whose people the bot serves."
        )
    if settings.teams_allow_unauthenticated:
        logger.warning(
            "TEAMS_ALLOW_UNAUTHENTICATED is on: /api/messages accepts activities WITHOUT "
            "checking who sent them. For local development only."
        )
    tokens = BotFrameworkTokens(
        client_id=settings.teams_client_id,
        client_secret=settings.teams_client_secret,
        tenant_id=settings.teams_tenant_id,
        authority_root=str(settings.entra_authority),
        ca_bundle=settings.ca_bundle,
    )
    teams: TeamsApp = teams_front_end().build_app(
        client_id=settings.teams_client_id,
        tenant_id=settings.teams_tenant_id,
        token=tokens,
        openid_metadata_url=str(settings.teams_openid_metadata_url),
        allow_unauthenticated=settings.teams_allow_unauthenticated,
    )
    # The SDK sets the httpx logger to its own client logger's level each time it makes a
    # client (on every activity): at WARNING, requests are not logged one by one at INFO.
    logging.getLogger("microsoft_teams.common.http.client").setLevel(logging.WARNING)
    return teams


def inbound_tokens(settings: Settings, http: httpx.AsyncClient) -> InboundTokens | None:
    """The check of inbound Teams tokens (none in unauthenticated mode): Bot Framework's and
    the served tenants' (Entra), keys fetched with ``http`` off the event loop."""
    if settings.teams_allow_unauthenticated:
        return None
    assert settings.teams_client_id is not None
    return InboundTokens(
        http,
        app_id=settings.teams_client_id,
        openid_metadata_url=str(settings.teams_openid_metadata_url),
        entra_tenants=settings.teams_tenants,
        entra_login_url=str(settings.teams_login_url),
    )


@asynccontextmanager
async def teams_running(
    teams: TeamsApp, login: httpx.AsyncClient | None = None
) -> AsyncIterator[TeamsApp]:
    """Token validation set up (no server started); the HTTP clients closed after (``login``
    too: the client inbound tokens' keys are fetched with)."""
    try:
        await teams.initialize()
        yield teams
    finally:
        # The SDK does not close the HTTP clients it made.
        await teams.http_client.http.aclose()
        await teams.api.http.http.aclose()
        if login is not None:
            await login.aclose()
