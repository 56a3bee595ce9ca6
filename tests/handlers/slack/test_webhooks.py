"""Partner Center's webhooks into a Slack deployment: a signed event queues a read of the
referral and the subscribed channel hears once, however often the event is delivered; a
request that is not Partner Center's is refused with nothing queued and nothing fetched.

The sandbox plays Microsoft: it signs its events with a certificate served over https from a
local host with its own CA (the pinned certificate URL points there).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from bot.notifications.changes import ChangeDetector
from bot.partner_center.sandbox import SandboxState, create_sandbox_app, run_sandbox_in_thread
from bot.referrals.models import Referral
from tests.handlers.slack.conftest import SlackBot, running, slack_settings
from tests.support.sandbox import Sandbox
from tests.support.slack_stand_in import SlackApiStandIn
from tests.support.webhook_stand_in import Received, WebhookCertificateHost, WebhookReceiver

TAILWIND = "7b9d2e4f-6a8c-4b1d-8e3f-5a7c9e1b3d02"
WINS = "C0WINS"
WEBHOOK = "/partner-center/webhook"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def microsoft(
    fresh_webhook_certificates: WebhookCertificateHost, receiver: WebhookReceiver
) -> Iterator[Sandbox]:
    """A sandbox of its own that signs its webhooks, registered to ``receiver``."""
    state = SandboxState(page_size=5, webhook_signer=fresh_webhook_certificates.signer)
    with run_sandbox_in_thread(create_sandbox_app(state)) as base_url:
        running = Sandbox(base_url)
        with running.admin:
            registration = {"WebhookUrl": receiver.url, "WebhookEvents": ["referral-updated"]}
            httpx.post(
                base_url.removesuffix("/v1.0") + "/webhooks/v1/registration",
                json=registration,
                headers={"Authorization": "Bearer t"},
            ).raise_for_status()
            yield running


@pytest.fixture
async def bot(
    microsoft: Sandbox,
    fresh_webhook_certificates: WebhookCertificateHost,
    fresh_slack_api: SlackApiStandIn,
    redis_url: str,
    redis: Redis,
    redis_namespace: str,
) -> AsyncIterator[SlackBot]:
    settings = slack_settings(
        microsoft,
        fresh_slack_api,
        redis_url,
        redis_namespace,
        partner_center_webhook_cert_urls=fresh_webhook_certificates.allowed_prefix,
        partner_center_webhook_ca_bundle=fresh_webhook_certificates.ca_bundle,
        requests_ca_bundle=fresh_webhook_certificates.ca_bundle,
    )
    async with running(settings, fresh_slack_api, redis, redis_namespace) as started:
        yield started


async def a_signed_event(microsoft: Sandbox, receiver: WebhookReceiver) -> Received:
    """Microsoft wins Tailwind; the signed event it sent (to the receiver)."""
    microsoft.act(TAILWIND, "win")
    for _ in range(200):
        if receiver.received:
            return receiver.received[-1]
        await asyncio.sleep(0.02)
    raise AssertionError("no webhook sent")


async def deliver(bot: SlackBot, event: Received, **changes: Any) -> httpx.Response:
    headers = {**event.headers, **changes.pop("headers", {})}
    headers.pop("content-length", None)
    return await bot.http.post(WEBHOOK, content=changes.pop("body", event.body), headers=headers)


async def subscribe_wins(bot: SlackBot) -> None:
    await bot.send(bot.requests.command("subscribe", channel=WINS, channel_name="wins"))
    await bot.settled()


async def known_before(bot: SlackBot, microsoft: Sandbox) -> None:
    """Tailwind as it is now, recorded as the poll's baseline would (a referral seen for the
    first time is news as "new", not as "won")."""
    async with httpx.AsyncClient() as http:
        answer = await http.get(
            f"{microsoft.base_url}/engagements/referrals/{TAILWIND}",
            headers={"Authorization": "Bearer t"},
        )
    answer.raise_for_status()
    detector = ChangeDetector(bot.redis, stream=bot.job_stream)
    await detector.observe(Referral.from_wire(answer.json()), source="poll", baseline=True)


async def test_a_webhook_delivered_three_times_tells_the_channel_once(
    bot: SlackBot, microsoft: Sandbox, receiver: WebhookReceiver
) -> None:
    await subscribe_wins(bot)
    await known_before(bot, microsoft)
    event = await a_signed_event(microsoft, receiver)
    microsoft.admin.delete("/requests").raise_for_status()

    answers = [await deliver(bot, event) for _ in range(3)]
    await bot.settled()
    for _ in range(100):
        if len(bot.slack.messages_to(WINS)) > 1:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    await bot.settled()

    assert [answer.status_code for answer in answers] == [202, 200, 200]
    assert [answer.json()["status"] for answer in answers[1:]] == ["duplicate", "duplicate"]
    _, card = bot.slack.messages_to(WINS)
    assert "Won" in card["text"]
    (read,) = microsoft.requests()  # the referral, read once after the answer
    assert read["path"].endswith(TAILWIND)


@pytest.mark.parametrize(
    ("why", "change"),
    [
        ("a bad signature", {"body_suffix": b" "}),
        ("no signature", {"drop": ("authorization", "x-ms-signature")}),
        ("no certificate URL", {"drop": ("x-ms-certificate-url",)}),
        ("a certificate off the pinned host", {"cert_url": "https://127.0.0.1:1/cert/x.cer"}),
        ("a certificate over http", {"cert_url": "http://localhost/cert/x.cer"}),
    ],
)
async def test_a_request_that_is_not_partner_centers_is_refused_with_nothing_queued(
    bot: SlackBot,
    microsoft: Sandbox,
    receiver: WebhookReceiver,
    fresh_webhook_certificates: WebhookCertificateHost,
    why: str,
    change: dict[str, Any],
) -> None:
    event = await a_signed_event(microsoft, receiver)
    headers = {name.lower(): value for name, value in event.headers.items()}
    for name in change.get("drop", ()):
        headers.pop(name, None)
    if "cert_url" in change:
        headers["x-ms-certificate-url"] = change["cert_url"]
    body = event.body + change.get("body_suffix", b"")
    fresh_webhook_certificates.reset()
    microsoft.admin.delete("/requests").raise_for_status()
    headers.pop("content-length", None)

    answer = await bot.http.post(WEBHOOK, content=body, headers=headers)

    assert answer.status_code == 401, why
    assert await bot.redis.xlen(bot.job_stream) == 0
    assert microsoft.requests() == []
    if "body_suffix" not in change:
        assert fresh_webhook_certificates.requests == []  # nothing fetched


async def test_the_test_event_is_taken_and_does_nothing(bot: SlackBot) -> None:
    body = json.dumps(
        {
            "EventName": "test-created",
            "ResourceUri": "https://api.partnercenter.microsoft.com/webhooks/v1/registration/"
            "validationEvents/1",
            "ResourceName": "test",
            "AuditUri": None,
            "ResourceChangeUtcDate": "2026-12-04T10:00:00Z",
        }
    ).encode()
    unsigned = await bot.http.post(WEBHOOK, content=body)
    assert unsigned.status_code == 401
