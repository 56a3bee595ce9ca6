"""A Redis Cluster failing over in the middle of a seller's conversation: the master holding
the seller's draft is killed (``kill -9``) and its replica promoted; the web process and its
worker follow the new slot map by themselves, and the seller carries on where they were, with
nothing asked twice and one referral at the end.

The cluster is three masters with a replica each (append-only files on), the job stream in
eight shards, as a deployment that outgrew one server runs. Redis replicates asynchronously:
a write the master acknowledged in its last milliseconds may not have reached the replica
(Redis Cluster's own guarantee, not one the bot can strengthen), so the test waits for the
replica to have caught up (``WAIT``) before it kills the master: what it checks is that the bot
loses nothing of what Redis kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis as sync_redis
from redis.crc import key_slot

from bot.conversation.runtime.session_store import KeyBuilder
from bot.storage.redis import connect
from tests.handlers.slack.conftest import SlackBot, running, slack_settings
from tests.handlers.slack.test_redis_restart import AFTER, BEFORE, DM, answer, said
from tests.support.redis_cluster import LocalCluster
from tests.support.sandbox import Sandbox
from tests.support.slack_stand_in import SlackApiStandIn

NAMESPACE = "failover"


@pytest.fixture
def cluster(tmp_path: Path) -> AsyncIterator[LocalCluster]:
    with LocalCluster(tmp_path / "cluster", masters=3, replicas=1) as started:
        yield started  # type: ignore[misc]


@pytest.fixture
async def bot(
    cluster: LocalCluster, fresh_sandbox: Sandbox, fresh_slack_api: SlackApiStandIn
) -> AsyncIterator[SlackBot]:
    settings = slack_settings(
        fresh_sandbox,
        fresh_slack_api,
        cluster.url,
        NAMESPACE,
        job_stream_shards=8,
        # Short, so a request meeting the dead master fails fast instead of waiting it out.
        redis_socket_timeout_seconds=1.0,
    )
    redis = await connect(cluster.url, max_connections=16, pool_timeout=5, socket_timeout=5)
    try:
        async with running(settings, fresh_slack_api, redis, NAMESPACE) as started:
            yield started
    finally:
        await redis.aclose()


def replicated(cluster: LocalCluster, port: int) -> None:
    """Wait until the master on ``port`` has its replica caught up."""
    with sync_redis.Redis(port=port) as master:
        assert master.execute_command("WAIT", 1, 5000) == 1  # type: ignore[no-untyped-call]


async def test_a_seller_carries_on_after_the_master_holding_their_draft_fails_over(
    bot: SlackBot, cluster: LocalCluster, fresh_sandbox: Sandbox
) -> None:
    await answer(bot, "/referral new")
    for text in BEFORE:
        await answer(bot, text)
    asked = said(bot.slack.messages_to(DM)[-1])
    assert "state" in asked.lower() or "region" in asked.lower(), asked

    draft = KeyBuilder().session(f"slack:{NAMESPACE}:U0001")
    assert await bot.redis.exists(draft) == 1
    owner = cluster.slot_owner(key_slot(draft.encode()))
    await asyncio.to_thread(replicated, cluster, owner)
    index = [node.port for node in cluster.masters].index(owner)
    failing_over = asyncio.create_task(asyncio.to_thread(cluster.fail_master, index))
    # The seller answers while the master is down and its replica not yet promoted: told to
    # try again if the bot cannot take it, they type it again and it is taken once.
    await answer(bot, AFTER[0], within=20.0)
    promoted = await failing_over
    assert promoted != owner
    assert cluster.slot_owner(key_slot(draft.encode())) == promoted

    for text in AFTER[1:]:
        await answer(bot, text, within=20.0)
    review = said(bot.slack.messages_to(DM)[-1])
    assert "check your answers" in review
    # What was answered before the failover is still the draft's.
    assert "Restarted Redis pilot" in review
    assert "Fabrikam Inc" in review
    await answer(bot, "submit")

    created = [
        call
        for call in fresh_sandbox.requests()
        if call["method"] == "POST" and call["path"].endswith("/engagements/referrals")
    ]
    assert len(created) == 1
    assert "Created your referral" in said(bot.slack.messages_to(DM)[-1])
