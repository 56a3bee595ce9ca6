"""Answering incoming referrals in chat: Accept, Decline (with a reason) and Assign on their
cards, ``/referral inbox`` and ``/referral inbound here``, and a home page's share.

Every answer is one atomic move in :class:`~bot.inbound.store.InboundStore` before anything
is sent, so two people clicking Accept and Decline at once (or one clicking twice) give one
outcome: the first move wins and the others are told who answered. The winner's answer is
sent to Partner Center as them when sellers sign in (as the deployment's identity
otherwise), following the transition table (:mod:`bot.inbound.answering`); then every card of
the referral shows who answered, with no buttons left. Partner Center refusing puts the
referral back to waiting, the reason on its card.

Assign puts the seller picked on the referral's team in Partner Center (as the clicker) and
tells them in their DM, with the card and its buttons. Who may see the inbox: every incoming
referral to ``REFERRAL_ADMINS``, to anyone else those assigned to them or whose sellers were
matched to them; the triage channel's card is for whoever is in that channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.clock import Clock
from bot.conversation.chat.approval_rules import display_name
from bot.conversation.chat.commands import InboundCommand
from bot.conversation.chat.inbound_cards import who_answered
from bot.conversation.chat.inbound_rules import (
    CARDS,
    GONE,
    LISTED,
    NO_PLACE_YET,
    NOT_A_CHANNEL,
    REASON_NEEDED,
    WHOM_NEEDED,
    InboundRules,
    platform_of,
    triage_places,
)
from bot.conversation.chat.inbound_showing import InboundShowing
from bot.conversation.chat.turns import Replier, Turn
from bot.conversation.runtime.submit import api_problem
from bot.conversation.views import InboundCard, InboundList, Notice, Problem, Seller, Triage, View
from bot.inbound.answering import (
    Answer,
    AnsweredElsewhere,
    KeptChanging,
    add_to_team,
    answer_referral,
)
from bot.inbound.places import InboundPlaces
from bot.inbound.store import InboundRecord, InboundStatus, InboundStore, UnknownInbound
from bot.jobs import JobQueue
from bot.partner_center.auth import SignInRequired
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import PartnerCenterError
from bot.referrals.models import Member, Referral
from bot.referrals.transitions import TransitionError

logger = logging.getLogger(__name__)

Sent = Callable[[Referral], Awaitable[Any]]
"""Told of a referral as Partner Center has it after the bot answered it (the change
detection records it, so the answer is not reported back as someone else's)."""
WAITING_POSTED = 100
"""How many waiting referrals a newly chosen triage channel gets the cards of (soonest to
expire first); the rest are in ``/referral inbox``."""
ANSWERS = {"accept": InboundStatus.ACCEPTING, "decline": InboundStatus.DECLINING}
DONE = {
    InboundStatus.ACCEPTING: InboundStatus.ACCEPTED,
    InboundStatus.DECLINING: InboundStatus.DECLINED,
}
PRIVATE = Problem(
    message="Incoming referrals are listed only where you alone see them.",
    hint="Type referral inbox in your 1:1 chat with me.",
)


class Triaging:
    """Clicks on incoming referrals' cards, and the commands about them."""

    def __init__(
        self,
        store: InboundStore,
        places: InboundPlaces,
        client: PartnerCenterClient,
        rules: InboundRules,
        showing: InboundShowing,
        *,
        clock: Clock,
        jobs: JobQueue,
        sent: Sent | None = None,
    ) -> None:
        self._store = store
        self._places = places
        self._client = client
        self._rules = rules
        self._showing = showing
        self._clock = clock
        self._jobs = jobs
        self._sent = sent

    # -- clicks -----------------------------------------------------------------------------

    async def refusal(self, turn: Turn, replier: Replier, triage: Triage) -> list[View]:
        """Why this click changes nothing (see :func:`triage_refusal`); empty when it goes
        ahead. In a shared conversation (a Teams channel) it says nothing where everyone
        would hear it: the web process told the clicker alone already."""
        refused = await triage_refusal(self._store, triage)
        return [] if refused and turn.shared else refused

    async def decide(
        self, turn: Turn, replier: Replier, triage: Triage, *, attempt: str
    ) -> list[View]:
        """Apply a click; what to tell the clicker (privately). ``attempt`` names this piece
        of work: run again after its worker died, it finishes the answer it started."""
        try:
            record = await self._store.get(triage.referral)
        except UnknownInbound:
            return [GONE]
        name = display_name(await replier.profile(turn))
        if triage.verdict == "assign":
            return await self._assign(turn, replier, record, triage.assignee or "", name)
        reason = (triage.reason or "").strip()[:1000] or None
        if triage.verdict == "decline" and reason is None:
            return [REASON_NEEDED]
        answering = ANSWERS[triage.verdict]
        moved = await self._store.move(
            record.id,
            answering,
            by=turn.conversation,
            by_name=name,
            now=self._clock.now(),
            reason=reason,
            sender=attempt,
        )
        resumed = moved.record.status is answering and moved.record.sender == attempt
        if not moved.moved and not resumed:
            return await self._answered_before(turn, moved.record)
        return await self._send(turn, moved.record, triage, name, reason)

    async def _send(
        self, turn: Turn, record: InboundRecord, triage: Triage, name: str, reason: str | None
    ) -> list[View]:
        """Send the answer claimed, and show the outcome on every card."""
        client = self._client.acting_for(turn.conversation)
        verdict: Answer = "accept" if triage.verdict == "accept" else "decline"
        try:
            answered = await answer_referral(client, record.id, verdict, reason=reason)
        except SignInRequired:
            problem = "The answer needs your Partner Center sign-in; sign in, then click again."
            await self._back_to_waiting(turn, record, name, problem)
            raise
        except AnsweredElsewhere as elsewhere:
            current = elsewhere.referral
            outcome = ", ".join(str(p) for p in (current.status, current.substatus) if p)
            moved = await self._store.move(
                record.id, InboundStatus.ANSWERED, by=turn.conversation, by_name=name,
                now=self._clock.now(), reason=outcome,
            )  # fmt: skip
            await self._showing.show(moved.record, turn)
            return [Notice(message=f"It was answered in Partner Center meanwhile ({outcome}).")]
        except (PartnerCenterError, KeptChanging, TransitionError) as error:
            said = (
                api_problem(error).message if isinstance(error, PartnerCenterError) else str(error)
            )
            await self._back_to_waiting(turn, record, name, said)
            return [Problem(message=said, hint="Nothing changed; the card shows it waiting again.")]
        done = await self._store.move(
            record.id,
            DONE[record.status],
            by=turn.conversation,
            by_name=name,
            now=self._clock.now(),
            reason=reason,
        )
        await self._showing.show(done.record, turn)
        logger.info(
            "incoming referral %s %s by %s", record.id, done.record.status, turn.conversation
        )
        if self._sent is not None:
            try:
                await self._sent(answered.referral)
            except Exception as error:  # noqa: BLE001 - the answer stands; logged
                logger.warning("could not record the change of %s: %s", record.id, error)
        return []

    async def _back_to_waiting(
        self, turn: Turn, record: InboundRecord, name: str, problem: str
    ) -> None:
        moved = await self._store.move(
            record.id,
            InboundStatus.WAITING,
            by=turn.conversation,
            by_name=name,
            now=self._clock.now(),
            problem=problem,
        )
        await self._showing.show(moved.record, turn)

    async def _assign(
        self, turn: Turn, replier: Replier, record: InboundRecord, whom: str, name: str
    ) -> list[View]:
        """Put the seller picked on the referral's team, as the clicker, and tell them."""
        if record.status is not InboundStatus.WAITING:
            return await self._answered_before(turn, record)
        person = await self._person(turn, replier, whom.strip())
        if person is None or not person.email:
            return [
                Problem(
                    message=f"I can't see an email for {whom}, so I can't put them on the "
                    "referral's team; nothing changed.",
                    hint="Pick someone whose chat profile shows an email.",
                )
            ]
        member = Member(
            first_name=person.first_name, last_name=person.last_name, email=person.email
        )
        try:
            await add_to_team(self._client.acting_for(turn.conversation), record.id, member)
        except PartnerCenterError as error:
            return [api_problem(error)]
        except KeptChanging as error:
            return [Problem(message=str(error), hint="Nothing changed; try again.")]
        platform, workspace = platform_of(turn.conversation)
        key = f"{platform}:{workspace}:{person.user_id}"
        moved = await self._store.assign(
            record.id, to=key, to_name=display_name(person), by=turn.conversation, by_name=name,
            now=self._clock.now(),
        )  # fmt: skip
        if not moved.moved:
            return await self._answered_before(turn, moved.record)
        await self._showing.show(moved.record, turn)
        await self._showing.queue_tell(record.id, key, "assigned")
        return []

    async def _person(self, turn: Turn, replier: Replier, whom: str) -> Seller | None:
        """The person picked: by email (Teams' box), looked up through the channel clicked in
        (else the workspace's triage channel); else by the platform's user id (Slack's
        picker), their profile read as any seller's."""
        platform, workspace = platform_of(turn.conversation)
        if "@" in whom:
            channel = replier.channel(turn) or await self._places.get(platform, workspace)
            if channel is None:
                return None
            return await self._showing.replier(platform).person(channel, whom)
        picked = Turn(
            platform=platform,
            conversation=f"{platform}:{workspace}:{whom}",
            seller=Seller(user_id=whom),
            delivery=f"assign-{whom}",
            address=dict(turn.address),
        )
        return await replier.profile(picked)

    async def _answered_before(self, turn: Turn, record: InboundRecord) -> list[View]:
        """A click that came too late: who answered, told to the clicker alone (a Teams
        channel's card already shows it: a reply there would be said to everyone)."""
        if turn.shared:
            return []
        return [Notice(message=who_answered(record))]

    # -- commands and home ------------------------------------------------------------------

    async def command(self, turn: Turn, replier: Replier, command: InboundCommand) -> list[View]:
        """``/referral inbox`` and ``/referral inbound here``."""
        if command.action == "here":
            return await self._here(turn, replier)
        if turn.shared:
            return [PRIVATE]
        cards = await self.waiting(turn, replier)
        views: list[View] = [
            InboundList(title="Incoming referrals waiting for an answer", referrals=cards)
        ]
        if not cards and not await triage_places(self._places, self._rules):
            views.append(NO_PLACE_YET)
        return views

    async def waiting(self, turn: Turn, replier: Replier) -> tuple[InboundCard, ...]:
        """The incoming referrals waiting that this person may answer, soonest to expire
        first: all of them to an admin; to anyone else those assigned to them or whose
        sellers include them."""
        seller = await replier.profile(turn)
        admin = self._is_admin(seller)
        email = (seller.email or "").strip().lower()
        cards = []
        for record in await self._store.waiting(limit=LISTED * 5):
            if record.status is not InboundStatus.WAITING:
                continue
            if admin or _theirs(record, turn.conversation, email):
                cards.append(self._showing.card(record))
            if len(cards) >= LISTED:
                break
        return tuple(cards)

    def _is_admin(self, seller: Seller) -> bool:
        names = {seller.user_id.lower(), (seller.email or "").lower()}
        return not self._rules.admins.isdisjoint(names - {""})

    async def _here(self, turn: Turn, replier: Replier) -> list[View]:
        channel = replier.channel(turn)
        if channel is None:
            return [NOT_A_CHANNEL]
        # Whoever chooses the place chooses who reads every incoming deal: with no admins
        # named, nobody may (the operator can still set INBOUND_CHANNEL for Slack).
        if not self._is_admin(await replier.profile(turn)):
            return [
                Problem(
                    message="Only referral admins choose where incoming referrals go; nothing "
                    "changed.",
                    hint="Your organization's admins are set in REFERRAL_ADMINS"
                    + ("." if self._rules.admins else ", which is empty."),
                )
            ]
        await self._places.set(channel)
        where = f"#{channel.name}" if channel.name else "this channel"
        logger.info("%s set the triage channel to %s", turn.conversation, channel.key)
        # Referrals that came while there was no triage place (or another) get their card
        # here too: the card job posts where a referral's card is not yet.
        waiting = [
            record
            for record in await self._store.waiting(limit=WAITING_POSTED)
            if record.status is InboundStatus.WAITING
        ]
        await asyncio.gather(
            *(
                self._jobs.put(CARDS, {"referral": record.id}, order_key=f"inbound:{record.id}")
                for record in waiting
            )
        )
        message = f"Incoming referrals now come to {where} for triage."
        if len(waiting) == 1:
            message += " The one waiting for an answer is posted here too."
        elif waiting:
            message += f" The {len(waiting)} waiting for an answer are posted here too."
        return [Notice(message=message)]


async def triage_refusal(store: InboundStore, triage: Triage) -> list[View]:
    """Why a click on an incoming referral's card changes nothing (the referral answered
    already, a Decline without a reason, an Assign naming nobody), checked before anything is
    asked; empty when it goes ahead."""
    try:
        record = await store.get(triage.referral)
    except UnknownInbound:
        return [GONE]
    if record.status is not InboundStatus.WAITING:
        return [Notice(message=who_answered(record))]
    if triage.verdict == "decline" and not (triage.reason or "").strip():
        return [REASON_NEEDED]
    if triage.verdict == "assign" and not (triage.assignee or "").strip():
        return [WHOM_NEEDED]
    return []


def _theirs(record: InboundRecord, conversation: str, email: str) -> bool:
    """Whether the record is assigned to this person, or they were matched to it (told in
    their DM, or on its team)."""
    if record.assignee == conversation or conversation in record.matched:
        return True
    team = {(m.email or "").strip().lower() for m in record.referral.team or ()}
    return bool(email) and email in team
