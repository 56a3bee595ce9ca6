"""Handlers of the ``web`` process: answer Teams at once, hand the rest to the workers.

* A message is put on the job stream as a turn and answered with an empty 200; a worker
  replies (Teams re-sends a message left unanswered for 15 seconds).
* A card action (``Action.Execute``) must be answered with the card that replaces the
  clicked one: the question and the answer given, with no buttons left to click twice (the
  words travel in the click's data, so nothing is looked up). A worker then does the step and
  posts what follows, as in Slack. Submit and Reapply call Partner Center, which may take
  seconds: their card says "sending…" until the worker turns it into the result.
* Installs and channel additions keep the conversation reference, for proactive messages.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from microsoft_teams.api import InvokeResponse
from microsoft_teams.api.activities.conversation.conversation_update import (
    ConversationUpdateActivity,
)
from microsoft_teams.api.activities.install_update.add import InstalledActivity
from microsoft_teams.api.activities.install_update.remove import UninstalledActivity
from microsoft_teams.api.activities.invoke.adaptive_card import AdaptiveCardInvokeActivity
from microsoft_teams.api.activities.message.message import MessageActivity
from microsoft_teams.apps import ActivityContext

from bot.conversation.commands import sends
from bot.conversation.views import Notice, Problem
from bot.jobs import JobQueue
from bot.references import ReferenceBook
from cards.teams import (
    CONTENT_TYPE,
    SENDING_NOTE,
    TeamsCard,
    answered,
    card,
    clicked,
    read_action,
)
from handlers.teams import turns
from handlers.teams.work import TURN

logger = logging.getLogger(__name__)

STALE = Notice(
    message="This card is no longer in use.",
    detail="Say “referral resume” to carry on with your draft, or “referral help”.",
)


@dataclass(frozen=True, slots=True)
class TeamsServices:
    """What the handlers need."""

    jobs: JobQueue
    references: ReferenceBook


def reference_of(ctx: ActivityContext[Any]) -> dict[str, Any]:
    """The conversation reference of the activity, as plain JSON."""
    dumped: dict[str, Any] = ctx.conversation_ref.model_dump(by_alias=True, exclude_none=True)
    return dumped


class TeamsListeners:
    """The handler bodies, bound to the services."""

    def __init__(self, services: TeamsServices) -> None:
        self._services = services

    async def on_message(self, ctx: ActivityContext[MessageActivity]) -> None:
        """Typed text, or an ``Action.Submit`` fallback from a client without Execute."""
        activity = ctx.activity
        value = activity.value if isinstance(activity.value, Mapping) else None
        turn = turns.turn(
            activity,
            reference_of(ctx),
            text=None if value else turns.spoken_text(activity.text),
            data=value,
        )
        if not value and not turn["text"]:
            return  # a reaction, an attachment alone: nothing to answer
        await self._services.jobs.put(TURN, turn)

    async def on_card_action(
        self, ctx: ActivityContext[AdaptiveCardInvokeActivity]
    ) -> InvokeResponse[Any]:
        """A click on a card: always answered with a card (an empty answer makes Teams show
        an error and send the invoke again)."""
        try:
            made = await self._card_action(ctx)
        except Exception as error:
            reference = uuid.uuid4().hex[:8]
            logger.error("teams card action failed, reference %s", reference, exc_info=error)
            made = card(
                Problem(
                    message="Something went wrong on my side; nothing changed.",
                    hint="Try again in a moment.",
                    reference=reference,
                )
            )
        return InvokeResponse(
            status=200, body={"statusCode": 200, "type": CONTENT_TYPE, "value": made.content}
        )

    async def _card_action(self, ctx: ActivityContext[AdaptiveCardInvokeActivity]) -> TeamsCard:
        activity = ctx.activity
        action = activity.value.action
        data = {"verb": action.verb, **(action.data or {})}
        parsed = read_action(data)
        if parsed is None:
            return card(STALE)
        turn = turns.turn(activity, reference_of(ctx), data=data)
        await self._services.jobs.put(TURN, {**turn, "invoked": True})
        if sends(parsed):
            return answered("", SENDING_NOTE)
        return clicked(data, parsed)

    async def on_install(self, ctx: ActivityContext[InstalledActivity]) -> None:
        """The app was installed for a person or in a team: keep the reference, say hello."""
        reference = reference_of(ctx)
        conversation = ctx.activity.conversation
        personal = (conversation.conversation_type or "personal") == "personal"
        await self._services.references.save(
            turns.PLATFORM, conversation.id, reference, channel=not personal
        )
        if personal:
            turn = turns.turn(ctx.activity, reference, text="referral help")
            await self._services.jobs.put(TURN, turn)

    async def on_uninstall(self, ctx: ActivityContext[UninstalledActivity]) -> None:
        """The app was removed: the reference is of no use any more."""
        await self._services.references.forget(turns.PLATFORM, ctx.activity.conversation.id)

    async def on_conversation_update(
        self, ctx: ActivityContext[ConversationUpdateActivity]
    ) -> None:
        """The bot was added to (or removed from) a team: keep (or drop) the channel."""
        activity = ctx.activity
        bot_id = activity.recipient.id
        conversation_id = activity.conversation.id
        if any(member.id == bot_id for member in activity.members_added or ()):
            await self._services.references.save(
                turns.PLATFORM, conversation_id, reference_of(ctx), channel=True
            )
        elif any(member.id == bot_id for member in activity.members_removed or ()):
            await self._services.references.forget(turns.PLATFORM, conversation_id)
