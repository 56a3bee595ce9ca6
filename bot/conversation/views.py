"""Who talks to the bot, what the engine hears and what it says, in platform-neutral types.

Adapters turn a Slack action, a Teams invoke or a line typed in the terminal into one of the
inputs below, and render the views with ``cards/``. The engine never sees platform JSON.
The language every part of :mod:`bot.conversation` speaks, so it imports none of them.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.referrals.models import DealRegistration, Referral, ReferralEligibility

# -- who ----------------------------------------------------------------------------------


class Seller(BaseModel):
    """Who is talking to the bot, as the chat platform knows them (a draft's seller joins the
    team of the referral it creates)."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    display_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


# -- inputs ---------------------------------------------------------------------------------


class _Input(BaseModel):
    model_config = ConfigDict(frozen=True)


class Text(_Input):
    """Something the seller typed in answer to the current step."""

    kind: Literal["text"] = "text"
    value: str
    step: str | None = None
    """The step the answer was typed for, when the adapter knows it (a reply to a card)."""


class Choice(_Input):
    """A selection made on a card: the step it belongs to and the value(s) picked."""

    kind: Literal["choice"] = "choice"
    step: str
    value: str | tuple[str, ...]


class CommandName(StrEnum):
    """Commands a seller can give at any step."""

    START = "start"
    BACK = "back"
    SKIP = "skip"
    CANCEL = "cancel"
    HELP = "help"
    REVIEW = "review"
    EDIT = "edit"
    SUBMIT = "submit"
    RESUME = "resume"
    REAPPLY = "reapply"
    KEEP = "keep"


class Command(_Input):
    """A command: ``start`` takes a flow name and optional referral id as ``arg``."""

    kind: Literal["command"] = "command"
    name: CommandName
    arg: str | None = None
    step: str | None = None
    """The step whose card carried the button, to tell a stale click from a current one."""


Verdict = Literal["approve", "reject", "retry", "withdraw"]
"""What a click on an approval card asks for (Retry: send an approved registration again)."""


class Decision(_Input):
    """A click on an approval card (or its reject form): approve, reject with a reason, retry
    a registration Partner Center refused, or withdraw one's own request."""

    kind: Literal["decision"] = "decision"
    approval: str
    """The approval's id."""
    verdict: Verdict
    reason: str | None = None
    """Why it was rejected (the reason typed in the modal or the card's input)."""


TriageVerdict = Literal["accept", "decline", "assign"]
"""What a click on an incoming referral's card asks for."""


class Triage(_Input):
    """A click on an incoming referral's card (or its decline form): accept it, decline it
    with a reason, or assign it to a seller."""

    kind: Literal["triage"] = "triage"
    referral: str
    """The incoming referral's id."""
    verdict: TriageVerdict
    reason: str | None = None
    """Why it is declined (typed in the modal or the card's input)."""
    assignee: str | None = None
    """Whom it is assigned to: the platform's id of the person picked (a Slack user id, an
    Entra object id)."""


Input = Annotated[Text | Choice | Command | Decision | Triage, Field(discriminator="kind")]

# -- views ----------------------------------------------------------------------------------

SENDING_NOTE = "Sending to Partner Center…"
"""What a clicked Submit (or Reapply) card says while Partner Center is called."""
ALREADY_ANSWERED = "That question was already answered; here is where you are now."


class InputKind(StrEnum):
    """What kind of answer a step wants; the cards pick the control that fits (cards.controls)."""

    TEXT = "text"
    LONG_TEXT = "long_text"
    MONEY = "money"
    DATE = "date"
    EMAIL = "email"
    PHONE = "phone"
    SINGLE = "single"
    MULTI = "multi"
    YES_NO = "yes_no"
    COUNTRY = "country"
    CURRENCY = "currency"


class Option(BaseModel):
    """One choice on a card: the value sent back and the words shown."""

    model_config = ConfigDict(frozen=True)

    value: str
    label: str


