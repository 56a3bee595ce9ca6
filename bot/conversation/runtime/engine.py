"""The conversation engine: the state machine run on drafts stored in Redis, a step at a time.

Per step: one read and one compare-and-set write (one write only when this process's cache
still holds the latest version; see :mod:`.drafts`). Two inputs racing on one step: the
store's compare-and-set lets exactly one through and the other is told the step was already
answered. A turn delivered again (its worker died after the change, before the reply) is
recognised by its id, stored with the change, and answered with where it led.

Starting a draft: a read (is there one already?), a ``GET`` of the referral for a flow that
works on one (refused unless the seller is on its team or an admin: :mod:`.access`), then a
create-if-absent write and the last-draft marker (:meth:`.Drafts.create`).
A cancel deletes the draft (:meth:`.Drafts.discard`). A submit reads the draft once more and
hands it, still complete, to the :class:`~.submit.Submitter`, which sends it to Partner Center
exactly once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Protocol

from bot.clock import Clock
from bot.conversation.runtime import machine
from bot.conversation.runtime.access import Access, referral_for
from bot.conversation.runtime.drafts import Drafts, Loaded, Unreadable
from bot.conversation.runtime.machine import Effect
from bot.conversation.runtime.session import Session, Subject
from bot.conversation.runtime.session_store import SessionStore, StoreUnavailable
from bot.conversation.runtime.submit import (
    SUBMIT_CLAIM_SECONDS,
    SUBMITTING,
    RegistrationRequests,
    Sent,
    Submitter,
)
from bot.conversation.views import (
    ALREADY_ANSWERED,
    Choice,
    Command,
    CommandName,
    Decision,
    DraftSummary,
    Input,
    Notice,
    Problem,
    Prompt,
    Seller,
    Text,
    Triage,
    View,
)
from bot.conversation.vocabulary.flows import FLOWS
from bot.conversation.vocabulary.steps import Flow, context_key
from bot.metrics import DRAFT_WRITES
from bot.partner_center.client import PartnerCenterClient
from bot.referrals.models import Referral

logger = logging.getLogger(__name__)

START_HINT = "Start one with /referral new."


@dataclass(frozen=True, slots=True)
class Conversation:
    """Who is talking, and the key their conversation is stored under (``slack:T1:U2``)."""

    key: str
    seller: Seller
    address: Mapping[str, Any] = field(default_factory=dict)
    """Where replies reach them later, in their platform's terms (kept with a draft)."""


@dataclass(frozen=True, slots=True)
class Gate:
    """What a flow's check before it starts found: the views to show first, whether the
    draft may start, and what the draft keeps of it (:attr:`Subject.checks`)."""

    views: list[View]
    allowed: bool
    checks: dict[str, Any] = field(default_factory=dict)


class StartCheck(Protocol):
    """A check run before a draft on an existing referral starts (a deal registration's
    eligibility): it may refuse the draft, with views saying why."""

    async def __call__(
        self, conversation: Conversation, referral: Referral, client: PartnerCenterClient
    ) -> Gate:
        """What the check found."""
        ...


class Lookup(Protocol):
    """Looks up a step's answer for what it tells the draft (:attr:`Step.lookup`): an
    earlier referral of the customer the seller named. None when there is nothing."""

    async def __call__(self, conversation: Conversation, answer: Any) -> Any:
        """What was found, as the draft keeps it (JSON), or None."""
        ...


@dataclass(frozen=True, slots=True)
class Reply:
    """What an input led to: the views to show, and what it did to the draft (so a chat
    front stamps a card with an answer only when the answer was taken)."""

    views: list[View]
    effect: Effect
    answer: str | None = None
    """For a STALE input: the answer the draft holds for the question it was meant for."""


