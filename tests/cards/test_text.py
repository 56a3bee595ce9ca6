"""Terminal cards: rendered to text and read back, as an operator would see them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console, RenderableType

from bot.conversation.views import SignIn
from bot.referrals.models import (
    PartnerEligibility,
    Referral,
    ReferralEligibility,
    ReferralPage,
)
from cards import text

FIXTURES = Path(__file__).parents[1] / "fixtures" / "partner_center"


def render(renderable: RenderableType, width: int = 120) -> str:
    console = Console(record=True, width=width)
    console.print(renderable)
    return console.export_text()


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def referral() -> Referral:
    return Referral.from_wire(fixture("get_referral_response.json"))


def test_table_shows_one_row_per_referral_with_the_columns_an_operator_scans() -> None:
    page = ReferralPage.from_wire(fixture("list_referrals_page1_response.json"))

    output = render(text.referral_table(page.value, total=page.count), width=180)

    for header in ("Id", "Name", "Customer", "Status", "Value", "Closing", "Updated"):
        assert header in output
    first = page.value[0]
    assert first.id is not None
    assert first.id in output
    assert "Northwind Traders - Microsoft 365 rollout" in output  # one line, not wrapped
    assert "New/Pending" in output
    assert "18,000 USD" in output
    assert "2024-11-29" in output
    assert f"{len(page.value)} of {page.count} referrals" in output


def test_table_formats_money_and_dates_and_keeps_brackets_in_names() -> None:
    referral = Referral.from_wire(
        {
            "id": "r-1",
            "name": "Contoso Test Deal - [Private]",
            "customerProfile": {"name": "Fabrikam [EU]"},
            "status": "Closed",
            "substatus": "Won",
            "details": {
                "dealValue": 1234567.5,
                "currency": "EUR",
                "closingDateTime": "2026-12-01T00:00:00Z",
            },
            "updatedDateTime": "2026-01-02T03:04:05Z",
        }
    )

    output = render(text.referral_table([referral], total=40, truncated=True))

    assert "Contoso Test Deal - [Private]" in output
    assert "Fabrikam [EU]" in output
    assert "1,234,567.50 EUR" in output
    assert "2026-12-01" in output
    assert "2026-01-02" in output
    assert "Closed/Won" in output
    assert "1 of 40 referrals" in output
    assert "narrow the filter" in output


def test_table_on_a_narrow_terminal_keeps_ids_whole_and_names_visible() -> None:
    page = ReferralPage.from_wire(fixture("list_referrals_page1_response.json"))
    console = Console(record=True, width=80)

    console.print(text.referral_table(page.value))
    output = console.export_text()

    first = page.value[0]
    assert first.id is not None
    assert first.id in output
    assert "Northwind Traders - Microsoft 365" in output
    assert "New/Pending · 18,000 USD · 2024-11-29" in output
    assert max(len(line) for line in output.splitlines()) <= 80


def test_table_of_bare_referrals_shows_dashes_instead_of_failing() -> None:
    output = render(text.referral_table([Referral(), Referral(id="only-an-id")]))

    assert "only-an-id" in output
    assert "2 referrals" in output
    assert " - " in output


def test_empty_table_says_so() -> None:
    assert "0 referrals" in render(text.referral_table([]))


def test_card_shows_ids_etag_customer_deal_and_requirements(referral: Referral) -> None:
    output = render(text.referral_card(referral, heading="Created"))

    assert "Created: (unnamed referral)" in output  # the documented sample has no name
    assert "c5fbb3b6-be74-4795-9fb5-4324c73fed37" in output
    assert "65edc0b5-3485-41b7-a17e-dfa9ef4706e2" in output
    assert '"2500ec5a-0000-0000-0000-5bf4967d0000"' in output
    assert "New/Pending" in output
    assert "Fabrikam Customer Inc (Redmond, US)" in output
    assert "10,000 USD" in output
    assert "2020-12-01" in output
    assert "Education" in output
    assert "Microsoft365" in output
    assert "SOL-Microsoft365" in output
    assert "LearningAndCertification" in output


def test_card_lists_teams_and_registrations() -> None:
    referral = Referral.from_wire(
        {
            "id": "r-2",
            "name": "Deal",
            "team": [{"firstName": "Ada", "lastName": "Lee", "email": "ada@contoso.com"}],
            "customerProfile": {"name": "Fabrikam", "team": [{"email": "sue@fabrikam.com"}]},
            "registrations": [
                {
                    "id": "reg-1",
                    "type": "AzureIPCoSell",
                    "status": "ReviewPending",
                    "contract": {"value": 250000, "currency": "USD"},
                    "solutionDetails": [{"id": "DEAL-123456-XYZ"}],
                }
            ],
        }
    )

    output = render(text.referral_card(referral, heading="Updated"))

    assert "Updated: Deal" in output
    assert "Ada Lee" in output
    assert "ada@contoso.com" in output
    assert "Customer contacts" in output
    assert "sue@fabrikam.com" in output
    assert "Deal registrations" in output
    assert "reg-1" in output
    assert "AzureIPCoSell" in output
    assert "ReviewPending" in output
    assert "250,000 USD" in output
    assert "DEAL-123456-XYZ" in output


def test_card_of_an_empty_referral_renders() -> None:
    output = render(text.referral_card(Referral.from_wire({"details": {"requirements": {}}})))

    assert "(unnamed referral)" in output
    assert "Requirements" not in output


def test_eligibility_report_marks_each_policy_and_what_it_looked_at() -> None:
    eligibility = ReferralEligibility.from_wire(
        {
            "isEligible": False,
            "passedPolicies": [
                {
                    "policyName": "isDealTypeCosellOrPartnerLed",
                    "isEligible": True,
                    "referralProperties": {"type": "Shared"},
                }
            ],
            "failedPolicies": [
                {
                    "policyName": "isDealValueEligible",
                    "isEligible": False,
                    "referralProperties": {"currency": "USD", "dealValue": "10000"},
                },
                {
                    "policyName": "isCustomerManaged",
                    "isEligible": False,
                    "referralProperties": {"isMatchingComplete": None},
                    "additionalProperties": ["Managed"],
                },
            ],
        }
    )

    output = render(text.eligibility_report(eligibility, referral_id="r-9"))
    lines = output.splitlines()

    assert "✗ Referral r-9 is not eligible for deal registration (1 passed, 2 failed)." in output
    assert any("✓" in line and "The deal is shared with Microsoft" in line for line in lines)
    assert any("type=Shared" in line for line in lines)
    value_line = next(line for line in lines if "worth USD 25,000 or less" in line)
    assert "✗" in value_line
    assert "currency=USD, dealValue=10000" in value_line
    assert "If the deal is bigger, update its value" in output  # what would fix it
    managed_line = next(line for line in lines if "not matched as a Microsoft-managed" in line)
    assert "isMatchingComplete=-" in managed_line
    assert "Managed" in managed_line


def test_eligibility_report_from_the_documented_sample() -> None:
    eligibility = ReferralEligibility.from_wire(fixture("referral_eligibility_response.json"))

    output = render(text.eligibility_report(eligibility, referral_id="r-1"))

    assert "✓ Referral r-1 is eligible for deal registration (5 passed, 0 failed)." in output
    assert output.count("✓") == 6
    assert "✗" not in output
    assert "solutionName=Contoso" in output
    assert "It includes an Azure IP co-sell eligible solution." in output


def test_eligibility_report_without_policies() -> None:
    eligibility = ReferralEligibility(is_eligible=False)

    output = render(text.eligibility_report(eligibility, referral_id="r-1"))

    assert "not eligible" in output
    assert "no policies" in output


def test_partner_eligibility_report() -> None:
    eligible = PartnerEligibility.from_wire(fixture("partner_eligibility_response.json"))
    refused = PartnerEligibility.from_wire(
        {"isEligible": False, "policies": [{"policyName": "hasMpnId", "isEligible": False}]}
    )

    assert "✓ This partner may register deals." in render(text.partner_eligibility_report(eligible))
    assert "(unnamed policy)" in render(text.partner_eligibility_report(eligible))
    output = render(text.partner_eligibility_report(refused))
    assert "✗ This partner may not register deals." in output
    assert "hasMpnId" in output
    assert "✓ This partner" in render(
        text.partner_eligibility_report(PartnerEligibility(is_eligible=True))
    )


def test_customer_size_reads_as_words_and_unknown_sizes_pass_through() -> None:
    known = Referral.from_wire(
        {"customerProfile": {"name": "Northwind", "size": "251to1000employees"}}
    )
    odd = Referral.from_wire({"customerProfile": {"name": "Odd", "size": "Huge"}})
    assert "Northwind · 251 to 1,000 employees" in render(text.referral_card(known))
    assert "Odd · Huge" in render(text.referral_card(odd))


def test_a_sign_in_link_is_printed_whole() -> None:
    link = "https://login.microsoftonline.com/t/oauth2/v2.0/authorize?state=" + "s" * 150
    shown = render(text.render_view(SignIn(url=link, message="Sign in first.", detail="Kept.")))
    assert "Sign in first." in shown
    assert link in shown.replace("\n", "")
    assert "Kept." in shown
