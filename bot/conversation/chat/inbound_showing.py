"""Showing incoming referrals: their cards in the triage channels and in people's DMs, posted
once each and rewritten wherever they are when the answer changes, and reminders under them.

A card is posted once per place (a workspace's triage channel; a person's DM, per reason
they were told): the place is claimed by the piece of work that posts it
(:meth:`~bot.inbound.store.InboundStore.claim_place`), so a card job run twice (its worker
died, or two workers took copies) posts once. A click on a channel's card rewrites that card
the way the click allows (Slack: its ``response_url``, outside ``chat.update``'s limit of
about 50 a minute per workspace); every other card of the referral is updated as the bot.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.clock import Clock
from bot.conversation.chat.inbound_cards import inbound_card, reminder_line
from bot.conversation.chat.inbound_rules import (
    TELL,
    InboundReplier,
    InboundRules,
    dm_place,
    platform_of,
    triage_places,
    user_of,
)
from bot.conversation.chat.turns import Turn
from bot.conversation.views import InboundCard, Notice, Seller, View
from bot.inbound.places import InboundPlaces, place_of
from bot.inbound.store import InboundRecord, InboundStatus, InboundStore, Posted, UnknownInbound
from bot.jobs import JobQueue
from bot.notifications.channels import Channel, ChannelGone

logger = logging.getLogger(__name__)

THREAD = "thread:"
"""The prefix of the marks of reminders posted on a card's thread (days, then the place)."""


