"""From finished answers to what the API takes, derived from the paths the steps fill."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.conversation.views import Seller
from bot.conversation.vocabulary import to_api
from bot.conversation.vocabulary.flows import FLOWS
from bot.conversation.vocabulary.flows.new_referral import SOLUTION_TAGS
from bot.conversation.vocabulary.flows.update import UPDATABLE_STEPS
from bot.conversation.vocabulary.paths import ApiPath
from bot.conversation.vocabulary.steps import Step
from bot.referrals.models import Referral
from tests.fixtures import partner_center

NEW, UPDATE, CLOSE, TEAM = FLOWS["new"], FLOWS["update"], FLOWS["close"], FLOWS["team"]
SELLER = Seller(
    user_id="U1", display_name="Ana Lopez", first_name="Ana", last_name="Lopez", email="ana@c.com"
)
NO_EMAIL = Seller(user_id="U2")

PRIVATE: dict[str, Any] = {
    "deal_kind": "private",
    "name": "Fabrikam - rollout",
    "customer_name": "Fabrikam Inc",
    "address_line1": "1 Main St",
    "city": "Seattle",
    "state": "WA",
    "postal_code": "98101",
    "country": "US",
    "customer_size": "51to250employees",
    "deal_value": "120000",
    "currency": "USD",
    "closing_date": "2027-01-31",
    "notes": "Wants to move stores to Azure",
    "industries": ["Retail & Consumer Goods"],
    "products": ["Azure"],
    "consent_share_info": True,
    "consent_contact": True,
    "team": [{"firstName": "Raj", "lastName": "Patel", "email": "raj@c.com"}],
}
CONTACT = {
    "contact_first_name": "Sam",
    "contact_last_name": "Rivera",
    "contact_email": "sam@fabrikam.com",
    "contact_phone": "+14255550100",
}
SERVICES: dict[str, Any] = {
    **PRIVATE,
    **CONTACT,
    "deal_kind": "services_co_sell",
    "address_line2": "Suite 200",
    "currency": "EUR",
    "services": ["ConsultingAndProfessional"],
    "solutions": ["DEAL-123456-XYZ", "AdvancedAnalytics"],
    "partner_role": "Deployment services",
    "solution_area": "Infrastructure",
    "solution_play": "Migrate SAP",
    "help_type": "ProofOfConceptOrDemo",
    "help_notes": "Pilot in Q1",
    "consent_partners": True,
}


def test_a_private_lead_is_the_referral_its_answers_fill() -> None:
    assert to_api.partner_referral(NEW, PRIVATE, SELLER).to_wire() == {
        "name": "Fabrikam - rollout",
        "type": "Independent",
        "qualification": "SalesQualified",
        "customerProfile": {
            "name": "Fabrikam Inc",
            "address": {
                "addressLine1": "1 Main St",
                "addressLine2": "",
                "city": "Seattle",
                "state": "WA",
                "postalCode": "98101",
                "country": "US",
            },
            "size": "51to250employees",
            "team": [],
        },
        "consent": {
            "consentToToShareInfoWithOthers": True,
            "consentToContact": True,
            "consentToShareReferralWithMicrosoftSellers": False,
            "consentToMicrosoftToContactSpecificPartners": False,
        },
        "details": {
            "notes": "Wants to move stores to Azure",
            "dealValue": 120000,
            "currency": "USD",
            "closingDateTime": "2027-01-31T00:00:00Z",
            "requirements": {
                "industries": [{"id": "Retail & Consumer Goods"}],
                "products": [{"id": "Azure"}],
                "services": [],
                "solutions": [],
            },
        },
        "team": [
            {"firstName": "Ana", "lastName": "Lopez", "email": "ana@c.com"},
            {"firstName": "Raj", "lastName": "Patel", "email": "raj@c.com"},
        ],
    }


def test_a_services_co_sell_carries_what_only_it_asks() -> None:
    wire = to_api.partner_referral(NEW, SERVICES, NO_EMAIL).to_wire()
    assert wire["type"] == "Shared"
    assert wire["consent"]["consentToShareReferralWithMicrosoftSellers"] is True
    assert wire["consent"]["consentToMicrosoftToContactSpecificPartners"] is True
    assert wire["customerProfile"]["team"] == [
        {
            "firstName": "Sam",
            "lastName": "Rivera",
            "email": "sam@fabrikam.com",
            "phoneNumber": "+14255550100",
        }
    ]
    requirements = wire["details"]["requirements"]
    assert requirements["additionalRequirements"] == {
        "partnerRole": "Deployment services",
        "solutionArea": "Infrastructure",
        "solutionPlay": "Migrate SAP",
    }
    assert requirements["solutions"] == [
        {"id": "DEAL-123456-XYZ", "type": "Name"},
        {"id": "AdvancedAnalytics", "name": "Advanced Analytics", "type": "Category"},
    ]
    assert SOLUTION_TAGS.to_wire(["sol-9"]) == [{"id": "SOL-9", "type": "Name"}]
    assert "inviteContext" not in wire  # the help asked goes on Microsoft's referral
    assert wire["team"] == [{"firstName": "Raj", "lastName": "Patel", "email": "raj@c.com"}]


def test_answers_to_questions_that_no_longer_apply_are_not_sent() -> None:
    # Partner-led first (consent to bring in partners: yes), then changed to private.
    stale = {**SERVICES, "deal_kind": "private"}
    wire = to_api.partner_referral(NEW, stale, SELLER).to_wire()
    assert wire["consent"]["consentToMicrosoftToContactSpecificPartners"] is False
    assert "additionalRequirements" not in wire["details"]["requirements"]
    assert to_api.microsoft_referral(NEW, stale, Referral.from_wire(wire)) is None


def test_a_contact_needs_a_name_or_an_email() -> None:
    phone_only = {**PRIVATE, "contact_phone": "+14255550100", "contact_last_name": "Rivera"}
    assert (
        to_api.partner_referral(NEW, phone_only, SELLER).to_wire()["customerProfile"]["team"] == []
    )
    email_only = {**PRIVATE, "contact_email": "sam@fabrikam.com"}
    (contact,) = to_api.partner_referral(NEW, email_only, SELLER).to_wire()["customerProfile"][
        "team"
    ]
    assert contact == {
        "firstName": "",
        "lastName": "",
        "email": "sam@fabrikam.com",
        "phoneNumber": "",
    }


def test_the_seller_is_on_the_team_once() -> None:
    again = {**PRIVATE, "team": [{"firstName": "Ana", "lastName": "L", "email": "ana@c.com"}]}
    team = to_api.partner_referral(NEW, again, SELLER).to_wire()["team"]
    assert team == [{"firstName": "Ana", "lastName": "Lopez", "email": "ana@c.com"}]


def test_the_microsoft_referral_joins_the_engagement_and_carries_the_help_asked() -> None:
    partner = to_api.partner_referral(NEW, SERVICES, SELLER)
    created = Referral.from_wire(
        {**partner.to_wire(), "id": "r1", "engagementId": "e1", "status": "New", "eTag": "x"}
    )
    linked = to_api.microsoft_referral(NEW, SERVICES, created)
    assert linked is not None
    wire = linked.to_wire()
    assert wire["engagementId"] == "e1"
    assert wire["target"] == [{"id": "msft", "type": "BusinessProfileLocation"}]
    assert wire["inviteContext"] == {
        "assistanceRequestCode": "ProofOfConceptOrDemo",
        "notes": "Pilot in Q1",
    }
    assert not {"id", "status", "eTag"} & set(wire)
    without_notes = {k: v for k, v in SERVICES.items() if k != "help_notes"}
    other = to_api.microsoft_referral(NEW, without_notes, created)
    assert other is not None
    assert other.to_wire()["inviteContext"]["notes"] == ""


OPTIONAL_TO_SKIP = ["address_line2", "notes", "industries", "products", "services", "team"]


@given(
    kind=st.sampled_from(["private", "partner_led", "co_sell", "services_co_sell"]),
    skipped=st.sets(st.sampled_from(OPTIONAL_TO_SKIP)),
)
def test_answers_read_back_from_the_referral_they_fill(kind: str, skipped: set[str]) -> None:
    answers = {k: v for k, v in {**SERVICES, "deal_kind": kind}.items() if k not in skipped}
    if kind == "private":  # as the draft works it out: Microsoft brings nobody into a private lead
        answers["consent_partners"] = False
    partner = to_api.partner_referral(NEW, answers, NO_EMAIL)
    linked = to_api.microsoft_referral(NEW, answers, partner)
    for step in NEW.applicable(answers):
        if not isinstance(step.fills, ApiPath) or step.id not in answers:
            continue
        source = linked if step.fills.pointer.startswith("/inviteContext/") else partner
        assert source is not None
        assert step.current(source) == answers[step.id], step.id


def test_an_update_patch_replaces_only_picked_fields_that_changed() -> None:
    current = Referral.from_wire(partner_center("get_referral_response"))
    answers = {
        "fields": ["deal_value", "closing_date", "notes"],
        "deal_value": "175000",
        "closing_date": current.details.closing_date_time.date().isoformat(),  # type: ignore[union-attr]
        "notes": "Pilot agreed",
        "name": "Not picked",
    }
    assert to_api.update_patch(UPDATE, answers, current).to_wire() == [
        {"op": "replace", "path": "/details/dealValue", "value": 175000},
        {"op": "replace", "path": "/details/notes", "value": "Pilot agreed"},
    ]


@pytest.mark.parametrize(
    ("step_id", "answer", "value"),
    [
        ("name", "Contoso - renewal", "Contoso - renewal"),
        ("customer_name", "Contoso Ltd", "Contoso Ltd"),
        ("deal_value", "12500.5", 12500.5),
        ("currency", "EUR", "EUR"),
        ("closing_date", "2027-03-31", "2027-03-31T00:00:00Z"),
        ("notes", "Pilot agreed", "Pilot agreed"),
        ("industries", ["Retail & Consumer Goods"], [{"id": "Retail & Consumer Goods"}]),
        ("products", ["Azure", "Microsoft365"], [{"id": "Azure"}, {"id": "Microsoft365"}]),
        ("services", ["Hardware"], [{"id": "Hardware"}]),
    ],
)
def test_the_patch_for_each_field(step_id: str, answer: Any, value: Any) -> None:
    current = Referral.from_wire(partner_center("get_referral_response"))
    step = UPDATE.step(step_id)
    assert isinstance(step.fills, ApiPath)
    patch = to_api.update_patch(UPDATE, {"fields": [step_id], step_id: answer}, current)
    assert patch.to_wire() == [{"op": "replace", "path": step.fills.pointer, "value": value}]


@pytest.mark.parametrize("step", UPDATABLE_STEPS, ids=lambda step: step.id)
def test_every_updatable_field_patches_a_change_and_nothing_else(step: Step) -> None:
    assert isinstance(step.fills, ApiPath)
    if step.id not in SERVICES:
        pytest.skip(f"no sample answer for {step.id}")
    answers = {"fields": [step.id], step.id: SERVICES[step.id]}
    same = to_api.partner_referral(NEW, SERVICES, SELLER)
    assert not to_api.update_patch(UPDATE, answers, same)
    other = Referral.from_wire(partner_center("get_referral_response"))
    assert to_api.update_patch(UPDATE, answers, other).to_wire() == [
        {"op": "replace", "path": step.fills.pointer, "value": step.fills.to_wire(answers[step.id])}
    ]


def test_a_team_flow_fills_the_member_it_adds() -> None:
    answers = {"first_name": "Kim", "last_name": "Ng", "email": "kim.ng@contoso.com"}
    assert to_api.team_member(TEAM, answers).to_wire() == {
        "firstName": "Kim",
        "lastName": "Ng",
        "email": "kim.ng@contoso.com",
        "phoneNumber": "",
    }
    with_phone = to_api.team_member(TEAM, {**answers, "phone": "+14255550100"})
    assert with_phone.phone_number == "+14255550100"


def test_a_close_flow_fills_the_substatus_and_reason() -> None:
    lost = to_api.closing(CLOSE, {"outcome": "lost", "reason": "Budget moved"})
    assert (lost.substatus, lost.reason) == ("Lost", "Budget moved")
    won = to_api.closing(CLOSE, {"outcome": "won"})
    assert (won.substatus, won.reason) == ("Won", None)
    open_referral = Referral.from_wire(partner_center("get_referral_response"))
    assert CLOSE.step("outcome").current(open_referral) is None  # Pending is no outcome
