"""A local stand-in of the Microsoft identity platform (Entra ID), over https on loopback.

The real ``msal`` talks to it for real: msal only accepts an ``https`` authority, so the server
speaks TLS with a certificate from a throw-away CA (``trustme``); give msal
:attr:`IdentityStandIn.ca_bundle` (``verify=`` or a ``requests.Session`` that verifies with it)
and the authority ``{authority_root}/{TENANT}`` with ``instance_discovery=False`` (otherwise
msal first asks ``login.microsoftonline.com`` whether the authority is known).

What it answers, under ``/{tenant}`` (:data:`TENANT`, or ``botframework.com`` for the bot):

* ``GET /v2.0/.well-known/openid-configuration``: the endpoints below, as msal discovers them;
  ``GET /discovery/v2.0/keys``: the key every token is signed with (RS256).
* ``GET /oauth2/v2.0/authorize``: the browser leg of the authorization code flow. The person
  signing in is named by the ``X-Stand-In-Person`` header (:meth:`IdentityStandIn.authorize`
  sets it); PKCE (S256), ``state`` and ``nonce`` are required. The answer redirects to
  ``redirect_uri`` with ``code``, ``state`` and ``client_info`` (``response_mode=query``) or is
  an HTML form posting them there (``response_mode=form_post``).
* ``POST /oauth2/v2.0/devicecode``: starts a device code flow (public clients only).
* ``POST /oauth2/v2.0/token``: the grants ``authorization_code`` (single use, ``redirect_uri``
  as authorized, PKCE verified, secret checked), ``refresh_token`` (refused after
  :meth:`~IdentityStandIn.revoke`), ``client_credentials`` (``.default`` of a known resource)
  and the device code grant (``authorization_pending`` until
  :meth:`~IdentityStandIn.approve_device_code`). Refusals have Entra ID's shape: ``error``,
  ``error_description`` starting with an ``AADSTS`` code, ``error_codes``.

What msal checks of an answer (msal 1.39, read from its source): the token response is JSON;
the ``id_token`` is only decoded, not validated, except that after the code flow its ``nonce``
must equal the ``nonce`` of the authorize request (msal sends a SHA-256 hex of its own nonce);
an account is cached from ``client_info`` (base64url JSON ``{"uid", "utid"}``) with the
``id_token``'s ``oid``, ``preferred_username`` and the ``tid`` as realm; access tokens are cached
for the response's ``scope`` and count as expired 5 minutes before ``expires_in`` runs out, so a
lifetime under 300 seconds is never served from msal's cache. msal caches every HTTP 400 of the
token endpoint (but the device code grant's) for 60 seconds, keyed by the whole request: the same
refused request sent again within a minute never reaches this server.

Every delegated grant answers ``access_token``, ``refresh_token`` (with ``offline_access``),
``id_token`` (with ``openid``), ``client_info`` (when asked, as msal always does),
``expires_in``, ``ext_expires_in``, ``token_type`` and ``scope``. Access tokens are real JWTs
(``aud``, ``scp`` or ``roles``, ``oid``, ``tid``, ``iat``, ``exp``...), so code decoding one for
its expiry works; :meth:`~IdentityStandIn.check` is what Partner Center's stand-in asks about
them (``SandboxState(token_check=identity.check)``).

Fixtures: ``identity`` (one server for the session) and ``fresh_identity`` (the same, reset).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
import secrets as random_secrets
import shutil
import ssl
import string
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

import httpx
import jwt
import pytest
import requests
import trustme
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.partner_center.sandbox import SandboxServer
from tests.support.loopback import LoopbackStandIn

__all__ = [
    "ADA",
    "BEN",
    "BOT_CLIENT_ID",
    "BOT_CLIENT_SECRET",
    "BOT_FRAMEWORK_SCOPE",
    "BOT_FRAMEWORK_TENANT",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "DEVICE_CODE_GRANT",
    "NO_ROLE",
    "PARTNER_CENTER_RESOURCE",
    "PARTNER_CENTER_SCOPE",
    "PERSON_HEADER",
    "TENANT",
    "IdentityStandIn",
    "Person",
    "TokenRequest",
    "fresh_identity",
    "identity",
]

# The directory and its app registrations ------------------------------------------------------

TENANT = "7f3c1e2a-0000-4000-8000-00000000a11e"
"""The partner's tenant (directory) id; the authority is ``{authority_root}/{TENANT}``."""
BOT_FRAMEWORK_TENANT = "botframework.com"
"""The tenant a multi-tenant bot asks its Bot Connector token from; served as well."""
_BOT_FRAMEWORK_TENANT_ID = "d6d49420-f39b-4df7-a1dc-d59a935871db"
"""The directory id behind ``botframework.com`` (the ``tid`` of its tokens)."""

CLIENT_ID = "11111111-2222-4333-8444-555555555555"
"""The Partner Center app registration: a web app (secret) that also allows public client
flows, so the terminal signs in with the device code flow under the same id."""
CLIENT_SECRET = "stand-in-client-secret-PC~9qR7vX2mK4wL8nB3jH6tF1sD5aZ0yE"
"""The secret of :data:`CLIENT_ID`; distinctive, so a test can look for it in logs."""
BOT_CLIENT_ID = "66666666-7777-4888-9999-aaaaaaaaaaaa"
"""The Teams bot's app registration (its Microsoft App ID): client credentials only."""
BOT_CLIENT_SECRET = "stand-in-bot-secret-TB~3mN8pQ1rS6tU0vW4xY7zA2bC5dE9fG"

