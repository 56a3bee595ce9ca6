"""Views out to a Teams conversation: cards posted, the last question remembered, and the
card that asked it rewritten as a record once the seller answers it by typing.

The same rules as in Slack (:mod:`handlers.slack.replies`), so a draft reads the same on both.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from bot.conversation.chat_state import CardRef, ChatState
from bot.conversation.views import Prompt, Review, View
from cards.teams import answered, card
from handlers.teams.sender import Address, TeamsSender

logger = logging.getLogger(__name__)


def asks(view: View) -> tuple[str | None, str] | None:
    """The step and question of a view that waits for an answer (a question or a review)."""
    if isinstance(view, Prompt):
        return view.step, view.question
    if isinstance(view, Review):
        return None, view.title
    return None


async def deliver(
    sender: TeamsSender,
    chat: ChatState,
    conversation_key: str,
    address: Address,
    views: Sequence[View],
    *,
    answer: str | None = None,
    replacing: str | None = None,
) -> None:
    """Post ``views``; first record ``answer`` on the last question card.

    ``replacing`` is a card to turn into the first view instead of posting it (the card whose
    Submit was clicked becomes the result).
    """
    last = await chat.last_card(conversation_key) if answer is not None else None
    if last is not None and answer is not None:
        record = answered(last.question or "", answer)
        try:
            await sender.replace(address, last.message_id, record)
        except Exception as error:  # noqa: BLE001 - the record is a nicety; the reply is not
            # The seller may have deleted the card, or Teams lost it: answer all the same.
            logger.warning("could not turn card %s into a record: %s", last.message_id, error)
    asked: CardRef | None = None
    for index, view in enumerate(views):
        # Today in UTC, the engine's clock: the date picker refuses what the step refuses.
        made = card(view, today=datetime.now(UTC).date())
        if index == 0 and replacing is not None:
            await sender.replace(address, replacing, made)
            message_id = replacing
        else:
            message_id = await sender.post(address, made)
        waiting = asks(view)
        if waiting is not None:
            asked = CardRef(address.conversation_id, message_id, *waiting)
    if asked is not None:
        await chat.remember_card(conversation_key, asked)
    elif answer is not None or replacing is not None:
        await chat.forget_card(conversation_key)
