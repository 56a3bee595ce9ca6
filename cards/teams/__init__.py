"""Teams renderers: neutral views in, Adaptive Cards 1.5 out.

Pure functions, no I/O: the caller sends what they return. Cards are built with the Teams
SDK's card models (``microsoft_teams.cards``) and handed over as the plain dicts an
attachment takes (:func:`attachment`). Every card keeps to what Teams accepts, whatever the
data:

* version 1.5, valid against the official Adaptive Card schema (the tests check each card);
* at most 24,000 bytes of JSON (Teams refuses a message over about 28 KB): long lists and
  long reviews show what fits and count the rest (:class:`~cards.teams._kit.Budget`);
* at most six actions per action set (Teams drops the others), none without a title, no
  empty text, no empty choice set, one input at most (or, on a card of decisions whose
  buttons each read a box of their own, several, none of them required);
* text from sellers, the engine or Partner Center is never read as markdown
  (:mod:`cards.teams._kit`).

Every action is an ``Action.Execute`` with an ``Action.Submit`` fallback; what they carry
and how :func:`read_action` reads it back is in :mod:`cards.teams._actions`. The control each
question gets is chosen in :mod:`cards.controls` and drawn in :mod:`cards.teams._prompt`; how
long lists are cut, in :mod:`cards.teams._options`. Approval cards (their reason box, and why
they carry no owner) are drawn in :mod:`cards.teams._approvals`. The words are
:mod:`cards.words`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, assert_never

from microsoft_teams.cards.core import CardElement, OpenUrlAction

from bot.conversation.views import (
    ApprovalCard,
    ApprovalList,
    Choice,
    Created,
    EligibilityReport,
    Home,
    InboundCard,
    InboundList,
    Input,
    Notice,
    Problem,
    Prompt,
    ReferralCard,
    ReferralList,
    Review,
    SignIn,
    StatusChange,
    View,
)
from cards import inbound, words
from cards.controls import label
from cards.teams._actions import CATALOG, LABEL, QUESTION, TypedText, carried_labels, read_action
from cards.teams._approvals import approval_body, approval_list_body
from cards.teams._inbound import inbound_body, inbox_body
from cards.teams._kit import LONG_TEXT, SUMMARY, Budget, actions, clip, run, said
from cards.teams._kit import card as card_json
from cards.teams._kit import words as runs
from cards.teams._prompt import answered_body, prompt_body
from cards.teams._referrals import (
    created_body,
    eligibility_body,
    home_body,
    list_body,
    referral_body,
    referral_text,
)
from cards.teams._review import review_body
from cards.teams._status import status_body
from cards.words import ANSWER_SENT, SENDING_NOTE

CONTENT_TYPE: Final = "application/vnd.microsoft.card.adaptive"
PROMPT_CARDS: Final = 2048
"""Question cards kept rendered per process (a few hundred steps and their variants)."""

__all__ = [
    "CONTENT_TYPE",
    "OWNER",
    "SENDING_NOTE",
    "TeamsCard",
    "TypedText",
    "answered",
    "attachment",
    "card",
    "clicked",
    "clicked_words",
    "home",
    "owned",
    "read_action",
]


@dataclass(frozen=True, slots=True)
class TeamsCard:
    """A card to send: ``text`` for notifications and clients without cards, ``content`` the
    Adaptive Card JSON."""

    text: str
    content: dict[str, Any]


def card(view: View) -> TeamsCard:
    """Any view the conversation engine returns, as an Adaptive Card (a date question's
    earliest day comes in the prompt, ``Prompt.earliest``)."""
    match view:
        case Prompt():
            return _prompt_card(view)
        case Review():
            return _card(words.review_summary(view), lambda budget: review_body(view, budget))
        case Created():
            return _card(view.message, lambda budget: created_body(view, budget))
        case ReferralCard():
            return _card(referral_text(view), lambda budget: referral_body(view, budget))
        case ReferralList():
            listed = len(view.referrals)
            shown = min(listed, words.MAX_LISTED)
            caption = words.list_caption(shown, listed, view.total, view.truncated)
            return _card(f"{view.title}: {caption}", lambda budget: list_body(view, budget))
        case EligibilityReport():
            verdict = words.eligibility_summary(view)
            return _card(verdict, lambda budget: eligibility_body(view, budget))
        case Notice():
            return _card(view.message, lambda _: _notice(view))
        case Problem():
            return _card(view.message, lambda _: _problem(view))
        case SignIn():
            return _card(view.message, lambda _: _sign_in(view))
        case StatusChange():
            return _status_card(view)
        case ApprovalCard():
            return _card(words.approval_heading(view), lambda budget: approval_body(view, budget))
        case ApprovalList():
            summary = words.approvals_summary(view)
            return _card(summary, lambda budget: approval_list_body(view, budget))
        case InboundCard():
            heading = inbound.inbound_heading(view)
            return _card(heading, lambda budget: inbound_body(view, budget))
        case InboundList():
            summary = inbound.inbox_summary(view)
            return _card(summary, lambda budget: inbox_body(view, budget))
        case _:
            assert_never(view)


@functools.lru_cache(maxsize=PROMPT_CARDS)
def _status_card(view: StatusChange) -> TeamsCard:
    # A change goes to every subscribed channel: rendered once, not once per channel (the
    # cached content is shared and only serialised).
    return _card(words.status_summary(view), lambda budget: status_body(view, budget))


@functools.lru_cache(maxsize=PROMPT_CARDS)
def _prompt_card(view: Prompt) -> TeamsCard:
    # Every seller at the same step sees the same question: rendering it once per process
    # takes the card models off the path of each click. The cached content is shared, so
    # callers must treat it as read-only (they only serialise it).
    return _card(words.prompt_summary(view), lambda budget: prompt_body(view, budget))


def answered(prompt: Prompt | str, answer: str) -> TeamsCard:
    """The card that asked ``prompt`` rewritten as a record: the question and ``✓ answer``,
    with no action and no input left (Teams shows it in place of the card that was clicked,
    so its buttons cannot be used again). ``prompt`` may be just the question's words."""
    question = prompt.question if isinstance(prompt, Prompt) else prompt
    summary = words.answered_summary(question, answer)
    return _card(summary, lambda _: answered_body(prompt, answer))


