"""Teams renderers: neutral views in, Adaptive Cards 1.5 out.

Pure functions, no I/O: the caller sends what they return. Cards are built with the Teams
SDK's card models (``microsoft_teams.cards``) and handed over as the plain dicts an
attachment takes (:func:`attachment`). Every card keeps to what Teams accepts, whatever the
data:

* version 1.5, valid against the official Adaptive Card schema (the tests check each card);
* at most 24,000 bytes of JSON (Teams refuses a message over about 28 KB): long lists and
  long reviews show what fits and count the rest (:class:`~cards.teams._kit.Budget`);
* at most six actions per action set (Teams drops the others), none without a title, no
  empty text, no empty choice set, one input at most;
* text from sellers, the engine or Partner Center is never read as markdown
  (:mod:`cards.teams._kit`).

Every action is an ``Action.Execute`` with an ``Action.Submit`` fallback; what they carry
and how :func:`read_action` reads it back is in :mod:`cards.teams._actions`. The control each
question gets is described in :mod:`cards.teams._prompt`; how long lists are cut, in
:mod:`cards.teams._options`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, assert_never

from microsoft_teams.cards.core import CardElement

from bot.conversation.suggest import searchable_catalog
from bot.conversation.views import (
    Choice,
    Created,
    EligibilityReport,
    Home,
    Input,
    Notice,
    Problem,
    Prompt,
    ReferralCard,
    ReferralList,
    Review,
    View,
)
from cards.teams._actions import LABEL, QUESTION, TypedText, read_action
from cards.teams._kit import LONG_TEXT, SUMMARY, Budget, clip, run, said, words
from cards.teams._kit import card as card_json
from cards.teams._prompt import ANSWERED, answered_body, progress_line, prompt_body
from cards.teams._referrals import (
    FAILED,
    MAX_LISTED,
    created_body,
    eligibility_body,
    eligibility_text,
    home_body,
    home_text,
    list_body,
    list_caption,
    referral_body,
    referral_text,
)
from cards.teams._review import review_body, review_text

CONTENT_TYPE: Final = "application/vnd.microsoft.card.adaptive"
PROMPT_CARDS: Final = 2048
"""Question cards kept rendered per process (a few hundred steps and their variants)."""
ANSWER_SENT: Final = "Sent"
"""What a record says when a click carried no words to show."""
SENDING_NOTE: Final = "Sending to Partner Center…"
"""What a review card says while its submit is under way."""

__all__ = [
    "CONTENT_TYPE",
    "SENDING_NOTE",
    "TeamsCard",
    "TypedText",
    "answered",
    "attachment",
    "card",
    "clicked",
    "home",
    "read_action",
]


@dataclass(frozen=True, slots=True)
class TeamsCard:
    """A card to send: ``text`` for notifications and clients without cards, ``content`` the
    Adaptive Card JSON."""

    text: str
    content: dict[str, Any]


def card(view: View, *, today: date | None = None) -> TeamsCard:
    """Any view the conversation engine returns, as an Adaptive Card.

    ``today`` (the engine's clock) lets a date question refuse past dates in the picker, as
    the step's validator does.
    """
    match view:
        case Prompt():
            return _prompt_card(view, today)
        case Review():
            return _card(review_text(view), lambda budget: review_body(view, budget))
        case Created():
            return _card(view.message, lambda budget: created_body(view, budget))
        case ReferralCard():
            return _card(referral_text(view), lambda budget: referral_body(view, budget))
        case ReferralList():
            shown = min(len(view.referrals), MAX_LISTED)
            caption = list_caption(shown, view.referrals, view.total, view.truncated)
            return _card(f"{view.title}: {caption}", lambda budget: list_body(view, budget))
        case EligibilityReport():
            return _card(eligibility_text(view), lambda budget: eligibility_body(view, budget))
        case Notice():
            return _card(view.message, lambda _: _notice(view))
        case Problem():
            return _card(view.message, lambda _: _problem(view))
        case _:
            assert_never(view)


@functools.lru_cache(maxsize=PROMPT_CARDS)
def _prompt_card(view: Prompt, today: date | None) -> TeamsCard:
    # Every seller at the same step sees the same question: rendering it once per process
    # takes the card models off the path of each click. The cached content is shared, so
    # callers must treat it as read-only (they only serialise it).
    text = f"{progress_line(view)}: {view.question}"
    return _card(text, lambda budget: prompt_body(view, budget, today=today))


def answered(prompt: Prompt | str, answer: str) -> TeamsCard:
    """The card that asked ``prompt`` rewritten as a record: the question and ``✓ answer``,
    with no action and no input left (Teams shows it in place of the card that was clicked,
    so its buttons cannot be used again). ``prompt`` may be just the question's words."""
    question = prompt.question if isinstance(prompt, Prompt) else prompt
    return _card(f"{question} {ANSWERED} {answer}", lambda _: answered_body(prompt, answer))


def clicked(data: Mapping[str, Any], given: Input | TypedText) -> TeamsCard:
    """What a clicked question card turns into at once: the question and the answer given,
    with nothing left to click. ``data`` is the action's data, ``given`` what it decodes to.

    The words come from the click itself (the question and a button's title travel in its
    data), so no lookup stands between the click and Teams' answer; a pick from a list is
    shown by its catalog label.
    """
    question = data.get(QUESTION)
    label = data.get(LABEL)
    if isinstance(label, str) and label:
        shown = label
    elif isinstance(given, TypedText):
        shown = given.text
    elif isinstance(given, Choice):
        shown = _labelled(given.step, given.value)
    else:
        shown = ANSWER_SENT
    return answered(question if isinstance(question, str) else "", shown)


def _labelled(step: str, value: str | tuple[str, ...]) -> str:
    catalog = searchable_catalog(step)
    values = (value,) if isinstance(value, str) else value
    if catalog is None:
        return ", ".join(values)
    return ", ".join(catalog.label(each) if each in catalog else each for each in values)


def home(view: Home) -> TeamsCard:
    """The seller's home card: the draft in progress, with Resume, and their open referrals."""
    return _card(home_text(view), lambda budget: home_body(view, budget))


def attachment(card: TeamsCard) -> dict[str, Any]:
    """The card as a message attachment (``{"contentType": ..., "content": ...}``)."""
    return {"contentType": CONTENT_TYPE, "content": card.content}


def _notice(notice: Notice) -> list[CardElement]:
    body = said(notice.message, weight="Bolder")
    if notice.detail:
        body.extend(said(notice.detail, LONG_TEXT, subtle=True))
    return body


def _problem(problem: Problem) -> list[CardElement]:
    body = said(f"{FAILED} {problem.message}", weight="Bolder", color="Attention")
    if problem.hint:
        body.extend(said(problem.hint))
    if problem.reference:
        body.append(words(run("Reference: ", subtle=True), run(problem.reference, subtle=True)))
    return body


def _card(text: str, build: Callable[[Budget], list[CardElement]]) -> TeamsCard:
    """A card of the body ``build`` makes within the size budget, ``text`` as its summary."""
    summary = clip(" ".join(text.split()), SUMMARY) if text.strip() else "referral-bot"
    return TeamsCard(text=summary, content=card_json(build(Budget(summary)), fallback_text=summary))
