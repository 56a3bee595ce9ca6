"""Create, read and update referrals over loopback HTTP, and the admin actions of Microsoft."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.bot.partner_center.sandbox.conftest import (
    MICROSOFT_TARGET,
    START,
    Running,
    create,
    referral_body,
)

FABRIKAM = "c5fbb3b6-be74-4795-9fb5-4324c73fed37"
WOODGROVE_WON = "9c1e3a5b-7d9f-4c2e-8a4b-6c8e0a2c4e03"


def error(response: httpx.Response) -> dict[str, Any]:
    """The error object of a Partner Center error body."""
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()["error"]
    return body


async def patch(
    api: httpx.AsyncClient, referral_id: str, operations: list[dict[str, Any]], **headers: str
) -> httpx.Response:
    return await api.patch(
        f"/engagements/referrals/{referral_id}", json=operations, headers=headers
    )


async def fetch(api: httpx.AsyncClient, referral_id: str) -> dict[str, Any]:
    response = await api.get(f"/engagements/referrals/{referral_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- create ----------------------------------------------------------------------------------


async def test_create_assigns_the_service_fields(api: httpx.AsyncClient, running: Running) -> None:
    response = await api.post("/engagements/referrals", json=referral_body())

    assert response.status_code == 201
    created = response.json()
    uuid.UUID(created["id"])
    uuid.UUID(created["engagementId"])
    assert created["eTag"][0] == created["eTag"][-1] == '"'

    assert response.headers["etag"] == created["eTag"]
    assert response.headers["location"].endswith(f"/v1.0/engagements/referrals/{created['id']}")
    stamp = "2025-03-14T09:30:00Z"
    assert created["createdDateTime"] == created["updatedDateTime"] == stamp
    assert created["acceptedDateTime"] == stamp
    assert created["direction"] == "Outgoing"
    assert created["organizationId"] == running.state.partner.organization_id
    assert created["organizationName"] == "Contoso Company"
    assert (created["status"], created["substatus"]) == ("Active", "Accepted")
    assert created == await fetch(api, created["id"])


async def test_each_create_gets_new_ids(api: httpx.AsyncClient) -> None:
    first, second = await create(api), await create(api)

    assert first["id"] != second["id"]
    assert first["engagementId"] != second["engagementId"]
    assert first["eTag"] != second["eTag"]


async def test_create_keeps_fields_it_does_not_know(api: httpx.AsyncClient) -> None:
    created = await create(api, salesStage="Qualify", trackingInfo={"microsoftMsxId": "7-ABC"})

    assert created["salesStage"] == "Qualify"
    assert created["trackingInfo"] == {"microsoftMsxId": "7-ABC"}
    # Consent keys in the documentation's capitalisation are stored in the canonical spelling.
    assert created["consent"]["consentToContact"] is True


@pytest.mark.parametrize(
    ("sent_type", "shared", "expected"),
    [
        ("Shared", False, "Independent"),
        ("Independent", True, "Shared"),
        ("Independent", False, "Independent"),
    ],
)
async def test_type_follows_consent_not_what_was_sent(
    api: httpx.AsyncClient, sent_type: str, shared: bool, expected: str
) -> None:
    consent = {**referral_body()["consent"], "consentToShareReferralWithMicrosoftSellers": shared}

    created = await create(api, type=sent_type, consent=consent)

    assert created["type"] == expected


async def test_a_referral_to_microsoft_waits_for_microsoft(api: httpx.AsyncClient) -> None:
    created = await create(api, target=MICROSOFT_TARGET)

    assert (created["status"], created["substatus"]) == ("New", "Pending")


async def test_status_and_dates_sent_on_create_are_ignored(api: httpx.AsyncClient) -> None:
    created = await create(
        api, status="Closed", substatus="Won", createdDateTime="2001-01-01T00:00:00Z", id="mine"
    )

    assert (created["status"], created["substatus"]) == ("Active", "Accepted")
    assert created["createdDateTime"] == "2025-03-14T09:30:00Z"
    assert created["id"] != "mine"


@pytest.mark.parametrize(
    ("customer", "managed"),
    [("Contoso Customer Inc", True), ("Northwind Health", True), ("Litware Inc", False)],
)
async def test_matching_is_decided_by_the_sandbox(
    api: httpx.AsyncClient, customer: str, managed: bool
) -> None:
    profile = {**referral_body()["customerProfile"], "name": customer, "isMatchingComplete": True}

    created = await create(api, customerProfile=profile)

    assert created["customerProfile"]["isMatchingComplete"] is managed


async def test_the_microsoft_referral_joins_the_engagement(api: httpx.AsyncClient) -> None:
    partner = await create(api)

    microsoft = await create(api, engagementId=partner["engagementId"], target=MICROSOFT_TARGET)

    assert microsoft["engagementId"] == partner["engagementId"]
    assert microsoft["id"] != partner["id"]
    listed = await api.get(
        "/engagements/referrals", params={"$filter": f"engagementId eq {partner['engagementId']}"}
    )
    assert {r["id"] for r in listed.json()["value"]} == {partner["id"], microsoft["id"]}


async def test_an_unknown_engagement_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/engagements/referrals", json=referral_body(engagementId=str(uuid.uuid4()))
    )

    assert response.status_code == 400
    assert error(response)["target"] == "engagementId"


@pytest.mark.parametrize(
    ("changes", "target"),
    [
        ({"customerProfile": None}, "customerProfile"),
        ({"consent": None}, "consent"),
        ({"name": None}, "name"),
        (
            {"customerProfile": {"name": "Contoso", "address": {}}},
            "customerProfile/address/country",
        ),
        ({"customerProfile": "Contoso"}, "customerProfile"),
        ({"name": 42}, "name"),
        ({"details": {"dealValue": "abc"}}, "details/dealValue"),
        ({"team": [{"firstName": ["Sue"]}]}, "team/0/firstName"),
        ({"details": {"currency": "Doubloons"}}, "details/currency"),
        ({"details": {"dealValue": -5}}, "details/dealValue"),
        ({"registrations": [{"type": "AzureIPCoSell"}]}, "registrations"),
    ],
)
async def test_invalid_creates_are_refused_with_a_target(
    api: httpx.AsyncClient, running: Running, changes: dict[str, Any], target: str
) -> None:
    response = await api.post("/engagements/referrals", json=referral_body(**changes))

    assert response.status_code == 400, response.text
    assert error(response)["code"] == "invalidRequest"
    assert error(response)["target"] == target
    assert error(response)["message"]
    assert len(running.state) == 6  # the seeds only: nothing was stored


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b'"text"', b"", b'{"a": NaN}'])
async def test_a_body_that_is_not_a_json_object_is_refused(
    api: httpx.AsyncClient, content: bytes
) -> None:
    response = await api.post(
        "/engagements/referrals", content=content, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert error(response)["code"] == "invalidRequest"


async def test_catalog_values_are_stored_as_the_api_spells_them(api: httpx.AsyncClient) -> None:
    profile = referral_body()["customerProfile"]
    profile["address"]["country"] = "United States"
    details = {**referral_body()["details"], "currency": "usd", "dealValue": "1234.50"}

    created = await create(api, customerProfile=profile, details=details)

    assert created["customerProfile"]["address"]["country"] == "US"
    assert created["details"]["currency"] == "USD"
    assert created["details"]["dealValue"] == 1234.5


# --- read --------------------------------------------------------------------------------------


async def test_get_by_id_returns_the_referral_and_its_etag(api: httpx.AsyncClient) -> None:
    response = await api.get(f"/engagements/referrals/{FABRIKAM}")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["customerProfile"]["name"] == "Fabrikam Customer Inc"
    assert body["engagementId"] == "65edc0b5-3485-41b7-a17e-dfa9ef4706e2"
    assert (body["status"], body["substatus"], body["direction"]) == ("New", "Pending", "Incoming")
    assert response.headers["etag"] == body["eTag"]


async def test_get_of_an_unknown_id_is_404_with_the_error_body(api: httpx.AsyncClient) -> None:
    response = await api.get("/engagements/referrals/does-not-exist")

    assert response.status_code == 404
    assert error(response)["code"] == "itemNotFound"
    assert "does-not-exist" in error(response)["message"]


async def test_unknown_routes_answer_in_the_error_shape(api: httpx.AsyncClient) -> None:
    missing = await api.get("/engagements/nothing-here")
    wrong_method = await api.delete(f"/engagements/referrals/{FABRIKAM}")

    assert missing.status_code == 404
    assert error(missing)["code"] == "itemNotFound"
    assert wrong_method.status_code == 405
    assert error(wrong_method)["code"] == "invalidRequest"


# --- update --------------------------------------------------------------------------------------

NOTES = [{"op": "replace", "path": "/details/notes", "value": "Budget approved."}]


async def test_patch_without_prefer_is_204_with_the_new_etag(
    api: httpx.AsyncClient, running: Running
) -> None:
    created = await create(api)
    running.clock.advance(60)

    response = await patch(api, created["id"], NOTES)

    assert response.status_code == 204
    assert response.content == b""
    stored = await fetch(api, created["id"])
    assert response.headers["etag"] == stored["eTag"] != created["eTag"]
    assert stored["details"]["notes"] == "Budget approved."
    assert stored["updatedDateTime"] == "2025-03-14T09:31:00Z"
    assert stored["createdDateTime"] == created["createdDateTime"]


async def test_patch_with_prefer_returns_the_referral(api: httpx.AsyncClient) -> None:
    created = await create(api)

    response = await patch(api, created["id"], NOTES, Prefer="return=representation")

    assert response.status_code == 200
    assert response.json() == await fetch(api, created["id"])
    assert response.json()["details"]["notes"] == "Budget approved."
    assert response.headers["etag"] == response.json()["eTag"]


async def test_patch_with_the_current_etag_succeeds(api: httpx.AsyncClient) -> None:
    created = await create(api)

    response = await patch(api, created["id"], NOTES, **{"If-Match": created["eTag"]})

    assert response.status_code == 204


@pytest.mark.parametrize("stale", ["stale", "W/{etag}", "{etag_upper}", "{etag_unquoted}"])
async def test_patch_with_another_etag_is_412_and_changes_nothing(
    api: httpx.AsyncClient, stale: str
) -> None:
    created = await create(api)
    etag = created["eTag"]
    if_match = stale.format(etag=etag, etag_unquoted=etag.strip('"'), etag_upper=etag.upper())

    response = await patch(api, created["id"], NOTES, **{"If-Match": if_match})

    assert response.status_code == 412
    assert error(response)["code"] == "preconditionFailed"
    assert await fetch(api, created["id"]) == created


async def test_patch_of_an_unknown_referral_is_404(api: httpx.AsyncClient) -> None:
    response = await patch(api, "nope", NOTES)

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("operation", "target"),
    [
        ({"op": "remove", "path": "/details/notes"}, "/details/notes"),
        ({"op": "remove", "path": "/details/notes", "value": "x"}, "/details/notes"),
        ({"op": "move", "from": "/name", "path": "/details/notes", "value": "x"}, "/details/notes"),
        ({"op": "replace", "path": "/details/notez", "value": "x"}, "/details/notez"),
        ({"op": "replace", "path": "/id", "value": "x"}, "/id"),
        ({"op": "replace", "path": "/details/dealValue", "value": "abc"}, "/details/dealValue"),
        ({"op": "replace", "path": "/status", "value": "Finished"}, "/status"),
        ({"op": "replace", "path": "/team/-", "value": {"firstName": "x"}}, "/team/-"),
    ],
)
async def test_operations_the_api_refuses_are_400_with_the_path(
    api: httpx.AsyncClient, operation: dict[str, Any], target: str
) -> None:
    created = await create(api)

    response = await patch(api, created["id"], [NOTES[0], operation])

    assert response.status_code == 400, response.text
    assert error(response)["target"] == target
    assert await fetch(api, created["id"]) == created  # the valid first operation was not applied


async def test_refused_operations_name_the_operation(api: httpx.AsyncClient) -> None:
    created = await create(api)

    response = await patch(api, created["id"], [{"op": "move", "path": "/name", "value": "x"}])

    assert "move" in error(response)["message"]


@pytest.mark.parametrize("content", [b"{}", b"[]", b"not json", b'{"op": "replace"}'])
async def test_a_body_that_is_not_a_patch_document_is_400(
    api: httpx.AsyncClient, content: bytes
) -> None:
    response = await api.patch(f"/engagements/referrals/{FABRIKAM}", content=content)

    assert response.status_code == 400
    assert error(response)["code"] == "invalidRequest"


async def test_deal_value_sent_as_text_is_stored_as_a_number(api: httpx.AsyncClient) -> None:
    created = await create(api)

    await patch(
        api, created["id"], [{"op": "replace", "path": "/details/dealValue", "value": "10000"}]
    )

    assert (await fetch(api, created["id"]))["details"]["dealValue"] == 10000


async def test_team_append_adds_members_in_order(api: httpx.AsyncClient) -> None:
    created = await create(api, team=None)
    jane = {"email": "jane.doe@contoso.com", "firstName": "Jane", "lastName": "Doe"}
    raj = {"email": "raj@contoso.com", "firstName": "Raj", "lastName": "Patel"}

    first = await patch(api, created["id"], [{"op": "add", "path": "/team/-", "value": jane}])
    second = await patch(api, created["id"], [{"op": "add", "path": "/team/-", "value": raj}])

    assert (first.status_code, second.status_code) == (204, 204)
    assert [m["email"] for m in (await fetch(api, created["id"]))["team"]] == [
        "jane.doe@contoso.com",
        "raj@contoso.com",
    ]


async def test_replace_creates_missing_parent_objects(api: httpx.AsyncClient) -> None:
    created = await create(api)

    await patch(
        api,
        created["id"],
        [{"op": "add", "path": "/details/requirements/industries", "value": [{"id": "retail"}]}],
    )

    requirements = (await fetch(api, created["id"]))["details"]["requirements"]
    assert requirements["industries"] == [{"id": "Retail & Consumer Goods"}]
    assert requirements["solutions"][0]["id"] == "DEAL-123456-XYZ"


async def test_closing_won_stamps_the_closed_date(api: httpx.AsyncClient, running: Running) -> None:
    created = await create(api)
    running.clock.advance(3600)

    response = await patch(
        api,
        created["id"],
        [
            {"op": "replace", "path": "/status", "value": "Closed"},
            {"op": "replace", "path": "/substatus", "value": "Won"},
            {"op": "replace", "path": "/statusReason", "value": "Signed."},
        ],
        Prefer="return=representation",
    )

    assert response.status_code == 200
    closed = response.json()
    assert (closed["status"], closed["substatus"], closed["statusReason"]) == (
        "Closed",
        "Won",
        "Signed.",
    )
    assert closed["closedDateTime"] == "2025-03-14T10:30:00Z"


@pytest.mark.parametrize(
    ("referral_id", "operations"),
    [
        (
            WOODGROVE_WON,
            [
                {"op": "replace", "path": "/status", "value": "Active"},
                {"op": "replace", "path": "/substatus", "value": "Accepted"},
            ],
        ),
        (
            WOODGROVE_WON,
            [{"op": "replace", "path": "/substatus", "value": "Lost"}],
        ),
        (
            FABRIKAM,
            [{"op": "replace", "path": "/status", "value": "Closed"}],  # keeps substatus Pending
        ),
    ],
)
async def test_forbidden_transitions_are_refused_and_change_nothing(
    api: httpx.AsyncClient, referral_id: str, operations: list[dict[str, Any]]
) -> None:
    before = await fetch(api, referral_id)

    response = await patch(api, referral_id, operations)

    assert response.status_code == 400
    assert error(response)["target"] in ("/status", "/substatus")
    assert await fetch(api, referral_id) == before


async def test_accepting_an_incoming_referral_stamps_the_accepted_date(
    api: httpx.AsyncClient, running: Running
) -> None:
    running.clock.advance(120)

    response = await patch(
        api,
        FABRIKAM,
        [
            {"op": "replace", "path": "/status", "value": "Active"},
            {"op": "replace", "path": "/substatus", "value": "Accepted"},
        ],
        Prefer="return=representation",
    )

    assert response.status_code == 200
    assert response.json()["acceptedDateTime"] == "2025-03-14T09:32:00Z"


async def test_only_microsoft_accepts_the_microsoft_referral(api: httpx.AsyncClient) -> None:
    microsoft = await create(api, target=MICROSOFT_TARGET)

    response = await patch(
        api,
        microsoft["id"],
        [
            {"op": "replace", "path": "/status", "value": "Active"},
            {"op": "replace", "path": "/substatus", "value": "Accepted"},
        ],
    )

    assert response.status_code == 400
    assert "/sandbox/referrals/" in error(response)["message"]


async def test_a_shared_referral_cannot_become_private(api: httpx.AsyncClient) -> None:
    created = await create(api)
    path = "/consent/consentToShareReferralWithMicrosoftSellers"

    response = await patch(api, created["id"], [{"op": "replace", "path": path, "value": False}])

    assert response.status_code == 400
    assert error(response)["target"] == path
    assert await fetch(api, created["id"]) == created


async def test_a_private_referral_can_become_partner_led(api: httpx.AsyncClient) -> None:
    consent = {**referral_body()["consent"], "consentToShareReferralWithMicrosoftSellers": False}
    created = await create(api, consent=consent)
    path = "/consent/consentToShareReferralWithMicrosoftSellers"

    response = await patch(
        api,
        created["id"],
        [{"op": "replace", "path": path, "value": True}],
        Prefer="return=representation",
    )

    assert response.status_code == 200
    assert created["type"] == "Independent"
    assert response.json()["type"] == "Shared"


# --- acting as Microsoft -------------------------------------------------------------------------


async def test_microsoft_accepts_a_pending_referral(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, running: Running
) -> None:
    microsoft = await create(api, target=MICROSOFT_TARGET)
    running.clock.advance(30)

    response = await admin.post(f"/referrals/{microsoft['id']}/accept")

    assert response.status_code == 200
    accepted = await fetch(api, microsoft["id"])
    assert response.json() == accepted
    assert (accepted["status"], accepted["substatus"]) == ("Active", "Accepted")
    assert accepted["eTag"] != microsoft["eTag"]
    assert accepted["updatedDateTime"] == accepted["acceptedDateTime"] == "2025-03-14T09:30:30Z"


@pytest.mark.parametrize(
    ("action", "substatus"),
    [("win", "Won"), ("lose", "Lost"), ("decline", "Declined"), ("expire", "Expired")],
)
async def test_microsoft_closes_a_referral_with_a_reason(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, action: str, substatus: str
) -> None:
    response = await admin.post(f"/referrals/{FABRIKAM}/{action}", json={"reason": "Because."})

    assert response.status_code == 200
    closed = await fetch(api, FABRIKAM)
    assert (closed["status"], closed["substatus"]) == ("Closed", substatus)
    assert closed["statusReason"] == "Because."
    assert closed["closedDateTime"] == START.strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_microsoft_actions_follow_the_transition_table(admin: httpx.AsyncClient) -> None:
    reopen = await admin.post(f"/referrals/{WOODGROVE_WON}/accept")
    relose = await admin.post(f"/referrals/{WOODGROVE_WON}/lose")
    unknown = await admin.post(f"/referrals/{WOODGROVE_WON}/celebrate")
    missing = await admin.post("/referrals/nope/win")
    bad_reason = await admin.post(f"/referrals/{FABRIKAM}/win", json={"reason": 7})

    assert (reopen.status_code, relose.status_code) == (400, 400)
    assert error(relose)["code"] == "invalidRequest"
    assert (unknown.status_code, missing.status_code, bad_reason.status_code) == (404, 404, 400)


async def test_reset_restores_the_seeded_referrals(
    api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    created = await create(api)
    await admin.post(f"/referrals/{FABRIKAM}/win")

    response = await admin.post("/reset")

    assert response.status_code == 204
    assert (await api.get(f"/engagements/referrals/{created['id']}")).status_code == 404
    assert (await fetch(api, FABRIKAM))["status"] == "New"
