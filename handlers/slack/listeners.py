"""Listener bodies. Each acknowledges first (Slack waits three seconds at most), then parses
the payload into a neutral input, asks the desk, and delivers the views."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.chat_state import ChatState
from bot.conversation.commands import ListReferrals, parse_message
from bot.conversation.desk import Desk
from bot.conversation.suggest import suggestions
from bot.conversation.views import Command, CommandName, Problem, Text
from cards.ids import STEP_BLOCK_PREFIX
from cards.slack import SENDING_NOTE, answered, external_options, home, message
from handlers.slack import inputs
from handlers.slack.people import People
from handlers.slack.replies import deliver

logger = logging.getLogger(__name__)

SENDING = frozenset({CommandName.SUBMIT, CommandName.REAPPLY})
WORK_AT_ONCE = 32
"""Default for listeners working after their ack at once, per process (``SLACK_MAX_WORK``)."""


@dataclass(frozen=True, slots=True)
class SlackServices:
    """What the listeners need, put in Bolt's context by a middleware.

    ``work`` bounds the listeners working after their ack: under a burst, acks stay fast and
    the replies queue, instead of every request's work competing for the loop at once.
    """

    desk: Desk
    chat: ChatState
    people: People = field(default_factory=People)
    work: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(WORK_AT_ONCE))

    async def drain(self, within: float) -> None:
        """Wait (at most ``within`` seconds) for work acknowledged but not finished."""
        deadline = asyncio.get_running_loop().time() + within
        while self.work.locked() or getattr(self.work, "_waiters", None):
            if asyncio.get_running_loop().time() > deadline:
                logger.warning("stopping with Slack work still queued")
                return
            await asyncio.sleep(0.05)


def services(context: Mapping[str, Any]) -> SlackServices:
    """The services the middleware put in the context."""
    found = context["services"]
    assert isinstance(found, SlackServices)
    return found


async def on_referral_command(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    """``/referral ...`` typed anywhere: the reply comes as cards in the DM."""
    await ack()
    found = services(context)
    async with found.work:
        base = inputs.conversation(body["team_id"], body["user_id"], name=body.get("user_name"))
        if not await found.chat.first_time(base.key, f"command-{body.get('trigger_id', '')}"):
            return
        text = f"/referral {body.get('text', '')}"
        conversation = base
        if _needs_profile(parse_message(text)):
            profile = await found.people.profile(client, body["user_id"])
            conversation = inputs.with_profile(base, profile)
        views = await found.desk.on_message(conversation, text)
        channel = await found.people.dm(client, body["user_id"])
        await deliver(client, found.chat, conversation.key, channel, views)


def _needs_profile(parsed: object) -> bool:
    # The seller's name and email matter when a draft starts (they join its team) and for
    # "mine"; help, show and the other lists do without a users.info call.
    starts = isinstance(parsed, Command) and parsed.name is CommandName.START
    return starts or (isinstance(parsed, ListReferrals) and parsed.scope == "mine")


async def on_dm_message(
    body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    """A message typed in the DM with the bot: usually the answer to the current question."""
    if event.get("bot_id") or event.get("subtype") or event.get("channel_type") != "im":
        return
    found = services(context)
    async with found.work:
        conversation = inputs.conversation(body["team_id"], event["user"])
        if not await found.chat.first_time(conversation.key, f"event-{body['event_id']}"):
            return
        text = event.get("text", "")
        parsed = parse_message(text)
        if _needs_profile(parsed):
            profile = await found.people.profile(client, event["user"])
            conversation = inputs.with_profile(conversation, profile)
        views = await found.desk.on_message(conversation, text)
        steering = isinstance(parsed, Text | Command)
        await deliver(
            client,
            found.chat,
            conversation.key,
            event["channel"],
            views,
            answer=text if steering else None,
        )


async def on_card_action(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    """A button, select or date picker on one of our cards."""
    await ack()
    found = services(context)
    async with found.work:
        await _card_action(found, body, client)


async def _card_action(found: SlackServices, body: dict[str, Any], client: AsyncWebClient) -> None:
    action = body["actions"][0]
    conversation = inputs.conversation(body["team"]["id"], body["user"]["id"])
    delivery = f"action-{action.get('action_ts', '')}-{action.get('action_id', '')}"
    if not await found.chat.first_time(conversation.key, delivery):
        return
    parsed = inputs.action_input(action)
    if parsed is None:
        return
    channel = body.get("channel", {}).get("id") or await found.people.dm(client, body["user"]["id"])
    if isinstance(parsed, inputs.Typed):
        views = await found.desk.on_message(conversation, parsed.text)
        await deliver(client, found.chat, conversation.key, channel, views)
        return
    if isinstance(parsed, Command) and parsed.name in SENDING:
        await show_sending(client, body)
    views = await found.desk.on_input(conversation, parsed)
    await deliver(
        client, found.chat, conversation.key, channel, views, answer=inputs.shown_answer(action)
    )


async def show_sending(client: AsyncWebClient, body: Mapping[str, Any]) -> None:
    """Turn the clicked review card into "sending..." while Partner Center is called."""
    container = body.get("container") or {}
    channel, ts = container.get("channel_id"), container.get("message_ts")
    if channel and ts:
        card = answered("", SENDING_NOTE)
        await client.chat_update(channel=channel, ts=ts, text=card.text, blocks=card.blocks)


async def on_search(ack: AsyncAck, body: dict[str, Any]) -> None:
    """Type-ahead in a searchable select: answered straight from the catalogs, no I/O."""
    step = (body.get("block_id") or "").removeprefix(STEP_BLOCK_PREFIX)
    await ack(options=external_options(suggestions(step, body.get("value", "")))["options"])


async def on_home_opened(
    event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    """The App Home tab: the draft in progress and the seller's open referrals."""
    if event.get("tab") != "home":
        return
    found = services(context)
    async with found.work:
        base = inputs.conversation(body["team_id"], event["user"])
        profile = await found.people.profile(client, event["user"])
        view = await found.desk.home(inputs.with_profile(base, profile))
        await client.views_publish(user_id=event["user"], view=home(view))


async def on_error(error: Exception, body: dict[str, Any], client: AsyncWebClient) -> None:
    """Anything a listener did not expect: logged with its traceback; the seller gets a
    reference to quote rather than silence."""
    reference = uuid.uuid4().hex[:8]
    logger.error("slack listener failed, reference %s", reference, exc_info=error)
    user = (
        (body.get("user") or {}).get("id")
        or body.get("user_id")
        or (body.get("event") or {}).get("user")
    )
    if not user:
        return
    card = message(
        Problem(
            message="Something went wrong on my side; nothing was sent to Partner Center.",
            hint="Try again in a moment.",
            reference=reference,
        )
    )
    response = await client.conversations_open(users=str(user))
    channel = response["channel"]["id"]
    await client.chat_postMessage(channel=channel, text=card.text, blocks=card.blocks)
