"""Views out: post them as cards in the seller's DM, and turn the last question into a record.

Every reply goes to the DM with the bot, whatever channel the command was typed in, so a
draft reads as one conversation. The card that asked the previous question is rewritten to
show what the seller answered, with no buttons left on it to click again.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.chat_state import CardRef, ChatState
from bot.conversation.views import Prompt, Review, View
from cards.slack import answered, message


async def deliver(
    client: AsyncWebClient,
    chat: ChatState,
    conversation_key: str,
    channel: str,
    views: Sequence[View],
    *,
    answer: str | None = None,
) -> None:
    """Post ``views`` to ``channel``; first record ``answer`` on the last question card."""
    if not views:
        return
    # Only an answer turns the last question into a record: show, list and help leave it.
    last = await chat.last_card(conversation_key) if answer is not None else None
    if last is not None and answer is not None:
        record = answered(last.question or "", answer)
        await client.chat_update(
            channel=last.channel, ts=last.message_id, text=record.text, blocks=record.blocks
        )
    asked: CardRef | None = None
    for view in views:
        card = message(view)
        posted = await client.chat_postMessage(channel=channel, text=card.text, blocks=card.blocks)
        if isinstance(view, Prompt | Review):
            question = view.question if isinstance(view, Prompt) else view.title
            step = view.step if isinstance(view, Prompt) else None
            asked = CardRef(str(posted["channel"]), str(posted["ts"]), step, question)
    if asked is not None:
        await chat.remember_card(conversation_key, asked)
    elif last is not None and answer is not None:
        await chat.forget_card(conversation_key)
