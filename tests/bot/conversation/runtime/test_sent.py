"""Changes made through the bot emit their channel-notification event at once, without
waiting for the poll."""

from __future__ import annotations

import functools
import json

from redis.asyncio import Redis

from bot.conversation.chat.desk import Desk
from bot.conversation.runtime.engine import Conversation, Engine
from bot.conversation.runtime.session_store import RedisSessionStore
from bot.notifications.changes import ChangeDetector, ReferralChange
from bot.partner_center.client import PartnerCenterClient
from tests.bot.conversation.conftest import TTL, FixedClock
from tests.bot.conversation.runtime.test_engine import joined, say


async def test_a_close_through_the_bot_is_an_event_at_once(
    redis: Redis,
    redis_namespace: str,
    client: PartnerCenterClient,
    clock: FixedClock,
    conversation: Conversation,
) -> None:
    stream = f"rb:jobs:{redis_namespace}"
    detector = ChangeDetector(redis, stream=stream)
    engine = Engine(
        RedisSessionStore(redis),
        client,
        clock=clock,
        ttl_seconds=TTL,
        sent=functools.partial(detector.observe, source="bot"),
    )
    desk = Desk(engine, client)
    target = (await client.list(filter="status eq 'Active'").collect())[0]
    assert target.id
    await detector.observe(target, source="poll", baseline=True)  # known before
    await joined(client, target, conversation.seller)

    await say(desk, conversation, f"/referral close {target.id}", "won", "submit")

    entries = await redis.xrange(stream)
    (event,) = [ReferralChange.model_validate(json.loads(f[b"payload"])) for _, f in entries]
    assert event.event == "won"
    assert event.source == "bot"
    assert event.referral_id == target.id
