"""What the chat fronts remember on Redis: deliveries seen once, the last card."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.conversation.chat.memory import LAST_LIST, LIST_SECONDS, CardRef, ChatMemory
from bot.conversation.runtime.session_store import KeyBuilder, RedisSessionStore


async def test_a_delivery_takes_effect_once(redis: Redis, conversation_key: str) -> None:
    memory = ChatMemory(RedisSessionStore(redis))
    assert await memory.first_time(conversation_key, "event-Ev1")
    assert not await memory.first_time(conversation_key, "event-Ev1")
    assert await memory.first_time(conversation_key, "event-Ev2")


async def test_the_same_attempt_asking_again_is_let_through(
    redis: Redis, conversation_key: str
) -> None:
    # A worker died after claiming the delivery; the job, reclaimed, asks again with its own
    # id and must finish the work. A retry of the delivery (another job) must not.
    memory = ChatMemory(RedisSessionStore(redis))
    assert await memory.first_time(conversation_key, "action-1", attempt="job-1")
    assert await memory.first_time(conversation_key, "action-1", attempt="job-1")
    assert not await memory.first_time(conversation_key, "action-1", attempt="job-2")
    assert not await memory.first_time(conversation_key, "action-1")


async def test_the_last_card_is_remembered_and_forgotten(
    redis: Redis, conversation_key: str
) -> None:
    memory = ChatMemory(RedisSessionStore(redis))
    assert await memory.last_card(conversation_key) is None
    card = CardRef("D1", "1700000000.000100", "deal_kind", "What kind of deal is this?")
    await memory.remember_card(conversation_key, card)
    assert await memory.last_card(conversation_key) == card
    await memory.forget_card(conversation_key)
    assert await memory.last_card(conversation_key) is None


async def test_the_last_list_is_remembered_for_a_day(redis: Redis, conversation_key: str) -> None:
    memory = ChatMemory(RedisSessionStore(redis))
    assert await memory.last_list(conversation_key) is None
    await memory.remember_list(conversation_key, ["r-1", "r-2"])
    await memory.remember_list(conversation_key, ["r-3", "r-1"])  # the last one shown wins
    assert await memory.last_list(conversation_key) == ("r-3", "r-1")
    assert 0 < await redis.ttl(KeyBuilder().claim(conversation_key, LAST_LIST)) <= LIST_SECONDS
