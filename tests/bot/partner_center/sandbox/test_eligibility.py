"""Deal-registration eligibility (the five policies, the partner flag) and registering a deal."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.bot.partner_center.sandbox.conftest import (
    Running,
    create,
    create_cosell,
    referral_body,
)

POLICIES = [
    "isDealTypeCosellOrPartnerLed",
    "isMicrosoftReferralAcceptedOrWon",
    "isSolutionIncentiveEligible",
    "isDealValueEligible",
    "isCustomerManaged",
]

REGISTRATION = {
    "type": "AzureIPCoSell",
    "contract": {
        "currency": "USD",
        "endDateTime": "2026-02-28T09:14:19.454Z",
        "signDateTime": "2026-02-12T09:14:10.783Z",
        "startDateTime": "2026-02-12T09:14:16.319Z",
        "term": "Finite",
        "value": 250000,
    },
    "solutionDetails": [
        {
            "id": "DEAL-123456-XYZ",
            "isDeployedOnAzure": True,
            "marketplaceTransactionDetails": {
                "isMarketplaceTransacted": True,
                "marketplaceTransactionDateTime": "2026-02-11T09:13:52.105Z",
            },
            "primaryDeploymentOn": "Partner",
            "pricingModel": "Other",
            "value": 250000,
            "currency": "USD",
        }
    ],
}
REGISTER = [{"op": "add", "path": "/registrations/-", "value": REGISTRATION}]


async def eligibility(api: httpx.AsyncClient, referral_id: str) -> dict[str, Any]:
    response = await api.post(f"/engagements/referrals/{referral_id}/dealregistrations/eligibility")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def failed(report: dict[str, Any]) -> list[str]:
    return [policy["policyName"] for policy in report["failedPolicies"]]


def details(**changes: Any) -> dict[str, Any]:
    result: dict[str, Any] = {**referral_body()["details"], **changes}
    return result


async def test_an_eligible_cosell_passes_all_five_policies_in_the_documented_shape(
    api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    partner, _ = await create_cosell(api, admin, details=details(dealValue=30000))

    report = await eligibility(api, partner["id"])

    assert report == {
        "isEligible": True,
        "passedPolicies": [
            {
                "policyName": "isDealTypeCosellOrPartnerLed",
                "isEligible": True,
                "referralProperties": {"type": "Shared"},
            },
            {
                "policyName": "isMicrosoftReferralAcceptedOrWon",
                "isEligible": True,
                "referralProperties": {"status": "Active", "substatus": "Accepted"},
            },
            {
                "policyName": "isSolutionIncentiveEligible",
                "isEligible": True,
                "referralProperties": {
                    "solutionId": "DEAL-123456-XYZ",
                    "solutionName": "Contoso Experience Platform",
                },
                "additionalProperties": ["MSFT Internal Azure IP Co-Sell"],
            },
            {
                "policyName": "isDealValueEligible",
                "isEligible": True,
                "referralProperties": {"currency": "USD", "dealValue": "30000"},
            },
            {
                "policyName": "isCustomerManaged",
                "isEligible": True,
                "referralProperties": {"isMatchingComplete": "true"},
                "additionalProperties": ["Managed"],
            },
        ],
        "failedPolicies": [],
    }


PRIVATE = {
    **referral_body()["consent"],
    "consentToShareReferralWithMicrosoftSellers": False,
}
UNMANAGED = {**referral_body()["customerProfile"], "name": "Litware Inc"}
OTHER_SOLUTION = details(requirements={"solutions": [{"id": "SOL-15974-MQF", "name": "Ale"}]})


@pytest.mark.parametrize(
    ("changes", "failing", "properties"),
    [
        ({"consent": PRIVATE}, "isDealTypeCosellOrPartnerLed", {"type": "Independent"}),
        (
            {"details": OTHER_SOLUTION},
            "isSolutionIncentiveEligible",
            {"solutionId": "SOL-15974-MQF", "solutionName": "Ale"},
        ),
        (
            {"details": details(dealValue=25000)},
            "isDealValueEligible",
            {"currency": "USD", "dealValue": "25000"},
        ),
        (
            {"details": details(dealValue=23000, currency="EUR")},
            "isDealValueEligible",
            {"currency": "EUR", "dealValue": "23000"},
        ),
        (
            {"details": details(dealValue=900000, currency="ZAR")},
            "isDealValueEligible",
            {"currency": "ZAR", "dealValue": "900000"},
        ),
        ({"customerProfile": UNMANAGED}, "isCustomerManaged", {"isMatchingComplete": "false"}),
    ],
)
async def test_each_referral_policy_fails_on_its_own(
    api: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    changes: dict[str, Any],
    failing: str,
    properties: dict[str, str],
) -> None:
    partner, _ = await create_cosell(api, admin, **changes)

    report = await eligibility(api, partner["id"])

    assert report["isEligible"] is False
    assert failed(report) == [failing]
    assert report["failedPolicies"][0]["referralProperties"] == properties
    assert [p["policyName"] for p in report["passedPolicies"]] == [
        name for name in POLICIES if name != failing
    ]


async def test_a_deal_in_another_currency_converts_to_dollars(
    api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    partner, _ = await create_cosell(api, admin, details=details(dealValue=24000, currency="EUR"))

    assert (await eligibility(api, partner["id"]))["isEligible"] is True  # 24,000 EUR > $25,000


async def test_the_microsoft_referral_must_be_accepted_or_won(
    api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    partner, microsoft = await create_cosell(api, admin, accept=False)
    pending = await eligibility(api, partner["id"])
    await admin.post(f"/referrals/{microsoft['id']}/accept")
    accepted = await eligibility(api, partner["id"])
    await admin.post(f"/referrals/{microsoft['id']}/win")
    won = await eligibility(api, partner["id"])

    assert failed(pending) == ["isMicrosoftReferralAcceptedOrWon"]
    assert pending["failedPolicies"][0]["referralProperties"] == {
        "status": "New",
        "substatus": "Pending",
    }
    assert accepted["isEligible"] is True
    assert won["isEligible"] is True
    assert won["passedPolicies"][1]["referralProperties"] == {
        "status": "Closed",
        "substatus": "Won",
    }


async def test_without_a_microsoft_referral_that_policy_fails(api: httpx.AsyncClient) -> None:
    alone = await create(api)

    report = await eligibility(api, alone["id"])

    assert failed(report) == ["isMicrosoftReferralAcceptedOrWon"]
    assert report["failedPolicies"][0]["referralProperties"] == {
        "status": "None",
        "substatus": "None",
    }


async def test_a_declined_microsoft_referral_does_not_count(
    api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    partner, microsoft = await create_cosell(api, admin, accept=False)
    await admin.post(f"/referrals/{microsoft['id']}/decline")

    assert failed(await eligibility(api, partner["id"])) == ["isMicrosoftReferralAcceptedOrWon"]


async def test_eligibility_of_an_unknown_referral_is_404(api: httpx.AsyncClient) -> None:
    response = await api.post("/engagements/referrals/nope/dealregistrations/eligibility")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "itemNotFound"


async def test_the_seeded_cosell_pair_is_eligible(api: httpx.AsyncClient) -> None:
    assert (await eligibility(api, "5e7a9c1d-3f5b-4d7e-9b1c-3e5a7c9e1b04"))["isEligible"] is True


# --- partner eligibility ---------------------------------------------------------------------


async def test_partner_eligibility_is_toggled_by_the_admin(
    api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    path = "/engagements/partners/dealregistrationeligibility"
    before = (await api.get(path)).json()

    toggled = await admin.post("/partner", json={"dealRegistrationEligible": False})
    after = (await api.get(path)).json()

    assert before == {"isEligible": True, "policies": [{"isEligible": True}]}
    assert toggled.json() == {"dealRegistrationEligible": False}
    assert after == {"isEligible": False, "policies": [{"isEligible": False}]}


async def test_the_partner_flag_needs_a_boolean(admin: httpx.AsyncClient) -> None:
    response = await admin.post("/partner", json={"dealRegistrationEligible": "yes"})

    assert response.status_code == 400


# --- registering a deal ----------------------------------------------------------------------


async def test_an_ineligible_referral_cannot_register_and_is_told_why(
    api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    partner, _ = await create_cosell(
        api, admin, accept=False, customerProfile=UNMANAGED, details=details(dealValue=1000)
    )

    response = await api.patch(f"/engagements/referrals/{partner['id']}", json=REGISTER)

    assert response.status_code == 400
    body = response.json()["error"]
    assert body["target"] == "/registrations/-"
    for policy in ("isMicrosoftReferralAcceptedOrWon", "isDealValueEligible", "isCustomerManaged"):
        assert policy in body["message"]
    assert "isSolutionIncentiveEligible" not in body["message"]
    stored = (await api.get(f"/engagements/referrals/{partner['id']}")).json()
    assert stored == partner


async def test_an_eligible_referral_registers_a_deal(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, running: Running
) -> None:
    partner, _ = await create_cosell(api, admin, details=details(dealValue=30000))
    running.clock.advance(5)

    response = await api.patch(
        f"/engagements/referrals/{partner['id']}",
        json=REGISTER,
        headers={"Prefer": "return=representation", "If-Match": partner["eTag"]},
    )

    assert response.status_code == 200, response.text
    registered = response.json()
    assert registered["registrationStatus"] == "ReviewPending"
    [registration] = registered["registrations"]
    assert registration["status"] == "ReviewPending"
    assert registration["registrationDateTime"] == "2025-03-14T09:30:05Z"
    assert registration["id"]
    assert registration["type"] == "AzureIPCoSell"
    assert registration["contract"]["value"] == 250000
    assert registration["solutionDetails"][0]["marketplaceTransactionDetails"] == {
        "isMarketplaceTransacted": True,
        "marketplaceTransactionDateTime": "2026-02-11T09:13:52.105Z",
    }


async def test_the_partner_must_be_eligible_to_register(
    api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    partner, _ = await create_cosell(api, admin)
    await admin.post("/partner", json={"dealRegistrationEligible": False})

    response = await api.patch(f"/engagements/referrals/{partner['id']}", json=REGISTER)

    assert response.status_code == 400
    assert "partner" in response.json()["error"]["message"]
