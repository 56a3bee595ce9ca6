"""Sending an approved registration once, against the sandbox over loopback: read back before
every send, so a send whose answer was lost is found rather than repeated, and two senders
racing add one registration between them."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.app.clients import build_http_client
from bot.approvals.sending import holds, send_registration
from bot.partner_center.auth import StaticTokenProvider
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import Invalid
from bot.referrals.models import DealRegistration, Referral
from bot.settings import Settings
from tests.support.sandbox import Sandbox

NORTHWIND = "5e7a9c1d-3f5b-4d7e-9b1c-3e5a7c9e1b04"  # eligible for deal registration
TIMEOUT = 1.0
HELD = 2.0
"""The sandbox answers a PATCH this late: after the client gave up waiting (:data:`TIMEOUT`)."""
FIXTURE = Path(__file__).parents[2] / "fixtures" / "partner_center" / "register_deal_patch.json"


def registration(**changes: object) -> DealRegistration:
    """The documented registration sample."""
    value = json.loads(FIXTURE.read_text(encoding="utf-8"))[0]["value"]
    return DealRegistration.from_wire(value | changes)


@pytest.fixture
async def client(fresh_sandbox: Sandbox) -> AsyncIterator[PartnerCenterClient]:
    async with partner_center(fresh_sandbox, Settings(_env_file=None)) as made:  # type: ignore[call-arg]
        yield made


@pytest.fixture
async def impatient(fresh_sandbox: Sandbox) -> AsyncIterator[PartnerCenterClient]:
    """A client that gives up on an answer after :data:`TIMEOUT`: one held back is lost."""
    settings = Settings(_env_file=None, partner_center_timeout_seconds=TIMEOUT)  # type: ignore[call-arg]
    async with partner_center(fresh_sandbox, settings) as made:
        yield made


@contextlib.asynccontextmanager
async def partner_center(
    sandbox: Sandbox, settings: Settings
) -> AsyncIterator[PartnerCenterClient]:
    async with build_http_client(settings) as http:
        yield PartnerCenterClient(
            http, base_url=sandbox.base_url, tokens=StaticTokenProvider(SecretStr("t"))
        )


def patches(sandbox: Sandbox) -> int:
    return sum(1 for call in sandbox.requests() if call["method"] == "PATCH")


async def test_a_registration_is_sent_with_the_etag_it_was_read_with(
    client: PartnerCenterClient, fresh_sandbox: Sandbox
) -> None:
    sent = await send_registration(client, NORTHWIND, registration())

    assert not sent.found
    assert sent.request_id
    stored = await client.get(NORTHWIND)
    assert holds(stored, registration())
    (patch,) = [call for call in fresh_sandbox.requests() if call["method"] == "PATCH"]
    assert patch["headers"].get("if-match") or patch["headers"].get("If-Match")


async def test_one_already_there_is_found_and_not_sent_again(
    client: PartnerCenterClient, fresh_sandbox: Sandbox
) -> None:
    await client.register_deal(NORTHWIND, registration())

    sent = await send_registration(client, NORTHWIND, registration())

    assert sent.found
    assert patches(fresh_sandbox) == 1
    assert len((await client.get(NORTHWIND)).registrations or []) == 1


async def test_an_answer_lost_after_the_patch_arrived_is_found_on_reading_back(
    impatient: PartnerCenterClient, client: PartnerCenterClient, fresh_sandbox: Sandbox
) -> None:
    fresh_sandbox.fault(method="PATCH", answerAfterSeconds=HELD)

    sent = await send_registration(impatient, NORTHWIND, registration())

    assert sent.found
    assert patches(fresh_sandbox) == 1
    assert len((await client.get(NORTHWIND)).registrations or []) == 1
    # The sandbox still holds the PATCH's answer: let it go before the next test's reset, or
    # its late log line would be that test's.
    await asyncio.sleep(HELD)


async def test_two_senders_racing_add_one_registration(
    client: PartnerCenterClient, fresh_sandbox: Sandbox
) -> None:
    first, second = await asyncio.gather(
        send_registration(client, NORTHWIND, registration()),
        send_registration(client, NORTHWIND, registration()),
    )

    assert sorted([first.found, second.found]) == [False, True]
    assert len((await client.get(NORTHWIND)).registrations or []) == 1


async def test_a_refusal_is_raised_with_the_apis_message(
    client: PartnerCenterClient, fresh_sandbox: Sandbox
) -> None:
    fresh_sandbox.set_partner_eligible(False)

    with pytest.raises(Invalid) as refused:
        await send_registration(client, NORTHWIND, registration())

    assert "not eligible" in refused.value.message


def test_a_registration_is_held_only_when_everything_sent_is_there() -> None:
    sent = registration()
    received = sent.to_wire() | {"id": "reg-1", "status": "ReviewPending"}
    other_value = registration(contract={**sent.to_wire()["contract"], "value": 1})

    assert holds(Referral.from_wire({"registrations": [received]}), sent)
    assert not holds(Referral.from_wire({"registrations": [other_value.to_wire()]}), sent)
    assert not holds(Referral.from_wire({}), sent)