PARTNER_CENTER_RESOURCE = "https://api.partner.microsoft.com"
PARTNER_CENTER_SCOPE = f"{PARTNER_CENTER_RESOURCE}/user_impersonation"
"""The delegated scope the product asks for (msal adds ``openid profile offline_access``)."""
BOT_FRAMEWORK_RESOURCE = "https://api.botframework.com"
BOT_FRAMEWORK_SCOPE = f"{BOT_FRAMEWORK_RESOURCE}/.default"
"""The scope of the bot's own token for the Bot Connector (client credentials)."""
GRAPH_RESOURCE = "https://graph.microsoft.com"
"""The resource of a token asked for with OpenID scopes only, as Entra ID does."""

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
PERSON_HEADER = "X-Stand-In-Person"
"""Names who signs in at the authorize endpoint (their ``oid``); see :meth:`authorize`."""

OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
RESOURCES: Mapping[str, frozenset[str]] = {
    PARTNER_CENTER_RESOURCE: frozenset({"user_impersonation"}),
    BOT_FRAMEWORK_RESOURCE: frozenset(),
    GRAPH_RESOURCE: frozenset({"User.Read"}),
}
"""The APIs tokens are issued for, and the delegated scopes each exposes."""

CODE_LIFETIME_SECONDS = 600
DEVICE_CODE_LIFETIME_SECONDS = 900
DEVICE_CODE_INTERVAL_SECONDS = 1
"""Entra ID says 5; 1 keeps a test's polling short (msal sleeps ``interval`` between polls;
0 would make it poll without pause)."""
ID_TOKEN_LIFETIME_SECONDS = 3600
_HTML_MEDIA = "text/html; charset=utf-8"
_ID_TOKEN_CLAIMS = "sub aud exp iat iss nbf name nonce oid preferred_username rh tid uti ver"


@dataclass(frozen=True, slots=True)
class _Registration:
    client_id: str
    secret: str
    name: str
    public_flows: bool
    """Whether "Allow public client flows" is on (the device code flow, no secret)."""
    delegated: bool
    """Whether people sign in to it (a bot registration only gets app tokens)."""


REGISTRATIONS: Mapping[str, _Registration] = {
    CLIENT_ID: _Registration(CLIENT_ID, CLIENT_SECRET, "Referral Bot (Partner Center)", True, True),
    BOT_CLIENT_ID: _Registration(BOT_CLIENT_ID, BOT_CLIENT_SECRET, "Referral Bot", False, False),
}


# People -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    """Someone in the partner's directory who can sign in."""

    oid: str
    """The Entra object id (a GUID string): ``oid`` of their tokens, ``uid`` of client_info."""
    username: str
    """``preferred_username`` (their sign-in email), what msal shows as the account."""
    name: str
    referrals_role: bool = True
    """False: Partner Center answers 403 to this person's tokens (no referrals role)."""


ADA = Person("6b1e7a4c-2f3d-4e5a-9b8c-0d1e2f3a4b5c", "ada@contoso.com", "Ada Lovelace")
"""The partner seller (the same ``oid`` as the Teams suite's seller)."""
BEN = Person("3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a", "ben@contoso.com", "Ben Okafor")
NO_ROLE = Person(
    "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", "nora@contoso.com", "Nora Rolle", referrals_role=False
)
"""Signs in fine, but has no Partner Center role for referrals."""


# Recorded requests ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """One request the token endpoint answered."""

    grant_type: str
    client_id: str | None
    scope: str
    """The ``scope`` form field as sent (space-separated), ``""`` when absent."""
    person: str | None
    """The ``oid`` of the person the grant belongs to, ``None`` for app tokens or when the
    grant was unknown."""
    ok: bool
    error: str | None = None
    """The OAuth ``error`` of a refusal (``invalid_grant``, ``authorization_pending``...)."""


# What was issued --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _AccessToken:
    serial: int
    client_id: str
    person: Person | None
    audience: str
    scopes: frozenset[str]
    """``scp`` of a delegated token (short names, e.g. ``user_impersonation``)."""
    expires_at: float


@dataclass(frozen=True, slots=True)
class _RefreshToken:
    serial: int
    client_id: str
    person: Person
    scopes: tuple[str, ...]
    public: bool
    """Issued to a public client (device code flow): refreshing needs no secret."""


@dataclass(slots=True)
class _Code:
    serial: int
    client_id: str
    person: Person
    redirect_uri: str
    code_challenge: str
    scopes: tuple[str, ...]
    nonce: str
    expires_at: float
    redeemed: bool = False


@dataclass(slots=True)
class _DeviceCode:
    client_id: str
    user_code: str
    scopes: tuple[str, ...]
    expires_at: float
    person: Person | None = None
    approved_serial: int = 0
    redeemed: bool = False


class _OAuthError(Exception):
    """A refusal in Entra ID's shape, raised inside the handlers (the lock is held)."""

    def __init__(
        self, error: str, code: int, message: str, *, status: int = 400, person: str | None = None
    ) -> None:
        super().__init__(f"{error}: AADSTS{code}: {message}")
        self.error = error
        self.code = code
        self.message = message
        self.status = status
        self.person = person

    def body(self) -> dict[str, Any]:
        """The JSON body, with ids and a timestamp in the description as Entra ID writes it."""
        trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
        return {
            "error": self.error,
            "error_description": (
                f"AADSTS{self.code}: {self.message} Trace ID: {trace_id} "
                f"Correlation ID: {correlation_id} Timestamp: {stamp}"
            ),
            "error_codes": [self.code],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": "https://login.microsoftonline.com/error?code=" + str(self.code),
        }


