"""Every word the cards say, decided once: Slack, Teams and the terminal all take them here.

The engine's own words (questions, errors, notices) come in the views; these are the words
the renderers and the chat fronts add around them: progress, button titles, how to answer,
captions, records of answers, and what a person is told when something fails. A platform
may dress them (bold in mrkdwn, a subtle run in Teams, a dim style in the terminal) but never
rewords them, so a seller moving between Slack, Teams and the terminal reads the same thing.

Handlers take their user-facing words from here too (the failure wording, the stale card).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Final, Literal

from bot.conversation import views
from bot.conversation.views import (
    ApprovalCard,
    ApprovalList,
    ApprovalState,
    EligibilityReport,
    Progress,
    Prompt,
    Review,
    StatusChange,
    StatusEvent,
    Verdict,
)
from bot.referrals.models import ReferralEligibility

# -- marks ----------------------------------------------------------------------------------

PASSED: Final = "✓"
FAILED: Final = "✗"
WARNING: Final = "⚠"
MISSING: Final = "-"
"""Shown for a field without a value."""
ANSWERED: Final = PASSED
"""Before the answer on the record a question card becomes."""

# -- where the seller is ---------------------------------------------------------------------

OPTIONAL: Final = "optional"
READY_TO_REVIEW: Final = "Ready to review"


def step_of(progress: Progress) -> str:
    """``Step 3 of 12``."""
    return f"Step {progress.number} of {progress.total}"


def progress_line(prompt: Prompt) -> str:
    """``Step 3 of 12``, and ``· optional`` when the question may be skipped."""
    line = step_of(prompt.progress)
    return line if prompt.required else f"{line} · {OPTIONAL}"


def prompt_summary(prompt: Prompt) -> str:
    """A question card's notification text: ``Step 3 of 12: What is the deal worth?``."""
    return f"{progress_line(prompt)}: {prompt.question}"


# -- asking ---------------------------------------------------------------------------------

CURRENT: Final = "Current: "
"""Before the answer given earlier (going back, editing, an update's present value)."""
FOR_EXAMPLE: Final = "For example: "
TYPE_REPLY: Final = "Type your answer as a reply."
OR_TYPE_REPLY: Final = "Or type your answer as a reply."
CHOOSE_ONE: Final = "Choose one"
CHOOSE_SEVERAL: Final = "Choose one or more"
SEARCH: Final = "Type a name or code"
"""The placeholder of a type-ahead."""
PICK_DATE: Final = "Pick a date"
PICK_SEVERAL_HINT: Final = "Pick one or more; or type them as a reply, separated by commas."
CUT_SHORT: Final = "Not every option fits on this card: if yours is missing, type it as a reply."
TYPE_ANSWER: Final = "Type your answer"
"""The placeholder of a text box without an example."""
YES: Final = "Yes"
NO: Final = "No"

# Typed answers (the terminal, where every answer is typed).
TYPE_SKIP: Final = "(type skip to leave it out)"
TYPE_KEEP: Final = "(type keep to leave it as it is)"
TYPE_SEVERAL: Final = "Pick one or more: numbers or names, separated by commas."
TYPE_YES_NO: Final = "Answer yes or no."
TYPE_NAME_OR_CODE: Final = f"{SEARCH}."

# Inputs of a card (labels and what they say when sent empty).
ANSWER_LABEL: Final = "Your answer"
CHOICE_LABEL: Final = "Your choice"
CHOICES_LABEL: Final = "Your choices"
DATE_LABEL: Final = "Date"
PICK_ONE_FIRST: Final = "Pick one first."
PICK_SEVERAL_FIRST: Final = "Pick at least one first."
PICK_DATE_FIRST: Final = "Pick a date first."
TYPE_FIRST: Final = "Type your answer first."


def for_example(placeholder: str) -> str:
    """``For example: Contoso - Dynamics 365 rollout``."""
    return f"{FOR_EXAMPLE}{placeholder}"


# -- buttons --------------------------------------------------------------------------------