class Engine:
    """Runs conversations: validates every answer, persists every step, submits once."""

    def __init__(
        self,
        store: SessionStore,
        client: PartnerCenterClient,
        *,
        clock: Clock,
        ttl_seconds: int,
        flows: Mapping[str, Flow] = FLOWS,
        cache_size: int = 10_000,
        access: Access | None = None,
        submit_claim_seconds: int = SUBMIT_CLAIM_SECONDS,
        sent: Sent | None = None,
        checks: Mapping[str, StartCheck] | None = None,
        requests: RegistrationRequests | None = None,
        lookups: Mapping[str, Lookup] | None = None,
    ) -> None:
        """``sent`` hears of every referral as a submit left it (channel notifications);
        ``checks`` are run before a draft of the flow they are named by starts; ``requests``
        files finished deal registrations for approval; ``lookups`` answer the steps that
        look their answer up, by :attr:`Step.lookup`."""
        self._checks = dict(checks or {})
        self._lookups = dict(lookups or {})
        self._store = store
        self._access = access or Access()
        self._client = client
        self._clock = clock
        self._flows = flows
        self._drafts = Drafts(store, ttl_seconds=ttl_seconds, cache_size=cache_size)
        self._submitter = Submitter(
            store,
            self._drafts,
            client,
            flows=flows,
            clock=clock,
            claim_seconds=submit_claim_seconds,
            sent=sent,
            requests=requests,
        )

    @property
    def store(self) -> SessionStore:
        """Where drafts are kept: a chat front keeps its memory of a conversation beside them."""
        return self._store

    async def handle(self, conversation: Conversation, message: Input) -> list[View]:
        """Apply one input and return what to show the seller."""
        return (await self.turn(conversation, message)).views

    async def turn(
        self, conversation: Conversation, message: Input, *, delivery: str | None = None
    ) -> Reply:
        """Apply one input and say what it did.

        ``delivery`` names the turn (a platform's event or action id). It is stored with the
        change it makes, in the same write, so the same turn delivered again (its worker died
        after the change, before the reply) changes nothing and gets the views that follow it.
        """
        if isinstance(message, Decision | Triage):
            # Decisions on approvals (and incoming referrals) are the chat front's (they
            # need the platform); a draft has no use for them.
            return Reply([Problem(message="That works in Slack or Teams only.")], Effect.REFUSED)
        try:
            if isinstance(message, Command) and message.name is CommandName.START:
                return await self._start(conversation, message.arg or "", delivery)
            return await self._step(conversation, message, delivery)
        except StoreUnavailable:
            logger.warning("conversation store unavailable for %s", conversation.key)
            self._drafts.uncache(conversation.key)
            problem = Problem(
                message="I can't reach my memory right now, so nothing changed.",
                hint="Try again in a minute; your draft is safe.",
            )
            return Reply([problem], Effect.REFUSED)
        except Unreadable:
            problem = Problem(
                message="Your draft was saved by a different version of this bot and "
                "can't be resumed, so it was discarded. Nothing was sent.",
                hint=START_HINT,
            )
            return Reply([problem], Effect.CHANGED)

    async def draft(self, conversation: Conversation) -> DraftSummary | None:
        """The seller's draft in progress, summarised for a home page (read fresh: another
        process may have moved it on)."""
        loaded = await self._drafts.load(conversation.key)
        if loaded is None:
            return None
        flow = self._flows[loaded.session.flow]
        view = machine.current_view(flow, loaded.session, today=_today(self._clock.now()))
        return DraftSummary(
            flow=flow.name,
            title=flow.title,
            progress=view.progress if isinstance(view, Prompt) else None,
            updated_at=loaded.session.updated_at,
        )

    # -- steps ------------------------------------------------------------------------------

    async def _step(
        self, conversation: Conversation, message: Text | Choice | Command, delivery: str | None
    ) -> Reply:
        """Advance the draft by one input: one compare-and-set write, plus a read unless this
        process's cache holds the latest version.

        The cache may be stale (another process took the seller's previous message). A write
        finds out by its compare-and-set; an input that writes nothing (a refused answer, a
        stale click, help) is checked against a fresh read before it is answered. Either way
        the input is then applied to the stored draft, unless it was pinned to a step (a card
        button) that is no longer current: that step was already answered.
        """
        key = conversation.key
        pinned = message.step
        loaded = self._drafts.cached(key)
        from_cache = loaded is not None
        if loaded is None:
            loaded = await self._drafts.load(key)
        for attempt in range(2):
            if loaded is None:
                return await self._no_draft(key, message, delivery)
            flow = self._flows[loaded.session.flow]
            if delivery is not None and delivery in loaded.session.deliveries:
                return self._replayed(flow, loaded.session)
            if attempt and pinned is not None and loaded.session.current != pinned:
                views = _already_answered(flow, loaded.session, _today(self._clock.now()))
                return _stale(views, flow, loaded.session, pinned)
            outcome = self._advance(flow, loaded.session, message)
            outcome = await self._looked_up(conversation, flow, loaded.session, outcome)
            if outcome.submit:
                return _submitted(await self._submit(conversation, flow, loaded, delivery))
            if not outcome.persist:
                if from_cache and attempt == 0:
                    fresh = await self._drafts.load(key)
                    if fresh is None or fresh.version != loaded.version:
                        loaded, from_cache = fresh, False
                        continue
                if outcome.effect is Effect.STALE:
                    return _stale(list(outcome.views), flow, loaded.session, pinned)
                return Reply(list(outcome.views), outcome.effect)
            if outcome.session is None:
                await self._drafts.discard(key, loaded, delivery, list(outcome.views))
                return Reply(list(outcome.views), outcome.effect)
            written = await self._drafts.write(key, outcome.session, loaded.version, delivery)
            if written is True:
                DRAFT_WRITES.labels(_path(from_cache, attempt)).inc()
                return Reply(list(outcome.views), outcome.effect)
            loaded, from_cache = written, False  # what is stored now, read by the same trip
        if loaded is None:
            return await self._no_draft(key, message, delivery)
        flow = self._flows[loaded.session.flow]
        if delivery is not None and delivery in loaded.session.deliveries:
            return self._replayed(flow, loaded.session)
        views = _already_answered(flow, loaded.session, _today(self._clock.now()))
        return _stale(views, flow, loaded.session, pinned)

    async def _looked_up(
        self, conversation: Conversation, flow: Flow, before: Session, outcome: machine.Outcome
    ) -> machine.Outcome:
        """``outcome``, with what the lookups found for the answers it changed."""
        after = outcome.session
        if not outcome.persist or after is None:
            return outcome
        session = await self._look_up(conversation, flow, before.answers, after)
        if session is after:
            return outcome
        today = _today(self._clock.now())
        views = (*outcome.views[:-1], machine.current_view(flow, session, today=today))
        return replace(outcome, session=session, views=views)

    async def _look_up(
        self, conversation: Conversation, flow: Flow, before: Mapping[str, Any], after: Session
    ) -> Session:
        """``after``, with what each lookup found for a changed answer kept as context."""
        session = after
        for step in flow.steps:
            lookup = self._lookups.get(step.lookup) if step.lookup else None
            answer = after.answers.get(step.id)
            if lookup is None or step.lookup is None or answer == before.get(step.id):
                continue
            if not flow.reads_context(context_key(step.lookup)):
                continue  # a flow sharing the step (update) has no use for what it finds
            found = await lookup(conversation, answer) if answer is not None else None
            session = machine.with_context(flow, session, context_key(step.lookup), found)
        return session

    def _replayed(self, flow: Flow, session: Session) -> Reply:
        """A turn that already changed the draft, delivered again: where it led."""
        today = _today(self._clock.now())
        return Reply([machine.current_view(flow, session, today=today)], Effect.CHANGED)

    def _advance(self, flow: Flow, session: Session, message: Input) -> machine.Outcome:
        now = self._clock.now()
        return machine.advance(flow, session, message, today=_today(now), now=now)

    async def _start(
        self, conversation: Conversation, argument: str, delivery: str | None
    ) -> Reply:
        views = await self._started(conversation, argument, delivery)
        if isinstance(views, Reply):
            return views
        effect = Effect.CHANGED if isinstance(views[-1], Prompt) else Effect.REFUSED
        return Reply(views, effect)

    async def _started(
        self, conversation: Conversation, argument: str, delivery: str | None
    ) -> list[View] | Reply:
        name, _, referral_id = argument.strip().partition(" ")
        flow = self._flows.get(name.lower() or "new")
        if flow is None:
            return [Problem(message=f"There is no {name!r} flow.", hint=_flow_names(self._flows))]
        existing = await self._drafts.load(conversation.key)
        if existing is not None:
            other = self._flows[existing.session.flow]
            if delivery is not None and delivery in existing.session.deliveries:
                return self._replayed(other, existing.session)
            return [
                Problem(
                    message=f"You have an unfinished {other.title.lower()} draft.",
                    hint="Type resume to continue it, or cancel to discard it.",
                )
            ]
        subject = None
        if flow.needs_referral:
            referral_id = referral_id.strip()
            if not referral_id:
                return [Problem(message=f"Which referral? Type /referral {flow.name} ID.")]
            referral = await referral_for(
                self._access,
                self._client.acting_for(conversation.key),
                conversation.seller,
                referral_id,
            )
            if isinstance(referral, Problem):
                return [referral]
            if flow.submit.needs_open_referral and referral.is_closed:
                return [
                    Problem(
                        message=f"This referral is already closed as {referral.substatus}.",
                        hint="A closed referral cannot be changed.",
                    )
                ]
            check = self._checks.get(flow.name)
            gate = None
            if check is not None:
                gate = await check(
                    conversation, referral, self._client.acting_for(conversation.key)
                )
                if not gate.allowed:
                    return gate.views
            subject = Subject(
                referral_id=referral.id or referral_id,
                etag=referral.e_tag,
                snapshot=referral.to_wire(),
                checks=gate.checks if gate is not None else {},
            )
            first: list[View] = list(gate.views) if gate is not None else []
            answers: dict[str, Any] = {}
        else:
            # The words after the flow's name answer what they can (``new Contoso 50k``).
            answers, said = machine.opened(flow, referral_id, today=_today(self._clock.now()))
            first = [said] if said is not None else []
        now = self._clock.now()
        session = machine.start(
            flow,
            Session(
                id=str(uuid.uuid4()),
                flow=flow.name,
                seller=conversation.seller,
                subject=subject,
                answers=answers,
                reply_to=dict(conversation.address),
                created_at=now,
                updated_at=now,
                deliveries=[delivery] if delivery is not None else [],
            ),
        )
        session = await self._look_up(conversation, flow, {}, session)
        if not await self._drafts.create(conversation.key, session):
            return Reply(
                [
                    Notice(message="A draft was just started; here it is."),
                    *await self._drafts.current(conversation.key, self._flows, self._clock),
                ],
                Effect.STALE,
            )
        return [*first, machine.current_view(flow, session, today=_today(now))]

    async def _no_draft(self, key: str, message: Input, delivery: str | None = None) -> Reply:
        if delivery is not None:
            ended = await self._drafts.ended(key, delivery)
            if ended is not None:
                # This turn ended the draft (a cancel, a submit) and is delivered again.
                return Reply(ended, Effect.CHANGED)
        if isinstance(message, Command) and message.name is CommandName.CANCEL:
            return Reply([Notice(message="There is nothing to cancel.")], Effect.SHOWN)
        ttl = await self._drafts.last_ttl(key)
        if ttl is None:
            notice = Notice(message="You have no referral in progress.", detail=START_HINT)
            return Reply([notice], Effect.REFUSED)
        hours = ttl // 3600
        notice = Notice(
            message=f"Your draft expired after {hours} hours without an answer; "
            "nothing was sent to Partner Center.",
            detail=START_HINT,
        )
        return Reply([notice], Effect.REFUSED)

    # -- submit ---------------------------------------------------------------------------

    async def _submit(
        self, conversation: Conversation, flow: Flow, cached: Loaded, delivery: str | None = None
    ) -> list[View]:
        key = conversation.key
        # Another process may have changed the draft since this one cached it: submit only
        # what is stored now, and only if it is still complete.
        loaded = await self._drafts.load(key)
        if loaded is None:
            return (await self._no_draft(key, Command(name=CommandName.SUBMIT))).views
        if loaded.version != cached.version:
            again = self._advance(flow, loaded.session, Command(name=CommandName.SUBMIT))
            if not again.submit:
                return list(again.views)
        return await self._submitter.submit(key, flow, loaded, delivery)


