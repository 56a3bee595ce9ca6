"""Posting and replacing cards through the Bot Connector, as the bot.

The SDK's API client raises on any error status and does not retry; the Bot Connector
answers 429 with ``Retry-After`` under load (and 502/504 now and then), so calls here are
retried a few times, waiting as the service asks. The error's response is read by duck
typing: whatever HTTP library the SDK uses underneath, the status and headers are there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from microsoft_teams.api.activities.message.message import MessageActivityInput
from microsoft_teams.api.models.attachment.attachment import Attachment
from microsoft_teams.apps import App

from cards.teams import TeamsCard, attachment

logger = logging.getLogger(__name__)

RETRIED_STATUSES = frozenset({429, 502, 504})
ATTEMPTS = 4
LONGEST_WAIT = 30.0
T = TypeVar("T")


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


class TeamsSender:
    """Cards out through the SDK's API client."""

    def __init__(self, app: App, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self._app = app
        self._sleep = sleep

    async def post(self, address: Address, card: TeamsCard) -> str:
        """Post ``card`` as a new message; its activity id."""
        sent = await self._retrying(
            lambda: self._app.api.conversations.create_activity(
                address.conversation_id, message_input(card), service_url=address.service_url
            )
        )
        return str(sent.id)

    async def replace(self, address: Address, activity_id: str, card: TeamsCard) -> None:
        """Replace the message ``activity_id`` by ``card`` (buttons on the old one are gone)."""
        await self._retrying(
            lambda: self._app.api.conversations.update_activity(
                address.conversation_id,
                activity_id,
                message_input(card),
                service_url=address.service_url,
            )
        )

    async def member(self, address: Address, user_id: str) -> Member:
        """A member of the conversation, by their Teams user id."""
        members = self._app.api.clone(service_url=address.service_url).conversations.members_client
        found = await self._retrying(lambda: members.get_by_id(address.conversation_id, user_id))
        return Member(
            name=found.name,
            given_name=found.given_name,
            surname=found.surname,
            email=found.email or found.user_principal_name,
        )

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


def _throttled(error: BaseException) -> tuple[int | None, float]:
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    headers = getattr(response, "headers", None) or {}
    try:
        wait = float(headers.get("Retry-After", 1))
    except (TypeError, ValueError):
        wait = 1.0
    return status if isinstance(status, int) else None, min(max(wait, 0.0), LONGEST_WAIT)
