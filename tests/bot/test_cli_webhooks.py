"""``referral-bot webhooks ...`` against the real sandbox over loopback HTTP: registering the
bot's URL, showing it, and a test event that arrives signed at a local receiver."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from bot.cli import app
from bot.notifications.signature import WebhookVerifier
from bot.notifications.webhook_events import REFERRAL_EVENTS, parse_event
from bot.partner_center.sandbox import SandboxServer, SandboxState, create_sandbox_app
from bot.settings import Settings
from tests.support.webhook_stand_in import Received, WebhookCertificateHost, WebhookReceiver

TOKEN = "test-token"

Invoke = Callable[..., Result]


@pytest.fixture(scope="module")
def sandbox_server(webhook_certificates: WebhookCertificateHost) -> Iterator[SandboxServer]:
    state = SandboxState(required_token=TOKEN, webhook_signer=webhook_certificates.signer)
    with SandboxServer(create_sandbox_app(state)) as server:
        yield server


@pytest.fixture(scope="module")
def receiver_server() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def receiver(receiver_server: WebhookReceiver) -> WebhookReceiver:
    receiver_server.reset()
    return receiver_server


@pytest.fixture
def admin(sandbox_server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox_server.origin + "/sandbox", trust_env=False) as client:
        client.post("/reset").raise_for_status()
        yield client


def webhooks(admin: httpx.Client) -> dict[str, Any]:
    response = admin.get("/webhooks", params={"wait": "10"})
    response.raise_for_status()
    state: dict[str, Any] = response.json()
    return state


@pytest.fixture
def cli(
    sandbox_server: SandboxServer,
    receiver: WebhookReceiver,
    admin: httpx.Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Invoke:
    monkeypatch.chdir(tmp_path)  # no developer .env
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    runner = CliRunner()

    def invoke(*args: str, env: Mapping[str, str | None] | None = None) -> Result:
        environment: dict[str, str | None] = {
            "PARTNER_CENTER_BASE_URL": sandbox_server.base_url,
            "PARTNER_CENTER_WEBHOOKS_URL": sandbox_server.origin + "/webhooks/v1",
            "PARTNER_CENTER_TOKEN": TOKEN,
            "PUBLIC_URL": receiver.origin,
            **(env or {}),
        }
        return runner.invoke(app, ["webhooks", *args], env=environment, catch_exceptions=False)

    return invoke


def test_register_points_partner_center_at_the_public_url(
    cli: Invoke, admin: httpx.Client, receiver: WebhookReceiver
) -> None:
    result = cli("register")

    assert result.exit_code == 0, result.output
    assert f"Webhook: {receiver.url}" in result.stdout
    registration = webhooks(admin)["registration"]
    assert registration["WebhookUrl"] == receiver.url
    assert registration["WebhookEvents"] == [*REFERRAL_EVENTS, "test-created"]
    assert registration["SignatureTokenToMsSignatureHeader"] is True


def test_register_again_replaces_the_registration(cli: Invoke, admin: httpx.Client) -> None:
    assert cli("register").exit_code == 0
    result = cli("register", "--json", env={"PUBLIC_URL": "https://bot.example.test/"})

    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["WebhookUrl"] == "https://bot.example.test/partner-center/webhook"
    assert webhooks(admin)["registration"]["WebhookUrl"] == shown["WebhookUrl"]


def test_register_without_public_url_names_it_and_sends_nothing(
    cli: Invoke, admin: httpx.Client
) -> None:
    result = cli("register", env={"PUBLIC_URL": None})

    assert result.exit_code == 2
    assert "PUBLIC_URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert webhooks(admin)["registration"] is None


def test_show(cli: Invoke, receiver: WebhookReceiver) -> None:
    nothing = cli("show")
    assert nothing.exit_code == 0, nothing.output
    assert "No webhook is registered." in nothing.stdout
    assert json.loads(cli("show", "--json").stdout) is None

    cli("register")
    shown = cli("show", "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["WebhookUrl"] == receiver.url


def test_test_sends_a_signed_test_event_to_the_bot(
    cli: Invoke,
    admin: httpx.Client,
    receiver: WebhookReceiver,
    fresh_webhook_certificates: WebhookCertificateHost,
) -> None:
    cli("register")
    result = cli("test", "--json")

    assert result.exit_code == 0, result.output
    correlation_id = json.loads(result.stdout)["correlationId"]
    [delivery] = webhooks(admin)["deliveries"]
    assert (delivery["correlationId"], delivery["status"]) == (correlation_id, 200)
    [received] = receiver.received
    assert parse_event(received.body).is_test
    asyncio.run(verify(fresh_webhook_certificates, received))  # raises if not Microsoft's


async def verify(host: WebhookCertificateHost, received: Received) -> None:
    async with httpx.AsyncClient(verify=host.ssl_context(), trust_env=False) as http:
        verifier = WebhookVerifier(
            http, allowed_cert_urls=(host.allowed_prefix,), ca_bundle=host.ca_bundle
        )
        await verifier.verify(received.headers, received.body)


def test_test_without_a_registration_exits_1(cli: Invoke) -> None:
    result = cli("test")

    assert result.exit_code == 1
    assert "No webhook is registered." in result.stderr
    assert "HTTP 404" in result.stderr


def test_a_wrong_token_exits_1(cli: Invoke) -> None:
    result = cli("show", env={"PARTNER_CENTER_TOKEN": "wrong"})

    assert result.exit_code == 1
    assert "HTTP 401" in result.stderr


def test_the_built_in_sandbox_has_its_own_registration_api(cli: Invoke) -> None:
    result = cli(
        "show",
        env={
            "PARTNER_CENTER_BASE_URL": "sandbox",
            "PARTNER_CENTER_TOKEN": None,
            "PARTNER_CENTER_WEBHOOKS_URL": None,
        },
    )

    assert result.exit_code == 0, result.output
    assert "No webhook is registered." in result.stdout