def clicked(data: Mapping[str, Any], given: Input | TypedText) -> TeamsCard:
    """What a clicked question card turns into at once: the question and the answer given,
    with nothing left to click. ``data`` is the action's data, ``given`` what it decodes to.

    The words come from the click itself (the question and a button's title travel in its
    data), so no lookup stands between the click and Teams' answer; a pick from a list is
    shown by its label: from the catalog the data names, or the labels it carries.
    """
    return answered(*clicked_words(data, given))


def clicked_words(data: Mapping[str, Any], given: Input | TypedText) -> tuple[str, str]:
    """The question a clicked card asked and the answer the click gave, in the card's words
    (both travel in the click's data; see :func:`clicked`)."""
    question = data.get(QUESTION)
    label = data.get(LABEL)
    if isinstance(label, str) and label:
        shown = label
    elif isinstance(given, TypedText):
        shown = given.text
    elif isinstance(given, Choice):
        shown = _labelled(data, given.value)
    else:
        shown = ANSWER_SENT
    return (question if isinstance(question, str) else "", shown)


def _labelled(data: Mapping[str, Any], value: str | tuple[str, ...]) -> str:
    catalog = data.get(CATALOG)
    named = catalog if isinstance(catalog, str) else None
    carried = carried_labels(data)
    values = (value,) if isinstance(value, str) else value
    return ", ".join(carried.get(each) or label(named, each) for each in values)


def home(view: Home) -> TeamsCard:
    """The seller's home card: the draft in progress, with Resume, the requests waiting for
    their decision, with their buttons, and their open referrals."""
    summary = words.home_summary(view.draft.title if view.draft is not None else None)
    return _card(summary, lambda budget: home_body(view, budget))


OWNER: Final = "owner"
"""Action data naming whose draft a card belongs to: in a channel, anyone can click it."""


def owned(made: TeamsCard, owner: str) -> TeamsCard:
    """``made`` with every action's data naming ``owner``, so a click by anyone else can be
    told apart before it changes the card for everyone. The card is copied: rendered cards
    may be shared (see :func:`card`)."""
    return TeamsCard(made.text, _with_owner(made.content, owner))


def _with_owner(node: Any, owner: str) -> Any:
    if isinstance(node, dict):
        copied = {key: _with_owner(value, owner) for key, value in node.items()}
        if node.get("type") in ("Action.Execute", "Action.Submit") and isinstance(
            copied.get("data"), dict
        ):
            copied["data"] = {**copied["data"], OWNER: owner}
        return copied
    if isinstance(node, list):
        return [_with_owner(item, owner) for item in node]
    return node


def attachment(card: TeamsCard) -> dict[str, Any]:
    """The card as a message attachment (``{"contentType": ..., "content": ...}``)."""
    return {"contentType": CONTENT_TYPE, "content": card.content}


def _notice(notice: Notice) -> list[CardElement]:
    body = said(notice.message, weight="Bolder")
    if notice.detail:
        body.extend(said(notice.detail, LONG_TEXT, subtle=True))
    return body


def _sign_in(view: SignIn) -> list[CardElement]:
    body = said(view.message, weight="Bolder")
    body.extend(said(view.detail or words.SIGN_IN_PRIVATE, LONG_TEXT, subtle=True))
    body.append(actions([OpenUrlAction(title=words.SIGN_IN_BUTTON, url=view.url)]))
    return body


def _problem(problem: Problem) -> list[CardElement]:
    body = said(f"{words.FAILED} {problem.message}", weight="Bolder", color="Attention")
    if problem.hint:
        body.extend(said(problem.hint))
    if problem.reference:
        reference = run(problem.reference, subtle=True)
        body.append(runs(run(words.REFERENCE, subtle=True), reference))
    return body


def _card(text: str, build: Callable[[Budget], list[CardElement]]) -> TeamsCard:
    """A card of the body ``build`` makes within the size budget, ``text`` as its summary."""
    summary = clip(" ".join(text.split()), SUMMARY) if text.strip() else "referral-bot"
    return TeamsCard(text=summary, content=card_json(build(Budget(summary)), fallback_text=summary))
