"""Conversation references on a real Redis: kept with a long TTL that every save refreshes."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.references import PREFIX, TTL_SECONDS, ReferenceBook


async def test_a_reference_and_the_channel_list_expire_unless_saved_again(
    redis: Redis, redis_namespace: str
) -> None:
    platform = f"teams-{redis_namespace}"
    book = ReferenceBook(redis)
    key, channels = f"{PREFIX}:{platform}:19:abc", f"{PREFIX}:{platform}:channels"
    await book.save(platform, "19:abc", {"serviceUrl": "https://smba.example"}, channel=True)
    assert TTL_SECONDS >= 180 * 24 * 3600
    assert TTL_SECONDS - 60 <= await redis.ttl(key) <= TTL_SECONDS
    assert TTL_SECONDS - 60 <= await redis.ttl(channels) <= TTL_SECONDS

    await redis.expire(key, 100)
    await redis.expire(channels, 100)
    await book.save(platform, "19:abc", {"serviceUrl": "https://smba.example"}, channel=True)
    assert await redis.ttl(key) > 100  # refreshed
    assert await redis.ttl(channels) > 100


async def test_a_personal_conversation_is_kept_with_a_ttl_and_not_listed(
    redis: Redis, redis_namespace: str
) -> None:
    platform = f"teams-{redis_namespace}"
    book = ReferenceBook(redis, ttl_seconds=500)
    await book.save(platform, "a:1", {"id": 1}, channel=False)
    assert 0 < await redis.ttl(f"{PREFIX}:{platform}:a:1") <= 500
    assert not await redis.exists(f"{PREFIX}:{platform}:channels")
