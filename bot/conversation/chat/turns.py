"""One turn of a conversation, whatever the chat platform: what arrived, and how it is answered.

An adapter parses its platform's payload at the edge into a :class:`Turn` (who, which
conversation, the words or the card input, which card was clicked, where to reply) and puts
it on the job stream, ordered by conversation. A worker hands it to :meth:`TurnRunner.run`,
the one pipeline every platform shares: drop a delivery already handled, look up the seller's
profile when the turn needs it, ask the desk, and deliver the views through the platform's
:class:`Replier`. Signing in (the commands, a link when a turn needs one, the welcome back)
is the part the runner hands to :class:`~bot.conversation.chat.sign_in.SignInTurns`. So a
platform is a parser and a replier; the rules below are written once:

* A click is recorded on the card that carried it, and only when the draft took the answer.
  A refused answer asks again on that same card; a click meant for a question already
  answered (a double click) changes nothing and posts nothing.
* A typed answer that was taken turns the last question card into a record of it.
* Whatever fails, the seller is told what is known about Partner Center (created, with its
  id; nothing sent; or that it is not known yet), with a reference to quote.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.clock import Clock, SystemClock
from bot.conversation.chat.commands import (
    ApprovalCommand,
    Find,
    InboundCommand,
    ListReferrals,
    Show,
    SignInCommand,
    SubscribeCommand,
    needs_seller_profile,
    parse_message,
    sends,
)
from bot.conversation.chat.desk import Desk
from bot.conversation.chat.memory import CardRef, ChatMemory
from bot.conversation.chat.sign_in import SignInDesk, SignInTurns
from bot.conversation.chat.subscribing import answer_subscription
from bot.conversation.runtime.engine import Conversation, Reply
from bot.conversation.runtime.machine import Effect
from bot.conversation.views import (
    SENDING_NOTE,
    ApprovalCard,
    Command,
    CommandName,
    Created,
    Decision,
    Home,
    Input,
    Problem,
    Prompt,
    Review,
    Seller,
    Text,
    Triage,
    View,
)
from bot.conversation.vocabulary.flows import FLOWS
from bot.jobs import Job, JobHandler, UnreadableJob
from bot.logs import conversation_tag, log_context
from bot.notifications.channels import Channel
from bot.notifications.subscriptions import Subscriptions
from bot.partner_center.auth import SignInRequired

if TYPE_CHECKING:
    from bot.conversation.chat.triaging import Triaging

logger = logging.getLogger(__name__)

TURN = "turn"
"""The job kind of a turn on the job stream."""


class Turn(BaseModel):
    """Something a person did in chat, parsed at the platform's edge (JSON on the stream)."""

    model_config = ConfigDict(frozen=True)

    platform: str
    """Which :class:`Replier` answers it (``slack``, ``teams``)."""
    conversation: str
    """The conversation key (``slack:T1:U2``): whose draft, and the order of turns."""
    seller: Seller
    """Who is talking, as far as the payload says (the profile is looked up when needed)."""
    delivery: str
    """The platform's id of this delivery: the same turn sent again carries the same id."""
    kind: Literal["message", "click", "home", "signed_in"] = "message"
    """``signed_in``: the seller finished signing in (the web process's callback); ``text``
    is then what to carry on with."""
    text: str | None = None
    """Typed words, or the command a button stands for (Show, More)."""
    step: str | None = None
    """The question typed words answer, when a card's text box sent them."""
    action: Input | None = None
    """What a card input means (a choice, a command), for a click."""
    shown: str | None = None
    """The answer of a click, in the words the card showed."""
    card: CardRef | None = None
    """The card that was clicked."""
    answered_in_place: bool = False
    """The platform already shows the answer on the clicked card (a Teams invoke is answered
    with it at once); the card is rewritten only if the answer was not taken."""
    address: dict[str, Any] = {}
    """Where replies go, in the platform's terms (a channel and ``response_url``; a Teams
    conversation reference)."""
    shared: bool = False
    """Others see the replies (a Teams channel or group chat): referrals are not shown there."""