class InboundShowing:
    """Posts and rewrites the cards of incoming referrals."""

    def __init__(
        self,
        store: InboundStore,
        places: InboundPlaces,
        rules: InboundRules,
        *,
        repliers: Mapping[str, InboundReplier],
        jobs: JobQueue,
        clock: Clock,
    ) -> None:
        self._store = store
        self._places = places
        self._rules = rules
        self._repliers = dict(repliers)
        self._jobs = jobs
        self._clock = clock

    def now(self) -> datetime:
        """The time on this part's clock."""
        return self._clock.now()

    async def record(self, referral_id: str) -> InboundRecord:
        """The referral's record (:class:`UnknownInbound` when there is none)."""
        return await self._store.get(referral_id)

    def replier(self, platform: str) -> InboundReplier:
        """The platform's replier (KeyError for a platform this worker does not serve)."""
        return self._repliers[platform]

    def card(self, record: InboundRecord, *, message: str | None = None) -> InboundCard:
        """The card of ``record`` as it stands now."""
        return inbound_card(record, self._clock.now(), message=message)

    async def post_cards(self, referral_id: str, attempt: str) -> None:
        """Post the referral's card in every triage channel that has none yet, and show where
        it stands on the cards posted before (it expired, it was answered elsewhere)."""
        try:
            record = await self._store.get(referral_id)
        except UnknownInbound:
            logger.warning("incoming referral %s is gone before its card was posted", referral_id)
            return
        posted_before = dict(record.cards or {})
        # Answered or expired before its card went out: nothing to triage any more.
        waiting = record.status is InboundStatus.WAITING
        places = await triage_places(self._places, self._rules) if waiting else []
        if waiting and not places:
            logger.warning("incoming referral %s has no triage channel to go to", referral_id)
        for channel in places:
            place = place_of(channel)
            replier = self._repliers.get(channel.platform)
            if replier is None or place in posted_before:
                continue
            if not await self._store.claim_place(referral_id, place, attempt):
                continue  # another piece of work posts it
            try:
                message_id = await replier.post_to_channel(channel, self.card(record))
            except ChannelGone as gone:
                logger.warning(
                    "incoming referral %s not posted in %s: %s", referral_id, place, gone
                )
                continue
            card = Posted(channel.model_dump(mode="json"), message_id)
            await self._store.posted(referral_id, place, card)
        if posted_before:
            await self.show(await self._store.get(referral_id), only=set(posted_before))

    async def show(
        self, record: InboundRecord, turn: Turn | None = None, *, only: set[str] | None = None
    ) -> None:
        """Show where ``record`` stands on its cards (those of ``only`` places, when given),
        and on the card ``turn`` clicked when that was another one (a list, a home page)."""
        card = self.card(record)
        clicked = turn.card.message_id if turn is not None and turn.card is not None else None
        shown_clicked = False
        for place, posted in (record.cards or {}).items():
            if only is not None and place not in only:
                continue
            if clicked is not None and posted.message_id == clicked:
                assert turn is not None
                shown_clicked = await self._replace_clicked(record, turn, card)
                if shown_clicked:
                    continue
            await self._update(record, place, posted, card)
        if turn is not None and clicked is not None and not shown_clicked:
            await self._replace_clicked(record, turn, card)

    async def _update(self, record: InboundRecord, place: str, posted: Posted, card: View) -> None:
        channel = Channel.model_validate(posted.channel)
        replier = self._repliers.get(channel.platform)
        if replier is None:
            return
        try:
            await replier.update_in_channel(channel, posted.message_id, card)
        except Exception as error:  # noqa: BLE001 - the answer stands; logged
            logger.warning("could not update the card of %s at %s: %s", record.id, place, error)

    async def _replace_clicked(self, record: InboundRecord, turn: Turn, card: View) -> bool:
        assert turn.card is not None
        try:
            await self._repliers[turn.platform].replace(turn, turn.card, card)
        except Exception as error:  # noqa: BLE001 - the channel's card is the record
            logger.warning("could not update the clicked card of %s: %s", record.id, error)
            return False
        return True

    # -- reminders ----------------------------------------------------------------------------

    async def remind(self, referral_id: str, days: int) -> None:
        """Remind the triage channels (on each card's thread) that ``days`` are left, bring
        their cards' days left up to date, and have the assignee told in their DM."""
        try:
            record = await self._store.get(referral_id)
        except UnknownInbound:
            return
        if record.status is not InboundStatus.WAITING:
            return  # answered since the reminder was claimed
        reminder = Notice(message=f"{reminder_line(days)} ({record.referral.name or record.id})")
        for place, posted in (record.cards or {}).items():
            channel = Channel.model_validate(posted.channel)
            replier = self._repliers.get(channel.platform)
            told = f"{THREAD}{days}:{place}"
            if (
                place.startswith("dm:")
                or replier is None
                or await self._store.marked(record.id, told)
            ):
                continue
            # Marked once posted: the job run again after a failure further on does not
            # remind this thread a second time.
            await replier.post_in_thread(channel, posted.message_id, reminder)
            await self._store.mark(record.id, told)
        await self.show(record)
        if record.assignee:
            await self.queue_tell(record.id, record.assignee, f"reminded-{days}", days=days)

    # -- telling one person -------------------------------------------------------------------

    async def queue_tell(
        self,
        referral_id: str,
        to: str,
        why: str,
        *,
        days: int | None = None,
        address: Mapping[str, Any] | None = None,
    ) -> None:
        """Have ``to`` (a conversation key) told of the referral in their DM, by a job ordered
        on their conversation: Slack lets the bot post about once a second in one chat."""
        payload: dict[str, Any] = {"referral": referral_id, "to": to, "why": why}
        if days is not None:
            payload["days"] = days
        if address:
            payload["address"] = dict(address)
        await self._jobs.put(TELL, payload, order_key=to)

    async def tell(
        self,
        referral_id: str,
        to: str,
        why: str,
        message: str,
        attempt: str,
        *,
        address: Mapping[str, Any] | None = None,
    ) -> None:
        """Post the referral's card with ``message`` above it in the DM of ``to``, once per
        reason (``why``), and keep where it is so the card shows the answer later.
        ``address`` is where their DM is, when the job knows it; else the platform finds or
        opens it (:meth:`~InboundReplier.reach`)."""
        try:
            record = await self._store.get(referral_id)
        except UnknownInbound:
            return
        if record.status is not InboundStatus.WAITING:
            return  # answered before they were told: nothing for them to do
        platform, workspace = platform_of(to)
        replier = self._repliers.get(platform)
        if replier is None:
            return
        person = Turn(
            platform=platform,
            conversation=to,
            seller=Seller(user_id=user_of(to)),
            delivery=f"inbound-{referral_id}-{why}",
            address=dict(address or {}),
        )
        # Their DM as the platform finds or opens it, through their workspace's triage channel
        # (Teams opens a 1:1 chat at that channel's Bot Connector, once).
        via = None if person.address else await self._places.get(platform, workspace)
        reached = await replier.reach(person, via)
        if reached is None:
            logger.info("cannot reach %s in a DM of their own: not told of %s", to, referral_id)
            return
        person = reached
        place = f"{dm_place(to)}:{why}"
        if not await self._store.claim_place(referral_id, place, attempt):
            return
        posted = await replier.post(person, self.card(record, message=message))
        channel = Channel(
            platform=platform,
            workspace=workspace,
            id=posted.channel,
            reference=person.address.get("reference"),
        )
        card = Posted(channel.model_dump(mode="json"), posted.message_id)
        await self._store.posted(referral_id, place, card)
