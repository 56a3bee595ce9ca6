"""Listener bodies of the ``web`` process: acknowledge, hand the work to the workers, done.

Slack waits three seconds at most and retries what it thinks went unanswered, so the ack
comes first and nothing slow follows it here: the payload goes on the job stream
(:mod:`bot.jobs`) and a worker does the rest (:mod:`handlers.slack.work`). Type-ahead is the
exception: its answer *is* the response, and it is computed from the catalogs, with no I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.suggest import suggestions
from bot.jobs import JobQueue
from cards.ids import STEP_BLOCK_PREFIX
from cards.slack import external_options
from handlers.slack.work import CARD_ACTION, COMMAND, DM_MESSAGE, HOME_OPENED, report_failure

logger = logging.getLogger(__name__)

UNSHARED = ("token",)
"""Payload fields left out of jobs: the legacy verification token is a credential."""


@dataclass(frozen=True, slots=True)
class SlackServices:
    """What the listeners need, put in Bolt's context by a middleware."""

    jobs: JobQueue


def services(context: Mapping[str, Any]) -> SlackServices:
    """The services the middleware put in the context."""
    found = context["services"]
    assert isinstance(found, SlackServices)
    return found


async def hand_over(context: Mapping[str, Any], kind: str, body: Mapping[str, Any]) -> None:
    """Put the request on the job stream for a worker."""
    payload = {key: value for key, value in body.items() if key not in UNSHARED}
    await services(context).jobs.put(kind, payload)


async def on_referral_command(ack: AsyncAck, body: dict[str, Any], context: dict[str, Any]) -> None:
    """``/referral ...`` typed anywhere: the reply comes as cards in the DM."""
    await ack()
    await hand_over(context, COMMAND, body)


async def on_card_action(ack: AsyncAck, body: dict[str, Any], context: dict[str, Any]) -> None:
    """A button, select or date picker on one of our cards."""
    await ack()
    await hand_over(context, CARD_ACTION, body)


async def on_dm_message(
    body: dict[str, Any], event: dict[str, Any], context: dict[str, Any]
) -> None:
    """A message typed in the DM with the bot (Bolt acknowledges events itself)."""
    if event.get("bot_id") or event.get("subtype") or event.get("channel_type") != "im":
        return
    await hand_over(context, DM_MESSAGE, body)


async def on_home_opened(
    body: dict[str, Any], event: dict[str, Any], context: dict[str, Any]
) -> None:
    """The App Home tab was opened: a worker publishes the seller's home."""
    if event.get("tab") != "home":
        return
    await hand_over(context, HOME_OPENED, body)


async def on_search(ack: AsyncAck, body: dict[str, Any]) -> None:
    """Type-ahead in a searchable select: answered straight from the catalogs, no I/O."""
    step = (body.get("block_id") or "").removeprefix(STEP_BLOCK_PREFIX)
    await ack(options=external_options(suggestions(step, body.get("value", "")))["options"])


async def on_error(error: Exception, body: dict[str, Any], client: AsyncWebClient) -> None:
    """A listener failed (the job stream unreachable, say): the seller gets a reference."""
    await report_failure(client, body, error)
