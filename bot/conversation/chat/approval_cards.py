"""An approval as its card shows it: to approvers, to the requester, and the words for who
decided and what became of a request."""

from __future__ import annotations

from typing import Final

from bot.approvals.store import (
    Approval,
    ApprovalStatus,
)
from bot.conversation.chat.approval_rules import ApprovalRules
from bot.conversation.views import (
    ApprovalCard,
    Verdict,
)
from bot.referrals.models import DealRegistration, ReferralEligibility


def approval_card(
    approval: Approval,
    rules: ApprovalRules,
    *,
    viewer: str,
    message: str | None = None,
) -> ApprovalCard:
    """The card of ``approval`` as ``viewer`` (``approver`` or ``requester``) sees it: with
    the buttons that may still change it."""
    request = approval.request
    actions: tuple[Verdict, ...] = ()
    if viewer == "approver":
        if approval.status is ApprovalStatus.PENDING:
            actions = ("approve", "reject")
        elif approval.status is ApprovalStatus.FAILED:
            actions = ("retry", "reject")
    elif approval.status in (ApprovalStatus.PENDING, ApprovalStatus.FAILED):
        actions = ("withdraw",)
    eligibility = (
        ReferralEligibility.from_wire(request.eligibility) if request.eligibility else None
    )
    return ApprovalCard(
        approval_id=approval.id,
        status=approval.status.value,
        referral_id=request.referral_id,
        referral_name=request.referral_name,
        customer=request.customer,
        requester=request.requester_name,
        requested_at=approval.created_at,
        registration=DealRegistration.from_wire(request.registration),
        eligibility=eligibility,
        decided_by=(approval.decided_by_name or approval.decided_by)
        if approval.status is not ApprovalStatus.PENDING
        else None,
        decided_at=approval.decided_at if approval.status is not ApprovalStatus.PENDING else None,
        reason=approval.reason,
        reference=approval.request_id,
        expires_at=approval.created_at + rules.ttl
        if approval.status is ApprovalStatus.PENDING
        else None,
        young=request.young,
        actions=actions,
        message=message,
    )


_DONE: Final[dict[ApprovalStatus, str]] = {
    ApprovalStatus.APPROVED: "approved",
    ApprovalStatus.SUBMITTED: "approved",
    ApprovalStatus.FAILED: "approved",
    ApprovalStatus.REJECTED: "rejected",
    ApprovalStatus.WITHDRAWN: "withdrew",
    ApprovalStatus.EXPIRED: "expired",
    ApprovalStatus.PENDING: "left",
}


def who_decided(approval: Approval) -> str:
    """``Grace Hopper approved this at 10:02 UTC.``: what a click that came too late hears."""
    if approval.status is ApprovalStatus.EXPIRED:
        return "This request expired unanswered; nothing changed."
    who = approval.decided_by_name or approval.decided_by or "Someone"
    when = f" at {approval.decided_at:%Y-%m-%d %H:%M} UTC" if approval.decided_at else ""
    return f"{who} {_DONE[approval.status]} this{when}; nothing else changed."


def outcome_for_requester(approval: Approval) -> str:
    who = approval.decided_by_name or "An approver"
    name = approval.request.referral_name or approval.request.referral_id
    status = approval.status
    if status is ApprovalStatus.SUBMITTED:
        return f"{who} approved your deal registration for {name}; it is with Microsoft now."
    if status is ApprovalStatus.FAILED:
        return (
            f"{who} approved your deal registration for {name}, but Partner Center refused "
            f"it: {approval.reason}. An approver can Retry, or fix it with /referral register "
            f"{approval.request.referral_id} and ask again."
        )
    if status is ApprovalStatus.REJECTED:
        return f"{who} rejected your deal registration for {name}: {approval.reason}"
    if status is ApprovalStatus.EXPIRED:
        return (
            f"Your deal registration for {name} expired without a decision. Ask again with "
            f"/referral register {approval.request.referral_id}."
        )
    return f"Your deal registration for {name} is {status.value}."
