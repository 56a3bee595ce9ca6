"""pydantic models of the Referrals API resources.

Field names follow the resource documentation; a few fields seen only in real payloads are
modelled too because the product reads them (``direction``, ``registrations``,
``customerProfile.isMatchingComplete``). Everything else a payload carries is kept as an
extra field and written back unchanged (see :class:`~bot.referrals.wire.WireModel`).

Enumerated fields accept values the catalogs do not know yet: the service has added values
before (``Error`` substatus) and a read must not fail because of that. Values we *send* are
checked against the catalogs elsewhere.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from bot.referrals.catalogs import (
    Direction,
    ReferralQualification,
    ReferralStatus,
    ReferralSubstatus,
    ReferralType,
    SolutionType,
    TargetType,
)
from bot.referrals.wire import Money, UtcDateTime, WireModel, wire_field


def open_enum() -> Any:
    """A field default for enumerated values: known ones become members, others stay str."""
    return Field(default=None, union_mode="left_to_right")


__all__ = [
    "AdditionalRequirements",
    "Address",
    "Consent",
    "ContactPreference",
    "Contract",
    "CustomerProfile",
    "CustomerProfileId",
    "DealRegistration",
    "EligibilityPolicy",
    "InviteContext",
    "InvitedBy",
    "MarketplaceTransactionDetails",
    "Member",
    "PartnerEligibility",
    "PartnerEligibilityPolicy",
    "Referral",
    "ReferralAttribute",
    "ReferralDetails",
    "ReferralEligibility",
    "ReferralPage",
    "ReferralRequirements",
    "RegistrationSolutionDetail",
    "SolutionTag",
    "Tag",
    "Target",
]


class ContactPreference(WireModel):
    """How a team member wants to receive email notifications."""

    locale: str | None = None
    disable_notifications: bool | None = None


class Member(WireModel):
    """A person on the customer's or a partner's team."""

    first_name: str | None = None
    last_name: str | None = None
    phone_number: str | None = None
    email: str | None = None
    contact_preference: ContactPreference | None = None

    @property
    def display_name(self) -> str:
        """First and last name, or the email when the names are empty."""
        name = " ".join(part for part in (self.first_name, self.last_name) if part)
        return name or (self.email or "")


class Address(WireModel):
    """The customer's address; ``country`` is an ISO 3166-1 alpha-2 code."""

    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    region: str | None = None


class CustomerProfileId(WireModel):
    """An external identifier of the customer (``Duns`` or ``External``)."""

    profile_type: str | None = None
    id: str | None = None


class CustomerProfile(WireModel):
    """Who the customer is."""

    name: str | None = None
    address: Address | None = None
    size: str | None = None
    team: list[Member] | None = None
    ids: list[CustomerProfileId] | None = None
    is_matching_complete: bool | None = None


class Consent(WireModel):
    """The four consent flags. The first keeps the API's own spelling on the wire."""

    consent_to_share_info_with_others: bool | None = wire_field(
        "consentToToShareInfoWithOthers", default=None
    )
    consent_to_contact: bool | None = None
    consent_to_share_referral_with_microsoft_sellers: bool | None = None
    consent_to_microsoft_to_contact_specific_partners: bool | None = None


class InvitedBy(WireModel):
    """The organization that sent the referral."""

    organization_id: str | None = None
    organization_name: str | None = None


class InviteContext(WireModel):
    """What the inviting organization tells the invited one."""

    notes: str | None = None
    invited_by: InvitedBy | None = None
    assistance_request_code: str | None = None


class Tag(WireModel):
    """An industry, product or service the customer is interested in."""

    id: str


class SolutionTag(WireModel):
    """A solution the customer is interested in."""

    id: str | None = None
    name: str | None = None
    type: SolutionType | str | None = open_enum()
    publisher_name: str | None = None
    solution_type: str | None = None


class ReferralAttribute(WireModel):
    """A typed attribute of the customer need, e.g. ``CustomerMarketplaceIntent``."""

    id: str | None = None
    type: str | None = None


class AdditionalRequirements(WireModel):
    """Services co-sell fields (partner role, solution area and play) and attributes."""

    partner_role: str | None = None
    solution_area: str | None = None
    solution_play: str | None = None
    iot: dict[str, Any] | None = None
    attributes: list[ReferralAttribute] | None = None


class ReferralRequirements(WireModel):
    """Industries, products, services and solutions the customer is interested in."""

    industries: list[Tag] | None = None
    products: list[Tag] | None = None
    services: list[Tag] | None = None
    solutions: list[SolutionTag] | None = None
    additional_requirements: AdditionalRequirements | None = None


class ReferralDetails(WireModel):
    """Notes, deal value and currency, closing date and requirements."""

    notes: str | None = None
    deal_value: Money | None = None
    currency: str | None = None
    closing_date_time: UtcDateTime | None = None
    requirements: ReferralRequirements | None = None


