"""Slack payloads in, typed turns out: who is talking, what they said or clicked, and where.

Pure functions over the payload dicts Bolt hands to listeners; nothing here calls Slack. The
web process parses each request here, so the job stream carries turns, never Slack's bodies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.conversation import (
    CardRef,
    Choice,
    Command,
    CommandName,
    Decision,
    Input,
    Seller,
    Triage,
    Turn,
    Verdict,
)
from cards.ids import INBOUND_BLOCK_PREFIX, REASON_INPUT, STEP_BLOCK_PREFIX, VERDICTS, Action
from cards.slack import decode_choice
from cards.words import register_command

PLATFORM = "slack"
PROGRESS = re.compile(r"^Step \d+ of \d+: ")
"""How a question card's notification text begins (see ``cards.slack.message``)."""

COMMANDS: Mapping[str, CommandName] = {
    Action.BACK: CommandName.BACK,
    Action.SKIP: CommandName.SKIP,
    Action.KEEP: CommandName.KEEP,
    Action.CANCEL: CommandName.CANCEL,
    Action.REVIEW: CommandName.REVIEW,
    Action.SUBMIT: CommandName.SUBMIT,
    Action.RESUME: CommandName.RESUME,
    Action.REAPPLY: CommandName.REAPPLY,
}

DECISIONS: Mapping[str, Verdict] = {
    action: verdict for action, verdict in VERDICTS.items() if action is not Action.REJECT
}
"""Buttons of an approval card that decide at once (the value is the approval's id). Reject
asks why first, in a modal: its click queues nothing (:func:`reject_turn` does, on submit)."""
REJECT_HEADING = "Reject this deal registration"
"""The reject modal's heading when the clicked message has no text of its own."""


@dataclass(frozen=True, slots=True)
class Typed:
    """A button that stands for a command the seller could type (Show, Register, More, a pick
    list's row)."""

    text: str


def conversation_key(team_id: str, user_id: str) -> str:
    """One conversation per user and workspace: ``slack:T123:U456``."""
    return f"{PLATFORM}:{team_id}:{user_id}"


def seller_of(user: Mapping[str, Any]) -> Seller:
    """The seller with the names and email of a ``users.info`` user object."""
    profile = user.get("profile") or {}
    return Seller(
        user_id=str(user.get("id") or ""),
        display_name=profile.get("real_name") or user.get("real_name") or user.get("name"),
        first_name=profile.get("first_name") or None,
        last_name=profile.get("last_name") or None,
        email=profile.get("email") or None,
    )


TYPED_IN = "typed_in"
"""The address entry naming the channel a slash command was typed in (replies go to the DM)."""
TYPED_IN_NAME = "typed_in_name"


def team_of(turn: Turn) -> str:
    """The Slack workspace of a turn (its conversation key is ``slack:T...:U...``)."""
    return turn.conversation.split(":")[1]


def command_turn(body: Mapping[str, Any]) -> Turn:
    """``/referral ...`` typed anywhere: the replies go to the DM."""
    user = str(body["user_id"])
    return Turn(
        platform=PLATFORM,
        conversation=conversation_key(str(body["team_id"]), user),
        seller=Seller(user_id=user, display_name=body.get("user_name")),
        delivery=f"command-{body.get('trigger_id', '')}",
        text=f"/referral {body.get('text', '')}",
        address={
            **_address(None, body.get("response_url")),
            TYPED_IN: str(body.get("channel_id") or ""),
            TYPED_IN_NAME: str(body.get("channel_name") or ""),
        },
    )


def message_turn(body: Mapping[str, Any]) -> Turn:
    """Words typed in the DM with the bot."""
    event = body["event"]
    user = str(event["user"])
    return Turn(
        platform=PLATFORM,
        conversation=conversation_key(str(body["team_id"]), user),
        seller=Seller(user_id=user),
        delivery=f"event-{body['event_id']}",
        text=str(event.get("text") or ""),
        address=_address(event.get("channel"), None),
    )


def home_turn(body: Mapping[str, Any]) -> Turn:
    """The App Home tab was opened."""
    user = str(body["event"]["user"])
    return Turn(
        platform=PLATFORM,
        conversation=conversation_key(str(body["team_id"]), user),
        seller=Seller(user_id=user),
        delivery=f"home-{body.get('event_id', '')}",
        kind="home",
    )


def action_turn(body: Mapping[str, Any]) -> Turn | None:
    """A click on one of our cards, or None for a control we do not know."""
    action = body["actions"][0]
    parsed = action_input(action)
    if parsed is None:
        return None
    user = str(body["user"]["id"])
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or message.get("ts")
    in_channel = isinstance(channel, str) and not channel.startswith("D")
    if in_channel and not isinstance(parsed, Decision | Triage):
        # A card in a channel is a notification everyone there sees (drafts live in DMs):
        # the answer goes to the clicker's DM, and the card stays as it is.
        channel = ts = None
    # An approval card (or an incoming referral's) in a channel is named, so the worker can
    # rewrite it through the click's response_url (outside chat.update's rate tier); answers
    # still go to the DM.
    card = (
        CardRef(str(channel), str(ts), _step_of(action.get("block_id", "")), question_of(message))
        if channel and ts
        else None
    )
    reply_in = None if in_channel else channel
    text, given = (parsed.text, None) if isinstance(parsed, Typed) else (None, parsed)
    return Turn(
        platform=PLATFORM,
        conversation=conversation_key(str(body["team"]["id"]), user),
        seller=Seller(user_id=user, display_name=body["user"].get("name")),
        delivery=f"action-{action.get('action_ts', '')}-{action.get('action_id', '')}",
        kind="click",
        text=text,
        action=given,
        shown=shown_answer(action),
        card=card,
        address=_address(reply_in, body.get("response_url")),
    )


