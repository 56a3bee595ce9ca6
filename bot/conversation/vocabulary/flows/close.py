"""``/referral close ID``: won, lost or declined, with a reason for the last two.

The transition table is checked before anything is sent. Diagram: ``docs/flows/close.md``.
"""

from __future__ import annotations

from typing import Any

from bot.conversation.views import InputKind
from bot.conversation.vocabulary import parsers
from bot.conversation.vocabulary.flows.builders import one_of
from bot.conversation.vocabulary.paths import ApiPath, Conversion
from bot.conversation.vocabulary.steps import Fixed, Flow, Step, Submit, answer_in
from bot.referrals import limits
from bot.referrals.catalogs import ReferralSubstatus
from bot.referrals.lookup import Catalog

OUTCOMES: Catalog[str] = Catalog(
    "outcome",
    ("won", "lost", "declined"),
    labels={"won": "Won", "lost": "Lost", "declined": "Declined (we won't pursue it)"},
    aliases={"win": "won", "lose": "lost", "decline": "declined"},
)

SUBSTATUSES = {
    "won": ReferralSubstatus.WON,
    "lost": ReferralSubstatus.LOST,
    "declined": ReferralSubstatus.DECLINED,
}
assert set(SUBSTATUSES) == set(OUTCOMES)


def _substatus(outcome: Any) -> Any:
    return SUBSTATUSES[str(outcome)].value


def _outcome(substatus: Any) -> Any:
    # An open referral's substatus (Pending, Accepted) is no outcome: nothing to show.
    return next((o for o, s in SUBSTATUSES.items() if s.value == substatus), None)


FLOW = Flow(
    name="close",
    title="Close referral",
    submit=Submit.CLOSE_REFERRAL,
    needs_referral=True,
    steps=(
        one_of(
            "outcome",
            "Outcome",
            "How did it end?",
            Fixed(OUTCOMES),
            display=lambda outcome: OUTCOMES.label(str(outcome)),
            fills=ApiPath("/substatus", Conversion(_substatus, _outcome)),
        ),
        Step(
            "reason",
            "Reason",
            "Why? A sentence for the record.",
            InputKind.LONG_TEXT,
            parsers.long_text("The reason", limits.STATUS_REASON),
            required=answer_in("outcome", "lost", "declined"),
            fills=ApiPath("/statusReason"),
        ),
    ),
)
