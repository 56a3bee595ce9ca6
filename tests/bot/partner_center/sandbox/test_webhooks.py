"""The sandbox as Microsoft for webhooks: the registration API, and signed events sent to a
registered receiver when referrals change (checked with the bot's own verifier)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from bot.notifications.signature import WebhookVerifier
from bot.notifications.webhook_events import REFERRAL_EVENTS, parse_event
from tests.bot.partner_center.sandbox.conftest import (
    MICROSOFT_TARGET,
    TOKEN,
    Running,
    create,
    start_sandbox,
)
from tests.support.webhook_stand_in import WebhookCertificateHost, WebhookReceiver

SEEDED_NEW_LEAD = "c5fbb3b6-be74-4795-9fb5-4324c73fed37"  # New/Pending: Microsoft may accept it
ALL_EVENTS = [*REFERRAL_EVENTS, "test-created"]


@pytest.fixture(scope="module")
def running(webhook_certificates: WebhookCertificateHost) -> Iterator[Running]:
    yield from start_sandbox(webhook_signer=webhook_certificates.signer)


@pytest.fixture(scope="module")
def receiver_server() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def receiver(receiver_server: WebhookReceiver) -> WebhookReceiver:
    receiver_server.reset()
    return receiver_server


@pytest.fixture
async def hooks(running: Running) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the registration API, with a bearer token."""
    async with httpx.AsyncClient(
        base_url=running.origin + "/webhooks/v1",
        headers={"Authorization": f"Bearer {TOKEN}"},
        trust_env=False,
    ) as client:
        yield client


@pytest.fixture
async def verifier(
    fresh_webhook_certificates: WebhookCertificateHost,
) -> AsyncIterator[WebhookVerifier]:
    host = fresh_webhook_certificates
    async with httpx.AsyncClient(verify=host.ssl_context(), trust_env=False) as http:
        yield WebhookVerifier(
            http, allowed_cert_urls=(host.allowed_prefix,), ca_bundle=host.ca_bundle
        )


async def register(
    hooks: httpx.AsyncClient, url: str, events: list[str] = ALL_EVENTS, **extra: Any
) -> dict[str, Any]:
    response = await hooks.post(
        "/registration", json={"WebhookUrl": url, "WebhookEvents": events, **extra}
    )
    assert response.status_code == 200, response.text
    registration: dict[str, Any] = response.json()
    return registration


async def deliveries(admin: httpx.AsyncClient) -> list[dict[str, Any]]:
    """The deliveries, once every one of them was answered (or failed)."""
    response = await admin.get("/webhooks", params={"wait": "10"})
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()["deliveries"]
    assert not any(delivery["pending"] for delivery in found)
    return found


# -- the registration API ------------------------------------------------------------------------


