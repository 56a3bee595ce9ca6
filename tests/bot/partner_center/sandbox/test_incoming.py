"""``POST /sandbox/referrals/incoming``: the sandbox sending the partner a referral, as Microsoft
or another partner would; the partner then answers it through the API like any referral."""

from __future__ import annotations

from datetime import timedelta

import httpx

from bot.referrals.wire import format_utc
from tests.bot.partner_center.sandbox.conftest import START, Running


async def test_an_incoming_referral_arrives_new_and_pending_from_microsoft(
    admin: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    response = await admin.post("/referrals/incoming", json={"name": "Litware - pilot"})

    assert response.status_code == 201
    sent = response.json()
    assert sent["direction"] == "Incoming"
    assert (sent["status"], sent["substatus"]) == ("New", "Pending")
    assert sent["inviteContext"]["invitedBy"]["organizationName"] == "Microsoft"
    assert sent["name"] == "Litware - pilot"
    assert sent["customerProfile"]["name"] == "Litware Inc"  # the default lead's, kept
    assert sent["createdDateTime"] == format_utc(START)
    assert sent["expirationDateTime"] == format_utc(START + timedelta(days=14))
    listed = await api.get(
        "/engagements/referrals", params={"$filter": "direction eq 'Incoming' and status eq 'New'"}
    )
    assert sent["id"] in [each["id"] for each in listed.json()["value"]]


async def test_another_partner_may_send_one_and_the_service_fields_are_its_own(
    admin: httpx.AsyncClient,
) -> None:
    litware = {"organizationId": "org-litware", "organizationName": "Litware Partners"}
    response = await admin.post(
        "/referrals/incoming",
        json={
            "id": "mine",
            "direction": "Outgoing",
            "status": "Active",
            "substatus": "Received",
            "inviteContext": {"invitedBy": litware},
            "team": [{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@contoso.example"}],
        },
    )

    sent = response.json()
    assert sent["id"] != "mine"
    assert (sent["direction"], sent["status"], sent["substatus"]) == ("Incoming", "New", "Received")
    assert sent["inviteContext"]["invitedBy"] == litware
    assert sent["team"][0]["email"] == "ada@contoso.example"


async def test_a_substatus_an_incoming_referral_cannot_have_is_refused(
    admin: httpx.AsyncClient, running: Running
) -> None:
    before = len(running.state)

    response = await admin.post("/referrals/incoming", json={"substatus": "Accepted"})

    assert response.status_code == 400
    assert response.json()["error"]["target"] == "substatus"
    assert len(running.state) == before


async def test_accepting_and_declining_it_follow_the_transition_table(
    admin: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    first = (await admin.post("/referrals/incoming")).json()
    second = (await admin.post("/referrals/incoming")).json()
    accept = [
        {"op": "replace", "path": "/status", "value": "Active"},
        {"op": "replace", "path": "/substatus", "value": "Accepted"},
    ]
    decline = [
        {"op": "replace", "path": "/status", "value": "Closed"},
        {"op": "replace", "path": "/substatus", "value": "Declined"},
        {"op": "replace", "path": "/statusReason", "value": "Outside our region."},
    ]

    accepted = await api.patch(
        f"/engagements/referrals/{first['id']}",
        json=accept,
        headers={"If-Match": first["eTag"], "Prefer": "return=representation"},
    )
    declined = await api.patch(
        f"/engagements/referrals/{second['id']}",
        json=decline,
        headers={"If-Match": second["eTag"], "Prefer": "return=representation"},
    )
    again = await api.patch(f"/engagements/referrals/{second['id']}", json=accept)

    assert (accepted.json()["status"], accepted.json()["substatus"]) == ("Active", "Accepted")
    assert accepted.json()["acceptedDateTime"]
    assert declined.json()["statusReason"] == "Outside our region."
    assert again.status_code == 400