BACK: Final = "Back"
SKIP: Final = "Skip"
KEEP: Final = "Keep"
"""Leave the answer an edit asks for again as it is."""
REVIEW: Final = "Review"
CANCEL: Final = "Cancel"
CHOOSE: Final = "Choose"
SEND: Final = "Send"
SUBMIT: Final = "Submit"
REAPPLY: Final = "Reapply my changes"
EDIT: Final = "Edit"
SHOW: Final = "Show"
REGISTER: Final = "Register deal"
MORE: Final = "More"
RESUME: Final = "Resume"
CANCEL_TITLE: Final = "Cancel this draft?"
CANCEL_TEXT: Final = "Your answers so far are thrown away. Nothing is sent to Partner Center."
CANCEL_YES: Final = "Cancel the draft"
CANCEL_NO: Final = "Keep going"


def edit_field(label: str) -> str:
    """``Edit Deal value``: one field's entry in an Edit menu."""
    return f"{EDIT} {label}"


# -- records of what was answered -------------------------------------------------------------

SENDING_NOTE: Final = views.SENDING_NOTE
"""What a review card says while its submit is under way (the pipeline says it too)."""
ANSWER_SENT: Final = "Sent"
"""What a record says when a click carried no words to show."""


def answered_line(answer: str) -> str:
    """``✓ Partner-led co-sell``: the answer on the record a question card becomes."""
    return f"{ANSWERED} {answer}"


def answered_summary(question: str, answer: str) -> str:
    """A record's notification text: the question and ``✓ answer``."""
    return f"{question} {answered_line(answer)}"


# -- the review -------------------------------------------------------------------------------

NOT_ANSWERED: Final = "missing"
"""A required field still unanswered."""
STILL_NEEDED: Final = "Still needed: "
SUBMIT_OR_EDIT: Final = "Type submit to send, edit FIELD to change one, or cancel."
REAPPLY_OR_EDIT: Final = (
    "Type reapply to apply your changes on top, edit FIELD to change one, or cancel."
)
SUBMIT_OR_EDIT_GROUP: Final = (
    "Type submit to send, edit and a group's or a field's name to change it, or cancel."
)
"""The closing line of a review in groups (``edit the_deal``, ``edit Deal value``)."""
REAPPLY_OR_EDIT_GROUP: Final = (
    "Type reapply to apply your changes on top, edit and a group's or a field's name to "
    "change it, or cancel."
)
LEFT_OUT: Final = "Left out: "
"""Before the optional questions of a review group left unanswered."""


def still_needed(labels: Sequence[str]) -> str:
    """``Still needed: Deal value, Currency.``"""
    return f"{STILL_NEEDED}{', '.join(labels)}."


def left_out(labels: Sequence[str]) -> str:
    """``Left out: Industries, Products, Services``: a group's unanswered optional questions."""
    return f"{LEFT_OUT}{', '.join(labels)}"


def aside(note: str) -> str:
    """``(from the customer's country)``: where an answer the seller did not give came from,
    shown beside it."""
    return f"({note})"


def edit_group(edit: str) -> str:
    """``(edit the_deal)``: how a review group is changed by typing (the terminal)."""
    return f"(edit {edit})"


def review_summary(review: Review) -> str:
    """A review card's notification text."""
    if review.missing:
        return f"{review.title}: {len(review.missing)} more answers needed before submitting."
    return f"{review.title}: check your answers, then submit."


def fields_not_shown(count: int) -> str:
    """What a review too long for one card says about the lines it leaves out."""
    return f"{count} more fields are not shown; type edit FIELD to change one."


def groups_not_shown(count: int) -> str:
    """What a review in groups too long for one card says about the groups it leaves out."""
    noun = "group is" if count == 1 else "groups are"
    return f"{count} more {noun} not shown; type edit and a group's name to change one."


# -- referrals --------------------------------------------------------------------------------

MAX_LISTED: Final = 20
"""Referrals shown on a list or a home page; the rest are counted."""
UNNAMED: Final = "(unnamed referral)"
NO_REFERRALS: Final = "No referrals found."
NO_OPEN_REFERRALS: Final = "You have no open referrals."
NO_DRAFT: Final = "No draft in progress. Type /referral new in a chat with me to start one."
NO_POLICIES: Final = "(the service listed no policies)"
NOT_SHOWN: Final = "Some details do not fit on this card."
HOME_TITLE: Final = "Referrals"
YOUR_OPEN_REFERRALS: Final = "Your open referrals"
DRAFT_IN_PROGRESS: Final = "Draft in progress: "
NOTES: Final = "Notes"
REQUIREMENTS: Final = "Requirements"
LOOKED_AT: Final = "Looked at"
REFERENCE: Final = "Reference: "
"""Before the reference id a failure gives, to quote to support."""


