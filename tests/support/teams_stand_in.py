"""A local stand-in of the Microsoft endpoints the Teams front end calls, over loopback HTTP.

One server on a background thread answers what the product calls, in the documented shapes:

* **Bot Connector** (the ``serviceUrl`` of every activity, here
  :attr:`TeamsStandIn.service_url`): Send to Conversation and Update Activity (the SDK's
  ``conversations.create_activity`` and ``update_activity``, how cards are posted and
  replaced), Get Conversation Member (``members_client.get_by_id``, the seller's names
  and email) and Create Conversation (``POST /v3/conversations``, the SDK's
  ``conversations.create``: the bot's 1:1 chat with a person, opened to message them
  proactively). Create Conversation holds the body to the shape Bot Framework documents
  for Teams (``bot``, one member, ``isGroup: false``, the tenant in ``tenantId`` and
  ``channelData.tenant.id``; anything else is a 400, maybe stricter than the service itself,
  so a call that strays from the documents fails here) and answers the person's 1:1 chat,
  the one Teams keeps per person and bot, whose activities Send to Conversation then
  accepts; or 403 for someone the app is not installed for
  (:meth:`TeamsStandIn.without_app`). Only the bot's tokens for the Bot Connector are
  accepted: those the identity stand-in issued (:meth:`TeamsStandIn.accept_tokens_from`;
  the fixtures wire it). It records each call (method, path, JSON body, headers, status),
  keeps each conversation's bot messages (an update replaces the whole message in place,
  keeping its id, so :meth:`TeamsStandIn.message` reads its latest version) so a test can
  read back what the bot said, and can fail on demand with Teams' error shape, 429 +
  ``Retry-After`` included (platform notes D8), or refuse a conversation the bot is out of
  (:meth:`TeamsStandIn.close_conversation`).
* **Bot Framework keys** for inbound auth (platform notes D5): the JWKS at the path of
  ``https://login.botframework.com/v1/.well-known/keys``, with an RSA key made for the
  session. The product is configured with :attr:`TeamsStandIn.openid_metadata_url`; the
  Teams SDK derives the keys' URL from it and never fetches the metadata document, so
  only the keys are served. :meth:`TeamsStandIn.mint` signs Bot-Framework-style tokens
  (``iss`` ``https://api.botframework.com``, ``aud`` the app id, ``serviceurl``), or
  expired ones, ones for another audience or signed with an unpublished key.

The bot's own outbound token comes from msal, so from the identity stand-in
(``tests/support/identity_stand_in.py``), which holds the bot's app registration
(:data:`APP_ID` is its ``BOT_CLIENT_ID``) and the tenant (:data:`TENANT_ID` is its ``TENANT``).

Any other request is answered 404 and recorded as :data:`UNKNOWN`, so a call the product
starts making shows up in :meth:`TeamsStandIn.calls`.

:class:`TeamsActivities` builds the activities Teams posts to ``/api/messages`` from the JSON
files in ``tests/fixtures/teams_activities/`` (see the README there): a personal or channel
``message``, the ``adaptiveCard/action`` invoke of an ``Action.Execute``, the
``conversationUpdate`` of the bot added to a team and ``installationUpdate``, each with
``serviceUrl`` pointing here, and :meth:`TeamsActivities.headers` signs them. Those files keep
the bot and tenant ids of Microsoft's documented examples; the builders put the suite's in.

Fixtures: ``teams_api`` (one server for the session, accepting the ``identity`` stand-in's
bot tokens), ``fresh_teams_api`` (the same, reset for this test) and ``teams_activities``
(activity builders bound to it).
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
from typing import Any, Literal

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
from tests.support.identity_stand_in import (
    BOT_CLIENT_ID,
    BOT_FRAMEWORK_SCOPE,
    TENANT,
    IdentityStandIn,
)
from tests.support.loopback import LoopbackStandIn

__all__ = [
    "APP_ID",
    "BOT_ID",
    "CREATE",
    "DEFAULT_TEAM",
    "GET_MEMBER",
    "JWKS",
    "MANAGER",
    "MESSAGE_SIZE_MAX",
    "SELLER",
    "SEND",
    "TENANT_ID",
    "UNKNOWN",
    "UPDATE",
    "Call",
    "TeamsActivities",
    "TeamsChannel",
    "TeamsStandIn",
    "TeamsTeam",
    "TeamsUser",
    "TokenCheck",
    "fresh_teams_api",
    "personal_conversation_id",
    "teams_activities",
    "teams_api",
    "thread_conversation_id",
]

# The app registration ------------------------------------------------------------------------

APP_ID = BOT_CLIENT_ID
"""The bot's Microsoft App ID: the bot's app registration in the identity stand-in, whose
secret is its ``BOT_CLIENT_SECRET``."""
TENANT_ID = TENANT
"""The tenant every activity comes from: the partner's, the identity stand-in's directory
(a single-tenant bot gets its tokens there)."""
DOCUMENTED_APP_ID = "f5d48856-5b42-41a0-8c3a-c5f944b679b0"
DOCUMENTED_TENANT_ID = "b28fdbfd-2b78-4f93-b0f8-8881793f0f8f"
"""The bot and tenant ids of Teams' conversation-events page, which the activity files keep;
the builders replace them with :data:`APP_ID` and :data:`TENANT_ID`."""
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
MESSAGE_SIZE_MAX = 100 * 1024
"""Teams' bot message limit: about 100 KB of UTF-16 ("Format your bot messages")."""
TOKEN_LIFETIME_SECONDS = 3600
JWT_LEEWAY_SECONDS = 300
"""The clock skew the Teams SDK tolerates; ``expired`` tokens are older than that."""

