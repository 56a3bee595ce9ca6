"""Deal registrations approved in chat: asked for by a seller, decided by an approver, and
only then sent to Partner Center.

Two parts, one per side of the job stream:

* :class:`~.approval_requests.ApprovalRequests` is the engine's: before a ``register`` draft
  starts it checks both eligibilities (the partner's and the referral's) and that an
  approvals channel is set; when the draft is submitted it files the request (once per
  draft) and queues the posting of its card.
* :class:`ApprovalTurns` (here) is the turn pipeline's and the worker's: it posts a request's card
  in the approvals channel, answers clicks on it (Approve, Reject with a reason, Retry,
  Withdraw), the ``/referral approvals`` and ``withdraw`` commands, and expires requests left
  unanswered.

Every decision is one atomic move in :class:`~bot.approvals.store.Approvals`, checked on the
server on every click: only approvers (``APPROVERS``) decide, never on their own request, and
of two approvers clicking at once one decides and the other is told who did. The approver
who approves sends the registration as themselves when sellers sign in to Partner Center
(as the integration user otherwise); :func:`~bot.approvals.sending.send_registration` reads
the referral before each send, so a send whose outcome was lost is never repeated. Who may
decide and where requests go are in :mod:`.approval_rules`; the cards in
:mod:`.approval_cards`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.approvals.places import ApprovalPlaces
from bot.approvals.sending import KeptChanging, send_registration
from bot.approvals.store import (
    Approval,
    Approvals,
    ApprovalStatus,
    Posted,
    UnknownApproval,
)
from bot.clock import Clock
from bot.conversation.chat.approval_cards import (
    approval_card,
    outcome_for_requester,
    who_decided,
)
from bot.conversation.chat.approval_requests import ApprovalRequests
from bot.conversation.chat.approval_rules import (
    BOT,
    GONE,
    LISTED,
    NOT_AN_APPROVER,
    NOT_THE_REQUESTER,
    OPEN,
    OWN_REQUEST,
    POST_CARD,
    TELL_REQUESTER,
    ApprovalRules,
    display_name,
    place_for,
    platform_of,
)
from bot.conversation.chat.commands import ApprovalCommand
from bot.conversation.chat.turns import Replier, Turn
from bot.conversation.runtime.submit import Sent, api_problem
from bot.conversation.views import (
    ApprovalCard,
    ApprovalList,
    Decision,
    Notice,
    Problem,
    Seller,
    View,
)
from bot.jobs import Job, JobHandler, JobQueue, UnreadableJob
from bot.notifications.channels import Channel
from bot.partner_center.auth import SignInRequired
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import PartnerCenterError
from bot.referrals.models import DealRegistration

__all__ = ["ApprovalRequests", "ApprovalRules", "ApprovalTurns", "approval_handlers"]

logger = logging.getLogger(__name__)


class ApprovalTurns:
    """The worker's side: cards, clicks, commands and expiry."""

    def __init__(
        self,
        approvals: Approvals,
        places: ApprovalPlaces,
        client: PartnerCenterClient,
        rules: ApprovalRules,
        *,
        repliers: Mapping[str, Replier],
        jobs: JobQueue,
        clock: Clock,
        sent: Sent | None = None,
    ) -> None:
        self._jobs = jobs
        self._approvals = approvals
        self._places = places
        self._client = client
        self._rules = rules
        self._repliers = dict(repliers)
        self._clock = clock
        self._sent = sent

    # -- clicks -----------------------------------------------------------------------------

    async def refusal(
        self, turn: Turn, replier: Replier, decision: Decision, *, decided: bool = False
    ) -> list[View]:
        """Why this person may not make ``decision`` (checked before they are asked to sign
        in); empty when they may. ``decided``: a request no longer open is refused too, with
        who decided it (the web process's check; a worker finishing its own send must not be
        refused for the approval it made)."""
        try:
            approval = await self._approvals.get(decision.approval)
        except UnknownApproval:
            return [GONE]
        if decided and approval.status not in (ApprovalStatus.PENDING, ApprovalStatus.FAILED):
            return [Notice(message=who_decided(approval))]
        return await self._refused(turn, replier, approval, decision)

    async def decide(
        self, turn: Turn, replier: Replier, decision: Decision, *, attempt: str
    ) -> list[View]:
        """Apply a click on an approval card; what to tell the clicker (privately).

        Who may decide is checked again here, on the request as it stands when the work is
        done. ``attempt`` names this piece of work: run again after its worker died, it
        finishes the send it started instead of being told the request was approved already.
        """
        try:
            approval = await self._approvals.get(decision.approval)
        except UnknownApproval:
            return [GONE]
        refused = await self._refused(turn, replier, approval, decision)
        if refused:
            logger.warning(
                "%s may not %s %s: refused", turn.conversation, decision.verdict, approval.id
            )
            return refused
        if decision.verdict == "withdraw":
            return await self._withdraw(turn, approval)
        name = display_name(await replier.profile(turn))
        if decision.verdict == "reject":
            return await self._reject(turn, approval, decision.reason, name)
        return await self._approve(turn, approval, name, attempt)

    async def _refused(
        self, turn: Turn, replier: Replier, approval: Approval, decision: Decision
    ) -> list[View]:
        """Only the requester withdraws; only approvers decide, never on their own request."""
        own = turn.conversation == approval.request.requester
        if decision.verdict == "withdraw":
            return [] if own else [NOT_THE_REQUESTER]
        if own:
            return [OWN_REQUEST]
        if not await replier.named_by(turn, self._rules.approvers):
            return [NOT_AN_APPROVER]
        return []

    async def _approve(self, turn: Turn, approval: Approval, name: str, attempt: str) -> list[View]:
        moved = await self._approvals.move(
            approval.id,
            ApprovalStatus.APPROVED,
            by=turn.conversation,
            by_name=name,
            now=self._clock.now(),
            sender=attempt,
        )
        resumed = (
            moved.approval.status is ApprovalStatus.APPROVED and moved.approval.sender == attempt
        )
        if not moved.moved and not resumed:
            return await self._decided_before(turn, moved.approval)
        approved = moved.approval
        # The card changes once, when Partner Center answered (Slack allows about 50 card
        # updates a minute per workspace); a click meanwhile is told who approved.
        client = self._client.acting_for(turn.conversation)
        registration = DealRegistration.from_wire(approved.request.registration)
        try:
            sent = await send_registration(client, approved.request.referral_id, registration)
        except SignInRequired as needed:
            reason = "The approver's Partner Center sign-in has ended; sign in again and Retry."
            await self._finish(approved, ApprovalStatus.FAILED, turn, name, reason=reason)
            raise needed
        except (PartnerCenterError, KeptChanging) as error:
            problem = api_problem(error) if isinstance(error, PartnerCenterError) else None
            reason = problem.message if problem is not None else str(error)
            request_id = error.request_id if isinstance(error, PartnerCenterError) else None
            await self._finish(
                approved, ApprovalStatus.FAILED, turn, name, reason=reason, request_id=request_id
            )
            return []
        await self._finish(
            approved, ApprovalStatus.SUBMITTED, turn, name, request_id=sent.request_id
        )
        if sent.referral is not None and self._sent is not None:
            try:
                await self._sent(sent.referral)
            except Exception as error:  # noqa: BLE001 - the registration stands; logged
                logger.warning("could not record the change of %s: %s", sent.referral.id, error)
        return []

    async def _reject(
        self, turn: Turn, approval: Approval, reason: str | None, name: str
    ) -> list[View]:
        reason = (reason or "").strip()
        if not reason:
            return [
                Problem(
                    message="Say why it is rejected, so the requester can fix it; nothing changed.",
                    hint="Type the reason on the card, then click Reject.",
                )
            ]
        moved = await self._approvals.move(
            approval.id,
            ApprovalStatus.REJECTED,
            by=turn.conversation,
            by_name=name,
            now=self._clock.now(),
            reason=reason[:1000],
        )
        if not moved.moved:
            return await self._decided_before(turn, moved.approval)
        await self._told(moved.approval, turn)
        return []

    async def _withdraw(self, turn: Turn, approval: Approval) -> list[View]:
        moved = await self._approvals.move(
            approval.id,
            ApprovalStatus.WITHDRAWN,
            by=turn.conversation,
            by_name=approval.request.requester_name,
            now=self._clock.now(),
        )
        if not moved.moved:
            return await self._decided_before(turn, moved.approval)
        await self._show(moved.approval, turn)
        return [Notice(message="Withdrawn. The approvers' card says so; nothing was sent.")]

    async def _finish(
        self,
        approval: Approval,
        to: ApprovalStatus,
        turn: Turn,
        name: str,
        *,
        reason: str | None = None,
        request_id: str | None = None,
    ) -> None:
        moved = await self._approvals.move(
            approval.id,
            to,
            by=turn.conversation,
            by_name=name,
            now=self._clock.now(),
            reason=reason,
            request_id=request_id,
        )
        await self._told(moved.approval, turn)

    async def _decided_before(self, turn: Turn, approval: Approval) -> list[View]:
        """A click that came too late: who decided, and the card as it stands."""
        told = who_decided(approval)
        card = approval_card(approval, self._rules, viewer="approver", message=told)
        if turn.card is not None and not _clicked_channel_card(turn, approval):
            # A card of the clicker's own (a list, a home page): it shows who decided.
            await self._replace_clicked(approval, turn, card)
            return []
        if turn.shared:
            # A Teams channel: a reply would be said to everyone there, and its card already
            # shows who decided.
            return []
        return [Notice(message=told)]

    # -- showing ----------------------------------------------------------------------------

    async def _show(self, approval: Approval, turn: Turn | None = None) -> None:
        """Show where ``approval`` stands on its card in the approvals channel, and on the
        card clicked, when that was another one (a home page, a list in a chat).

        A click on the channel's card itself rewrites it the way the click allows (Slack: its
        ``response_url``, outside ``chat.update``'s limit of about 50 a minute per workspace,
        which a busy approvals channel reaches); anything else updates it as the bot.
        """
        card = approval_card(approval, self._rules, viewer="approver")
        on_channel_card = _clicked_channel_card(turn, approval)
        if approval.card is not None and not (
            on_channel_card and await self._replace_clicked(approval, turn, card)
        ):
            await self._update_channel_card(approval, approval.card, card)
        if turn is not None and turn.card is not None and not on_channel_card:
            await self._replace_clicked(approval, turn, card)

    async def _update_channel_card(self, approval: Approval, posted: Posted, card: View) -> None:
        channel = Channel.model_validate(posted.channel)
        replier = self._repliers.get(channel.platform)
        if replier is None:
            return
        try:
            await replier.update_in_channel(channel, posted.message_id, card)
        except Exception as error:  # noqa: BLE001 - the decision stands; logged
            logger.warning("could not update the card of %s: %s", approval.id, error)

    async def _replace_clicked(self, approval: Approval, turn: Turn | None, card: View) -> bool:
        """Show ``card`` in place of the card ``turn`` clicked; whether that worked."""
        if turn is None or turn.card is None:
            return False
        try:
            await self._repliers[turn.platform].replace(turn, turn.card, card)
        except Exception as error:  # noqa: BLE001 - the channel's card is the record
            logger.warning("could not update the clicked card of %s: %s", approval.id, error)
            return False
        return True

    async def _told(self, approval: Approval, turn: Turn | None = None) -> None:
        """Show the outcome on the cards, and have the requester told in their own chat.

        The telling is a job of its own, ordered by the requester's conversation: Slack
        lets the bot post about once a second in one chat, and a requester hearing of many
        decisions at once must not hold up the approvers' clicks behind those waits.
        """
        await self._show(approval, turn)
        await self._jobs.put(
            TELL_REQUESTER,
            {"approval": approval.id, "status": approval.status.value},
            order_key=approval.request.requester,
        )

    async def tell_requester(self, approval_id: str, status: str) -> None:
        """Tell the requester of ``approval_id`` that it reached ``status`` (as it stands now,
        should it have moved on since)."""
        try:
            approval = await self._approvals.get(approval_id)
        except UnknownApproval:
            logger.warning("approval %s is gone before its requester was told", approval_id)
            return
        if approval.status.value != status:
            logger.info(
                "approval %s moved on to %s before its requester was told",
                approval_id,
                approval.status,
            )
        request = approval.request
        platform, _ = platform_of(request.requester)
        replier = self._repliers.get(platform)
        if replier is None:
            return
        requester = Turn(
            platform=platform,
            conversation=request.requester,
            seller=Seller(user_id=request.requester.rsplit(":", 1)[-1]),
            delivery=f"approval-{approval.id}-{approval.status.value}",
            address=dict(request.reply_to),
        )
        card = approval_card(
            approval, self._rules, viewer="requester", message=outcome_for_requester(approval)
        )
        await replier.post(requester, card)  # a failure is tried again, as a job

    # -- the card in the approvals channel --------------------------------------------------

    async def post_card(self, approval_id: str) -> None:
        """Post a new request's card in the approvals channel (once: a card posted before is
        not posted again, only brought up to date)."""
        try:
            approval = await self._approvals.get(approval_id)
        except UnknownApproval:
            logger.warning("approval %s is gone before its card was posted", approval_id)
            return
        if approval.card is not None:
            if approval.status is not ApprovalStatus.PENDING:
                await self._show(approval)  # decided elsewhere, or replaced: say so on it
            return
        channel = await place_for(self._places, self._rules, approval.request.requester)
        replier = self._repliers.get(channel.platform) if channel is not None else None
        if channel is None or replier is None:
            logger.warning("approval %s has no approvals channel to go to", approval_id)
            return
        card = approval_card(approval, self._rules, viewer="approver")
        message_id = await replier.post_to_channel(channel, card)
        await self._approvals.posted(
            approval.id, Posted(channel.model_dump(mode="json"), message_id)
        )
        if approval.status is not ApprovalStatus.PENDING:
            # Withdrawn (or decided from a list) while its card was on the way.
            await self._show(await self._approvals.get(approval.id))

    async def expire_due(self) -> int:
        """Expire the requests left unanswered for the allowed time; how many expired."""
        now = self._clock.now()
        expired = 0
        for approval in await self._approvals.made_before(now - self._rules.ttl):
            moved = await self._approvals.move(approval.id, ApprovalStatus.EXPIRED, by=BOT, now=now)
            if moved.moved:
                expired += 1
                await self._told(moved.approval)
        return expired

    # -- commands and home ------------------------------------------------------------------

    async def command(self, turn: Turn, replier: Replier, command: ApprovalCommand) -> list[View]:
        """``/referral approvals``, ``approvals here`` and ``withdraw ID``."""
        if command.action == "here":
            return await self._here(turn, replier)
        if command.action == "withdraw":
            return await self._withdraw_by_id(turn, command.target or "")
        cards = await self.waiting(turn, replier)
        approver = await replier.named_by(turn, self._rules.approvers)
        return [
            ApprovalList(
                title="Waiting for your decision" if approver else "Your requests waiting",
                approvals=cards,
                empty="Nothing waits for a decision."
                if approver
                else "You have no request waiting for approval.",
            )
        ]

    async def waiting(self, turn: Turn, replier: Replier) -> tuple[ApprovalCard, ...]:
        """The requests this person may act on: all waiting ones for an approver (bar their
        own, which they may withdraw), their own for anyone else."""
        approver = await replier.named_by(turn, self._rules.approvers)
        cards = []
        for approval in await self._approvals.listed(OPEN, limit=LISTED * 5):
            own = approval.request.requester == turn.conversation
            if own:
                cards.append(approval_card(approval, self._rules, viewer="requester"))
            elif approver and _same_workspace(approval, turn):
                cards.append(approval_card(approval, self._rules, viewer="approver"))
            if len(cards) >= LISTED:
                break
        return tuple(cards)

    async def _here(self, turn: Turn, replier: Replier) -> list[View]:
        channel = replier.channel(turn)
        if channel is None:
            return [
                Problem(
                    message="Type this in the channel where approvers should get requests.",
                    hint="A direct message is nobody's approvals channel.",
                )
            ]
        if not await replier.named_by(turn, self._rules.approvers):
            return [NOT_AN_APPROVER]
        await self._places.set(channel)
        where = f"#{channel.name}" if channel.name else "this channel"
        return [Notice(message=f"Requests for deal-registration approval now come to {where}.")]

    async def _withdraw_by_id(self, turn: Turn, target: str) -> list[View]:
        mine = [
            approval
            for approval in await self._approvals.listed(OPEN, limit=1000)
            if approval.request.requester == turn.conversation
            and target in (approval.id, approval.request.referral_id)
        ]
        if not mine:
            return [
                Problem(
                    message=f"You have no request waiting for approval on {target}.",
                    hint="/referral approvals lists yours.",
                )
            ]
        views: list[View] = []
        for approval in mine:
            views.extend(await self._withdraw(turn, approval))
        return views


def _clicked_channel_card(turn: Turn | None, approval: Approval) -> bool:
    """Whether ``turn`` is a click on the approvals channel's own card of ``approval``."""
    return (
        turn is not None
        and turn.card is not None
        and approval.card is not None
        and turn.card.message_id == approval.card.message_id
    )


def _same_workspace(approval: Approval, turn: Turn) -> bool:
    return platform_of(approval.request.requester) == platform_of(turn.conversation)


def approval_handlers(turns: ApprovalTurns) -> dict[str, JobHandler]:
    """The job handlers of approvals (post a new request's card; tell a requester), for
    :func:`bot.jobs.dispatch`."""

    async def post(job: Job) -> None:
        await turns.post_card(_named(job, "approval"))

    async def tell(job: Job) -> None:
        await turns.tell_requester(_named(job, "approval"), _named(job, "status"))

    return {POST_CARD: post, TELL_REQUESTER: tell}


def _named(job: Job, field: str) -> str:
    value = job.payload.get(field)
    if not isinstance(value, str) or not value:
        raise UnreadableJob(f"an approval job of kind {job.kind} names no {field}")
    return value
