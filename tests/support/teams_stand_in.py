"""A local stand-in of every Microsoft endpoint a Teams bot talks to, over loopback HTTP.

One server on a background thread plays three services, each in its documented shapes:

* **Bot Connector** (the ``serviceUrl`` of every activity, here
  :attr:`TeamsStandIn.service_url`): Send to Conversation, Reply to Activity, Update
  Activity, Delete Activity, Create Conversation, Get Conversation Member(s), Get Team
  Details. It records each call (method, path, JSON body, headers), answers ``{"id": ...}``
  as the connector does, keeps each conversation's bot messages (updates applied, every
  revision kept) so a test can read back what the bot said and which message was replaced,
  and can fail on demand with Teams' documented error shapes, 429 + ``Retry-After``
  included (platform notes D8).
* **Bot Framework token issuer** for inbound auth (platform notes D5): an OpenID metadata
  document and its JWKS at the paths of ``https://login.botframework.com/v1/.well-known/
  openidconfiguration`` and ``.../keys``, signed with an RSA key made for the session.
  :meth:`TeamsStandIn.mint` signs Bot-Framework-style tokens (``iss``
  ``https://api.botframework.com``, ``aud`` the app id, ``serviceurl``) with knobs for
  every way a token goes wrong. :attr:`TeamsStandIn.cloud` points the Teams SDK's inbound
  validation here.
* **Microsoft identity platform token endpoint** for the bot's own outbound token: the
  client-credentials POST to ``/{tenant}/oauth2/v2.0/token`` answers
  ``{"token_type": "Bearer", "expires_in": 3600, "access_token": ...}``. The connector only
  accepts bearer tokens issued here (:meth:`TeamsStandIn.issue_token`, or over HTTP with
  :class:`ClientCredentialsGrant`, a token provider for ``App(token=...)``).

:class:`TeamsActivities` builds the activities Teams posts to ``/api/messages`` from the JSON
files in ``tests/fixtures/teams_activities/`` (see the README there): a personal or channel
``message``, the ``adaptiveCard/action`` invoke of an ``Action.Execute``, ``conversationUpdate``
with ``membersAdded`` and ``installationUpdate``, each with ``serviceUrl`` pointing here, and
:meth:`TeamsActivities.headers` signs them.

Fixtures: ``teams_api`` (one server for the session), ``fresh_teams_api`` (the same, reset
for this test) and ``teams_activities`` (activity builders bound to it).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import datetime as dt
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fixtures import load_json
from tests.support.loopback import LoopbackStandIn

if TYPE_CHECKING:
    from microsoft_teams.api.auth.cloud_environment import CloudEnvironment

__all__ = [
    "APP_ID",
    "APP_PASSWORD",
    "BOT_FRAMEWORK_ISSUER",
    "BOT_ID",
    "BOT_NAME",
    "CREATE_CONVERSATION",
    "DEFAULT_TEAM",
    "DEFAULT_USERS",
    "DELETE",
    "GET_MEMBER",
    "GET_MEMBERS",
    "GET_TEAM",
    "JWKS",
    "JWKS_PATH",
    "MANAGER",
    "MESSAGE_SIZE_MAX",
    "OPENID_CONFIGURATION",
    "OPENID_PATH",
    "REPLY",
    "SELLER",
    "SEND",
    "SERVICE_PATH",
    "TENANT_ID",
    "TOKEN",
    "UPDATE",
    "Call",
    "ClientCredentialsGrant",
    "TeamsActivities",
    "TeamsChannel",
    "TeamsStandIn",
    "TeamsTeam",
    "TeamsUser",
    "base_conversation_id",
    "card_of",
    "fresh_teams_api",
    "personal_conversation_id",
    "teams_activities",
    "teams_api",
    "thread_conversation_id",
]

# The app registration ------------------------------------------------------------------------

APP_ID = "f5d48856-5b42-41a0-8c3a-c5f944b679b0"
"""The bot's Microsoft App ID (the example bot id of Teams' conversation-events page)."""
APP_PASSWORD = "stand-in-client-secret"
"""The client secret the token endpoint accepts for :data:`APP_ID`."""
TENANT_ID = "b28fdbfd-2b78-4f93-b0f8-8881793f0f8f"
"""The customer tenant every activity comes from (the example tenant of the same page)."""
BOT_ID = f"28:{APP_ID}"
"""The bot's id in Teams activities (``recipient.id``, ``membersAdded[].id``)."""
BOT_NAME = "Referral Bot"

# Where things live ---------------------------------------------------------------------------

SERVICE_PATH = "/amer/"
"""The path of :attr:`TeamsStandIn.service_url`, as in ``https://smba.trafficmanager.net/amer/``."""
OPENID_PATH = "/v1/.well-known/openidconfiguration"
JWKS_PATH = "/v1/.well-known/keys"
"""The Teams SDK derives the JWKS URL from the metadata URL by replacing
``/openidconfiguration`` with ``/keys``; it never reads the metadata document itself."""
BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"
MULTI_TENANT = "botframework.com"
"""The tenant a multi-tenant bot asks its outbound token from."""
MESSAGE_SIZE_MAX = 100 * 1024
"""Teams' bot message limit: about 100 KB of UTF-16 ("Format your bot messages")."""
TOKEN_LIFETIME_SECONDS = 3600
JWT_LEEWAY_SECONDS = 300
"""The clock skew the Teams SDK tolerates; ``expired`` tokens are older than that."""

# Operations (the Bot Connector REST API's names, snake_cased) ---------------------------------

SEND = "send_to_conversation"
REPLY = "reply_to_activity"
UPDATE = "update_activity"
DELETE = "delete_activity"
CREATE_CONVERSATION = "create_conversation"
GET_MEMBERS = "get_conversation_members"
GET_MEMBER = "get_conversation_member"
GET_TEAM = "get_team_details"
TOKEN = "token"
OPENID_CONFIGURATION = "openid_configuration"
JWKS = "jwks"
UNKNOWN = "unknown"
CONNECTOR_OPERATIONS = (
    SEND,
    REPLY,
    UPDATE,
    DELETE,
    CREATE_CONVERSATION,
    GET_MEMBERS,
    GET_MEMBER,
    GET_TEAM,
)

DENIED = {"message": "Authorization has been denied for this request."}
"""The connector's 401 body for a missing or unknown bearer token."""
_JSON_MEDIA = "application/json; charset=utf-8"


