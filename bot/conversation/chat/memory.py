"""The chat fronts' memory of a conversation, beside its draft: which deliveries were already
handled (platforms retry, people double-click), the last question card posted, and the
referrals of the last list shown (so ``/referral show 2`` means its second).

Kept in the conversation's own Redis keys (same hash tag as its session), so a second web
process sees it too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from bot.conversation.runtime.session_store import SessionStore

LAST_CARD = "card"
CARD_SECONDS = 7 * 24 * 3600
LAST_LIST = "list"
LIST_SECONDS = 24 * 3600
"""A number typed a day after the list it points into would more likely mean another."""
SEEN_SECONDS = 3600
"""Slack retries an event for a few minutes and Teams a few times; an hour covers both."""


@dataclass(frozen=True, slots=True)
class CardRef:
    """A card we posted: where it is, and which step it asked (None for other cards)."""

    channel: str
    message_id: str
    step: str | None = None
    question: str | None = None


class ChatMemory:
    """Per-conversation memory of the chat fronts: deliveries seen, the last card and the last
    list."""

    def __init__(self, store: SessionStore) -> None:
        self._store = store

    async def first_time(
        self, conversation_key: str, delivery_id: str, *, attempt: str | None = None
    ) -> bool:
        """True the first time ``delivery_id`` (an event id, an action's timestamp) is seen.

        Platforms retry deliveries and people double-click: only the first may take effect.
        ``attempt`` names the piece of work asking (a job id): the same attempt asking again,
        after its worker died half-way, is let through, so the work is finished, not lost.
        """
        # The store hands a claim back to the token that took it.
        token = attempt or uuid.uuid4().hex
        claim = await self._store.claim(
            conversation_key, f"seen:{delivery_id}", token, SEEN_SECONDS
        )
        return claim.won

    async def last_card(self, conversation_key: str) -> CardRef | None:
        """The last question card posted in this conversation, if any."""
        data = await self._store.get(conversation_key, LAST_CARD)
        return CardRef(**json.loads(data)) if data else None

    async def remember_card(self, conversation_key: str, card: CardRef) -> None:
        """Record the question card just posted (the next answer turns it into a record)."""
        await self._store.put(
            conversation_key,
            LAST_CARD,
            json.dumps(asdict(card)).encode(),
            ttl_seconds=CARD_SECONDS,
        )

    async def forget_card(self, conversation_key: str) -> None:
        """Forget the last card (the draft ended)."""
        await self._store.forget(conversation_key, LAST_CARD)

    async def remember_list(self, conversation_key: str, referral_ids: Sequence[str]) -> None:
        """Record the referrals of the list just shown, in the order shown."""
        await self._store.put(
            conversation_key,
            LAST_LIST,
            json.dumps(list(referral_ids)).encode(),
            ttl_seconds=LIST_SECONDS,
        )

    async def last_list(self, conversation_key: str) -> tuple[str, ...] | None:
        """The referral ids of the last list shown in this conversation, if any (a day at most)."""
        data = await self._store.get(conversation_key, LAST_LIST)
        if not data:
            return None
        ids = json.loads(data)
        return tuple(str(each) for each in ids) if isinstance(ids, list) else None
