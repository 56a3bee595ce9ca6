"""From a finished draft to what the API takes: referrals, a JSON Patch, a team member, a
closing, a deal registration.

Nothing here names a field: every step names the path its answer fills
(:class:`~bot.conversation.vocabulary.paths.ApiPath`) and :func:`document` writes the
applicable answers there. What follows adds only what no single answer says: the referral
type and the sharing consent follow from the kind of deal, the seller is on the team, a
customer contact needs a name or an email, the invite context goes on the linked Microsoft
referral, a registered solution's id is the one picked for its slot.

The answers were validated step by step; the models and the patch builder check them once
more on the way out, so a bug here cannot send a malformed referral.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from bot.conversation.views import Seller
from bot.conversation.vocabulary.flows import register
from bot.conversation.vocabulary.flows.new_referral import MICROSOFT_HELP_KINDS, PRIVATE
from bot.conversation.vocabulary.paths import LEAVE_OUT, ApiPath, built, put
from bot.conversation.vocabulary.steps import Flow
from bot.referrals.catalogs import ReferralQualification, ReferralType, TargetType
from bot.referrals.models import DealRegistration, InviteContext, Member, Referral, Target
from bot.referrals.patch import JsonPatch

Answers = Mapping[str, Any]

INVITE_CONTEXT = "inviteContext"
"""Where the help asked of Microsoft goes: on the linked referral, never on the partner's."""
MICROSOFT_TARGET = Target(type=TargetType.BUSINESS_PROFILE_LOCATION, id="msft")
# What the service set on the partner referral; the Microsoft referral gets its own.
SERVICE_SET_FIELDS = frozenset(
    {
        "id",
        "eTag",
        "createdDateTime",
        "updatedDateTime",
        "acceptedDateTime",
        "status",
        "substatus",
        "direction",
        "organizationId",
        "organizationName",
        "engagementId",
    }
)


def document(flow: Flow, answers: Answers) -> dict[str, Any]:
    """The wire JSON a draft's answers fill: each applicable, answered step's answer at its
    path; a step skipped or not asked writes its ``unanswered`` value, if it has one."""
    filled: dict[str, Any] = {}
    applicable = {step.id for step in flow.applicable(answers)}
    for step in flow.steps:
        path = step.fills
        if not isinstance(path, ApiPath):
            continue
        if step.id in applicable and step.id in answers:
            put(filled, path.pointer, path.to_wire(answers[step.id]))
        elif path.unanswered is not LEAVE_OUT:
            put(filled, path.pointer, copy.deepcopy(path.unanswered))
    return built(filled)


def partner_referral(flow: Flow, answers: Answers, seller: Seller) -> Referral:
    """The seller's own referral for a new-referral draft."""
    wire = document(flow, answers)
    wire.pop(INVITE_CONTEXT, None)
    shared = answers["deal_kind"] != PRIVATE
    wire["type"] = ReferralType.SHARED if shared else ReferralType.INDEPENDENT
    wire["qualification"] = ReferralQualification.SALES_QUALIFIED
    consent = wire.setdefault("consent", {})
    consent["consentToShareReferralWithMicrosoftSellers"] = shared
    if not shared:  # Microsoft, not told of a private lead, brings in nobody
        consent["consentToMicrosoftToContactSpecificPartners"] = False
    profile = wire.setdefault("customerProfile", {})
    profile["team"] = [
        contact
        for contact in profile.get("team") or []
        if contact.get("firstName") or contact.get("email")
    ]
    wire["team"] = _with_seller(wire.get("team") or [], seller)
    return Referral.from_wire(wire)


def microsoft_referral(flow: Flow, answers: Answers, partner: Referral) -> Referral | None:
    """The linked referral asking Microsoft for help, or None when no help is asked.

    It joins the partner referral's engagement, targets Microsoft and carries the invite
    context the draft filled.
    """
    if answers["deal_kind"] not in MICROSOFT_HELP_KINDS:
        return None
    linked = Referral.from_wire(
        {key: value for key, value in partner.to_wire().items() if key not in SERVICE_SET_FIELDS}
    )
    linked.engagement_id = partner.engagement_id
    linked.target = [MICROSOFT_TARGET]
    linked.invite_context = InviteContext.from_wire(document(flow, answers)[INVITE_CONTEXT])
    return linked


def update_patch(flow: Flow, answers: Answers, current: Referral) -> JsonPatch:
    """Replace operations for the picked fields whose answers differ from the referral's.

    An answer differs when, written and read back, it is not the referral's value (so
    "1234.50" against 1234.5, or a closing date on the same day, changes nothing).
    """
    patch = JsonPatch()
    wire = current.to_wire()
    for step in flow.applicable(answers):
        path = step.fills
        if isinstance(path, ApiPath) and step.id in answers:
            answer = answers[step.id]
            if path.read_back(answer) != path.read(wire):
                patch.replace(path.pointer, path.to_wire(answer))
    return patch


