"""Notifications posted to a Teams channel, as the bot, and rewritten there later.

A new post in the channel: the card sent to the channel's conversation id (no
``;messageid=``, so it starts its own thread) at the Bot Connector of the conversation
reference saved when the bot was added to the team; the Bot Connector answers with the new
activity's id. A thread's root message belongs to the channel's conversation, so it is
rewritten (an approval card once decided) by updating that activity in the channel's
conversation, at the same Bot Connector. The Bot Connector answers 403 when the bot is no
longer in the team (``BotNotInConversationRoster``, or disabled by an admin) and 404 when the
conversation is gone (the channel or the team was deleted): those become
:class:`ChannelGone`, so the subscription ends instead of being retried for ever. Throttling
(429) and passing failures (502, 504) are retried by :class:`TeamsSender`; whatever is left
propagates, to be tried again later.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from bot.conversation import View
from bot.notifications.channels import Channel, ChannelGone
from cards.teams import card
from handlers.teams.sender import Address, TeamsSender

GONE_STATUSES: Final = frozenset({403, 404})


class TeamsChannelPoster:
    """Posts views to Teams channels through the bot's :class:`TeamsSender`."""

    def __init__(self, sender: TeamsSender) -> None:
        self._sender = sender

    async def post_to_channel(self, channel: Channel, view: View) -> str:
        """Post ``view`` as a new message in ``channel``; its activity id. :class:`ChannelGone`
        when the Bot Connector says the bot can no longer post there (or the channel has no
        reference to post with), the SDK's error when a later try may work."""
        address = _address_of(channel)
        with _gone_on_refusal(channel):
            return await self._sender.post(address, card(view))

    async def update_in_channel(self, channel: Channel, message_id: str, view: View) -> None:
        """Show ``view`` in place of the bot's message ``message_id`` (a thread's root) in
        ``channel``; the same errors as :meth:`post_to_channel`."""
        address = _address_of(channel)
        with _gone_on_refusal(channel):
            await self._sender.replace(address, message_id, card(view))

    async def post_in_thread(self, channel: Channel, message_id: str, view: View) -> str:
        """Post ``view`` as a reply in the thread whose root is the bot's message
        ``message_id`` in ``channel`` (its conversation id with ``;messageid=``); the reply's
        activity id. The same errors as :meth:`post_to_channel`."""
        root = _address_of(channel)
        thread = Address(root.service_url, f"{channel.id};messageid={message_id}")
        with _gone_on_refusal(channel):
            return await self._sender.post(thread, card(view))


def _address_of(channel: Channel) -> Address:
    """The channel's conversation at the Bot Connector of its saved reference."""
    service_url = (channel.reference or {}).get("serviceUrl")
    if not isinstance(service_url, str) or not service_url:
        # Without the Bot Connector that serves the team there is nowhere to post, now or
        # later: a channel saved without its reference cannot be reached at all.
        raise ChannelGone(f"Teams channel {channel.id}: no serviceUrl in its reference")
    return Address(service_url, channel.id)


@contextmanager
def _gone_on_refusal(channel: Channel) -> Iterator[None]:
    """Turn the Bot Connector's answers that the bot is out of the channel for good into
    :class:`ChannelGone`."""
    try:
        yield
    except Exception as error:
        status = _status_of(error)
        if status in GONE_STATUSES:
            raise ChannelGone(f"Teams channel {channel.id}: HTTP {status}") from error
        raise


def _status_of(error: BaseException) -> int | None:
    """The HTTP status of the SDK's error, by duck typing (see ``sender._throttled``)."""
    status = getattr(getattr(error, "response", None), "status_code", None)
    return status if isinstance(status, int) else None
