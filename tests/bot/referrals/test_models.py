"""Every documented payload parses into the models and round-trips unchanged."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from bot.referrals.catalogs import ReferralStatus, ReferralSubstatus, ReferralType
from bot.referrals.models import (
    IncompleteReferral,
    PartnerEligibility,
    Referral,
    ReferralEligibility,
    ReferralPage,
)
from bot.referrals.patch import JsonPatch
from tests.fixtures import partner_center

REFERRAL_FIXTURES = [
    "create_private_referral_request",
    "create_partner_led_referral_request",
    "get_referral_response",
    "referral_with_unknown_fields_response",
]


def canonical(value: Any) -> Any:
    """What the models promise to keep: same data, with dates compared as instants,
    amounts as numbers and known keys in their canonical camelCase spelling."""
    if isinstance(value, dict):
        return {_canonical_key(k): canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, str) and len(value) >= 20 and value[4:5] == "-" and value[10:11] == "T":
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            return value
    return value


CONSENT_KEYS = {
    "ConsentToToShareInfoWithOthers",
    "ConsentToContact",
    "ConsentToMicrosoftToContactSpecificPartners",
}


def _canonical_key(key: str) -> str:
    return key[0].lower() + key[1:] if key in CONSENT_KEYS else key


@pytest.mark.parametrize("name", REFERRAL_FIXTURES)
def test_referral_fixture_round_trips(name: str) -> None:
    fixture = partner_center(name)
    referral = Referral.from_wire(fixture)
    wire = referral.to_wire()
    assert canonical(wire) == canonical(fixture)
    assert Referral.from_wire(wire) == referral


def test_unknown_fields_survive_at_every_depth() -> None:
    fixture = partner_center("referral_with_unknown_fields_response")
    wire = Referral.from_wire(fixture).to_wire()
    assert wire["trackingInfo"] == fixture["trackingInfo"]
    assert wire["trackingInfo"]["microsoftMsxId"]
    assert wire["customerProfile"]["ids"] == fixture["customerProfile"]["ids"]
    assert wire["details"]["incentiveLevel"] == fixture["details"]["incentiveLevel"]
    assert wire["salesStage"] == fixture["salesStage"]


def test_get_response_fields_are_typed() -> None:
    referral = Referral.from_wire(partner_center("get_referral_response"))
    assert referral.status is ReferralStatus.NEW
    assert referral.substatus is ReferralSubstatus.PENDING
    assert referral.type is ReferralType.INDEPENDENT
    assert referral.created_date_time == datetime(2020, 10, 30, 21, 3, tzinfo=UTC)
    assert referral.details is not None
    assert referral.details.deal_value == Decimal(10000)
    assert referral.e_tag == '"2500ec5a-0000-0000-0000-5bf4967d0000"'
    assert referral.details.requirements is not None
    assert [tag.id for tag in referral.details.requirements.industries or []] == ["Education"]


def test_consent_flags_accept_the_documented_pascal_case() -> None:
    referral = Referral.from_wire(partner_center("create_private_referral_request"))
    consent = referral.consent
    assert consent is not None
    assert consent.consent_to_share_info_with_others is True
    assert consent.consent_to_contact is True
    assert consent.consent_to_microsoft_to_contact_specific_partners is True
    assert consent.consent_to_share_referral_with_microsoft_sellers is False
    # Sent back in the API's own camelCase spelling, typo included.
    assert "consentToToShareInfoWithOthers" in referral.to_wire()["consent"]


def test_unknown_enum_values_are_kept_as_text() -> None:
    referral = Referral.from_wire({"status": "Archived", "substatus": "Won"})
    assert referral.status == "Archived"
    assert referral.substatus is ReferralSubstatus.WON
    assert referral.to_wire() == {"status": "Archived", "substatus": "Won"}


def test_deal_value_accepts_strings_and_writes_numbers() -> None:
    referral = Referral.from_wire({"details": {"dealValue": "10000.50", "currency": "USD"}})
    assert referral.details is not None
    assert referral.details.deal_value == Decimal("10000.50")
    assert referral.to_wire()["details"]["dealValue"] == 10000.5


def test_missing_for_create_names_wire_fields() -> None:
    assert (
        Referral.from_wire(partner_center("create_private_referral_request")).missing_for_create()
        == []
    )
    referral = Referral.from_wire({"name": "x", "customerProfile": {"name": ""}})
    assert referral.missing_for_create() == [
        "type",
        "consent",
        "details",
        "customerProfile/name",
        "customerProfile/address/country",
    ]
    assert "customerProfile/name" in str(IncompleteReferral(referral.missing_for_create()))


def test_eligibility_responses_parse() -> None:
    partner = PartnerEligibility.from_wire(partner_center("partner_eligibility_response"))
    assert partner.is_eligible
    assert [p.is_eligible for p in partner.policies] == [True]
    report = ReferralEligibility.from_wire(partner_center("referral_eligibility_response"))
    assert report.is_eligible
    assert [p.policy_name for p in report.passed_policies] == [
        "isDealTypeCosellOrPartnerLed",
        "isMicrosoftReferralAcceptedOrWon",
        "isSolutionIncentiveEligible",
        "isDealValueEligible",
        "isCustomerManaged",
    ]
    assert report.failed_policies == []
    assert report.passed_policies[3].referral_properties == {
        "currency": "USD",
        "dealValue": "30000",
    }
    assert canonical(report.to_wire()) == canonical(partner_center("referral_eligibility_response"))


def test_list_page_parses_with_odata_annotations() -> None:
    fixture = partner_center("list_referrals_page1_response")
    page = ReferralPage.from_wire(fixture)
    assert page.count == 3
    assert len(page.value) == 2
    assert page.next_link is not None
    assert "$skiptoken=" in page.next_link
    assert canonical(page.to_wire()) == canonical(fixture)


@pytest.mark.parametrize(
    "name",
    [
        "update_deal_value_and_add_member_patch",
        "update_deal_value_and_notes_patch",
        "update_status_won_patch",
        "update_add_team_member_patch",
        "register_deal_patch",
    ],
)
def test_documented_patch_documents_validate(name: str) -> None:
    fixture = partner_center(name)
    patch = JsonPatch.from_wire(fixture)
    assert [op["path"] for op in patch.to_wire()] == [op["path"] for op in fixture]
    assert [op["op"] for op in patch.to_wire()] == [op["op"] for op in fixture]


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("2026-02-11T09:13:52.105Z", "2026-02-11T09:13:52.105Z"),
        ("2020-10-30T21:03:00.0000000Z", "2020-10-30T21:03:00Z"),
        ("2026-02-11T10:13:52.000001+01:00", "2026-02-11T09:13:52.000001Z"),
        ("2026-12-01", "2026-12-01T00:00:00Z"),
    ],
)
def test_datetimes_are_written_in_utc_without_padding(given: str, written: str) -> None:
    referral = Referral.from_wire({"details": {"closingDateTime": given}})
    assert referral.to_wire()["details"]["closingDateTime"] == written
