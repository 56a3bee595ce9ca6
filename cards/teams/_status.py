"""A referral's change of status, as the card a subscribed channel gets.

Every text from Partner Center (the deal's name, the customer, the reason, the team) is a
text run, never markdown, as on every card here. The headline is coloured by what happened
(:data:`cards.words.STATUS_TONES`). Two actions: ``Action.OpenUrl`` to the referral in
Partner Center (the browser does it; Teams sends the bot nothing) and Show, the same
``Action.Execute`` a list's Show is, which reads back as ``/referral show <id>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from microsoft_teams.cards.core import Action as CardAction
from microsoft_teams.cards.core import CardElement, OpenUrlAction, TextColor

from bot.conversation.views import StatusChange
from cards import words
from cards.formatting import money
from cards.ids import Action
from cards.teams._actions import VALUE_BYTES, execute
from cards.teams._kit import LABEL, TEXT, Budget, actions, fact, fits, note, run
from cards.teams._kit import words as runs

LINK_BYTES: Final = 2_000
"""Longest link to Partner Center put on a card; a longer one is left off rather than cut."""
LINK_SCHEMES: Final = ("https://", "http://")
COLORS: Final[Mapping[words.Tone, TextColor]] = {
    "good": "Good",
    "bad": "Attention",
    "warning": "Warning",
    "neutral": "Accent",
}


def status_body(view: StatusChange, budget: Budget) -> list[CardElement]:
    """Headline, the reason (lost, declined), the facts that fit, the id, Open and Show."""
    color = COLORS[words.STATUS_TONES[view.event]]
    headline = " ".join(words.status_headline(view).split())
    head: list[CardElement] = [runs(run(headline, weight="Bolder", size="Large", color=color))]
    if view.reason and view.reason.strip():
        head.append(fact(words.REASON, view.reason))
    tail: list[CardElement] = [
        runs(
            run(f"{words.STATUS_ID}: ", LABEL, subtle=True),
            run(view.referral_id, TEXT, subtle=True),
        )
    ]
    buttons = _actions(view)
    if buttons:
        tail.append(actions(buttons))
    rows = [fact(label, value) for label, value in words.status_facts(view, money)]
    budget.reserve(*head, *tail, note(words.NOT_SHOWN, subtle=True))
    shown: list[CardElement] = []
    for row in rows:
        if not budget.take(row):
            shown.append(note(words.NOT_SHOWN, subtle=True))
            break
        shown.append(row)
    return [*head, *shown, *tail]


def _actions(view: StatusChange) -> list[CardAction]:
    found: list[CardAction] = []
    link = view.link
    if link and fits(link, LINK_BYTES) and link.lower().startswith(LINK_SCHEMES):
        found.append(OpenUrlAction(title=words.OPEN_IN_PARTNER_CENTER, url=link))
    # An id cut short would show another referral, or none: no Show rather than a wrong one.
    if view.referral_id.strip() and fits(view.referral_id, VALUE_BYTES):
        found.append(execute(words.SHOW, Action.SHOW, value=view.referral_id))
    return found
