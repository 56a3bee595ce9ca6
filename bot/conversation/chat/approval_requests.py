"""The engine's side of approvals: the check before a registration draft starts (both
eligibilities, an approvals channel to ask), and filing the finished draft as a request."""

from __future__ import annotations

import asyncio

from bot.approvals.places import ApprovalPlaces
from bot.approvals.store import (
    Approval,
    Approvals,
    ApprovalStatus,
    Request,
)
from bot.clock import Clock
from bot.conversation.chat.approval_cards import approval_card
from bot.conversation.chat.approval_rules import (
    CHAT_PLATFORMS,
    NO_PLACE,
    NO_PLACE_HINT,
    ONLY_IN_CHAT,
    OPEN,
    POST_CARD,
    ApprovalRules,
    display_name,
    is_young,
    place_for,
    platform_of,
)
from bot.conversation.runtime.engine import Conversation, Gate
from bot.conversation.runtime.submit import Refused, RegistrationRequest
from bot.conversation.views import (
    EligibilityReport,
    Notice,
    Problem,
    View,
)
from bot.jobs import JobQueue
from bot.partner_center.client import PartnerCenterClient
from bot.referrals.models import Referral


class ApprovalRequests:
    """The engine's side: the check before a registration draft, and filing it."""

    def __init__(
        self,
        approvals: Approvals,
        places: ApprovalPlaces,
        jobs: JobQueue,
        rules: ApprovalRules,
        *,
        clock: Clock,
    ) -> None:
        self._approvals = approvals
        self._places = places
        self._jobs = jobs
        self._rules = rules
        self._clock = clock

    async def check(
        self, conversation: Conversation, referral: Referral, client: PartnerCenterClient
    ) -> Gate:
        """Both eligibilities, as a report; the draft starts only when both pass and there
        is somewhere to ask. A referral younger than 72 hours is warned about."""
        partner, eligibility = await asyncio.gather(
            client.partner_eligibility(), client.referral_eligibility(referral.id or "")
        )
        report = EligibilityReport(
            referral_id=referral.id or "",
            eligibility=eligibility,
            partner_eligible=partner.is_eligible,
        )
        if not (partner.is_eligible and eligibility.is_eligible):
            return Gate([report], allowed=False)
        if platform_of(conversation.key)[0] not in CHAT_PLATFORMS:
            return Gate([report, ONLY_IN_CHAT], allowed=False)
        if await place_for(self._places, self._rules, conversation.key) is None:
            return Gate([report, Problem(message=NO_PLACE, hint=NO_PLACE_HINT)], allowed=False)
        views: list[View] = [report]
        young = is_young(referral, self._clock.now())
        if young:
            views.append(
                Notice(
                    message="This referral is less than 72 hours old.",
                    detail="Microsoft may reject a registration asked for this early; you can "
                    "still prepare it now.",
                )
            )
        return Gate(
            views, allowed=True, checks={"eligibility": eligibility.to_wire(), "young": young}
        )

    async def file(self, request: RegistrationRequest) -> list[View]:
        """File the request (once per draft) and queue its card for the approvals channel."""
        if await place_for(self._places, self._rules, request.requester) is None:
            raise Refused(NO_PLACE, hint=NO_PLACE_HINT)
        referral = request.referral
        reply_to = {k: v for k, v in request.reply_to.items() if k != "response_url"}
        filed = await self._approvals.request(
            Request(
                referral_id=referral.id or "",
                requester=request.requester,
                requester_name=display_name(request.seller),
                registration=request.registration.to_wire(),
                eligibility=dict(request.checks.get("eligibility") or {}),
                referral_name=referral.name,
                customer=referral.customer_profile.name if referral.customer_profile else None,
                young=bool(request.checks.get("young")),
                reply_to=reply_to,
            ),
            now=self._clock.now(),
            approval_id=request.draft_id,
        )
        approval = filed.approval
        if filed.new or approval.card is None:
            await self._jobs.put(POST_CARD, {"approval": approval.id}, order_key=approval.id)
        if filed.new:
            await self._replace_earlier(approval)
        card = approval_card(approval, self._rules, viewer="requester")
        notice = Notice(
            message="Sent to the approvers. Nothing goes to Partner Center until one of them "
            "approves.",
            detail="You will hear here when someone decides; /referral withdraw "
            f"{referral.id} takes it back.",
        )
        return [notice, card]

    async def _replace_earlier(self, approval: Approval) -> None:
        """A seller asking again for the same referral (after fixing what Partner Center or
        an approver refused) replaces their request still open: approvers decide only the
        latest one. The old card is shown withdrawn."""
        request = approval.request
        for earlier in await self._approvals.listed(OPEN, limit=1000):
            if (
                earlier.id == approval.id
                or earlier.request.requester != request.requester
                or earlier.request.referral_id != request.referral_id
            ):
                continue
            moved = await self._approvals.move(
                earlier.id,
                ApprovalStatus.WITHDRAWN,
                by=request.requester,
                by_name=request.requester_name,
                now=self._clock.now(),
                reason="Replaced by a newer request.",
            )
            if moved.moved:
                await self._jobs.put(POST_CARD, {"approval": earlier.id}, order_key=earlier.id)
