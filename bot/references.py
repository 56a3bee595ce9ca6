"""Where the bot can reach a conversation later: conversation references, kept in Redis.

Teams only lets a bot post proactively (a status change, an approval request) into a
conversation it has a reference for: the service URL, the conversation id and the tenant,
learned when the bot is installed, added to a channel, or spoken to. References do not
expire, so neither do these keys. Channels are also listed per platform, for notifications.

Keys: ``rb:ref:<platform>:<conversation id>`` holds a reference as JSON;
``rb:ref:<platform>:channels`` is the set of channel conversation ids.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis

PREFIX = "rb:ref"


class ReferenceBook:
    """Conversation references by platform and conversation id."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def save(
        self, platform: str, conversation_id: str, reference: Mapping[str, Any], *, channel: bool
    ) -> None:
        """Keep (or refresh) the reference; ``channel`` lists it among the channels."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(self._key(platform, conversation_id), json.dumps(reference))
            if channel:
                pipe.sadd(self._channels(platform), conversation_id)
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