def list_caption(shown: int, listed: int, total: int | None, truncated: bool) -> str:
    """``20 of 25 referrals``, and a word when the listing stopped at its page limit.

    ``shown`` referrals are on the card, of the ``listed`` the view holds; ``total`` is how
    many there are in all when the service said so.
    """
    counted = max(total if total is not None else listed, listed, shown)
    noun = "referral" if counted == 1 else "referrals"
    caption = f"{shown} of {counted} {noun}" if counted != shown else f"{shown} {noun}"
    if truncated:
        caption += "; stopped at the page limit, narrow the filter to see the rest"
    return caption


def more_not_shown(count: int) -> str:
    """What a card too small for every referral says about the rest."""
    return f"{count} more not shown."


def policies_not_shown(count: int) -> str:
    """What an eligibility card too small for every policy says about the rest."""
    return f"{count} more policies not shown."


def draft_where(progress: Progress | None) -> str:
    """Where a draft in progress stands: ``Step 3 of 12`` or ``Ready to review``."""
    return step_of(progress) if progress is not None else READY_TO_REVIEW


def draft_status(progress: Progress | None, changed: str) -> str:
    """``Step 3 of 12 · last changed <when>``; ``changed`` is the platform's own time."""
    return f"{draft_where(progress)} · last changed {changed}"


def eligibility_verdict(eligibility: ReferralEligibility, referral_id: str) -> str:
    """``✓ Referral X is eligible for deal registration (2 passed, 0 failed).``"""
    mark = PASSED if eligibility.is_eligible else FAILED
    return f"{mark} {eligibility_words(eligibility, referral_id)}"


def eligibility_words(eligibility: ReferralEligibility, referral_id: str) -> str:
    """The verdict without its mark (for a surface that colours the mark)."""
    verdict = "eligible" if eligibility.is_eligible else "not eligible"
    return (
        f"Referral {referral_id} is {verdict} for deal registration "
        f"({len(eligibility.passed_policies)} passed, {len(eligibility.failed_policies)} failed)."
    )


PICK_BUTTONS: Final[Mapping[str, str]] = {
    "show": SHOW,
    "update": "Update",
    "close": "Close",
    "team": "Add to team",
    "register": REGISTER,
}
"""The button of a pick list's row, by the subcommand it runs on the row's referral."""


def pick_button(subcommand: str) -> str:
    """The title of a pick list's button: what it does to the referral of its row."""
    return PICK_BUTTONS.get(subcommand, CHOOSE)


def pick_command(subcommand: str, referral_id: str) -> str:
    """``/referral update ID``: what a pick list's button types for the seller."""
    return f"/referral {subcommand} {referral_id}"


def by_number(subcommand: str | None) -> str:
    """How a row of a list is picked by typing (the terminal has no buttons)."""
    return f"Type /referral {subcommand or 'show'} N for row N."


def register_command(referral_id: str) -> str:
    """``/referral register ID``: what the Register button types for the seller."""
    return f"/referral register {referral_id}"


def register_hint(referral_id: str) -> str:
    """How a referral that could be registered is registered by typing (the terminal has no
    buttons)."""
    return f"Deal registration: {register_command(referral_id)}"


def home_summary(draft_title: str | None) -> str:
    """A home card's notification text."""
    if draft_title is not None:
        return f"Referrals: your {draft_title} draft is waiting."
    return "Referrals: your open referrals."


# -- what happened to a referral (a channel's notification) -----------------------------------

