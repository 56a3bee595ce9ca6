"""A question card, with the control that fits the answer, and its record once answered.

Controls, and what a click sends (the data layout is in :mod:`cards.teams._actions`):

* up to five choices, and yes/no: one button each, ``Action.CHOOSE`` with the choice as its
  value, a row each so that long labels stay readable; the current answer is the positive one;
* up to 100 choices: a compact ``Input.ChoiceSet`` and Choose (``Action.CHOOSE``); several
  answers: ``isMultiSelect`` and ``Action.CHOOSE_MANY``;
* longer lists, countries and currencies: a type-ahead choice set (``style: "filtered"``)
  listing the catalog (:mod:`cards.teams._options` says how much of it), ``Action.SEARCH``
  (several answers: ``Action.CHOOSE_MANY``);
* dates: an ``Input.Date``, earliest today when the step refuses past dates, and Choose
  (``Action.PICK_DATE``);
* anything else, money included: an ``Input.Text`` (several lines for long text) and Send
  (``Action.CHOOSE`` with the text box's value), which the adapter sends through the engine's
  text path. Money stays text: the engine reads "50k" and "USD 75,000" (taking the currency
  from it), which a number box would refuse.

Whatever the control, the seller may also type the answer as a reply in the chat. Below the
control, Back / Skip (optional steps) / Review / Cancel each carry the step, so a click on an
old card can be told from one on the current card. Cancel asks first, as the Slack card's
confirmation does: it opens (``Action.ShowCard``) a small card holding the real Cancel.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta
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

from bot.conversation.flows import FLOWS
from bot.conversation.steps import ParseContext
from bot.conversation.values import InvalidAnswer
from bot.conversation.views import InputKind, Option, Prompt
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
    words,
)
from cards.teams._options import fitted, listed, usable

MAX_BUTTONS: Final = 5
"""Up to this many choices are buttons; more go in a choice set."""
MAX_LISTED: Final = 100
"""Up to this many choices go in a plain drop-down; more get the type-ahead."""
MAX_SUGGESTIONS: Final = 5
PREFILL_BYTES: Final = 8_000
"""Longest earlier answer put back in a text box; a longer one is shown, not prefilled (a
prefill cut short would be sent back cut short)."""
YES_NO: Final = (Option(value="yes", label="Yes"), Option(value="no", label="No"))
ANSWERED: Final = "✓"
WARNING: Final = "⚠"

CHOOSE: Final = "Choose"
SEND: Final = "Send"
TYPE_ANSWER: Final = "Type your answer"
PICK_ONE: Final = "Pick one first."
PICK_MANY: Final = "Pick at least one first."
PICK_DATE: Final = "Pick a date first."
TYPE_FIRST: Final = "Type your answer first."
ANSWER_LABEL: Final = "Your answer"
CHOICE_LABEL: Final = "Your choice"
CHOICES_LABEL: Final = "Your choices"
DATE_LABEL: Final = "Date"
CHOOSE_ONE: Final = "Choose one"
CHOOSE_SEVERAL: Final = "Choose one or more"
SEARCH: Final = "Type a name or code"
TYPE_REPLY: Final = "Type your answer as a reply."
OR_TYPE_REPLY: Final = "Or type your answer as a reply."
CUT_SHORT: Final = "Not every option fits on this card: if yours is missing, type it as a reply."
CANCEL: Final = "Cancel"
CANCEL_TITLE: Final = "Cancel this draft?"
CANCEL_TEXT: Final = "Your answers so far are thrown away. Nothing is sent to Partner Center."
CANCEL_YES: Final = "Cancel the draft"

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
CHOICES_KEY: Final = ',"choices":[]'


def progress_line(prompt: Prompt) -> str:
    """``Step 5 of 17``, and whether the question may be skipped."""
    line = f"Step {prompt.progress.number} of {prompt.progress.total}"
    return line if prompt.required else f"{line} · optional"


def prompt_body(prompt: Prompt, budget: Budget, *, today: date | None) -> list[CardElement]:
    """Progress, question, current answer, error, suggestions, the control, navigation."""
    head: list[CardElement] = [
        note(progress_line(prompt), subtle=True),
        *said(prompt.question, weight="Bolder"),
    ]
    if prompt.current is not None:
        head.append(words(run("Current: ", weight="Bolder", subtle=True), run(prompt.current)))
    if prompt.error:
        head.extend(said(f"{WARNING} {prompt.error}", color="Attention"))
        if prompt.hint:
            head.extend(said(prompt.hint))
    elif prompt.hint:
        head.extend(said(prompt.hint, subtle=True))
    nav = navigation(prompt)
    budget.reserve(*head, nav)
    control, as_buttons = _control(prompt, budget, today=today)
    picks: list[CardElement] = []
    if prompt.error and prompt.suggestions and not as_buttons:
        picks = _buttons(prompt, prompt.suggestions[:MAX_SUGGESTIONS], None, budget)
    return [*head, *picks, *control, nav]


def answered_body(prompt: Prompt | str, answer: str) -> list[CardElement]:
    """The question and the answer given, with nothing left to click or fill in."""
    question = prompt.question if isinstance(prompt, Prompt) else prompt
    body: list[CardElement] = []
    if isinstance(prompt, Prompt):
        body.append(note(progress_line(prompt), subtle=True))
    if question.strip():
        body.extend(said(question, weight="Bolder"))
    body.extend(said(f"{ANSWERED} {answer}", LONG_TEXT))
    return body


def navigation(prompt: Prompt) -> CardElement:
    """Back, Skip, Review and Cancel, each naming the step it was shown for."""
    asked = prompt.question
    row = []
    if prompt.can_go_back:
        row.append(execute("Back", Action.BACK, step=prompt.step, inputs="none", question=asked))
    if not prompt.required:
        row.append(execute("Skip", Action.SKIP, step=prompt.step, inputs="none", question=asked))
    row.append(execute("Review", Action.REVIEW, step=prompt.step, inputs="none", question=asked))
    return actions([*row, cancel(prompt.step, asked)])


def cancel(step: str | None = None, question: str | None = None) -> ShowCardAction:
    """Cancel, after a confirmation: it throws the draft away."""
    yes = execute(
        CANCEL_YES,
        Action.CANCEL,
        step=step,
        inputs="none",
        style="destructive",
        question=question,
    )
    confirm = AdaptiveCard(
        body=[note(CANCEL_TITLE, weight="Bolder"), note(CANCEL_TEXT)], actions=[yes]
    )
    return ShowCardAction(title=CANCEL, card=confirm)


# -- controls --------------------------------------------------------------------------------


def _control(
    prompt: Prompt, budget: Budget, *, today: date | None
) -> tuple[list[CardElement], bool]:
    """The elements that take the answer, and whether they are choice buttons."""
    kind, choices = prompt.input, prompt.choices
    if kind is InputKind.YES_NO:
        return _buttons(prompt, choices or YES_NO, prompt.current, budget), True
    if kind is InputKind.DATE:
        return _date(prompt, budget, today=today), False
    if kind in (InputKind.COUNTRY, InputKind.CURRENCY):
        return _choice_set(prompt, budget, style="filtered", many=False), False
    if kind in (InputKind.SINGLE, InputKind.MULTI):
        many = kind is InputKind.MULTI
        if prompt.searchable or len(choices) > MAX_LISTED:
            return _choice_set(prompt, budget, style="filtered", many=many), False
        if not choices:
            return _text(prompt, budget), False
        if many or len(choices) > MAX_BUTTONS:
            return _choice_set(prompt, budget, style="compact", many=many), False
        return _buttons(prompt, choices, prompt.current, budget), True
    return _text(prompt, budget), False


def _buttons(
    prompt: Prompt, choices: Sequence[Option], current: str | None, budget: Budget
) -> list[CardElement]:
    """One button per choice, a row each, as many as fit; the current answer stands out."""
    hint = note(OR_TYPE_REPLY, subtle=True)
    budget.reserve(hint)
    rows: list[CardElement] = []
    for choice in choices:
        if not fits(choice.value, VALUE_BYTES):
            continue
        chosen = current is not None and current in (choice.value, choice.label)
        pick = execute(
            choice.label if choice.label.strip() else choice.value,
            Action.CHOOSE,
            step=prompt.step,
            value=choice.value,
            inputs="none",
            style="positive" if chosen else None,
            question=prompt.question,
        )
        row = actions([pick])
        if budget.take(row):
            rows.append(row)
    if len(rows) < len(choices):
        rows.append(hint if rows else note(TYPE_REPLY, subtle=True))
    return rows


def _choice_set(
    prompt: Prompt, budget: Budget, *, style: ChoiceSetInputStyle, many: bool
) -> list[CardElement]:
    """A drop-down (or type-ahead) of the step's options and the button that sends the pick."""
    options = listed(prompt)
    candidates = usable(options)
    if not candidates:
        return _text(prompt, budget)
    verb = Action.CHOOSE_MANY if many else Action.SEARCH if style == "filtered" else Action.CHOOSE
    send = actions([execute(CHOOSE, verb, step=prompt.step, question=prompt.question)])
    preset = _preselected(prompt.current, candidates, many=many)
    shell = ChoiceSetInput(
        id=CHOICE_INPUT,
        style=style,
        is_multi_select=many or None,
        placeholder=SEARCH if style == "filtered" else CHOOSE_SEVERAL if many else CHOOSE_ONE,
        value=preset,
        wrap=True,
        label=CHOICES_LABEL if many else CHOICE_LABEL,
        is_required=True,
        error_message=PICK_MANY if many else PICK_ONE,
    )
    cut = note(CUT_SHORT, subtle=True)
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


