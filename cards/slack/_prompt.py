"""A question card, with the control that fits the answer, and its record once answered.

Controls and how the click comes back (see :mod:`cards.ids`):

* up to five choices, and yes/no: one button each, ``Action.CHOOSE``, the step and value in
  the button's value (:func:`~cards.slack._choice.encode_choice`). Slack wants an
  ``action_id`` only once per actions block, so each button gets a row of its own;
* up to 100 choices: a static select, ``Action.CHOOSE`` (several: ``Action.CHOOSE_MANY``,
  on a section, where multi-selects are documented to work), the option's value as is and
  the step in the block id (``STEP_BLOCK_PREFIX + step``);
* long catalogs, countries and currencies: an external select, ``Action.SEARCH``
  (several: ``Action.CHOOSE_MANY``), answered by the app's options listener;
* dates: a date picker, ``Action.PICK_DATE``, the step in the block id;
* anything else: the seller types the answer as a reply.

Below the control, a row of Back / Skip / Review / Cancel carries the step id as its value,
so a click on an old card can be told from one on the current card.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from slack_sdk.models.blocks import (
    Block,
    DatePickerElement,
    ExternalDataMultiSelectElement,
    ExternalDataSelectElement,
    InteractiveElement,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
)

from bot.conversation.views import InputKind, Option, Prompt
from cards.ids import Action
from cards.slack._choice import encode_choice, fits_button
from cards.slack._kit import (
    OPTIONS,
    PLACEHOLDER,
    actions,
    button,
    confirm,
    context,
    escape,
    fits_option,
    mrkdwn,
    option,
    plain,
    section,
    step_block_id,
)

MAX_BUTTONS = 5
"""Up to this many choices are buttons; more go in a select."""
MAX_SUGGESTIONS = 5
YES_NO = (Option(value="yes", label="Yes"), Option(value="no", label="No"))
ANSWERED = "✓"

CHOOSE_ONE = "Choose one"
CHOOSE_MANY = "Choose one or more"
SEARCH = "Type a name or code"
PICK_DATE = "Pick a date"
TYPE_REPLY = "Type your answer as a reply."
OR_TYPE_REPLY = "Or type your answer as a reply."
PICK_MANY_HINT = "Pick one or more; or type them as a reply, separated by commas."
CANCEL_TITLE = "Cancel this draft?"
CANCEL_TEXT = "Your answers so far are thrown away. Nothing is sent to Partner Center."
CANCEL_YES = "Cancel the draft"
CANCEL_NO = "Keep going"

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def progress_line(prompt: Prompt) -> str:
    """``Step 5 of 17``, and whether the question may be skipped."""
    line = f"Step {prompt.progress.number} of {prompt.progress.total}"
    return line if prompt.required else f"{line} · optional"


def prompt_blocks(prompt: Prompt) -> list[Block]:
    """Progress, question, current answer, error, the control, and the navigation row."""
    blocks: list[Block] = [context(progress_line(prompt)), section(question_text(prompt.question))]
    if prompt.current is not None:
        blocks.append(context(f"Current: {escape(prompt.current)}"))
    if prompt.error:
        words = [f":warning: {escape(prompt.error)}"]
        if prompt.hint:
            words.append(escape(prompt.hint))
        blocks.append(section("\n".join(words)))
    elif prompt.hint:
        blocks.append(context(escape(prompt.hint)))
    control, as_buttons = _control(prompt)
    if prompt.error and prompt.suggestions and not as_buttons:
        blocks.extend(_choice_buttons(prompt.step, prompt.suggestions[:MAX_SUGGESTIONS], None)[0])
    blocks.extend(control)
    blocks.append(navigation(prompt))
    return blocks


def question_text(question: str) -> str:
    """The question, in bold."""
    return f"*{escape(question)}*" if question.strip() else escape(question)


def answered_blocks(prompt: Prompt | str, answer: str) -> list[Block]:
    """The question and the answer given, with nothing left to click."""
    question = prompt.question if isinstance(prompt, Prompt) else prompt
    blocks: list[Block] = []
    if isinstance(prompt, Prompt):
        blocks.append(context(progress_line(prompt)))
    blocks.append(section(f"{question_text(question)}\n{ANSWERED} {escape(answer)}"))
    return blocks


def navigation(prompt: Prompt) -> Block:
    """Back, Skip, Review and Cancel, each naming the step it was shown for."""
    row: list[InteractiveElement] = []
    if prompt.can_go_back:
        row.append(button("Back", Action.BACK, value=prompt.step))
    if not prompt.required:
        row.append(button("Skip", Action.SKIP, value=prompt.step))
    row.append(button("Review", Action.REVIEW, value=prompt.step))
    row.append(cancel_button(prompt.step))
    return actions(row)


def cancel_button(step: str | None = None) -> InteractiveElement:
    """Cancel, after a confirmation: it throws the draft away."""
    return button(
        "Cancel",
        Action.CANCEL,
        value=step,
        style="danger",
        confirm=confirm(CANCEL_TITLE, CANCEL_TEXT, CANCEL_YES, CANCEL_NO),
    )


def _control(prompt: Prompt) -> tuple[list[Block], bool]:
    """The blocks that take the answer, and whether they are choice buttons."""
    kind, choices = prompt.input, prompt.choices
    if kind is InputKind.YES_NO:
        return _choice_buttons(prompt.step, choices or YES_NO, prompt.current)
    if kind is InputKind.DATE:
        return [_date_picker(prompt), context(OR_TYPE_REPLY)], False
    if kind in (InputKind.COUNTRY, InputKind.CURRENCY):
        return [_external(prompt, many=False)], False
    if kind in (InputKind.SINGLE, InputKind.MULTI):
        many = kind is InputKind.MULTI
        if prompt.searchable or len(choices) > OPTIONS:
            return [_external(prompt, many=many)], False
        if not choices:
            return [_reply(prompt)], False
        if many:
            return _static(prompt, many=True), False
        if len(choices) <= MAX_BUTTONS:
            return _choice_buttons(prompt.step, choices, prompt.current)
        return _static(prompt, many=False), False
    return [_reply(prompt)], False


def _choice_buttons(
    step: str, choices: Sequence[Option], current: str | None
) -> tuple[list[Block], bool]:
    """One button per choice, each in a row of its own; the current answer stands out."""
    blocks: list[Block] = []
    for choice in choices:
        if not fits_button(step, choice.value):
            continue
        chosen = current is not None and current in (choice.value, choice.label)
        pick = button(
            choice.label or choice.value,
            Action.CHOOSE,
            value=encode_choice(step, choice.value),
            style="primary" if chosen else None,
        )
        blocks.append(actions([pick]))
    if len(blocks) < len(choices):
        blocks.append(context(OR_TYPE_REPLY if blocks else TYPE_REPLY))
    return blocks, True


def _static(prompt: Prompt, *, many: bool) -> list[Block]:
    usable = [choice for choice in prompt.choices if fits_option(choice.value)]
    options = [option(choice.label, choice.value) for choice in usable[:OPTIONS]]
    if not options:
        return [_reply(prompt)]
    if many:
        picker = StaticMultiSelectElement(
            placeholder=plain(CHOOSE_MANY, PLACEHOLDER),
            action_id=Action.CHOOSE_MANY.value,
            options=options,
        )
        return [_many(prompt, picker)]
    select = StaticSelectElement(
        placeholder=plain(CHOOSE_ONE, PLACEHOLDER),
        action_id=Action.CHOOSE.value,
        options=options,
    )
    blocks: list[Block] = [actions([select], block_id=step_block_id(prompt.step))]
    if len(options) < len(prompt.choices):
        blocks.append(context(OR_TYPE_REPLY))
    return blocks


def _external(prompt: Prompt, *, many: bool) -> Block:
    if many:
        picker = ExternalDataMultiSelectElement(
            placeholder=plain(SEARCH, PLACEHOLDER),
            action_id=Action.CHOOSE_MANY.value,
            min_query_length=1,
        )
        return _many(prompt, picker)
    select = ExternalDataSelectElement(
        placeholder=plain(SEARCH, PLACEHOLDER),
        action_id=Action.SEARCH.value,
        min_query_length=1,
    )
    return actions([select], block_id=step_block_id(prompt.step))


def _many(prompt: Prompt, picker: InteractiveElement) -> Block:
    # Multi-selects are documented for section accessories (and input blocks), not everywhere
    # a single select may go: a section holds this one, with the step in its block id.
    return SectionBlock(
        text=mrkdwn(PICK_MANY_HINT), accessory=picker, block_id=step_block_id(prompt.step)
    )


def _date_picker(prompt: Prompt) -> Block:
    picker = DatePickerElement(
        placeholder=plain(PICK_DATE, PLACEHOLDER),
        action_id=Action.PICK_DATE.value,
        initial_date=_iso_date(prompt.current),
    )
    return actions([picker], block_id=step_block_id(prompt.step))


def _reply(prompt: Prompt) -> Block:
    if prompt.placeholder:
        return context(TYPE_REPLY, f"For example: _{escape(prompt.placeholder)}_")
    return context(TYPE_REPLY)


def _iso_date(current: str | None) -> str | None:
    if current is None or not _ISO_DATE.fullmatch(current):
        return None
    try:
        return date.fromisoformat(current).isoformat()
    except ValueError:
        return None