STATUS_EVENTS: Final[Mapping[StatusEvent, str]] = {
    "new": "\N{SQUARED NEW} New referral",
    "accepted": "\N{HANDSHAKE} Accepted",
    "won": "\N{PARTY POPPER} Won",
    "lost": "\N{CHART WITH DOWNWARDS TREND} Lost",
    "declined": "\N{NO ENTRY SIGN} Declined",
    "expired": "\N{HOURGLASS} Expired",
}
"""What happened, as a channel's card says it first: a mark and a word per event."""
Tone = Literal["good", "bad", "warning", "neutral"]
STATUS_TONES: Final[Mapping[StatusEvent, Tone]] = {
    "new": "neutral",
    "accepted": "good",
    "won": "good",
    "lost": "bad",
    "declined": "bad",
    "expired": "warning",
}
"""How a surface that colours text may colour each event's headline (same on every one)."""
REASON: Final = "Reason"
STATUS_ID: Final = "Id"
OPEN_IN_PARTNER_CENTER: Final = "Open in Partner Center"
Money = Callable[[Decimal | None, str | None], str | None]


def status_headline(view: StatusChange) -> str:
    """``🎉 Won: Contoso pilot``: what happened, to which deal."""
    name = view.name if view.name and view.name.strip() else UNNAMED
    return f"{STATUS_EVENTS[view.event]}: {name}"


def status_summary(view: StatusChange) -> str:
    """A status card's notification text: the headline, and the customer when known."""
    headline = status_headline(view)
    return f"{headline} · {view.customer}" if view.customer else headline


def status_move(before: str | None, after: str) -> str:
    """``Active, Accepted → Closed, Won``; only the status now for a new referral."""
    return f"{before} \N{RIGHTWARDS ARROW} {after}" if before else after


def status_facts(view: StatusChange, money: Money) -> list[tuple[str, str]]:
    """The facts a status card shows under its headline, by label, leaving out the unknown.

    ``money`` writes the deal value (:func:`cards.formatting.money`; it is passed in because
    that module reads its words from here). The labels are those of the referral cards.
    """
    rows: list[tuple[str, str | None]] = [
        ("Customer", view.customer),
        ("Deal value", money(_decimal(view.value), view.currency)),
        ("Status", status_move(view.before, view.after)),
        ("Team", ", ".join(person for person in view.team if person.strip()) or None),
        ("Closing", view.closing.isoformat() if view.closing else None),
    ]
    return [(label, value) for label, value in rows if value and value.strip()]


def _decimal(value: float | None) -> Decimal | None:
    """A float as the decimal it prints as (``1234.5``, not a binary fraction's digits);
    None for no value or one that is not a number."""
    return Decimal(repr(value)) if value is not None and math.isfinite(value) else None


# -- the terminal --------------------------------------------------------------------------------

INPUT_PROMPT: Final = "you \N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK} "
"""What the terminal shows before each line the seller types."""
GOODBYE: Final = "Bye. An unfinished draft stays saved: /referral resume picks it up."
UNEXPECTED_HINT: Final = "Try again; referral-bot -v chat logs the details."
"""The terminal's hint after :data:`UNEXPECTED`."""

# -- failures ----------------------------------------------------------------------------------

UNEXPECTED: Final = "Something went wrong on my side."
UNEXPECTED_NOTHING_CHANGED: Final = "Something went wrong on my side; nothing changed."
TRY_AGAIN: Final = "Try again in a moment."
STALE_CARD: Final = "This card is no longer in use."
STALE_CARD_DETAIL: Final = "Say “referral resume” to carry on with your draft, or “referral help”."

# -- who is served -------------------------------------------------------------------------------

GUESTS_REFUSED: Final = "Guests can't use this bot. Ask someone in your organisation for help."
OTHER_TENANT: Final = "This bot serves its own organisation's Microsoft Teams tenant only."


def other_workspace(workspace: str | None) -> str:
    """The answer to someone from a Slack workspace the bot does not serve."""
    named = f"the {workspace} workspace" if workspace else "its own workspace"
    return f"This bot serves {named} only."


SIGN_IN_BUTTON = "Sign in to Partner Center"
SIGN_IN_PRIVATE = "This link is yours alone and works once, within 10 minutes."


# -- deal-registration eligibility, in plain words ------------------------------------------

