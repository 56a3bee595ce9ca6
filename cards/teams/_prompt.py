"""A question card, with the control that fits the answer, and its record once answered.

Which control a question gets is decided in :mod:`cards.controls`; here is how each is drawn
as an Adaptive Card, and what a click sends (the data layout is in :mod:`cards.teams._actions`):

* buttons (up to five choices, and yes/no): one each, ``Action.CHOOSE`` with the choice as its
  value, a row each so that long labels stay readable; the current answer is the positive one;
* a select (up to 100 choices): a compact ``Input.ChoiceSet`` and Choose (``Action.CHOOSE``);
  several answers: ``isMultiSelect`` and ``Action.CHOOSE_MANY``;
* a type-ahead (longer lists, countries and currencies): a choice set with ``style:
  "filtered"`` listing the prompt's choices or its whole catalog (:mod:`cards.teams._options`
  says how much of it fits), ``Action.SEARCH`` (several answers: ``Action.CHOOSE_MANY``);
* dates: an ``Input.Date`` whose earliest day is the prompt's (``Prompt.earliest``), and
  Choose (``Action.PICK_DATE``);
* anything else, money included: an ``Input.Text`` (several lines for long text) and Send
  (``Action.CHOOSE`` with the text box's value), which the adapter sends through the engine's
  text path. Money stays text: the engine reads "50k" and "USD 75,000" (taking the currency
  from it), which a number box would refuse.

Whatever the control, the seller may also type the answer as a reply in the chat. Below the
control, Back / Keep (an edit asking an answered question again) / Skip (optional steps) /
Review / Cancel each carry the step, so a click on an old card can be told from one on the
current card. Cancel asks first, as the Slack card's confirmation does: it opens
(``Action.ShowCard``) a small card holding the real Cancel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from microsoft_teams.cards.core import (
    AdaptiveCard,
    CardElement,
    ChoiceSetInput,
    ChoiceSetInputStyle,
    DateInput,
    InputTextStyle,
    ShowCardAction,
    TextInput,
)

from bot.conversation.views import InputKind, Option, Prompt
from cards import words
from cards.controls import (
    Control,
    Plan,
    control_for,
    initial_date,
    is_current,
    searched,
    suggested,
)
from cards.ids import Action
from cards.teams._actions import (
    CHOICE_INPUT,
    DATE_INPUT,
    TEXT_INPUT,
    VALUE_BYTES,
    choice_value,
    execute,
)
from cards.teams._kit import (
    LONG_TEXT,
    PLACEHOLDER,
    Budget,
    actions,
    clip,
    fits,
    note,
    run,
    said,
)
from cards.teams._kit import (
    words as runs,
)
from cards.teams._options import fitted, usable

PREFILL_BYTES: Final = 8_000
"""Longest earlier answer put back in a text box; a longer one is shown, not prefilled (a
prefill cut short would be sent back cut short)."""
CHOICES_KEY: Final = ',"choices":[]'


def prompt_body(prompt: Prompt, budget: Budget) -> list[CardElement]:
    """Progress, question, current answer, error, suggestions, the control, navigation."""
    head: list[CardElement] = [
        note(words.progress_line(prompt), subtle=True),
        *said(prompt.question, weight="Bolder"),
    ]
    if prompt.current is not None:
        head.append(runs(run(words.CURRENT, weight="Bolder", subtle=True), run(prompt.current)))
    if prompt.error:
        head.extend(said(f"{words.WARNING} {prompt.error}", color="Attention"))
        if prompt.hint:
            head.extend(said(prompt.hint))
    elif prompt.hint:
        head.extend(said(prompt.hint, subtle=True))
    nav = navigation(prompt)
    budget.reserve(*head, nav)
    plan = control_for(prompt)
    control = _control(prompt, plan, budget)
    picks = suggested(prompt, plan)
    offered = _buttons(prompt, picks, None, budget) if picks else []
    return [*head, *offered, *control, nav]


def answered_body(prompt: Prompt | str, answer: str) -> list[CardElement]:
    """The question and the answer given, with nothing left to click or fill in."""
    question = prompt.question if isinstance(prompt, Prompt) else prompt
    body: list[CardElement] = []
    if isinstance(prompt, Prompt):
        body.append(note(words.progress_line(prompt), subtle=True))
    if question.strip():
        body.extend(said(question, weight="Bolder"))
    body.extend(said(words.answered_line(answer), LONG_TEXT))
    return body


def navigation(prompt: Prompt) -> CardElement:
    """Back, Keep (an edit asking an answered question again), Skip, Review and Cancel, each
    naming the step it was shown for."""
    asked, step = prompt.question, prompt.step
    row = []
    if prompt.can_go_back:
        row.append(execute(words.BACK, Action.BACK, step=step, inputs="none", question=asked))
    if prompt.can_keep:
        row.append(execute(words.KEEP, Action.KEEP, step=step, inputs="none", question=asked))
    if not prompt.required:
        row.append(execute(words.SKIP, Action.SKIP, step=step, inputs="none", question=asked))
    row.append(execute(words.REVIEW, Action.REVIEW, step=step, inputs="none", question=asked))
    return actions([*row, cancel(step, asked)])


def cancel(step: str | None = None, question: str | None = None) -> ShowCardAction:
    """Cancel, after a confirmation: it throws the draft away."""
    yes = execute(
        words.CANCEL_YES,
        Action.CANCEL,
        step=step,
        inputs="none",
        style="destructive",
        question=question,
    )
    confirm = AdaptiveCard(
        body=[note(words.CANCEL_TITLE, weight="Bolder"), note(words.CANCEL_TEXT)], actions=[yes]
    )
    return ShowCardAction(title=words.CANCEL, card=confirm)


# -- controls --------------------------------------------------------------------------------


def _control(prompt: Prompt, plan: Plan, budget: Budget) -> list[CardElement]:
    """The elements that take the answer."""
    match plan.control:
        case Control.BUTTONS:
            return _buttons(prompt, plan.options, prompt.current, budget)
        case Control.SELECT:
            return _choice_set(prompt, plan.options, budget, style="compact", many=plan.many)
        case Control.SEARCH:
            options = searched(prompt, plan)
            return _choice_set(prompt, options, budget, style="filtered", many=plan.many)
        case Control.DATE:
            return _date(prompt, budget)
        case Control.TEXT | Control.LONG_TEXT:
            return _text(prompt, budget, multiline=plan.control is Control.LONG_TEXT)


def _buttons(
    prompt: Prompt, choices: Sequence[Option], current: str | None, budget: Budget
) -> list[CardElement]:
    """One button per choice, a row each, as many as fit; the current answer stands out."""
    hint = note(words.OR_TYPE_REPLY, subtle=True)
    budget.reserve(hint)
    rows: list[CardElement] = []
    for choice in choices:
        if not fits(choice.value, VALUE_BYTES):
            continue
        pick = execute(
            choice.label if choice.label.strip() else choice.value,
            Action.CHOOSE,
            step=prompt.step,
            value=choice.value,
            inputs="none",
            style="positive" if is_current(choice, current) else None,
            question=prompt.question,
        )
        row = actions([pick])
        if budget.take(row):
            rows.append(row)
    if len(rows) < len(choices):
        rows.append(hint if rows else note(words.TYPE_REPLY, subtle=True))
    return rows


def _choice_set(
    prompt: Prompt,
    options: Sequence[Option],
    budget: Budget,
    *,
    style: ChoiceSetInputStyle,
    many: bool,
) -> list[CardElement]:
    """A drop-down (or type-ahead) of ``options`` and the button that sends the pick."""
    candidates = usable(options)
    if not candidates:
        return _text(prompt, budget, multiline=False)
    verb = Action.CHOOSE_MANY if many else Action.SEARCH if style == "filtered" else Action.CHOOSE
    labels = None
    if prompt.catalog is None:
        labels = {o.value: o.label for o in candidates if o.label.strip() and o.label != o.value}
    send = actions(
        [
            execute(
                words.CHOOSE,
                verb,
                step=prompt.step,
                question=prompt.question,
                catalog=prompt.catalog,
                labels=labels,
            )
        ]
    )
    preset = _preselected(prompt.current, candidates, many=many)
    placeholder = (
        words.SEARCH if style == "filtered" else words.CHOOSE_SEVERAL if many else words.CHOOSE_ONE
    )
    shell = ChoiceSetInput(
        id=CHOICE_INPUT,
        style=style,
        is_multi_select=many or None,
        placeholder=placeholder,
        value=preset,
        wrap=True,
        label=words.CHOICES_LABEL if many else words.CHOICE_LABEL,
        is_required=True,
        error_message=words.PICK_SEVERAL_FIRST if many else words.PICK_ONE_FIRST,
    )
    cut = note(words.CUT_SHORT, subtle=True)
    budget.reserve(shell, send, cut)
    budget.reserve_bytes(len(CHOICES_KEY))  # the options are counted one by one, not their key
    choices = fitted(candidates, budget)
    kept = {choice.value for choice in choices}
    if preset is not None and not set(preset.split(",")) <= kept:
        shell.value = None  # a preset option that did not fit cannot be selected
    shell.choices = choices
    if len(choices) < len(options):
        return [shell, send, cut]
    return [shell, send]


def _date(prompt: Prompt, budget: Budget) -> list[CardElement]:
    earliest, initial = prompt.earliest, initial_date(prompt)
    picker = DateInput(
        id=DATE_INPUT,
        min=earliest.isoformat() if earliest else None,
        value=initial.isoformat() if initial else None,
        label=words.DATE_LABEL,
        is_required=True,
        error_message=words.PICK_DATE_FIRST,
    )
    pick = execute(words.CHOOSE, Action.PICK_DATE, step=prompt.step, question=prompt.question)
    elements: list[CardElement] = [
        picker,
        actions([pick]),
        note(words.OR_TYPE_REPLY, subtle=True),
    ]
    budget.reserve(*elements)
    return elements


def _text(prompt: Prompt, budget: Budget, *, multiline: bool) -> list[CardElement]:
    example = words.for_example(prompt.placeholder) if prompt.placeholder else words.TYPE_ANSWER
    box = TextInput(
        id=TEXT_INPUT,
        is_multiline=multiline or None,
        style=_TEXT_STYLES.get(prompt.input),
        placeholder=clip(example, PLACEHOLDER),
        value=_prefill(prompt.current),
        label=words.ANSWER_LABEL,
        is_required=True,
        error_message=words.TYPE_FIRST,
    )
    send = execute(words.SEND, Action.CHOOSE, step=prompt.step, question=prompt.question)
    elements: list[CardElement] = [box, actions([send])]
    budget.reserve(*elements)
    return elements


_TEXT_STYLES: Final[dict[InputKind, InputTextStyle]] = {
    InputKind.EMAIL: "Email",
    InputKind.PHONE: "Tel",
}


def _preselected(current: str | None, options: Sequence[Option], *, many: bool) -> str | None:
    """The choice-set value that selects the current answer, when the options hold it.

    The current answer reads as the review card shows it: a value or label, or for several
    answers the values joined with ", ".
    """
    if current is None:
        return None
    if not many:
        match = next((o for o in options if is_current(o, current)), None)
        return choice_value(match.value) if match else None
    shown = f", {current}, "
    picked = [o for o in options if f", {o.value}, " in shown or f", {o.label}, " in shown]
    return ",".join(choice_value(option.value) for option in picked) or None


def _prefill(current: str | None) -> str | None:
    if current is None or not current.strip() or not fits(current, PREFILL_BYTES):
        return None
    return current
