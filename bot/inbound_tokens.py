"""Checking the bearer tokens Teams sends with each activity, without blocking the event loop.

The Teams SDK checks them with PyJWT's ``PyJWKClient``, which fetches the signing keys with
``urllib`` on the calling thread, that is on the event loop, and fetches again for every
token whose key it does not know, whatever the token's issuer (a slow keys endpoint stalled
the whole process). This module does the same checks (platform notes D5) with keys fetched
through httpx, cached, and refetched at most once a minute; and it accepts only the issuers
this bot trusts, refusing any other token before anything is fetched:

* Bot Framework (``https://api.botframework.com``), keys next to ``TEAMS_OPENID_METADATA_URL``;
* Entra ID of the configured tenants (the SDK's Agent 365 path), keys of that tenant.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import jwt

logger = logging.getLogger(__name__)

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
ENTRA_LOGIN_ENDPOINT = "https://login.microsoftonline.com"
ENTRA_V1_ISSUER_PREFIX = "https://sts.windows.net/"
AGENT_365_PLATFORM_APP_ID = "5a807f24-c9de-44ee-a3a7-329e88a00ffc"
"""The only client app whose Entra tokens the SDK accepts for activities (Agent 365)."""
LEEWAY_SECONDS = 300
"""The clock skew the SDK tolerates."""
REFETCH_INTERVAL_SECONDS = 60.0
"""Keys are fetched at most this often, whatever tokens arrive."""
MAX_KEY_AGE_SECONDS = 3600.0
"""Known keys are refreshed this often (a key withdrawn upstream stops being accepted)."""
FETCH_TIMEOUT_SECONDS = 5.0
VERIFIED_SECONDS = 60.0
"""How long a token that passed is taken as checked (a withdrawn key stops working after)."""
MAX_VERIFIED = 1_000


class SigningKeys:
    """The JSON Web Key Set at ``url``, fetched on demand and cached.

    A token whose ``kid`` is not known triggers a fetch, unless the set was fetched less than
    :data:`REFETCH_INTERVAL_SECONDS` ago; concurrent lookups share one fetch. A failed fetch
    keeps the keys already known.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        url: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.url = url
        self.clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> jwt.PyJWK | None:
        """The key ``kid``, fetching the set if it is unknown (or old) and allowed to."""
        if kid in self._keys and not self._old():
            return self._keys[kid]
        async with self._lock:
            if self._may_fetch() and (kid not in self._keys or self._old()):
                await self._fetch()
            return self._keys.get(kid)

    def _old(self) -> bool:
        return self._fetched_at is None or self.clock() - self._fetched_at > MAX_KEY_AGE_SECONDS

    def _may_fetch(self) -> bool:
        return (
            self._fetched_at is None or self.clock() - self._fetched_at >= REFETCH_INTERVAL_SECONDS
        )

    async def _fetch(self) -> None:
        self._fetched_at = self.clock()
        try:
            response = await self.http.get(self.url, timeout=FETCH_TIMEOUT_SECONDS)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("could not fetch the signing keys at %s: %r", self.url, exc)
            return
        keys: dict[str, jwt.PyJWK] = {}
        entries = document.get("keys") if isinstance(document, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
                continue
            try:
                keys[entry["kid"]] = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                continue  # a key of a type we do not use
        if keys:
            self._keys = keys
        else:
            logger.warning("the signing keys at %s hold no usable key", self.url)


class InboundTokens:
    """Validates the ``Authorization: Bearer`` token of an inbound Teams activity.

    :meth:`authenticate` needs only the token (so it runs before the body is parsed);
    :meth:`validate_token` adds the check of the ``serviceurl`` claim against the activity's
    ``serviceUrl``, with the signature the Teams SDK calls its validator with.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        app_id: str,
        openid_metadata_url: str,
        entra_tenants: Iterable[str] = (),
        entra_login_url: str = ENTRA_LOGIN_ENDPOINT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.audiences = [app_id, f"api://{app_id}", f"api://botid-{app_id}"]
        keys_url = re.sub(r"/openidconfiguration$", "/keys", openid_metadata_url)
        self._bot_framework = SigningKeys(http, keys_url, clock=clock)
        self._entra: dict[str, tuple[str, SigningKeys]] = {}
        self._verified: OrderedDict[str, tuple[dict[str, Any], float]] = OrderedDict()
        login = entra_login_url.rstrip("/")
        for tenant in entra_tenants:
            keys = SigningKeys(http, f"{login}/{tenant}/discovery/v2.0/keys", clock=clock)
            self._entra[f"{ENTRA_LOGIN_ENDPOINT}/{tenant}/v2.0"] = (tenant, keys)
            self._entra[f"{ENTRA_V1_ISSUER_PREFIX}{tenant}/"] = (tenant, keys)

    async def authenticate(self, raw_token: str) -> dict[str, Any]:
        """The token's claims once its issuer, signature, audience and lifetime are checked;
        :class:`jwt.InvalidTokenError` otherwise.

        A token that passed is remembered for a minute at most (never past its expiry): the
        endpoint checks it before parsing the body and the SDK checks it again, and Bot
        Framework sends the same token with many activities."""
        known = self._verified.get(raw_token)
        if known is not None and known[1] > time.time():
            return dict(known[0])
        claims = await self._verify(raw_token)
        good_until = min(time.time() + VERIFIED_SECONDS, float(claims["exp"]))
        self._verified[raw_token] = (claims, good_until)
        while len(self._verified) > MAX_VERIFIED:
            self._verified.popitem(last=False)
        return dict(claims)

    async def _verify(self, raw_token: str) -> dict[str, Any]:
        header = jwt.get_unverified_header(raw_token)
        unverified = jwt.decode(raw_token, options={"verify_signature": False})
        issuer = unverified.get("iss")
        if issuer == BOT_FRAMEWORK_ISSUER:
            keys, tenant = self._bot_framework, None
        elif isinstance(issuer, str) and issuer in self._entra:
            tenant, keys = self._entra[issuer]
        else:
            raise jwt.InvalidIssuerError("the token's issuer is not one this bot trusts")
        if header.get("alg") != "RS256":
            raise jwt.InvalidAlgorithmError("the token is not signed with RS256")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise jwt.InvalidTokenError("the token names no signing key")
        key = await keys.get(kid)
        if key is None:
            raise jwt.InvalidTokenError("the token's signing key is not published")
        claims: dict[str, Any] = jwt.decode(
            raw_token,
            key.key,
            algorithms=["RS256"],
            audience=self.audiences,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "aud"]},
        )
        if tenant is not None:
            if claims.get("tid") != tenant:
                raise jwt.InvalidTokenError("the token is of another tenant")
            caller = claims["azp"] if "azp" in claims else claims.get("appid")
            if not isinstance(caller, str) or caller.lower() != AGENT_365_PLATFORM_APP_ID:
                raise jwt.InvalidTokenError("the token's caller app is not allowed")
        return claims

    async def validate_token(
        self, raw_token: str, service_url: str | None = None
    ) -> dict[str, Any]:
        """:meth:`authenticate`, and a Bot Framework token's ``serviceurl`` must be the
        activity's ``serviceUrl`` (when the activity has one)."""
        claims = await self.authenticate(raw_token)
        if service_url and claims.get("iss") == BOT_FRAMEWORK_ISSUER:
            claimed = claims.get("serviceurl")
            if not isinstance(claimed, str) or claimed.rstrip("/") != service_url.rstrip("/"):
                raise jwt.InvalidTokenError("the token is not for this serviceUrl")
        return claims
