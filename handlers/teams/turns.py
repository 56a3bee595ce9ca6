"""Teams activities in, typed turns out: who is talking, where, and what they said or clicked.

The web process parses each activity here, so the job stream carries
:class:`~bot.conversation.Turn` objects (with the conversation reference as the reply
address), never SDK objects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.conversation import CardRef, Decision, Seller, Triage, Turn
from cards.teams import TypedText, clicked_words, read_action
from handlers.teams.sender import Address, Member

PLATFORM = "teams"
MENTION = re.compile(r"<at>.*?</at>", re.IGNORECASE | re.DOTALL)


def spoken_text(text: str | None) -> str:
    """A message's words without the @mention of the bot (channels require one)."""
    return " ".join(MENTION.sub(" ", text or "").split())


def conversation_key(tenant: str, user_id: str) -> str:
    """One conversation per person and tenant: ``teams:<tenant>:<Entra object id>``."""
    return f"{PLATFORM}:{tenant}:{user_id}"


def message_turn(activity: Any, reference: Mapping[str, Any], text: str) -> Turn:
    """Words typed to the bot (a DM, or a channel message that mentions it)."""
    return Turn(text=text, **_common(activity, reference))


def click_turn(
    activity: Any, reference: Mapping[str, Any], data: Mapping[str, Any], *, invoked: bool
) -> Turn | None:
    """A click on one of our cards, or None for data that is not ours.

    ``invoked``: it came as an ``Action.Execute`` invoke, already answered with the card
    showing the answer; else as the message of an ``Action.Submit`` (a client without
    Universal Actions), whose card is still as it was.

    A decision on an approval card (or an incoming referral's) is never answered in place
    (the card is shared; the clicker alone is told the decision was taken), and in a channel
    it names no card: the worker, which stores where the card is, rewrites it for everyone.
    """
    given = read_action(data)
    if given is None:
        return None
    question, shown = clicked_words(data, given)
    common = _common(activity, reference)
    card_id = getattr(activity, "reply_to_id", None)
    if isinstance(given, Decision | Triage):
        invoked = False
        card_id = None if common["shared"] else card_id
    step = given.step if isinstance(given, TypedText) else getattr(given, "step", None)
    card = (
        CardRef(common["address"]["reference"]["conversation"]["id"], card_id, step, question)
        if card_id
        else None
    )
    if isinstance(given, TypedText):
        return Turn(
            kind="click",
            text=given.text,
            step=given.step,
            shown=shown,
            card=card,
            answered_in_place=invoked,
            **common,
        )
    return Turn(
        kind="click", action=given, shown=shown, card=card, answered_in_place=invoked, **common
    )


def tenant_of(turn: Turn) -> str:
    """The Entra tenant of a turn (its conversation key is ``teams:<tenant>:<user>``)."""
    return turn.conversation.split(":")[1]


def owner_of(conversation: str) -> str:
    """The Entra object id (or Teams id) of the person whose conversation key this is."""
    return conversation.rsplit(":", 1)[-1]


def seller_with(base: Seller, member: Member) -> Seller:
    """The seller with the names and email from the Bot Connector."""
    return Seller(
        user_id=base.user_id,
        display_name=member.name or base.display_name,
        first_name=member.given_name,
        last_name=member.surname,
        email=member.email,
    )


def address(turn: Turn) -> Address:
    """Where the turn's conversation is."""
    return Address.of(turn.address["reference"])


def _common(activity: Any, reference: Mapping[str, Any]) -> dict[str, Any]:
    sender = activity.from_
    user_id = sender.aad_object_id or sender.id
    return {
        "platform": PLATFORM,
        "conversation": conversation_key(activity.conversation.tenant_id or "", user_id),
        "seller": Seller(user_id=user_id, display_name=sender.name),
        "delivery": f"activity-{activity.id}",
        "address": {"reference": dict(reference), "user": sender.id},
        # A channel or group chat: others would see referrals shown there.
        "shared": (activity.conversation.conversation_type or "personal") != "personal",
    }
