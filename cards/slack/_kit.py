"""Block Kit building blocks that cannot break Slack's limits.

Every builder clips what it is given to the limit Slack (and ``slack_sdk``'s validation)
sets for that spot, so a long customer name or a pasted essay never makes ``to_dict()``
raise or ``chat.postMessage`` fail with ``invalid_blocks``. Values that cannot be clipped
without changing their meaning (an option's value, a button's value) are the caller's to
check, with :func:`fits_option` and :data:`BUTTON_VALUE`.

Text comes in two kinds: mrkdwn, which callers build from :func:`escape`-d data and their
own formatting, and plain text (buttons, options, headers), which Slack shows as is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    BlockElement,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    InteractiveElement,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from cards.ids import STEP_BLOCK_PREFIX, Action
from cards.words import MISSING

# Limits, from slack_sdk's own validation where it checks them, else from Slack's reference.
SECTION_TEXT = SectionBlock.text_max_length
FIELDS_PER_SECTION = SectionBlock.fields_max_length
FIELD_TEXT = 2000
"""Each field of a section; Slack checks it, slack_sdk does not."""
CONTEXT_TEXT = 3000
CONTEXT_ELEMENTS = ContextBlock.elements_max_length
ACTIONS_ELEMENTS = ActionsBlock.elements_max_length
HEADER_TEXT = HeaderBlock.text_max_length
BUTTON_TEXT = ButtonElement.text_max_length
BUTTON_VALUE = ButtonElement.value_max_length
OPTION_TEXT = Option.label_max_length
OPTION_VALUE = Option.value_max_length
OPTIONS = StaticSelectElement.options_max_length
PLACEHOLDER = 150
ID_LENGTH = Block.block_id_max_length
CONFIRM_TITLE = ConfirmObject.title_max_length
CONFIRM_TEXT = ConfirmObject.text_max_length
CONFIRM_BUTTON = ConfirmObject.confirm_max_length
MESSAGE_BLOCKS = 50
SURFACE_BLOCKS = View.blocks_max_length
"""Home tab and modals."""
FALLBACK_TEXT = 3000
"""The notification text of a message: Slack allows far more, a notification needs the gist."""

ELLIPSIS = "…"

_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


def escape(text: str) -> str:
    """``text`` made safe for mrkdwn: ``&``, ``<`` and ``>`` become entities.

    Without it a customer called ``<!channel>`` would notify a whole channel and one called
    ``A <B> & C`` would lose its middle. Apply it once, to every value that comes from a
    seller or from Partner Center (twice would show ``&amp;`` as typed).
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """Plain text cut to ``limit`` characters, with an ellipsis when something was cut."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def clip_mrkdwn(text: str, limit: int) -> str:
    """Escaped mrkdwn cut to ``limit`` characters, never in the middle of an entity."""
    if len(text) <= limit:
        return text
    return _PARTIAL_ENTITY.sub("", text[: limit - 1]) + ELLIPSIS


def plain(text: str, limit: int) -> PlainTextObject:
    """A plain-text object: clipped, and never empty (Slack refuses empty text)."""
    return PlainTextObject(text=clip(text, limit) if text.strip() else MISSING, emoji=True)


def mrkdwn(text: str, limit: int = SECTION_TEXT) -> MarkdownTextObject:
    """A mrkdwn object from escaped text: clipped, never empty, and taken literally (no
    automatic links or mentions in what a seller typed)."""
    return MarkdownTextObject(
        text=clip_mrkdwn(text, limit) if text.strip() else MISSING, verbatim=True
    )


def section(text: str, *, accessory: BlockElement | None = None) -> SectionBlock:
    """A section of escaped mrkdwn, with an optional element on its right."""
    return SectionBlock(text=mrkdwn(text), accessory=accessory)


def field_sections(fields: Iterable[str]) -> list[SectionBlock]:
    """Sections of two-column fields (escaped mrkdwn), as many as the fields need."""
    texts = [mrkdwn(field, FIELD_TEXT) for field in fields]
    return [
        SectionBlock(fields=texts[start : start + FIELDS_PER_SECTION])
        for start in range(0, len(texts), FIELDS_PER_SECTION)
    ]


def context(*texts: str) -> ContextBlock:
    """A line of small grey text; each part is escaped mrkdwn."""
    return ContextBlock(elements=[mrkdwn(text, CONTEXT_TEXT) for text in texts[:CONTEXT_ELEMENTS]])


def header(text: str) -> HeaderBlock:
    """A large bold title (plain text)."""
    return HeaderBlock(text=plain(text, HEADER_TEXT))


def local_time(moment: datetime) -> str:
    """A time each reader sees in their own time zone, with UTC as the fallback (mrkdwn)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    fallback = aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(aware.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def fact(label: str, value: str | None) -> str:
    """``*Label*`` over the escaped value, or a dash when there is none."""
    return f"*{label}*\n{escape(value) if value else MISSING}"


def button(
    text: str,
    action: Action,
    *,
    value: str | None = None,
    style: str | None = None,
    confirm: ConfirmObject | None = None,
) -> ButtonElement:
    """A button; ``value`` must already fit :data:`BUTTON_VALUE` (it is clipped otherwise)."""
    return ButtonElement(
        text=plain(text, BUTTON_TEXT),
        action_id=action.value,
        value=clip(value, BUTTON_VALUE) if value is not None else None,
        style=style,
        confirm=confirm,
    )


def confirm(title: str, text: str, yes: str, no: str) -> ConfirmObject:
    """A confirmation dialog shown before a button's action is sent."""
    return ConfirmObject(
        title=plain(title, CONFIRM_TITLE),
        text=plain(text, CONFIRM_TEXT),
        confirm=plain(yes, CONFIRM_BUTTON),
        deny=plain(no, CONFIRM_BUTTON),
        style="danger",
    )


def fits_option(value: str) -> bool:
    """Whether ``value`` can be an option's value unchanged (cutting it would change it)."""
    return 0 < len(value) <= OPTION_VALUE


def option(label: str, value: str) -> Option:
    """A select option; check the value with :func:`fits_option` first."""
    return Option(text=plain(label or value, OPTION_TEXT), value=value)


def actions(elements: Sequence[InteractiveElement], *, block_id: str | None = None) -> ActionsBlock:
    """A row of controls (at most 25; Slack wants each ``action_id`` once per row)."""
    return ActionsBlock(elements=list(elements[:ACTIONS_ELEMENTS]), block_id=block_id)


def step_block_id(step: str) -> str:
    """The block id naming the step a select or date picker answers."""
    return clip(f"{STEP_BLOCK_PREFIX}{step}", ID_LENGTH)


def to_dicts(blocks: Iterable[Block]) -> list[dict[str, Any]]:
    """Blocks as the JSON the Web API takes."""
    return [block.to_dict() for block in blocks]