class Progress(BaseModel):
    """Where the seller is: step ``number`` of ``total``.

    ``total`` counts the steps that apply for the answers so far and those that may still
    apply, whatever the questions not yet answered are answered with: an upper bound that
    only comes down as answers narrow the flow ("Step 1 of 31", then "Step 2 of 25" once
    the deal is a private lead), and never goes up unless the seller changes or removes an
    answer they gave (an edit, a back and a new answer), and then right after that change.
    Counting only the steps that apply so far made it go up by surprise as answers switched
    steps on ("Step 1 of 25", then "Step 2 of 26"). A bare "Step N" while the total is not
    certain was the other way out, but the register flow stays uncertain to its last
    solution's marketplace question, and a seller is better told the most there can be
    than nothing. The bound is kept tight where the flow knows better (no more solution
    slots than the referral has solutions). ``number`` is the step's place among those
    counted, so it never exceeds ``total``; the review shows no progress.
    """

    model_config = ConfigDict(frozen=True)

    number: int
    total: int


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class Prompt(_View):
    """Ask one step's question."""

    kind: Literal["prompt"] = "prompt"
    flow: str
    step: str
    question: str
    input: InputKind
    required: bool
    choices: tuple[Option, ...] = ()
    """Every valid option when the list is short enough to show; empty for long catalogs."""
    searchable: bool = False
    """The step's catalog is too long to list: adapters offer type-ahead over ``catalog``."""
    catalog: str | None = None
    """The id of the catalog the choices come from (:data:`bot.referrals.catalogs.OFFERED`):
    what a type-ahead lists and a pick is labelled from. None for a flow's own short lists."""
    earliest: date | None = None
    """For a date: the earliest the step accepts (today, when it refuses past dates)."""
    current: str | None = None
    """The answer given before (when going back or editing), shown as the default."""
    error: str | None = None
    hint: str | None = None
    suggestions: tuple[Option, ...] = ()
    """After a wrong answer to an enum step: the closest valid values."""
    progress: Progress
    can_go_back: bool
    placeholder: str | None = None
    can_keep: bool = False
    """The question is asked again by an edit and has an answer: Keep leaves it as it is."""


class ReviewLine(BaseModel):
    """One answered (or missing) field on the review card."""

    model_config = ConfigDict(frozen=True)

    step: str
    label: str
    value: str | None
    note: str | None = None
    """Where an answer the seller did not give came from ("from the customer's country")."""


class ReviewSection(BaseModel):
    """A group of review lines with one Edit (``edit`` is what Edit sends: ``edit EDIT``
    asks the group's questions again)."""

    model_config = ConfigDict(frozen=True)

    edit: str
    title: str
    lines: tuple[ReviewLine, ...]
    """The answers, and the required questions still unanswered (``value`` None)."""
    left_out: tuple[str, ...] = ()
    """Labels of the optional questions left unanswered: one line for all of them."""


class Review(_View):
    """Everything answered so far, with an edit handle per field, before submitting."""

    kind: Literal["review"] = "review"
    flow: str
    title: str
    lines: tuple[ReviewLine, ...]
    """Every line, in order."""
    sections: tuple[ReviewSection, ...] = ()
    """The lines in groups, each with one Edit; none when each line has its own Edit."""
    missing: tuple[str, ...] = ()
    """Labels of required fields still unanswered; submit is refused until they are."""
    notice: str | None = None
    """Something the seller must know first, e.g. what changed under them (412)."""
    can_reapply: bool = False


class Created(_View):
    """Referrals the flow created (two for a co-sell with Microsoft)."""

    kind: Literal["created"] = "created"
    referrals: tuple[Referral, ...]
    message: str


class ReferralCard(_View):
    """One referral as it now stands (after an update, a close or a team change)."""

    kind: Literal["referral"] = "referral"
    referral: Referral
    message: str | None = None
    registrable: bool = False
    """Whether the card offers Register: the referral could be eligible for deal registration
    (see :func:`bot.referrals.registration.could_register`), and the button types
    ``/referral register ID``, which asks Partner Center before anything starts."""


class ReferralList(_View):
    """A page of referrals (``/referral list``, ``/referral find``), or a pick list: the
    referrals words named when they named several. Its rows are numbered in order from 1:
    ``/referral show 2`` means the second."""

    kind: Literal["referral_list"] = "referral_list"
    title: str
    referrals: tuple[Referral, ...]
    total: int | None = None
    truncated: bool = False
    more: str | None = None
    """The command that shows the next page (``/referral list open 2``), when there is one."""
    pick: str | None = None
    """For a pick list, the subcommand (``update``) a row's button runs on its referral, as
    if its id had been typed; None for a list, whose rows offer Show."""
    note: str | None = None
    """A line under the rows (how many more matched, and how to narrow them down)."""


class DraftSummary(BaseModel):
    """A draft in progress, as the seller's home page lists it."""

    model_config = ConfigDict(frozen=True)

    flow: str
    title: str
    progress: Progress | None
    """None when the draft is at its review."""
    updated_at: datetime


ApprovalState = Literal[
    "pending", "approved", "submitted", "failed", "rejected", "expired", "withdrawn"
]
"""Where a request for approval of a deal registration stands."""


class ApprovalCard(_View):
    """A request to approve a deal registration, as approvers and the requester see it."""

    kind: Literal["approval"] = "approval"
    approval_id: str
    status: ApprovalState
    referral_id: str
    referral_name: str | None = None
    customer: str | None = None
    requester: str
    """Who asked, by name."""
    requested_at: datetime
    registration: DealRegistration
    eligibility: ReferralEligibility | None = None
    """The eligibility report the request was made with."""
    decided_by: str | None = None
    """Who moved it last (approved, rejected, withdrew), by name; None for the bot."""
    decided_at: datetime | None = None
    reason: str | None = None
    """Why it was rejected, or what Partner Center said when it refused the registration."""
    reference: str | None = None
    """Partner Center's request id of the registration, once sent."""
    expires_at: datetime | None = None
    """When a pending request lapses unanswered."""
    young: bool = False
    """The referral was less than 72 hours old when the registration was asked for."""
    actions: tuple[Verdict, ...] = ()
    """The buttons to show (none once decided): approvers get Approve and Reject (Retry and
    Reject once Partner Center refused it), the requester Withdraw."""
    message: str | None = None
    """A line above the card for the person it is shown to (who decided before them)."""


