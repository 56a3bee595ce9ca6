"""One referral per draft, whatever the network does: a late answer, a stop, a kill.

Real Redis, the sandbox over loopback; Partner Center's misbehaviour is the sandbox's own
fault injection (``answerAfterSeconds``: the create is made at once, the answer comes late).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.app.clients import build_http_client
from bot.conversation.chat.desk import Desk
from bot.conversation.runtime.engine import Conversation, Engine
from bot.conversation.runtime.session import load_session
from bot.conversation.runtime.session_store import RedisSessionStore
from bot.conversation.views import Command, CommandName, Problem, View
from bot.partner_center.auth import StaticTokenProvider
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.retry import RetryPolicy
from bot.settings import Settings
from tests.bot.conversation.conftest import TTL, FixedClock
from tests.bot.conversation.runtime.test_engine import answers_for, created, say
from tests.support.sandbox import Sandbox

TIMEOUT = 0.5
"""The client's timeout here; the sandbox answers the create later than this."""
LATE = 1.5
CLAIM_SECONDS = 2
KILLED_LATE = 4
SUBMIT = Command(name=CommandName.SUBMIT)


@pytest.fixture
async def impatient(fresh_sandbox: Sandbox) -> AsyncIterator[PartnerCenterClient]:
    """A client that gives up on an answer after TIMEOUT and retries reads quickly."""
    settings = Settings(_env_file=None, partner_center_timeout_seconds=TIMEOUT)  # type: ignore[call-arg]
    async with build_http_client(settings) as http:
        yield PartnerCenterClient(
            http,
            base_url=fresh_sandbox.base_url,
            tokens=StaticTokenProvider(SecretStr("t")),
            retry=RetryPolicy(max_attempts=2, base_delay=0.05),
        )


Factory = Callable[[PartnerCenterClient], Engine]


@pytest.fixture
def engine_with(redis: Redis, clock: FixedClock) -> Factory:
    """A new engine (a new process, as far as the draft cache goes) on the given client."""

    def make(client: PartnerCenterClient) -> Engine:
        return Engine(
            RedisSessionStore(redis),
            client,
            clock=clock,
            ttl_seconds=TTL,
            submit_claim_seconds=CLAIM_SECONDS,
        )

    return make


async def draft_ready(engine: Engine, conversation: Conversation, kind: str) -> str:
    """A complete draft of ``kind`` at its review; its id."""
    desk = Desk(engine, engine._client)
    await say(desk, conversation, "/referral new", *answers_for(kind))
    stored = await engine._store.load(conversation.key)
    assert stored is not None
    return load_session(stored.data).id


def creates(sandbox: Sandbox) -> int:
    """Creates Partner Center received (answered or not)."""
    return sum(
        1
        for r in sandbox.requests()
        if r["method"] == "POST" and r["path"].endswith("/engagements/referrals")
    )


async def referrals_named(client: PartnerCenterClient, name: str) -> list[str]:
    found = await client.list(filter=f"name eq '{name}'").collect()
    return [referral.id or "" for referral in found]


def texts(views: list[View]) -> str:
    return json.dumps([view.model_dump(mode="json") for view in views])


async def test_create_answered_after_the_timeout_is_found_and_not_made_again(
    engine_with: Factory,
    impatient: PartnerCenterClient,
    client: PartnerCenterClient,
    conversation: Conversation,
    fresh_sandbox: Sandbox,
) -> None:
    engine = engine_with(impatient)
    draft_id = await draft_ready(engine, conversation, "private")
    fresh_sandbox.fault(answerAfterSeconds=LATE, times=1, method="POST")

    first = await engine.handle(conversation, SUBMIT)

    # The truth: the referral exists, and the seller gets it (not "could not reach").
    assert "Could not reach" not in texts(first)
    (referral,) = created(first).referrals
    assert referral.external_reference_id == draft_id
    # Submit pressed again: the same result, and no second create.
    again = await engine_with(impatient).handle(conversation, SUBMIT)
    assert not any(isinstance(view, Problem) for view in again)
    await asyncio.sleep(LATE)
    assert creates(fresh_sandbox) == 1
    assert await referrals_named(client, "Fabrikam - private") == [referral.id]


async def test_when_the_lookup_fails_too_the_seller_is_told_it_is_being_checked(
    engine_with: Factory,
    impatient: PartnerCenterClient,
    client: PartnerCenterClient,
    conversation: Conversation,
    fresh_sandbox: Sandbox,
) -> None:
    engine = engine_with(impatient)
    draft_id = await draft_ready(engine, conversation, "partner_led")
    fresh_sandbox.fault(answerAfterSeconds=LATE, times=1, method="POST")
    fresh_sandbox.fault(status=503, times=2, method="GET", path="/engagements/referrals")

    first = await engine.handle(conversation, SUBMIT)

    problem = first[0]
    assert isinstance(problem, Problem)
    assert "I'm checking whether Partner Center received it" in problem.message
    assert "Could not reach" not in texts(first)
    # The draft is kept; Submit again finds the referral the first create made.
    again = await engine_with(impatient).handle(conversation, SUBMIT)
    (referral,) = created(again).referrals
    assert referral.external_reference_id == draft_id
    await asyncio.sleep(LATE)
    assert creates(fresh_sandbox) == 1
    assert await referrals_named(client, "Fabrikam - partner_led") == [referral.id]


