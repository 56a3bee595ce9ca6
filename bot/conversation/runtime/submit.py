"""Sending a finished draft to Partner Center, exactly once.

The engine hands :class:`Submitter` a complete draft, as stored now. The submit is claimed
in Redis first, so any number of concurrent clicks (in any process) send it once: the others
are told it is under way or, once it is done, shown its result. Round trips:

claim
    one set-if-absent of ``submit:<draft id>`` (:meth:`SessionStore.claim`). The holder
    renews it every ``claim_seconds / 3`` while it works, so a holder that died frees it
    within ``claim_seconds``; a click finding it held waits that long for the holder's result
    (or takes over from a holder gone).
send, by the flow's :class:`Submit` kind
    create: a compare-and-set write of the draft naming the create about to be sent, ``POST``
    the referral carrying the draft's idempotency key in ``externalReferenceId`` (the draft
    id), and a compare-and-set write of the draft recording it (so a retry after a later
    failure does not create it again); with a co-sell, the same for the linked referral
    asking Microsoft for help (key ``<draft id>-microsoft``). A create sent before without a
    known outcome (no answer, a stop mid-request) is first looked for by its key (a ``GET``
    with ``$filter``), and so is one whose answer is lost now: what is found is used.
    update: ``PATCH`` with ``If-Match``, the ETag of the referral as the draft read it; a 412
    (someone changed it meanwhile) costs a ``GET`` of it and a compare-and-set write of the
    draft showing what changed, kept for the seller to re-apply.
    close: ``GET``, then ``PATCH`` with ``If-Match``. add team member: ``PATCH``.
    An update, close or team change answered without the referral reads it (``GET``).
settle or release
    one write: a sent submit settles its claim with its views, which answer repeated clicks
    for a day; a refused one (by Partner Center or the rules), or one waiting for the seller,
    releases it. A refused draft is kept and read again, to show where it stands.
finish
    a sent draft is deleted (:meth:`Drafts.finish`).

:func:`api_problem` words a refusal from Partner Center, here and for the chat front.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bot.clock import Clock
from bot.conversation.runtime import machine
from bot.conversation.runtime.drafts import VIEWS, Drafts, Loaded
from bot.conversation.runtime.session import Session, Subject
from bot.conversation.runtime.session_store import SessionStore
from bot.conversation.views import Created, Notice, Problem, ReferralCard, Seller, View
from bot.conversation.vocabulary import to_api
from bot.conversation.vocabulary.steps import Flow, Submit
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import (
    Forbidden,
    NotFound,
    OutcomeUnknown,
    PartnerCenterError,
    PreconditionFailed,
)
from bot.referrals.models import DealRegistration, Referral
from bot.referrals.transitions import TransitionError
from bot.renewing import renewing

logger = logging.getLogger(__name__)

SUBMIT_CLAIM_SECONDS = 15
"""How long a submit's claim outlives the last sign of life of its holder (which renews it
every third of this while it works): a holder that died frees the draft after this."""
CLAIM_POLL_SECONDS = 0.25
"""How often a submit finding the claim held looks again, waiting for the holder's result."""
MICROSOFT_KEY_SUFFIX = "-microsoft"
"""The co-sell's linked referral carries the draft id with this suffix as its own key."""
UNCONFIRMED = (
    "Partner Center did not answer in time, so I'm checking whether Partner Center received "
    "it before sending it again."
)
UNCONFIRMED_HINT = (
    "Submit again in a minute: if it arrived, you get the referral it made; if not, it is sent."
)
NOT_RECEIVED = "Partner Center did not answer in time, and has no referral from this draft."
NOT_RECEIVED_HINT = (
    "Submit again to send it; should the first one arrive meanwhile, it is used instead."
)
SUBMIT_RESULT_SECONDS = 24 * 3600
"""How long a finished submit answers repeated clicks with its result."""
SUBMITTING = "This draft is being submitted already; one moment."


