"""Handlers of the ``web`` process: parse, queue, then answer Teams.

* A message is parsed into a turn and put on the job stream (ordered by conversation), then
  answered with an empty 200; a worker replies (Teams re-sends a message left unanswered for
  15 seconds). When Redis refuses the turn, the seller is told at once in the conversation.
* A card action (``Action.Execute``) must be answered with the card that replaces the
  clicked one: the question and the answer given, with no buttons left to click twice (the
  words travel in the click's data, so nothing is looked up). A worker then does the step and
  posts what follows, or puts the card right if the answer was not taken. Submit and Reapply
  call Partner Center, which may take seconds: their card says "sending…" until the worker
  turns it into the result. A click by someone other than the draft's owner (a card in a
  channel) changes nothing: the clicker alone is told so, and the card stays as it is.
* A decision on an approval card (Approve, Reject with its reason, Retry, Withdraw) is queued
  and answered with a message to the clicker alone, never with a card: the approval card is
  shared, and an answer card would rewrite it for everyone before the decision is known. The
  worker rewrites it once decided. Approval cards carry no owner, so neither the owner check
  nor the channel-notification rule applies to them; a rejection without a reason is refused
  in the answer, and nothing is queued.
* Installs and channel additions keep the conversation reference, for proactive messages.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
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

from bot.conversation import (
    SENDING_NOTE,
    TURN,
    Decision,
    Notice,
    Problem,
    Triage,
    Turn,
    not_queued,
    sends,
)
from bot.jobs import JobQueue, QueueRefused
from bot.references import ReferenceBook
from cards import STALE_CARD, STALE_CARD_DETAIL, TRY_AGAIN, UNEXPECTED_NOTHING_CHANGED
from cards.ids import TRIAGE, VERDICTS
from cards.teams import CONTENT_TYPE, OWNER, TeamsCard, answered, card
from cards.words import REFERENCE
from handlers.approvals import DECISION_TAKEN, REASON_NEEDED, incomplete, lacks_reason
from handlers.teams import turns
from handlers.teams.sender import message_input

logger = logging.getLogger(__name__)

STALE = Notice(message=STALE_CARD, detail=STALE_CARD_DETAIL)


NOT_YOURS = "This card belongs to someone else's draft, so I left it as it is."
ASK_IN_PRIVATE = "Referrals are private: type {command} in your 1:1 chat with me."


def _card_answer(made: TeamsCard) -> InvokeResponse[Any]:
    return InvokeResponse(
        status=200, body={"statusCode": 200, "type": CONTENT_TYPE, "value": made.content}
    )


def _message_answer(text: str) -> InvokeResponse[Any]:
    return InvokeResponse(
        status=200,
        body={
            "statusCode": 200,
            "type": "application/vnd.microsoft.activity.message",
            "value": text,
        },
    )


def _on_approval_card(activity: Any) -> bool:
    """Whether an invoke came from an approval card's button, or an incoming referral's (a
    shared card either way; read defensively: the activity may be why the click failed)."""
    action = getattr(getattr(activity, "value", None), "action", None)
    verb = getattr(action, "verb", None)
    return verb in VERDICTS or verb in TRIAGE


@dataclass(frozen=True, slots=True)
class TeamsServices:
    """What the handlers need."""

    jobs: JobQueue
    references: ReferenceBook
    refusal: Callable[[Turn, Decision | Triage], Awaitable[str | None]] | None = None
    """Why the clicker may not make a decision (not an approver, their own request; an
    incoming referral answered already), asked before it is queued: the click's own answer
    is the only message a Teams channel shows to the clicker alone. The worker checks again
    before anything changes."""


def _person(ctx: ActivityContext[Any]) -> str:
    """The conversation key of the person who sent the activity."""
    sender = ctx.activity.from_
    tenant = ctx.activity.conversation.tenant_id or ""
    return turns.conversation_key(tenant, sender.aad_object_id or sender.id)


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
        reference = reference_of(ctx)
        if value:
            turn = turns.click_turn(activity, reference, value, invoked=False)
        else:
            text = turns.spoken_text(activity.text)
            turn = turns.message_turn(activity, reference, text) if text else None
        if turn is None:
            return  # a reaction, an attachment alone, data that is not ours
        if not await self._queue(turn):
            await ctx.send(message_input(card(not_queued())))

    async def on_card_action(
        self, ctx: ActivityContext[AdaptiveCardInvokeActivity]
    ) -> InvokeResponse[Any]:
        """A click on a card: always answered (an empty answer makes Teams show an error and
        send the invoke again)."""
        try:
            return await self._card_action(ctx)
        except Exception as error:
            reference = uuid.uuid4().hex[:8]
            logger.error("teams card action failed, reference %s", reference, exc_info=error)
            if _on_approval_card(ctx.activity):
                # A shared card: an answer card would show the failure to everyone.
                return _message_answer(
                    f"{UNEXPECTED_NOTHING_CHANGED} {TRY_AGAIN} ({REFERENCE}{reference})"
                )
            problem = Problem(
                message=UNEXPECTED_NOTHING_CHANGED, hint=TRY_AGAIN, reference=reference
            )
            return _card_answer(card(problem))

    async def _card_action(
        self, ctx: ActivityContext[AdaptiveCardInvokeActivity]
    ) -> InvokeResponse[Any]:
        activity = ctx.activity
        action = activity.value.action
        data = {"verb": action.verb, **(action.data or {})}
        turn = turns.click_turn(activity, reference_of(ctx), data, invoked=True)
        if turn is None:
            return _card_answer(card(STALE))
        if isinstance(turn.action, Decision | Triage):
            return await self._decision(turn, turn.action)
        owner = data.get(OWNER)
        if isinstance(owner, str) and owner and owner != turns.owner_of(turn.conversation):
            # Someone else's card (in a channel): answering with a card would change it for
            # everyone. A message answers the clicker alone.
            return _message_answer(NOT_YOURS)
        if turn.shared and not owner:
            # A channel's notification: nobody's draft, and what it leads to (a referral) is
            # private. The clicker alone is told where to ask; the card stays as it is.
            return _message_answer(ASK_IN_PRIVATE.format(command=turn.text or "referral help"))
        if not await self._queue(turn):
            return _card_answer(card(not_queued()))
        if turn.action is not None and sends(turn.action):
            return _card_answer(answered("", SENDING_NOTE))
        question = turn.card.question if turn.card is not None else None
        return _card_answer(answered(question or "", turn.shown or ""))

    async def _decision(self, turn: Turn, decision: Decision | Triage) -> InvokeResponse[Any]:
        """A click on an approval card (or an incoming referral's): queued, and answered to
        the clicker alone."""
        if isinstance(decision, Decision) and lacks_reason(decision):
            return _message_answer(REASON_NEEDED)
        lacking = incomplete(decision) if isinstance(decision, Triage) else None
        if lacking is not None:
            return _message_answer(lacking)
        if self._services.refusal is not None:
            refused_why = await self._services.refusal(turn, decision)
            if refused_why is not None:
                return _message_answer(refused_why)
        if not await self._queue(turn):
            refused = not_queued()
            return _message_answer(f"{refused.message} {refused.hint}")
        return _message_answer(DECISION_TAKEN)

    async def _queue(self, turn: Turn) -> bool:
        try:
            await self._services.jobs.put(
                TURN, turn.model_dump(mode="json"), order_key=turn.conversation
            )
        except QueueRefused as error:
            logger.warning("could not queue %s for %s: %s", turn.delivery, turn.conversation, error)
            return False
        return True

    async def on_install(self, ctx: ActivityContext[InstalledActivity]) -> None:
        """The app was installed for a person or in a team: keep the reference, say hello."""
        reference = reference_of(ctx)
        conversation = ctx.activity.conversation
        personal = (conversation.conversation_type or "personal") == "personal"
        await self._services.references.save(
            turns.PLATFORM, conversation.id, reference, channel=not personal
        )
        if personal:
            # Their 1:1 chat, found by whose it is when the bot has something to tell them.
            await self._services.references.save_dm(turns.PLATFORM, _person(ctx), reference)
            await self._queue(turns.message_turn(ctx.activity, reference, "referral help"))

    async def on_uninstall(self, ctx: ActivityContext[UninstalledActivity]) -> None:
        """The app was removed: the reference is of no use any more."""
        conversation = ctx.activity.conversation
        await self._services.references.forget(turns.PLATFORM, conversation.id)
        if (conversation.conversation_type or "personal") == "personal":
            await self._services.references.forget_dm(turns.PLATFORM, _person(ctx))

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
