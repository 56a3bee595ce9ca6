"""Sending a finished draft to Partner Center, exactly once.

The engine hands :class:`Submitter` a complete draft, as stored now. The submit is claimed
in Redis first, so any number of concurrent clicks (in any process) send it once: the others
are told it is under way or, once it is done, shown its result. Round trips:

claim
    one set-if-absent of ``submit:<draft id>`` (:meth:`SessionStore.claim`).
send, by the flow's :class:`Submit` kind
    create: ``POST`` the referral, and a compare-and-set write of the draft recording it
    (so a retry after a later failure does not create it again); with a co-sell, ``POST``
    the linked referral asking Microsoft for help.
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

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from bot.clock import Clock
from bot.conversation.runtime import machine
from bot.conversation.runtime.drafts import VIEWS, Drafts, Loaded
from bot.conversation.runtime.session import Session, Subject, Submission
from bot.conversation.runtime.session_store import SessionStore
from bot.conversation.views import Created, Notice, Problem, ReferralCard, View
from bot.conversation.vocabulary import to_api
from bot.conversation.vocabulary.steps import Flow, Submit
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import NotFound, PartnerCenterError, PreconditionFailed
from bot.referrals.models import Referral
from bot.referrals.transitions import TransitionError

SUBMIT_CLAIM_SECONDS = 120
"""How long a submit in progress holds its claim; a crashed submit frees it after this."""
SUBMIT_RESULT_SECONDS = 24 * 3600
"""How long a finished submit answers repeated clicks with its result."""
SUBMITTING = "This draft is being submitted already; one moment."


@dataclass(frozen=True, slots=True)
class _Result:
    """What a submit produced; ``finished`` False keeps the draft (the seller must decide)."""

    views: list[View]
    finished: bool = True


_Send = Callable[[str, Flow, Loaded], Awaitable[_Result]]


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
    ) -> None:
        self._store = store
        self._drafts = drafts
        self._client = client
        self._flows = flows
        self._clock = clock
        self._senders: Mapping[Submit, _Send] = {
            Submit.CREATE_REFERRAL: self._create,
            Submit.UPDATE_REFERRAL: self._update,
            Submit.CLOSE_REFERRAL: self._close,
            Submit.ADD_TEAM_MEMBER: self._add_team_member,
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
        claim = await self._store.claim(key, claim_name, token, ttl_seconds=SUBMIT_CLAIM_SECONDS)
        if not claim.won:
            if claim.result is not None:
                return VIEWS.validate_json(claim.result)
            return [Notice(message=SUBMITTING)]
        send = self._senders[flow.submit]
        try:
            result = await send(key, flow, loaded)
        except (PartnerCenterError, TransitionError) as error:
            await self._store.release(key, claim_name, token)
            return await self._failed(key, error)
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
        await self._drafts.finish(key, delivery, result.views)
        return result.views

    # -- senders, one per Submit kind --------------------------------------------------------

    async def _create(self, key: str, flow: Flow, loaded: Loaded) -> _Result:
        """The referral, and with a co-sell the linked referral asking Microsoft for help."""
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
            await self._drafts.save(key, progressed, loaded.version)
        linked = to_api.microsoft_referral(flow, session.answers, created[0])
        if linked is not None and len(created) < 2:
            created.append(await self._client.create(linked))
        message = (
            "Created your referral and asked Microsoft for help."
            if len(created) > 1
            else "Created your referral."
        )
        return _Result([Created(referrals=tuple(created), message=message)])

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
            updated = await self._client.update(subject.referral_id, patch, if_match=subject.etag)
        except PreconditionFailed:
            return _Result(await self._changed_meanwhile(key, loaded), finished=False)
        referral = updated or await self._client.get(subject.referral_id)
        return _Result([ReferralCard(referral=referral, message="Updated.")])

    async def _close(self, key: str, flow: Flow, loaded: Loaded) -> _Result:
        subject = _require_subject(loaded.session)
        closing = to_api.closing(flow, loaded.session.answers)
        closed = await self._client.close(
            subject.referral_id, closing.substatus, reason=closing.reason
        )
        referral = closed or await self._client.get(subject.referral_id)
        message = f"Closed as {closing.substatus.lower()}."
        return _Result([ReferralCard(referral=referral, message=message)])

    async def _add_team_member(self, key: str, flow: Flow, loaded: Loaded) -> _Result:
        subject = _require_subject(loaded.session)
        member = to_api.team_member(flow, loaded.session.answers)
        updated = await self._client.add_team_member(subject.referral_id, member)
        referral = updated or await self._client.get(subject.referral_id)
        return _Result([ReferralCard(referral=referral, message=f"Added {member.display_name}.")])

    # -- outcomes ----------------------------------------------------------------------------

    async def _changed_meanwhile(self, key: str, loaded: Loaded) -> list[View]:
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
        await self._drafts.save(key, moved, loaded.version)
        return [machine.review_view(machine.Situation(flow, moved, latest))]

    async def _failed(self, key: str, error: Exception) -> list[View]:
        """Keep the draft and say what to fix."""
        views: list[View] = []
        if isinstance(error, PartnerCenterError):
            views.append(api_problem(error))
        else:
            views.append(Problem(message=str(error)))
        views.extend(await self._drafts.current(key, self._flows, self._clock))
        return views


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