async def test_register_show_replace_delete(hooks: httpx.AsyncClient, running: Running) -> None:
    assert (await hooks.get("/registration")).status_code == 404

    registered = await register(hooks, "https://bot.example.test/partner-center/webhook")
    assert registered["WebhookUrl"] == "https://bot.example.test/partner-center/webhook"
    assert registered["WebhookEvents"] == ALL_EVENTS
    assert registered["SubscriberId"] == running.state.partner.organization_id
    assert (await hooks.get("/registration")).json() == registered

    again = await hooks.post(
        "/registration", json={"WebhookUrl": "https://x.test/", "WebhookEvents": ALL_EVENTS}
    )
    assert again.status_code == 409

    replaced = await hooks.put(
        "/registration",
        json={
            "WebhookUrl": "https://other.example.test/hook",
            "WebhookEvents": ["referral-updated"],
        },
    )
    assert replaced.status_code == 200
    assert (await hooks.get("/registration")).json()["WebhookEvents"] == ["referral-updated"]

    assert (await hooks.delete("/registration")).status_code == 204
    assert (await hooks.get("/registration")).status_code == 404
    assert (await hooks.delete("/registration")).status_code == 404


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"WebhookEvents": ["referral-updated"]}, "WebhookUrl"),
        ({"WebhookUrl": "ftp://x.test/", "WebhookEvents": ["referral-updated"]}, "WebhookUrl"),
        ({"WebhookUrl": "https://x.test/", "WebhookEvents": []}, "WebhookEvents"),
        ({"WebhookUrl": "https://x.test/", "WebhookEvents": ["order-created"]}, "WebhookEvents"),
        (
            {
                "WebhookUrl": "https://x.test/",
                "WebhookEvents": ["referral-updated"],
                "SignatureTokenToMsSignatureHeader": "yes",
            },
            "SignatureTokenToMsSignatureHeader",
        ),
    ],
)
async def test_bad_registrations_are_refused(
    hooks: httpx.AsyncClient, body: dict[str, Any], target: str
) -> None:
    response = await hooks.post("/registration", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["target"] == target


async def test_the_registration_api_needs_a_token(running: Running) -> None:
    async with httpx.AsyncClient(base_url=running.origin, trust_env=False) as anonymous:
        response = await anonymous.get("/webhooks/v1/registration")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


async def test_the_available_events_are_listed(hooks: httpx.AsyncClient) -> None:
    for path in ("/registration/events", "/availableEvents"):
        response = await hooks.get(path)
        assert response.status_code == 200
        assert response.json() == ALL_EVENTS


# -- events --------------------------------------------------------------------------------------


async def test_microsoft_accepting_sends_a_signed_event(
    hooks: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    receiver: WebhookReceiver,
    verifier: WebhookVerifier,
) -> None:
    await register(hooks, receiver.url)

    accepted = await admin.post(f"/referrals/{SEEDED_NEW_LEAD}/accept")
    assert accepted.status_code == 200

    [delivery] = await deliveries(admin)
    assert delivery["status"] == 200
    assert delivery["signed"]
    [received] = receiver.received
    await verifier.verify(received.headers, received.body)  # does not raise
    assert received.headers["authorization"].startswith("Signature ")
    assert received.headers["x-ms-signature-algorithm"] == "rsa-sha256"
    event = parse_event(received.body)
    assert event.event_name == "referral-updated"
    assert event.resource_uri == (
        f"https://api.partner.microsoft.com/v1.0/engagements/referrals/{SEEDED_NEW_LEAD}"
    )
    assert event.referral_id == SEEDED_NEW_LEAD
    assert event.resource_name == "referral"
    assert event.audit_uri is None
    assert event.changed_at == datetime.fromisoformat(accepted.json()["updatedDateTime"])


async def test_creating_sends_created_events_and_the_microsoft_side_is_related(
    hooks: httpx.AsyncClient,
    api: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    receiver: WebhookReceiver,
) -> None:
    await register(hooks, receiver.url, SignatureTokenToMsSignatureHeader=True)
    partner = await create(api)
    microsoft = await create(api, engagementId=partner["engagementId"], target=MICROSOFT_TARGET)
    await admin.post(f"/referrals/{microsoft['id']}/accept")

    sent = [
        (item["eventName"], item["resourceUri"].rpartition("/")[2])
        for item in await deliveries(admin)
    ]
    assert sent == [
        ("referral-created", partner["id"]),
        ("related-referral-created", microsoft["id"]),
        ("related-referral-updated", microsoft["id"]),
    ]
    assert all("x-ms-signature" in received.headers for received in receiver.received)
    assert not any("authorization" in received.headers for received in receiver.received)


async def test_a_patch_sends_referral_updated(
    hooks: httpx.AsyncClient,
    api: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    receiver: WebhookReceiver,
) -> None:
    partner = await create(api)
    await register(hooks, receiver.url, ["referral-updated"])
    patch = [{"op": "replace", "path": "/details/notes", "value": "Call back on Monday."}]
    response = await api.patch(f"/engagements/referrals/{partner['id']}", json=patch)
    assert response.status_code == 204

    [delivery] = await deliveries(admin)
    assert (delivery["eventName"], delivery["status"]) == ("referral-updated", 200)


async def test_events_not_subscribed_are_not_sent(
    hooks: httpx.AsyncClient,
    api: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    receiver: WebhookReceiver,
) -> None:
    await register(hooks, receiver.url, ["referral-updated"])
    await create(api)
    assert await deliveries(admin) == []
    assert receiver.received == []


async def test_nothing_is_sent_without_a_registration(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    await create(api)
    assert (await admin.post(f"/referrals/{SEEDED_NEW_LEAD}/win")).status_code == 200
    response = await admin.get("/webhooks")
    assert response.json() == {"registration": None, "deliveries": []}
    assert receiver.received == []


async def test_a_failing_receiver_does_not_slow_or_break_the_api(
    hooks: httpx.AsyncClient,
    api: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    receiver: WebhookReceiver,
) -> None:
    receiver.status = 500
    await register(hooks, receiver.url)
    await create(api)
    # A port nobody listens on: the connection is refused.
    await hooks.put(
        "/registration", json={"WebhookUrl": "http://127.0.0.1:9/hook", "WebhookEvents": ALL_EVENTS}
    )
    started = time.monotonic()
    await create(api)
    assert time.monotonic() - started < 2

    failing, unreachable = await deliveries(admin)
    assert (failing["status"], failing["error"]) == (500, None)
    assert unreachable["status"] is None
    assert unreachable["error"].startswith("ConnectError")


async def test_the_validation_event_is_a_signed_test_created(
    hooks: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    receiver: WebhookReceiver,
    verifier: WebhookVerifier,
) -> None:
    await register(hooks, receiver.url)
    response = await hooks.post("/registration/validationEvents")
    assert response.status_code == 200
    correlation_id = response.json()["correlationId"]

    [delivery] = await deliveries(admin)
    assert delivery["correlationId"] == correlation_id
    [received] = receiver.received
    await verifier.verify(received.headers, received.body)
    assert parse_event(received.body).is_test

    status = await hooks.get(f"/registration/validationEvents/{correlation_id}")
    assert status.json()["results"][0]["responseCode"] == 200


async def test_the_validation_event_needs_test_created_registered(
    hooks: httpx.AsyncClient,
) -> None:
    assert (await hooks.post("/registration/validationEvents")).status_code == 404
    await register(hooks, "https://x.test/hook", ["referral-updated"])
    response = await hooks.post("/registration/validationEvents")
    assert response.status_code == 400
    assert "test-created" in response.json()["error"]["message"]


async def test_any_event_can_be_fired_from_the_admin_route(
    hooks: httpx.AsyncClient, admin: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    assert (
        await admin.post("/webhooks/events", json={"EventName": "x", "referralId": "r"})
    ).status_code == 409
    await register(hooks, receiver.url, ["referral-updated"])
    response = await admin.post(
        "/webhooks/events", json={"EventName": "referral-created", "referralId": "abc-123"}
    )
    assert response.status_code == 202
    [delivery] = await deliveries(admin)
    assert delivery["eventName"] == "referral-created"
    [received] = receiver.received
    assert json.loads(received.body)["ResourceUri"].endswith("/referrals/abc-123")


async def test_reset_forgets_the_registration_and_deliveries(
    hooks: httpx.AsyncClient, admin: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    await register(hooks, receiver.url)
    await admin.post("/webhooks/events", json={"EventName": "test-created", "referralId": "x"})
    await deliveries(admin)
    await admin.post("/reset")
    assert (await admin.get("/webhooks")).json() == {"registration": None, "deliveries": []}