@dataclass(slots=True)
class _Tls:
    """The throw-away CA and the server's certificate, as files uvicorn and clients read."""

    directory: Path
    ca_bundle: Path
    certfile: Path
    keyfile: Path
    _cleanup: weakref.finalize = field(repr=False)

    @classmethod
    def create(cls, owner: object) -> _Tls:
        authority = trustme.CA(organization_name="Identity stand-in CA")
        certificate = authority.issue_cert("127.0.0.1", "localhost", "::1")
        directory = Path(tempfile.mkdtemp(prefix="identity-stand-in-"))
        ca_bundle, certfile, keyfile = (
            directory / "ca.pem", directory / "server.pem", directory / "server.key"
        )  # fmt: skip
        authority.cert_pem.write_to_path(str(ca_bundle))
        with certfile.open("wb") as chain:
            for blob in certificate.cert_chain_pems:
                chain.write(blob.bytes())
        certificate.private_key_pem.write_to_path(str(keyfile))
        # The files live as long as the stand-in: a client may still load the bundle after stop.
        cleanup = weakref.finalize(owner, shutil.rmtree, directory, ignore_errors=True)
        return cls(directory, ca_bundle, certfile, keyfile, cleanup)


# The stand-in -----------------------------------------------------------------------------------


class IdentityStandIn(LoopbackStandIn):
    """Entra ID's authorize, token and device code endpoints for :data:`TENANT`, in memory,
    behind a loopback https server.

    Use as a context manager (or :meth:`start` / :meth:`stop`). Every method is thread-safe:
    the server answers on its own thread. The signing key and the CA live as long as the
    object (a session); :meth:`reset` forgets requests, codes, tokens and revocations.
    """

    name = "identity stand-in"

    def __init__(self, *, access_token_lifetime: int = 3600) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self._default_lifetime = access_token_lifetime
        self.access_token_lifetime = access_token_lifetime
        """Seconds an access token is valid (``expires_in``); msal refreshes below 300.
        :meth:`reset` puts it back."""
        self._tls = _Tls.create(self)
        self._signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = random_secrets.token_urlsafe(20)
        self._people: dict[str, Person] = {}
        self._serial = 0
        self._requests: list[TokenRequest] = []
        self._codes: dict[str, _Code] = {}
        self._refresh_tokens: dict[str, _RefreshToken] = {}
        self._access_tokens: dict[str, _AccessToken] = {}
        self._device_codes: dict[str, _DeviceCode] = {}
        self._user_codes: dict[str, str] = {}
        self._revoked_through: dict[str, int] = {}
        self._expired_through = 0
        self._secrets: set[str] = set()
        base = "/{tenant}"
        self.app = Starlette(
            routes=[
                Route(base + "/v2.0/.well-known/openid-configuration", self._openid_configuration),
                Route(base + "/discovery/v2.0/keys", self._keys),
                Route(base + "/oauth2/v2.0/authorize", self._authorize, methods=["GET"]),
                Route(base + "/oauth2/v2.0/token", self._token, methods=["POST"]),
                Route(base + "/oauth2/v2.0/devicecode", self._devicecode, methods=["POST"]),
                Route("/devicelogin", self._devicelogin, methods=["GET"]),
            ]
        )

    def _new_server(self) -> SandboxServer:
        return SandboxServer(self.app, tls=(str(self._tls.certfile), str(self._tls.keyfile)))

    # Where it is --------------------------------------------------------------------------------

    @property
    def authority_root(self) -> str:
        """``https://127.0.0.1:PORT`` (``ENTRA_AUTHORITY``); the app appends ``/{tenant}``."""
        return self.origin

    @property
    def authority(self) -> str:
        """``{authority_root}/{TENANT}``: what msal is configured with."""
        return f"{self.origin}/{TENANT}"

    @property
    def ca_bundle(self) -> Path:
        """The PEM of the throw-away CA that signed the server's certificate
        (``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE`` of a product under test)."""
        return self._tls.ca_bundle

    def ssl_context(self) -> ssl.SSLContext:
        """A client context trusting :attr:`ca_bundle` only (httpx's ``verify=``; httpx 0.28
        deprecates a path there)."""
        return ssl.create_default_context(cafile=str(self._tls.ca_bundle))

    def requests_session(self) -> requests.Session:
        """A ``requests`` session trusting :attr:`ca_bundle`, for msal's ``http_client=``.

        ``trust_env`` is off because requests lets ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE``
        from the environment win over a session's ``verify`` (and msal's ``verify=`` is only
        that): on a machine with either set, ``verify=ca_bundle`` alone fails the handshake.
        """
        session = requests.Session()
        session.trust_env = False
        session.verify = str(self._tls.ca_bundle)
        return session

    # Driving it -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget requests, codes, tokens, revocations, device codes and seen secrets; the
        signing key and the CA stay (clients keep trusting it)."""
        with self._lock:
            self.access_token_lifetime = self._default_lifetime
            self._people.clear()
            self._requests.clear()
            self._codes.clear()
            self._refresh_tokens.clear()
            self._access_tokens.clear()
            self._device_codes.clear()
            self._user_codes.clear()
            self._revoked_through.clear()
            self._secrets.clear()

    def authorize(self, authorize_url: str, person: Person) -> str:
        """The browser's part of the code flow: open ``authorize_url`` (as msal built it) signed
        in as ``person`` and return where the answer redirects to (``redirect_uri?code=...&
        state=...``, or ``?error=...``), without following it.

        Raises ValueError when the request asks for ``response_mode=form_post`` (use
        :meth:`authorize_form`) or when Entra ID would show an error page instead of
        redirecting (unknown client, no ``redirect_uri``)."""
        response = self._sign_in(authorize_url, person)
        if response.status_code == 200 and "<form" in response.text:
            raise ValueError("the authorize request asked for form_post: use authorize_form()")
        if response.status_code != 302:
            raise ValueError(f"no redirect ({response.status_code}): {response.text}")
        return response.headers["location"]

    def authorize_form(self, authorize_url: str, person: Person) -> tuple[str, dict[str, str]]:
        """As :meth:`authorize`, for either response mode: where the browser goes next (the
        ``redirect_uri``) and the fields it sends there (``code``, ``state``, ``client_info``,
        ``session_state``; or ``error``...): posted as a form with ``response_mode=form_post``,
        in the query otherwise."""
        response = self._sign_in(authorize_url, person)
        if response.status_code == 302:
            target = urlsplit(response.headers["location"])
            return target._replace(query="").geturl(), dict(parse_qsl(target.query))
        if response.status_code != 200 or "<form" not in response.text:
            raise ValueError(f"no redirect ({response.status_code}): {response.text}")
        return _parse_form(response.text)

    def _sign_in(self, authorize_url: str, person: Person) -> httpx.Response:
        if not authorize_url.startswith(self.origin + "/"):
            raise ValueError(f"{authorize_url} is not an authorize URL of this stand-in")
        with self._lock:
            self._people[person.oid] = person
        with httpx.Client(verify=self.ssl_context(), follow_redirects=False) as browser:
            return browser.get(authorize_url, headers={PERSON_HEADER: person.oid})

    def approve_device_code(self, user_code: str, person: Person) -> None:
        """``person`` enters ``user_code`` at the verification page and consents: the next
        poll of that device code gets tokens. LookupError for an unknown or expired code."""
        with self._lock:
            device_code = self._user_codes.get(user_code.strip().upper())
            grant = self._device_codes.get(device_code) if device_code else None
            if grant is None or grant.expires_at <= time.time():
                raise LookupError(f"no pending device code with user code {user_code!r}")
            self._people[person.oid] = person
            grant.person = person
            grant.approved_serial = self._next_serial()

    def revoke(self, person: Person) -> None:
        """Revoke the person's sign-in sessions: every refresh token, access token and unused
        code issued to them so far stops working (signing in again works)."""
        with self._lock:
            self._revoked_through[person.oid] = self._next_serial()

    def expire_access_tokens(self) -> None:
        """Every access token issued so far counts as expired (refresh tokens still work)."""
        with self._lock:
            self._expired_through = self._next_serial()

    def check(self, token: str, scope: str = PARTNER_CENTER_SCOPE) -> tuple[int, str] | None:
        """What an API protected by ``scope`` answers to this bearer token: ``None`` for a
        valid, unexpired, unrevoked access token this stand-in issued for that scope's
        audience; ``(401, reason)`` otherwise; ``(403, reason)`` when valid but the person
        lacks the referrals role. Thread-safe: give it to the sandbox as ``token_check``."""
        resource, name = _split_scope(scope)
        with self._lock:
            issued = self._access_tokens.get(token)
            if issued is None:
                return 401, "The access token was not issued by the identity provider."
            if issued.expires_at <= time.time() or issued.serial <= self._expired_through:
                return 401, "The access token has expired."
            if issued.person is not None and self._revoked(issued.person, issued.serial):
                return 401, "The access token has been revoked."
            if issued.audience != resource:
                return 401, f"The access token is for {issued.audience}, not for {resource}."
            if name != ".default" and issued.person is not None and name not in issued.scopes:
                return 401, f"The access token does not grant the scope {name}."
            if issued.person is not None and not issued.person.referrals_role:
                return 403, (
                    f"{issued.person.username} has no Partner Center role that allows referrals."
                )
            return None

    # Reading back -----------------------------------------------------------------------------

    def token_requests(self, grant_type: str | None = None) -> list[TokenRequest]:
        """What the token endpoint received (of ``grant_type`` only, if given), oldest first."""
        with self._lock:
            return [r for r in self._requests if grant_type in (None, r.grant_type)]

    def secrets(self) -> set[str]:
        """Every secret string it issued or received: access, refresh and ID tokens,
        authorization and device codes, PKCE code verifiers, client secrets (both
        registrations' always): for tests asserting none of them reaches Redis or a log."""
        with self._lock:
            return {CLIENT_SECRET, BOT_CLIENT_SECRET, *self._secrets}

    # HTTP: discovery --------------------------------------------------------------------------

    async def _openid_configuration(self, request: Request) -> Response:
        tenant = request.path_params["tenant"]
        if _tenant_id(tenant) is None:
            return _json(_unknown_tenant(tenant).body(), 400)
        root = f"{self.origin}/{tenant}"
        tid = _tenant_id(tenant)
        return _json(
            {
                "token_endpoint": f"{root}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{root}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{self.origin}/{tid}/v2.0",
                "request_uri_parameter_supported": False,
                "userinfo_endpoint": f"{self.origin}/oidc/userinfo",
                "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
                "claims_supported": _ID_TOKEN_CLAIMS.split(),
                "code_challenge_methods_supported": ["plain", "S256"],
                "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com",
            },
            200,
        )

    async def _keys(self, request: Request) -> Response:
        jwk: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(
            self._signing_key.public_key(), as_dict=True
        )
        jwk.update(kid=self._kid, use="sig", kty="RSA")
        return _json({"keys": [jwk]}, 200)

    async def _devicelogin(self, request: Request) -> Response:
        return HTMLResponse(
            "<!doctype html><title>Enter code</title><p>Enter the code shown on your device "
            "(tests call approve_device_code instead).</p>",
            media_type=_HTML_MEDIA,
        )

    # HTTP: the authorize endpoint (the browser leg) ---------------------------------------------

    async def _authorize(self, request: Request) -> Response:
        tenant = request.path_params["tenant"]
        query = dict(request.query_params)
        with self._lock:
            return self._authorize_locked(tenant, query, request.headers.get(PERSON_HEADER))

    def _authorize_locked(
        self, tenant: str, query: dict[str, str], person_oid: str | None
    ) -> Response:
        # Errors about the client or where to send the answer are shown, never redirected.
        if _tenant_id(tenant) != TENANT:
            return _error_page(_unknown_tenant(tenant))
        client_id = query.get("client_id", "")
        registration = REGISTRATIONS.get(client_id)
        if registration is None or not registration.delegated:
            return _error_page(_unknown_client(client_id, tenant))
        redirect_uri = query.get("redirect_uri", "")
        if (
            urlsplit(redirect_uri).scheme not in ("http", "https")
            or not urlsplit(redirect_uri).netloc
        ):
            return _error_page(
                _OAuthError(
                    "invalid_request",
                    50011,
                    f"The redirect URI '{redirect_uri}' specified in the request does not match "
                    f"the redirect URIs configured for the application '{client_id}'.",
                )
            )
        response_mode = query.get("response_mode", "query")
        state = query.get("state")
        try:
            if response_mode not in ("query", "form_post"):
                raise _OAuthError(
                    "invalid_request", 900144, f"response_mode '{response_mode}' is not supported."
                )
            if query.get("response_type") != "code":
                raise _OAuthError(
                    "unsupported_response_type",
                    700054,
                    f"response_type '{query.get('response_type')}' is not enabled for the "
                    "application.",
                )
            challenge = query.get("code_challenge", "")
            if not challenge or query.get("code_challenge_method") != "S256":
                raise _OAuthError(
                    "invalid_request",
                    9002325,
                    "Proof Key for Code Exchange (S256) is required: send code_challenge and "
                    "code_challenge_method=S256.",
                )
            for required in ("state", "nonce"):
                if not query.get(required):
                    raise _OAuthError(
                        "invalid_request",
                        900144,
                        f"The request body must contain the following parameter: '{required}'.",
                    )
            scopes = tuple(query.get("scope", "").split())
            _audience(scopes)  # refuses unknown resources before anyone signs in
            person = self._people.get(person_oid or "")
            if person is None:
                return HTMLResponse(
                    "<!doctype html><title>Sign in to your account</title><p>Sign in "
                    f"(tests: send the {PERSON_HEADER} header, see authorize()).</p>",
                    media_type=_HTML_MEDIA,
                )
            code = "1.AQ" + _token_text(96)
            self._codes[code] = _Code(
                serial=self._next_serial(),
                client_id=client_id,
                person=person,
                redirect_uri=redirect_uri,
                code_challenge=challenge,
                scopes=scopes,
                nonce=query["nonce"],
                expires_at=time.time() + CODE_LIFETIME_SECONDS,
            )
            self._secrets.add(code)
            fields = {"code": code}
            if query.get("client_info") == "1":
                fields["client_info"] = _client_info(person)
            fields["state"] = query["state"]
            fields["session_state"] = str(uuid.uuid4())
        except _OAuthError as error:
            fields = {"error": error.error, "error_description": error.body()["error_description"]}
            if state:
                fields["state"] = state
        return _redirect(redirect_uri, fields, response_mode)

    # HTTP: the device authorization endpoint --------------------------------------------------

    async def _devicecode(self, request: Request) -> Response:
        tenant = request.path_params["tenant"]
        form = _form(await request.body())
        with self._lock:
            try:
                return _json(self._start_device_flow(tenant, form), 200)
            except _OAuthError as error:
                return _json(error.body(), error.status)

    def _start_device_flow(self, tenant: str, form: dict[str, str]) -> dict[str, Any]:
        if _tenant_id(tenant) != TENANT:
            raise _unknown_tenant(tenant)
        client_id = form.get("client_id", "")
        registration = REGISTRATIONS.get(client_id)
        if registration is None:
            raise _unknown_client(client_id, tenant)
        if not registration.public_flows:
            raise _OAuthError(
                "unauthorized_client",
                7000218,
                f"The application '{registration.name}' does not allow public client flows.",
            )
        scopes = tuple(form.get("scope", "").split())
        _audience(scopes)
        device_code = "DAQABIQEAAAB" + _token_text(160)
        user_code = "".join(random_secrets.choice(string.ascii_uppercase) for _ in range(9))
        self._device_codes[device_code] = _DeviceCode(
            client_id=client_id,
            user_code=user_code,
            scopes=scopes,
            expires_at=time.time() + DEVICE_CODE_LIFETIME_SECONDS,
        )
        self._user_codes[user_code] = device_code
        self._secrets.add(device_code)
        verification_uri = f"{self.origin}/devicelogin"
        return {
            "user_code": user_code,
            "device_code": device_code,
            "verification_uri": verification_uri,
            "expires_in": DEVICE_CODE_LIFETIME_SECONDS,
            "interval": DEVICE_CODE_INTERVAL_SECONDS,
            "message": (
                f"To sign in, use a web browser to open the page {verification_uri} and enter "
                f"the code {user_code} to authenticate."
            ),
        }

    # HTTP: the token endpoint -----------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        tenant = request.path_params["tenant"]
        form = _form(await request.body())
        basic = _basic_credentials(request.headers.get("authorization", ""))
        grant_type = form.get("grant_type", "")
        with self._lock:
            for name in ("client_secret", "code", "refresh_token", "device_code", "code_verifier"):
                if form.get(name):
                    self._secrets.add(form[name])
            if basic is not None:
                self._secrets.add(basic[1])
            try:
                body, person = self._grant(tenant, grant_type, form, basic)
                status, error = 200, None
            except _OAuthError as refusal:
                body, person = refusal.body(), refusal.person
                status, error = refusal.status, refusal.error
            self._requests.append(
                TokenRequest(
                    grant_type=grant_type,
                    client_id=form.get("client_id") or (basic[0] if basic else None),
                    scope=form.get("scope", ""),
                    person=person,
                    ok=status == 200,
                    error=error,
                )
            )
        return _json(body, status)

    def _grant(
        self,
        tenant: str,
        grant_type: str,
        form: dict[str, str],
        basic: tuple[str, str] | None,
    ) -> tuple[dict[str, Any], str | None]:
        """The token response of a grant and the oid it is for; raises _OAuthError."""
        if _tenant_id(tenant) is None:
            raise _unknown_tenant(tenant)
        client_id = form.get("client_id") or (basic[0] if basic else "")
        registration = REGISTRATIONS.get(client_id)
        if registration is None:
            raise _unknown_client(client_id, tenant)
        secret = form.get("client_secret") or (basic[1] if basic else None)
        if secret is not None and not random_secrets.compare_digest(
            secret.encode(), registration.secret.encode()
        ):
            raise _OAuthError(
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                f"the client secret value, not the client secret ID, for a secret added to app "
                f"'{client_id}'.",
                status=401,
            )
        authenticated = secret is not None
        if grant_type == "client_credentials":
            return self._client_credentials(tenant, registration, authenticated, form), None
        if _tenant_id(tenant) != TENANT:
            raise _unknown_tenant(tenant)
        if grant_type == "authorization_code":
            return self._authorization_code(registration, authenticated, form)
        if grant_type == "refresh_token":
            return self._refresh(registration, authenticated, form)
        if grant_type == DEVICE_CODE_GRANT:
            return self._device_code(registration, form)
        raise _OAuthError(
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant_type}'.",
        )

    def _client_credentials(
        self,
        tenant: str,
        registration: _Registration,
        authenticated: bool,
        form: dict[str, str],
    ) -> dict[str, Any]:
        if not authenticated:
            raise _secret_missing()
        scope = form.get("scope", "")
        if len(scope.split()) != 1 or not scope.endswith("/.default"):
            raise _OAuthError(
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        resource, _ = _split_scope(scope)
        if resource not in RESOURCES:
            raise _unknown_resource(resource, tenant)
        access_token = self._issue_access_token(
            registration.client_id, None, resource, frozenset(), _tenant_id(tenant) or TENANT
        )
        return {
            "token_type": "Bearer",
            "expires_in": self.access_token_lifetime,
            "ext_expires_in": self.access_token_lifetime,
            "access_token": access_token,
        }

    def _authorization_code(
        self, registration: _Registration, authenticated: bool, form: dict[str, str]
    ) -> tuple[dict[str, Any], str | None]:
        code = form.get("code", "")
        grant = self._codes.get(code)
        if grant is None or grant.client_id != registration.client_id:
            raise _OAuthError(
                "invalid_grant",
                70000,
                "The provided value for the 'code' parameter is not valid.",
            )
        oid = grant.person.oid
        if grant.redeemed:
            raise _OAuthError(
                "invalid_grant",
                54005,
                "OAuth2 Authorization code was already redeemed, please retry with a new valid "
                "code or use an existing refresh token.",
                person=oid,
            )
        grant.redeemed = True  # a failed redemption spends the code too, as in Entra ID
        if grant.expires_at <= time.time():
            raise _OAuthError(
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired due to "
                "inactivity. Send a new interactive authorization request for this user and "
                "resource.",
                person=oid,
            )
        if self._revoked(grant.person, grant.serial):
            raise _revoked_grant(oid)
        if not authenticated:
            raise _secret_missing(person=oid)
        if form.get("redirect_uri") != grant.redirect_uri:
            raise _OAuthError(
                "invalid_grant",
                500112,
                f"The reply address '{form.get('redirect_uri')}' does not match the reply "
                f"address '{grant.redirect_uri}' provided when requesting Authorization code.",
                person=oid,
            )
        verifier = form.get("code_verifier", "")
        if not verifier:
            raise _OAuthError(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'code_verifier'.",
                person=oid,
            )
        if _pkce_challenge(verifier) != grant.code_challenge:
            raise _OAuthError(
                "invalid_grant",
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the "
                "authorization request.",
                person=oid,
            )
        scopes = tuple(form["scope"].split()) if form.get("scope") else grant.scopes
        body = self._delegated_tokens(
            registration.client_id,
            grant.person,
            scopes,
            public=False,
            nonce=grant.nonce,
            client_info=form.get("client_info") == "1",
        )
        return body, oid

    def _refresh(
        self, registration: _Registration, authenticated: bool, form: dict[str, str]
    ) -> tuple[dict[str, Any], str | None]:
        grant = self._refresh_tokens.get(form.get("refresh_token", ""))
        if grant is None or grant.client_id != registration.client_id:
            raise _OAuthError(
                "invalid_grant",
                9002313,
                "Invalid request. Request is malformed or invalid: the refresh token is not valid.",
            )
        oid = grant.person.oid
        if self._revoked(grant.person, grant.serial):
            raise _revoked_grant(oid)
        if not grant.public and not authenticated:
            raise _secret_missing(person=oid)
        scopes = tuple(form["scope"].split()) if form.get("scope") else grant.scopes
        body = self._delegated_tokens(
            registration.client_id,
            grant.person,
            scopes,
            public=grant.public,
            nonce=None,
            client_info=form.get("client_info") == "1",
        )
        return body, oid

    def _device_code(
        self, registration: _Registration, form: dict[str, str]
    ) -> tuple[dict[str, Any], str | None]:
        grant = self._device_codes.get(form.get("device_code", ""))
        if grant is None or grant.client_id != registration.client_id:
            raise _OAuthError(
                "invalid_grant", 70000, "The provided value for 'device_code' is not valid."
            )
        if grant.redeemed:
            raise _OAuthError(
                "invalid_grant",
                54005,
                "The device code was already redeemed.",
                person=grant.person.oid if grant.person else None,
            )
        if grant.expires_at <= time.time():
            raise _OAuthError(
                "expired_token",
                70020,
                "The provided value for 'device_code' has expired: nobody signed in in time.",
            )
        if grant.person is None:
            raise _OAuthError(
                "authorization_pending",
                70016,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            )
        oid = grant.person.oid
        if self._revoked(grant.person, grant.approved_serial):
            raise _revoked_grant(oid)
        grant.redeemed = True
        scopes = tuple(form["scope"].split()) if form.get("scope") else grant.scopes
        body = self._delegated_tokens(
            registration.client_id,
            grant.person,
            scopes,
            public=True,
            nonce=None,
            client_info=form.get("client_info") == "1",
        )
        return body, oid

    # Issuing ----------------------------------------------------------------------------------

    def _delegated_tokens(
        self,
        client_id: str,
        person: Person,
        scopes: tuple[str, ...],
        *,
        public: bool,
        nonce: str | None,
        client_info: bool,
    ) -> dict[str, Any]:
        """The token response of a delegated grant (the lock is held)."""
        resource, granted = _audience(scopes)
        access_token = self._issue_access_token(client_id, person, resource, granted, TENANT)
        if resource == GRAPH_RESOURCE:
            graph_scopes = (f"{resource}/{name}" for name in sorted(granted))
            scope = " ".join(["email", "openid", "profile", *graph_scopes])
        else:
            scope = " ".join(f"{resource}/{name}" for name in sorted(granted))
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": scope,
            "expires_in": self.access_token_lifetime,
            "ext_expires_in": self.access_token_lifetime,
            "access_token": access_token,
        }
        if "offline_access" in scopes:
            refresh_token = "1.AQ" + _token_text(320)
            self._refresh_tokens[refresh_token] = _RefreshToken(
                self._next_serial(), client_id, person, scopes, public
            )
            self._secrets.add(refresh_token)
            body["refresh_token"] = refresh_token
        if "openid" in scopes:
            body["id_token"] = self._issue_id_token(client_id, person, nonce)
        if client_info:
            body["client_info"] = _client_info(person)
        return body

    def _issue_access_token(
        self,
        client_id: str,
        person: Person | None,
        audience: str,
        scopes: frozenset[str],
        tenant_id: str,
    ) -> str:
        now = int(time.time())
        expires_at = now + self.access_token_lifetime
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": expires_at,
            "appid": client_id,
            "appidacr": "1",
            "tid": tenant_id,
            "ver": "1.0",
            "uti": _token_text(22),
            "jti": str(uuid.uuid4()),
        }
        if person is None:
            app_oid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp:{client_id}"))
            claims.update(oid=app_oid, sub=app_oid, idtyp="app", roles=[])
        else:
            claims.update(
                oid=person.oid,
                sub=_pairwise_sub(person, client_id),
                upn=person.username,
                unique_name=person.username,
                name=person.name,
                scp=" ".join(sorted(scopes)),
                amr=["pwd", "mfa"],
                idtyp="user",
            )
        token = self._sign(claims)
        self._access_tokens[token] = _AccessToken(
            self._next_serial(), client_id, person, audience, scopes, float(expires_at)
        )
        self._secrets.add(token)
        return token

    def _issue_id_token(self, client_id: str, person: Person, nonce: str | None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": client_id,
            "iss": f"{self.origin}/{TENANT}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + ID_TOKEN_LIFETIME_SECONDS,
            "name": person.name,
            "oid": person.oid,
            "preferred_username": person.username,
            "rh": "0.AQ" + _token_text(40),
            "sub": _pairwise_sub(person, client_id),
            "tid": TENANT,
            "uti": _token_text(22),
            "ver": "2.0",
        }
        if nonce is not None:
            claims["nonce"] = nonce
        token = self._sign(claims)
        self._secrets.add(token)
        return token

    def _sign(self, claims: dict[str, Any]) -> str:
        headers = {"kid": self._kid, "typ": "JWT"}
        return jwt.encode(claims, self._signing_key, algorithm="RS256", headers=headers)

    def _next_serial(self) -> int:
        self._serial += 1
        return self._serial

    def _revoked(self, person: Person, serial: int) -> bool:
        return serial <= self._revoked_through.get(person.oid, 0)


