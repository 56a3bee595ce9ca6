"""Incoming referrals on the job stream: the parts that answer them built together, and the
handler of each job kind (see :mod:`.inbound_rules` for the kinds)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.clock import Clock
from bot.conversation.chat.inbound_arrivals import Arrivals
from bot.conversation.chat.inbound_cards import assigned_line, matched_line, reminder_line
from bot.conversation.chat.inbound_rules import (
    ARRIVED,
    CARDS,
    REMIND,
    SELLERS,
    TELL,
    InboundReplier,
    InboundRules,
)
from bot.conversation.chat.inbound_showing import InboundShowing
from bot.conversation.chat.inbound_timing import InboundTimer
from bot.conversation.chat.triaging import Sent, Triaging
from bot.inbound.places import InboundPlaces
from bot.inbound.store import InboundStore, UnknownInbound
from bot.jobs import Job, JobHandler, JobQueue, UnreadableJob
from bot.partner_center.client import PartnerCenterClient


@dataclass(frozen=True)
class InboundParts:
    """Everything a worker runs for incoming referrals."""

    arrivals: Arrivals
    showing: InboundShowing
    triaging: Triaging
    timer: InboundTimer

    def handlers(self) -> dict[str, JobHandler]:
        """The job handlers of incoming referrals, for :func:`bot.jobs.dispatch` (the change
        handler is :meth:`Arrivals.on_change`, run beside the notifications' own)."""
        return {
            ARRIVED: self._arrived,
            CARDS: self._cards,
            SELLERS: self._sellers,
            REMIND: self._remind,
            TELL: self._tell,
        }

    async def _arrived(self, job: Job) -> None:
        await self.arrivals.arrived(_text(job, "referral"))

    async def _cards(self, job: Job) -> None:
        await self.showing.post_cards(_text(job, "referral"), attempt=job.id)

    async def _sellers(self, job: Job) -> None:
        await self.arrivals.match_sellers(_text(job, "referral"))

    async def _remind(self, job: Job) -> None:
        await self.showing.remind(_text(job, "referral"), _days(job))

    async def _tell(self, job: Job) -> None:
        why = _text(job, "why")
        if why == "assigned":
            referral = _text(job, "referral")
            try:
                record = await self.showing.record(referral)
            except UnknownInbound:
                return
            message = assigned_line(record, self.showing.now())
        elif why.startswith("reminded-"):
            message = reminder_line(_days(job))
        else:
            message = matched_line()
        address = job.payload.get("address")
        await self.showing.tell(
            _text(job, "referral"),
            _text(job, "to"),
            why,
            message,
            job.id,
            address=address if isinstance(address, dict) else None,
        )


def inbound_parts(
    store: InboundStore,
    places: InboundPlaces,
    rules: InboundRules,
    *,
    deployment: PartnerCenterClient,
    partner_center: PartnerCenterClient,
    repliers: Mapping[str, InboundReplier],
    jobs: JobQueue,
    clock: Clock,
    sent: Sent | None = None,
) -> InboundParts:
    """The parts, on one store: ``deployment`` reads arrivals as the deployment does;
    ``partner_center`` answers as each clicker (:meth:`~PartnerCenterClient.acting_for`)."""
    showing = InboundShowing(store, places, rules, repliers=repliers, jobs=jobs, clock=clock)
    arrivals = Arrivals(
        store, places, deployment, rules, showing, repliers=repliers, jobs=jobs, clock=clock
    )
    triaging = Triaging(
        store, places, partner_center, rules, showing, clock=clock, jobs=jobs, sent=sent
    )
    timer = InboundTimer(store, rules, jobs=jobs, clock=clock)
    return InboundParts(arrivals, showing, triaging, timer)


def _text(job: Job, field: str) -> str:
    value = job.payload.get(field)
    if not isinstance(value, str) or not value:
        raise UnreadableJob(f"an incoming-referral job of kind {job.kind} names no {field}")
    return value


def _days(job: Job) -> int:
    value: Any = job.payload.get("days")
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise UnreadableJob(f"an incoming-referral job of kind {job.kind} has no days")
    return value