async def test_co_sell_whose_second_create_times_out_makes_two_referrals_not_three(
    engine_with: Factory,
    impatient: PartnerCenterClient,
    client: PartnerCenterClient,
    conversation: Conversation,
    fresh_sandbox: Sandbox,
) -> None:
    engine = engine_with(impatient)
    draft_id = await draft_ready(engine, conversation, "co_sell")
    # The first create is answered at once; the second (asking Microsoft) too late.
    fresh_sandbox.fault(delaySeconds=0.01, times=1, method="POST")
    fresh_sandbox.fault(answerAfterSeconds=LATE, times=1, method="POST")

    first = await engine.handle(conversation, SUBMIT)
    again = await engine_with(impatient).handle(conversation, SUBMIT)

    ours, microsoft = created(first).referrals
    assert ours.external_reference_id == draft_id
    assert microsoft.external_reference_id == f"{draft_id}-microsoft"
    assert microsoft.engagement_id == ours.engagement_id
    assert not any(isinstance(view, Problem) for view in again)
    await asyncio.sleep(LATE)
    assert creates(fresh_sandbox) == 2
    assert sorted(await referrals_named(client, "Fabrikam - co_sell")) == sorted(
        [ours.id, microsoft.id]
    )


async def wait_for_referral(client: PartnerCenterClient, name: str) -> None:
    """Until Partner Center has made the referral (its answer is still on the way)."""
    for _ in range(200):
        if await referrals_named(client, name):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no referral {name!r} was created")


async def test_a_worker_stopped_mid_create_leaves_one_referral_for_the_next_submit(
    engine_with: Factory,
    client: PartnerCenterClient,
    conversation: Conversation,
    fresh_sandbox: Sandbox,
) -> None:
    engine = engine_with(client)
    draft_id = await draft_ready(engine, conversation, "private")
    fresh_sandbox.fault(answerAfterSeconds=LATE, times=1, method="POST")
    under_way = asyncio.create_task(engine.turn(conversation, SUBMIT))
    await wait_for_referral(client, "Fabrikam - private")

    # The worker's drain gives up on the job: cancelled, not awaited.
    under_way.cancel()
    await asyncio.sleep(0.1)

    # The job reclaimed (or the seller's next Submit), in another process.
    views = await engine_with(client).handle(conversation, SUBMIT)
    (referral,) = created(views).referrals
    assert referral.external_reference_id == draft_id
    await asyncio.sleep(LATE)
    assert creates(fresh_sandbox) == 1
    assert await referrals_named(client, "Fabrikam - private") == [referral.id]


HOLDER = """
import asyncio, sys
from datetime import UTC, datetime
from pydantic import SecretStr
from bot.app.clients import build_http_client
from bot.conversation.runtime.engine import Conversation, Engine
from bot.conversation.runtime.session_store import RedisSessionStore
from bot.conversation.views import Command, CommandName, Seller
from bot.partner_center.auth import StaticTokenProvider
from bot.partner_center.client import PartnerCenterClient
from bot.settings import Settings
from bot.storage.redis import connect
from tests.bot.conversation.conftest import FixedClock

redis_url, base_url, key, seller, claim_seconds = sys.argv[1:]

async def main() -> None:
    redis = await connect(redis_url, max_connections=8, pool_timeout=5, socket_timeout=5)
    async with build_http_client(Settings(_env_file=None)) as http:
        client = PartnerCenterClient(
            http, base_url=base_url, tokens=StaticTokenProvider(SecretStr("t"))
        )
        engine = Engine(
            RedisSessionStore(redis), client, clock=FixedClock(), ttl_seconds=3600,
            submit_claim_seconds=int(claim_seconds),
        )
        conversation = Conversation(key, Seller.model_validate_json(seller))
        await engine.handle(conversation, Command(name=CommandName.SUBMIT))

asyncio.run(main())
"""


async def test_a_worker_killed_mid_create_holds_nothing_and_the_next_submit_finishes(
    engine_with: Factory,
    client: PartnerCenterClient,
    conversation: Conversation,
    fresh_sandbox: Sandbox,
    redis_url: str,
) -> None:
    engine = engine_with(client)
    draft_id = await draft_ready(engine, conversation, "private")
    fresh_sandbox.fault(answerAfterSeconds=KILLED_LATE, times=1, method="POST")
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLDER,
        redis_url,
        fresh_sandbox.base_url,
        conversation.key,
        conversation.seller.model_dump_json(),
        str(CLAIM_SECONDS),
        cwd=os.getcwd(),
    )
    try:
        await wait_for_referral(client, "Fabrikam - private")
    finally:
        holder.send_signal(signal.SIGKILL)  # no finally, no release: the claim stays held
        await asyncio.wait_for(holder.wait(), timeout=10)

    views = await engine_with(client).handle(conversation, SUBMIT)

    (referral,) = created(views).referrals
    assert referral.external_reference_id == draft_id
    assert await referrals_named(client, "Fabrikam - private") == [referral.id]
    # The one create made, answered to no one once the holder was gone.
    for _ in range(100):
        if creates(fresh_sandbox):
            break
        await asyncio.sleep(0.1)
    assert creates(fresh_sandbox) == 1