# Operations (the Bot Connector REST API's names, snake_cased) ---------------------------------

SEND = "send_to_conversation"
UPDATE = "update_activity"
GET_MEMBER = "get_conversation_member"
CREATE = "create_conversation"
JWKS = "jwks"
UNKNOWN = "unknown"

DENIED = {"message": "Authorization has been denied for this request."}
"""The connector's 401 body for a missing or unknown bearer token."""
_JSON_MEDIA = "application/json; charset=utf-8"

TokenCheck = Callable[[str, str], tuple[int, str] | None]
"""What an identity provider answers about a bearer token for a scope: ``None`` when valid,
``(status, reason)`` otherwise (``IdentityStandIn.check``)."""


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
"""The one team; every channel activity is in one of its channels."""


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
    text = json.dumps(load_json(f"teams_activities/{name}.json"))
    text = text.replace(DOCUMENTED_APP_ID, APP_ID).replace(DOCUMENTED_TENANT_ID, TENANT_ID)
    loaded = json.loads(text)
    assert isinstance(loaded, dict)
    return loaded


# Recorded calls ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """One request the stand-in answered."""

    operation: str
    """What was asked (:data:`SEND`, :data:`UPDATE`, :data:`GET_MEMBER`, ...)."""
    http_method: str
    path: str
    body: Any
    """The JSON body parsed, ``None`` when empty."""
    headers: dict[str, str]
    """Request headers, names lower-cased."""
    status: int

    @property
    def token(self) -> str | None:
        """The bearer token the call carried."""
        scheme, _, credentials = self.headers.get("authorization", "").partition(" ")
        return credentials.strip() or None if scheme.lower() == "bearer" else None

    @property
    def activity(self) -> dict[str, Any]:
        """The activity the call sent (the body of send and update)."""
        assert isinstance(self.body, dict), f"{self.operation} carried no JSON object"
        return self.body


