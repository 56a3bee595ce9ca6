"""Views out to Teams, for the shared turn pipeline (:class:`~bot.conversation.Replier`).

Cards are posted and replaced through the Bot Connector named in the turn's conversation
reference. Every card says whose draft it belongs to, so a click by someone else in a channel
is answered without touching it (see :mod:`handlers.teams.listeners`). The reference is kept
for proactive messages the first time this process replies in a conversation, and again
once a day while it does (each save refreshes the reference's TTL); a 1:1 chat's is also kept
by whose it is, so the bot finds that chat again to tell them something (:meth:`reach`).

Who ``APPROVERS`` names is an Entra object id or an email (:meth:`TeamsReplier.named_by`).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict

from bot.conversation import CardRef, Home, Seller, Turn, View
from bot.notifications.channels import Channel
from bot.references import ReferenceBook
from cards.teams import TeamsCard, answered, card, home, owned
from handlers.teams import turns
from handlers.teams.channels import TeamsChannelPoster
from handlers.teams.sender import Address, TeamsSender, status_of

logger = logging.getLogger(__name__)

UNREACHABLE_STATUSES = frozenset({403, 404})
"""The Bot Connector's answers to opening a 1:1 chat that no retry changes: 403 (the app is
installed neither for them nor in a team of theirs, or they blocked the bot), 404."""

KNOWN_CONVERSATIONS = 10_000
"""Conversations whose reference this process saved already (bounded, oldest forgotten)."""
RESAVE_SECONDS = 24 * 3600
"""A reference this process saved is saved again (its TTL refreshed) after this long."""


class TeamsReplier:
    """Posts and replaces Adaptive Cards in the turn's conversation."""

    def __init__(self, sender: TeamsSender, references: ReferenceBook) -> None:
        self._sender = sender
        self._references = references
        self._known: OrderedDict[str, float] = OrderedDict()
        self._channels = TeamsChannelPoster(sender)

    async def post(self, turn: Turn, view: View) -> CardRef:
        """Post ``view`` as a new card in the turn's conversation."""
        address = turns.address(turn)
        await self._keep_reference(turn)
        message_id = await self._sender.post(address, self._card(turn, card(view)))
        return CardRef(address.conversation_id, message_id)

    async def replace(self, turn: Turn, card_at: CardRef, view: View) -> None:
        """Show ``view`` in place of the card ``card_at``."""
        await self._sender.replace(
            turns.address(turn), card_at.message_id, self._card(turn, card(view))
        )

    async def record(self, turn: Turn, card_at: CardRef, answer: str) -> None:
        """Rewrite ``card_at`` as its question and ``✓ answer``, with nothing left to click."""
        made = answered(card_at.question or "", answer)
        await self._sender.replace(turns.address(turn), card_at.message_id, made)

    async def profile(self, turn: Turn) -> Seller:
        """The seller's names and email from the Bot Connector's member API."""
        member = await self._sender.member(turns.address(turn), str(turn.address["user"]))
        return turns.seller_with(turn.seller, member)

    async def home(self, turn: Turn, view: Home) -> None:
        """Post the seller's home card."""
        await self._sender.post(turns.address(turn), self._card(turn, home(view)))

    async def admits(self, turn: Turn) -> str | None:
        """Everyone who reaches a worker may be served (tenants are checked on arrival)."""
        return None

    def channel(self, turn: Turn) -> Channel | None:
        """The team channel the turn came from (posts go to the channel, not the thread it
        was typed in); None for a 1:1 or group chat."""
        reference = dict(turn.address["reference"])
        conversation = dict(reference.get("conversation") or {})
        if conversation.get("conversationType") != "channel":
            return None
        channel_id = str(conversation["id"]).split(";messageid=", 1)[0]
        reference["conversation"] = {**conversation, "id": channel_id}
        return Channel(
            platform=turns.PLATFORM,
            workspace=turns.tenant_of(turn),
            id=channel_id,
            name=conversation.get("name"),
            reference=reference,
        )

    async def post_to_channel(self, channel: Channel, view: View) -> str:
        """Post ``view`` in ``channel``; its activity id (see :class:`TeamsChannelPoster`)."""
        return await self._channels.post_to_channel(channel, view)

    async def update_in_channel(self, channel: Channel, message_id: str, view: View) -> None:
        """Rewrite the bot's message ``message_id`` in ``channel`` as ``view``."""
        await self._channels.update_in_channel(channel, message_id, view)

    async def post_in_thread(self, channel: Channel, message_id: str, view: View) -> str:
        """Reply with ``view`` in the thread of the bot's message ``message_id`` in
        ``channel`` (a reminder under an incoming referral's card)."""
        return await self._channels.post_in_thread(channel, message_id, view)

    async def person(self, channel: Channel, email: str) -> Seller | None:
        """The member of ``channel``'s team whose user principal name is ``email`` (the Bot
        Connector finds a member of a conversation by Teams id, Entra object id or UPN), their
        Entra object id as their id; None when the team has nobody by it."""
        service_url = (channel.reference or {}).get("serviceUrl")
        if not isinstance(service_url, str) or not service_url:
            return None
        try:
            member = await self._sender.member(Address(service_url, channel.id), email)
        except Exception as error:  # noqa: BLE001 - not found (404) or failing: nobody
            # No address in the log: it is someone's email.
            logger.info("no member by that email in %s: %r", channel.id, error)
            return None
        return Seller(
            user_id=member.aad_object_id or member.id or email,
            display_name=member.name,
            first_name=member.given_name,
            last_name=member.surname,
            email=member.email,
        )

    async def reach(self, turn: Turn, via: Channel | None) -> Turn | None:
        """The turn addressed to the person's 1:1 chat with the bot: the reference it has, or
        the one kept for them (:meth:`ReferenceBook.dm`), or a chat opened at the Bot
        Connector of ``via`` (their tenant's triage channel) and kept for next time. None,
        logged, when there is none to be had: no Bot Connector known, one outside
        ``TEAMS_SERVICE_URL_HOSTS`` (no token goes there), or Teams refusing (the app is not
        installed for them, they blocked it)."""
        if turn.address.get("reference"):
            return turn
        person = turn.conversation
        reference = await self._references.dm(turns.PLATFORM, person)
        if reference is not None:
            if not self._sender.allows(reference.get("serviceUrl")):
                logger.error(
                    "the chat kept for %s is at %r, not a Bot Framework host "
                    "(TEAMS_SERVICE_URL_HOSTS): not used",
                    person,
                    reference.get("serviceUrl"),
                )
                return None
            return self._addressed(turn, reference)
        service_url = (via.reference or {}).get("serviceUrl") if via is not None else None
        if not isinstance(service_url, str) or not service_url:
            logger.warning("no Bot Connector known for the tenant of %s: no chat opened", person)
            return None
        if not self._sender.allows(service_url):
            logger.error(
                "refused to open a chat with %s at %r: not a Bot Framework host "
                "(TEAMS_SERVICE_URL_HOSTS)",
                person,
                service_url,
            )
            return None
        try:
            reference = await self._sender.open_chat(
                service_url, turns.tenant_of(turn), turns.owner_of(person)
            )
        except Exception as error:
            if status_of(error) not in UNREACHABLE_STATUSES:
                raise
            logger.warning("Teams would not open a chat with %s: %r", person, error)
            return None
        await self._references.save_dm(turns.PLATFORM, person, reference)
        return self._addressed(turn, reference)

    async def named_by(self, turn: Turn, names: frozenset[str]) -> bool:
        """Whether ``names`` holds the person's Entra object id (the activity's
        ``from.aadObjectId``, kept as the seller's id) or their email, both compared
        case-insensitively. The email comes from the Bot Connector's member API, asked only
        when their object id is not named and ``names`` holds an email at all."""
        named = frozenset(name.casefold() for name in names)
        if turn.seller.user_id.casefold() in named:
            return True
        if not any("@" in name for name in named):
            return False
        email = (await self.profile(turn)).email
        return email is not None and email.casefold() in named

    @staticmethod
    def _addressed(turn: Turn, reference: dict[str, object]) -> Turn:
        """``turn`` with ``reference`` as its address (``user``: whom the members API asks of)."""
        address = {
            **turn.address,
            "reference": reference,
            "user": turns.owner_of(turn.conversation),
        }
        return turn.model_copy(update={"address": address})

    def _card(self, turn: Turn, made: TeamsCard) -> TeamsCard:
        return owned(made, turns.owner_of(turn.conversation))

    async def _keep_reference(self, turn: Turn) -> None:
        address = turns.address(turn)
        saved = self._known.get(address.conversation_id)
        if saved is not None and time.monotonic() - saved < RESAVE_SECONDS:
            return
        reference = turn.address["reference"]
        await self._references.save(
            turns.PLATFORM, address.conversation_id, reference, channel=False
        )
        if (reference.get("conversation") or {}).get("conversationType") == "personal":
            await self._references.save_dm(turns.PLATFORM, turn.conversation, reference)
        self._known[address.conversation_id] = time.monotonic()
        self._known.move_to_end(address.conversation_id)
        while len(self._known) > KNOWN_CONVERSATIONS:
            self._known.popitem(last=False)
