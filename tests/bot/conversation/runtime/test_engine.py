"""The engine end to end: real Redis, the sandbox over loopback, every flow to a referral."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from redis.asyncio import Redis

from bot.conversation.chat.desk import Desk
from bot.conversation.runtime.engine import Conversation, Engine
from bot.conversation.runtime.machine import Effect
from bot.conversation.runtime.session_store import KeyBuilder, RedisSessionStore
from bot.conversation.views import (
    Choice,
    Command,
    CommandName,
    Created,
    Notice,
    Problem,
    Prompt,
    ReferralCard,
    ReferralList,
    Review,
    Seller,
    Text,
    View,
)
from bot.metrics import REGISTRY
from bot.partner_center.client import PartnerCenterClient
from bot.referrals.models import Member, Referral
from bot.referrals.patch import JsonPatch
from bot.storage.redis import connect
from tests.bot.conversation.conftest import EngineFactory, FixedClock
from tests.support.redis_server import PrivateRedis
from tests.support.sandbox import Sandbox

ADDRESS = ["1 Main St", "skip", "Seattle", "WA", "98101", "United States", "51 to 250 employees"]
CONTACT = ["Sam", "Rivera", "sam.rivera@fabrikam.com", "+1 425 555 0100"]
# The currency is worked out from the country; "all" asks each optional question in turn.
DEAL = ["120k", "2027-01-31", "all", "Wants to move stores to Azure", "retail", "azure", "skip"]


def answers_for(kind: str) -> list[str]:
    """Every field its own answer (the street alone, the contact's first name alone, each
    consent on its own), as a seller who never gives two at once."""
    steps = [kind, f"Fabrikam - {kind}", "Fabrikam Inc", *ADDRESS]
    steps += CONTACT if kind != "private" else ["skip"]  # a private lead's contact is optional
    steps += DEAL
    if kind == "co_sell":
        steps += ["DEAL-123456-XYZ"]
    else:
        steps += ["skip"]
    if kind == "services_co_sell":
        steps += ["Deployment services", "Infrastructure", "Migrate SAP"]
    if kind in ("co_sell", "services_co_sell"):
        steps += ["proof of concept", "Customer wants a pilot in Q1"]
    steps += ["skip", "yes", "yes"]  # the consents one at a time
    if kind != "private":
        steps += ["no"]
    steps += ["Raj Patel <raj.patel@contoso.com>"]
    return steps


async def say(desk: Desk, conversation: Conversation, *lines: str) -> list[View]:
    views: list[View] = []
    for line in lines:
        views = await desk.on_message(conversation, line)
        problems = [view for view in views if isinstance(view, Prompt) and view.error]
        assert not problems, f"{line!r} was refused: {problems[0].error}"
    return views


async def joined(client: PartnerCenterClient, referral: Referral, seller: Seller) -> str:
    """Put ``seller`` on ``referral``'s team (only its team may see and change it); its id."""
    assert referral.id
    member = Member(first_name=seller.first_name, last_name=seller.last_name, email=seller.email)
    await client.add_team_member(referral.id, member)
    return referral.id


def created(views: list[View]) -> Created:
    (view,) = [view for view in views if isinstance(view, Created)]
    return view


def subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and subset(value, actual[key]) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(subset(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return bool(expected == actual)


COMMON = {
    "qualification": "SalesQualified",
    "customerProfile": {
        "name": "Fabrikam Inc",
        "address": {
            "addressLine1": "1 Main St",
            "city": "Seattle",
            "state": "WA",
            "postalCode": "98101",
            "country": "US",
        },
        "size": "51to250employees",
    },
    "details": {
        "dealValue": 120000,
        "currency": "USD",
        "closingDateTime": "2027-01-31T00:00:00Z",
        "notes": "Wants to move stores to Azure",
        "requirements": {
            "industries": [{"id": "Retail & Consumer Goods"}],
            "products": [{"id": "Azure"}],
            "services": [],
        },
    },
    "team": [
        {"firstName": "Ana", "lastName": "Lopez", "email": "ana.lopez@contoso.com"},
        {"firstName": "Raj", "lastName": "Patel", "email": "raj.patel@contoso.com"},
    ],
}
CONTACT_JSON = [
    {
        "firstName": "Sam",
        "lastName": "Rivera",
        "email": "sam.rivera@fabrikam.com",
        "phoneNumber": "+14255550100",
    }
]


async def test_private_lead_is_created_with_the_private_payload(
    desk: Desk, conversation: Conversation, client: PartnerCenterClient
) -> None:
    await say(desk, conversation, "/referral new", *answers_for("private"))
    review = await say(desk, conversation, "review")
    assert isinstance(review[-1], Review)
    assert review[-1].missing == ()
    result = created(await say(desk, conversation, "submit"))
    (referral,) = result.referrals
    assert referral.id
    stored = (await client.get(referral.id)).to_wire()
    assert subset(COMMON, stored)
    assert stored["type"] == "Independent"
    assert stored["consent"] == {
        "consentToToShareInfoWithOthers": True,
        "consentToContact": True,
        "consentToShareReferralWithMicrosoftSellers": False,
        "consentToMicrosoftToContactSpecificPartners": False,
    }
    assert stored["customerProfile"]["team"] == []
    assert "target" not in stored or stored["target"] in ([], None)
    # The draft is gone once submitted.
    views = await desk.on_message(conversation, "resume")
    assert isinstance(views[0], Notice)
    assert "no referral in progress" in views[0].message


async def test_partner_led_is_shared_with_a_contact(
    desk: Desk, conversation: Conversation, client: PartnerCenterClient
) -> None:
    await say(desk, conversation, "/referral new", *answers_for("partner_led"))
    (referral,) = created(await say(desk, conversation, "submit")).referrals
    stored = (await client.get(referral.id or "")).to_wire()
    assert subset(COMMON, stored)
    assert stored["type"] == "Shared"
    assert stored["consent"]["consentToShareReferralWithMicrosoftSellers"] is True
    assert stored["customerProfile"]["team"] == CONTACT_JSON


async def test_co_sell_creates_two_linked_referrals(
    desk: Desk, conversation: Conversation, client: PartnerCenterClient
) -> None:
    await say(desk, conversation, "/referral new", *answers_for("co_sell"))
    result = created(await say(desk, conversation, "submit"))
    ours, microsoft = result.referrals
    assert "asked Microsoft for help" in result.message
    assert ours.engagement_id == microsoft.engagement_id
    theirs = (await client.get(microsoft.id or "")).to_wire()
    assert theirs["target"] == [{"id": "msft", "type": "BusinessProfileLocation"}]
    assert theirs["inviteContext"] == {
        "assistanceRequestCode": "ProofOfConceptOrDemo",
        "notes": "Customer wants a pilot in Q1",
    }
    mine = (await client.get(ours.id or "")).to_wire()
    assert mine["details"]["requirements"]["solutions"] == [
        {"id": "DEAL-123456-XYZ", "type": "Name"}
    ]
    assert mine["consent"]["consentToMicrosoftToContactSpecificPartners"] is False


async def test_services_co_sell_carries_role_area_and_play(
    desk: Desk, conversation: Conversation, client: PartnerCenterClient
) -> None:
    await say(desk, conversation, "/referral new", *answers_for("services_co_sell"))
    ours, _ = created(await say(desk, conversation, "submit")).referrals
    stored = (await client.get(ours.id or "")).to_wire()
    assert stored["details"]["requirements"]["additionalRequirements"] == {
        "partnerRole": "Deployment services",
        "solutionArea": "Infrastructure",
        "solutionPlay": "Migrate SAP",
    }


async def test_wrong_answer_is_reasked_and_nothing_moves(
    desk: Desk, conversation: Conversation, engine: Engine, redis: Redis
) -> None:
    await say(desk, conversation, "/referral new", "private", "Deal", "Customer", *ADDRESS[:5])
    views = await desk.on_message(conversation, "Atlantis")
    (prompt,) = views
    assert isinstance(prompt, Prompt)
    assert prompt.step == "country"
    assert prompt.error
    assert "Atlantis" in prompt.error
    again = await desk.on_message(conversation, "resume")
    assert isinstance(again[-1], Prompt)
    assert again[-1].step == "country"


def draft_writes(path: str) -> float:
    """``rb_draft_writes`` of ``path`` so far (the counter is the process's)."""
    return REGISTRY.get_sample_value("rb_draft_writes_total", {"path": path}) or 0.0


async def test_a_step_costs_at_most_two_round_trips_and_says_how_it_had_the_draft(
    make_engine: EngineFactory, conversation: Conversation
) -> None:
    engine = make_engine()
    desk = Desk(engine, engine._client)
    await say(desk, conversation, "/referral new", "private")
    store = engine._store
    before = store.round_trips
    cached, read, stale = draft_writes("cached"), draft_writes("read"), draft_writes("stale")
    await say(desk, conversation, "Fabrikam deal")
    assert store.round_trips - before == 1  # this process wrote the last version: no read
    assert draft_writes("cached") == cached + 1
    other = make_engine()
    other_desk = Desk(other, other._client)
    before = other._store.round_trips
    await say(other_desk, conversation, "Fabrikam Inc")
    assert other._store.round_trips - before == 2  # read, then compare-and-set
    assert draft_writes("read") == read + 1
    # The first engine's cache is now stale: its compare-and-set fails but returns the stored
    # draft, and the answer is applied to that in a second write. Still two round trips.
    before = store.round_trips
    views = await say(desk, conversation, "1 Main St")
    assert store.round_trips - before == 2
    assert draft_writes("stale") == stale + 1
    assert draft_writes("cached") == cached + 1
    assert isinstance(views[-1], Prompt)
    assert views[-1].step == "address_line2"
    # An answer refused against a stale cache is checked against a fresh read (one trip),
    # and answered for the question the seller actually sees.
    before = other._store.round_trips
    views = await other_desk.on_message(conversation, "")
    assert other._store.round_trips - before == 1
    assert isinstance(views[-1], Prompt)
    assert views[-1].step == "address_line2"
    assert views[-1].error


async def test_fifty_concurrent_answers_make_one_transition(
    make_engine: EngineFactory, conversation: Conversation, redis: Redis
) -> None:
    first = make_engine()
    await first.handle(conversation, Command(name=CommandName.START, arg="new"))
    engines = [make_engine() for _ in range(50)]
    results = await asyncio.gather(
        *(
            engine.handle(conversation, Choice(step="deal_kind", value=kind))
            for engine, kind in zip(
                engines,
                ["private", "partner_led", "co_sell", "services_co_sell"] * 13,
                strict=False,
            )
        )
    )
    moved = [views for views in results if isinstance(views[0], Prompt)]
    refused = [views for views in results if isinstance(views[0], Notice)]
    assert len(moved) == 1
    assert len(refused) == 49
    assert all("already answered" in views[0].message for views in refused)  # type: ignore[union-attr]
    stored = await RedisSessionStore(redis).load(conversation.key)
    assert stored is not None
    assert stored.version == 2  # created, then exactly one answer


async def test_twenty_concurrent_submits_create_one_referral(
    make_engine: EngineFactory, conversation: Conversation, fresh_sandbox: Sandbox
) -> None:
    engine = make_engine()
    desk = Desk(engine, engine._client)
    await say(desk, conversation, "/referral new", *answers_for("private"))
    fresh_sandbox.admin.delete("/requests")
    engines = [make_engine() for _ in range(20)]
    results = await asyncio.gather(
        *(e.handle(conversation, Command(name=CommandName.SUBMIT)) for e in engines)
    )
    posts = [r for r in fresh_sandbox.requests() if r["method"] == "POST"]
    assert len(posts) == 1
    done = [views for views in results if isinstance(views[0], Created)]
    waiting = [views for views in results if isinstance(views[0], Notice)]
    assert len(done) + len(waiting) == 20
    assert done
    ids = {views[0].referrals[0].id for views in done}  # type: ignore[union-attr]
    assert len(ids) == 1
    # A late click after the submit finished gets the same result, and no request.
    late = await make_engine().handle(conversation, Command(name=CommandName.SUBMIT))
    assert isinstance(late[0], Notice)
    assert len([r for r in fresh_sandbox.requests() if r["method"] == "POST"]) == 1


async def test_a_new_engine_resumes_mid_flow(
    make_engine: EngineFactory, conversation: Conversation
) -> None:
    before = make_engine()
    desk = Desk(before, before._client)
    await say(desk, conversation, "/referral new", "partner led", "Fabrikam deal", "Fabrikam Inc")
    after = make_engine()  # a restarted process
    views = await after.handle(conversation, Command(name=CommandName.RESUME))
    assert isinstance(views[0], Notice)
    assert isinstance(views[-1], Prompt)
    assert views[-1].step == "address"
    assert views[-1].progress.number == 4


async def test_failed_submit_keeps_the_draft_for_a_retry(
    desk: Desk, conversation: Conversation, fresh_sandbox: Sandbox
) -> None:
    await say(desk, conversation, "/referral new", *answers_for("partner_led"))
    fresh_sandbox.fault(status=400, times=1, method="POST", code="invalidRequest",
                        message="customerProfile.address.postalCode is not valid")  # fmt: skip
    views = await desk.on_message(conversation, "submit")
    assert isinstance(views[0], Problem)
    assert "postalCode is not valid" in views[0].message
    assert views[0].reference
    assert isinstance(views[-1], Review)
    (referral,) = created(await say(desk, conversation, "submit")).referrals
    assert referral.id


async def test_update_sends_a_patch_bound_to_the_version_read(
    desk: Desk, conversation: Conversation, client: PartnerCenterClient
) -> None:
    target = (await client.list(filter="status eq 'Active'").collect())[0]
    assert target.id
    await joined(client, target, conversation.seller)
    views = await say(desk, conversation, f"/referral update {target.id}")
    assert isinstance(views[-1], Prompt)
    assert views[-1].step == "fields"
    await say(desk, conversation, "deal value, closing date", "175,000", "2027-03-31")
    review = await say(desk, conversation, "review")
    assert isinstance(review[-1], Review)
    lines = {line.step: line.value for line in review[-1].lines}
    assert lines["deal_value"] is not None
    assert lines["deal_value"].endswith("→ 175,000")
    result = await say(desk, conversation, "submit")
    assert isinstance(result[0], ReferralCard)
    updated = await client.get(target.id)
    assert str(updated.details.deal_value) == "175000"  # type: ignore[union-attr]
    assert updated.details.closing_date_time.date().isoformat() == "2027-03-31"  # type: ignore[union-attr]


async def test_update_after_someone_else_changed_it_offers_to_reapply(
    desk: Desk, conversation: Conversation, client: PartnerCenterClient
) -> None:
    target = (await client.list(filter="status eq 'Active'").collect())[0]
    assert target.id
    await joined(client, target, conversation.seller)
    await say(desk, conversation, f"/referral update {target.id}", "notes", "Pilot agreed")
    await client.update(target.id, JsonPatch().replace("/details/notes", "Changed by Raj"))
    views = await desk.on_message(conversation, "submit")
    review = views[-1]
    assert isinstance(review, Review)
    assert review.notice
    assert "Changed by Raj" in review.notice
    assert review.can_reapply
    result = await say(desk, conversation, "reapply")
    assert isinstance(result[0], ReferralCard)
    assert (await client.get(target.id)).details.notes == "Pilot agreed"  # type: ignore[union-attr]


async def test_close_lost_needs_a_reason_and_checks_the_table(
    desk: Desk, conversation: Conversation, client: PartnerCenterClient
) -> None:
    target = (await client.list(filter="status eq 'Active'").collect())[0]
    assert target.id
    await joined(client, target, conversation.seller)
    await say(desk, conversation, f"/referral close {target.id}", "lost")
    refused = await desk.on_message(conversation, "skip")
    assert isinstance(refused[-1], Prompt)
    assert refused[-1].error
    await say(desk, conversation, "Budget moved to next year")
    result = await say(desk, conversation, "submit")
    assert isinstance(result[0], ReferralCard)
    closed = await client.get(target.id)
    assert (closed.status, closed.substatus, closed.status_reason) == (
        "Closed",
        "Lost",
        "Budget moved to next year",
    )
    again = await desk.on_message(conversation, f"/referral close {target.id}")
    assert isinstance(again[0], Problem)
    assert "already closed as Lost" in again[0].message


async def test_team_member_is_added(
    desk: Desk, conversation: Conversation, client: PartnerCenterClient
) -> None:
    target = (await client.list().collect())[0]
    assert target.id
    await joined(client, target, conversation.seller)
    await say(
        desk, conversation, f"/referral team {target.id}", "Kim", "Ng", "kim.ng@contoso.com", "skip"
    )
    result = await say(desk, conversation, "submit")
    assert isinstance(result[0], ReferralCard)
    team = (await client.get(target.id)).team or []
    assert team[-1].email == "kim.ng@contoso.com"


async def test_starting_over_an_unfinished_draft_is_refused(
    desk: Desk, conversation: Conversation
) -> None:
    await say(desk, conversation, "/referral new", "private", "Deal")
    views = await desk.on_message(conversation, "/referral new")
    assert isinstance(views[0], Problem)
    assert "unfinished new referral draft" in views[0].message
    await say(desk, conversation, "cancel")
    assert isinstance((await desk.on_message(conversation, "/referral new"))[0], Prompt)


async def test_expired_draft_is_reported_as_expired(
    make_engine: EngineFactory, conversation: Conversation, redis: Redis
) -> None:
    engine = make_engine()
    await engine.handle(conversation, Command(name=CommandName.START, arg="new"))
    await redis.delete(KeyBuilder().session(conversation.key))  # what the TTL does
    views = await make_engine().handle(conversation, Command(name=CommandName.RESUME))
    assert isinstance(views[0], Notice)
    assert views[0].message == (
        "Your draft expired after 72 hours without an answer; nothing was sent to Partner Center."
    )
    assert views[0].detail == "Start one with /referral new."


async def test_unreadable_draft_is_discarded_with_a_clear_message(
    desk: Desk, conversation: Conversation, redis: Redis
) -> None:
    store = RedisSessionStore(redis)
    await store.save(
        conversation.key, b'{"schema_version": 99}', expected_version=None, ttl_seconds=60
    )
    views = await desk.on_message(conversation, "resume")
    assert isinstance(views[0], Problem)
    assert "different version" in views[0].message
    assert await store.load(conversation.key) is None


async def test_show_and_list(
    desk: Desk, conversation: Conversation, client: PartnerCenterClient
) -> None:
    for referral in await client.list(filter="status eq 'Active'").collect():
        await joined(client, referral, conversation.seller)
    listed = await desk.on_message(conversation, "/referral list open")
    assert isinstance(listed[0], ReferralList)
    assert listed[0].referrals
    assert all(r.status in ("New", "Active") for r in listed[0].referrals)
    some = listed[0].referrals[0]
    shown = await desk.on_message(conversation, f"/referral show {some.id}")
    assert isinstance(shown[0], ReferralCard)
    # A full id Partner Center does not know: its refusal, with its reference.
    missing = await desk.on_message(
        conversation, "/referral show 00000000-0000-4000-8000-000000000000"
    )
    assert isinstance(missing[0], Problem)
    assert missing[0].reference
    # Words naming none of the seller's referrals (see tests/bot/conversation/chat/test_find.py).
    unnamed = await desk.on_message(conversation, "/referral show nope")
    assert isinstance(unnamed[0], Problem)
    assert unnamed[0].message == "No referral matches 'nope'."
    unknown = await desk.on_message(conversation, "/referral nwe")
    assert isinstance(unknown[0], Problem)
    assert "Did you mean /referral new?" in unknown[0].message


async def test_mine_lists_the_sellers_referrals(desk: Desk, conversation: Conversation) -> None:
    await say(desk, conversation, "/referral new", *answers_for("private"))
    await say(desk, conversation, "submit")
    mine = await desk.on_message(conversation, "/referral list mine")
    assert isinstance(mine[0], ReferralList)
    assert [r.name for r in mine[0].referrals] == ["Fabrikam - private"]
    stranger = Conversation(key=conversation.key + "x", seller=Seller(user_id="U2"))
    refused = await desk.on_message(stranger, "/referral list mine")
    assert isinstance(refused[0], Problem)


async def test_redis_down_mid_flow_loses_nothing(
    private_redis: PrivateRedis, client: PartnerCenterClient, conversation: Conversation
) -> None:
    redis = await connect(private_redis.url, max_connections=8, pool_timeout=1, socket_timeout=1)
    try:
        engine = Engine(RedisSessionStore(redis), client, clock=FixedClock(), ttl_seconds=3600)
        desk = Desk(engine, client)
        await say(desk, conversation, "/referral new", "private", "Fabrikam deal")
        private_redis.stop()
        down = await desk.on_message(conversation, "Fabrikam Inc")
        assert isinstance(down[0], Problem)
        assert down[0].message == "I can't reach my memory right now, so nothing changed."
        assert down[0].hint == "Try again in a minute; your draft is safe."
        private_redis.start()
        back = await desk.on_message(conversation, "resume")
        assert isinstance(back[-1], Prompt)
        assert back[-1].step == "customer_name"
        views = await say(desk, conversation, "Fabrikam Inc")
        assert isinstance(views[-1], Prompt)
        assert views[-1].step == "address"
    finally:
        await redis.aclose()


async def test_two_processes_taking_turns_never_lose_an_answer(
    make_engine: EngineFactory, conversation: Conversation, client: PartnerCenterClient
) -> None:
    # A round-robin load balancer in front of two web processes: each one's cache goes stale
    # every other message. A seller answering the question shown must finish in one message
    # per question.
    desks = [Desk(make_engine(), client), Desk(make_engine(), client)]
    lines = ["/referral new", *answers_for("services_co_sell"), "submit"]
    views: list[View] = []
    for turn, line in enumerate(lines):
        views = await desks[turn % 2].on_message(conversation, line)
        assert not isinstance(views[0], Notice | Problem), (line, views[0])
        assert not any(isinstance(v, Prompt) and v.error for v in views), (line, views)
    assert isinstance(views[0], Created)
    assert len(views[0].referrals) == 2


async def test_a_stale_process_checks_before_refusing_an_answer(
    make_engine: EngineFactory, conversation: Conversation, client: PartnerCenterClient
) -> None:
    first, second = Desk(make_engine(), client), Desk(make_engine(), client)
    await say(first, conversation, "/referral new", "private")  # first caches "name" next
    await say(second, conversation, "Deal", "Customer", *ADDRESS[:5])  # now at "country"
    # "France" would be a fine referral name; the stored draft is asking for the country.
    views = await first.on_message(conversation, "France")
    assert isinstance(views[-1], Prompt)
    assert views[-1].step == "customer_size"
    # And "Atlantis" is refused as a country, not taken as some other step's answer.
    await say(second, conversation, "back")
    views = await first.on_message(conversation, "Atlantis")
    assert isinstance(views[-1], Prompt)
    assert views[-1].step == "country"
    assert views[-1].error


async def test_list_pages_through_the_referrals(
    desk: Desk, conversation: Conversation, client: PartnerCenterClient
) -> None:
    template = (await client.list().collect())[0].to_wire()
    for number in range(22):
        referral = Referral.from_wire(
            {
                "name": f"Paging {number:02d}",
                "type": "Independent",
                "customerProfile": template["customerProfile"],
                "consent": {"consentToShareReferralWithMicrosoftSellers": False},
                "details": {"dealValue": 1000 + number, "currency": "USD"},
                "team": [
                    {"firstName": "Ana", "lastName": "Lopez", "email": "ana.lopez@contoso.com"}
                ],
            }
        )
        await client.create(referral)
    first = await desk.on_message(conversation, "/referral list")
    assert isinstance(first[0], ReferralList)
    assert len(first[0].referrals) == 20
    assert first[0].total == 22  # the seeded six have other teams
    assert first[0].more == "/referral list 2"
    second = await desk.on_message(conversation, first[0].more)
    assert isinstance(second[0], ReferralList)
    assert second[0].title == "Referrals, page 2"
    assert len(second[0].referrals) == 2
    assert second[0].more is None
    seen = {r.id for r in first[0].referrals} | {r.id for r in second[0].referrals}
    assert len(seen) == 22


# -- a turn delivered again (its worker died after the change) changes nothing ---------------


async def test_an_answer_delivered_again_is_not_applied_to_the_next_question(
    make_engine: EngineFactory, conversation: Conversation, redis: Redis
) -> None:
    engine = make_engine()
    await engine.turn(conversation, Command(name=CommandName.START, arg="new"), delivery="d0")
    await engine.turn(conversation, Choice(step="deal_kind", value="private"), delivery="d1")
    first = await engine.turn(conversation, Text(value="Fabrikam - once"), delivery="d2")
    assert first.effect is Effect.CHANGED
    # Another worker (no cache) gets the same turn again.
    again = await make_engine().turn(conversation, Text(value="Fabrikam - once"), delivery="d2")
    assert again.effect is Effect.CHANGED
    assert [type(view) for view in again.views] == [Prompt]
    assert again.views == first.views  # what the turn led to, for the reply to be made
    stored = await RedisSessionStore(redis).load(conversation.key)
    assert stored is not None
    answers = json.loads(stored.data)["answers"]
    assert answers["name"] == "Fabrikam - once"
    assert "customer_name" not in answers


async def test_a_start_delivered_again_shows_the_draft_it_started(
    make_engine: EngineFactory, conversation: Conversation
) -> None:
    start = Command(name=CommandName.START, arg="new")
    first = await make_engine().turn(conversation, start, delivery="d0")
    again = await make_engine().turn(conversation, start, delivery="d0")
    assert again.effect is Effect.CHANGED
    assert again.views == first.views
    other = await make_engine().turn(conversation, start, delivery="d9")
    assert other.effect is Effect.REFUSED  # a second, different start: the draft exists


async def test_a_cancel_delivered_again_says_what_it_did(
    make_engine: EngineFactory, conversation: Conversation
) -> None:
    await make_engine().turn(conversation, Command(name=CommandName.START, arg="new"), delivery="a")
    cancel = Command(name=CommandName.CANCEL)
    first = await make_engine().turn(conversation, cancel, delivery="b")
    again = await make_engine().turn(conversation, cancel, delivery="b")
    assert again.views == first.views
    assert "Cancelled" in again.views[0].message  # type: ignore[union-attr]


async def test_a_submit_delivered_again_after_it_finished_gets_its_result(
    make_engine: EngineFactory, desk: Desk, conversation: Conversation, client: PartnerCenterClient
) -> None:
    await say(desk, conversation, "/referral new", *answers_for("private"))
    submit = Command(name=CommandName.SUBMIT)
    first = await make_engine().turn(conversation, submit, delivery="submit-1")
    again = await make_engine().turn(conversation, submit, delivery="submit-1")
    assert first.effect is again.effect is Effect.CHANGED
    assert created(again.views) == created(first.views)
    found = await client.list(filter="name eq 'Fabrikam - private'").collect()
    assert len(found) == 1


async def test_a_click_meant_for_an_answered_question_is_stale_with_the_answer_held(
    engine: Engine, conversation: Conversation
) -> None:
    await engine.turn(conversation, Command(name=CommandName.START, arg="new"))
    await engine.turn(conversation, Choice(step="deal_kind", value="private"))
    late = await engine.turn(conversation, Choice(step="deal_kind", value="co_sell"))
    assert late.effect is Effect.STALE
    assert late.answer is not None
    assert late.answer.startswith("Private lead")


async def test_a_refused_answer_says_so(engine: Engine, conversation: Conversation) -> None:
    await engine.turn(conversation, Command(name=CommandName.START, arg="new"))
    await engine.turn(conversation, Choice(step="deal_kind", value="private"))
    refused = await engine.turn(conversation, Text(value="x\x00y"))
    assert refused.effect is Effect.REFUSED
    (prompt,) = refused.views
    assert isinstance(prompt, Prompt)
    assert prompt.error