def rejected_approval(body: Mapping[str, Any]) -> str | None:
    """The approval a Reject click is about (the button's value), or None without one."""
    value = body["actions"][0].get("value")
    return value if isinstance(value, str) and value else None


def heading_of(body: Mapping[str, Any]) -> str:
    """The words of the clicked message, to head the reject modal with (plain text: Slack's
    escapes undone, the modal's renderer escapes what it needs); a default without them."""
    text = str((body.get("message") or {}).get("text") or "").strip()
    if not text:
        return REJECT_HEADING
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def reason_of(view: Mapping[str, Any]) -> str:
    """The reason typed in the reject modal, stripped; empty when left blank."""
    values = (view.get("state") or {}).get("values") or {}
    typed = ((values.get(REASON_INPUT) or {}).get(REASON_INPUT) or {}).get("value")
    return typed.strip() if isinstance(typed, str) else ""


def reject_turn(body: Mapping[str, Any], reason: str) -> Turn | None:
    """The reject modal submitted with ``reason``: a click deciding the approval named in the
    modal's ``private_metadata`` (None when it names none). The replies go to the DM; the
    approval card is rewritten by the worker, which knows where it is. One modal is one
    rejection: its view id is the delivery."""
    view = body["view"]
    approval = view.get("private_metadata")
    if not isinstance(approval, str) or not approval:
        return None
    user = str(body["user"]["id"])
    team = (body.get("team") or {}).get("id") or view.get("team_id") or body["user"]["team_id"]
    return Turn(
        platform=PLATFORM,
        conversation=conversation_key(str(team), user),
        seller=Seller(user_id=user, display_name=body["user"].get("name")),
        delivery=f"view-{view.get('id') or body.get('trigger_id', '')}",
        kind="click",
        action=Decision(approval=approval, verdict="reject", reason=reason),
    )


def question_of(message: Mapping[str, Any]) -> str:
    """The question a clicked card asked: its notification text without the progress line."""
    return PROGRESS.sub("", str(message.get("text") or ""), count=1)


def _address(channel: object, response_url: object) -> dict[str, str]:
    address = {}
    if isinstance(channel, str) and channel:
        address["channel"] = channel
    if isinstance(response_url, str) and response_url:
        address["response_url"] = response_url
    return address


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
    if action_id == Action.REGISTER:
        referral_id = action.get("value")
        if not isinstance(referral_id, str) or not referral_id.strip():
            return None
        return Typed(register_command(referral_id))
    if action_id == Action.PAGE:
        return Typed(str(action.get("value", "")))
    if action_id == Action.PICK:
        command = action.get("value")
        if not isinstance(command, str) or not command.strip():
            return None
        return Typed(command)
    if action_id in COMMANDS:
        return Command(name=COMMANDS[action_id], step=action.get("value") or None)
    if action_id == Action.ACCEPT:
        referral = action.get("value")
        if not isinstance(referral, str) or not referral:
            return None
        return Triage(referral=referral, verdict="accept")
    if action_id == Action.ASSIGN:
        return _assigned(action)
    if action_id in DECISIONS:
        approval = action.get("value")
        if not isinstance(approval, str) or not approval:
            return None
        return Decision(approval=approval, verdict=DECISIONS[action_id])
    return None


def _assigned(action: Mapping[str, Any]) -> Triage | None:
    """A pick in an incoming referral's user picker: the referral its row's block id names,
    the user picked."""
    block_id = str(action.get("block_id") or "")
    referral = block_id.removeprefix(INBOUND_BLOCK_PREFIX)
    user = action.get("selected_user")
    if not block_id.startswith(INBOUND_BLOCK_PREFIX) or not referral or not isinstance(user, str):
        return None
    return Triage(referral=referral, verdict="assign", assignee=user)


def declined_referral(body: Mapping[str, Any]) -> str | None:
    """The incoming referral a Decline click is about (the button's value), or None."""
    value = body["actions"][0].get("value")
    return value if isinstance(value, str) and value else None


def decline_turn(body: Mapping[str, Any], reason: str) -> Turn | None:
    """The decline modal submitted with ``reason``: a click declining the referral named in
    the modal's ``private_metadata`` (None when it names none); the replies go to the DM and
    the cards are rewritten by the worker, which knows where they are."""
    view = body["view"]
    referral = view.get("private_metadata")
    if not isinstance(referral, str) or not referral:
        return None
    user = str(body["user"]["id"])
    team = (body.get("team") or {}).get("id") or view.get("team_id") or body["user"]["team_id"]
    return Turn(
        platform=PLATFORM,
        conversation=conversation_key(str(team), user),
        seller=Seller(user_id=user, display_name=body["user"].get("name")),
        delivery=f"view-{view.get('id') or body.get('trigger_id', '')}",
        kind="click",
        action=Triage(referral=referral, verdict="decline", reason=reason),
    )


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
