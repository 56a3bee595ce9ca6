"""The conversation engine: the state machine, persisted in Redis, with submits sent to
Partner Center exactly once.

Per step: one read and one compare-and-set write (one write only when this process's cache
still holds the latest version). Two inputs racing on one step: the store's compare-and-set
lets exactly one through and the other is told the step was already answered. A submit is
claimed in Redis first, so any number of concurrent clicks create one referral.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pydantic import TypeAdapter

from bot.clock import Clock
from bot.conversation.runtime import machine
from bot.conversation.runtime.machine import Effect
from bot.conversation.runtime.session import (
    Session,
    Subject,
    Submission,
    UnreadableSession,
    dump_session,
    load_session,
)
from bot.conversation.runtime.session_store import SessionStore, Stored, StoreUnavailable
from bot.conversation.views import (
    ALREADY_ANSWERED,
    Command,
    CommandName,
    Created,
    DraftSummary,
    Input,
    Notice,
    Problem,
    Prompt,
    ReferralCard,
    Seller,
    View,
)
from bot.conversation.vocabulary import to_api
from bot.conversation.vocabulary.flows import FLOWS
from bot.conversation.vocabulary.steps import Flow, Submit
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import NotFound, PartnerCenterError, PreconditionFailed
from bot.referrals.models import Referral
from bot.referrals.transitions import TransitionError

logger = logging.getLogger(__name__)

LAST_DRAFT = "last-draft"
SUBMIT_CLAIM_SECONDS = 120
"""How long a submit in progress holds its claim; a crashed submit frees it after this."""
SUBMIT_RESULT_SECONDS = 24 * 3600
"""How long a finished submit answers repeated clicks with its result."""
LAST_DRAFT_SECONDS = 30 * 24 * 3600
"""How long we remember that a draft existed, to tell "expired" from "never started"."""
START_HINT = "Start one with /referral new."
SUBMITTING = "This draft is being submitted already; one moment."
ENDED_SECONDS = 3600
"""How long a turn that ended a draft is remembered, against its delivery again."""

VIEWS: TypeAdapter[list[View]] = TypeAdapter(list[View])


@dataclass(frozen=True, slots=True)
class Conversation:
    """Who is talking, and the key their conversation is stored under (``slack:T1:U2``)."""

    key: str
    seller: Seller


@dataclass(frozen=True, slots=True)
class Reply:
    """What an input led to: the views to show, and what it did to the draft (so a chat
    front stamps a card with an answer only when the answer was taken)."""

    views: list[View]
    effect: Effect
    answer: str | None = None
    """For a STALE input: the answer the draft holds for the question it was meant for."""


MAX_DELIVERIES = 16
"""Turns remembered per draft as done; a redelivered turn is older than a few steps at most."""


@dataclass(frozen=True, slots=True)
class _Result:
    """What a submit produced; ``finished`` False keeps the draft (the seller must decide)."""

    views: list[View]
    finished: bool = True


@dataclass(slots=True)
class _Loaded:
    version: int
    session: Session


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
    ) -> None:
        self._store = store
        self._client = client
        self._clock = clock
        self._ttl = ttl_seconds
        self._flows = flows
        self._cache: OrderedDict[str, _Loaded] = OrderedDict()
        self._cache_size = cache_size

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
        try:
            if isinstance(message, Command) and message.name is CommandName.START:
                return await self._start(conversation, message.arg or "", delivery)
            return await self._step(conversation, message, delivery)
        except StoreUnavailable:
            logger.warning("conversation store unavailable for %s", conversation.key)
            self._cache.pop(conversation.key, None)
            problem = Problem(
                message="I can't reach my memory right now, so nothing changed.",
                hint="Try again in a minute; your draft is safe.",
            )
            return Reply([problem], Effect.REFUSED)
        except _Unreadable:
            problem = Problem(
                message="Your draft was saved by a different version of this bot and "
                "can't be resumed, so it was discarded. Nothing was sent.",
                hint=START_HINT,
            )
            return Reply([problem], Effect.CHANGED)

    async def draft(self, conversation: Conversation) -> DraftSummary | None:
        """The seller's draft in progress, summarised for a home page (read fresh: another
        process may have moved it on)."""
        loaded = await self._load(conversation.key, use_cache=False)
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
        self, conversation: Conversation, message: Input, delivery: str | None
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
        loaded = self._cache.get(key)
        from_cache = loaded is not None
        if loaded is None:
            loaded = await self._load(key, use_cache=False)
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
            if outcome.submit:
                return _submitted(await self._submit(conversation, flow, loaded, delivery))
            if not outcome.persist:
                if from_cache and attempt == 0:
                    fresh = await self._load(key, use_cache=False)
                    if fresh is None or fresh.version != loaded.version:
                        loaded, from_cache = fresh, False
                        continue
                if outcome.effect is Effect.STALE:
                    return _stale(list(outcome.views), flow, loaded.session, pinned)
                return Reply(list(outcome.views), outcome.effect)
            if outcome.session is None:
                await self._discard(key, loaded, delivery, list(outcome.views))
                return Reply(list(outcome.views), outcome.effect)
            written = await self._write(key, outcome.session, loaded.version, delivery)
            if written is True:
                return Reply(list(outcome.views), outcome.effect)
            loaded, from_cache = written, False  # what is stored now, read by the same trip
        if loaded is None:
            return await self._no_draft(key, message, delivery)
        flow = self._flows[loaded.session.flow]
        if delivery is not None and delivery in loaded.session.deliveries:
            return self._replayed(flow, loaded.session)
        views = _already_answered(flow, loaded.session, _today(self._clock.now()))
        return _stale(views, flow, loaded.session, pinned)

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
        existing = await self._load(conversation.key, use_cache=False)
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
            try:
                referral = await self._client.get(referral_id)
            except PartnerCenterError as error:
                return [api_problem(error)]
            if flow.name in ("close", "update") and referral.is_closed:
                return [
                    Problem(
                        message=f"This referral is already closed as {referral.substatus}.",
                        hint="A closed referral cannot be changed.",
                    )
                ]
            subject = Subject(
                referral_id=referral.id or referral_id,
                etag=referral.e_tag,
                snapshot=referral.to_wire(),
            )
        now = self._clock.now()
        session = machine.start(
            flow,
            Session(
                id=str(uuid.uuid4()),
                flow=flow.name,
                seller=conversation.seller,
                subject=subject,
                created_at=now,
                updated_at=now,
                deliveries=[delivery] if delivery is not None else [],
            ),
        )
        version = await self._store.save(
            conversation.key, dump_session(session), expected_version=None, ttl_seconds=self._ttl
        )
        if version is None:
            return Reply(
                [
                    Notice(message="A draft was just started; here it is."),
                    *await self._current(conversation.key),
                ],
                Effect.STALE,
            )
        self._remember(conversation.key, _Loaded(version, session))
        await self._store.put(
            conversation.key,
            LAST_DRAFT,
            json.dumps({"flow": flow.name, "ttl": self._ttl}).encode(),
            ttl_seconds=LAST_DRAFT_SECONDS,
        )
        return [machine.current_view(flow, session, today=_today(now))]

    async def _current(self, key: str) -> list[View]:
        loaded = await self._load(key, use_cache=False)
        if loaded is None:
            return []
        flow = self._flows[loaded.session.flow]
        return [machine.current_view(flow, loaded.session, today=_today(self._clock.now()))]

    async def _no_draft(self, key: str, message: Input, delivery: str | None = None) -> Reply:
        if delivery is not None:
            ended = await self._store.get(key, _ended(delivery))
            if ended is not None:
                # This turn ended the draft (a cancel, a submit) and is delivered again.
                return Reply(VIEWS.validate_json(ended), Effect.CHANGED)
        if isinstance(message, Command) and message.name is CommandName.CANCEL:
            return Reply([Notice(message="There is nothing to cancel.")], Effect.SHOWN)
        remembered = await self._store.get(key, LAST_DRAFT)
        if remembered is None:
            notice = Notice(message="You have no referral in progress.", detail=START_HINT)
            return Reply([notice], Effect.REFUSED)
        hours = int(json.loads(remembered).get("ttl", self._ttl)) // 3600
        notice = Notice(
            message=f"Your draft expired after {hours} hours without an answer; "
            "nothing was sent to Partner Center.",
            detail=START_HINT,
        )
        return Reply([notice], Effect.REFUSED)

    # -- submit -----------------------------------------------------------------------------

    async def _submit(
        self, conversation: Conversation, flow: Flow, cached: _Loaded, delivery: str | None = None
    ) -> list[View]:
        key = conversation.key
        # Another process may have changed the draft since this one cached it: submit only
        # what is stored now, and only if it is still complete.
        loaded = await self._load(key, use_cache=False)
        if loaded is None:
            return (await self._no_draft(key, Command(name=CommandName.SUBMIT))).views
        if loaded.version != cached.version:
            again = self._advance(flow, loaded.session, Command(name=CommandName.SUBMIT))
            if not again.submit:
                return list(again.views)
        session = loaded.session
        claim_name = f"submit:{session.id}"
        token = str(uuid.uuid4())
        claim = await self._store.claim(key, claim_name, token, ttl_seconds=SUBMIT_CLAIM_SECONDS)
        if not claim.won:
            if claim.result is not None:
                return VIEWS.validate_json(claim.result)
            return [Notice(message=SUBMITTING)]
        submitter = self._submitters()[flow.submit]
        try:
            result = await submitter(conversation, flow, loaded)
        except (PartnerCenterError, TransitionError) as error:
            await self._store.release(key, claim_name, token)
            return await self._submit_failed(key, flow, error)
        except BaseException:
            await self._store.release(key, claim_name, token)
            raise
        if not result.finished:
            await self._store.release(key, claim_name, token)
            return result.views
        await self._store.settle(
            key,
            claim_name,
            token,
            VIEWS.dump_json(result.views),
            ttl_seconds=SUBMIT_RESULT_SECONDS,
        )
        await self._finish(key, delivery, result.views)
        return result.views

    def _submitters(
        self,
    ) -> Mapping[Submit, Callable[[Conversation, Flow, _Loaded], Awaitable[_Result]]]:
        """What sends each kind of submit a flow names."""
        return {
            Submit.CREATE_REFERRAL: self._submit_new,
            Submit.UPDATE_REFERRAL: self._submit_update,
            Submit.CLOSE_REFERRAL: self._submit_close,
            Submit.ADD_TEAM_MEMBER: self._submit_team,
        }

    async def _submit_new(self, conversation: Conversation, flow: Flow, loaded: _Loaded) -> _Result:
        session = loaded.session
        created = [Referral.from_wire(wire) for wire in session.submission.created]
        if not created:
            partner = await self._client.create(
                to_api.partner_referral(flow, session.answers, session.seller)
            )
            created.append(partner)
            # Record progress before the second request, so a failure there is retried
            # without creating the first referral again.
            progressed = session.model_copy(
                update={"submission": Submission(created=[partner.to_wire()])}
            )
            await self._save(conversation.key, progressed, loaded.version)
        linked = to_api.microsoft_referral(flow, session.answers, created[0])
        if linked is not None and len(created) < 2:
            created.append(await self._client.create(linked))
        message = (
            "Created your referral and asked Microsoft for help."
            if len(created) > 1
            else "Created your referral."
        )
        return _Result([Created(referrals=tuple(created), message=message)])

    async def _submit_update(
        self, conversation: Conversation, flow: Flow, loaded: _Loaded
    ) -> _Result:
        session = loaded.session
        subject = _require_subject(session)
        current = Referral.from_wire(subject.snapshot)
        patch = to_api.update_patch(flow, session.answers, current)
        if not patch:
            return _Result(
                [Notice(message="Nothing to send: the new values match the referral's.")]
            )
        try:
            updated = await self._client.update(subject.referral_id, patch, if_match=subject.etag)
        except PreconditionFailed:
            return _Result(await self._changed_meanwhile(conversation.key, loaded), finished=False)
        referral = updated or await self._client.get(subject.referral_id)
        return _Result([ReferralCard(referral=referral, message="Updated.")])

    async def _submit_close(
        self, conversation: Conversation, flow: Flow, loaded: _Loaded
    ) -> _Result:
        subject = _require_subject(loaded.session)
        closing = to_api.closing(flow, loaded.session.answers)
        closed = await self._client.close(
            subject.referral_id, closing.substatus, reason=closing.reason
        )
        referral = closed or await self._client.get(subject.referral_id)
        message = f"Closed as {closing.substatus.lower()}."
        return _Result([ReferralCard(referral=referral, message=message)])

    async def _submit_team(
        self, conversation: Conversation, flow: Flow, loaded: _Loaded
    ) -> _Result:
        subject = _require_subject(loaded.session)
        member = to_api.team_member(flow, loaded.session.answers)
        updated = await self._client.add_team_member(subject.referral_id, member)
        referral = updated or await self._client.get(subject.referral_id)
        return _Result([ReferralCard(referral=referral, message=f"Added {member.display_name}.")])

    async def _changed_meanwhile(self, key: str, loaded: _Loaded) -> list[View]:
        """The referral moved on since it was read: show what changed and offer to re-apply."""
        session = loaded.session
        subject = _require_subject(session)
        latest = await self._client.get(subject.referral_id)
        flow = self._flows[session.flow]
        changes = _differences(flow, Referral.from_wire(subject.snapshot), latest)
        notice = (
            "While you were editing, someone changed this referral"
            + (f": {changes}." if changes else ".")
            + " Type reapply to apply your changes on top, edit FIELD to change them, "
            "or cancel."
        )
        moved = session.model_copy(
            update={
                "subject": Subject(
                    referral_id=subject.referral_id, etag=latest.e_tag, snapshot=latest.to_wire()
                ),
                "notice": notice,
                "current": None,
            }
        )
        await self._save(key, moved, loaded.version)
        return [machine.review_view(machine.Situation(flow, moved, latest))]

    async def _submit_failed(self, key: str, flow: Flow, error: Exception) -> list[View]:
        """Keep the draft and say what to fix."""
        views: list[View] = []
        if isinstance(error, PartnerCenterError):
            views.append(api_problem(error))
        else:
            views.append(Problem(message=str(error)))
        views.extend(await self._current(key))
        return views

    async def _finish(self, key: str, delivery: str | None, views: list[View]) -> None:
        if delivery is not None:
            # The draft is gone next: the submit delivered again must find its result.
            await self._store.put(
                key, _ended(delivery), VIEWS.dump_json(views), ttl_seconds=ENDED_SECONDS
            )
        loaded = await self._load(key, use_cache=False)
        if loaded is not None:
            await self._store.delete(key, expected_version=loaded.version)
        await self._store.forget(key, LAST_DRAFT)
        self._cache.pop(key, None)

    # -- storage ----------------------------------------------------------------------------

    async def _load(self, key: str, *, use_cache: bool) -> _Loaded | None:
        if use_cache and key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        stored = await self._store.load(key)
        if stored is None:
            self._cache.pop(key, None)
            return None
        try:
            return self._loaded(key, stored)
        except _Unreadable as unreadable:
            await self._store.delete(key, expected_version=stored.version)
            raise unreadable from None

    def _loaded(self, key: str, stored: Stored) -> _Loaded:
        try:
            session = load_session(stored.data)
        except UnreadableSession as reason:
            logger.warning("discarding unreadable draft %s: %s", key, reason)
            raise _Unreadable(stored.version) from None
        loaded = _Loaded(stored.version, session)
        self._remember(key, loaded)
        return loaded

    async def _save(self, key: str, session: Session, expected_version: int) -> bool:
        version = await self._store.save(
            key, dump_session(session), expected_version=expected_version, ttl_seconds=self._ttl
        )
        if version is None:
            self._cache.pop(key, None)
            return False
        self._remember(key, _Loaded(version, session))
        return True

    async def _write(
        self, key: str, session: Session, expected_version: int, delivery: str | None = None
    ) -> Literal[True] | _Loaded | None:
        """Compare-and-set ``session``: True when written, else what is stored now (or None).

        One round trip either way: on a conflict the store answers with its current copy.
        ``delivery``, the turn making the change, is recorded in the same write.
        """
        update: dict[str, object] = {"write_id": uuid.uuid4().hex}
        if delivery is not None:
            update["deliveries"] = [*session.deliveries[1 - MAX_DELIVERIES :], delivery]
        session = session.model_copy(update=update)
        data = dump_session(session)
        result = await self._store.save_or_current(
            key, data, expected_version=expected_version, ttl_seconds=self._ttl
        )
        if isinstance(result, int):
            self._remember(key, _Loaded(result, session))
            return True
        self._cache.pop(key, None)
        if result is None:
            return None
        if result.data == data:
            # Our own write, whose reply was lost and the command retried.
            self._remember(key, _Loaded(result.version, session))
            return True
        return self._loaded(key, result)

    async def _discard(
        self, key: str, loaded: _Loaded, delivery: str | None, views: list[View]
    ) -> None:
        if delivery is not None:
            # Before the delete: a turn delivered again after it must find what it did.
            await self._store.put(
                key, _ended(delivery), VIEWS.dump_json(views), ttl_seconds=ENDED_SECONDS
            )
        if not await self._store.delete(key, expected_version=loaded.version):
            fresh = await self._load(key, use_cache=False)
            if fresh is not None:
                await self._store.delete(key, expected_version=fresh.version)
        await self._store.forget(key, LAST_DRAFT)
        self._cache.pop(key, None)

    def _remember(self, key: str, loaded: _Loaded) -> None:
        self._cache[key] = loaded
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


def _ended(delivery: str) -> str:
    return f"ended:{delivery}"


def _submitted(views: list[View]) -> Reply:
    """What a submit did, told from its views: sent (or its earlier result), refused by
    Partner Center or the rules (the draft is kept), or already under way elsewhere."""
    first = views[0] if views else None
    if isinstance(first, Problem) or (isinstance(first, Prompt) and first.error):
        return Reply(views, Effect.REFUSED)
    if isinstance(first, Notice) and first.message == SUBMITTING:
        return Reply(views, Effect.STALE)
    return Reply(views, Effect.CHANGED)


class _Unreadable(Exception):
    """A stored draft this version cannot read; it is deleted and the seller told."""


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


def _require_subject(session: Session) -> Subject:
    if session.subject is None:
        raise TransitionError(
            "This draft has no referral to work on.", current=("", ""), requested=("", "")
        )
    return session.subject


def api_problem(error: PartnerCenterError) -> Problem:
    """A refusal from Partner Center, in words, with what to do and the request id."""
    hint = None
    if isinstance(error, NotFound):
        hint = "Check the id: /referral list shows your referrals."
    elif error.target:
        hint = f"Partner Center pointed at {error.target}; fix it with edit FIELD, then submit."
    return Problem(
        message=f"Partner Center said: {error.message}",
        hint=hint,
        reference=error.request_id or error.correlation_id,
    )


def _flow_names(flows: Mapping[str, Flow]) -> str:
    return "Try one of: " + ", ".join(f"/referral {name}" for name in flows) + "."


def _differences(flow: Flow, before: Referral, after: Referral) -> str:
    changes: list[str] = []
    for step in flow.steps:
        old, new = step.current(before), step.current(after)
        if old != new:
            shown_old = step.show(old) if old is not None else "empty"
            shown_new = step.show(new) if new is not None else "empty"
            changes.append(f"{step.label} {shown_old} → {shown_new}")
    return "; ".join(changes)