POLICY_WORDS: Final[dict[str, tuple[str, str, str]]] = {
    "isDealTypeCosellOrPartnerLed": (
        "The deal is shared with Microsoft (co-sell or partner-led).",
        "The deal is private: only co-sell and partner-led deals can be registered.",
        "Share it with Microsoft sellers (/referral update ID).",
    ),
    "isMicrosoftReferralAcceptedOrWon": (
        "Microsoft's side has accepted it.",
        "Microsoft's side has not accepted it yet.",
        "Wait for the Microsoft seller to accept the co-sell invitation.",
    ),
    "isSolutionIncentiveEligible": (
        "It includes an Azure IP co-sell eligible solution.",
        "None of its solutions is Azure IP co-sell eligible.",
        "Add an Azure IP co-sell eligible solution to the referral.",
    ),
    "isDealValueEligible": (
        "The deal is worth more than USD 25,000.",
        "The deal is worth USD 25,000 or less.",
        "If the deal is bigger, update its value (/referral update ID).",
    ),
    "isCustomerManaged": (
        "The customer is a Microsoft-managed customer.",
        "The customer is not matched as a Microsoft-managed customer.",
        "Customer matching is not available through the API: check the customer in Partner Center.",
    ),
}
"""What each documented policy means, passed and failed, and what would fix a failed one."""


def policy_sentence(name: str, passed: bool) -> str:
    """A policy's outcome in plain words (its name when it is not one we know)."""
    known = POLICY_WORDS.get(name)
    if known is None:
        return name
    return known[0] if passed else known[1]


def policy_fix(name: str, passed: bool) -> str | None:
    """What would make a failed policy pass, when known."""
    known = POLICY_WORDS.get(name)
    return None if passed or known is None else known[2]


def policy_outcomes(eligibility: ReferralEligibility) -> list[tuple[bool, str]]:
    """Each policy's outcome in plain words, failed ones first (what stands in the way)."""
    return [
        (policy.is_eligible, policy_sentence(policy.policy_name, policy.is_eligible))
        for policy in [*eligibility.failed_policies, *eligibility.passed_policies]
    ]


# -- the partner's own eligibility ------------------------------------------------------------

PARTNER_ELIGIBLE: Final = "Your organization may register deals."
PARTNER_NOT_ELIGIBLE: Final = (
    "Your organization is not approved for deal registration by Microsoft (partner eligibility)."
)
PARTNER_FIX: Final = (
    "Ask a Partner Center admin of your organization to check its deal-registration "
    "eligibility with Microsoft: no referral can be registered until it is granted."
)


def partner_sentence(eligible: bool) -> str:
    """Whether the organization may register deals at all, in plain words."""
    return PARTNER_ELIGIBLE if eligible else PARTNER_NOT_ELIGIBLE


def partner_fix(eligible: bool) -> str | None:
    """What to do when the organization may not register deals."""
    return None if eligible else PARTNER_FIX


def eligibility_summary(view: EligibilityReport) -> str:
    """An eligibility card's notification text: the referral's verdict, after the
    organization's refusal when it may not register deals at all (nothing else matters
    then)."""
    verdict = eligibility_verdict(view.eligibility, view.referral_id)
    return f"{PARTNER_NOT_ELIGIBLE} {verdict}" if view.partner_eligible is False else verdict


# -- deal-registration approvals --------------------------------------------------------------

APPROVE: Final = "Approve"
REJECT: Final = "Reject"
RETRY: Final = "Retry"
WITHDRAW: Final = "Withdraw"
VERDICT_BUTTONS: Final[Mapping[Verdict, str]] = {
    "approve": APPROVE,
    "reject": REJECT,
    "retry": RETRY,
    "withdraw": WITHDRAW,
}
"""The title of each button of an approval card."""
APPROVAL_TONES: Final[Mapping[ApprovalState, Tone]] = {
    "pending": "neutral",
    "approved": "good",
    "submitted": "good",
    "failed": "bad",
    "rejected": "bad",
    "expired": "warning",
    "withdrawn": "neutral",
}
"""How a surface that colours text may colour each state's heading."""
YOUNG_REFERRAL: Final = (
    "The referral is less than 72 hours old: Microsoft may reject a registration this early."
)
WAITING_FOR_DECISION: Final = "Waiting for a decision"
"""The home page's section of requests waiting for the person it belongs to."""
APPROVALS_COMMAND: Final = "/referral approvals"

