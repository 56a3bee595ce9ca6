"""Posting and replacing cards through the Bot Connector, as the bot.

The SDK's API client raises on any error status and does not retry; the Bot Connector
answers 429 with ``Retry-After`` under load (and 502/504 now and then), so calls here are
retried a few times, waiting as the service asks. The error's response is read by duck
typing: whatever HTTP library the SDK uses underneath, the status and headers are there.

Every call carries the bot's Bot Connector token to the conversation's ``serviceUrl``, so the
URL is checked first against the hosts of Teams' clouds (``TEAMS_SERVICE_URL_HOSTS``): a
reference naming any other host is refused before a token goes out
(:func:`service_url_allowed`, which the web process also applies to every activity).

A person who never talked to the bot has no chat with it yet: :meth:`TeamsSender.open_chat`
asks the Bot Connector for one (Create Conversation, ``POST {serviceUrl}/v3/conversations``
with the bot, the person and the tenant; Teams answers the existing 1:1 chat when there is
one), the way Bot Framework documents proactive messages to a user.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from microsoft_teams.api.activities.message.message import MessageActivityInput
from microsoft_teams.api.clients.conversation import CreateConversationParams
from microsoft_teams.api.models import Account, ConversationAccount, ConversationReference
from microsoft_teams.api.models.attachment.attachment import Attachment
from microsoft_teams.apps import App

from cards.teams import TeamsCard, attachment

logger = logging.getLogger(__name__)

RETRIED_STATUSES = frozenset({429, 502, 504})
ATTEMPTS = 4
LONGEST_WAIT = 30.0
T = TypeVar("T")


class UnknownServiceUrl(RuntimeError):
    """A ``serviceUrl`` outside the Bot Framework hosts: nothing is sent there."""


def service_url_allowed(url: object, hosts: Collection[str]) -> bool:
    """Whether ``url`` is a Bot Connector of ``hosts`` (``host`` or ``host:port`` each).

    HTTPS only, but for a loopback host (a local stand-in); no user info; the host compared
    exactly, case-insensitively, and the port too when the entry names one.
    """
    if not isinstance(url, str) or not url:
        return False
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return False
    if not host or parts.username is not None or parts.password is not None:
        return False
    if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(host)):
        return False
    port = port or (443 if parts.scheme == "https" else 80)
    for entry in hosts:
        try:
            allowed = urlsplit(f"//{entry.strip()}")
            allowed_host, allowed_port = allowed.hostname, allowed.port
        except ValueError:
            continue
        if allowed_host == host and allowed_port in (None, port):
            return True
    return False


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Address:
    """Where a conversation is: the Bot Connector serving it, and its id."""

    service_url: str
    conversation_id: str

    @classmethod
    def of(cls, reference: Mapping[str, Any]) -> Address:
        """The address in a stored conversation reference (camelCase, as the SDK dumps it)."""
        return cls(reference["serviceUrl"], reference["conversation"]["id"])


@dataclass(frozen=True, slots=True)
class Member:
    """What the Bot Connector says of a member: names and email, as far as it knows them."""

    name: str | None
    given_name: str | None
    surname: str | None
    email: str | None
    id: str | None = None
    """Their Teams user id (``29:...``)."""
    aad_object_id: str | None = None
    """Their Entra object id."""


class PersonalChat(CreateConversationParams):
    """Create Conversation's body for a 1:1 chat, as Bot Framework documents it: the SDK's
    parameters (``members``, ``tenantId``, ``channelData``) with ``bot`` and ``isGroup``."""

    bot: Account
    is_group: bool = False


class TeamsSender:
    """Cards out through the SDK's API client."""

    def __init__(
        self,
        app: App,
        service_hosts: Collection[str],
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self._app = app
        self._hosts = tuple(service_hosts)
        self._sleep = sleep

    async def post(self, address: Address, card: TeamsCard) -> str:
        """Post ``card`` as a new message; its activity id."""
        self._check(address)
        sent = await self._retrying(
            lambda: self._app.api.conversations.create_activity(
                address.conversation_id, message_input(card), service_url=address.service_url
            )
        )
        return str(sent.id)

    async def replace(self, address: Address, activity_id: str, card: TeamsCard) -> None:
        """Replace the message ``activity_id`` by ``card`` (buttons on the old one are gone)."""
        self._check(address)
        await self._retrying(
            lambda: self._app.api.conversations.update_activity(
                address.conversation_id,
                activity_id,
                message_input(card),
                service_url=address.service_url,
            )
        )

    async def member(self, address: Address, user_id: str) -> Member:
        """A member of the conversation, by their Teams user id (or Entra object id, or user
        principal name: the Bot Connector takes any of them in Teams)."""
        self._check(address)
        members = self._app.api.clone(service_url=address.service_url).conversations.members_client
        found = await self._retrying(lambda: members.get_by_id(address.conversation_id, user_id))
        return Member(
            name=found.name,
            given_name=found.given_name,
            surname=found.surname,
            email=found.email or found.user_principal_name,
            id=found.id,
            aad_object_id=found.aad_object_id,
        )

    def allows(self, service_url: object) -> bool:
        """Whether ``service_url`` is a Bot Connector the bot's token may go to."""
        return service_url_allowed(service_url, self._hosts)

    async def open_chat(self, service_url: str, tenant_id: str, user_id: str) -> dict[str, Any]:
        """The conversation reference of the bot's 1:1 chat with ``user_id`` (their Teams id or
        Entra object id) in ``tenant_id``, created at ``service_url`` (Teams answers the chat
        they have already, if any). The app must be installed for them, or in a team of
        theirs: else the Bot Connector answers 403, raised as the SDK's error."""
        self._check(Address(service_url, ""))
        bot = Account(id=f"28:{self._app.id}")
        params = PersonalChat(
            bot=bot,
            members=[Account(id=user_id)],
            tenant_id=tenant_id,
            channel_data={"tenant": {"id": tenant_id}},
        )
        conversations = self._app.api.clone(service_url=service_url).conversations
        created = await self._retrying(lambda: conversations.create(params))
        reference = ConversationReference(
            bot=bot,
            user=Account(id=user_id),
            conversation=ConversationAccount(
                id=created.id, conversation_type="personal", tenant_id=tenant_id, is_group=False
            ),
            channel_id="msteams",
            service_url=service_url,
        )
        dumped: dict[str, Any] = reference.model_dump(by_alias=True, exclude_none=True)
        return dumped

    def _check(self, address: Address) -> None:
        if not service_url_allowed(address.service_url, self._hosts):
            logger.error(
                "refused to send to %r: not a Bot Framework host (TEAMS_SERVICE_URL_HOSTS)",
                address.service_url,
            )
            raise UnknownServiceUrl(f"{address.service_url!r} is not in TEAMS_SERVICE_URL_HOSTS")

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await call()
            except Exception as error:
                status, wait = _throttled(error)
                if status not in RETRIED_STATUSES or attempt == ATTEMPTS:
                    raise
                logger.warning("Bot Connector answered %s; retrying in %.1f s", status, wait)
                await self._sleep(wait)
        raise AssertionError("unreachable")


def message_input(card: TeamsCard) -> MessageActivityInput:
    """The message activity that carries ``card``."""
    made = attachment(card)
    return MessageActivityInput(
        summary=card.text,
        attachments=[Attachment(content_type=made["contentType"], content=made["content"])],
    )


def status_of(error: BaseException) -> int | None:
    """The HTTP status of the SDK's error (by duck typing, as :func:`_throttled`), if any."""
    return _throttled(error)[0]


def _throttled(error: BaseException) -> tuple[int | None, float]:
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    headers = getattr(response, "headers", None) or {}
    try:
        wait = float(headers.get("Retry-After", 1))
    except (TypeError, ValueError):
        wait = 1.0
    return status if isinstance(status, int) else None, min(max(wait, 0.0), LONGEST_WAIT)