class Target(WireModel):
    """An organization or solution profile invited into the engagement."""

    id: str | None = None
    type: TargetType | str | None = open_enum()


class MarketplaceTransactionDetails(WireModel):
    """Whether, and when, the deal was transacted through the marketplace."""

    is_marketplace_transacted: bool | None = None
    marketplace_transaction_date_time: UtcDateTime | None = None


class RegistrationSolutionDetail(WireModel):
    """One solution of a deal registration."""

    id: str | None = None
    name: str | None = None
    is_deployed_on_azure: bool | None = None
    marketplace_transaction_details: MarketplaceTransactionDetails | None = None
    primary_deployment_on: str | None = None
    pricing_model: str | None = None
    value: Money | None = None
    currency: str | None = None


class Contract(WireModel):
    """The contract a deal registration is for."""

    currency: str | None = None
    start_date_time: UtcDateTime | None = None
    end_date_time: UtcDateTime | None = None
    sign_date_time: UtcDateTime | None = None
    term: str | None = None
    value: Money | None = None


class DealRegistration(WireModel):
    """A deal registration; created with ``add /registrations/-``, then reviewed by Microsoft."""

    id: str | None = None
    type: str | None = None
    status: str | None = None
    status_reason: str | None = None
    registration_date_time: UtcDateTime | None = None
    contract: Contract | None = None
    solution_details: list[RegistrationSolutionDetail] | None = None


class Referral(WireModel):
    """A lead or co-sell opportunity."""

    id: str | None = None
    engagement_id: str | None = None
    name: str | None = None
    external_reference_id: str | None = None
    organization_id: str | None = None
    organization_name: str | None = None
    created_date_time: UtcDateTime | None = None
    updated_date_time: UtcDateTime | None = None
    expiration_date_time: UtcDateTime | None = None
    accepted_date_time: UtcDateTime | None = None
    status: ReferralStatus | str | None = open_enum()
    substatus: ReferralSubstatus | str | None = open_enum()
    status_reason: str | None = None
    type: ReferralType | str | None = open_enum()
    qualification: ReferralQualification | str | None = open_enum()
    direction: Direction | str | None = open_enum()
    customer_profile: CustomerProfile | None = None
    consent: Consent | None = None
    details: ReferralDetails | None = None
    team: list[Member] | None = None
    invite_context: InviteContext | None = None
    target: list[Target] | None = None
    mpn_id: str | None = None
    registrations: list[DealRegistration] | None = None
    e_tag: str | None = None

    # Required in the create request body per the API documentation; "name" is in every sample.
    REQUIRED_FOR_CREATE: ClassVar[tuple[tuple[str, str], ...]] = (
        ("name", "name"),
        ("type", "type"),
        ("customer_profile", "customerProfile"),
        ("consent", "consent"),
        ("details", "details"),
    )

    def missing_for_create(self) -> list[str]:
        """Wire names of the fields a create request needs but this referral lacks."""
        missing = [
            wire for attr, wire in self.REQUIRED_FOR_CREATE if getattr(self, attr) in (None, "")
        ]
        profile = self.customer_profile
        if profile is not None and not profile.name:
            missing.append("customerProfile/name")
        if profile is not None and (profile.address is None or not profile.address.country):
            missing.append("customerProfile/address/country")
        return missing

    @property
    def is_closed(self) -> bool:
        """Whether the referral has reached the terminal ``Closed`` status."""
        return self.status == ReferralStatus.CLOSED


class ReferralPage(WireModel):
    """One page of ``GET /engagements/referrals``: an OData collection."""

    odata_context: str | None = Field(default=None, alias="@odata.context")
    count: int | None = Field(default=None, alias="@odata.count")
    value: list[Referral] = Field(default_factory=list)
    next_link: str | None = Field(default=None, alias="@odata.nextLink")


class PartnerEligibilityPolicy(WireModel):
    """One policy of the partner's deal-registration eligibility."""

    policy_name: str | None = None
    is_eligible: bool


class PartnerEligibility(WireModel):
    """Whether this partner may register deals at all."""

    is_eligible: bool
    policies: list[PartnerEligibilityPolicy] = Field(default_factory=list)


class EligibilityPolicy(WireModel):
    """One policy of a referral's deal-registration eligibility, with what it looked at."""

    policy_name: str
    is_eligible: bool
    referral_properties: dict[str, Any] = Field(default_factory=dict)
    additional_properties: list[str] = Field(default_factory=list)


class ReferralEligibility(WireModel):
    """Whether a referral may be registered, with the policies it passed and failed."""

    is_eligible: bool
    passed_policies: list[EligibilityPolicy] = Field(default_factory=list)
    failed_policies: list[EligibilityPolicy] = Field(default_factory=list)


class IncompleteReferral(ValueError):
    """A referral lacks fields the API requires to create it."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(f"The referral is missing required fields: {', '.join(missing)}.")
        self.missing = missing