@dataclass(slots=True)
class _Fault:
    operation: str
    remaining: int
    status: int
    body: Any
    headers: dict[str, str]


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
    """Bot Connector and Bot Framework's keys, in memory, behind a loopback server.

    Use as a context manager (or :meth:`start` / :meth:`stop`). Every method is thread-safe:
    the server answers on its own thread. Keys and the token check live as long as the object
    (a session); :meth:`reset` forgets calls, messages, faults and added users.
    """

    name = "Teams stand-in"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        super().__init__()
        self._signing_key = _SigningKey.generate("Bot Framework (stand-in)")
        self._foreign_key = _SigningKey.generate("someone else")
        self._token_check: TokenCheck | None = None
        conversation = SERVICE_PATH + "v3/conversations/{conversation_id}"
        self.app = Starlette(
            routes=[
                Route(JWKS_PATH, self._jwks, methods=["GET"]),
                Route(SERVICE_PATH + "v3/conversations", self._create, methods=["POST"]),
                Route(conversation + "/activities", self._send, methods=["POST"]),
                Route(conversation + "/activities/{activity_id}", self._update, methods=["PUT"]),
                Route(conversation + "/members/{member_id}", self._member, methods=["GET"]),
                Route(
                    "/{rest:path}",
                    self._unknown,
                    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                ),
            ]
        )
        self.reset()

    # Where the product is pointed -----------------------------------------------------------

    @property
    def service_url(self) -> str:
        """The Bot Connector ``serviceUrl`` of activities: ``http://127.0.0.1:PORT/amer/``."""
        return self.origin + SERVICE_PATH

    @property
    def openid_metadata_url(self) -> str:
        """Bot Framework's OpenID metadata URL here (``TEAMS_OPENID_METADATA_URL``): the SDK
        checks inbound tokens against the keys at :data:`JWKS_PATH` next to it."""
        return self.origin + OPENID_PATH

    @property
    def login_endpoint(self) -> str:
        """Where the product reads inbound Entra-issued tokens' keys (``TEAMS_LOGIN_URL``):
        this server, which publishes none (the suite sends Bot Framework tokens only)."""
        return self.origin

    def accept_tokens_from(self, check: TokenCheck | None) -> None:
        """Accept at the Bot Connector the bearer tokens ``check`` passes for the Bot
        Framework scope (``identity.check``); ``None``: accept none. Kept across
        :meth:`reset`."""
        with self._lock:
            self._token_check = check

    # Test controls --------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget calls, messages and faults; restore the default users. Keys and issued
        tokens stay."""
        with self._lock:
            self._calls: list[Call] = []
            self._messages: dict[str, list[dict[str, Any]]] = {}
            self._faults: list[_Fault] = []
            self._users: dict[str, TeamsUser] = {user.id: user for user in DEFAULT_USERS}
            self._keys_delay = 0.0
            self._last_id = 0
            self._closed: dict[str, int] = {}
            self._without_app: set[str] = set()

    def set_user(self, user: TeamsUser) -> None:
        """Add or replace a member of the tenant (whom Get Conversation Member finds)."""
        with self._lock:
            self._users[user.id] = user

    def without_app(self, user: TeamsUser) -> None:
        """The app is installed neither for ``user`` nor in a team of theirs (until
        :meth:`reset`): Create Conversation with them answers 403, as Teams does."""
        with self._lock:
            self._without_app.add(user.id)

    def fail(
        self,
        operation: str,
        status: int = 500,
        *,
        code: str = "ServiceError",
        message: str = "An error occurred.",
        times: int = 1,
        retry_after: float | None = None,
    ) -> None:
        """Answer the next ``times`` calls of the connector's ``operation`` with ``status``
        and Teams' error body ``{"error": {"code", "message"}}``, with ``Retry-After`` if
        given."""
        if times < 1:
            raise ValueError("times must be at least 1")
        body = {"error": {"code": code, "message": message}}
        headers = {} if retry_after is None else {"Retry-After": _seconds(retry_after)}
        with self._lock:
            self._faults.append(_Fault(operation, times, status, body, headers))

    def close_conversation(self, conversation_id: str, status: Literal[403, 404] = 403) -> None:
        """From now on (until :meth:`reset`), refuse every post to the conversation (its
        threads too) and every update of a message in it, as the Bot Connector does once the
        bot is out of it: 403
        ``BotNotInConversationRoster`` (the bot was removed from the team) or 404
        ``ConversationNotFound`` (the channel or team was deleted)."""
        with self._lock:
            self._closed[base_conversation_id(conversation_id)] = status

    def rate_limit(self, operation: str = SEND, times: int = 1, retry_after: float = 1) -> None:
        """Answer the next ``times`` calls of ``operation`` with 429 ``Throttled`` and
        ``Retry-After``, as Teams does past its per-conversation limits."""
        self.fail(
            operation,
            429,
            code="Throttled",
            message="Too many requests.",
            times=times,
            retry_after=retry_after,
        )

    def delay_keys(self, seconds: float) -> None:
        """Answer the keys (:data:`JWKS`) only after ``seconds``: a slow keys endpoint."""
        with self._lock:
            self._keys_delay = seconds

    # Inbound tokens -------------------------------------------------------------------------

    def mint(
        self,
        *,
        service_url: str | None = None,
        audience: str = APP_ID,
        expired: bool = False,
        wrong_key: bool = False,
        issuer: str = BOT_FRAMEWORK_ISSUER,
        kid: str | None = None,
    ) -> str:
        """A token as Bot Framework signs for the bot's messaging endpoint: ``iss``
        :data:`BOT_FRAMEWORK_ISSUER`, ``aud`` ``audience``, ``serviceurl`` ``service_url``
        (default :attr:`service_url`), valid for an hour, signed RS256 with the published
        key. ``expired`` ends it past the SDK's 5-minute leeway; ``wrong_key`` signs with an
        unpublished key under the published ``kid``; ``issuer`` and ``kid`` forge those."""
        now = int(time.time())
        not_before = now - TOKEN_LIFETIME_SECONDS - JWT_LEEWAY_SECONDS - 60 if expired else now
        payload = {
            "serviceurl": service_url or self.service_url,
            "nbf": not_before,
            "exp": not_before + TOKEN_LIFETIME_SECONDS,
            "iss": issuer,
            "aud": audience,
        }
        key = self._foreign_key if wrong_key else self._signing_key
        key_id = kid or self._signing_key.kid
        headers = {"kid": key_id, "x5t": key_id}
        return jwt.encode(payload, key.private_key, algorithm="RS256", headers=headers)

    # Reading back ---------------------------------------------------------------------------

    def calls(self, operation: str | None = None) -> list[Call]:
        """Every call so far (of ``operation`` only, if given), oldest first."""
        with self._lock:
            return [call for call in self._calls if operation in (None, call.operation)]

    def messages_in(self, conversation_id: str) -> list[dict[str, Any]]:
        """The bot's messages in a conversation as they stand now (updates applied), oldest
        first; thread posts count in their channel."""
        with self._lock:
            return copy.deepcopy(self._messages.get(base_conversation_id(conversation_id), []))

    def last_message(self, conversation_id: str) -> dict[str, Any]:
        """The bot's latest message in the conversation; LookupError when there is none."""
        messages = self.messages_in(conversation_id)
        if not messages:
            raise LookupError(f"the bot said nothing in {conversation_id}")
        return messages[-1]

    def message(self, activity_id: str) -> dict[str, Any]:
        """A bot message as it stands now, by activity id; LookupError when unknown."""
        with self._lock:
            for messages in self._messages.values():
                for message in messages:
                    if message["id"] == activity_id:
                        return copy.deepcopy(message)
        raise LookupError(f"no bot message {activity_id}")

    def new_activity_id(self) -> str:
        """A fresh Teams message id, unique among every id this stand-in hands out."""
        with self._lock:
            return self._next_id()

    # HTTP: Bot Framework keys ---------------------------------------------------------------

    async def _jwks(self, request: Request) -> Response:
        with self._lock:
            delay = self._keys_delay
        if delay:
            await asyncio.sleep(delay)
        return await self._serve(request, JWKS, lambda: (200, {"keys": [self._signing_key.jwk]}))

    async def _unknown(self, request: Request) -> Response:
        body = {"error": {"code": "BadArgument", "message": f"Unknown route {request.url.path}"}}
        return await self._serve(request, UNKNOWN, lambda: (404, body))

    # HTTP: the Bot Connector ------------------------------------------------------------------

    async def _send(self, request: Request) -> Response:
        conversation_id = request.path_params["conversation_id"]

        def answer(body: Any) -> tuple[int, Any]:
            self._refuse_if_closed(conversation_id)
            return 201, {"id": self._post(conversation_id, _checked_activity(body))}

        return await self._connector(request, SEND, answer)

    async def _update(self, request: Request) -> Response:
        conversation_id = request.path_params["conversation_id"]
        activity_id = request.path_params["activity_id"]

        def answer(body: Any) -> tuple[int, Any]:
            self._refuse_if_closed(conversation_id)
            message = self._find_own(conversation_id, activity_id)
            updated = {  # the new activity replaces the whole message
                **_checked_activity(body),
                "id": activity_id,
                "timestamp": message["timestamp"],
                "conversation": message["conversation"],
                "from": message["from"],
            }
            message.clear()
            message.update(copy.deepcopy(updated))
            return 200, {"id": activity_id}

        return await self._connector(request, UPDATE, answer)

    async def _create(self, request: Request) -> Response:
        def answer(body: Any) -> tuple[int, Any]:
            user = self._user_by_id(_checked_personal_chat(body))
            if user is None:
                said = "Invalid user identity in provided tenant."
                raise _ConnectorError(400, "BadArgument", said)
            if user.id in self._without_app:
                said = "The bot is not part of the conversation roster."
                raise _ConnectorError(403, "BotNotInConversationRoster", said)
            # One 1:1 chat per person and bot: Teams answers the one they have, if any.
            conversation_id = personal_conversation_id(user)
            created: dict[str, Any] = {"id": conversation_id}
            if body.get("activity") is not None:
                created["activityId"] = self._post(
                    conversation_id, _checked_activity(body["activity"])
                )
            return 201, created

        return await self._connector(request, CREATE, answer)

    def _user_by_id(self, user_id: str) -> TeamsUser | None:
        """The member whose Teams id or Entra object id is ``user_id`` (the lock is held)."""
        return self._users.get(user_id) or next(
            (
                each
                for each in self._users.values()
                if each.aad_object_id.lower() == user_id.lower()
            ),
            None,
        )

    async def _member(self, request: Request) -> Response:
        base = base_conversation_id(request.path_params["conversation_id"])
        member_id = request.path_params["member_id"]

        def answer(body: Any) -> tuple[int, Any]:
            # A 1:1 chat has its one person; a channel, everyone in the tenant. Teams finds a
            # member by Teams id, Entra object id or user principal name.
            user = self._users.get(member_id) or next(
                (
                    each
                    for each in self._users.values()
                    if member_id.lower() in (each.aad_object_id.lower(), each.email.lower())
                ),
                None,
            )
            if user is None or (base.startswith("a:") and personal_conversation_id(user) != base):
                raise _ConnectorError(
                    404,
                    "MemberNotFoundInConversation",
                    "The member was not found in the conversation.",
                )
            return 200, user.member

        return await self._connector(request, GET_MEMBER, answer)

    # Plumbing -------------------------------------------------------------------------------

    async def _serve(
        self,
        request: Request,
        operation: str,
        answer: Callable[[], tuple[int, Any]],
        *,
        body: Any = None,
    ) -> Response:
        """Answer a request outside the connector with ``answer``; record the call."""
        headers = _lower(request.headers)
        with self._lock:
            status, response = answer()
            self._calls.append(
                Call(operation, request.method, request.url.path, body, headers, status)
            )
        return _json_response(response, status, {})

    async def _connector(
        self, request: Request, operation: str, answer: Callable[[Any], tuple[int, Any]]
    ) -> Response:
        """A Bot Connector call: bearer check, faults, then ``answer``; record the call."""
        headers = _lower(request.headers)
        raw = await request.body()
        body = json.loads(raw) if raw else None
        extra: dict[str, str] = {}
        response: Any
        with self._lock:
            if not self._authorized(headers):
                status, response = 401, dict(DENIED)
            elif (fault := self._take_fault(operation)) is not None:
                status, response, extra = fault.status, copy.deepcopy(fault.body), fault.headers
            else:
                try:
                    status, response = answer(body)
                except _ConnectorError as error:
                    status, response = error.status, error.body
            self._calls.append(
                Call(operation, request.method, request.url.path, body, headers, status)
            )
        return _json_response(response, status, extra)

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or self._token_check is None:
            return False
        return self._token_check(token.strip(), BOT_FRAMEWORK_SCOPE) is None

    def _take_fault(self, operation: str) -> _Fault | None:
        for fault in self._faults:
            if fault.operation == operation:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _refuse_if_closed(self, conversation_id: str) -> None:
        """The Bot Connector's answer to a post or an update in a conversation the bot is out
        of (:meth:`close_conversation`); the lock is held."""
        closed = self._closed.get(base_conversation_id(conversation_id))
        if closed == 403:
            said = "The bot is not part of the conversation roster."
            raise _ConnectorError(403, "BotNotInConversationRoster", said)
        if closed is not None:
            raise _ConnectorError(closed, "ConversationNotFound", "Conversation not found.")

    def _post(self, conversation_id: str, activity: dict[str, Any]) -> str:
        """Store a bot message (the lock is held); returns its new activity id."""
        activity_id = self._next_id()
        message = {
            **copy.deepcopy(activity),
            "id": activity_id,
            "timestamp": _iso(time.time()),
            "conversation": {"id": conversation_id},
            "from": activity.get("from") or {"id": BOT_ID, "name": BOT_NAME},
        }
        self._messages.setdefault(base_conversation_id(conversation_id), []).append(message)
        return activity_id

    def _next_id(self) -> str:
        """A Teams message id: the epoch milliseconds, strictly increasing."""
        self._last_id = max(self._last_id + 1, int(time.time() * 1000))
        return str(self._last_id)

    def _find_own(self, conversation_id: str, activity_id: str) -> dict[str, Any]:
        for message in self._messages.get(base_conversation_id(conversation_id), []):
            if message["id"] == activity_id:
                return message
        raise _ConnectorError(
            404, "ActivityNotFoundInConversation", "Conversation not found."
        )  # fmt: skip


