"""Teams activities in, plain data out: who is talking, where, and what they said or clicked.

A *turn* is what the web process hands to a worker (and what an invoke works on at once):
a small JSON object, so that the job stream never holds SDK objects::

    {"activity_id": ..., "tenant": ..., "user": {"id", "aad", "name"},
     "reference": {...conversation reference, as the SDK dumps it...},
     "text": "referral new" | None, "data": {...card action data...} | None,
     "card_id": id of the card the action was on | None}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.conversation.engine import Conversation
from bot.conversation.session import Seller
from handlers.teams.sender import Address, Member

PLATFORM = "teams"
MENTION = re.compile(r"<at>.*?</at>", re.IGNORECASE | re.DOTALL)


def turn(
    activity: Any,
    reference: Mapping[str, Any],
    *,
    text: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The turn of an SDK activity (message or invoke)."""
    sender = activity.from_
    conversation = activity.conversation
    return {
        "activity_id": activity.id,
        "tenant": conversation.tenant_id or "",
        "user": {"id": sender.id, "aad": sender.aad_object_id, "name": sender.name},
        "reference": dict(reference),
        "text": text,
        "data": dict(data) if data is not None else None,
        "card_id": getattr(activity, "reply_to_id", None),
    }


def spoken_text(text: str | None) -> str:
    """A message's words without the @mention of the bot (channels require one)."""
    return " ".join(MENTION.sub(" ", text or "").split())


def conversation_key(tenant: str, user: Mapping[str, Any]) -> str:
    """One conversation per person and tenant: ``teams:<tenant>:<Entra object id>``."""
    return f"{PLATFORM}:{tenant}:{user.get('aad') or user['id']}"


def conversation(turn: Mapping[str, Any]) -> Conversation:
    """The seller's conversation, before their email is known."""
    user = turn["user"]
    return Conversation(
        key=conversation_key(turn["tenant"], user),
        seller=Seller(user_id=user.get("aad") or user["id"], display_name=user.get("name")),
    )


def with_member(base: Conversation, member: Member) -> Conversation:
    """The conversation with the seller's names and email from the Bot Connector."""
    return Conversation(
        key=base.key,
        seller=Seller(
            user_id=base.seller.user_id,
            display_name=member.name or base.seller.display_name,
            first_name=member.given_name,
            last_name=member.surname,
            email=member.email,
        ),
    )


def address(turn: Mapping[str, Any]) -> Address:
    """Where the turn's conversation is."""
    return Address.of(turn["reference"])
