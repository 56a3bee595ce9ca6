"""What the chat front ends say at the edge of an approval decision, before a worker decides.

An approval card is shared: it sits in the approvals channel for every approver to see. So a
click on it is never answered by rewriting it; the clicker alone hears that the decision was
taken (:data:`DECISION_TAKEN`), and the worker rewrites the card for everyone once the
decision is known. A rejection without a reason is refused where it was typed (Slack's modal,
the Teams card's invoke answer) and never queued: the requester could not act on it.
"""

from __future__ import annotations

from typing import Final

from bot.conversation import Decision

DECISION_TAKEN: Final = "Got it; the card will show the outcome."
"""The clicker's answer to a decision click, shown to them alone."""
REASON_NEEDED: Final = "Say why, so the requester can fix it."
"""Why a rejection with a blank reason is refused."""


def lacks_reason(decision: Decision) -> bool:
    """Whether ``decision`` is a rejection whose reason is missing or blank."""
    return decision.verdict == "reject" and not (decision.reason or "").strip()
