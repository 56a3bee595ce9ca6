"""Where the bot can reach a conversation later: conversation references, kept in Redis.

Teams only lets a bot post proactively (a status change, an approval request) into a
conversation it has a reference for: the service URL, the conversation id and the tenant,
learned when the bot is installed, added to a channel, or spoken to. A conversation nobody
has used for :data:`TTL_SECONDS` (180 days) is forgotten: every save refreshes the key's TTL,
and the channel list's, so only references of conversations gone quiet expire. Channels are
also listed per platform, for notifications; a channel whose reference expired may stay
listed while other channels are saved, and is skipped for want of a reference.

A person's 1:1 chat with the bot is also kept by who they are (their conversation key,
``teams:<tenant>:<user>``), so the bot finds it again to tell them something (an incoming
referral) without asking Teams to open it each time.

Keys: ``rb:ref:<platform>:<conversation id>`` holds a reference as JSON;
``rb:ref:<platform>:channels`` is the set of channel conversation ids;
``rb:ref:<platform>:dm:<conversation key>`` holds the reference of that person's 1:1 chat.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.storage.redis import RedisClient

PREFIX = "rb:ref"
TTL_SECONDS = 180 * 24 * 3600
"""How long a reference outlives its last save (each save refreshes it)."""


class ReferenceBook:
    """Conversation references by platform and conversation id."""

    def __init__(self, redis: RedisClient, *, ttl_seconds: int = TTL_SECONDS) -> None:
        self._redis = redis
        self._ttl_seconds = ttl_seconds

    async def save(
        self, platform: str, conversation_id: str, reference: Mapping[str, Any], *, channel: bool
    ) -> None:
        """Keep (or refresh) the reference; ``channel`` lists it among the channels."""
        async with self._redis.pipeline(transaction=False) as pipe:
            key = self._key(platform, conversation_id)
            pipe.set(key, json.dumps(reference), ex=self._ttl_seconds)
            if channel:
                pipe.sadd(self._channels(platform), conversation_id)
                pipe.expire(self._channels(platform), self._ttl_seconds)
            await pipe.execute()

    async def forget(self, platform: str, conversation_id: str) -> None:
        """Drop the reference (the bot was uninstalled or removed)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.delete(self._key(platform, conversation_id))
            pipe.srem(self._channels(platform), conversation_id)
            await pipe.execute()

    async def save_dm(self, platform: str, person: str, reference: Mapping[str, Any]) -> None:
        """Keep (or refresh) the reference of the 1:1 chat of ``person`` (a conversation key)."""
        await self._redis.set(
            self._dm(platform, person), json.dumps(reference), ex=self._ttl_seconds
        )

    async def dm(self, platform: str, person: str) -> dict[str, Any] | None:
        """The reference of the 1:1 chat of ``person`` (a conversation key), or None."""
        raw = await self._redis.get(self._dm(platform, person))
        if not raw:
            return None
        found = json.loads(raw)
        return found if isinstance(found, dict) else None

    async def forget_dm(self, platform: str, person: str) -> None:
        """Drop the reference of the 1:1 chat of ``person`` (they removed the app)."""
        await self._redis.delete(self._dm(platform, person))

    @staticmethod
    def _dm(platform: str, person: str) -> str:
        return f"{PREFIX}:{platform}:dm:{person}"

    @staticmethod
    def _key(platform: str, conversation_id: str) -> str:
        return f"{PREFIX}:{platform}:{conversation_id}"

    @staticmethod
    def _channels(platform: str) -> str:
        return f"{PREFIX}:{platform}:channels"
