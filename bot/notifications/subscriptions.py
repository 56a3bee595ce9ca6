"""Which channels hear about which changes: subscriptions, one per channel, kept in Redis.

A subscription names its channel and its filters: the events it wants (won and lost unless
it says otherwise), a smallest deal value, and ``mine`` (only referrals whose team includes
whoever subscribed). All of them live in one hash, read whole for each event: there are as
many as channels that asked, a few hundred at most.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, get_args

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.conversation.views import StatusEvent
from bot.jobs.keys import STREAM, StreamKeys
from bot.notifications.changes import ReferralChange
from bot.notifications.channels import Channel
from bot.storage.redis import RedisClient

EVENTS: Final[tuple[StatusEvent, ...]] = get_args(StatusEvent)
DEFAULT_EVENTS: Final[tuple[StatusEvent, ...]] = ("won", "lost")


class Filters(BaseModel):
    """What a channel wants to hear about."""

    model_config = ConfigDict(frozen=True)

    events: tuple[StatusEvent, ...] = DEFAULT_EVENTS
    min_value: float | None = None
    """Only deals worth at least this much (in the referral's own currency)."""
    mine: str | None = None
    """Only referrals whose team includes this email (whoever subscribed with ``mine``)."""

    def wants(self, change: ReferralChange) -> bool:
        """Whether a channel with these filters hears about ``change``."""
        event = change.event
        if event is None or event not in self.events:
            return False
        if self.min_value is not None and (change.value or 0) < self.min_value:
            return False
        return self.mine is None or self.mine.lower() in change.team_emails

    def describe(self) -> str:
        """The filters in the words of the command that set them."""
        words = [" ".join(self.events)]
        if self.min_value is not None:
            words.append(f"min={self.min_value:g}")
        if self.mine is not None:
            words.append(f"mine ({self.mine})")
        return ", ".join(words)


class Subscription(BaseModel):
    """A channel's subscription: where, what, and who asked."""

    model_config = ConfigDict(frozen=True)

    channel: Channel
    filters: Filters = Filters()
    by: str
    """The chat user who subscribed (their conversation key)."""
    since: datetime


class Subscriptions:
    """The subscriptions of every channel of a deployment (one hash beside its job stream:
    deployments sharing a Redis each have their own stream, and so their own channels)."""

    def __init__(self, redis: RedisClient, *, stream: str = STREAM) -> None:
        self._redis = redis
        self.key = f"{StreamKeys(stream).slot}:subscriptions"

    async def subscribe(self, subscription: Subscription) -> bool:
        """Subscribe the channel (replacing its filters); True when it was not subscribed."""
        added = await self._redis.hset(
            self.key, subscription.channel.key, subscription.model_dump_json()
        )
        return bool(added)

    async def unsubscribe(self, channel_key: str) -> bool:
        """End the channel's subscription; True when there was one."""
        return bool(await self._redis.hdel(self.key, channel_key))

    async def get(self, channel_key: str) -> Subscription | None:
        """The channel's subscription, if any."""
        raw = await self._redis.hget(self.key, channel_key)
        return _parse(raw) if raw is not None else None

    async def all(self) -> list[Subscription]:
        """Every subscription (an unreadable one, from a newer version, is skipped)."""
        raw = await self._redis.hvals(self.key)
        return [parsed for parsed in map(_parse, raw) if parsed is not None]

    async def of_workspace(self, platform: str, workspace: str) -> list[Subscription]:
        """The subscriptions of one Slack workspace or Teams tenant."""
        return [
            each
            for each in await self.all()
            if each.channel.platform == platform and each.channel.workspace == workspace
        ]


def _parse(raw: bytes | str) -> Subscription | None:
    try:
        return Subscription.model_validate_json(raw)
    except ValidationError:
        return None
