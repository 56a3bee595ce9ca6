"""Turning a finished draft into what the API takes: referrals, a JSON Patch, a member.

The answers were validated step by step; the models and the patch builder check them once
more on the way out, so a bug here cannot send a malformed referral.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from bot.conversation.flows.new_referral import MICROSOFT_HELP_KINDS, PRIVATE, SERVICES_CO_SELL
from bot.conversation.session import Seller
from bot.referrals import catalogs
from bot.referrals.catalogs import ReferralQualification, ReferralType, SolutionType, TargetType
from bot.referrals.models import (
    AdditionalRequirements,
    Address,
    Consent,
    CustomerProfile,
    InviteContext,
    Member,
    Referral,
    ReferralDetails,
    ReferralRequirements,
    SolutionTag,
    Tag,
    Target,
)
from bot.referrals.patch import JsonPatch

Answers = Mapping[str, Any]

SOLUTION_ID = re.compile(r"^(SOL|DEAL)-", re.IGNORECASE)
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


def partner_referral(answers: Answers, seller: Seller) -> Referral:
    """The seller's own referral for a new-referral draft."""
    kind = answers["deal_kind"]
    shared = kind != PRIVATE
    return Referral(
        name=answers["name"],
        type=ReferralType.SHARED if shared else ReferralType.INDEPENDENT,
        qualification=ReferralQualification.SALES_QUALIFIED,
        customer_profile=CustomerProfile(
            name=answers["customer_name"],
            address=Address(
                address_line1=answers["address_line1"],
                address_line2=answers.get("address_line2") or "",
                city=answers["city"],
                state=answers["state"],
                postal_code=answers["postal_code"],
                country=answers["country"],
            ),
            size=answers["customer_size"],
            team=_customer_contacts(answers),
        ),
        consent=Consent(
            consent_to_share_info_with_others=answers["consent_share_info"],
            consent_to_contact=answers["consent_contact"],
            consent_to_share_referral_with_microsoft_sellers=shared,
            consent_to_microsoft_to_contact_specific_partners=bool(
                shared and answers.get("consent_partners")
            ),
        ),
        details=ReferralDetails(
            notes=answers.get("notes") or "",
            deal_value=Decimal(answers["deal_value"]),
            currency=answers["currency"],
            closing_date_time=_midnight_utc(answers["closing_date"]),
            requirements=_requirements(answers),
        ),
        team=_team(answers, seller),
    )


def microsoft_referral(answers: Answers, partner: Referral) -> Referral | None:
    """The linked referral asking Microsoft for help, or None when no help is asked.

    It joins the partner referral's engagement and targets Microsoft.
    """
    if answers["deal_kind"] not in MICROSOFT_HELP_KINDS:
        return None
    linked = Referral.from_wire(
        {key: value for key, value in partner.to_wire().items() if key not in SERVICE_SET_FIELDS}
    )
    linked.engagement_id = partner.engagement_id
    linked.target = [MICROSOFT_TARGET]
    linked.invite_context = InviteContext(
        assistance_request_code=answers["help_type"], notes=answers.get("help_notes") or ""
    )
    return linked


def update_patch(answers: Answers, current: Referral) -> JsonPatch:
    """Replace operations for the picked fields whose answers differ from the referral."""
    patch = JsonPatch()
    details = current.details or ReferralDetails()
    requirements = details.requirements or ReferralRequirements()
    picked = set(answers.get("fields", ()))

    def changed(field: str, before: Any) -> bool:
        return field in picked and field in answers and answers[field] != before

    if changed("name", current.name):
        patch.replace("/name", answers["name"])
    if changed("deal_value", str(details.deal_value) if details.deal_value is not None else None):
        patch.replace("/details/dealValue", answers["deal_value"])
    if changed("currency", details.currency):
        patch.replace("/details/currency", answers["currency"])
    closing = details.closing_date_time.date().isoformat() if details.closing_date_time else None
    if changed("closing_date", closing):
        patch.replace("/details/closingDateTime", _midnight_utc(answers["closing_date"]))
    if changed("notes", details.notes):
        patch.replace("/details/notes", answers["notes"])
    customer = current.customer_profile.name if current.customer_profile else None
    if changed("customer_name", customer):
        patch.replace("/customerProfile/name", answers["customer_name"])
    for kind in ("industries", "products", "services"):
        tags = getattr(requirements, kind) or []
        if changed(kind, [tag.id for tag in tags]):
            patch.replace(f"/details/requirements/{kind}", [{"id": v} for v in answers[kind]])
    return patch


def team_member(answers: Answers) -> Member:
    """The colleague a team flow adds."""
    return Member(
        first_name=answers["first_name"],
        last_name=answers["last_name"],
        email=answers["email"],
        phone_number=answers.get("phone") or "",
    )


def _customer_contacts(answers: Answers) -> list[Member]:
    if not answers.get("contact_email") and not answers.get("contact_first_name"):
        return []
    return [
        Member(
            first_name=answers.get("contact_first_name") or "",
            last_name=answers.get("contact_last_name") or "",
            email=answers.get("contact_email") or "",
            phone_number=answers.get("contact_phone") or "",
        )
    ]


def _team(answers: Answers, seller: Seller) -> list[Member]:
    team = []
    if seller.email:
        team.append(
            Member(
                first_name=seller.first_name or seller.display_name or "",
                last_name=seller.last_name or "",
                email=seller.email,
            )
        )
    known = {member.email for member in team}
    for person in answers.get("team") or []:
        if person["email"] not in known:
            team.append(Member.from_wire(person))
            known.add(person["email"])
    return team


def _requirements(answers: Answers) -> ReferralRequirements:
    requirements = ReferralRequirements(
        industries=[Tag(id=value) for value in answers.get("industries") or []],
        products=[Tag(id=value) for value in answers.get("products") or []],
        services=[Tag(id=value) for value in answers.get("services") or []],
        solutions=[_solution(value) for value in answers.get("solutions") or []],
    )
    if answers["deal_kind"] == SERVICES_CO_SELL:
        requirements.additional_requirements = AdditionalRequirements(
            partner_role=answers["partner_role"],
            solution_area=answers["solution_area"],
            solution_play=answers["solution_play"],
        )
    return requirements


def _solution(value: str) -> SolutionTag:
    if SOLUTION_ID.match(value):
        return SolutionTag(id=value.upper(), type=SolutionType.NAME)
    return SolutionTag(id=value, name=catalogs.SOLUTIONS.label(value), type=SolutionType.CATEGORY)


def _midnight_utc(iso_date: str) -> datetime:
    return datetime.combine(date.fromisoformat(iso_date), time(0), tzinfo=UTC)
