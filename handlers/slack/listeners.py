"""Listener bodies of the ``web`` process: parse, queue, then acknowledge.

Slack waits three seconds at most and retries what it thinks went unanswered, so nothing slow
happens here: each request is parsed into a :class:`~bot.conversation.Turn` and put on
the job stream (ordered by conversation) *before* Slack hears "received", and a worker does
the rest (:mod:`handlers.slack.replier`). When Redis refuses the turn, the seller is told at
once through the request's own channel (the slash command's answer, the click's
``response_url``, a message in the DM) and nothing else happens. Type-ahead is the
exception: its answer *is* the response, computed from the catalogs with no I/O.

Reject on an approval card queues nothing: it opens a modal asking why (its ``trigger_id``
is good for three seconds), and the modal's submission is the turn. A blank reason, or Redis
refusing the turn, is said inside the modal, on its input, and the modal stays open.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation import TURN, Problem, Turn, not_queued, suggestions
from bot.jobs import JobQueue, QueueRefused
from cards.ids import REASON_INPUT, STEP_BLOCK_PREFIX
from cards.slack import external_options, message, reject_modal
from handlers.approvals import REASON_NEEDED
from handlers.slack import inputs

logger = logging.getLogger(__name__)

MODAL_SECONDS = 2.0
"""How long opening the reject modal may take: Slack waits three seconds for the click's
acknowledgement, which goes out when the listener returns, and the ``trigger_id`` expires
then too, so a slow ``views.open`` (or one held back by a rate limit) is given up on."""
FORM_NOT_OPENED = Problem(
    message="I couldn't open the form asking why; nothing changed.",
    hint="Click Reject again.",
)


@dataclass(frozen=True, slots=True)
class SlackServices:
    """What the listeners need, put in Bolt's context by a middleware."""

    jobs: JobQueue


def services(context: Mapping[str, Any]) -> SlackServices:
    """The services the middleware put in the context."""
    found = context["services"]
    assert isinstance(found, SlackServices)
    return found


async def queue(context: Mapping[str, Any], turn: Turn) -> bool:
    """Put ``turn`` on the job stream; False (logged) when Redis refuses it."""
    try:
        await services(context).jobs.put(
            TURN, turn.model_dump(mode="json"), order_key=turn.conversation
        )
    except QueueRefused as error:
        logger.warning("could not queue %s for %s: %s", turn.delivery, turn.conversation, error)
        return False
    return True


async def on_referral_command(ack: AsyncAck, body: dict[str, Any], context: dict[str, Any]) -> None:
    """``/referral ...`` typed anywhere: the reply comes as cards in the DM."""
    if await queue(context, inputs.command_turn(body)):
        await ack()
    else:
        await ack(text=not_queued().message)


async def on_card_action(
    ack: AsyncAck, respond: AsyncRespond, body: dict[str, Any], context: dict[str, Any]
) -> None:
    """A button, select or date picker on one of our cards."""
    turn = inputs.action_turn(body)
    queued = turn is None or await queue(context, turn)
    await ack()
    if not queued:
        problem = message(not_queued())
        await respond(
            text=problem.text,
            blocks=problem.blocks,
            response_type="ephemeral",
            replace_original=False,
        )


async def on_reject_click(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond | None
) -> None:
    """Reject on an approval card: the modal asking why opens; nothing is queued yet."""
    await ack()
    approval = inputs.rejected_approval(body)
    if approval is None:
        return
    try:
        async with asyncio.timeout(MODAL_SECONDS):
            await client.views_open(
                trigger_id=body["trigger_id"],
                view=reject_modal(approval, inputs.heading_of(body)),
            )
    except (SlackApiError, TimeoutError) as error:
        logger.warning("could not open the reject form of approval %s: %r", approval, error)
        if isinstance(respond, AsyncRespond):
            problem = message(FORM_NOT_OPENED)
            await respond(
                text=problem.text,
                blocks=problem.blocks,
                response_type="ephemeral",
                replace_original=False,
            )


async def on_reject_reason(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: dict[str, Any]
) -> None:
    """The reject modal submitted: the rejection, with its reason, is queued."""
    reason = inputs.reason_of(view)
    if not reason:
        await ack(response_action="errors", errors={REASON_INPUT: REASON_NEEDED})
        return
    turn = inputs.reject_turn(body, reason)
    if turn is None:
        logger.warning("a reject form naming no approval was submitted; nothing queued")
        await ack()
    elif await queue(context, turn):
        await ack()
    else:
        refused = not_queued()
        await ack(
            response_action="errors", errors={REASON_INPUT: f"{refused.message} {refused.hint}"}
        )


async def on_dm_message(
    body: dict[str, Any], event: dict[str, Any], context: dict[str, Any], client: AsyncWebClient
) -> None:
    """A message typed in the DM with the bot."""
    if event.get("bot_id") or event.get("subtype") or event.get("channel_type") != "im":
        return
    if not await queue(context, inputs.message_turn(body)):
        problem = message(not_queued())
        await client.chat_postMessage(
            channel=event["channel"], text=problem.text, blocks=problem.blocks
        )


async def on_home_opened(
    body: dict[str, Any], event: dict[str, Any], context: dict[str, Any]
) -> None:
    """The App Home tab was opened: a worker publishes the seller's home."""
    if event.get("tab") == "home":
        await queue(context, inputs.home_turn(body))


async def on_search(ack: AsyncAck, body: dict[str, Any]) -> None:
    """Type-ahead in a searchable select: answered straight from the catalogs, no I/O."""
    step = (body.get("block_id") or "").removeprefix(STEP_BLOCK_PREFIX)
    await ack(options=external_options(suggestions(step, body.get("value", "")))["options"])


async def on_error(error: Exception, body: dict[str, Any]) -> None:
    """A listener failed: logged with the traceback (the request is answered with an error)."""
    logger.error("slack request failed", exc_info=error)
