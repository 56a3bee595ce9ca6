"""Where requests for approval go: one channel per chat workspace (a Slack workspace, an
Entra tenant of Teams), set by an approver with ``/referral approvals here``.

Slack deployments may name the channel in ``APPROVALS_CHANNEL`` instead; a channel set in chat
takes precedence for its workspace, so approvers can move it without a redeploy.
"""

from __future__ import annotations

from bot.jobs.job import text_of
from bot.jobs.keys import STREAM, StreamKeys
from bot.notifications.channels import Channel
from bot.storage.redis import RedisClient


class ApprovalPlaces:
    """The approvals channel of each workspace, in Redis beside the approvals themselves."""

    def __init__(self, redis: RedisClient, *, stream: str = STREAM) -> None:
        self._redis = redis
        self._key = f"{StreamKeys(stream).slot}:approvals:places"

    async def set(self, channel: Channel) -> None:
        """Send the requests of ``channel``'s workspace to ``channel`` from now on."""
        await self._redis.hset(
            self._key, _field(channel.platform, channel.workspace), channel.model_dump_json()
        )

    async def get(self, platform: str, workspace: str) -> Channel | None:
        """The channel set for the workspace, or None."""
        raw = await self._redis.hget(self._key, _field(platform, workspace))
        return Channel.model_validate_json(text_of(raw)) if raw else None


def _field(platform: str, workspace: str) -> str:
    return f"{platform}:{workspace}"