# Helpers ----------------------------------------------------------------------------------------


def _tenant_id(tenant: str) -> str | None:
    """The directory id behind a tenant path segment, ``None`` when this stand-in has none."""
    if tenant.lower() == TENANT:
        return TENANT
    if tenant.lower() == BOT_FRAMEWORK_TENANT:
        return _BOT_FRAMEWORK_TENANT_ID
    return None


def _split_scope(scope: str) -> tuple[str, str]:
    """``https://api.x.com/user_impersonation`` -> ``https://api.x.com``, ``user_impersonation``."""
    resource, _, name = scope.rpartition("/")
    return resource, name


def _audience(scopes: tuple[str, ...]) -> tuple[str, frozenset[str]]:
    """The one resource ``scopes`` ask a delegated token for, and its granted scope names."""
    resources: dict[str, set[str]] = {}
    for scope in scopes:
        if scope in OIDC_SCOPES:
            continue
        resource, name = _split_scope(scope)
        if not resource:
            resource, name = GRAPH_RESOURCE, scope  # "User.Read" means Graph's
        resources.setdefault(resource, set()).add(name)
    if not resources:
        return GRAPH_RESOURCE, frozenset({"User.Read"})
    if len(resources) > 1:
        raise _OAuthError(
            "invalid_scope",
            28000,
            "Provided value for the input parameter scope is not valid because it contains "
            f"more than one resource. Scope {' '.join(scopes)} is not valid.",
        )
    [(resource, names)] = resources.items()
    exposed = RESOURCES.get(resource)
    if exposed is None:
        raise _unknown_resource(resource, TENANT)
    if ".default" in names:
        return resource, exposed
    unknown = names - exposed
    if unknown:
        raise _OAuthError(
            "invalid_scope",
            70011,
            f"The provided value for the input parameter 'scope' is not valid. The scope "
            f"{' '.join(sorted(unknown))} does not exist on {resource}.",
        )
    return resource, frozenset(names)