# Facts of a request and its registration, by label.
REFERRAL: Final = "Referral"
CUSTOMER: Final = "Customer"
REFERRAL_ID: Final = "Referral id"
REQUESTED_BY: Final = "Requested by"
ASKED: Final = "Asked"
DECIDED: Final = "Decided"
EXPIRES: Final = "Expires"
PARTNER_CENTER_REFERENCE: Final = "Partner Center reference"
REGISTRATION: Final = "Registration"
REGISTRATION_TYPE: Final = "Type"
CONTRACT_VALUE: Final = "Contract value"
SIGNED: Final = "Signed"
STARTS: Final = "Starts"
ENDS: Final = "Ends"
TERM: Final = "Term"
SOLUTIONS: Final = "Solutions"
NO_SOLUTIONS: Final = "No solutions listed."
UNNAMED_SOLUTION: Final = "(unnamed solution)"
DEPLOYED_ON_AZURE: Final = "Deployed on Azure"
PRIMARY_DEPLOYMENT: Final = "Primary deployment"
PRICING_MODEL: Final = "Pricing model"
SOLUTION_VALUE: Final = "Value"
MARKETPLACE: Final = "Marketplace transacted"
ELIGIBILITY: Final = "Eligibility"
MAX_SOLUTIONS: Final = 5
"""Solutions shown on a card; the rest are counted."""
MAX_POLICIES: Final = 10
"""Eligibility policies shown on an approval card (five are documented); the rest counted."""
MAX_HOME_APPROVALS: Final = 5
"""Requests shown on a home page; the rest are counted, with the command that lists them."""

# Rejecting: Slack's modal and the Teams card's reason box.
REJECT_TITLE: Final = "Reject registration"
REASON_LABEL: Final = "Reason (for Reject)"
REASON_QUESTION: Final = "Why? The requester sees this"
REASON_FIRST: Final = "Say why before rejecting."
REASON_LENGTH: Final = 1000
"""Longest reason a person may type (the modal and the card's box both stop there)."""


def approval_title(view: ApprovalCard) -> str:
    """``Deal registration for Contoso pilot``: what is asked."""
    name = view.referral_name if view.referral_name and view.referral_name.strip() else UNNAMED
    return f"Deal registration for {name}"


def approval_state(view: ApprovalCard) -> str:
    """Where the request stands, as it follows the title (``rejected by Ada: too early``).

    The time of a decision is not part of it: each surface shows times in its own way (a
    reader's time zone on Slack and Teams), next to the facts.
    """
    by = f" by {view.decided_by}" if view.decided_by else ""
    because = f": {view.reason.strip()}" if view.reason and view.reason.strip() else ""
    states: Mapping[ApprovalState, str] = {
        "pending": "waiting for approval",
        "approved": f"approved{by}",
        "submitted": f"approved{by} and sent to Partner Center",
        "failed": f"approved{by}, but Partner Center refused it{because}",
        "rejected": f"rejected{by}{because}",
        "expired": "expired unanswered",
        "withdrawn": "withdrawn by the requester",
    }
    return states[view.status]


def approval_status(view: ApprovalCard) -> str:
    """:func:`approval_state` as a line of its own (``Rejected by Ada: too early``)."""
    state = approval_state(view)
    return state[:1].upper() + state[1:]


def approval_heading(view: ApprovalCard) -> str:
    """``Deal registration for Contoso pilot: waiting for approval``: what is asked and where
    it stands, in one line (a card's heading, its notification, the reject form's question)."""
    return f"{approval_title(view)}: {approval_state(view)}"


def approvals_summary(view: ApprovalList) -> str:
    """A list of requests' notification text: its title and how many, or that there are none."""
    count = len(view.approvals)
    if not count:
        return f"{view.title}: {view.empty}"
    return f"{view.title}: {count} {'request' if count == 1 else 'requests'}"


def solutions_not_shown(count: int) -> str:
    """What a card too small for every solution of a registration says about the rest."""
    return f"and {count} more"


def approvals_not_shown(count: int) -> str:
    """What a list or home page too small for every request says about the rest."""
    noun = "request" if count == 1 else "requests"
    return f"{count} more {noun} not shown: type {APPROVALS_COMMAND} to see them."


def withdraw_hint(approval_id: str) -> str:
    """How the requester takes a request back by typing (the terminal has no buttons)."""
    return f"Type /referral withdraw {approval_id} to take the request back."
