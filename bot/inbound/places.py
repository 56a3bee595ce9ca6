"""Where incoming referrals are triaged: one channel per chat workspace (a Slack workspace, an
Entra tenant of Teams), set with ``/referral inbound here``.

Slack deployments may name the channel in ``INBOUND_CHANNEL`` instead; a channel set in chat
takes precedence for its workspace. Every incoming referral goes to every triage channel set
(a deployment serving two workspaces puts it in front of both).
"""

from __future__ import annotations

from bot.jobs.job import text_of
from bot.jobs.keys import STREAM, StreamKeys
from bot.notifications.channels import Channel
from bot.storage.redis import RedisClient


class InboundPlaces:
    """The triage channel of each workspace, in Redis beside the records."""

    def __init__(self, redis: RedisClient, *, stream: str = STREAM) -> None:
        self._redis = redis
        self._key = f"{StreamKeys(stream).slot}:inbound:places"

    async def set(self, channel: Channel) -> None:
        """Send the incoming referrals of ``channel``'s workspace to ``channel`` from now on."""
        await self._redis.hset(self._key, place_of(channel), channel.model_dump_json())

    async def get(self, platform: str, workspace: str) -> Channel | None:
        """The channel set for the workspace, or None."""
        raw = await self._redis.hget(self._key, f"{platform}:{workspace}")
        return Channel.model_validate_json(text_of(raw)) if raw else None

    async def all(self) -> list[Channel]:
        """Every triage channel set in chat."""
        return [
            Channel.model_validate_json(text_of(raw)) for raw in await self._redis.hvals(self._key)
        ]


def place_of(channel: Channel) -> str:
    """The place a channel triages for: its platform and workspace (``slack:T1``)."""
    return f"{channel.platform}:{channel.workspace}"