def _date(prompt: Prompt, budget: Budget, *, today: date | None) -> list[CardElement]:
    earliest = refuses_past(prompt, today)
    current = _iso_date(prompt.current)
    if current is not None and earliest is not None and current < earliest:
        current = None
    picker = DateInput(
        id=DATE_INPUT,
        min=earliest.isoformat() if earliest else None,
        value=current.isoformat() if current else None,
        label=DATE_LABEL,
        is_required=True,
        error_message=PICK_DATE,
    )
    elements: list[CardElement] = [
        picker,
        actions([execute(CHOOSE, Action.PICK_DATE, step=prompt.step, question=prompt.question)]),
        note(OR_TYPE_REPLY, subtle=True),
    ]
    budget.reserve(*elements)
    return elements


def _text(prompt: Prompt, budget: Budget) -> list[CardElement]:
    example = f"For example: {prompt.placeholder}" if prompt.placeholder else TYPE_ANSWER
    box = TextInput(
        id=TEXT_INPUT,
        is_multiline=prompt.input is InputKind.LONG_TEXT or None,
        style=_TEXT_STYLES.get(prompt.input),
        placeholder=clip(example, PLACEHOLDER),
        value=_prefill(prompt.current),
        label=ANSWER_LABEL,
        is_required=True,
        error_message=TYPE_FIRST,
    )
    elements: list[CardElement] = [
        box,
        actions([execute(SEND, Action.CHOOSE, step=prompt.step, question=prompt.question)]),
    ]
    budget.reserve(*elements)
    return elements


