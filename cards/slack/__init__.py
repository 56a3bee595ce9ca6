"""Slack renderers: neutral views in, Block Kit out.

Pure functions, no I/O: the caller posts what they return. Blocks are built with
``slack_sdk.models`` and handed over as the plain dicts the Web API takes. Every value that
comes from a seller or from Partner Center is escaped (:func:`escape`) and every text is
clipped to the limit Slack sets for its place, so no data can make a card invalid:

* a message has at most 50 blocks, a Home tab 100;
* section text at most 3,000 characters, at most 10 fields of 2,000 each;
* button text at most 75, button value 2,000; option text 75, option value 150;
* at most 100 options per select, 25 elements per actions row, 10 per context line;
* block and action ids at most 255; header text 150; placeholders 150.

How each control reports a click is described in :mod:`cards.slack._prompt`; the value of a
choice button is described in :mod:`cards.slack._choice`; what an approval card's buttons and
its reject modal send, in :mod:`cards.slack._approvals`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, assert_never

from slack_sdk.models.blocks import Block, ButtonElement
from slack_sdk.models.views import View as Surface

from bot.conversation.views import (
    ApprovalCard,
    ApprovalList,
    Created,
    EligibilityReport,
    Home,
    InboundCard,
    InboundList,
    Notice,
    Option,
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
from cards.ids import Action
from cards.slack._approvals import approval_blocks, approval_list_blocks, reject_modal
from cards.slack._choice import decode_choice, encode_choice
from cards.slack._inbound import decline_modal, inbound_blocks, inbox_blocks
from cards.slack._kit import (
    FALLBACK_TEXT,
    OPTIONS,
    SURFACE_BLOCKS,
    clip_mrkdwn,
    context,
    escape,
    fits_option,
    option,
    section,
    to_dicts,
)
from cards.slack._prompt import answered_blocks, prompt_blocks
from cards.slack._referrals import (
    created_blocks,
    eligibility_blocks,
    home_blocks,
    list_blocks,
    listed_caption,
    referral_blocks,
    referral_text,
)
from cards.slack._review import review_blocks
from cards.slack._status import status_blocks
from cards.words import SENDING_NOTE

__all__ = [
    "SENDING_NOTE",
    "SlackMessage",
    "answered",
    "decline_modal",
    "decode_choice",
    "encode_choice",
    "escape",
    "external_options",
    "home",
    "message",
    "reject_modal",
]


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """A message to post: ``text`` for notifications and clients without blocks."""

    text: str
    blocks: list[dict[str, Any]]


STATUS_CARDS = 256
"""Status cards kept rendered: one change goes to every subscribed channel."""


def message(view: View) -> SlackMessage:
    """Any view the conversation engine returns, as a Slack message."""
    match view:
        case Prompt():
            text, blocks = words.prompt_summary(view), prompt_blocks(view)
        case Review():
            text, blocks = words.review_summary(view), review_blocks(view)
        case Created():
            text, blocks = view.message, created_blocks(view)
        case ReferralCard():
            text, blocks = referral_text(view), referral_blocks(view)
        case ReferralList():
            text, blocks = f"{view.title}: {listed_caption(view)}", list_blocks(view)
        case EligibilityReport():
            text = words.eligibility_summary(view)
            blocks = eligibility_blocks(view)
        case Notice():
            text, blocks = view.message, _notice(view)
        case Problem():
            text, blocks = view.message, _problem(view)
        case SignIn():
            text, blocks = view.message, _sign_in(view)
        case StatusChange():
            return _status_message(view)
        case ApprovalCard():
            text, blocks = words.approval_heading(view), approval_blocks(view)
        case ApprovalList():
            text, blocks = words.approvals_summary(view), approval_list_blocks(view)
        case InboundCard():
            text, blocks = inbound.inbound_heading(view), inbound_blocks(view)
        case InboundList():
            text, blocks = inbound.inbox_summary(view), inbox_blocks(view)
        case _:
            assert_never(view)
    return _message(text, blocks)


@functools.lru_cache(maxsize=STATUS_CARDS)
def _status_message(view: StatusChange) -> SlackMessage:
    # A change goes to every subscribed channel: rendered once, not once per channel. The
    # cached message is shared, so callers only serialise it.
    return _message(words.status_summary(view), status_blocks(view))


def answered(prompt: Prompt | str, answer: str) -> SlackMessage:
    """The card that asked ``prompt`` rewritten as a record: the question and ``✓ answer``,
    with nothing left to click. ``prompt`` may be just the question's words."""
    question = prompt.question if isinstance(prompt, Prompt) else prompt
    return _message(words.answered_summary(question, answer), answered_blocks(prompt, answer))


def home(view: Home) -> dict[str, Any]:
    """The App Home tab, as the ``view`` argument of ``views.publish``."""
    blocks = home_blocks(view)[:SURFACE_BLOCKS]
    return Surface(type="home", blocks=blocks).to_dict()


def external_options(options: Sequence[Option]) -> dict[str, Any]:
    """The answer to a type-ahead request (``block_suggestion``): ``{"options": [...]}``.

    At most 100 options; labels are clipped to 75 characters, and options whose value is too
    long to send back unchanged (over 150 characters) are left out.
    """
    usable = [choice for choice in options if fits_option(choice.value)][:OPTIONS]
    return {"options": [option(choice.label, choice.value).to_dict() for choice in usable]}


def _notice(notice: Notice) -> list[Block]:
    blocks: list[Block] = [section(escape(notice.message))]
    if notice.detail:
        blocks.append(context(escape(notice.detail)))
    return blocks


def _sign_in(view: SignIn) -> list[Block]:
    link = ButtonElement(
        text=words.SIGN_IN_BUTTON, action_id=Action.SIGN_IN.value, url=view.url, style="primary"
    )
    blocks: list[Block] = [section(escape(view.message), accessory=link)]
    blocks.append(context(escape(view.detail or words.SIGN_IN_PRIVATE)))
    return blocks


def _problem(problem: Problem) -> list[Block]:
    said = [f":x: {escape(problem.message)}"]
    if problem.hint:
        said.append(escape(problem.hint))
    blocks: list[Block] = [section("\n".join(said))]
    if problem.reference:
        blocks.append(context(f"{words.REFERENCE}{escape(problem.reference)}"))
    return blocks


def _message(text: str, blocks: list[Block]) -> SlackMessage:
    fallback = clip_mrkdwn(escape(text), FALLBACK_TEXT) if text.strip() else "referral-bot"
    return SlackMessage(text=fallback, blocks=to_dicts(blocks))
