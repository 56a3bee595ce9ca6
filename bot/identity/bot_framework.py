"""The Teams bot's own tokens for the Bot Connector: msal's client-credentials grant.

The Teams front end calls the Bot Connector as the bot, with a token for
``https://api.botframework.com/.default`` issued to the bot's app registration
(``TEAMS_CLIENT_ID`` / ``TEAMS_CLIENT_SECRET``) by ``{ENTRA_AUTHORITY}/{tenant}``: the bot's
own tenant (``TEAMS_TENANT_ID``: a single-tenant bot) or ``botframework.com`` (a multi-tenant
one). msal is blocking, so it runs off the event loop. The token is kept in memory until shortly
before it expires (:class:`~bot.partner_center.auth.CachingTokenProvider`, one per (scope,
tenant), which also lets only one acquisition per pair run at a time); a token the Bot
Connector refused makes the next acquisition skip msal's own cache.

Acquisitions are an hour apart, so no connection to Entra ID is kept open between them: the
HTTP session's connections are closed once no acquisition is in flight, and nothing needs
closing at shutdown.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import msal
import requests
from pydantic import SecretStr

from bot.clock import Clock, SystemClock
from bot.identity.apps import MsalApps, Registration, refusal_reason
from bot.partner_center.auth import AccessToken, CachingTokenProvider

BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"
MULTI_TENANT = "botframework.com"
"""The tenant a multi-tenant bot asks for Bot Connector tokens."""
REFRESH_MARGIN_SECONDS = 300.0
"""A token is replaced this long before it expires (msal's own cache uses the same margin)."""


class TokenRefused(Exception):
    """Entra ID did not issue a bot token; the message says why, never with the secret."""


class BotFrameworkTokens:
    """Bot tokens per (scope, tenant), each kept until shortly before it expires.

    Callable as ``await tokens(scope, tenant_id)``: the shape the Teams SDK's ``token`` option
    takes.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: SecretStr,
        tenant_id: str | None = None,
        authority_root: str,
        ca_bundle: Path | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._tenant_id = tenant_id
        self._authority_root = authority_root.rstrip("/")
        self._ca_bundle = ca_bundle
        self._clock = clock or SystemClock()
        self._providers: dict[tuple[str, str], CachingTokenProvider] = {}
        # Touched from msal's worker threads: the applications (one per tenant, each with its
        # own token cache) and the count of acquisitions in flight.
        self._lock = threading.Lock()
        self._apps: dict[str, MsalApps] = {}
        self._applications: dict[str, msal.ConfidentialClientApplication] = {}
        self._in_flight = 0

    async def __call__(self, scope: str | list[str], tenant_id: str | None = None) -> str:
        """A token for ``scope`` (``https://api.botframework.com/.default``)."""
        scopes = scope.split() if isinstance(scope, str) else list(scope)
        # A single-tenant bot always asks its own tenant; a multi-tenant one the bot tenant.
        tenant = self._tenant_id or tenant_id or MULTI_TENANT
        key = (" ".join(scopes), tenant)
        provider = self._providers.get(key)
        if provider is None:
            provider = CachingTokenProvider(
                lambda refused: self._acquire(scopes, tenant, refused),
                clock=self._clock,
                refresh_margin=REFRESH_MARGIN_SECONDS,
            )
            self._providers[key] = provider
        return await provider.token()

    def invalidate(self, token: str) -> None:
        """Forget ``token`` after the Bot Connector refused it: the next is fetched anew."""
        for provider in self._providers.values():
            provider.invalidate(token)

    @property
    def acquisitions(self) -> int:
        """Tokens obtained from msal so far (from its cache or from Entra ID)."""
        return sum(provider.acquisitions for provider in self._providers.values())

    async def _acquire(self, scopes: list[str], tenant: str, refused: bool) -> AccessToken:
        result = await asyncio.to_thread(self._acquire_blocking, scopes, tenant, refused)
        if "access_token" not in result:
            raise TokenRefused(
                f"Entra ID refused a token for client {self._client_id} in tenant {tenant} "
                f"({result.get('error', 'unknown error')}): {refusal_reason(result)}"
            )
        lifetime = float(result.get("expires_in") or 3600)
        return AccessToken(
            SecretStr(str(result["access_token"])), self._clock.monotonic() + lifetime
        )

    def _acquire_blocking(self, scopes: list[str], tenant: str, refused: bool) -> dict[str, Any]:
        """msal, blocking: the cached token, or a new one from Entra ID."""
        with self._lock:
            self._in_flight += 1
        try:
            application = self._application(tenant)
            if refused:
                # acquire_token_for_client has no force_refresh: empty its cache instead.
                application.remove_tokens_for_client()
            result = application.acquire_token_for_client(scopes)
        except (requests.RequestException, ValueError) as error:
            # ValueError: msal could not read the authority's metadata.
            raise TokenRefused(
                f"cannot reach {self._authority_root}/{tenant} for a token for client "
                f"{self._client_id}: {error.__class__.__name__}"
            ) from None
        finally:
            self._idle()
        if not isinstance(result, dict):
            return {"error": "no_answer", "error_description": "msal returned nothing"}
        return result

    def _application(self, tenant: str) -> msal.ConfidentialClientApplication:
        """The tenant's msal application, made on first use (msal reads the authority's
        metadata then) and kept, with its token cache."""
        with self._lock:
            application = self._applications.get(tenant)
            if application is not None:
                return application
            apps = self._apps.get(tenant)
            if apps is None:
                apps = MsalApps(
                    Registration(
                        client_id=self._client_id,
                        tenant_id=tenant,
                        authority_root=self._authority_root,
                        client_secret=self._client_secret,
                        ca_bundle=self._ca_bundle,
                    )
                )
                self._apps[tenant] = apps
        # Outside the lock: building reaches the authority, and another tenant need not wait.
        application = apps.confidential(msal.TokenCache())
        with self._lock:
            return self._applications.setdefault(tenant, application)

    def _idle(self) -> None:
        """One acquisition ended: with none left in flight, close the idle connections (the
        sessions stay usable; the next acquisition opens a new connection)."""
        with self._lock:
            self._in_flight -= 1
            if self._in_flight == 0:
                for apps in self._apps.values():
                    apps.close()
