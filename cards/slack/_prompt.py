"""A question card, with the control that fits the answer, and its record once answered.

Which control a question gets is decided in :mod:`cards.controls`; here is how each is drawn
in Block Kit and how its click comes back (see :mod:`cards.ids`):

* buttons (up to five choices, and yes/no): one each, ``Action.CHOOSE``, the step and value
  in the button's value (:func:`~cards.slack._choice.encode_choice`). Slack wants an
  ``action_id`` only once per actions block, so each button gets a row of its own;
* a select (up to 100 choices): a static select, ``Action.CHOOSE`` (several:
  ``Action.CHOOSE_MANY``, on a section, where multi-selects are documented to work), the
  option's value as is and the step in the block id (``STEP_BLOCK_PREFIX + step``);
* a type-ahead (long catalogs, countries and currencies): an external select,
  ``Action.SEARCH`` (several: ``Action.CHOOSE_MANY``), answered by the app's options listener;
* dates: a date picker, ``Action.PICK_DATE``, the step in the block id (Block Kit has no
  earliest day: the engine refuses a day before ``Prompt.earliest`` with its own words);
* anything else: the seller types the answer as a reply.

Below the control, a row of Back / Keep (an edit asking an answered question again) / Skip /
Review / Cancel carries the step id as its value, so a click on an old card can be told from
one on the current card.
"""

from __future__ import annotations

from collections.abc import Sequence

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

from bot.conversation.views import Option, Prompt
from cards import words
from cards.controls import Control, Plan, control_for, initial_date, is_current, suggested
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


def prompt_blocks(prompt: Prompt) -> list[Block]:
    """Progress, question, current answer, error, the control, and the navigation row."""
    blocks: list[Block] = [
        context(words.progress_line(prompt)),
        section(question_text(prompt.question)),
    ]
    if prompt.current is not None:
        blocks.append(context(f"{words.CURRENT}{escape(prompt.current)}"))
    if prompt.error:
        said = [f":warning: {escape(prompt.error)}"]
        if prompt.hint:
            said.append(escape(prompt.hint))
        blocks.append(section("\n".join(said)))
    elif prompt.hint:
        blocks.append(context(escape(prompt.hint)))
    plan = control_for(prompt)
    picks = suggested(prompt, plan)
    if picks:
        blocks.extend(_choice_buttons(prompt.step, picks, None))
    blocks.extend(_control(prompt, plan))
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
        blocks.append(context(words.progress_line(prompt)))
    blocks.append(section(f"{question_text(question)}\n{words.answered_line(escape(answer))}"))
    return blocks


def navigation(prompt: Prompt) -> Block:
    """Back, Keep (an edit asking an answered question again), Skip, Review and Cancel, each
    naming the step it was shown for."""
    row: list[InteractiveElement] = []
    if prompt.can_go_back:
        row.append(button(words.BACK, Action.BACK, value=prompt.step))
    if prompt.can_keep:
        row.append(button(words.KEEP, Action.KEEP, value=prompt.step))
    if not prompt.required:
        row.append(button(words.SKIP, Action.SKIP, value=prompt.step))
    row.append(button(words.REVIEW, Action.REVIEW, value=prompt.step))
    row.append(cancel_button(prompt.step))
    return actions(row)


def cancel_button(step: str | None = None) -> InteractiveElement:
    """Cancel, after a confirmation: it throws the draft away."""
    return button(
        words.CANCEL,
        Action.CANCEL,
        value=step,
        style="danger",
        confirm=confirm(words.CANCEL_TITLE, words.CANCEL_TEXT, words.CANCEL_YES, words.CANCEL_NO),
    )


def _control(prompt: Prompt, plan: Plan) -> list[Block]:
    """The blocks that take the answer."""
    match plan.control:
        case Control.BUTTONS:
            return _choice_buttons(prompt.step, plan.options, prompt.current)
        case Control.SELECT:
            return _static(prompt, plan.options, many=plan.many)
        case Control.SEARCH:
            return [_external(prompt, many=plan.many)]
        case Control.DATE:
            return [_date_picker(prompt), context(words.OR_TYPE_REPLY)]
        case Control.TEXT | Control.LONG_TEXT:
            return [_reply(prompt)]


def _choice_buttons(step: str, choices: Sequence[Option], current: str | None) -> list[Block]:
    """One button per choice, each in a row of its own; the current answer stands out."""
    blocks: list[Block] = []
    for choice in choices:
        if not fits_button(step, choice.value):
            continue
        pick = button(
            choice.label or choice.value,
            Action.CHOOSE,
            value=encode_choice(step, choice.value),
            style="primary" if is_current(choice, current) else None,
        )
        blocks.append(actions([pick]))
    if len(blocks) < len(choices):
        blocks.append(context(words.OR_TYPE_REPLY if blocks else words.TYPE_REPLY))
    return blocks


def _static(prompt: Prompt, choices: Sequence[Option], *, many: bool) -> list[Block]:
    usable = [choice for choice in choices if fits_option(choice.value)]
    options = [option(choice.label, choice.value) for choice in usable[:OPTIONS]]
    if not options:
        return [_reply(prompt)]
    if many:
        picker = StaticMultiSelectElement(
            placeholder=plain(words.CHOOSE_SEVERAL, PLACEHOLDER),
            action_id=Action.CHOOSE_MANY.value,
            options=options,
        )
        return [_many(prompt, picker)]
    select = StaticSelectElement(
        placeholder=plain(words.CHOOSE_ONE, PLACEHOLDER),
        action_id=Action.CHOOSE.value,
        options=options,
    )
    blocks: list[Block] = [actions([select], block_id=step_block_id(prompt.step))]
    if len(options) < len(choices):
        blocks.append(context(words.OR_TYPE_REPLY))
    return blocks


def _external(prompt: Prompt, *, many: bool) -> Block:
    if many:
        picker = ExternalDataMultiSelectElement(
            placeholder=plain(words.SEARCH, PLACEHOLDER),
            action_id=Action.CHOOSE_MANY.value,
            min_query_length=1,
        )
        return _many(prompt, picker)
    select = ExternalDataSelectElement(
        placeholder=plain(words.SEARCH, PLACEHOLDER),
        action_id=Action.SEARCH.value,
        min_query_length=1,
    )
    return actions([select], block_id=step_block_id(prompt.step))


def _many(prompt: Prompt, picker: InteractiveElement) -> Block:
    # Multi-selects are documented for section accessories (and input blocks), not everywhere
    # a single select may go: a section holds this one, with the step in its block id.
    return SectionBlock(
        text=mrkdwn(words.PICK_SEVERAL_HINT),
        accessory=picker,
        block_id=step_block_id(prompt.step),
    )


def _date_picker(prompt: Prompt) -> Block:
    initial = initial_date(prompt)
    picker = DatePickerElement(
        placeholder=plain(words.PICK_DATE, PLACEHOLDER),
        action_id=Action.PICK_DATE.value,
        initial_date=initial.isoformat() if initial else None,
    )
    return actions([picker], block_id=step_block_id(prompt.step))


def _reply(prompt: Prompt) -> Block:
    if prompt.placeholder:
        return context(words.TYPE_REPLY, f"{words.FOR_EXAMPLE}_{escape(prompt.placeholder)}_")
    return context(words.TYPE_REPLY)