# People and places ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TeamsUser:
    """A member of the tenant, as activities name them and the members API describes them."""

    id: str
    """The Teams user id (``29:...``), scoped to this bot."""
    aad_object_id: str
    name: str
    given_name: str
    surname: str
    email: str
    user_role: str = "user"

    @property
    def account(self) -> dict[str, Any]:
        """``from`` of an activity sent by this user."""
        return {"id": self.id, "name": self.name, "aadObjectId": self.aad_object_id}

    @property
    def member(self) -> dict[str, Any]:
        """The ``TeamsChannelAccount`` Get Conversation Member answers."""
        return {
            "id": self.id,
            "name": self.name,
            "aadObjectId": self.aad_object_id,
            "givenName": self.given_name,
            "surname": self.surname,
            "email": self.email,
            "userPrincipalName": self.email,
            "tenantId": TENANT_ID,
            "userRole": self.user_role,
        }


@dataclass(frozen=True, slots=True)
class TeamsChannel:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class TeamsTeam:
    """A team; its General channel has the team's id, as in Teams."""

    id: str
    name: str
    aad_group_id: str
    channels: tuple[TeamsChannel, ...]

    def channel(self, name: str) -> TeamsChannel:
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise LookupError(f"no channel {name!r} in {self.name}")


SELLER = TeamsUser(
    "29:1ada-lovelace", "6b1e7a4c-2f3d-4e5a-9b8c-0d1e2f3a4b5c", "Ada Lovelace", "Ada",
    "Lovelace", "ada.lovelace@contoso.example",
)  # fmt: skip
"""The partner seller (the same person as the Slack suite's ``U0001``)."""
MANAGER = TeamsUser(
    "29:1grace-hopper", "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "Grace Hopper", "Grace",
    "Hopper", "grace.hopper@contoso.example",
)  # fmt: skip
"""The partner development manager who approves deal registrations."""
DEFAULT_USERS: tuple[TeamsUser, ...] = (SELLER, MANAGER)
DEFAULT_TEAM = TeamsTeam(
    id="19:0b7f32667e064dd9b25d7969801541f4@thread.tacv2",
    name="Partner Sales",
    aad_group_id="f3ec8cd2-e704-4344-8c47-9a3a21d683c0",
    channels=(
        TeamsChannel("19:0b7f32667e064dd9b25d7969801541f4@thread.tacv2", "General"),
        TeamsChannel("19:6d97d816470f481dbcda38244b98689a@thread.tacv2", "Deal Approvals"),
    ),
)


def personal_conversation_id(user: TeamsUser | str) -> str:
    """The id of the bot's 1:1 chat with ``user`` (``29:1ada`` -> ``a:1ada``)."""
    user_id = user.id if isinstance(user, TeamsUser) else user
    return "a:" + user_id.removeprefix("29:")


def thread_conversation_id(channel_id: str, root_message_id: str) -> str:
    """The conversation id of a channel thread: ``19:...@thread.tacv2;messageid=<root>``."""
    return f"{base_conversation_id(channel_id)};messageid={root_message_id}"


def base_conversation_id(conversation_id: str) -> str:
    """The conversation a thread id belongs to (its part before ``;messageid=``)."""
    return conversation_id.split(";messageid=", 1)[0]


def _fixture(name: str) -> dict[str, Any]:
    loaded = load_json(f"teams_activities/{name}.json")
    assert isinstance(loaded, dict)
    return loaded


# Recorded calls ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """One request the stand-in answered."""

    operation: str
    """What was asked (:data:`SEND`, :data:`UPDATE`, :data:`TOKEN`, ...)."""
    http_method: str
    path: str
    body: Any
    """The JSON body parsed (the form fields for :data:`TOKEN`), ``None`` when empty."""
    headers: dict[str, str]
    """Request headers, names lower-cased."""
    status: int
    response: Any
    conversation_id: str | None = None
    """The conversation id in the path, as sent (thread suffix included)."""
    activity_id: str | None = None
    """The activity id in the path (reply, update, delete)."""

    @property
    def token(self) -> str | None:
        """The bearer token the call carried."""
        scheme, _, credentials = self.headers.get("authorization", "").partition(" ")
        return credentials.strip() or None if scheme.lower() == "bearer" else None

    @property
    def activity(self) -> dict[str, Any]:
        """The activity the call sent (the body of send, reply and update)."""
        assert isinstance(self.body, dict), f"{self.operation} carried no JSON object"
        return self.body

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(slots=True)
class _Fault:
    operation: str
    remaining: int | None
    """Calls still to fail; ``None`` fails until the next reset."""
    status: int
    body: Any
    headers: dict[str, str]
    conversation_id: str | None


