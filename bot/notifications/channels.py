"""Where notifications go: a channel of a chat platform, and how a platform posts to it."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from bot.conversation.views import View


class Channel(BaseModel):
    """A Slack channel or a Teams channel the bot posts notifications to."""

    model_config = ConfigDict(frozen=True)

    platform: str
    """``slack`` or ``teams``."""
    workspace: str
    """The Slack workspace (``T...``) or the Entra tenant of the Teams team."""
    id: str
    """The Slack channel id (``C...``/``G...``) or the Teams channel's conversation id
    (``19:...@thread.tacv2``, without a ``;messageid=`` suffix)."""
    name: str | None = None
    reference: dict[str, Any] | None = None
    """Teams: the conversation reference to post with (``serviceUrl``, conversation, bot)."""

    @property
    def key(self) -> str:
        """``platform:workspace:id``: the channel's key in Redis and its order of delivery."""
        return f"{self.platform}:{self.workspace}:{self.id}"


class ChannelGone(Exception):
    """The channel no longer takes the bot's messages (the bot was removed, the channel was
    archived or deleted): its subscription ends instead of being retried for ever."""


class ChannelPoster(Protocol):
    """How one platform posts a notification to a channel."""

    async def post_to_channel(self, channel: Channel, view: View) -> str:
        """Post ``view``; the id of the message posted (Slack's ``ts``, Teams' activity id).
        :class:`ChannelGone` when the channel no longer takes it; any other exception when it
        may work later (the job is tried again)."""
        ...
