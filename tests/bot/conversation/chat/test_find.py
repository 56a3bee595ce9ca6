"""Naming a referral as people do in chat (issue 15): ``/referral show Tailwind`` and
``/referral show 3f2a`` used to answer "No referral with id". Wherever an id is expected, the
id's first characters, a number from the last list shown and words of the deal or customer
name work too; ``/referral find WORDS`` searches.

Real Redis, the sandbox over loopback (five referrals a page). The seeded referrals' teams:
Tailwind has Jane; Woodgrove has Jane and Raj; the two Northwind ones have Raj; Fabrikam and
Adventure Works have nobody. The sandbox's request log shows what reached it.
"""

from __future__ import annotations

import urllib.parse

import pytest
from redis.asyncio import Redis

from bot.conversation.chat.desk import Desk
from bot.conversation.runtime.access import NO_EMAIL
from bot.conversation.runtime.engine import Conversation
from bot.conversation.views import Problem, Prompt, ReferralCard, ReferralList, Seller, View
from bot.partner_center.client import PartnerCenterClient
from tests.bot.conversation.chat.test_access import (
    ADVENTURE_WORKS,
    FABRIKAM,
    JANE,
    NOBODY,
    NORTHWIND,
    RAJ,
    TAILWIND,
    as_,
    make_desk,
    one_problem,
)
from tests.support.sandbox import Sandbox

WOODGROVE = "9c1e3a5b-7d9f-4c2e-8a4b-6c8e0a2c4e03"  # Closed, team: Jane and Raj
NORTHWIND_MICROSOFT = "1d3f5b7e-9a1c-4e3f-8d5b-7a9c1e3f5d05"  # Active, team: Raj
JANES = {TAILWIND, WOODGROVE}
"""Every referral Jane may see."""
JANE_TEAM_FILTER = "team/any(t:t/email eq 'jane.doe@contoso.com')"
ADMIN = "U0100"
BOSS = Seller(user_id=ADMIN, display_name="Ada Admin", email="ada@contoso.com")


@pytest.fixture
def desk(redis: Redis, client: PartnerCenterClient) -> Desk:
    return make_desk(redis, client, ADMIN)


def one_card(views: list[View]) -> ReferralCard:
    (view,) = views
    assert isinstance(view, ReferralCard), view
    return view


def one_list(views: list[View]) -> ReferralList:
    (view,) = views
    assert isinstance(view, ReferralList), view
    return view


def filters(sandbox: Sandbox) -> list[str | None]:
    """The ``$filter`` of every request that reached the sandbox, decoded (None: none)."""
    found: list[str | None] = []
    for request in sandbox.requests():
        options = urllib.parse.parse_qs(str(request["query"]))
        found.append(options["$filter"][0] if "$filter" in options else None)
    return found


async def subject_of(desk: Desk, conversation: Conversation) -> str | None:
    """The referral the conversation's draft works on."""
    loaded = await desk._engine._drafts.load(conversation.key)
    assert loaded is not None
    assert loaded.session.subject is not None
    return loaded.session.subject.referral_id


# -- the full id, as before ------------------------------------------------------------------


