"""Who sees and changes which referral: its team (by the chat profile's email) and the admins.

Real Redis, the sandbox over loopback. The seeded referrals' teams: Tailwind (Active) has Jane;
Woodgrove (Closed) has Jane and Raj; the two Northwind ones (Active) have Raj; Fabrikam and
Adventure Works (New) have nobody. The sandbox's request log shows what reached it.
"""

from __future__ import annotations

import urllib.parse

import pytest
from redis.asyncio import Redis

from bot.conversation.chat.desk import SCOPES, Desk
from bot.conversation.runtime.access import NO_EMAIL, Access
from bot.conversation.runtime.engine import Conversation, Engine
from bot.conversation.runtime.session_store import RedisSessionStore
from bot.conversation.views import (
    Notice,
    Problem,
    Prompt,
    ReferralCard,
    ReferralList,
    Seller,
    View,
)
from bot.partner_center.client import PartnerCenterClient
from bot.referrals.models import Referral
from tests.bot.conversation.conftest import TTL, FixedClock
from tests.support.sandbox import Sandbox

TAILWIND = "7b9d2e4f-6a8c-4b1d-8e3f-5a7c9e1b3d02"  # Active, team: Jane
NORTHWIND = "5e7a9c1d-3f5b-4d7e-9b1c-3e5a7c9e1b04"  # Active, team: Raj
FABRIKAM = "c5fbb3b6-be74-4795-9fb5-4324c73fed37"  # New, team: nobody
ADVENTURE_WORKS = "3f2a7c1e-8d4b-4e6f-9a10-2b5c7d9e1f01"  # New, team: nobody
SEEDED = 6

JANE = Seller(user_id="U0002", first_name="Jane", last_name="Doe", email="jane.doe@contoso.com")
RAJ = Seller(user_id="U0003", first_name="Raj", last_name="Patel", email="raj.patel@contoso.com")
NOBODY = Seller(user_id="U0004", display_name="No Email")


def make_desk(redis: Redis, client: PartnerCenterClient, *admins: str) -> Desk:
    access = Access(admins)
    engine = Engine(
        RedisSessionStore(redis),
        client,
        clock=FixedClock(),
        ttl_seconds=TTL,
        access=access,
    )
    return Desk(engine, client, access=access)


def as_(seller: Seller, conversation_key: str) -> Conversation:
    return Conversation(key=f"{conversation_key}:{seller.user_id}", seller=seller)


def changes(sandbox: Sandbox) -> list[str]:
    """What reached the sandbox that was not a read."""
    return [f"{r['method']} {r['path']}" for r in sandbox.requests() if r["method"] != "GET"]


def one_problem(views: list[View]) -> Problem:
    (view,) = views
    assert isinstance(view, Problem), view
    return view


@pytest.fixture
def desk(redis: Redis, client: PartnerCenterClient) -> Desk:
    return make_desk(redis, client)


# -- show -------------------------------------------------------------------------------------