_TEXT_STYLES: Final[dict[InputKind, InputTextStyle]] = {
    InputKind.EMAIL: "Email",
    InputKind.PHONE: "Tel",
}


def refuses_past(prompt: Prompt, today: date | None) -> date | None:
    """``today`` when the step's own validator refuses yesterday, else None.

    Asking the validator keeps the card and the engine in agreement without a second list of
    which dates each step accepts.
    """
    flow = FLOWS.get(prompt.flow)
    if today is None or flow is None:
        return None
    try:
        step = flow.step(prompt.step)
    except KeyError:
        return None
    yesterday = (today - timedelta(days=1)).isoformat()
    try:
        step.parse(yesterday, ParseContext(today=today, answers={}))
    except InvalidAnswer:
        return today
    return None


def _preselected(current: str | None, options: Sequence[Option], *, many: bool) -> str | None:
    """The choice-set value that selects the current answer, when the options hold it.

    The current answer reads as the review card shows it: a value or label, or for several
    answers the values joined with ", ".
    """
    if current is None:
        return None
    if not many:
        match = next((o for o in options if current in (o.value, o.label)), None)
        return choice_value(match.value) if match else None
    shown = f", {current}, "
    picked = [o for o in options if f", {o.value}, " in shown or f", {o.label}, " in shown]
    return ",".join(choice_value(option.value) for option in picked) or None


def _prefill(current: str | None) -> str | None:
    if current is None or not current.strip() or not fits(current, PREFILL_BYTES):
        return None
    return current


def _iso_date(current: str | None) -> date | None:
    if current is None or not _ISO_DATE.fullmatch(current):
        return None
    try:
        return date.fromisoformat(current)
    except ValueError:
        return None