class _ConnectorError(Exception):
    """An error answer, raised inside the connector's handlers (the lock is held)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.body = {"error": {"code": code, "message": message}}


# Keys ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SigningKey:
    """An RSA key with a self-signed certificate, published as Bot Framework publishes its
    keys: ``kid`` = ``x5t`` = base64url(SHA-1 of the certificate), ``x5c``, ``endorsements``."""

    private_key: rsa.RSAPrivateKey
    kid: str
    jwk: dict[str, Any]

    @classmethod
    def generate(cls, subject: str) -> _SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .sign(key, hashes.SHA256())
        )
        der = certificate.public_bytes(serialization.Encoding.DER)
        kid = _b64url(hashlib.sha1(der, usedforsecurity=False).digest())
        jwk: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        jwk.update(
            kid=kid,
            use="sig",
            x5t=kid,
            x5c=[base64.b64encode(der).decode()],
            endorsements=["msteams"],
        )
        return cls(key, kid, jwk)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# The stand-in --------------------------------------------------------------------------------


class TeamsStandIn(LoopbackStandIn):
    """Bot Connector, Bot Framework's key publication and the token endpoint, in memory,
    behind a loopback server.

    Use as a context manager (or :meth:`start` / :meth:`stop`). Every method is thread-safe:
    the server answers on its own thread. Keys and issued tokens live as long as the object
    (a session); :meth:`reset` forgets calls, messages, conversations and faults.
    """

    name = "Teams stand-in"

    def __init__(
        self,
        *,
        app_id: str = APP_ID,
        app_password: str = APP_PASSWORD,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_id = app_id
        self.app_password = app_password
        self.clock = clock
        self._condition = threading.Condition()
        super().__init__()
        self._signing_keys = [_SigningKey.generate("Bot Framework (stand-in)")]
        self._foreign_key: _SigningKey | None = None
        self._entra_key = _SigningKey.generate("Microsoft identity platform (stand-in)")
        self._issued: dict[str, float] = {}
        connector = SERVICE_PATH.rstrip("/") + "/v3"
        conversation = connector + "/conversations/{conversation_id}"
        self.app = Starlette(
            routes=[
                Route(OPENID_PATH, self._openid_configuration, methods=["GET"]),
                Route(JWKS_PATH, self._jwks, methods=["GET"]),
                Route("/{tenant}/discovery/v2.0/keys", self._entra_jwks, methods=["GET"]),
                Route("/{tenant}/oauth2/v2.0/token", self._token, methods=["POST"]),
                Route(connector + "/conversations", self._create_conversation, methods=["POST"]),
                Route(conversation + "/activities", self._send, methods=["POST"]),
                Route(conversation + "/activities/{activity_id}", self._reply, methods=["POST"]),
                Route(conversation + "/activities/{activity_id}", self._update, methods=["PUT"]),
                Route(conversation + "/activities/{activity_id}", self._delete, methods=["DELETE"]),
                Route(conversation + "/members", self._members, methods=["GET"]),
                Route(conversation + "/members/{member_id}", self._member, methods=["GET"]),
                Route(connector + "/teams/{team_id}", self._team, methods=["GET"]),
                Route(
                    "/{rest:path}",
                    self._unknown,
                    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                ),
            ]
        )
        self.reset()

    # Serving --------------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """What :meth:`start` returns."""
        return self.service_url

    @property
    def service_url(self) -> str:
        """The Bot Connector ``serviceUrl`` of activities: ``http://127.0.0.1:PORT/amer/``."""
        return self.origin + SERVICE_PATH

    @property
    def openid_metadata_url(self) -> str:
        """Where Bot Framework's OpenID metadata lives here."""
        return self.origin + OPENID_PATH

    @property
    def jwks_url(self) -> str:
        return self.origin + JWKS_PATH

    @property
    def login_endpoint(self) -> str:
        """The Microsoft identity platform's root here (``/{tenant}/oauth2/v2.0/token``)."""
        return self.origin

    def token_url(self, tenant: str = TENANT_ID) -> str:
        """The client-credentials endpoint for ``tenant``."""
        return f"{self.origin}/{tenant}/oauth2/v2.0/token"

    @property
    def cloud(self) -> CloudEnvironment:
        """The SDK's public cloud with Bot Framework's OpenID metadata here, for
        ``App(cloud=...)``: inbound tokens are then checked against this stand-in's keys.

        Only the metadata URL moves: the SDK hands ``login_endpoint`` to MSAL, which insists
        on an https authority and asks login.microsoftonline.com to discover it.
        """
        # Imported here: the SDK takes about a second to import, and most tests never ask.
        from microsoft_teams.api.auth.cloud_environment import (  # noqa: PLC0415
            PUBLIC,
            with_overrides,
        )

        return with_overrides(PUBLIC, openid_metadata_url=self.openid_metadata_url)

    # Test controls --------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget calls, messages, conversations and faults; restore the default users and
        team and require issued bearer tokens again. Keys and issued tokens stay."""
        with self._condition:
            self._calls: list[Call] = []
            self._messages: dict[str, list[dict[str, Any]]] = {}
            self._revisions: dict[str, list[dict[str, Any]]] = {}
            self._deleted: dict[str, dict[str, Any]] = {}
            self._inbound: dict[str, dict[str, dict[str, Any]]] = {}
            self._created: list[dict[str, Any]] = []
            self._faults: list[_Fault] = []
            self._users: dict[str, TeamsUser] = {user.id: user for user in DEFAULT_USERS}
            self._teams: dict[str, TeamsTeam] = {DEFAULT_TEAM.id: DEFAULT_TEAM}
            self._last_id = 0
            self.require_issued_tokens = True
            self._condition.notify_all()

    def set_user(self, user: TeamsUser) -> None:
        """Add or replace a member of the tenant."""
        with self._condition:
            self._users[user.id] = user

    def remove_user(self, user_id: str) -> None:
        """Forget a member: the members API no longer finds them, and a proactive 1:1 chat
        with them is refused as when they do not have the app (403)."""
        with self._condition:
            self._users.pop(user_id, None)

    def fail(
        self,
        operation: str,
        status: int = 500,
        *,
        code: str = "ServiceError",
        message: str = "An error occurred.",
        times: int | None = 1,
        retry_after: float | None = None,
        conversation_id: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``operation`` (``None``: every call until the
        next reset) with ``status`` and Teams' error body ``{"error": {"code", "message"}}``
        (for :data:`TOKEN`: ``{"error", "error_description"}``), optionally with
        ``Retry-After``, and only for ``conversation_id`` (thread suffix ignored) if given.

        Examples from Teams' status-code table: 403 ``BotNotInConversationRoster``, 403
        ``ConversationBlockedByUser``, 404 ``ConversationNotFound``, 412
        ``PreconditionFailed``, 502 ``ServiceError``.
        """
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for every call)")
        body: Any = (
            {"error": code, "error_description": message}
            if operation == TOKEN
            else {"error": {"code": code, "message": message}}
        )
        headers = {} if retry_after is None else {"Retry-After": _seconds(retry_after)}
        target = base_conversation_id(conversation_id) if conversation_id else None
        with self._condition:
            self._faults.append(_Fault(operation, times, status, body, headers, target))

    def rate_limit(
        self,
        operation: str = SEND,
        times: int = 1,
        retry_after: float = 1,
        *,
        conversation_id: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``operation`` with 429 ``Throttled`` and
        ``Retry-After``, as Teams does past its per-conversation limits."""
        self.fail(
            operation,
            429,
            code="Throttled",
            message="Too many requests.",
            times=times,
            retry_after=retry_after,
            conversation_id=conversation_id,
        )

    def clear_faults(self) -> None:
        with self._condition:
            self._faults.clear()

    def seed_message(
        self,
        conversation_id: str,
        text: str = "",
        *,
        card: Mapping[str, Any] | None = None,
    ) -> str:
        """Put a bot message in ``conversation_id`` as if posted earlier (not recorded as a
        call); returns its activity id, e.g. for the ``replyToId`` of a card action."""
        activity: dict[str, Any] = {"type": "message", "text": text}
        if card is not None:
            activity["attachments"] = [_card_attachment(card)]
        with self._condition:
            return self._post(conversation_id, activity, reply_to_id=None)

    def rotate_key(self) -> str:
        """Sign from now on with a new key, still publishing the old ones (a key rollover);
        returns the new ``kid``."""
        key = _SigningKey.generate("Bot Framework (stand-in, rotated)")
        with self._condition:
            self._signing_keys.insert(0, key)
        return key.kid

    # Inbound tokens -------------------------------------------------------------------------

    def mint(
        self,
        *,
        audience: str | None = None,
        issuer: str = BOT_FRAMEWORK_ISSUER,
        service_url: str | None = None,
        omit_service_url: bool = False,
        expired: bool = False,
        not_yet_valid: bool = False,
        wrong_key: bool = False,
        kid: str | None = None,
        algorithm: Literal["RS256", "HS256"] = "RS256",
        lifetime: int = TOKEN_LIFETIME_SECONDS,
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A token as Bot Framework signs for the bot's messaging endpoint.

        Defaults: ``iss`` :data:`BOT_FRAMEWORK_ISSUER`, ``aud`` the app id, ``serviceurl``
        :attr:`service_url`, ``nbf`` now, ``exp`` in ``lifetime`` seconds, signed RS256 with
        the published key. Knobs: ``audience``/``issuer``/``service_url`` replace a claim,
        ``omit_service_url`` drops it, ``expired`` ends it past the SDK's 5-minute leeway,
        ``not_yet_valid`` starts it past the leeway, ``wrong_key`` signs with an unpublished
        key under the published ``kid``, ``kid`` names another key id, ``algorithm="HS256"``
        signs with a secret derived from the app password instead, ``claims`` adds or
        replaces any claim.
        """
        now = int(self.clock())
        not_before, expires = now, now + lifetime
        if expired:
            expires = now - JWT_LEEWAY_SECONDS - 60
            not_before = expires - lifetime
        if not_yet_valid:
            not_before = now + JWT_LEEWAY_SECONDS + 60
            expires = not_before + lifetime
        payload: dict[str, Any] = {
            "serviceurl": service_url or self.service_url,
            "nbf": not_before,
            "exp": expires,
            "iss": issuer,
            "aud": audience or self.app_id,
        }
        if omit_service_url:
            del payload["serviceurl"]
        payload.update(claims or {})
        with self._condition:
            signing = self._signing_keys[0]
        if algorithm == "HS256":
            headers = {"kid": kid or signing.kid}
            secret = hashlib.sha256(self.app_password.encode()).digest()
            return jwt.encode(payload, secret, algorithm="HS256", headers=headers)
        key = self._unpublished_key() if wrong_key else signing
        headers = {"kid": kid or signing.kid, "x5t": signing.kid}
        return jwt.encode(payload, key.private_key, algorithm="RS256", headers=headers)

    def authorization(self, **knobs: Any) -> dict[str, str]:
        """``{"Authorization": "Bearer <mint(**knobs)>"}``."""
        return {"Authorization": f"Bearer {self.mint(**knobs)}"}

    def jwks(self) -> dict[str, Any]:
        """The key set served at :data:`JWKS_PATH`."""
        with self._condition:
            return {"keys": [copy.deepcopy(key.jwk) for key in self._signing_keys]}

    def _unpublished_key(self) -> _SigningKey:
        with self._condition:
            if self._foreign_key is None:
                self._foreign_key = _SigningKey.generate("someone else")
            return self._foreign_key

    # Outbound tokens ------------------------------------------------------------------------

    def issue_token(
        self,
        scope: str = BOT_FRAMEWORK_SCOPE,
        tenant: str = MULTI_TENANT,
        *,
        client_id: str | None = None,
        lifetime: int = TOKEN_LIFETIME_SECONDS,
    ) -> str:
        """An app-only access token, as the token endpoint would issue it (no HTTP)."""
        now = int(self.clock())
        tenant_id = TENANT_ID if tenant == MULTI_TENANT else tenant
        client = client_id or self.app_id
        payload = {
            "aud": scope.removesuffix("/.default"),
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "appid": client,
            "azp": client,
            "idtyp": "app",
            "tid": tenant_id,
            "ver": "1.0",
            "jti": uuid.uuid4().hex,
        }
        token = jwt.encode(
            payload,
            self._entra_key.private_key,
            algorithm="RS256",
            headers={"kid": self._entra_key.kid, "x5t": self._entra_key.kid},
        )
        with self._condition:
            self._issued[token] = float(now + lifetime)
        return token

    def token_provider(self) -> ClientCredentialsGrant:
        """A token provider for ``App(client_id=APP_ID, token=...)`` that fetches the bot's
        token from this stand-in's token endpoint over HTTP, as client credentials."""
        return ClientCredentialsGrant(self.login_endpoint, self.app_id, self.app_password)

    # Reading back ---------------------------------------------------------------------------

    def calls(self, operation: str | None = None) -> list[Call]:
        """Every call so far (of ``operation`` only, if given), oldest first."""
        with self._condition:
            return [call for call in self._calls if operation in (None, call.operation)]

    def connector_calls(self) -> list[Call]:
        """The Bot Connector calls so far (no token or key fetches), oldest first."""
        with self._condition:
            return [call for call in self._calls if call.operation in CONNECTOR_OPERATIONS]

    def wait_for(self, operation: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until ``count`` calls of ``operation`` arrived; returns all calls of it.

        Wakes on each call (no polling). Raises TimeoutError after ``timeout`` seconds. From
        a coroutine whose loop also runs the code under test, use :meth:`wait_for_async`.
        """
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                found = [call for call in self._calls if call.operation == operation]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [call.operation for call in self._calls]
                    raise TimeoutError(
                        f"{len(found)} of {count} {operation} call(s) after {timeout} s; "
                        f"calls so far: {seen}"
                    )
                self._condition.wait(remaining)

    async def wait_for_async(
        self,
        operation: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - bounds the worker thread's wait too
    ) -> list[Call]:
        """:meth:`wait_for` on a worker thread, leaving the event loop free meanwhile."""
        return await asyncio.to_thread(self.wait_for, operation, count, timeout)

    def messages_in(self, conversation_id: str) -> list[dict[str, Any]]:
        """The bot's messages in a conversation as they stand now (updates applied, deletions
        gone), oldest first; thread replies count in their channel."""
        with self._condition:
            return copy.deepcopy(self._messages.get(base_conversation_id(conversation_id), []))

    def last_message(self, conversation_id: str) -> dict[str, Any]:
        """The bot's latest message in the conversation; LookupError when there is none."""
        messages = self.messages_in(conversation_id)
        if not messages:
            raise LookupError(f"the bot said nothing in {conversation_id}")
        return messages[-1]

    def last_card(self, conversation_id: str) -> dict[str, Any]:
        """The Adaptive Card of the bot's latest message in the conversation."""
        return card_of(self.last_message(conversation_id))

    def message(self, activity_id: str) -> dict[str, Any]:
        """A bot message as it stands now, by activity id; LookupError when unknown."""
        with self._condition:
            for messages in self._messages.values():
                for message in messages:
                    if message["id"] == activity_id:
                        return copy.deepcopy(message)
        raise LookupError(f"no bot message {activity_id}")

    def revisions(self, activity_id: str) -> list[dict[str, Any]]:
        """Every version of a bot message, as posted first, then after each update."""
        with self._condition:
            return copy.deepcopy(self._revisions.get(activity_id, []))

    def deleted(self) -> dict[str, dict[str, Any]]:
        """The bot messages deleted so far, by activity id."""
        with self._condition:
            return copy.deepcopy(self._deleted)

    def created_conversations(self) -> list[dict[str, Any]]:
        """What Create Conversation answered, oldest first (``id``, ``activityId``...)."""
        with self._condition:
            return copy.deepcopy(self._created)

    def note_inbound(self, activity: Mapping[str, Any]) -> None:
        """Remember an activity Teams sent the bot, so that the bot may reply to it (and is
        refused, as by Teams, when it tries to edit or delete it)."""
        conversation = base_conversation_id(str(activity["conversation"]["id"]))
        with self._condition:
            self._inbound.setdefault(conversation, {})[str(activity["id"])] = copy.deepcopy(
                dict(activity)
            )

    # HTTP: Bot Framework keys and the token endpoint ------------------------------------------

    async def _openid_configuration(self, request: Request) -> Response:
        document = _fixture("openid_configuration")
        document["jwks_uri"] = self.jwks_url
        return await self._serve(request, OPENID_CONFIGURATION, lambda: (200, document))

    async def _jwks(self, request: Request) -> Response:
        return await self._serve(request, JWKS, lambda: (200, self.jwks()))

    async def _entra_jwks(self, request: Request) -> Response:
        return await self._serve(request, JWKS, lambda: (200, {"keys": [self._entra_key.jwk]}))

    async def _token(self, request: Request) -> Response:
        raw = await request.body()
        form = dict(parse_qsl(raw.decode(errors="replace"), keep_blank_values=True))
        tenant = request.path_params["tenant"]
        headers = _lower(request.headers)
        basic_id, basic_secret = _basic_credentials(headers)

        def answer() -> tuple[int, Any]:
            client_id = form.get("client_id") or basic_id
            secret = form.get("client_secret") or basic_secret
            scope = form.get("scope", "")
            if form.get("grant_type") != "client_credentials":
                return 400, _aad_error(
                    "unsupported_grant_type",
                    "AADSTS70003: The app requested an unsupported grant type.",
                )
            if tenant not in (TENANT_ID, MULTI_TENANT, "common", "organizations"):
                return 400, _aad_error(
                    "invalid_request", f"AADSTS90002: Tenant '{tenant}' not found."
                )
            if client_id != self.app_id:
                return 400, _aad_error(
                    "unauthorized_client",
                    f"AADSTS700016: Application with identifier '{client_id}' was not found "
                    f"in the directory '{tenant}'.",
                )
            if secret != self.app_password:
                return 401, _aad_error(
                    "invalid_client", "AADSTS7000215: Invalid client secret provided."
                )
            if not scope:
                return 400, _aad_error(
                    "invalid_request",
                    "AADSTS900144: The request body must contain the following parameter: 'scope'.",
                )
            if not scope.endswith("/.default"):
                return 400, _aad_error(
                    "invalid_scope",
                    f"AADSTS1002012: The provided value for scope {scope} is not valid. "
                    "Client credential flows must have a scope value with /.default "
                    "suffixed to the resource identifier (application ID URI).",
                )
            token = self.issue_token(scope, tenant, client_id=client_id)
            return 200, {
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_SECONDS,
                "ext_expires_in": TOKEN_LIFETIME_SECONDS,
                "access_token": token,
            }

        return await self._serve(request, TOKEN, answer, body=form, headers=headers)

    # HTTP: the Bot Connector ------------------------------------------------------------------

    async def _send(self, request: Request) -> Response:
        conversation_id = request.path_params["conversation_id"]
        return await self._connector(
            request,
            SEND,
            lambda body: self._answer_post(conversation_id, body, reply_to_id=None),
            conversation_id=conversation_id,
        )

    async def _reply(self, request: Request) -> Response:
        conversation_id = request.path_params["conversation_id"]
        activity_id = request.path_params["activity_id"]

        def answer(body: Any) -> tuple[int, Any]:
            self._find_any(conversation_id, activity_id)
            return self._answer_post(conversation_id, body, reply_to_id=activity_id)

        return await self._connector(
            request, REPLY, answer, conversation_id=conversation_id, activity_id=activity_id
        )

    async def _update(self, request: Request) -> Response:
        conversation_id = request.path_params["conversation_id"]
        activity_id = request.path_params["activity_id"]

        def answer(body: Any) -> tuple[int, Any]:
            message = self._find_own(conversation_id, activity_id)
            activity = _checked_activity(body)
            updated = {
                **activity,
                "id": activity_id,
                "timestamp": message["timestamp"],
                "conversation": message["conversation"],
                "from": message["from"],
            }
            if "replyToId" in message:
                updated["replyToId"] = message["replyToId"]
            message.clear()
            message.update(updated)
            self._revisions[activity_id].append(copy.deepcopy(updated))
            return 200, {"id": activity_id}

        return await self._connector(
            request, UPDATE, answer, conversation_id=conversation_id, activity_id=activity_id
        )

    async def _delete(self, request: Request) -> Response:
        conversation_id = request.path_params["conversation_id"]
        activity_id = request.path_params["activity_id"]

        def answer(body: Any) -> tuple[int, Any]:
            message = self._find_own(conversation_id, activity_id)
            self._messages[base_conversation_id(conversation_id)].remove(message)
            self._deleted[activity_id] = message
            return 200, None

        return await self._connector(
            request, DELETE, answer, conversation_id=conversation_id, activity_id=activity_id
        )

    async def _create_conversation(self, request: Request) -> Response:
        def answer(body: Any) -> tuple[int, Any]:
            if not isinstance(body, dict):
                raise _ConnectorError(400, "BadArgument", "Invalid request body.")
            channel_data = body.get("channelData") or {}
            channel = (channel_data.get("channel") or {}).get("id")
            activity = body.get("activity")
            if channel:
                # A new thread in a channel: the activity is its first post.
                if not isinstance(activity, dict):
                    raise _ConnectorError(400, "BadArgument", "Activity is required.")
                activity_id = self._post(channel, _checked_activity(activity), reply_to_id=None)
                created = {"id": thread_conversation_id(channel, activity_id)}
                created["activityId"] = activity_id
            else:
                created = self._create_personal(body, channel_data)
            self._created.append(copy.deepcopy(created))
            return 201, created

        return await self._connector(request, CREATE_CONVERSATION, answer)

    def _create_personal(
        self, body: dict[str, Any], channel_data: dict[str, Any]
    ) -> dict[str, Any]:
        """A 1:1 chat with one member (the lock is held)."""
        members = body.get("members") or []
        tenant = body.get("tenantId") or (channel_data.get("tenant") or {}).get("id")
        if not tenant:
            raise _ConnectorError(400, "BadArgument", "Tenant id is required.")
        if body.get("isGroup") or len(members) != 1:
            raise _ConnectorError(
                400, "BadArgument", "Exactly one member is required for a 1:1 chat."
            )
        member_id = str(members[0].get("id", ""))
        if member_id not in self._users:
            raise _ConnectorError(
                403, "ForbiddenOperationException", "Bot is not installed in user's personal scope"
            )
        conversation_id = personal_conversation_id(member_id)
        created: dict[str, Any] = {"id": conversation_id}
        if isinstance(body.get("activity"), dict):
            created["activityId"] = self._post(
                conversation_id, _checked_activity(body["activity"]), reply_to_id=None
            )
        return created

    async def _members(self, request: Request) -> Response:
        conversation_id = request.path_params["conversation_id"]
        return await self._connector(
            request,
            GET_MEMBERS,
            lambda body: (200, [user.member for user in self._members_of(conversation_id)]),
            conversation_id=conversation_id,
        )

    async def _member(self, request: Request) -> Response:
        conversation_id = request.path_params["conversation_id"]
        member_id = request.path_params["member_id"]

        def answer(body: Any) -> tuple[int, Any]:
            for user in self._members_of(conversation_id):
                if member_id in (user.id, user.aad_object_id):
                    return 200, user.member
            raise _ConnectorError(
                404, "MemberNotFoundInConversation", "The member was not found in the conversation."
            )  # fmt: skip

        return await self._connector(request, GET_MEMBER, answer, conversation_id=conversation_id)

    async def _team(self, request: Request) -> Response:
        team_id = request.path_params["team_id"]

        def answer(body: Any) -> tuple[int, Any]:
            team = self._teams.get(team_id)
            if team is None:
                raise _ConnectorError(404, "ConversationNotFound", "Conversation not found.")
            return 200, {"id": team.id, "name": team.name, "aadGroupId": team.aad_group_id}

        return await self._connector(request, GET_TEAM, answer)

    async def _unknown(self, request: Request) -> Response:
        body = {"error": {"code": "BadArgument", "message": f"Unknown route {request.url.path}"}}
        return await self._serve(request, UNKNOWN, lambda: (404, body))

    # Plumbing -------------------------------------------------------------------------------

    async def _serve(
        self,
        request: Request,
        operation: str,
        answer: Callable[[], tuple[int, Any]],
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """Answer a non-connector request: faults first, then ``answer``; record the call."""
        headers = headers if headers is not None else _lower(request.headers)
        with self._condition:
            fault = self._take_fault(operation, None)
            if fault is not None:
                status, response, extra = fault.status, copy.deepcopy(fault.body), fault.headers
            else:
                (status, response), extra = answer(), {}
            self._record(
                Call(operation, request.method, request.url.path, body, headers, status, response)
            )
        return _json_response(response, status, extra)

    async def _connector(
        self,
        request: Request,
        operation: str,
        answer: Callable[[Any], tuple[int, Any]],
        *,
        conversation_id: str | None = None,
        activity_id: str | None = None,
    ) -> Response:
        """A Bot Connector call: bearer check, faults, then ``answer``; record the call."""
        headers = _lower(request.headers)
        raw = await request.body()
        body: Any = None
        malformed = False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                malformed = True
                body = raw.decode(errors="replace")
        extra: dict[str, str] = {}
        with self._condition:
            if not self._authorized(headers):
                status, response = 401, dict(DENIED)
            elif malformed:
                status, response = (
                    400,
                    {"error": {"code": "BadSyntax", "message": "The request is not valid JSON."}},
                )
            elif (fault := self._take_fault(operation, conversation_id)) is not None:
                status, response, extra = fault.status, copy.deepcopy(fault.body), fault.headers
            else:
                try:
                    status, response = answer(body)
                except _ConnectorError as error:
                    status, response = error.status, error.body
            self._record(
                Call(
                    operation,
                    request.method,
                    request.url.path,
                    body,
                    headers,
                    status,
                    copy.deepcopy(response),
                    conversation_id,
                    activity_id,
                )
            )
        return _json_response(response, status, extra)

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return False
        if not self.require_issued_tokens:
            return True
        expires = self._issued.get(token)
        return expires is not None and expires > self.clock()

    def _record(self, call: Call) -> None:
        self._calls.append(call)
        self._condition.notify_all()

    def _take_fault(self, operation: str, conversation_id: str | None) -> _Fault | None:
        target = base_conversation_id(conversation_id) if conversation_id else None
        for fault in self._faults:
            if fault.operation != operation:
                continue
            if fault.conversation_id is not None and fault.conversation_id != target:
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
            return fault
        return None

    def _answer_post(
        self, conversation_id: str, body: Any, *, reply_to_id: str | None
    ) -> tuple[int, Any]:
        activity = _checked_activity(body)
        if activity.get("type") != "message":
            # Typing and other non-message activities are delivered, never stored, and get
            # no resource id back.
            return 200, {}
        return 201, {"id": self._post(conversation_id, activity, reply_to_id=reply_to_id)}

    def _post(
        self, conversation_id: str, activity: dict[str, Any], *, reply_to_id: str | None
    ) -> str:
        """Store a bot message (the lock is held); returns its new activity id."""
        activity_id = self._next_id()
        message = {
            **copy.deepcopy(activity),
            "id": activity_id,
            "timestamp": _iso(self.clock()),
            "conversation": {"id": conversation_id},
            "from": activity.get("from") or {"id": BOT_ID, "name": BOT_NAME},
        }
        if reply_to_id is not None:
            message["replyToId"] = reply_to_id
        self._messages.setdefault(base_conversation_id(conversation_id), []).append(message)
        self._revisions[activity_id] = [copy.deepcopy(message)]
        return activity_id

    def new_activity_id(self) -> str:
        """A fresh Teams message id, unique among every id this stand-in hands out."""
        with self._condition:
            return self._next_id()

    def _next_id(self) -> str:
        """A Teams message id: the epoch milliseconds, strictly increasing."""
        self._last_id = max(self._last_id + 1, int(self.clock() * 1000))
        return str(self._last_id)

    def _find_own(self, conversation_id: str, activity_id: str) -> dict[str, Any]:
        base = base_conversation_id(conversation_id)
        for message in self._messages.get(base, []):
            if message["id"] == activity_id:
                return message
        if activity_id in self._inbound.get(base, {}):
            raise _ConnectorError(
                403, "NotEnoughPermissions", "The bot cannot change another member's message."
            )
        raise _ConnectorError(
            404, "ActivityNotFoundInConversation", "Conversation not found."
        )  # fmt: skip

    def _find_any(self, conversation_id: str, activity_id: str) -> None:
        base = base_conversation_id(conversation_id)
        if activity_id in self._inbound.get(base, {}):
            return
        if any(message["id"] == activity_id for message in self._messages.get(base, [])):
            return
        raise _ConnectorError(404, "ActivityNotFoundInConversation", "Conversation not found.")

    def _members_of(self, conversation_id: str) -> list[TeamsUser]:
        base = base_conversation_id(conversation_id)
        for user in self._users.values():
            if personal_conversation_id(user) == base:
                return [user]
        if base.startswith("a:"):
            raise _ConnectorError(404, "ConversationNotFound", "Conversation not found.")
        return list(self._users.values())


# A token provider for the SDK ----------------------------------------------------------------


class ClientCredentialsGrant:
    """The client-credentials grant against ``{login_endpoint}/{tenant}/oauth2/v2.0/token``,
    as a token provider for ``App(client_id=..., token=ClientCredentialsGrant(...))``.

    The SDK calls it with ``(scope, tenant_id)`` before every outbound request and does not
    cache what it returns, so this caches each token until a minute before it expires.
    """

    def __init__(self, login_endpoint: str, client_id: str, client_secret: str) -> None:
        self.login_endpoint = login_endpoint.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self._cache: dict[tuple[str, str], tuple[str, float]] = {}
        self._lock = asyncio.Lock()

    async def __call__(self, scope: str | list[str], tenant_id: str | None = None) -> str:
        scopes = " ".join(scope) if isinstance(scope, list) else scope
        key = (scopes, tenant_id or MULTI_TENANT)
        async with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached[1] > time.monotonic():
                return cached[0]
            async with httpx.AsyncClient(trust_env=False) as client:
                response = await client.post(
                    f"{self.login_endpoint}/{key[1]}/oauth2/v2.0/token",
                    data={
                        "grant_type": "client_credentials",
                        "client_id": self.client_id,
                        "client_secret": self.client_secret,
                        "scope": scopes,
                    },
                )
            response.raise_for_status()
            answer = response.json()
            token = str(answer["access_token"])
            self._cache[key] = (token, time.monotonic() + float(answer["expires_in"]) - 60)
            return token


# Activities Teams sends ----------------------------------------------------------------------


class TeamsActivities:
    """Activities as Teams posts them to the bot's messaging endpoint, from the documented
    payloads in ``tests/fixtures/teams_activities/``, with ``serviceUrl`` at the stand-in.

    Each builder returns the activity as a dict (post it as JSON) and tells the stand-in
    about it (:meth:`TeamsStandIn.note_inbound`). :meth:`headers` gives the signed headers.
    """

    def __init__(self, stand_in: TeamsStandIn, *, clock: Callable[[], float] = time.time) -> None:
        self.stand_in = stand_in
        self.clock = clock

    # Signing --------------------------------------------------------------------------------

    def headers(self, activity: Mapping[str, Any] | None = None, **knobs: Any) -> dict[str, str]:
        """``Authorization`` (a token from :meth:`TeamsStandIn.mint`, its ``serviceurl`` the
        activity's) and ``Content-Type``; ``knobs`` go to ``mint`` to forge a bad token."""
        if activity is not None and "service_url" not in knobs:
            knobs["service_url"] = activity.get("serviceUrl")
        return {
            **self.stand_in.authorization(**knobs),
            "Content-Type": "application/json",
        }

    # Builders -------------------------------------------------------------------------------

    def message(
        self,
        text: str,
        *,
        user: TeamsUser = SELLER,
        channel: TeamsChannel | None = None,
        team: TeamsTeam = DEFAULT_TEAM,
        thread_id: str | None = None,
        value: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A message from ``user``: in the 1:1 chat by default; with ``channel``, a new post
        in that channel (or a reply in the thread of ``thread_id``) mentioning the bot, whose
        ``text`` starts with ``<at>Referral Bot</at>`` as Teams sends it. ``value`` is what an
        ``Action.Submit`` in a card sends (a message with no text)."""
        if channel is None:
            activity = self._base("message_personal", user)
            activity["text"] = text
        else:
            activity = self._base("message_channel", user, team=team, channel=channel)
            mention = f"<at>{BOT_NAME}</at>"
            activity["text"] = f"{mention} {text}".strip()
            activity["attachments"][0]["content"] = _mention_html(text)
            activity["conversation"]["id"] = thread_conversation_id(
                channel.id, thread_id or activity["id"]
            )
            if thread_id is not None:
                activity["replyToId"] = thread_id
        if value is not None:
            activity["value"] = copy.deepcopy(dict(value))
            activity.pop("text", None)
        return self._noted(activity)

    def card_action(
        self,
        verb: str,
        data: Mapping[str, Any] | None = None,
        *,
        reply_to_id: str | None = None,
        user: TeamsUser = SELLER,
        channel: TeamsChannel | None = None,
        team: TeamsTeam = DEFAULT_TEAM,
        title: str = "Submit",
    ) -> dict[str, Any]:
        """The ``adaptiveCard/action`` invoke of an ``Action.Execute`` with ``verb`` and
        ``data`` pressed by ``user`` on the card message ``reply_to_id`` (the bot's latest
        card in that conversation when not given), in the 1:1 chat or in ``channel``."""
        activity = self._base("invoke_adaptive_card_action", user)
        if channel is not None:
            _place_in_channel(activity, team, channel)
        conversation_id = activity["conversation"]["id"]
        if reply_to_id is None:
            reply_to_id = str(self.stand_in.last_message(conversation_id)["id"])
        if channel is not None:
            activity["conversation"]["id"] = thread_conversation_id(channel.id, reply_to_id)
        activity["replyToId"] = reply_to_id
        activity["value"] = {
            "action": {
                "type": "Action.Execute",
                "title": title,
                "verb": verb,
                "data": copy.deepcopy(dict(data or {})),
            },
            "trigger": "manual",
        }
        return self._noted(activity)

    def bot_added_to_team(
        self,
        *,
        by: TeamsUser = SELLER,
        team: TeamsTeam = DEFAULT_TEAM,
        channel: TeamsChannel | None = None,
    ) -> dict[str, Any]:
        """``conversationUpdate`` with the bot in ``membersAdded``: the app was added to
        ``team``, in the ``channel`` picked during installation (its General channel by
        default)."""
        channel = channel or team.channels[0]
        activity = self._base("conversation_update_bot_added_to_team", by, anonymous=True)
        _place_in_channel(activity, team, channel)
        activity["conversation"]["name"] = channel.name
        activity["channelData"].pop("channel", None)
        activity["channelData"]["settings"] = {"selectedChannel": {"id": channel.id}}
        activity["membersAdded"] = [{"id": BOT_ID}]
        return self._noted(activity)

    def bot_added_to_personal_chat(self, user: TeamsUser = SELLER) -> dict[str, Any]:
        """``conversationUpdate`` with the bot and ``user`` in ``membersAdded``: the user
        installed the app for themselves."""
        activity = self._base("conversation_update_bot_added_personal", user, anonymous=True)
        activity["membersAdded"] = [
            {"id": BOT_ID},
            {"id": user.id, "aadObjectId": user.aad_object_id},
        ]
        return self._noted(activity)

    def installation_update(
        self,
        action: Literal["add", "remove", "add-upgrade", "remove-upgrade"] = "add",
        *,
        user: TeamsUser = SELLER,
        team: TeamsTeam | None = None,
        channel: TeamsChannel | None = None,
    ) -> dict[str, Any]:
        """``installationUpdate``: the app was installed (``add``) or uninstalled
        (``remove``) by ``user``, for themselves, or in ``team`` when given."""
        if team is None:
            activity = self._base("installation_update_add_personal", user, anonymous=True)
        else:
            channel = channel or team.channels[0]
            activity = self._base("installation_update_add_team", user, anonymous=True)
            _place_in_channel(activity, team, channel)
            activity["conversation"]["name"] = channel.name
            activity["channelData"]["settings"] = {"selectedChannel": {"id": channel.id}}
        activity["action"] = action
        return self._noted(activity)

    # Internals ------------------------------------------------------------------------------

    def _base(
        self,
        name: str,
        user: TeamsUser,
        *,
        team: TeamsTeam | None = None,
        channel: TeamsChannel | None = None,
        anonymous: bool = False,
    ) -> dict[str, Any]:
        activity = _fixture(name)
        now = self.clock()
        activity["serviceUrl"] = self.stand_in.service_url
        activity["timestamp"] = _iso(now)
        if "localTimestamp" in activity:
            activity["localTimestamp"] = _iso(now)
        if activity["type"] == "message":
            activity["id"] = self.stand_in.new_activity_id()
        else:
            activity["id"] = f"f:{uuid.uuid4()}"
        account = user.account
        if anonymous:  # events carry no display name in ``from``
            account.pop("name")
        activity["from"] = account
        activity["recipient"] = {"id": BOT_ID, "name": BOT_NAME}
        if activity["conversation"].get("conversationType") == "personal":
            activity["conversation"]["id"] = personal_conversation_id(user)
        if team is not None and channel is not None:
            _place_in_channel(activity, team, channel)
        return activity

    def _noted(self, activity: dict[str, Any]) -> dict[str, Any]:
        self.stand_in.note_inbound(activity)
        return activity


def card_of(message: Mapping[str, Any]) -> dict[str, Any]:
    """The Adaptive Card a message carries; LookupError when it has none."""
    for attachment in message.get("attachments") or []:
        if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
            content = attachment.get("content")
            if isinstance(content, dict):
                return copy.deepcopy(content)
    raise LookupError(f"message {message.get('id')} carries no Adaptive Card")


def _place_in_channel(activity: dict[str, Any], team: TeamsTeam, channel: TeamsChannel) -> None:
    activity["conversation"] = {
        "isGroup": True,
        "conversationType": "channel",
        "tenantId": TENANT_ID,
        "id": channel.id,
    }
    data = activity.setdefault("channelData", {})
    data["teamsChannelId"] = channel.id
    data["teamsTeamId"] = team.id
    data["channel"] = {"id": channel.id}
    data["team"] = {"aadGroupId": team.aad_group_id, "name": team.name, "id": team.id}
    data["tenant"] = {"id": TENANT_ID}


def _mention_html(text: str) -> str:
    return (
        '<div><div><span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="0">'
        f"{BOT_NAME}</span>&nbsp;{text}</div></div>"
    )


def _card_attachment(card: Mapping[str, Any]) -> dict[str, Any]:
    return {"contentType": "application/vnd.microsoft.card.adaptive", "content": dict(card)}


def _checked_activity(body: Any) -> dict[str, Any]:
    """An activity the connector accepts, or the 400/413 Teams answers."""
    if not isinstance(body, dict) or not body.get("type"):
        raise _ConnectorError(400, "BadArgument", "Activity type is required.")
    if body["type"] == "message" and not (body.get("text") or body.get("attachments")):
        raise _ConnectorError(400, "BadArgument", "Message must have text or attachments.")
    size = len(json.dumps(body, ensure_ascii=False).encode("utf-16-le"))
    if size > MESSAGE_SIZE_MAX:
        raise _ConnectorError(413, "MessageSizeTooBig", "Message size too large.")
    return body


def _aad_error(error: str, description: str) -> dict[str, Any]:
    return {
        "error": error,
        "error_description": description,
        "error_codes": [int(description.split(":", 1)[0].removeprefix("AADSTS"))],
        "timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
        "trace_id": str(uuid.uuid4()),
        "correlation_id": str(uuid.uuid4()),
    }


def _basic_credentials(headers: Mapping[str, str]) -> tuple[str | None, str | None]:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return None, None
    try:
        decoded = base64.b64decode(value.strip()).decode()
    except ValueError:
        return None, None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _iso(seconds: float) -> str:
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _json_response(body: Any, status: int, headers: Mapping[str, str]) -> Response:
    if body is None:
        return Response(status_code=status, headers=dict(headers))
    return Response(
        json.dumps(body), status_code=status, headers=dict(headers), media_type=_JSON_MEDIA
    )


# Fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def teams_api() -> Iterator[TeamsStandIn]:
    """The Teams stand-in, one server for the whole session (see ``fresh_teams_api``)."""
    with TeamsStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def fresh_teams_api(teams_api: TeamsStandIn) -> TeamsStandIn:
    """The stand-in, reset for this test: no calls, messages, conversations or faults."""
    teams_api.reset()
    return teams_api


@pytest.fixture
def teams_activities(teams_api: TeamsStandIn) -> TeamsActivities:
    """Activity builders whose ``serviceUrl`` and tokens point at the stand-in."""
    return TeamsActivities(teams_api)