class ApprovalList(_View):
    """Requests for approval (``/referral approvals``): each as its card."""

    kind: Literal["approval_list"] = "approval_list"
    title: str
    approvals: tuple[ApprovalCard, ...]
    empty: str = "Nothing waits for a decision."
    """What to say when there are none."""


InboundState = Literal[
    "waiting", "accepting", "declining", "accepted", "declined", "answered", "expired"
]
"""Where an incoming referral's answer stands (``answered``: in Partner Center itself)."""


class InboundCard(_View):
    """A referral sent to the partner (by Microsoft or another partner), waiting for an answer
    or answered: the triage card of a channel, a matched seller's DM, the inbox."""

    kind: Literal["inbound"] = "inbound"
    referral: Referral
    """The referral as it arrived: who sent it, the customer, the need, the value, the
    contact."""
    status: InboundState
    expires_at: datetime | None = None
    days_left: int | None = None
    """Whole days left before Partner Center archives it unanswered, while it waits."""
    decided_by: str | None = None
    """Who answered it (or is answering it), by name."""
    decided_at: datetime | None = None
    reason: str | None = None
    """Why it was declined; for one answered in Partner Center, the status it has there."""
    problem: str | None = None
    """What Partner Center said when it refused the last answer sent."""
    assignee: str | None = None
    """Whom it is assigned to, by name."""
    actions: tuple[TriageVerdict, ...] = ()
    """The buttons to show: Accept, Decline and Assign while it waits; none once answered."""
    message: str | None = None
    """A line above the card for the person it is shown to (a reminder, who decided)."""


class InboundList(_View):
    """Incoming referrals waiting for an answer (``/referral inbox``), oldest first."""

    kind: Literal["inbound_list"] = "inbound_list"
    title: str
    referrals: tuple[InboundCard, ...]
    empty: str = "No incoming referral waits for an answer."


class Home(_View):
    """The seller's home page: their draft in progress and their open referrals."""

    kind: Literal["home"] = "home"
    draft: DraftSummary | None
    referrals: tuple[Referral, ...]
    total: int | None = None
    problem: str | None = None
    """Why the referrals could not be listed (Partner Center refused or was unreachable)."""
    approvals: tuple[ApprovalCard, ...] = ()
    """Requests waiting for this person: to decide (an approver), or their own."""
    inbound: tuple[InboundCard, ...] = ()
    """Incoming referrals waiting for an answer that this person may give."""


class EligibilityReport(_View):
    """A referral's deal-registration eligibility (and the partner's, when it was checked)."""

    kind: Literal["eligibility"] = "eligibility"
    referral_id: str
    eligibility: ReferralEligibility
    partner_eligible: bool | None = None
    """Whether the partner may register deals at all; None when not checked."""


class Notice(_View):
    """A short statement: cancelled, resumed, already answered, help."""

    kind: Literal["notice"] = "notice"
    message: str
    detail: str | None = None


class Problem(_View):
    """Something went wrong; ``hint`` says what to do. ``reference`` ties it to the logs."""

    kind: Literal["problem"] = "problem"
    message: str
    hint: str | None = None
    reference: str | None = None


StatusEvent = Literal["new", "accepted", "won", "lost", "declined", "expired"]
"""What happened to a referral, as channels hear it."""


class StatusChange(_View):
    """A referral's status changed (or a new one arrived): the card a subscribed channel gets."""

    kind: Literal["status_change"] = "status_change"
    event: StatusEvent
    referral_id: str
    name: str | None = None
    customer: str | None = None
    value: float | None = None
    currency: str | None = None
    before: str | None = None
    """The status before, in words (``Active, Accepted``); None for a new referral."""
    after: str
    """The status now, in words (``Closed, Won``)."""
    reason: str | None = None
    """Why it was lost or declined, as Partner Center has it."""
    team: tuple[str, ...] = ()
    """The referral's team, as names or emails."""
    closing: date | None = None
    link: str | None = None
    """The referral in Partner Center's web UI."""


class SignIn(_View):
    """A private link that signs the seller in to Partner Center as themselves."""

    kind: Literal["sign_in"] = "sign_in"
    url: str
    message: str
    """Why sign-in is asked for (first time, expired, revoked)."""
    detail: str | None = None


View = Annotated[
    Prompt
    | Review
    | Created
    | ReferralCard
    | ReferralList
    | EligibilityReport
    | Notice
    | Problem
    | SignIn
    | StatusChange
    | ApprovalCard
    | ApprovalList
    | InboundCard
    | InboundList,
    Field(discriminator="kind"),
]