async def test_a_full_id_is_read_as_before_without_a_listing(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    card = one_card(
        await desk.on_message(as_(JANE, conversation_key), f"/referral show {TAILWIND}")
    )

    assert card.referral.id == TAILWIND
    (request,) = fresh_sandbox.requests()
    assert request["method"] == "GET"
    assert str(request["path"]).endswith(f"/engagements/referrals/{TAILWIND}")


# -- the findings of the issue -------------------------------------------------------------------


async def test_show_tailwind_shows_the_tailwind_referral(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    card = one_card(await desk.on_message(as_(JANE, conversation_key), "/referral show Tailwind"))

    assert card.referral.id == TAILWIND


async def test_show_3f2a_shows_the_referral_whose_id_starts_so(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    card = one_card(await desk.on_message(as_(BOSS, conversation_key), "/referral show 3f2a"))

    assert card.referral.id == ADVENTURE_WORKS


# -- the id's first characters -----------------------------------------------------------------


@pytest.mark.parametrize("start", ["3f2a", "3F2A7C1E", "3f2a7c1e-8d4b"])
async def test_the_ids_first_characters_name_it_whatever_their_case(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox, start: str
) -> None:
    card = one_card(await desk.on_message(as_(BOSS, conversation_key), f"/referral show {start}"))

    assert card.referral.id == ADVENTURE_WORKS


async def test_the_start_of_an_id_the_seller_may_not_see_matches_nothing(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    problem = one_problem(await desk.on_message(as_(JANE, conversation_key), "/referral show 3f2a"))

    assert problem.message == "No referral matches '3f2a'."
    assert "Adventure" not in str(problem)
    assert ADVENTURE_WORKS not in str(problem)


async def test_hex_looking_words_that_start_no_id_are_read_as_words(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    # "fabe" starts no id; "Fabrikam" does not hold it either: the closest name is offered.
    problem = one_problem(await desk.on_message(as_(BOSS, conversation_key), "/referral show fabe"))
    assert problem.message == "No referral matches 'fabe'."

    card = one_card(await desk.on_message(as_(BOSS, conversation_key), "/referral show c5fb"))
    assert card.referral.id == FABRIKAM


# -- a number from the last list -----------------------------------------------------------------


async def test_a_number_is_a_row_of_the_last_list_shown(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    jane = as_(JANE, conversation_key)
    listed = one_list(await desk.on_message(jane, "/referral list"))
    assert len(listed.referrals) == 2

    second = one_card(await desk.on_message(jane, "/referral show 2"))
    first = one_card(await desk.on_message(jane, "/referral show #1"))

    assert second.referral.id == listed.referrals[1].id
    assert first.referral.id == listed.referrals[0].id


async def test_a_number_starts_a_draft_on_that_row(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    jane = as_(JANE, conversation_key)
    listed = one_list(await desk.on_message(jane, "/referral list open"))
    (tailwind,) = listed.referrals

    views = await desk.on_message(jane, "/referral update 1")

    assert isinstance(views[-1], Prompt), views
    assert await subject_of(desk, jane) == tailwind.id == TAILWIND


async def test_without_a_list_a_number_says_so(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    problem = one_problem(await desk.on_message(as_(JANE, conversation_key), "/referral show 2"))

    assert problem.message == "There is no list here to pick number 2 from."
    assert problem.hint is not None
    assert "/referral find WORDS" in problem.hint
    assert fresh_sandbox.requests() == []


@pytest.mark.parametrize("number", ["0", "3", "999"])
async def test_a_number_beyond_the_last_list_says_how_long_it_is(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox, number: str
) -> None:
    jane = as_(JANE, conversation_key)
    one_list(await desk.on_message(jane, "/referral list"))

    problem = one_problem(await desk.on_message(jane, f"/referral close {number}"))

    assert problem.message == f"The last list has 2 referrals: there is no number {number}."
    assert await desk._engine.draft(jane) is None


async def test_the_last_list_is_the_conversations_own(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    one_list(await desk.on_message(as_(JANE, conversation_key), "/referral list"))

    problem = one_problem(await desk.on_message(as_(RAJ, conversation_key), "/referral show 1"))

    assert problem.message == "There is no list here to pick number 1 from."


async def test_a_number_picked_from_a_list_is_still_checked_against_the_team(
    desk: Desk,
    redis: Redis,
    client: PartnerCenterClient,
    conversation_key: str,
    fresh_sandbox: Sandbox,
) -> None:
    boss = as_(BOSS, conversation_key)
    listed = one_list(await desk.on_message(boss, "/referral list"))
    # Then the admin is an admin no more (a restart with REFERRAL_ADMINS changed).
    demoted = make_desk(redis, client)

    problem = one_problem(await demoted.on_message(boss, "/referral show 1"))

    assert problem.message == (
        f"You're not on the team of referral {listed.referrals[0].id}, so I can't show or "
        "change it."
    )


# -- words of the name ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "words",
    [
        "Tailwind",
        "tailwind STORE",
        "Tailwind Traders",
        "traders modernization",
        "Tailwínd Tráders",  # accents aside
        "  tailwind   store  ",
    ],
)
async def test_words_of_the_deal_or_customer_name_name_it(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox, words: str
) -> None:
    card = one_card(await desk.on_message(as_(JANE, conversation_key), f"/referral show {words}"))

    assert card.referral.id == TAILWIND


@pytest.mark.parametrize("flow", ["update", "close", "team"])
async def test_a_draft_starts_on_the_referral_words_name(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox, flow: str
) -> None:
    jane = as_(JANE, conversation_key)

    views = await desk.on_message(jane, f"/referral {flow} tailwind")

    assert isinstance(views[-1], Prompt), views
    assert await subject_of(desk, jane) == TAILWIND


async def test_register_by_name_checks_the_referral_named(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    views = await desk.on_message(as_(RAJ, conversation_key), "/referral register woodgrove")

    # Without a registration check wired in, the draft starts at once; what matters is which.
    assert isinstance(views[-1], Prompt), views
    assert await subject_of(desk, as_(RAJ, conversation_key)) == WOODGROVE


async def test_one_exact_name_is_taken_among_longer_ones(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    # Both Northwind deals hold every word; only one is called exactly that.
    card = one_card(
        await desk.on_message(
            as_(RAJ, conversation_key),
            "/referral show northwind traders - contoso experience platform",
        )
    )

    assert card.referral.id == NORTHWIND


# -- several ----------------------------------------------------------------------------------


async def test_several_matches_are_offered_as_a_pick_list(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    raj = as_(RAJ, conversation_key)

    picks = one_list(await desk.on_message(raj, "/referral show northwind"))

    assert picks.pick == "show"
    assert picks.title == "2 referrals match 'northwind'. Which one?"
    assert {referral.id for referral in picks.referrals} == {NORTHWIND, NORTHWIND_MICROSOFT}
    assert picks.total == 2
    assert picks.note is None
    # The pick list is the last list shown: its numbers pick from it.
    second = one_card(await desk.on_message(raj, "/referral show 2"))
    assert second.referral.id == picks.referrals[1].id


async def test_a_pick_list_runs_the_command_that_asked(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    raj = as_(RAJ, conversation_key)

    picks = one_list(await desk.on_message(raj, "/referral close northwind"))

    assert picks.pick == "close"
    assert await desk._engine.draft(raj) is None  # nothing starts before one is picked
    # What the button of the first row types:
    views = await desk.on_message(raj, f"/referral close {picks.referrals[0].id}")
    assert isinstance(views[-1], Prompt), views
    assert await subject_of(desk, raj) == picks.referrals[0].id


async def test_a_pick_list_shows_five_and_counts_the_rest(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    # Every seeded name holds an "a": six matches, over two of the sandbox's pages.
    picks = one_list(await desk.on_message(as_(BOSS, conversation_key), "/referral update a"))

    assert len(picks.referrals) == 5
    assert picks.total == 6
    assert picks.note == "And 1 more: add a word to narrow it down."
    assert picks.pick == "update"


# -- none --------------------------------------------------------------------------------------


async def test_no_match_offers_the_closest_names(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    problem = one_problem(
        await desk.on_message(as_(JANE, conversation_key), "/referral show Tailwnd")
    )

    assert problem.message == "No referral matches 'Tailwnd'."
    assert problem.hint == "Closest names: Tailwind Traders - store modernization."


async def test_no_match_and_nothing_alike_says_what_to_try(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    problem = one_problem(
        await desk.on_message(as_(JANE, conversation_key), "/referral team zzzz qqqq")
    )

    assert problem.message == "No referral matches 'zzzz qqqq'."
    assert problem.hint == "Try fewer words, the id's first characters, or /referral list."


@pytest.mark.parametrize(
    "line",
    [
        "/referral show tailwind",
        "/referral show Tailwnd",
        "/referral show 7b9d",
        "/referral update traders",
        "/referral find traders",
        "/referral find Tailwnd",
    ],
)
async def test_others_referrals_are_never_matched_nor_suggested(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox, line: str
) -> None:
    raj = as_(RAJ, conversation_key)

    views = await desk.on_message(raj, line)

    said = " ".join(view.model_dump_json() for view in views)
    assert "Tailwind" not in said
    assert TAILWIND not in said
    assert await desk._engine.draft(raj) is None
    assert set(filters(fresh_sandbox)) == {"team/any(t:t/email eq 'raj.patel@contoso.com')"}


# -- /referral find ------------------------------------------------------------------------------


async def test_find_lists_the_matches_and_remembers_them(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    raj = as_(RAJ, conversation_key)

    found = one_list(await desk.on_message(raj, "/referral find traders"))

    assert found.title == "Referrals matching 'traders'"
    assert found.pick is None
    assert {referral.id for referral in found.referrals} == {NORTHWIND, NORTHWIND_MICROSOFT}
    shown = one_card(await desk.on_message(raj, "/referral show 2"))
    assert shown.referral.id == found.referrals[1].id


async def test_find_of_a_single_match_is_still_a_list(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    found = one_list(await desk.on_message(as_(JANE, conversation_key), "/referral find store"))

    assert [referral.id for referral in found.referrals] == [TAILWIND]


async def test_find_ranks_exact_names_then_names_starting_with_the_words(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    found = one_list(
        await desk.on_message(as_(BOSS, conversation_key), "/referral find northwind traders")
    )

    # Both are the customer "Northwind Traders" exactly: newest first among equals.
    assert {referral.id for referral in found.referrals} == {NORTHWIND, NORTHWIND_MICROSOFT}
    works = one_list(await desk.on_message(as_(BOSS, conversation_key), "/referral find works"))
    assert [referral.id for referral in works.referrals] == [ADVENTURE_WORKS]


async def test_find_without_a_match_offers_the_closest_names(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    problem = one_problem(
        await desk.on_message(as_(RAJ, conversation_key), "/referral find Woodgrve")
    )

    assert problem.message == "No referral matches 'Woodgrve'."
    assert problem.hint == "Closest names: Woodgrove Bank - secure collaboration."


# -- who may look ------------------------------------------------------------------------------


@pytest.mark.parametrize("line", ["/referral show tailwind", "/referral find tailwind"])
async def test_without_an_email_nothing_is_looked_up(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox, line: str
) -> None:
    problem = one_problem(await desk.on_message(as_(NOBODY, conversation_key), line))

    assert problem.message == NO_EMAIL
    assert fresh_sandbox.requests() == []


async def test_a_search_asks_partner_center_for_the_sellers_team_only(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    await desk.on_message(as_(JANE, conversation_key), "/referral find tailwind")

    assert set(filters(fresh_sandbox)) == {JANE_TEAM_FILTER}


# -- hostile words ------------------------------------------------------------------------------

HOSTILE = [
    "' or 1 eq 1",
    "x') or (1 eq 1",
    "Tailwind' or team/any(t:t/email ne '')",
    "'' or true or ''",
    "'" * 40,
    "%27%20or%201%20eq%201",
    "100% & more",
    "tail wind\nor 1 eq 1",
    "Ta\x00ilwind \x1b[31m",
    "\u202etailwind",
    "Tailwind 🚀 ünïcødé 名前",
    "$filter=status eq 'Closed'&$top=1",
    "x" * 199,
]


@pytest.mark.parametrize("words", HOSTILE)
@pytest.mark.parametrize("command", ["show", "update", "find"])
async def test_hostile_words_never_reach_the_filter(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox, words: str, command: str
) -> None:
    jane = as_(JANE, conversation_key)

    views = await desk.on_message(jane, f"/referral {command} {words}")

    # Only the seller's team reached Partner Center, quoted; nothing of the words did.
    assert set(filters(fresh_sandbox)) == {JANE_TEAM_FILTER}
    assert all(request["status"] == 200 for request in fresh_sandbox.requests())
    # And nothing but Jane's referrals came back, whatever the words.
    for view in views:
        if isinstance(view, ReferralList):
            assert {referral.id for referral in view.referrals} <= JANES
        elif isinstance(view, ReferralCard):
            assert view.referral.id in JANES
        else:
            assert isinstance(view, Problem | Prompt), view


@pytest.mark.parametrize("words", ["a" * 201, "tailwind " * 500])
async def test_words_too_long_are_refused_before_anything_is_read(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox, words: str
) -> None:
    problem = one_problem(
        await desk.on_message(as_(JANE, conversation_key), f"/referral show {words}")
    )

    assert problem.message.startswith("That is too long to look for")
    assert fresh_sandbox.requests() == []


@pytest.mark.parametrize(
    "email",
    ["x' or true or 'y@contoso.com", "jane.doe@contoso.com') or (true", "o'brien@contoso.com"],
)
async def test_a_hostile_email_is_quoted_and_matches_nobodys_team(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox, email: str
) -> None:
    seller = Seller(user_id="U0666", email=email)

    problem = one_problem(await desk.on_message(as_(seller, conversation_key), "/referral find a"))

    assert problem.message == "No referral matches 'a'."
    doubled = email.replace("'", "''")
    assert filters(fresh_sandbox) == [f"team/any(t:t/email eq '{doubled}')"]


async def test_an_email_with_a_control_character_is_refused_before_anything_is_read(
    desk: Desk, conversation_key: str, fresh_sandbox: Sandbox
) -> None:
    seller = Seller(user_id="U0667", email="jane.doe@contoso.com\x00x")

    for line in ("/referral find tailwind", "/referral list", "/referral show tailwind"):
        problem = one_problem(await desk.on_message(as_(seller, conversation_key), line))
        assert "email address of your chat profile" in problem.message

    assert fresh_sandbox.requests() == []
