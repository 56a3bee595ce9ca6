"""Notifications posted to a Slack channel, as the bot, and rewritten there later.

``chat.postMessage`` to the channel's id, whose ``ts`` is the message's id; ``chat.update``
with the channel's id and that ``ts`` rewrites it (an approval card once decided). Public
channels take the bot's messages without an invitation (the ``chat:write.public`` scope);
private ones only once the bot is a member. Slack answers an ``ok: false`` error code when
the channel will not take them again until someone acts (it was archived or deleted, the bot
was removed, the workspace revoked the app's access): those become :class:`ChannelGone`, so
the subscription ends instead of being retried for ever. A 429 is retried inside the client
(``AsyncRateLimitErrorRetryHandler``, see ``bot.app.platforms.build_slack_client``);
whatever is left propagates, to be tried again later.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation import View
from bot.notifications.channels import Channel, ChannelGone
from cards.slack import message

GONE_ERRORS: Final = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "account_inactive",
        "team_access_not_granted",
        "access_denied",
        "restricted_action",
    }
)
"""``chat.postMessage`` and ``chat.update`` errors that trying again will not cure (the methods'
reference pages)."""


class SlackChannelPoster:
    """Posts views to Slack channels with the workspace's bot token (``client``)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def post_to_channel(self, channel: Channel, view: View) -> str:
        """Post ``view`` in ``channel``; the message's ``ts``. :class:`ChannelGone` when Slack
        says the channel no longer takes the bot's messages, :class:`SlackApiError` (or a
        connection error) when a later try may work."""
        made = message(view)
        with _gone_on_refusal(channel):
            posted = await self._client.chat_postMessage(
                channel=channel.id, text=made.text, blocks=made.blocks
            )
        return str(posted["ts"])

    async def update_in_channel(self, channel: Channel, message_id: str, view: View) -> None:
        """Show ``view`` in place of the bot's message ``message_id`` (its ``ts``) in
        ``channel``; the same errors as :meth:`post_to_channel`."""
        made = message(view)
        with _gone_on_refusal(channel):
            await self._client.chat_update(
                channel=channel.id, ts=message_id, text=made.text, blocks=made.blocks
            )

    async def post_in_thread(self, channel: Channel, message_id: str, view: View) -> str:
        """Post ``view`` as a reply in the thread of the bot's message ``message_id`` (its
        ``ts``) in ``channel``; the reply's ``ts``. The same errors as
        :meth:`post_to_channel`."""
        made = message(view)
        with _gone_on_refusal(channel):
            posted = await self._client.chat_postMessage(
                channel=channel.id, thread_ts=message_id, text=made.text, blocks=made.blocks
            )
        return str(posted["ts"])


@contextmanager
def _gone_on_refusal(channel: Channel) -> Iterator[None]:
    """Turn Slack's answers that the channel is gone for good into :class:`ChannelGone`."""
    try:
        yield
    except SlackApiError as error:
        code = error_code(error)
        if code in GONE_ERRORS:
            raise ChannelGone(f"Slack channel {channel.id}: {code}") from error
        raise


def error_code(error: SlackApiError) -> str | None:
    """The ``error`` of Slack's answer, if it sent one (a proxy's HTML page has none)."""
    try:
        code = error.response.get("error")
    except (AttributeError, TypeError, ValueError):
        return None
    return code if isinstance(code, str) else None
