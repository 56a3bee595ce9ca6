"""The review card: every answer with a way to change it, then submit.

A message holds at most 50 blocks. Up to 46 lines (the new-referral flow has 31 at most)
get a section each with an Edit button. Longer reviews put two to five lines in one
section, as fields, with an Edit menu listing them; past 230 lines the rest are counted
instead of shown (``edit FIELD`` still reaches them). So any review fits in one message.
"""

from __future__ import annotations

import math

from slack_sdk.models.blocks import Block, InteractiveElement, OverflowMenuElement, SectionBlock

from bot.conversation.views import Review, ReviewLine
from cards import words
from cards.ids import Action
from cards.slack._kit import (
    FIELD_TEXT,
    MESSAGE_BLOCKS,
    actions,
    button,
    context,
    escape,
    fits_option,
    header,
    mrkdwn,
    option,
    section,
)
from cards.slack._prompt import cancel_button
from cards.words import MISSING

PER_SECTION = OverflowMenuElement.options_max_length
"""Lines sharing one section when the review is long: one Edit menu option each."""
NOT_ANSWERED = f"_{words.NOT_ANSWERED}_"


def review_blocks(review: Review) -> list[Block]:
    """Title, notice, one line per answer with Edit, what is missing, Submit and Cancel."""
    head: list[Block] = [header(review.title)]
    if review.notice:
        head.append(section(f":warning: {escape(review.notice)}"))
    tail: list[Block] = []
    if review.missing:
        needed = words.still_needed([escape(label) for label in review.missing])
        tail.append(section(f":warning: {needed}"))
    tail.append(actions(_decisions(review)))
    room = MESSAGE_BLOCKS - len(head) - len(tail)
    return [*head, *_lines(review, room), *tail]


def _decisions(review: Review) -> list[InteractiveElement]:
    row: list[InteractiveElement] = [
        button(words.SUBMIT, Action.SUBMIT, style=None if review.can_reapply else "primary")
    ]
    if review.can_reapply:
        row.append(button(words.REAPPLY, Action.REAPPLY, style="primary"))
    row.append(cancel_button())
    return row


def _lines(review: Review, room: int) -> list[Block]:
    lines = review.lines
    missing = set(review.missing)
    if len(lines) <= room:
        return [_line_section(line, missing) for line in lines]
    per = max(2, math.ceil(len(lines) / room))
    blocks: list[Block] = []
    if per > PER_SECTION:
        per = PER_SECTION
        shown = (room - 1) * per
        more = len(lines) - shown
        lines = lines[:shown]
    else:
        more = 0
    blocks.extend(
        _grouped_section(lines[start : start + per], missing) for start in range(0, len(lines), per)
    )
    if more:
        blocks.append(context(words.fields_not_shown(more)))
    return blocks


def _answer(line: ReviewLine, missing: set[str]) -> str:
    if line.value is not None:
        return escape(line.value)
    return NOT_ANSWERED if line.label in missing else MISSING


def _line_section(line: ReviewLine, missing: set[str]) -> Block:
    edit = button(words.EDIT, Action.EDIT, value=line.step)
    return section(f"*{escape(line.label)}*\n{_answer(line, missing)}", accessory=edit)


def _grouped_section(lines: tuple[ReviewLine, ...], missing: set[str]) -> Block:
    fields = [
        mrkdwn(f"*{escape(line.label)}*\n{_answer(line, missing)}", FIELD_TEXT) for line in lines
    ]
    edits = [
        option(words.edit_field(line.label), line.step) for line in lines if fits_option(line.step)
    ]
    menu = OverflowMenuElement(action_id=Action.EDIT.value, options=edits) if edits else None
    return SectionBlock(fields=fields, accessory=menu)
