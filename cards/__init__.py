"""Pure renderers: turn neutral views and referral models into Block Kit, Adaptive Cards, text.

The words every surface shares are in :mod:`cards.words`, the control each question gets in
:mod:`cards.controls`. The words a chat front says on its own (a failure, a stale card) are
re-exported here for the handlers.
"""

from cards.words import (
    ANSWER_SENT,
    SENDING_NOTE,
    STALE_CARD,
    STALE_CARD_DETAIL,
    TRY_AGAIN,
    UNEXPECTED,
    UNEXPECTED_NOTHING_CHANGED,
)

__all__ = [
    "ANSWER_SENT",
    "SENDING_NOTE",
    "STALE_CARD",
    "STALE_CARD_DETAIL",
    "TRY_AGAIN",
    "UNEXPECTED",
    "UNEXPECTED_NOTHING_CHANGED",
]
