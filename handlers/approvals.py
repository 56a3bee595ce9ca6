"""What the chat front ends say at the edge of an approval decision, before a worker decides.

An approval card is shared: it sits in the approvals channel for every approver to see (as an
incoming referral's card sits in its triage channel). So a click on it is never answered by
rewriting it; the clicker alone hears that the decision was
taken (:data:`DECISION_TAKEN`), and the worker rewrites the card for everyone once the
decision is known. A rejection without a reason is refused where it was typed (Slack's modal,
the Teams card's invoke answer) and never queued: the requester could not act on it.
"""

from __future__ import annotations

from typing import Final

from bot.conversation import Decision, Triage

DECISION_TAKEN: Final = "Got it; the card will show the outcome."
"""The clicker's answer to a decision click, shown to them alone."""
REASON_NEEDED: Final = "Say why, so the requester can fix it."
"""Why a rejection with a blank reason is refused."""


DECLINE_REASON_NEEDED: Final = "Say why you decline it: the sender sees the reason."
"""Why an incoming referral's Decline with a blank reason is refused."""
ASSIGNEE_NEEDED: Final = "Type the email of the seller to assign it to, then click Assign."
"""Why an incoming referral's Assign naming nobody is refused."""


def lacks_reason(decision: Decision) -> bool:
    """Whether ``decision`` is a rejection whose reason is missing or blank."""
    return decision.verdict == "reject" and not (decision.reason or "").strip()


def incomplete(triage: Triage) -> str | None:
    """Why a click on an incoming referral's card lacks what it needs (a Decline's reason,
    an Assign's seller), or None when it has it."""
    if triage.verdict == "decline" and not (triage.reason or "").strip():
        return DECLINE_REASON_NEEDED
    if triage.verdict == "assign" and not (triage.assignee or "").strip():
        return ASSIGNEE_NEEDED
    return None
