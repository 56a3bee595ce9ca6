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
from bot.conversation.commands import needs_seller_profile, parse_message, sends
from bot.conversation.desk import Desk
from bot.conversation.engine import Conversation
from bot.conversation.views import Command, Problem, Text
from bot.jobs import Job, JobHandler
from bot.references import ReferenceBook
from cards.teams import SENDING_NOTE, TypedText, answered, card, clicked, read_action
from handlers.teams import turns
from handlers.teams.replies import deliver
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
        if turn.get("data") is not None:
            await self._action(turn, conversation)
            return
        text = turn.get("text") or ""
        parsed = parse_message(text)
        if needs_seller_profile(parsed):
            member = await self.sender.member(address, turn["user"]["id"])
            conversation = turns.with_member(conversation, member)
        views = await self.desk.on_message(conversation, text)
        steering = isinstance(parsed, Text | Command)
        await deliver(
            self.sender,
            self.chat,
            conversation.key,
            address,
            views,
            answer=text if steering else None,
        )

    async def _action(self, turn: Mapping[str, Any], conversation: Conversation) -> None:
        """A card action: from an invoke (its card already shows the answer), or from a
        client without Universal Actions (its ``Action.Submit`` came as a message and the
        card is still live: it is rewritten here as the invoke would have had it)."""
        data = turn["data"]
        parsed = read_action(data)
        if parsed is None:
            return
        address = turns.address(turn)
        card_id = turn.get("card_id")
        sending = sends(parsed)
        if not card_id and not turn.get("invoked"):
            # Teams names the card a Submit came from; should it not, it is the last one.
            last = await self.chat.last_card(conversation.key)
            card_id = last.message_id if last is not None else None
        if card_id and not turn.get("invoked"):
            record = answered("", SENDING_NOTE) if sending else clicked(data, parsed)
            await self.sender.replace(address, card_id, record)
        # The clicked card asks nothing any more; the views below may post one that does.
        await self.chat.forget_card(conversation.key)
        if isinstance(parsed, TypedText):
            views = await self.desk.on_message(conversation, parsed.text, step=parsed.step)
        else:
            views = await self.desk.on_input(conversation, parsed)
        await deliver(
            self.sender,
            self.chat,
            conversation.key,
            address,
            views,
            # Submit's card turns into the result; other answers are followed by new cards.
            replacing=card_id if sending else None,
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
