"""Views out to Slack, for the shared turn pipeline (:class:`~bot.conversation.Replier`).

Every reply goes to the DM with the bot, whatever channel the command was typed in, so a
draft reads as one conversation. A clicked card is rewritten through the click's
``response_url``, which Slack does not count against the Web API's rate tiers (``chat.update``
allows about 50 calls a minute per workspace): a click costs one ``chat.postMessage``, for the
next card, and no ``chat.update``. Cards answered by typing are rewritten with ``chat.update``.

Who ``APPROVERS`` names is a user id or a user group (:meth:`SlackReplier.named_by`); a group's
members are remembered for five minutes (:mod:`handlers.slack.groups`).
"""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.conversation import CardRef, Home, Seller, Turn, View
from bot.notifications.channels import Channel
from cards.slack import SlackMessage, answered, home, message
from cards.words import GUESTS_REFUSED
from handlers.slack.channels import SlackChannelPoster
from handlers.slack.groups import UserGroups, is_group_id
from handlers.slack.inputs import PLATFORM, TYPED_IN, TYPED_IN_NAME, seller_of, team_of
from handlers.slack.people import People

logger = logging.getLogger(__name__)


class ResponseUrlRefused(RuntimeError):
    """Slack refused a post to a ``response_url`` (used up, expired, or not found)."""


class SlackReplier:
    """Posts and rewrites cards through the Web API and the clicks' ``response_url``s."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        people: People | None = None,
        groups: UserGroups | None = None,
        session: aiohttp.ClientSession | None = None,
        allow_guests: bool = False,
    ) -> None:
        self._client = client
        self._people = people or People()
        self._groups = groups or UserGroups()
        self._session = session
        self._allow_guests = allow_guests
        self._channels = SlackChannelPoster(client)

    async def post(self, turn: Turn, view: View) -> CardRef:
        """Post ``view`` in the turn's channel (the DM with the seller unless it came from one)."""
        card = message(view)
        channel = turn.address.get("channel") or await self._people.dm(
            self._client, turn.seller.user_id
        )
        posted = await self._client.chat_postMessage(
            channel=channel, text=card.text, blocks=card.blocks
        )
        return CardRef(str(posted["channel"]), str(posted["ts"]))

    async def replace(self, turn: Turn, card: CardRef, view: View) -> None:
        """Show ``view`` in place of ``card``."""
        await self._rewrite(turn, card, message(view))

    async def record(self, turn: Turn, card: CardRef, answer: str) -> None:
        """Rewrite ``card`` as its question and ``✓ answer``, with nothing left to click."""
        await self._rewrite(turn, card, answered(card.question or "", answer))

    async def profile(self, turn: Turn) -> Seller:
        """The seller's names and email from ``users.info`` (remembered for an hour)."""
        user = await self._people.profile(self._client, turn.seller.user_id)
        return seller_of({"id": turn.seller.user_id, **user})

    async def admits(self, turn: Turn) -> str | None:
        """Guests (``is_restricted``, ``is_ultra_restricted``) are refused unless
        ``ALLOW_GUESTS``; the profile is the one :meth:`profile` remembers for an hour."""
        if self._allow_guests:
            return None
        user = await self._people.profile(self._client, turn.seller.user_id)
        if user.get("is_restricted") or user.get("is_ultra_restricted"):
            logger.warning(
                "slack turn of guest %s refused (ALLOW_GUESTS is off)", turn.seller.user_id
            )
            return GUESTS_REFUSED
        return None

    async def home(self, turn: Turn, view: Home) -> None:
        """Publish the seller's App Home tab."""
        await self._client.views_publish(user_id=turn.seller.user_id, view=home(view))

    def channel(self, turn: Turn) -> Channel | None:
        """The channel a slash command was typed in; None for a direct message."""
        channel_id = turn.address.get(TYPED_IN)
        name = turn.address.get(TYPED_IN_NAME) or ""
        if not channel_id or channel_id.startswith("D") or name == "directmessage":
            return None
        if name.startswith("mpdm-"):
            return None  # a group DM is no channel to subscribe
        return Channel(platform=PLATFORM, workspace=team_of(turn), id=channel_id, name=name or None)

    async def post_to_channel(self, channel: Channel, view: View) -> str:
        """Post ``view`` in ``channel``; the message's ``ts`` (see :class:`SlackChannelPoster`)."""
        return await self._channels.post_to_channel(channel, view)

    async def update_in_channel(self, channel: Channel, message_id: str, view: View) -> None:
        """Rewrite the bot's message ``message_id`` (its ``ts``) in ``channel`` as ``view``."""
        await self._channels.update_in_channel(channel, message_id, view)

    async def post_in_thread(self, channel: Channel, message_id: str, view: View) -> str:
        """Reply with ``view`` in the thread of the bot's message ``message_id`` in
        ``channel`` (a reminder under an incoming referral's card)."""
        return await self._channels.post_in_thread(channel, message_id, view)

    async def person(self, channel: Channel, email: str) -> Seller | None:
        """The member of the workspace whose profile has ``email`` (``users.lookupByEmail``),
        or None when nobody has it; remembered for an hour, as profiles are."""
        user = await self._people.by_email(self._client, email)
        return seller_of(user) if user is not None else None

    async def reach(self, turn: Turn, via: Channel | None) -> Turn | None:
        """``turn`` as it is: :meth:`post` opens a DM with anyone of the workspace
        (``conversations.open``)."""
        return turn

    async def named_by(self, turn: Turn, names: frozenset[str]) -> bool:
        """Whether ``names`` holds the person's user id (``U...``, ``W...``), or the id of a
        user group (``S...``) they are a member of. Their own id is checked first: only
        when it is not there are the groups listed (each remembered for five minutes)."""
        user = turn.seller.user_id
        if user in names:
            return True
        for group in sorted(filter(is_group_id, names)):
            if user in await self._groups.members(self._client, group):
                return True
        return False

    async def _rewrite(self, turn: Turn, card: CardRef, made: SlackMessage) -> None:
        url = turn.address.get("response_url")
        clicked = turn.card is not None and turn.card.message_id == card.message_id
        if clicked and url:
            # The click's own card: through its response_url, outside the rate tiers.
            webhook = AsyncWebhookClient(url, session=self._session)
            sent = await webhook.send(text=made.text, blocks=made.blocks, replace_original=True)
            if sent.status_code != 200:
                raise ResponseUrlRefused(f"response_url answered {sent.status_code}: {sent.body}")
            return
        await self._client.chat_update(
            channel=card.channel, ts=card.message_id, text=made.text, blocks=made.blocks
        )
