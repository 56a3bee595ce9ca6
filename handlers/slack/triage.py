"""Listener bodies of the ``web`` process for incoming referrals' cards that do not queue at
once: Decline opens a modal asking why (its ``trigger_id`` is good for three seconds), and
the modal's submission is the turn. A blank reason, or Redis refusing the turn, is said
inside the modal, on its input, and the modal stays open. Accept and Assign queue on the
click, as any card's control (:func:`handlers.slack.listeners.on_card_action`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation import Problem, not_queued
from cards.ids import REASON_INPUT
from cards.slack import decline_modal, message
from handlers.slack import inputs
from handlers.slack.listeners import MODAL_SECONDS, queue

logger = logging.getLogger(__name__)

REASON_NEEDED = "Say why: the sender sees the reason."
FORM_NOT_OPENED = Problem(
    message="I couldn't open the form asking why; nothing changed.",
    hint="Click Decline again.",
)


async def on_decline_click(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond | None
) -> None:
    """Decline on an incoming referral's card: the modal asking why opens; nothing queued."""
    await ack()
    referral = inputs.declined_referral(body)
    if referral is None:
        return
    try:
        async with asyncio.timeout(MODAL_SECONDS):
            await client.views_open(
                trigger_id=body["trigger_id"], view=decline_modal(referral, inputs.heading_of(body))
            )
    except (SlackApiError, TimeoutError) as error:
        logger.warning("could not open the decline form of referral %s: %r", referral, error)
        if isinstance(respond, AsyncRespond):
            problem = message(FORM_NOT_OPENED)
            await respond(
                text=problem.text,
                blocks=problem.blocks,
                response_type="ephemeral",
                replace_original=False,
            )


async def on_decline_reason(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: dict[str, Any]
) -> None:
    """The decline modal submitted: the decline, with its reason, is queued."""
    reason = inputs.reason_of(view)
    if not reason:
        await ack(response_action="errors", errors={REASON_INPUT: REASON_NEEDED})
        return
    turn = inputs.decline_turn(body, reason)
    if turn is None:
        logger.warning("a decline form naming no referral was submitted; nothing queued")
        await ack()
    elif await queue(context, turn):
        await ack()
    else:
        refused = not_queued()
        await ack(
            response_action="errors", errors={REASON_INPUT: f"{refused.message} {refused.hint}"}
        )