class Replier(Protocol):
    """How one platform shows a turn's answer: the only part of the pipeline that differs."""

    async def post(self, turn: Turn, view: View) -> CardRef:
        """Post ``view`` as a new card where the turn's replies go; where it landed."""
        ...

    async def replace(self, turn: Turn, card: CardRef, view: View) -> None:
        """Show ``view`` in place of ``card`` (the card that was clicked)."""
        ...

    async def record(self, turn: Turn, card: CardRef, answer: str) -> None:
        """Rewrite ``card`` as the record of its question's ``answer``, nothing left to click."""
        ...

    async def profile(self, turn: Turn) -> Seller:
        """The seller with the names and email the platform knows."""
        ...

    async def home(self, turn: Turn, view: Home) -> None:
        """Show the seller's home page."""
        ...

    async def admits(self, turn: Turn) -> str | None:
        """Why the platform's rules refuse this person (a guest, say), or None to serve them."""
        ...

    def channel(self, turn: Turn) -> Channel | None:
        """The channel the turn was typed in, or None (a direct message, the terminal)."""
        ...

    async def post_to_channel(self, channel: Channel, view: View) -> str:
        """Post ``view`` in ``channel``; the id of the message posted. :class:`ChannelGone`
        when the channel no longer takes the bot's messages."""
        ...

    async def update_in_channel(self, channel: Channel, message_id: str, view: View) -> None:
        """Show ``view`` in place of the bot's message ``message_id`` in ``channel`` (an
        approval card once decided)."""
        ...

    async def named_by(self, turn: Turn, names: frozenset[str]) -> bool:
        """Whether one of ``names`` names the person of ``turn``, in the platform's terms:
        Slack a user id or the id of a user group they belong to; Teams an Entra object id or
        an email (``APPROVERS``)."""
        ...


class Approving(Protocol):
    """Deal-registration approvals, as the turn pipeline uses them
    (:class:`~bot.conversation.chat.approving.ApprovalTurns`)."""

    async def refusal(self, turn: Turn, replier: Replier, decision: Decision) -> list[View]:
        """Why this person may not make ``decision``; empty when they may."""
        ...

    async def decide(
        self, turn: Turn, replier: Replier, decision: Decision, *, attempt: str
    ) -> list[View]:
        """Apply the decision; what to tell the clicker."""
        ...

    async def command(self, turn: Turn, replier: Replier, command: ApprovalCommand) -> list[View]:
        """Answer ``/referral approvals``, ``approvals here`` or ``withdraw ID``."""
        ...

    async def waiting(self, turn: Turn, replier: Replier) -> tuple[ApprovalCard, ...]:
        """The requests this person may act on, for their home page."""
        ...


@dataclass
class TurnProgress:
    """How far a turn got, so a failure is reported with only what is known."""

    sending: bool = False
    reply: Reply | None = None
    posted: list[View] = field(default_factory=list)


