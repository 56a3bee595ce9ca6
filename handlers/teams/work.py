"""The work behind a Teams turn, done by a worker after the web process answered Teams.

Jobs carry turns (:mod:`handlers.teams.turns`). A message is parsed, answered by the desk and
the views posted as cards; a card action that sends to Partner Center (Submit, Reapply) runs
here, its card turned into the result. Whatever goes wrong, the seller hears about it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.conversation.chat_state import ChatState
from bot.conversation.commands import ListReferrals, parse_message
from bot.conversation.desk import Desk
from bot.conversation.engine import Conversation
from bot.conversation.views import Command, CommandName, Problem, Text
from bot.jobs import Job, JobHandler
from bot.references import ReferenceBook
from cards.teams import TypedText, card, read_action
from handlers.teams import turns
from handlers.teams.replies import deliver, post_rendered
from handlers.teams.sender import TeamsSender

logger = logging.getLogger(__name__)

TURN = "teams.turn"


@dataclass(frozen=True, slots=True)
class TeamsWork:
    """What the jobs need: the desk, the chat memory, the Bot Connector and the references."""

    desk: Desk
    chat: ChatState
    sender: TeamsSender
    references: ReferenceBook

    def handlers(self) -> dict[str, JobHandler]:
        """The job kinds this module does, for :func:`bot.jobs.dispatch`."""
        return {TURN: self._turn}

    async def _turn(self, job: Job) -> None:
        turn = job.payload
        try:
            await self._work(turn, job.id)
        except Exception as error:  # noqa: BLE001 - the seller is told; the log keeps it
            await self.report_failure(turn, error)

    async def _work(self, turn: Mapping[str, Any], attempt: str) -> None:
        conversation = turns.conversation(turn)
        delivery = f"activity-{turn['activity_id']}"
        if not await self.chat.first_time(conversation.key, delivery, attempt=attempt):
            return
        address = turns.address(turn)
        await self.references.save(
            turns.PLATFORM, address.conversation_id, turn["reference"], channel=False
        )
        if turn.get("cards"):
            await post_rendered(self.sender, self.chat, conversation.key, address, turn["cards"])
            return
        if turn.get("data") is not None:
            await self._action(turn, conversation)
            return
        text = turn.get("text") or ""
        parsed = parse_message(text)
        if _needs_profile(parsed):
            member = await self.sender.member(address, turn["user"]["id"])
            conversation = turns.with_member(conversation, member)
        steering = isinstance(parsed, Text | Command)
        question = await self.desk.question(conversation) if steering else None
        views = await self.desk.on_message(conversation, text)
        await deliver(
            self.sender,
            self.chat,
            conversation.key,
            address,
            views,
            answer=text if steering else None,
            question=question,
        )

    async def _action(self, turn: Mapping[str, Any], conversation: Conversation) -> None:
        """A card action: Submit or Reapply from an invoke, or any action from a client
        without Universal Actions (its ``Action.Submit`` fallback came as a message)."""
        parsed = read_action(turn["data"])
        if parsed is None:
            return
        address = turns.address(turn)
        if isinstance(parsed, TypedText):
            views = await self.desk.on_message(conversation, parsed.text, step=parsed.step)
            await deliver(self.sender, self.chat, conversation.key, address, views)
            return
        if isinstance(parsed, Command) and parsed.name is CommandName.START:
            member = await self.sender.member(address, turn["user"]["id"])
            conversation = turns.with_member(conversation, member)
        views = await self.desk.on_input(conversation, parsed)
        # An invoke's card was already answered with "sending..."; it becomes the result.
        # A fallback's card is still live: it is rewritten as a record like a typed answer.
        invoked = turn.get("card_id") if turn.get("invoked") else None
        await deliver(
            self.sender,
            self.chat,
            conversation.key,
            address,
            views,
            answer=None if invoked else str(turn["data"].get("value") or "✓"),
            replacing=invoked,
        )

    async def report_failure(self, turn: Mapping[str, Any], error: BaseException) -> None:
        """Logged with its traceback; the seller gets a reference to quote."""
        reference = uuid.uuid4().hex[:8]
        logger.error("teams work failed, reference %s", reference, exc_info=error)
        problem = card(
            Problem(
                message="Something went wrong on my side; nothing was sent to Partner Center.",
                hint="Try again in a moment.",
                reference=reference,
            )
        )
        try:
            await self.sender.post(turns.address(turn), problem)
        except Exception:  # Teams itself failing: the log has the reference
            logger.exception("could not tell the seller about failure %s", reference)


def _needs_profile(parsed: object) -> bool:
    # Names and email matter when a draft starts (the seller joins its team) and for "mine".
    starts = isinstance(parsed, Command) and parsed.name is CommandName.START
    return starts or (isinstance(parsed, ListReferrals) and parsed.scope == "mine")