@dataclass(frozen=True, slots=True)
class _Result:
    """What a submit produced; ``finished`` False keeps the draft (the seller must decide)."""

    views: list[View]
    finished: bool = True


_Send = Callable[[str, Flow, Loaded], Awaitable[_Result]]


class Unconfirmed(PartnerCenterError):
    """A create may have reached Partner Center, and looking for it failed too: nothing may
    be sent again until a look finds it or proves it absent."""


class _DraftMoved(Exception):
    """The draft changed in the store while it was being submitted."""


Sent = Callable[[Referral], Awaitable[object]]
"""Told of each referral as a submit left it (created, updated, closed)."""


class Refused(Exception):
    """The rules refuse to send a finished draft (nothing was sent); ``hint`` says what to
    do. The draft is kept."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True, slots=True)
class RegistrationRequest:
    """A finished deal-registration draft, to be approved before it is sent."""

    draft_id: str
    """The draft's id: the request's own, so filing it twice files it once."""
    requester: str
    """The requester's conversation key."""
    seller: Seller
    reply_to: Mapping[str, Any]
    referral: Referral
    registration: DealRegistration
    checks: Mapping[str, Any]
    """What was checked before the draft started (its eligibility report)."""


class RegistrationRequests(Protocol):
    """Where finished deal registrations go for approval."""

    async def file(self, request: RegistrationRequest) -> list[View]:
        """Ask approvers (once per draft id); what to tell the requester. :class:`Refused`
        when there is nowhere to ask."""
        ...