def team_member(flow: Flow, answers: Answers) -> Member:
    """The colleague a team flow adds (the element its steps fill at ``/team/-``)."""
    (member,) = document(flow, answers)["team"]
    return Member.from_wire(member)


@dataclass(frozen=True, slots=True)
class Closing:
    """How a close flow closes the referral."""

    substatus: str
    reason: str | None


def closing(flow: Flow, answers: Answers) -> Closing:
    """The substatus and reason a close flow's answers fill."""
    wire = document(flow, answers)
    return Closing(substatus=wire["substatus"], reason=wire.get("statusReason"))


def registration(flow: Flow, answers: Answers) -> DealRegistration:
    """The deal registration a register flow's answers fill (the value of its
    ``add /registrations/-``), each solution detail with the id of the solution picked for
    its slot.

    Checked once more on the way out, since a registration goes to approvers and then to
    Partner Center as it is: nothing required is missing (so every picked solution has its
    slot answered), the picked solutions are the referral's own, the dates are in order and
    the amounts more than zero. ValueError says what is wrong, in the seller's words.
    """
    picked = _registered_solutions(answers)
    missing = [
        step.label
        for step in flow.applicable(answers)
        if step.is_required(answers) and step.id not in answers
    ]
    if missing:
        raise ValueError(f"The registration is missing: {', '.join(missing)}.")
    (added,) = document(flow, answers)["registrations"]
    details = added.get("solutionDetails") or []
    if len(details) != len(picked):
        raise ValueError(
            f"{len(picked)} solutions are picked but {len(details)} are described; "
            "edit Solutions to register."
        )
    for detail, solution_id in zip(details, picked, strict=True):
        detail["id"] = solution_id
    _check_dates(answers)
    _check_amounts(flow, added)
    return DealRegistration.from_wire(added)


def _registered_solutions(answers: Answers) -> list[str]:
    """The picked solutions' ids, checked: some, at most the slots there are, each once, and
    each one of the referral's own when the draft lists them."""
    picked = register.picked_solutions(answers)
    if not picked:
        raise ValueError("No solution is picked; a registration covers at least one.")
    if len(picked) > register.MAX_REGISTERED_SOLUTIONS:
        raise ValueError(
            f"{len(picked)} solutions are picked; a registration here covers at most "
            f"{register.MAX_REGISTERED_SOLUTIONS}."
        )
    if len(set(picked)) != len(picked):
        raise ValueError("A solution is picked twice; edit Solutions to register.")
    listed = answers.get(register.REFERRAL_SOLUTIONS)
    if isinstance(listed, list):
        own = {str(item.get("id")) for item in listed if isinstance(item, Mapping)}
        strangers = [solution for solution in picked if solution not in own]
        if strangers:
            raise ValueError(f"Not solutions of this referral: {', '.join(strangers)}.")
    return picked


def _check_dates(answers: Answers) -> None:
    """The contract is signed on or before it starts, and ends after it starts."""
    signed, starts, ends = (
        date.fromisoformat(str(answers[step]))
        for step in (register.SIGN_DATE, register.START_DATE, register.END_DATE)
    )
    if starts < signed:
        raise ValueError(f"The start date ({starts}) is before the sign date ({signed}).")
    if ends <= starts:
        raise ValueError(f"The end date ({ends}) is not after the start date ({starts}).")


def _check_amounts(flow: Flow, added: Mapping[str, Any]) -> None:
    """The contract's value and every solution's are more than zero."""
    amounts = {flow.step(register.VALUE).label: added["contract"]["value"]}
    for number, detail in enumerate(added.get("solutionDetails") or [], start=1):
        amounts[register.Slot(number).label("value")] = detail["value"]
    for label, amount in amounts.items():
        if Decimal(str(amount)) <= 0:
            raise ValueError(f"{label} must be more than zero.")


def _with_seller(team: list[Any], seller: Seller) -> list[Any]:
    """The seller first (when we know their email), then the others named, each once."""
    members: list[Any] = []
    if seller.email:
        members.append(
            {
                "firstName": seller.first_name or seller.display_name or "",
                "lastName": seller.last_name or "",
                "email": seller.email,
            }
        )
    known = {member["email"] for member in members}
    for person in team:
        if person["email"] not in known:
            members.append(person)
            known.add(person["email"])
    return members
