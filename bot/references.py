"""Where the bot can reach a conversation later: conversation references, kept in Redis.

Teams only lets a bot post proactively (a status change, an approval request) into a
conversation it has a reference for: the service URL, the conversation id and the tenant,
learned when the bot is installed, added to a channel, or spoken to. A conversation nobody
has used for :data:`TTL_SECONDS` (180 days) is forgotten: every save refreshes the key's TTL,
and the channel list's, so only references of conversations gone quiet expire. Channels are
also listed per platform, for notifications; a channel whose reference expired may stay
listed while other channels are saved, and is skipped for want of a reference.

Keys: ``rb:ref:<platform>:<conversation id>`` holds a reference as JSON;
``rb:ref:<platform>:channels`` is the set of channel conversation ids.
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

    @staticmethod
    def _key(platform: str, conversation_id: str) -> str:
        return f"{PREFIX}:{platform}:{conversation_id}"

    @staticmethod
    def _channels(platform: str) -> str:
        return f"{PREFIX}:{platform}:channels"