# Activities Teams sends ----------------------------------------------------------------------


class TeamsActivities:
    """Activities as Teams posts them to the bot's messaging endpoint, from the documented
    payloads in ``tests/fixtures/teams_activities/``, with ``serviceUrl`` at the stand-in.

    Each builder returns the activity as a dict (post it as JSON); :meth:`headers` gives the
    signed headers. Of the stand-in it only asks :attr:`~TeamsStandIn.service_url`,
    :meth:`~TeamsStandIn.new_activity_id`, :meth:`~TeamsStandIn.mint` and (for a card
    action with no ``reply_to_id``) :meth:`~TeamsStandIn.last_message`.
    """

    def __init__(self, stand_in: TeamsStandIn) -> None:
        self.stand_in = stand_in

    def headers(self, activity: Mapping[str, Any], **knobs: Any) -> dict[str, str]:
        """``Authorization`` (a token from :meth:`TeamsStandIn.mint`, its ``serviceurl`` the
        activity's) and ``Content-Type``; ``knobs`` go to ``mint`` to forge a bad token."""
        token = self.stand_in.mint(service_url=activity.get("serviceUrl"), **knobs)
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    # Builders -------------------------------------------------------------------------------

    def message(
        self,
        text: str,
        *,
        user: TeamsUser = SELLER,
        channel: TeamsChannel | None = None,
        value: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A message from ``user``: in the 1:1 chat by default; with ``channel`` (of
        :data:`DEFAULT_TEAM`), a new post in that channel mentioning the bot, whose ``text``
        starts with ``<at>Referral Bot</at>`` as Teams sends it. ``value`` is what an
        ``Action.Submit`` in a card sends (a message with no text)."""
        if channel is None:
            activity = self._base("message_personal", user)
            activity["text"] = text
        else:
            activity = self._base("message_channel", user)
            _place_in_channel(activity, channel)
            activity["text"] = f"<at>{BOT_NAME}</at> {text}".strip()
            activity["attachments"][0]["content"] = _mention_html(text)
            activity["conversation"]["id"] = thread_conversation_id(channel.id, activity["id"])
        if value is not None:
            activity["value"] = copy.deepcopy(dict(value))
            activity.pop("text", None)
        return activity

    def card_action(
        self,
        verb: str,
        data: Mapping[str, Any] | None = None,
        *,
        reply_to_id: str | None = None,
        user: TeamsUser = SELLER,
        channel: TeamsChannel | None = None,
    ) -> dict[str, Any]:
        """The ``adaptiveCard/action`` invoke of an ``Action.Execute`` with ``verb`` and
        ``data`` pressed by ``user`` on the card message ``reply_to_id`` (the bot's latest
        message in that conversation when not given), in the 1:1 chat or in ``channel``."""
        activity = self._base("invoke_adaptive_card_action", user)
        if channel is not None:
            _place_in_channel(activity, channel)
        if reply_to_id is None:
            reply_to_id = str(self.stand_in.last_message(activity["conversation"]["id"])["id"])
        if channel is not None:
            activity["conversation"]["id"] = thread_conversation_id(channel.id, reply_to_id)
        activity["replyToId"] = reply_to_id
        activity["value"] = {
            "action": {
                "type": "Action.Execute",
                "title": "Submit",
                "verb": verb,
                "data": copy.deepcopy(dict(data or {})),
            },
            "trigger": "manual",
        }
        return activity

    def bot_added_to_team(self) -> dict[str, Any]:
        """``conversationUpdate`` with the bot in ``membersAdded``: the seller added the app
        to :data:`DEFAULT_TEAM`, in its General channel."""
        channel = DEFAULT_TEAM.channels[0]
        activity = self._base("conversation_update_bot_added_to_team", SELLER, anonymous=True)
        _place_in_channel(activity, channel)
        activity["conversation"]["name"] = channel.name
        activity["channelData"].pop("channel", None)
        activity["channelData"]["settings"] = {"selectedChannel": {"id": channel.id}}
        activity["membersAdded"] = [{"id": BOT_ID}]
        return activity

    def installation_update(self, action: Literal["add", "remove"] = "add") -> dict[str, Any]:
        """``installationUpdate``: the seller installed (``add``) or uninstalled (``remove``)
        the app for themselves."""
        activity = self._base("installation_update_add_personal", SELLER, anonymous=True)
        activity["action"] = action
        return activity

    def _base(self, name: str, user: TeamsUser, *, anonymous: bool = False) -> dict[str, Any]:
        activity = _fixture(name)
        now = time.time()
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
        return activity


def _place_in_channel(activity: dict[str, Any], channel: TeamsChannel) -> None:
    team = DEFAULT_TEAM
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


def _checked_personal_chat(body: Any) -> str:
    """The member of a Create Conversation body for a 1:1 chat, in the shape Bot Framework
    documents for Teams, or the 400 Teams answers: the bot (``28:<app id>``), one member by
    Teams id or Entra object id, ``isGroup`` false (a bot creates no group chat), the tenant
    in ``tenantId`` and in ``channelData.tenant.id``."""

    def refuse(message: str) -> _ConnectorError:
        return _ConnectorError(400, "BadArgument", message)

    if not isinstance(body, dict):
        raise refuse("A conversation's parameters are required.")
    bot = body.get("bot")
    if not isinstance(bot, dict) or bot.get("id") != BOT_ID:
        raise refuse(f"bot.id must be the bot's id, 28:<app id>; got {bot!r}.")
    if body.get("isGroup") is not False:
        raise refuse("isGroup must be false: a bot can only create a 1:1 chat.")
    members = body.get("members")
    if (
        not isinstance(members, list)
        or len(members) != 1
        or not isinstance(members[0], dict)
        or not isinstance(members[0].get("id"), str)
        or not members[0]["id"]
    ):
        raise refuse(f"members must name exactly one user by id; got {members!r}.")
    tenant = (body.get("channelData") or {}).get("tenant") or {}
    if body.get("tenantId") != TENANT_ID or tenant.get("id") != TENANT_ID:
        raise refuse("tenantId and channelData.tenant.id must both name the user's tenant.")
    member_id: str = members[0]["id"]
    return member_id


def _checked_activity(body: Any) -> dict[str, Any]:
    """A message the connector accepts, or the 400/413 Teams answers."""
    if not isinstance(body, dict) or not body.get("type"):
        raise _ConnectorError(400, "BadArgument", "Activity type is required.")
    if body["type"] == "message" and not (body.get("text") or body.get("attachments")):
        raise _ConnectorError(400, "BadArgument", "Message must have text or attachments.")
    size = len(json.dumps(body, ensure_ascii=False).encode("utf-16-le"))
    if size > MESSAGE_SIZE_MAX:
        raise _ConnectorError(413, "MessageSizeTooBig", "Message size too large.")
    return body


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _iso(seconds: float) -> str:
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _json_response(body: Any, status: int, headers: Mapping[str, str]) -> Response:
    return Response(
        json.dumps(body), status_code=status, headers=dict(headers), media_type=_JSON_MEDIA
    )


# Fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def teams_api(identity: IdentityStandIn) -> Iterator[TeamsStandIn]:
    """The Teams stand-in, one server for the whole session (see ``fresh_teams_api``); its
    Bot Connector accepts the bot tokens the identity stand-in issued."""
    with TeamsStandIn() as stand_in:
        stand_in.accept_tokens_from(identity.check)
        yield stand_in


@pytest.fixture
def fresh_teams_api(teams_api: TeamsStandIn) -> TeamsStandIn:
    """The stand-in, reset for this test: no calls, messages, faults or added users."""
    teams_api.reset()
    return teams_api


@pytest.fixture
def teams_activities(teams_api: TeamsStandIn) -> TeamsActivities:
    """Activity builders whose ``serviceUrl`` and tokens point at the stand-in."""
    return TeamsActivities(teams_api)