async def test_another_sellers_referral_is_not_shown(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    problem = one_problem(
        await desk.on_message(as_(RAJ, conversation_key), f"/referral show {TAILWIND}")
    )
    assert problem.message == (
        f"You're not on the team of referral {TAILWIND}, so I can't show or change it."
    )
    assert "Tailwind" not in str(problem)


async def test_a_team_member_sees_it_whatever_the_case_of_the_email(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    jane = JANE.model_copy(update={"email": "Jane.Doe@CONTOSO.com"})
    (card,) = await desk.on_message(as_(jane, conversation_key), f"/referral show {TAILWIND}")
    assert isinstance(card, ReferralCard)
    assert card.referral.id == TAILWIND


@pytest.mark.parametrize("admin", ["U0003", "RAJ.PATEL@contoso.com"], ids=["by-id", "by-email"])
async def test_an_admin_sees_every_referral(
    redis: Redis,
    client: PartnerCenterClient,
    conversation_key: str,
    fresh_sandbox: Sandbox,
    admin: str,
) -> None:
    desk = make_desk(redis, client, "someone@contoso.com", admin)
    (card,) = await desk.on_message(as_(RAJ, conversation_key), f"/referral show {TAILWIND}")
    assert isinstance(card, ReferralCard)
    (listed,) = await desk.on_message(as_(RAJ, conversation_key), "/referral list")
    assert isinstance(listed, ReferralList)
    assert listed.total == SEEDED


async def test_an_admin_without_an_email_is_still_an_admin(
    redis: Redis, client: PartnerCenterClient, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    desk = make_desk(redis, client, NOBODY.user_id)
    (card,) = await desk.on_message(as_(NOBODY, conversation_key), f"/referral show {TAILWIND}")
    assert isinstance(card, ReferralCard)


# -- list ------------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["all", "open", "mine", "won", "lost"])
@pytest.mark.parametrize("seller", [JANE, RAJ], ids=["jane", "raj"])
async def test_lists_hold_only_the_sellers_referrals(
    desk: Desk,
    client: PartnerCenterClient,
    conversation_key: str,
    fresh_sandbox: Sandbox,
    scope: str,
    seller: Seller,
) -> None:
    # Someone else's referral in every scope: Adventure Works won, Fabrikam lost.
    for referral_id, outcome in ((ADVENTURE_WORKS, "win"), (FABRIKAM, "lose")):
        fresh_sandbox.act(referral_id, "accept")
        fresh_sandbox.act(referral_id, outcome)
    everything = await client.list(filter=SCOPES.get(scope, (None, ""))[0]).collect()
    theirs = {
        referral.id
        for referral in everything
        if any(member.email == seller.email for member in referral.team or ())
    }
    assert len(theirs) < len(everything)
    (listed,) = await desk.on_message(as_(seller, conversation_key), f"/referral list {scope}")
    if not theirs:
        # None of theirs: said with whose referrals were looked for.
        assert isinstance(listed, Notice)
        assert f"have {seller.email} on their team" in listed.message
        return
    assert isinstance(listed, ReferralList)
    assert {referral.id for referral in listed.referrals} == theirs
    assert listed.total == len(theirs)


async def test_the_list_asks_partner_center_for_the_sellers_team_only(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    (listed,) = await desk.on_message(as_(JANE, conversation_key), "/referral list")
    assert isinstance(listed, ReferralList)
    (request,) = fresh_sandbox.requests()
    query = urllib.parse.unquote_plus(str(request["query"]))
    assert "$filter=team/any(t:t/email eq 'jane.doe@contoso.com')" in query


async def test_an_email_with_a_quote_is_quoted_in_the_filter(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    seller = Seller(user_id="U0009", email="o'brien@contoso.com")
    (listed,) = await desk.on_message(as_(seller, conversation_key), "/referral list open")
    assert isinstance(listed, Notice)
    assert listed.message == "No open referrals have o'brien@contoso.com on their team."
    (request,) = fresh_sandbox.requests()
    query = urllib.parse.unquote_plus(str(request["query"]))
    assert "t/email eq 'o''brien@contoso.com'" in query


# -- no email ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        f"/referral show {TAILWIND}",
        "/referral list",
        "/referral list open",
        "/referral list mine",
        f"/referral update {TAILWIND}",
        f"/referral close {TAILWIND}",
        f"/referral team {TAILWIND}",
    ],
)
async def test_without_an_email_nothing_is_shown_and_the_seller_is_told_why(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox, line: str
) -> None:
    conversation = as_(NOBODY, conversation_key)
    problem = one_problem(await desk.on_message(conversation, line))
    assert problem.message == NO_EMAIL
    assert "chat profile has no email" in problem.message
    assert problem.hint is not None
    assert "--as" in problem.hint
    assert fresh_sandbox.requests() == []
    assert await desk._engine.draft(conversation) is None


async def test_home_without_an_email_lists_nothing_and_says_why(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    home = await desk.home(as_(NOBODY, conversation_key))
    assert home.referrals == ()
    assert home.problem == NO_EMAIL
    assert fresh_sandbox.requests() == []


async def test_home_lists_the_sellers_open_referrals_only(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    home = await desk.home(as_(RAJ, conversation_key))
    assert {referral.id for referral in home.referrals} == {
        NORTHWIND,
        "1d3f5b7e-9a1c-4e3f-8d5b-7a9c1e3f5d05",
    }


# -- update, close, team ---------------------------------------------------------------------


@pytest.mark.parametrize("flow", ["update", "close", "team"])
async def test_another_sellers_referral_cannot_be_changed(
    desk: Desk,
    client: PartnerCenterClient,
    conversation_key: str,
    fresh_sandbox: Sandbox,
    flow: str,
) -> None:
    before = await client.get(TAILWIND)
    fresh_sandbox.admin.delete("/requests").raise_for_status()
    conversation = as_(RAJ, conversation_key)
    problem = one_problem(await desk.on_message(conversation, f"/referral {flow} {TAILWIND}"))
    assert "not on the team" in problem.message
    assert await desk._engine.draft(conversation) is None
    # Nothing to answer: the words go nowhere, and nothing is ever sent.
    for line in ("lost", "Budget moved", "submit"):
        await desk.on_message(conversation, line)
    assert changes(fresh_sandbox) == []
    after: Referral = await client.get(TAILWIND)
    assert after.e_tag == before.e_tag
    assert after.status == "Active"


@pytest.mark.parametrize("flow", ["update", "close", "team"])
async def test_a_team_member_starts_the_draft(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox, flow: str
) -> None:
    views = await desk.on_message(as_(JANE, conversation_key), f"/referral {flow} {TAILWIND}")
    assert isinstance(views[-1], Prompt)


async def test_a_team_member_closes_it_and_an_outsider_added_by_the_team_may_too(
    desk: Desk, client: PartnerCenterClient, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    jane, raj = as_(JANE, conversation_key), as_(RAJ, conversation_key)
    for line in ("/referral team " + TAILWIND, "Raj", "Patel", RAJ.email or "", "skip", "submit"):
        await desk.on_message(jane, line)
    for line in (f"/referral close {TAILWIND}", "lost", "Budget moved to next year"):
        views = await desk.on_message(raj, line)
        assert not isinstance(views[0], Problem), views
    (result, *_) = await desk.on_message(raj, "submit")
    assert isinstance(result, ReferralCard), result
    closed = await client.get(TAILWIND)
    assert (closed.status, closed.substatus) == ("Closed", "Lost")


@pytest.mark.parametrize("admin", ["U0003", "raj.patel@CONTOSO.com"], ids=["by-id", "by-email"])
async def test_an_admin_may_change_any_referral(
    redis: Redis,
    client: PartnerCenterClient,
    conversation_key: str,
    fresh_sandbox: Sandbox,
    admin: str,
) -> None:
    desk = make_desk(redis, client, admin)
    views = await desk.on_message(as_(RAJ, conversation_key), f"/referral close {TAILWIND}")
    assert isinstance(views[-1], Prompt)
