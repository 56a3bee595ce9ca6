"""A customer filed before: a new referral naming it offers the earlier referral's address,
size and contact in one question, never silently, and only from referrals the seller may see.

Real parts: the engine on the suite's Redis, the sandbox over loopback, the finder as the
product wires it (:mod:`bot.app.services`).
"""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from bot.conversation.chat.desk import Desk
from bot.conversation.chat.finding import Finder
from bot.conversation.chat.known_customers import KnownCustomers
from bot.conversation.chat.memory import ChatMemory
from bot.conversation.runtime.access import Access
from bot.conversation.runtime.engine import Conversation, Engine
from bot.conversation.runtime.session_store import RedisSessionStore
from bot.conversation.views import Created, Prompt, Review, Seller, View
from bot.partner_center.client import PartnerCenterClient
from tests.bot.conversation.conftest import TTL, FixedClock
from tests.support.sandbox import Sandbox

FIRST = [
    "/referral new Fabrikam Inc 80k USD by 2027-03-31",
    "partner led",
    "1 Main St, Suite 200, Seattle, WA 98101, US",
    "51 to 250 employees",
    "Ada Lovelace <ada@fabrikam.com> +1 206 555 0100",
    "none",
    "yes",
    "submit",
]


@pytest.fixture
def desk(redis: Redis, client: PartnerCenterClient, clock: FixedClock) -> Desk:
    store = RedisSessionStore(redis)
    access = Access()
    finder = Finder(client, access, ChatMemory(store))
    engine = Engine(
        store,
        client,
        clock=clock,
        ttl_seconds=TTL,
        access=access,
        lookups={"known_customer": KnownCustomers(finder)},
    )
    return Desk(engine, client, access=access)


async def say(desk: Desk, conversation: Conversation, *lines: str) -> list[View]:
    views: list[View] = []
    for line in lines:
        views = await desk.on_message(conversation, line)
        refused = [view.error for view in views if isinstance(view, Prompt) and view.error]
        assert not refused, f"{line!r} was refused: {refused[0]}"
    return views


def asked(views: list[View]) -> Prompt:
    prompt = views[-1]
    assert isinstance(prompt, Prompt), views
    return prompt


def created_wire(views: list[View]) -> dict[str, Any]:
    (made,) = [view for view in views if isinstance(view, Created)]
    return made.referrals[0].to_wire()


async def test_a_customer_filed_before_is_offered_and_yes_copies_it(
    desk: Desk, conversation: Conversation
) -> None:
    first = created_wire(await say(desk, conversation, *FIRST))

    views = await say(desk, conversation, "/referral new fabrikam inc. 20k by 2027-06-30")
    views = await say(desk, conversation, "partner led")
    offer = asked(views)
    assert offer.step == "same_customer"
    assert "Fabrikam Inc" in offer.question
    assert "1 Main St, Suite 200, Seattle, WA 98101, US" in offer.question
    assert "Ada Lovelace" in offer.question
    views = await say(desk, conversation, "yes")
    assert asked(views).step == "extras"  # address, size and contact: all given
    views = await say(desk, conversation, "none", "yes")
    review = views[-1]
    assert isinstance(review, Review)
    lines = {line.label: line.value for line in review.lines}
    assert lines["Address"] == "1 Main St, Suite 200, Seattle, WA 98101, US"
    assert lines["Contact"] == "Ada Lovelace <ada@fabrikam.com> +12065550100"
    second = created_wire(await say(desk, conversation, "submit"))
    for copied in ("address", "size", "team"):
        assert second["customerProfile"][copied] == first["customerProfile"][copied], copied
    assert second["customerProfile"]["name"] == "fabrikam inc."  # as typed this time


async def test_no_asks_the_questions_as_usual(desk: Desk, conversation: Conversation) -> None:
    await say(desk, conversation, *FIRST)
    await say(desk, conversation, "/referral new Fabrikam Inc 20k by 2027-06-30", "partner led")
    views = await say(desk, conversation, "no")
    assert asked(views).step == "address"


async def test_a_customer_named_on_its_own_question_is_offered_too(
    desk: Desk, conversation: Conversation
) -> None:
    await say(desk, conversation, *FIRST)
    views = await say(desk, conversation, "/referral new", "partner led", "Renewal")
    assert asked(views).step == "customer_name"
    views = await say(desk, conversation, "Fabrikam Inc")
    assert asked(views).step == "same_customer"
    # Renamed to a customer never filed: the offer goes with the name.
    views = await say(desk, conversation, "back", "Northwind Traders")
    assert asked(views).step == "address"


async def test_another_sellers_customer_is_never_offered(
    desk: Desk, conversation: Conversation, conversation_key: str
) -> None:
    await say(desk, conversation, *FIRST)
    other = Conversation(
        key=f"{conversation_key}-other",
        seller=Seller(
            user_id="U0002", first_name="Raj", last_name="Patel", email="raj@contoso.com"
        ),
    )
    await say(desk, other, "/referral new Fabrikam Inc 20k by 2027-06-30")
    views = await say(desk, other, "partner led")
    assert asked(views).step == "address"


async def test_partner_center_failing_the_lookup_costs_only_the_offer(
    desk: Desk, conversation: Conversation, fresh_sandbox: Sandbox
) -> None:
    await say(desk, conversation, *FIRST)
    fresh_sandbox.fault(method="GET", path="/engagements/referrals", status=503, times=20)
    await say(desk, conversation, "/referral new Fabrikam Inc 20k by 2027-06-30")
    fresh_sandbox.clear_faults()
    views = await say(desk, conversation, "partner led")
    assert asked(views).step == "address"


async def test_an_update_renaming_the_customer_looks_nothing_up(
    desk: Desk, conversation: Conversation, fresh_sandbox: Sandbox
) -> None:
    made = created_wire(await say(desk, conversation, *FIRST))
    await say(desk, conversation, f"/referral update {made['id']}", "customer name")
    listed_before = [r for r in fresh_sandbox.requests() if r["method"] == "GET"]
    views = await say(desk, conversation, "Fabrikam Incorporated")
    listed_after = [r for r in fresh_sandbox.requests() if r["method"] == "GET"]
    assert listed_after == listed_before  # no listing to offer what the update never asks
    assert isinstance(views[-1], Review)
