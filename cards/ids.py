"""Every action, block and callback id the chat platforms send back, in one place.

Slack's ``action_id`` and Teams' ``verb`` are these values; the step a control belongs to
travels in the control's ``value`` (or block id), so a click names the question it answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from bot.conversation.views import TriageVerdict, Verdict


class Action(StrEnum):
    """What a control on a card asks for."""

    CHOOSE = "rb_choose"
    """A button or static select answering the step with one value."""
    CHOOSE_MANY = "rb_choose_many"
    """A multi-select answering the step with several values."""
    SEARCH = "rb_search"
    """A type-ahead select (countries, currencies, long catalogs)."""
    PICK_DATE = "rb_pick_date"
    BACK = "rb_back"
    SKIP = "rb_skip"
    KEEP = "rb_keep"
    """Leave the answer an edit asks for again as it is (the step in the value)."""
    CANCEL = "rb_cancel"
    REVIEW = "rb_review"
    EDIT = "rb_edit"
    SUBMIT = "rb_submit"
    RESUME = "rb_resume"
    REAPPLY = "rb_reapply"
    SHOW = "rb_show"
    """Open one referral (its id in the value)."""
    REGISTER = "rb_register"
    """Ask for a deal registration of one referral (its id in the value): a shortcut for
    typing ``/referral register ID``."""
    PAGE = "rb_page"
    """Another page of a referral list (the page token in the value)."""
    PICK = "rb_pick"
    """One referral of a pick list: the command it stands for in the value
    (``/referral update ID``), as if typed with the referral's id."""
    SIGN_IN = "rb_sign_in"
    """A link button opening the sign-in page: the browser does the work, the bot only acks."""
    OPEN_IN_PARTNER_CENTER = "rb_open_pc"
    """A link button opening a referral in Partner Center's web UI (on a channel's status
    card): the browser does the work, but Slack still sends the click, which must be acked."""

    APPROVE = "rb_approve"
    """Approve a deal registration (the approval's id in the value)."""
    REJECT = "rb_reject"
    """Reject one: Slack opens a modal asking why; a Teams card sends its reason input."""
    RETRY = "rb_retry"
    """Send an approved registration Partner Center refused once more."""
    WITHDRAW = "rb_withdraw"
    """The requester takes their request back."""
    REJECT_REASON = "rb_reject_reason"
    """Slack: the reject modal's ``callback_id``, its submission carrying the reason."""

    ACCEPT = "rb_accept"
    """Accept an incoming referral (its id in the value)."""
    DECLINE = "rb_decline"
    """Decline one: Slack opens a modal asking why; a Teams card sends its reason input."""
    ASSIGN = "rb_assign"
    """Assign one to a seller: Slack's user picker (the referral's id in its block id), a
    Teams card's seller box (the id in the value)."""
    DECLINE_REASON = "rb_decline_reason"
    """Slack: the decline modal's ``callback_id``, its submission carrying the reason."""


REASON_INPUT = "rb_reason"
"""The reason input of the reject modal (its block and action id) and of a Teams approval
card (its input id, sent with the Reject verb)."""

STEP_BLOCK_PREFIX = "rb_step:"
"""Block id of a step's input block: ``rb_step:<step id>``."""

VERDICTS: Final[Mapping[Action, Verdict]] = {
    Action.APPROVE: "approve",
    Action.REJECT: "reject",
    Action.RETRY: "retry",
    Action.WITHDRAW: "withdraw",
}
"""What a click on each approval card button asks for: Slack's ``action_id`` and Teams'
``verb`` both read back through this table, so a button and its decision cannot drift."""
VERDICT_ACTIONS: Final[Mapping[Verdict, Action]] = {
    verdict: action for action, verdict in VERDICTS.items()
}
"""The button each verdict of :attr:`ApprovalCard.actions` is drawn as."""

ASSIGNEE_INPUT = "rb_assignee"
"""The box of a Teams incoming-referral card where the seller to assign is named (an email),
sent with the Assign verb."""
INBOUND_BLOCK_PREFIX = "rb_inbound:"
"""Block id of an incoming referral's actions row in Slack: ``rb_inbound:<referral id>``, so
a pick in its user picker (which carries no value of its own) names the referral."""

TRIAGE: Final[Mapping[Action, TriageVerdict]] = {
    Action.ACCEPT: "accept",
    Action.DECLINE: "decline",
    Action.ASSIGN: "assign",
}
"""What a click on each incoming referral card control asks for (Slack's ``action_id`` and
Teams' ``verb`` both read back through this table)."""
TRIAGE_ACTIONS: Final[Mapping[TriageVerdict, Action]] = {
    verdict: action for action, verdict in TRIAGE.items()
}
"""The control each verdict of :attr:`InboundCard.actions` is drawn as."""