class TurnRunner:
    """The shared turn pipeline: one per worker process, with a replier per platform."""

    def __init__(
        self,
        desk: Desk,
        memory: ChatMemory,
        repliers: Mapping[str, Replier],
        *,
        identity: SignInDesk | None = None,
        subscriptions: Subscriptions | None = None,
        approvals: Approving | None = None,
        inbound: Triaging | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._desk = desk
        self._memory = memory
        self._repliers = dict(repliers)
        self._sign_in = SignInTurns(identity, desk, self._post)
        self._subscriptions = subscriptions
        self._approvals = approvals
        self._inbound = inbound
        self._clock = clock or SystemClock()

    @property
    def platforms(self) -> frozenset[str]:
        """The platforms this runner has a replier for."""
        return frozenset(self._repliers)

    async def run(self, turn: Turn, attempt: str) -> None:
        """Answer ``turn``. ``attempt`` names this piece of work (a job id): the same attempt
        running again after its worker died goes ahead; a second delivery does not.

        Redis failing before anything was done is raised, for the job to be tried again;
        anything else is reported to the seller and logged, never raised.
        """
        replier = self._repliers[turn.platform]
        if not await self._memory.first_time(turn.conversation, turn.delivery, attempt=attempt):
            return
        progress = TurnProgress()
        try:
            await self._answer(turn, replier, progress, attempt)
        except SignInRequired as needed:
            # Nothing was sent: the token was missing before any request left.
            await self._sign_in.ask(turn, replier, progress, reason=needed.reason)
        except Exception as error:  # noqa: BLE001 - the seller is told; the log keeps it
            await self._report(turn, replier, error, progress)

    async def _answer(
        self, turn: Turn, replier: Replier, progress: TurnProgress, attempt: str
    ) -> None:
        # Where replies reach the seller later (a draft keeps it: a request for approval is
        # answered there once decided).
        conversation = Conversation(turn.conversation, turn.seller, turn.address)
        refusal = await replier.admits(turn)
        if refusal is not None:
            # Told once an hour at most; nothing else is done for them.
            if turn.kind != "home" and await self._memory.first_time(turn.conversation, "refused"):
                await self._post(turn, replier, [Problem(message=refusal)], progress)
            return
        if turn.kind == "signed_in":
            carry_on = await self._sign_in.signed_in(turn, replier, progress)
            if carry_on is None:
                return
            turn = carry_on
        if turn.kind == "home":
            seller = await replier.profile(turn)
            view = await self._desk.home(Conversation(turn.conversation, seller))
            if self._approvals is not None:
                waiting = await self._approvals.waiting(turn, replier)
                view = view.model_copy(update={"approvals": waiting})
            if self._inbound is not None:
                arrived = await self._inbound.waiting(turn, replier)
                view = view.model_copy(update={"inbound": arrived})
            await replier.home(turn, view)
            return
        parsed = turn.action or parse_message(turn.text or "", step=turn.step)
        if isinstance(parsed, SignInCommand):
            await self._post(turn, replier, await self._sign_in.command(turn, parsed), progress)
            return
        if isinstance(parsed, SubscribeCommand):
            views = await self._subscription_command(turn, replier, parsed)
            await self._post(turn, replier, views, progress)
            return
        if isinstance(parsed, InboundCommand | Triage):
            await self._triage(turn, replier, parsed, progress, attempt)
            return
        if isinstance(parsed, ApprovalCommand | Decision):
            await self._approval(turn, replier, parsed, progress, attempt)
            return
        if await self._sign_in.needed(turn, parsed):
            await self._sign_in.ask(turn, replier, progress, reason=None)
            return
        if turn.shared and _shows_a_referral(parsed):
            # Listings, details and drafts on an existing referral (whose review shows its
            # values) go only where the person alone sees them.
            await self._post(turn, replier, [PRIVATE_ONLY], progress)
            return
        if needs_seller_profile(parsed):
            seller = await replier.profile(turn)
            conversation = Conversation(turn.conversation, seller, turn.address)
        progress.sending = sends(parsed)
        if turn.card is not None and progress.sending and not turn.answered_in_place:
            await replier.record(
                turn, CardRef(turn.card.channel, turn.card.message_id), SENDING_NOTE
            )
        reply = await self._desk.answer(conversation, parsed, delivery=turn.delivery)
        progress.reply = reply
        answers = isinstance(parsed, Text | Command) or turn.action is not None
        if turn.card is not None and answers:
            await self._answer_click(turn, replier, turn.card, reply, progress)
        else:
            await self._answer_words(turn, replier, reply, progress, answered=answers)

    async def _approval(
        self,
        turn: Turn,
        replier: Replier,
        parsed: ApprovalCommand | Decision,
        progress: TurnProgress,
        attempt: str,
    ) -> None:
        """An approval card's click, or a command about approvals."""
        if self._approvals is None:
            problem = Problem(
                message="Deal registrations are approved in Slack or Teams, not here.",
                hint="/referral register ID shows whether a referral is eligible.",
            )
            await self._post(turn, replier, [problem], progress)
            return
        if isinstance(parsed, ApprovalCommand):
            views = await self._approvals.command(turn, replier, parsed)
            await self._post(turn, replier, views, progress)
            return
        refusal = await self._approvals.refusal(turn, replier, parsed)
        if refusal:
            await self._post(turn, replier, refusal, progress)
            return
        if await self._sign_in.needed(turn, parsed):
            # The request waits, pending, while the approver signs in; they click again.
            await self._sign_in.ask(turn, replier, progress, reason=SIGN_IN_TO_APPROVE)
            return
        progress.sending = parsed.verdict in ("approve", "retry")
        views = await self._approvals.decide(turn, replier, parsed, attempt=attempt)
        await self._post(turn, replier, views, progress)

    async def _triage(
        self,
        turn: Turn,
        replier: Replier,
        parsed: InboundCommand | Triage,
        progress: TurnProgress,
        attempt: str,
    ) -> None:
        """A click on an incoming referral's card, or a command about incoming referrals."""
        if self._inbound is None:
            problem = Problem(message="Incoming referrals are answered in Slack or Teams.")
            await self._post(turn, replier, [problem], progress)
            return
        inbound = self._inbound
        if isinstance(parsed, InboundCommand):
            views = await inbound.command(turn, replier, parsed)
            await self._post(turn, replier, views, progress)
            return
        refusal = await inbound.refusal(turn, replier, parsed)
        if refusal:
            await self._post(turn, replier, refusal, progress)
            return
        if await self._sign_in.needed(turn, parsed):
            # The referral waits while they sign in; they click again.
            await self._sign_in.ask(turn, replier, progress, reason=SIGN_IN_TO_ANSWER)
            return
        progress.sending = parsed.verdict != "assign"
        views = await inbound.decide(turn, replier, parsed, attempt=attempt)
        await self._post(turn, replier, views, progress)

    async def _subscription_command(
        self, turn: Turn, replier: Replier, command: SubscribeCommand
    ) -> list[View]:
        if self._subscriptions is None:
            return [Problem(message="Channel notifications are not set up here.")]
        seller = await replier.profile(turn) if command.mine else turn.seller
        return await answer_subscription(
            self._subscriptions,
            command,
            channel=replier.channel(turn),
            seller=seller,
            by=turn.conversation,
            post=replier.post_to_channel,
            now=self._clock.now(),
        )

    async def _answer_click(
        self, turn: Turn, replier: Replier, card: CardRef, reply: Reply, progress: TurnProgress
    ) -> None:
        """A click (or words from a card's own text box): the outcome shows on that card."""
        views = reply.views
        asked: CardRef | None = None
        if reply.effect is Effect.STALE:
            # Meant for a question already answered: nothing changed, nothing is posted
            # again. Only a platform that already stamped this click's answer on the card
            # needs the card put right.
            if turn.answered_in_place:
                await replier.record(turn, card, reply.answer or ANSWERED_BEFORE)
            return
        if reply.effect is Effect.REFUSED or progress.sending:
            # The clicked card shows what became of it: asked again with the reason, or
            # turned into the submit's result.
            if views:
                await replier.replace(turn, card, views[0])
                progress.posted.append(views[0])
                asked = _asking(card, views[0])
                views = views[1:]
        elif reply.effect is Effect.CHANGED and not turn.answered_in_place:
            await replier.record(turn, card, turn.shown or turn.text or "")
        asked = await self._post(turn, replier, views, progress) or asked
        await self._remember(turn, reply, asked)

    async def _answer_words(
        self, turn: Turn, replier: Replier, reply: Reply, progress: TurnProgress, *, answered: bool
    ) -> None:
        """Typed words: an answer taken turns the last question card into its record."""
        words = turn.shown or turn.text
        if answered and reply.effect is Effect.CHANGED and words:
            # A click that names no card (a Teams client without Universal Actions may
            # leave it out) is an answer to the last question too.
            last = await self._memory.last_card(turn.conversation)
            if last is not None:
                try:
                    await replier.record(turn, last, words)
                except Exception as error:  # noqa: BLE001 - the record is a nicety; the reply is not
                    # The seller may have deleted the card: answer all the same.
                    logger.warning(
                        "could not turn card %s into a record: %s", last.message_id, error
                    )
        asked = await self._post(turn, replier, reply.views, progress)
        if answered:
            await self._remember(turn, reply, asked)

    async def _post(
        self, turn: Turn, replier: Replier, views: list[View], progress: TurnProgress
    ) -> CardRef | None:
        asked: CardRef | None = None
        for view in views:
            posted = await replier.post(turn, view)
            progress.posted.append(view)
            asked = _asking(posted, view) or asked
        return asked

    async def _remember(self, turn: Turn, reply: Reply, asked: CardRef | None) -> None:
        """The question card now waiting for an answer, for typed answers to be recorded on."""
        if asked is not None:
            await self._memory.remember_card(turn.conversation, asked)
        elif reply.effect is Effect.CHANGED:
            await self._memory.forget_card(turn.conversation)

    async def _report(
        self, turn: Turn, replier: Replier, error: BaseException, progress: TurnProgress
    ) -> None:
        """Logged with its traceback; the seller hears what is known, with a reference."""
        reference = uuid.uuid4().hex[:8]
        logger.error(
            "turn %s of %s failed, reference %s",
            turn.delivery,
            turn.conversation,
            reference,
            exc_info=error,
        )
        try:
            await replier.post(turn, failure(progress, reference))
        except Exception:
            logger.exception("could not tell %s about failure %s", turn.conversation, reference)


ANSWERED_BEFORE = "(answered already)"
SIGN_IN_TO_APPROVE = (
    "Approving sends the registration to Partner Center as you: sign in first, then click "
    "Approve again (the request waits)."
)

SIGN_IN_TO_ANSWER = (
    "Answering an incoming referral changes it in Partner Center as you: sign in first, then "
    "click again (the referral waits)."
)

PRIVATE_ONLY = Problem(
    message="Referrals are private, so I don't show or change them in a shared conversation.",
    hint="Ask me in a 1:1 chat with the bot: open a chat with me and type referral list "
    "(or referral show ID, referral update ID, referral close ID, referral team ID).",
)
"""The answer, where others would see it (a Teams channel), to what would show a referral."""


def _shows_a_referral(parsed: object) -> bool:
    """Whether answering ``parsed`` shows existing referrals: a listing or a search, one
    referral, or a draft that works on one (its questions and review show the referral's values)."""
    if isinstance(parsed, Show | Find | ListReferrals):
        return True
    if isinstance(parsed, Command) and parsed.name is CommandName.START:
        flow = FLOWS.get((parsed.arg or "new").split(" ", 1)[0].lower())
        return flow is not None and flow.needs_referral
    return False


def not_queued() -> Problem:
    """What a person is told at once when their turn could not be queued (Redis refused)."""
    return Problem(
        message="I can't reach my memory right now, so I didn't take that; nothing changed.",
        hint="Try again in a minute.",
    )


def failure(progress: TurnProgress, reference: str) -> Problem:
    """What to tell the seller after a turn failed part-way: only what is known."""
    reply = progress.reply
    created = (
        next((view for view in reply.views if isinstance(view, Created)), None)
        if reply is not None
        else None
    )
    if created is not None:
        ids = ", ".join(referral.id or "?" for referral in created.referrals)
        return Problem(
            message=f"Partner Center created your referral ({ids}), but I could not show "
            "the result here.",
            hint=f"/referral show {created.referrals[0].id} shows it.",
            reference=reference,
        )
    if progress.sending and reply is None:
        return Problem(
            message="Something went wrong while sending to Partner Center, and I can't tell "
            "yet whether it arrived.",
            hint="Submit again when you like: I look for it in Partner Center first, so it "
            "is never created twice.",
            reference=reference,
        )
    if reply is not None and reply.effect is Effect.CHANGED:
        return Problem(
            message="Your answer was saved, but I could not show what comes next.",
            hint="Type resume to see it.",
            reference=reference,
        )
    return Problem(
        message="Something went wrong on my side; nothing changed and nothing was sent to "
        "Partner Center.",
        hint="Try again in a moment.",
        reference=reference,
    )


def _asking(card: CardRef, view: View) -> CardRef | None:
    """``card`` as a question card waiting for an answer, if ``view`` asks one."""
    if isinstance(view, Prompt):
        return CardRef(card.channel, card.message_id, view.step, view.question)
    if isinstance(view, Review):
        return CardRef(card.channel, card.message_id, None, view.title)
    return None


def turn_handlers(runner: TurnRunner) -> dict[str, JobHandler]:
    """The job handler of turns, for :func:`bot.jobs.dispatch`."""

    async def handle(job: Job) -> None:
        try:
            turn = Turn.model_validate(job.payload)
        except ValidationError as error:
            raise UnreadableJob(f"not a turn: {error}") from None
        if turn.platform not in runner.platforms:
            raise UnreadableJob(f"no replier for platform {turn.platform!r}")
        with log_context(conversation=conversation_tag(turn.conversation)):
            await runner.run(turn, attempt=job.id)

    return {TURN: handle}
