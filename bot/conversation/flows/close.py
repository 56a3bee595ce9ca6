"""``/referral close ID``: won, lost or declined, with a reason for the last two.

The transition table is checked before anything is sent. Diagram: ``docs/flows/close.md``.
"""

from __future__ import annotations

from bot.conversation import parsers
from bot.conversation.flows.builders import one_of
from bot.conversation.steps import Fixed, Flow, Step, answer_in
from bot.conversation.views import InputKind
from bot.referrals import limits
from bot.referrals.catalog import Catalog

OUTCOMES: Catalog[str] = Catalog(
    "outcome",
    ("won", "lost", "declined"),
    labels={"won": "Won", "lost": "Lost", "declined": "Declined (we won't pursue it)"},
    aliases={"win": "won", "lose": "lost", "decline": "declined"},
)

FLOW = Flow(
    name="close",
    title="Close referral",
    needs_referral=True,
    steps=(
        one_of(
            "outcome",
            "Outcome",
            "How did it end?",
            Fixed(OUTCOMES),
            display=lambda outcome: OUTCOMES.label(str(outcome)),
        ),
        Step(
            "reason",
            "Reason",
            "Why? A sentence for the record.",
            InputKind.LONG_TEXT,
            parsers.long_text("The reason", limits.STATUS_REASON),
            required=answer_in("outcome", "lost", "declined"),
        ),
    ),
)