class Submitter:
    """Sends finished drafts to Partner Center, once each."""

    def __init__(
        self,
        store: SessionStore,
        drafts: Drafts,
        client: PartnerCenterClient,
        *,
        flows: Mapping[str, Flow],
        clock: Clock,
        claim_seconds: int = SUBMIT_CLAIM_SECONDS,
        sent: Sent | None = None,
        requests: RegistrationRequests | None = None,
    ) -> None:
        if claim_seconds < 1:
            raise ValueError("claim_seconds must be at least 1")
        self._claim_seconds = claim_seconds
        self._store = store
        self._drafts = drafts
        self._client = client
        self._flows = flows
        self._clock = clock
        self._sent = sent
        self._requests = requests
        self._senders: Mapping[Submit, _Send] = {
            Submit.CREATE_REFERRAL: self._create,
            Submit.UPDATE_REFERRAL: self._update,
            Submit.CLOSE_REFERRAL: self._close,
            Submit.ADD_TEAM_MEMBER: self._add_team_member,
            Submit.REQUEST_REGISTRATION: self._request_registration,
        }

    async def submit(
        self, key: str, flow: Flow, loaded: Loaded, delivery: str | None = None
    ) -> list[View]:
        """Send the complete draft ``loaded`` of conversation ``key`` (unless another click
        already does) and say what came of it.

        Sent: its result, and the draft is gone. Refused: why, and the draft is kept. Sent or
        being sent by another click: that result, or a notice that it is under way.
        """
        session = loaded.session
        claim_name = f"submit:{session.id}"
        token = str(uuid.uuid4())
        claim = await self._take(key, claim_name, token)
        if not claim.won:
            if claim.result is not None:
                return VIEWS.validate_json(claim.result)
            return [Notice(message=SUBMITTING)]
        send = self._senders[flow.submit]
        try:
            async with self._holding(key, claim_name, token):
                if claim.waited:
                    # Taken over from a holder that stopped: work on the draft as it left it.
                    fresh = await self._drafts.load(key)
                    if fresh is None:
                        await self._store.release(key, claim_name, token)
                        return [Notice(message=SUBMITTING)]
                    loaded = fresh
                result = await send(key, flow, loaded)
        except (PartnerCenterError, TransitionError, _DraftMoved, Refused) as error:
            await self._store.release(key, claim_name, token)
            return await self._failed(key, error)
        except BaseException:
            # Stopped (a worker's drain cancels what is under way) or broken: free the draft
            # even while being cancelled, for the next submit to resume (it looks for any
            # create sent here by its key before sending it again).
            await _shielded(self._store.release(key, claim_name, token))
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
        await self._drafts.finish(key, delivery, result.views)
        await self._tell(result.views)
        return result.views

    async def _tell(self, views: list[View]) -> None:
        """Tell ``sent`` of the referrals a submit left: best effort, after the fact (the poll
        and webhooks see the change too, a little later)."""
        if self._sent is None:
            return
        for view in views:
            referrals = (
                view.referrals
                if isinstance(view, Created)
                else (view.referral,)
                if isinstance(view, ReferralCard)
                else ()
            )
            for referral in referrals:
                try:
                    await self._sent(referral)
                except Exception as error:  # noqa: BLE001 - the submit stands; logged
                    logger.warning("could not record the change of %s: %s", referral.id, error)

    # -- senders, one per Submit kind --------------------------------------------------------

    async def _create(self, key: str, flow: Flow, loaded: Loaded) -> _Result:
        """The referral, and with a co-sell the linked referral asking Microsoft for help."""
        session = loaded.session
        created = [Referral.from_wire(wire) for wire in session.submission.created]
        if not created:
            partner = to_api.partner_referral(flow, session.answers, session.seller)
            partner.external_reference_id = session.id
            made, loaded = await self._create_once(key, loaded, partner)
            created.append(made)
            # Record progress before the second request, so a failure there is retried
            # without creating the first referral again.
            loaded = await self._record(key, loaded, created=[made.to_wire()])
        linked = to_api.microsoft_referral(flow, session.answers, created[0])
        if linked is not None and len(created) < 2:
            linked.external_reference_id = session.id + MICROSOFT_KEY_SUFFIX
            made, loaded = await self._create_once(key, loaded, linked)
            created.append(made)
        message = (
            "Created your referral and asked Microsoft for help."
            if len(created) > 1
            else "Created your referral."
        )
        return _Result([Created(referrals=tuple(created), message=message)])

    async def _create_once(
        self, key: str, loaded: Loaded, referral: Referral
    ) -> tuple[Referral, Loaded]:
        """Create ``referral`` unless its key finds it created already: one referral per key.

        The key is written to the draft before the request, so whatever becomes of the
        request (no answer, a stop mid-way, this process killed) the next attempt knows to
        look for it first.
        """
        idempotency_key = referral.external_reference_id
        assert idempotency_key is not None
        if idempotency_key in loaded.session.submission.sent:
            found = await self._look_for(key, idempotency_key, None)
            if found is not None:
                logger.info("create %s had reached Partner Center: %s", idempotency_key, found.id)
                return found, loaded
        else:
            sent = [*loaded.session.submission.sent, idempotency_key]
            loaded = await self._record(key, loaded, sent=sent)
        try:
            return await self._client.acting_for(key).create(referral), loaded
        except OutcomeUnknown as unclear:
            logger.warning(
                "create %s: outcome unknown (%s); looking for it", idempotency_key, unclear
            )
            found = await self._look_for(key, idempotency_key, unclear)
            if found is None:
                raise
            return found, loaded

    async def _look_for(
        self, key: str, idempotency_key: str, cause: Exception | None
    ) -> Referral | None:
        """The referral created with ``idempotency_key``; :class:`Unconfirmed` when the look
        itself fails."""
        try:
            return await self._client.acting_for(key).find_by_external_reference(idempotency_key)
        except PartnerCenterError as error:
            logger.warning("cannot look for create %s: %s", idempotency_key, error)
            raise Unconfirmed(
                UNCONFIRMED,
                request_id=error.request_id,
                correlation_id=error.correlation_id
                or (cause.correlation_id if isinstance(cause, PartnerCenterError) else None),
            ) from (cause or error)

    async def _record(
        self,
        key: str,
        loaded: Loaded,
        *,
        created: list[dict[str, object]] | None = None,
        sent: list[str] | None = None,
    ) -> Loaded:
        """Write the submit's progress into the draft (compare-and-set); the draft as now."""
        submission = loaded.session.submission
        update: dict[str, object] = {}
        if created is not None:
            update["created"] = created
        if sent is not None:
            update["sent"] = sent
        session = loaded.session.model_copy(
            update={"submission": submission.model_copy(update=update)}
        )
        if not await self._drafts.save(key, session, loaded.version):
            raise _DraftMoved(
                "This draft changed while it was being sent; review it and submit again."
            )
        now = self._drafts.cached(key)
        assert now is not None
        return now

    async def _update(self, key: str, flow: Flow, loaded: Loaded) -> _Result:
        """A patch of the fields that changed, if the referral is still as it was read."""
        session = loaded.session
        subject = _require_subject(session)
        current = Referral.from_wire(subject.snapshot)
        patch = to_api.update_patch(flow, session.answers, current)
        if not patch:
            return _Result(
                [Notice(message="Nothing to send: the new values match the referral's.")]
            )
        try:
            updated = await self._client.acting_for(key).update(
                subject.referral_id, patch, if_match=subject.etag
            )
        except PreconditionFailed:
            return _Result(await self._changed_meanwhile(key, loaded), finished=False)
        referral = updated or await self._client.acting_for(key).get(subject.referral_id)
        return _Result([ReferralCard(referral=referral, message="Updated.")])

    async def _close(self, key: str, flow: Flow, loaded: Loaded) -> _Result:
        subject = _require_subject(loaded.session)
        closing = to_api.closing(flow, loaded.session.answers)
        closed = await self._client.acting_for(key).close(
            subject.referral_id, closing.substatus, reason=closing.reason
        )
        referral = closed or await self._client.acting_for(key).get(subject.referral_id)
        message = f"Closed as {closing.substatus.lower()}."
        return _Result([ReferralCard(referral=referral, message=message)])

    async def _add_team_member(self, key: str, flow: Flow, loaded: Loaded) -> _Result:
        subject = _require_subject(loaded.session)
        member = to_api.team_member(flow, loaded.session.answers)
        updated = await self._client.acting_for(key).add_team_member(subject.referral_id, member)
        referral = updated or await self._client.acting_for(key).get(subject.referral_id)
        return _Result([ReferralCard(referral=referral, message=f"Added {member.display_name}.")])

    async def _request_registration(self, key: str, flow: Flow, loaded: Loaded) -> _Result:
        """Nothing goes to Partner Center yet: approvers are asked, and only a registration
        one of them approves is sent (:mod:`bot.conversation.chat.approving`)."""
        session = loaded.session
        subject = _require_subject(session)
        if self._requests is None:
            raise Refused("Deal registrations are not taken here: approvers decide them in chat.")
        try:
            registration = to_api.registration(flow, session.answers)
        except ValueError as invalid:
            raise Refused(str(invalid), hint="Fix it with edit FIELD, then submit.") from None
        request = RegistrationRequest(
            draft_id=session.id,
            requester=key,
            seller=session.seller,
            reply_to=session.reply_to,
            referral=Referral.from_wire(subject.snapshot),
            registration=registration,
            checks=subject.checks,
        )
        return _Result(await self._requests.file(request))

    # -- outcomes ----------------------------------------------------------------------------

    async def _changed_meanwhile(self, key: str, loaded: Loaded) -> list[View]:
        """The referral moved on since it was read: show what changed and offer to re-apply."""
        session = loaded.session
        subject = _require_subject(session)
        latest = await self._client.acting_for(key).get(subject.referral_id)
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
        await self._drafts.save(key, moved, loaded.version)
        return [machine.review_view(machine.Situation(flow, moved, latest))]

    async def _take(self, key: str, name: str, token: str) -> _Taken:
        """The submit's claim, waiting up to ``claim_seconds`` for a holder at work to finish
        (its result) or for the claim of a holder gone to lapse (taken over)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._claim_seconds + 1
        waited = False
        while True:
            claim = await self._store.claim(key, name, token, ttl_seconds=self._claim_seconds)
            if claim.won or claim.result is not None or loop.time() >= deadline:
                return _Taken(claim.won, claim.result, waited)
            waited = True
            await asyncio.sleep(CLAIM_POLL_SECONDS)

    def _holding(
        self, key: str, name: str, token: str
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """Renew the claim while the submit works, so only a holder gone loses it."""

        async def renew() -> None:
            try:
                await self._store.renew(key, name, token, self._claim_seconds)
            except Exception as error:  # noqa: BLE001 - the claim lapses; the key protects
                logger.warning("cannot renew the submit claim of %s: %s", key, error)

        return renewing(self._claim_seconds / 3, renew)

    async def _failed(self, key: str, error: Exception) -> list[View]:
        """Keep the draft and say what to fix."""
        views: list[View] = []
        if isinstance(error, Unconfirmed):
            views.append(
                Problem(
                    message=UNCONFIRMED,
                    hint=UNCONFIRMED_HINT,
                    reference=error.request_id or error.correlation_id,
                )
            )
        elif isinstance(error, OutcomeUnknown):
            views.append(
                Problem(
                    message=NOT_RECEIVED,
                    hint=NOT_RECEIVED_HINT,
                    reference=error.request_id or error.correlation_id,
                )
            )
        elif isinstance(error, PartnerCenterError):
            views.append(api_problem(error))
        elif isinstance(error, Refused):
            views.append(Problem(message=error.message, hint=error.hint))
        else:
            views.append(Problem(message=str(error)))
        views.extend(await self._drafts.current(key, self._flows, self._clock))
        return views


@dataclass(frozen=True, slots=True)
class _Taken:
    """A claim as :meth:`Submitter._take` found it; ``waited``: it was held by another."""

    won: bool
    result: bytes | None
    waited: bool


async def _shielded(work: Awaitable[object]) -> None:
    """Finish ``work`` even when the caller is being cancelled (it is still cancelled)."""
    task = asyncio.ensure_future(work)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(task), timeout=5)
        raise
    except Exception as error:  # noqa: BLE001 - freeing the claim is best effort
        logger.warning("cannot free a submit claim: %s", error)


ROLES_NEEDED = (
    "Your Partner Center account needs the Referrals Admin role, or the Referrals User role "
    "and a place on this referral's team. Ask your Partner Center admin; /referral whoami "
    "shows whom you are signed in as."
)


def api_problem(error: PartnerCenterError) -> Problem:
    """A refusal from Partner Center, in words, with what to do and the request id."""
    hint = None
    if isinstance(error, NotFound):
        hint = "Check the id: /referral list shows your referrals."
    elif isinstance(error, Forbidden):
        hint = ROLES_NEEDED
    elif error.target:
        hint = f"Partner Center pointed at {error.target}; fix it with edit FIELD, then submit."
    return Problem(
        message=f"Partner Center said: {error.message}",
        hint=hint,
        reference=error.request_id or error.correlation_id,
    )


def _require_subject(session: Session) -> Subject:
    if session.subject is None:
        raise TransitionError(
            "This draft has no referral to work on.", current=("", ""), requested=("", "")
        )
    return session.subject


def _differences(flow: Flow, before: Referral, after: Referral) -> str:
    changes: list[str] = []
    for step in flow.steps:
        old, new = step.current(before), step.current(after)
        if old != new:
            shown_old = step.show(old) if old is not None else "empty"
            shown_new = step.show(new) if new is not None else "empty"
            changes.append(f"{step.label} {shown_old} → {shown_new}")
    return "; ".join(changes)
