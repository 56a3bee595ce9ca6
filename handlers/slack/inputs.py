"""Slack payloads in, neutral inputs out: who is talking, and what their click means.

Pure functions over the payload dicts Bolt hands to listeners; nothing here calls Slack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.conversation.engine import Conversation
from bot.conversation.session import Seller
from bot.conversation.views import Choice, Command, CommandName, Input
from cards.ids import STEP_BLOCK_PREFIX, Action
from cards.slack import decode_choice

COMMANDS: Mapping[str, CommandName] = {
    Action.BACK: CommandName.BACK,
    Action.SKIP: CommandName.SKIP,
    Action.CANCEL: CommandName.CANCEL,
    Action.REVIEW: CommandName.REVIEW,
    Action.SUBMIT: CommandName.SUBMIT,
    Action.RESUME: CommandName.RESUME,
    Action.REAPPLY: CommandName.REAPPLY,
}


@dataclass(frozen=True, slots=True)
class Typed:
    """A button that stands for a command the seller could type (Show, More)."""

    text: str


def conversation_key(team_id: str, user_id: str) -> str:
    """One conversation per user and workspace: ``slack:T123:U456``."""
    return f"slack:{team_id}:{user_id}"


def conversation(team_id: str, user_id: str, *, name: str | None = None) -> Conversation:
    """The conversation of a Slack user, before their profile is known."""
    return Conversation(
        key=conversation_key(team_id, user_id),
        seller=Seller(user_id=user_id, display_name=name),
    )


def with_profile(base: Conversation, user: Mapping[str, Any]) -> Conversation:
    """The conversation with the seller's names and email from ``users.info``."""
    profile = user.get("profile") or {}
    return Conversation(
        key=base.key,
        seller=Seller(
            user_id=base.seller.user_id,
            display_name=profile.get("real_name") or user.get("real_name") or user.get("name"),
            first_name=profile.get("first_name") or None,
            last_name=profile.get("last_name") or None,
            email=profile.get("email") or None,
        ),
    )


def action_input(action: Mapping[str, Any]) -> Input | Typed | None:
    """The neutral input a clicked control stands for, or None for one we do not know."""
    action_id = action.get("action_id", "")
    step = _step_of(action.get("block_id", ""))
    if action_id == Action.CHOOSE:
        if "selected_option" in action:  # a static select
            return Choice(step=step or "", value=action["selected_option"]["value"])
        step, value = decode_choice(action.get("value", ""))
        return Choice(step=step, value=value)
    if action_id in (Action.CHOOSE_MANY,):
        picked = tuple(option["value"] for option in action.get("selected_options") or [])
        return Choice(step=step or "", value=picked)
    if action_id == Action.SEARCH:
        return Choice(step=step or "", value=action["selected_option"]["value"])
    if action_id == Action.PICK_DATE:
        return Choice(step=step or "", value=action.get("selected_date") or "")
    if action_id == Action.EDIT:
        chosen = (action.get("selected_option") or {}).get("value")  # the overflow menu's
        return Command(name=CommandName.EDIT, arg=action.get("value") or chosen)
    if action_id == Action.SHOW:
        return Typed(f"/referral show {action.get('value', '')}")
    if action_id == Action.PAGE:
        return Typed(str(action.get("value", "")))
    if action_id in COMMANDS:
        return Command(name=COMMANDS[action_id], step=action.get("value") or None)
    return None


def shown_answer(action: Mapping[str, Any]) -> str:
    """What the seller picked, in the words the card showed them."""
    if "selected_option" in action:
        return str(action["selected_option"]["text"]["text"])
    if action.get("selected_options"):
        return ", ".join(option["text"]["text"] for option in action["selected_options"])
    if action.get("selected_date"):
        return str(action["selected_date"])
    text = action.get("text") or {}
    return str(text.get("text") or action.get("value") or "")


def _step_of(block_id: str) -> str | None:
    return block_id[len(STEP_BLOCK_PREFIX) :] if block_id.startswith(STEP_BLOCK_PREFIX) else None
