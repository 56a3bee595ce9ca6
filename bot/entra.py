"""Tokens for the app itself from Microsoft Entra ID: the OAuth 2.0 client-credentials grant.

The Teams front end needs a token to call the Bot Connector as the bot. It is one form POST
to ``{login}/{tenant}/oauth2/v2.0/token``; doing it over the app's own httpx client (rather
than msal) keeps the login root a setting (``TEAMS_LOGIN_URL``), so the whole path runs
against a local stand-in in tests. msal insists on https and on discovering the authority
at login.microsoftonline.com, which no loopback server can satisfy. Tokens are cached by
:class:`~bot.partner_center.auth.CachingTokenProvider` until shortly before they expire.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr

from bot.clock import Clock, SystemClock
from bot.partner_center.auth import AccessToken, CachingTokenProvider

DEFAULT_LOGIN_URL = "https://login.microsoftonline.com"
MULTI_TENANT = "botframework.com"
"""The tenant a multi-tenant bot asks for Bot Connector tokens."""


class TokenRefused(Exception):
    """Entra ID did not issue a token; the message says why, without the secret."""


class ClientCredentials:
    """Bot tokens per (scope, tenant), each kept until shortly before it expires.

    Callable as ``await credentials(scope, tenant_id)``: the shape the Teams SDK's ``token``
    option takes.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        client_id: str,
        client_secret: SecretStr,
        tenant_id: str | None = None,
        login_url: str = DEFAULT_LOGIN_URL,
        clock: Clock | None = None,
    ) -> None:
        self._http = http
        self._client_id = client_id
        self._client_secret = client_secret
        self._tenant_id = tenant_id
        self._login_url = login_url.rstrip("/")
        self._clock = clock or SystemClock()
        self._providers: dict[tuple[str, str], CachingTokenProvider] = {}

    async def __call__(self, scope: str | list[str], tenant_id: str | None = None) -> str:
        """A token for ``scope`` (``https://api.botframework.com/.default``)."""
        scopes = scope if isinstance(scope, str) else " ".join(scope)
        # A single-tenant bot always asks its own tenant; a multi-tenant one the bot tenant.
        tenant = self._tenant_id or tenant_id or MULTI_TENANT
        provider = self._providers.get((scopes, tenant))
        if provider is None:
            provider = CachingTokenProvider(lambda: self._fetch(scopes, tenant), clock=self._clock)
            self._providers[(scopes, tenant)] = provider
        return await provider.token()

    async def _fetch(self, scope: str, tenant: str) -> AccessToken:
        url = f"{self._login_url}/{tenant}/oauth2/v2.0/token"
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret.get_secret_value(),
            "scope": scope,
        }
        try:
            response = await self._http.post(url, data=form)
        except httpx.HTTPError as error:
            raise TokenRefused(f"cannot reach {self._login_url}: {error}") from None
        body = _json(response)
        if response.status_code != 200 or "access_token" not in body:
            reason = body.get("error_description") or body.get("error") or response.reason_phrase
            raise TokenRefused(
                f"Entra ID refused a token for client {self._client_id} in tenant {tenant} "
                f"(HTTP {response.status_code}): {str(reason).splitlines()[0]}"
            )
        lifetime = float(body.get("expires_in") or 3600)
        return AccessToken(SecretStr(str(body["access_token"])), self._clock.monotonic() + lifetime)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