def _submitted(views: list[View]) -> Reply:
    """What a submit did, told from its views: sent (or its earlier result), refused by
    Partner Center or the rules (the draft is kept), or already under way elsewhere."""
    first = views[0] if views else None
    if isinstance(first, Problem) or (isinstance(first, Prompt) and first.error):
        return Reply(views, Effect.REFUSED)
    if isinstance(first, Notice) and first.message == SUBMITTING:
        return Reply(views, Effect.STALE)
    return Reply(views, Effect.CHANGED)


def _today(now: datetime) -> date:
    return now.date()


def _already_answered(flow: Flow, session: Session, today: date) -> list[View]:
    return [
        Notice(message=ALREADY_ANSWERED),
        machine.current_view(flow, session, today=today),
    ]


def _stale(views: list[View], flow: Flow, session: Session, pinned: str | None) -> Reply:
    """An input meant for a question already answered, with the answer the draft holds."""
    held = None
    if pinned is not None and pinned in session.answers:
        try:
            held = flow.step(pinned).show(session.answers[pinned])
        except KeyError:
            held = None
    return Reply(views, Effect.STALE, answer=held)


def _flow_names(flows: Mapping[str, Flow]) -> str:
    return "Try one of: " + ", ".join(f"/referral {name}" for name in flows) + "."


def _path(from_cache: bool, attempt: int) -> str:
    """How a step that wrote its draft had it (see ``rb_draft_writes``)."""
    if attempt == 0:
        return "cached" if from_cache else "read"
    return "stale"