def _pkce_challenge(verifier: str) -> str:
    return _b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())


def _client_info(person: Person) -> str:
    """What msal builds the account's ``home_account_id`` (``uid.utid``) from."""
    return _b64url(json.dumps({"uid": person.oid, "utid": TENANT}).encode())


def _pairwise_sub(person: Person, client_id: str) -> str:
    """``sub`` is per person and app in Entra ID."""
    return _b64url(hashlib.sha256(f"{person.oid}:{client_id}".encode()).digest())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _token_text(length: int) -> str:
    """Random base64url text, the look of Entra ID's opaque codes and refresh tokens."""
    return random_secrets.token_urlsafe(length)[:length]


def _form(raw: bytes) -> dict[str, str]:
    return dict(parse_qsl(raw.decode(errors="replace"), keep_blank_values=True))


def _basic_credentials(authorization: str) -> tuple[str, str] | None:
    """``(client_id, secret)`` of an HTTP Basic header (form-encoded, as RFC 6749 says)."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, _, secret = decoded.partition(":")
    return unquote_plus(client_id), unquote_plus(secret)


def _unknown_tenant(tenant: str) -> _OAuthError:
    return _OAuthError(
        "invalid_tenant",
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
        "are signing into the correct cloud.",
    )


def _unknown_client(client_id: str, tenant: str) -> _OAuthError:
    return _OAuthError(
        "unauthorized_client",
        700016,
        f"Application with identifier '{client_id}' was not found in the directory '{tenant}'.",
    )


def _unknown_resource(resource: str, tenant: str) -> _OAuthError:
    return _OAuthError(
        "invalid_resource",
        500011,
        f"The resource principal named {resource} was not found in the tenant named {tenant}.",
    )


def _secret_missing(person: str | None = None) -> _OAuthError:
    return _OAuthError(
        "invalid_client",
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or "
        "'client_secret'.",
        status=401,
        person=person,
    )


def _revoked_grant(person: str) -> _OAuthError:
    return _OAuthError(
        "invalid_grant",
        50173,
        "The provided grant has expired due to it being revoked, a fresh auth token is "
        "needed. The user might have changed or reset their password.",
        person=person,
    )


def _json(body: Any, status: int) -> Response:
    return Response(
        json.dumps(body),
        status_code=status,
        media_type="application/json; charset=utf-8",
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def _error_page(error: _OAuthError) -> Response:
    text = html.escape(error.body()["error_description"])
    return HTMLResponse(
        f"<!doctype html><title>Sign in</title><p>{html.escape(error.error)}: {text}</p>",
        status_code=400,
        media_type=_HTML_MEDIA,
    )


def _redirect(redirect_uri: str, fields: dict[str, str], response_mode: str) -> Response:
    if response_mode == "form_post":
        inputs = "".join(
            f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}" />'
            for name, value in fields.items()
        )
        return HTMLResponse(
            "<!doctype html><html><head><title>Working...</title></head>"
            '<body onload="document.forms[0].submit()">'
            f'<form method="POST" name="hiddenform" action="{html.escape(redirect_uri)}">'
            f'{inputs}<noscript><input type="submit" value="Continue" /></noscript>'
            "</form></body></html>",
            media_type=_HTML_MEDIA,
        )
    separator = "&" if urlsplit(redirect_uri).query else "?"
    return RedirectResponse(redirect_uri + separator + urlencode(fields), status_code=302)


def _parse_form(page: str) -> tuple[str, dict[str, str]]:
    """The action and hidden fields of the form_post page :func:`_redirect` writes."""
    found: dict[str, Any] = {"action": "", "fields": {}}

    class _Form(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            values = {name: value or "" for name, value in attrs}
            if tag == "form":
                found["action"] = values.get("action", "")
            elif tag == "input" and values.get("type") == "hidden":
                found["fields"][values.get("name", "")] = values.get("value", "")

    _Form().feed(page)
    return found["action"], found["fields"]


# Fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def identity() -> Iterator[IdentityStandIn]:
    """The identity stand-in, one server for the whole session (see ``fresh_identity``)."""
    with IdentityStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def fresh_identity(identity: IdentityStandIn) -> IdentityStandIn:
    """The stand-in, reset for this test: no requests, codes, tokens or revocations."""
    identity.reset()
    return identity
