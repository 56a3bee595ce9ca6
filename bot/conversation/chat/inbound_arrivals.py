"""Incoming referrals arriving: recognised among the changes the detection reports, filed
once, put in front of the triage channels and of the sellers whose referral it is.

The change detection (:mod:`bot.notifications.changes`) already reports each change once
whatever the number of workers and sources (webhooks, the poll, the bot's own sends); a
change of an incoming referral queues one job ordered by that referral, which reads it from
Partner Center (the change carries too little for a triage card) and files it
(:meth:`~bot.inbound.store.InboundStore.file`, once even when the job runs twice). A new
record queues its cards and the search for its sellers. A change of one already filed that no
longer waits (accepted or declined in Partner Center, archived as Expired there) is shown on
its cards.

Sellers are matched by email: the referral's own team, and the teams of the partner's other
referrals for the same customer (its customer is theirs). Each is looked up on the chat
platforms of the triage channels, and those found are told in their DM.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

from pydantic import ValidationError

from bot.clock import Clock
from bot.conversation.chat.inbound_rules import (
    ALLOTTED,
    ARRIVED,
    CARDS,
    PARTNER_CENTER,
    SELLERS,
    InboundReplier,
    InboundRules,
    triage_places,
)
from bot.conversation.chat.inbound_showing import InboundShowing
from bot.inbound.answering import is_waiting
from bot.inbound.places import InboundPlaces
from bot.inbound.store import InboundStatus, InboundStore, UnknownInbound
from bot.jobs import Job, JobQueue, UnreadableJob
from bot.notifications.changes import ReferralChange
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import NotFound, PartnerCenterError
from bot.partner_center.odata import UnsafeLiteral, literal
from bot.referrals.catalogs import Direction
from bot.referrals.models import Referral

logger = logging.getLogger(__name__)

MAX_SELLERS: Final = 10
"""Sellers told of one referral at most (a customer with many referrals has many teams)."""
SAME_CUSTOMER: Final = 50
"""Referrals of the same customer read to find its sellers."""


class Arrivals:
    """Files incoming referrals and shows them to whoever should take them."""

    def __init__(
        self,
        store: InboundStore,
        places: InboundPlaces,
        client: PartnerCenterClient,
        rules: InboundRules,
        showing: InboundShowing,
        *,
        repliers: Mapping[str, InboundReplier],
        jobs: JobQueue,
        clock: Clock,
    ) -> None:
        """``client`` reads Partner Center as the deployment itself (what the poll reads)."""
        self._store = store
        self._places = places
        self._client = client
        self._rules = rules
        self._showing = showing
        self._repliers = dict(repliers)
        self._jobs = jobs
        self._clock = clock

    async def on_change(self, job: Job) -> None:
        """A change the detection reported: an incoming referral's is followed up, once."""
        try:
            change = ReferralChange.model_validate(job.payload)
        except ValidationError as error:
            raise UnreadableJob(f"not a referral change: {error}") from None
        if change.direction != Direction.INCOMING:
            return
        if is_waiting(change.status, change.substatus) or await self._store.filed(
            change.referral_id
        ):
            await self._jobs.put(
                ARRIVED, {"referral": change.referral_id}, order_key=_order(change.referral_id)
            )

    async def arrived(self, referral_id: str) -> None:
        """Read the referral and file it (a new one: its cards and sellers follow), or show
        on its cards that it no longer waits."""
        try:
            record = await self._store.get(referral_id)
        except UnknownInbound:
            record = None
        if record is not None and record.status is not InboundStatus.WAITING:
            return  # answered (or being answered) in chat; its own work shows it
        try:
            referral = await self._client.get(referral_id)
        except NotFound:
            logger.info("incoming referral %s is not visible to the deployment", referral_id)
            return
        waiting = is_waiting(referral.status, referral.substatus)
        if record is None:
            if waiting and referral.direction == Direction.INCOMING:
                await self._file(referral)
            return
        if waiting:
            return  # still waiting (Pending to Received, say): nothing to show
        outcome = ", ".join(str(part) for part in (referral.status, referral.substatus) if part)
        moved = await self._store.move(
            referral_id,
            InboundStatus.ANSWERED,
            by=PARTNER_CENTER,
            now=self._clock.now(),
            reason=outcome,
        )
        if moved.moved:
            logger.info("incoming referral %s answered in Partner Center: %s", referral_id, outcome)
            await self._jobs.put(CARDS, {"referral": referral_id}, order_key=_order(referral_id))

    async def _file(self, referral: Referral) -> None:
        assert referral.id is not None
        now = self._clock.now()
        expires = referral.expiration_date_time or (referral.created_date_time or now) + ALLOTTED
        filed = await self._store.file(referral, now=now, expires_at=_aware(expires))
        if not filed.new:
            return
        logger.info("incoming referral %s filed for triage", referral.id)
        order = _order(referral.id)
        await self._jobs.put(CARDS, {"referral": referral.id}, order_key=order)
        await self._jobs.put(SELLERS, {"referral": referral.id}, order_key=order)

    async def match_sellers(self, referral_id: str) -> None:
        """Tell the sellers whose referral it is (its team's, its customer's) in their DM."""
        try:
            record = await self._store.get(referral_id)
        except UnknownInbound:
            return
        if record.status is not InboundStatus.WAITING:
            return
        emails = await self._emails(record.referral)
        channels = await triage_places(self._places, self._rules)
        told: list[str] = []
        for email in sorted(emails)[:MAX_SELLERS]:
            for channel in channels:
                replier = self._repliers.get(channel.platform)
                person = await replier.person(channel, email) if replier is not None else None
                if person is None:
                    continue
                key = f"{channel.platform}:{channel.workspace}:{person.user_id}"
                if key not in told:
                    told.append(key)
                    await self._showing.queue_tell(referral_id, key, "matched")
        if told:
            await self._store.matched(referral_id, told)
        logger.info("incoming referral %s: %d sellers matched", referral_id, len(told))

    async def _emails(self, referral: Referral) -> set[str]:
        """The emails of the referral's team, and of the teams of the partner's other
        referrals for the same customer."""
        emails = {(m.email or "").strip().lower() for m in referral.team or ()}
        customer = referral.customer_profile.name if referral.customer_profile else None
        if customer:
            try:
                same = await self._client.list(
                    filter=f"customerProfile/name eq {literal(customer)}", top=SAME_CUSTOMER
                ).collect()
            except (PartnerCenterError, UnsafeLiteral) as error:
                logger.warning("sellers of %s's customer not looked up: %s", referral.id, error)
                same = []
            for other in same:
                if other.id != referral.id:
                    emails.update((m.email or "").strip().lower() for m in other.team or ())
        emails.discard("")
        return emails


def _order(referral_id: str) -> str:
    """The order key of an incoming referral's jobs: one at a time, in order."""
    return f"inbound:{referral_id}"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
