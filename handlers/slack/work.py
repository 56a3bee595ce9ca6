"""The work behind a Slack request, done by a worker after the web process acknowledged it.

Each job carries the request's payload as Slack sent it (see :mod:`handlers.slack.listeners`
for what is put on the stream). A job parses it into a neutral input, asks the desk and
delivers the views; whatever goes wrong, the seller hears about it (a friendly message, or a
reference to quote) rather than silence, so a job never fails back to the queue for a
Slack reason.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.chat_state import ChatState
from bot.conversation.commands import needs_seller_profile, parse_message, sends
from bot.conversation.desk import Desk
from bot.conversation.views import Command, Problem, Text
from bot.jobs import Job, JobHandler
from cards.slack import SENDING_NOTE, answered, home, message
from handlers.slack import inputs
from handlers.slack.people import People
from handlers.slack.replies import deliver

logger = logging.getLogger(__name__)

COMMAND = "slack.command"
CARD_ACTION = "slack.action"
DM_MESSAGE = "slack.message"
HOME_OPENED = "slack.home"


@dataclass(frozen=True, slots=True)
class SlackWork:
    """What the jobs need: the desk, the chat memory and a Web API client."""

    desk: Desk
    chat: ChatState
    client: AsyncWebClient
    people: People = field(default_factory=People)

    def handlers(self) -> dict[str, JobHandler]:
        """The job kinds this module does, for :func:`bot.jobs.dispatch`."""
        bodies: dict[str, Callable[[Job], Awaitable[None]]] = {
            COMMAND: self._command,
            CARD_ACTION: self._card_action,
            DM_MESSAGE: self._dm_message,
            HOME_OPENED: self._home_opened,
        }
        return {kind: self._reporting(body) for kind, body in bodies.items()}

    def _reporting(self, body: Callable[[Job], Awaitable[None]]) -> JobHandler:
        async def run(job: Job) -> None:
            try:
                await body(job)
            except Exception as error:  # noqa: BLE001 - the seller is told; the log keeps it
                await report_failure(self.client, job.payload, error)

        return run

    async def _command(self, job: Job) -> None:
        """``/referral ...`` typed anywhere: the reply comes as cards in the DM."""
        body = job.payload
        base = inputs.conversation(body["team_id"], body["user_id"], name=body.get("user_name"))
        delivery = f"command-{body.get('trigger_id', '')}"
        if not await self.chat.first_time(base.key, delivery, attempt=job.id):
            return
        text = f"/referral {body.get('text', '')}"
        conversation = base
        if needs_seller_profile(parse_message(text)):
            profile = await self.people.profile(self.client, body["user_id"])
            conversation = inputs.with_profile(base, profile)
        views = await self.desk.on_message(conversation, text)
        channel = await self.people.dm(self.client, body["user_id"])
        await deliver(self.client, self.chat, conversation.key, channel, views)

    async def _dm_message(self, job: Job) -> None:
        """A message typed in the DM with the bot: usually the answer to the current question."""
        body = job.payload
        event = body["event"]
        conversation = inputs.conversation(body["team_id"], event["user"])
        delivery = f"event-{body['event_id']}"
        if not await self.chat.first_time(conversation.key, delivery, attempt=job.id):
            return
        text = event.get("text", "")
        parsed = parse_message(text)
        if needs_seller_profile(parsed):
            profile = await self.people.profile(self.client, event["user"])
            conversation = inputs.with_profile(conversation, profile)
        views = await self.desk.on_message(conversation, text)
        steering = isinstance(parsed, Text | Command)
        await deliver(
            self.client,
            self.chat,
            conversation.key,
            event["channel"],
            views,
            answer=text if steering else None,
        )

    async def _card_action(self, job: Job) -> None:
        """A button, select or date picker on one of our cards."""
        body = job.payload
        action = body["actions"][0]
        conversation = inputs.conversation(body["team"]["id"], body["user"]["id"])
        delivery = f"action-{action.get('action_ts', '')}-{action.get('action_id', '')}"
        if not await self.chat.first_time(conversation.key, delivery, attempt=job.id):
            return
        parsed = inputs.action_input(action)
        if parsed is None:
            return
        channel = (body.get("channel") or {}).get("id") or await self.people.dm(
            self.client, body["user"]["id"]
        )
        if isinstance(parsed, inputs.Typed):
            views = await self.desk.on_message(conversation, parsed.text)
            await deliver(self.client, self.chat, conversation.key, channel, views)
            return
        if sends(parsed):
            await self._show_sending(body)
        views = await self.desk.on_input(conversation, parsed)
        await deliver(
            self.client,
            self.chat,
            conversation.key,
            channel,
            views,
            answer=inputs.shown_answer(action),
        )

    async def _show_sending(self, body: Mapping[str, Any]) -> None:
        """Turn the clicked review card into "sending..." while Partner Center is called."""
        container = body.get("container") or {}
        channel, ts = container.get("channel_id"), container.get("message_ts")
        if channel and ts:
            card = answered("", SENDING_NOTE)
            await self.client.chat_update(
                channel=channel, ts=ts, text=card.text, blocks=card.blocks
            )

    async def _home_opened(self, job: Job) -> None:
        """The App Home tab: the draft in progress and the seller's open referrals."""
        body = job.payload
        user = body["event"]["user"]
        base = inputs.conversation(body["team_id"], user)
        profile = await self.people.profile(self.client, user)
        view = await self.desk.home(inputs.with_profile(base, profile))
        await self.client.views_publish(user_id=user, view=home(view))


async def report_failure(
    client: AsyncWebClient, body: Mapping[str, Any], error: BaseException
) -> None:
    """Anything unexpected: logged with its traceback; the seller gets a reference to quote
    rather than silence."""
    reference = uuid.uuid4().hex[:8]
    logger.error("slack work failed, reference %s", reference, exc_info=error)
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
    try:
        response = await client.conversations_open(users=str(user))
        channel = response["channel"]["id"]
        await client.chat_postMessage(channel=channel, text=card.text, blocks=card.blocks)
    except Exception:
        logger.exception("could not tell %s about failure %s", user, reference)
