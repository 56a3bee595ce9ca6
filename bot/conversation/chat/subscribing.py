"""The chat's side of channel notifications: ``/referral subscribe``, ``unsubscribe`` and
``subscriptions``, typed in the channel that is to hear about changes.

Subscribing posts a first message to the channel: if the bot cannot post there (a private
channel it was not invited to), the person is told how to invite it, and nothing is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.conversation.chat.commands import SubscribeCommand
from bot.conversation.views import Notice, Problem, Seller, View
from bot.notifications.channels import Channel, ChannelGone
from bot.notifications.subscriptions import DEFAULT_EVENTS, Filters, Subscription, Subscriptions

logger = logging.getLogger(__name__)

NOT_A_CHANNEL = Problem(
    message="Subscriptions are for channels: type this in the channel that should hear about "
    "referral changes.",
    hint="In Slack, any channel (invite me first if it is private); in Teams, a channel of a "
    "team I was added to.",
)
NEEDS_EMAIL = Problem(
    message="mine needs the email of your chat profile, and I can't see one.",
    hint="Subscribe without mine, or ask your admin to show emails to apps.",
)

PostToChannel = Callable[[Channel, View], Awaitable[object]]


async def answer_subscription(
    subscriptions: Subscriptions,
    command: SubscribeCommand,
    *,
    channel: Channel | None,
    seller: Seller,
    by: str,
    post: PostToChannel,
    now: datetime,
) -> list[View]:
    """Subscribe, unsubscribe or list, for ``channel`` (None: not typed in a channel)."""
    if channel is None:
        return [NOT_A_CHANNEL]
    if command.action == "unsubscribe":
        if await subscriptions.unsubscribe(channel.key):
            logger.info("%s unsubscribed %s", by, channel.key)
            return [Notice(message="This channel no longer hears about referral changes.")]
        return [Notice(message="This channel was not subscribed.")]
    if command.action == "subscriptions":
        return [await _listing(subscriptions, channel)]
    if command.mine and not seller.email:
        return [NEEDS_EMAIL]
    filters = Filters(
        events=tuple(command.events) or DEFAULT_EVENTS,
        min_value=command.min_value,
        mine=seller.email.lower() if command.mine and seller.email else None,
    )
    who = seller.display_name or seller.email or seller.user_id
    try:
        await post(
            channel,
            Notice(
                message=f"This channel now hears about referrals: {filters.describe()}.",
                detail=f"Subscribed by {who}. /referral unsubscribe stops it.",
            ),
        )
    except ChannelGone as gone:
        logger.info("cannot subscribe %s: %s", channel.key, gone)
        return [
            Problem(
                message="I can't post in this channel, so I did not subscribe it.",
                hint="Invite me to the channel first (in Slack: /invite @referral-bot), then "
                "subscribe again.",
            )
        ]
    await subscriptions.subscribe(Subscription(channel=channel, filters=filters, by=by, since=now))
    logger.info("%s subscribed %s: %s", by, channel.key, filters.describe())
    return []  # the channel's own message says it


async def _listing(subscriptions: Subscriptions, channel: Channel) -> View:
    here = await subscriptions.get(channel.key)
    others = await subscriptions.of_workspace(channel.platform, channel.workspace)
    lines = [
        f"#{each.channel.name or each.channel.id}: {each.filters.describe()}"
        for each in others
        if each.channel.key != channel.key
    ]
    message = (
        f"This channel hears about: {here.filters.describe()}."
        if here is not None
        else "This channel is not subscribed."
    )
    detail = ("Other channels here: " + "; ".join(lines)) if lines else None
    return Notice(message=message, detail=detail)
