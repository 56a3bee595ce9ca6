"""Every key the product touches together shares one hash slot, so it runs on Redis Cluster.

The flows run here on a cluster of three masters (``REDIS_URL=redis+cluster://...``, the job
stream in eight shards), through redis-py's cluster client as a deployment runs it. A script,
a transaction or a command whose keys hash to more than one slot is refused (by the client
before it is sent, or by the node, ``CROSSSLOT``), so a new key written beside others without
their hash tag fails this test before it fails a deployment.

Covered: a seller's draft from ``/referral register`` to its submit (the session, its claim,
chat memory, the engine's scripts), the job stream with ordered inboxes and their leases,
approvals (request, decision, audit, the open index), a channel subscription, and a change
found by the poll and delivered to the channel (the change detector, the notification order).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio.cluster import RedisCluster

from bot.approvals.store import Approvals, ApprovalStatus
from bot.storage.redis import connect
from cards.ids import Action
from tests.handlers.slack.conftest import SlackBot, running, slack_settings
from tests.handlers.slack.test_approvals import (
    APPROVALS,
    BOSS,
    SELLER,
    approval_card,
    approval_id,
    ask_for_registration,
    click,
    registrations,
)
from tests.handlers.slack.test_notifications import polled_once, said_in, subscribe, told
from tests.support.redis_cluster import LocalCluster
from tests.support.sandbox import Sandbox
from tests.support.slack_stand_in import SlackApiStandIn

WINS = "C0WINS"
TAILWIND = "7b9d2e4f-6a8c-4b1d-8e3f-5a7c9e1b3d02"


SHARDS = 8


@pytest.fixture
async def bot(
    redis_cluster: LocalCluster,
    redis_namespace: str,
    fresh_sandbox: Sandbox,
    fresh_slack_api: SlackApiStandIn,
) -> AsyncIterator[SlackBot]:
    settings = slack_settings(
        fresh_sandbox,
        fresh_slack_api,
        redis_cluster.url,
        redis_namespace,
        job_stream_shards=SHARDS,
        approvers=BOSS,
        approvals_channel=APPROVALS,
        referral_admins=SELLER,
        poll_interval_seconds=0.2,
    )
    redis = await connect(redis_cluster.url, max_connections=16, pool_timeout=5, socket_timeout=5)
    assert isinstance(redis, RedisCluster)
    try:
        async with running(settings, fresh_slack_api, redis, redis_namespace) as started:
            yield started
    finally:
        await redis.aclose()


async def test_a_registration_asked_approved_and_sent_stays_within_one_slot_per_key_set(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    await ask_for_registration(bot)
    approval = approval_id(approval_card(bot))

    await click(bot, Action.APPROVE, approval, user=BOSS)
    await bot.settled()

    assert len(registrations(fresh_sandbox)) == 1
    stored = await Approvals(bot.redis, stream=bot.job_stream).get(approval)
    assert stored.status is ApprovalStatus.SUBMITTED


async def test_a_subscribed_channel_hears_of_a_change_within_one_slot_per_key_set(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    await subscribe(bot, WINS)
    await polled_once(bot)

    fresh_sandbox.act(TAILWIND, "win")
    (card,) = await told(bot, WINS, 1)

    assert "Won" in card
    assert len(said_in(bot, WINS)) == 2
