"""The review card: every answer with a way to change it, then submit.

A review in groups (``Review.sections``) shows what is still needed at the top, then one
section per group: its title, a line per answer (``Label: value``, where an answer the
seller did not give came from in italics beside it), the optional questions left out on one
line, and one Edit button (``Action.EDIT``, the group's ``edit`` as value) that asks the
group's questions again. A group's text stops at Slack's 3,000 characters with "…" (every
answer is one Edit away); past 46 groups the rest are counted.

A review without groups gets one section per line with an Edit button each, up to 46
lines. Longer ones put two to five lines in one section, as fields, with an Edit menu
listing them; past 230 lines the rest are counted instead of shown (``edit FIELD`` still
reaches them). So any review fits in one message.
"""

from __future__ import annotations

import math

from slack_sdk.models.blocks import Block, InteractiveElement, OverflowMenuElement, SectionBlock

from bot.conversation.views import Review, ReviewLine, ReviewSection
from cards import words
from cards.ids import Action
from cards.slack._kit import (
    BUTTON_VALUE,
    ELLIPSIS,
    FIELD_TEXT,
    HEADER_TEXT,
    MESSAGE_BLOCKS,
    SECTION_TEXT,
    actions,
    button,
    clip_mrkdwn,
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
LABEL_TEXT = 100
"""Longest field name on a group's line."""
VALUE_TEXT = 1_000
"""Longest answer on a group's line (a long note is cut: the whole of it is one Edit away)."""
NOTE_TEXT = 200
"""Longest word on where an answer came from."""


def review_blocks(review: Review) -> list[Block]:
    """Title, notice, one line per answer with Edit, what is missing, Submit and Cancel; a
    review in groups says what is missing first, then shows a section per group."""
    if review.sections:
        return _grouped_review(review)
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


def _grouped_review(review: Review) -> list[Block]:
    """Title, notice, what is still needed, one section per group with its Edit, Submit and
    Cancel; the groups past what one message holds are counted."""
    head: list[Block] = [header(review.title)]
    if review.notice:
        head.append(section(f":warning: {escape(review.notice)}"))
    if review.missing:
        needed = words.still_needed([escape(label) for label in review.missing])
        head.append(section(f":warning: {needed}"))
    tail: list[Block] = [actions(_decisions(review))]
    room = MESSAGE_BLOCKS - len(head) - len(tail)
    groups = review.sections
    shown = len(groups) if len(groups) <= room else room - 1  # and a line counting the rest
    body: list[Block] = [_group(group) for group in groups[:shown]]
    if len(body) < len(groups):
        body.append(context(words.groups_not_shown(len(groups) - len(body))))
    return [*head, *body, *tail]


def _group(group: ReviewSection) -> Block:
    """A group's title, its lines and what was left out, with one Edit for all of them."""
    texts = [f"*{clip_mrkdwn(escape(_flat(group.title)) or MISSING, HEADER_TEXT)}*"]
    texts.extend(_group_line(line) for line in group.lines)
    if group.left_out:
        texts.append(f"_{escape(words.left_out([_flat(label) for label in group.left_out]))}_")
    fits = 0 < len(group.edit) <= BUTTON_VALUE  # a value cut short would edit something else
    edit = button(words.EDIT, Action.EDIT, value=group.edit) if fits else None
    return section(_within(texts, SECTION_TEXT), accessory=edit)


def _group_line(line: ReviewLine) -> str:
    """``Label: value _(note)_`` on one line; a required answer still missing stands out."""
    label = clip_mrkdwn(escape(_flat(line.label)), LABEL_TEXT)
    if line.value is None:
        return f"{label}: {NOT_ANSWERED}"
    shown = f"{label}: {clip_mrkdwn(escape(_flat(line.value)), VALUE_TEXT)}"
    return f"{shown}{_aside(line.note)}"


def _aside(note: str | None) -> str:
    """Where an answer came from, in italics after it; nothing without a note."""
    if note is None or not note.strip():
        return ""
    return f"  _{clip_mrkdwn(escape(words.aside(_flat(note))), NOTE_TEXT)}_"


def _within(texts: list[str], limit: int) -> str:
    """``texts`` one per line, as many as fit in ``limit`` characters, and "…" for the rest."""
    kept: list[str] = []
    used = 0
    for index, text in enumerate(texts):
        cost = len(text) + (1 if kept else 0)
        rest = 0 if index == len(texts) - 1 else len(ELLIPSIS) + 1
        if used + cost + rest > limit:
            kept.append(ELLIPSIS)
            break
        kept.append(text)
        used += cost
    return "\n".join(kept)


def _flat(text: str) -> str:
    """``text`` on one line: runs of spaces and newlines become one space."""
    return " ".join(text.split())


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
        return f"{escape(line.value)}{_aside(line.note)}"
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
