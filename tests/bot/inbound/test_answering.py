"""Answering an incoming referral in Partner Center, against the sandbox over loopback: the
transition table's answer sent once with ``If-Match``, a referral changed in between read
again, one answered already reported as it stands, and a send whose answer was lost found
rather than repeated."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.inbound.answering import AnsweredElsewhere, add_to_team, answer_referral
from bot.partner_center.client import PartnerCenterClient
from bot.referrals.models import Member
from bot.settings import Settings
from tests.bot.approvals.test_sending import HELD, TIMEOUT, partner_center
from tests.support.sandbox import Sandbox


@pytest.fixture
async def client(fresh_sandbox: Sandbox) -> AsyncIterator[PartnerCenterClient]:
    async with partner_center(fresh_sandbox, Settings(_env_file=None)) as made:  # type: ignore[call-arg]
        yield made


def patches(sandbox: Sandbox) -> list[dict[str, object]]:
    return [call for call in sandbox.requests() if call["method"] == "PATCH"]


async def test_accept_is_active_accepted_bound_to_the_version_read(
    client: PartnerCenterClient, fresh_sandbox: Sandbox
) -> None:
    sent = fresh_sandbox.send_incoming()

    answered = await answer_referral(client, sent["id"], "accept")

    assert (answered.referral.status, answered.referral.substatus) == ("Active", "Accepted")
    assert not answered.found
    (patch,) = patches(fresh_sandbox)
    assert patch["headers"]["if-match"] == sent["eTag"]  # type: ignore[index]


async def test_decline_is_closed_declined_with_the_reason(
    client: PartnerCenterClient, fresh_sandbox: Sandbox
) -> None:
    sent = fresh_sandbox.send_incoming()

    answered = await answer_referral(client, sent["id"], "decline", reason="Outside our region.")

    now = fresh_sandbox.referral(sent["id"])
    assert (now["status"], now["substatus"]) == ("Closed", "Declined")
    assert now["statusReason"] == "Outside our region."
    assert answered.referral.status_reason == "Outside our region."


async def test_answered_in_partner_center_meanwhile_it_is_not_answered_again(
    client: PartnerCenterClient, fresh_sandbox: Sandbox
) -> None:
    sent = fresh_sandbox.send_incoming()
    fresh_sandbox.act(sent["id"], "decline", reason="Microsoft withdrew it.")

    with pytest.raises(AnsweredElsewhere) as raised:
        await answer_referral(client, sent["id"], "accept")

    assert raised.value.referral.substatus == "Declined"
    assert patches(fresh_sandbox) == []


async def test_two_answers_racing_change_it_once(
    client: PartnerCenterClient, fresh_sandbox: Sandbox
) -> None:
    sent = fresh_sandbox.send_incoming()

    outcomes = await asyncio.gather(
        answer_referral(client, sent["id"], "accept"),
        answer_referral(client, sent["id"], "accept"),
        return_exceptions=True,
    )

    assert all(not isinstance(outcome, BaseException) for outcome in outcomes)
    accepted = [p for p in patches(fresh_sandbox) if p["status"] in (200, 204)]
    assert len(accepted) == 1  # the other got 412, read again and found it accepted


async def test_a_send_whose_answer_was_lost_is_found_not_sent_again(
    fresh_sandbox: Sandbox,
) -> None:
    sent = fresh_sandbox.send_incoming()
    fresh_sandbox.fault(method="PATCH", answerAfterSeconds=HELD, times=1)
    settings = Settings(_env_file=None, partner_center_timeout_seconds=TIMEOUT)  # type: ignore[call-arg]

    async with partner_center(fresh_sandbox, settings) as impatient:
        answered = await answer_referral(impatient, sent["id"], "accept")

    assert answered.found
    assert len(patches(fresh_sandbox)) == 1


async def test_a_seller_is_added_to_the_team_once(
    client: PartnerCenterClient, fresh_sandbox: Sandbox
) -> None:
    sent = fresh_sandbox.send_incoming()
    grace = Member(first_name="Grace", last_name="Hopper", email="grace.hopper@contoso.example")

    await add_to_team(client, sent["id"], grace)
    again = await add_to_team(
        client, sent["id"], grace.model_copy(update={"email": "GRACE.HOPPER@contoso.example"})
    )

    assert [m.email for m in again.team or ()] == ["grace.hopper@contoso.example"]
    assert len(patches(fresh_sandbox)) == 1
