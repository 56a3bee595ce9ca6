"""What a card action carries to the bot, both ways: the encoder and :func:`read_action`.

Every action is an ``Action.Execute`` whose ``verb`` is a :class:`cards.ids.Action` value,
with an ``Action.Submit`` of the same title and data as its ``fallback``, for clients without
Universal Actions. Teams delivers the first as an ``adaptiveCard/action`` invoke
(``value.action.verb`` and ``value.action.data``), the second as a message whose ``value`` is
the data. Either way the data is one flat JSON object of strings::

    {"verb": "rb_choose", "step": "deal_kind", "value": "partner_led"}

* ``verb``: the :class:`~cards.ids.Action` value, also in the data so that a Submit, which
  has no verb of its own, still says what it is;
* ``step``: the step whose card carried the action, so a click on an old card can be told
  from one on the current card (left out by actions that belong to no question: Submit,
  Edit, Show, Register, More, Resume);
* ``value``: what a button stands for, fixed when the card was made (the choice, the field to
  edit, the referral to show or register, the page command);
* ``q`` and ``label``: on a question's card, the question, and on a button its title, so the
  clicked card can be shown as a record of question and answer without looking anything up;
* ``catalog`` or ``labels``: on the button that sends a choice set, the id of the catalog the
  options come from (``Prompt.catalog``), or for a flow's own short list the labels of the
  options whose label is not their value (a JSON object, up to :data:`LABELS_BYTES`), so
  the record shows a pick by its label.

Inputs add their own key, named by the input's id, when the action sends them (Teams merges
input values into the data by id; on a card with an input, the other buttons set
``associatedInputs: none`` and send none):

* :data:`CHOICE_INPUT`: an ``Input.ChoiceSet``. A multi-select comes back as one string of
  values separated by commas, and catalog values hold commas ("DynamicsAX,GP,NAV,SL"), so
  choice-set values are escaped: ``%`` as ``%25`` and ``,`` as ``%2C``;
* :data:`DATE_INPUT`: an ``Input.Date`` (``YYYY-MM-DD``);
* :data:`TEXT_INPUT`: an ``Input.Text``; the answer goes through the engine's text path as
  :class:`TypedText`, where "back" or "cancel" typed in the box are understood as commands.

What each verb reads back as (:func:`read_action`):

* ``CHOOSE``: a button's ``value``, or a drop-down's pick, as ``Choice(step, value)``; a text
  box's words as ``TypedText(text, step)``;
* ``SEARCH`` (type-ahead) and ``PICK_DATE``: ``Choice(step, value)``; ``CHOOSE_MANY``:
  ``Choice(step, (value, ...))``;
* ``BACK``, ``SKIP``, ``KEEP``, ``REVIEW``, ``CANCEL``, ``SUBMIT``, ``REAPPLY``, ``RESUME``:
  ``Command(name, step=step)``; ``EDIT``: ``Command(EDIT, arg=value)``;
* ``SHOW``: ``TypedText("/referral show <value>")``; ``REGISTER``:
  ``TypedText("/referral register <value>")``; ``PAGE``: ``TypedText(value)``, the page
  command the list was given; ``PICK``: ``TypedText(value)``, the command a pick list's row
  stands for (``/referral update <id>``);
* ``ACCEPT``, ``DECLINE``, ``ASSIGN`` (an incoming referral's buttons, whose ``value`` is the
  referral's id): ``Triage(referral=value, verdict=...)``; Decline adds the reason typed in
  the :data:`~cards.ids.REASON_INPUT` box, Assign the email typed in the
  :data:`~cards.ids.ASSIGNEE_INPUT` box (``<box>:<id>`` on a card of several), stripped;
* ``APPROVE``, ``REJECT``, ``RETRY``, ``WITHDRAW`` (an approval card's buttons, whose
  ``value`` is the approval's id): ``Decision(approval=value, verdict=...)``; Reject adds
  the reason typed in the card's :data:`~cards.ids.REASON_INPUT` box, stripped (None when
  blank). A card showing several requests (a list, a home page) has a box per request, each
  named by :func:`reason_input` with the request's id, and Reject reads its own request's.

Anything else (missing keys, an unknown verb, a value of the wrong type) reads as None.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeGuard

from microsoft_teams.cards.core import ActionStyle, AssociatedInputs, ExecuteAction, SubmitAction

from bot.conversation.views import (
    Choice,
    Command,
    CommandName,
    Decision,
    Input,
    Triage,
    TriageVerdict,
    Verdict,
)
from cards.ids import ASSIGNEE_INPUT, REASON_INPUT, TRIAGE, VERDICTS, Action
from cards.teams._kit import TITLE, clip
from cards.words import register_command

VERB: Final = "verb"
STEP: Final = "step"
VALUE: Final = "value"
QUESTION: Final = "q"
LABEL: Final = "label"
CATALOG: Final = "catalog"
LABELS: Final = "labels"
QUESTION_BYTES: Final = 300
LABELS_BYTES: Final = 1_000
"""Longest map of labels a choice set's button carries; past it, picks show as values."""
CHOICE_INPUT: Final = "rb_choice"
DATE_INPUT: Final = "rb_date"
TEXT_INPUT: Final = "rb_text"

VALUE_BYTES: Final = 500
"""Longest fixed value a button carries, in bytes of JSON; longer choices are typed instead."""

_ESCAPED: Final = re.compile("%25|%2C")
_UNESCAPED: Final = {"%25": "%", "%2C": ","}
_COMMANDS: Final[Mapping[Action, CommandName]] = {
    Action.BACK: CommandName.BACK,
    Action.SKIP: CommandName.SKIP,
    Action.KEEP: CommandName.KEEP,
    Action.CANCEL: CommandName.CANCEL,
    Action.REVIEW: CommandName.REVIEW,
    Action.SUBMIT: CommandName.SUBMIT,
    Action.RESUME: CommandName.RESUME,
    Action.REAPPLY: CommandName.REAPPLY,
}


@dataclass(frozen=True, slots=True)
class TypedText:
    """Words the adapter sends through the engine's text path, as if typed in the chat.

    ``step`` is the question a card's text box answered; None for a button that stands for a
    command the seller could type (Show, Register, More).
    """

    text: str
    step: str | None


# -- encoding --------------------------------------------------------------------------------


def execute(
    title: str,
    verb: Action,
    *,
    step: str | None = None,
    value: str | None = None,
    inputs: AssociatedInputs | None = None,
    style: ActionStyle | None = None,
    enabled: bool = True,
    question: str | None = None,
    catalog: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> ExecuteAction:
    """An ``Action.Execute`` with its ``Action.Submit`` fallback, both carrying the same data.

    On a card with an input, every action but the one under it says ``inputs="none"``, so a
    half-filled box never rides along with Back or Cancel, nor blocks them when required.
    ``question`` is the words of the question the card asks: the bot shows the card clicked
    as a record of the question and the answer at once, before any other work; ``catalog``
    or ``labels`` say how the values of a choice set read (``labels`` only when they fit in
    :data:`LABELS_BYTES`).
    """
    words = clip(title, TITLE)
    data = action_data(verb, step=step, value=value)
    if question is not None:
        data[QUESTION] = clip(question, QUESTION_BYTES)
    if catalog is not None:
        data[CATALOG] = catalog
    elif labels:
        encoded = json.dumps(dict(labels), ensure_ascii=False, separators=(",", ":"))
        if len(encoded.encode()) <= LABELS_BYTES:
            data[LABELS] = encoded
    if inputs == "none":
        data[LABEL] = words  # a button: its title is the answer it gives
    disabled = None if enabled else False
    fallback = SubmitAction(
        title=words, data=data, associated_inputs=inputs, style=style, is_enabled=disabled
    )
    return ExecuteAction(
        title=words,
        verb=verb.value,
        data=dict(data),
        associated_inputs=inputs,
        style=style,
        is_enabled=disabled,
        fallback=fallback,
    )


def action_data(
    verb: Action, *, step: str | None = None, value: str | None = None
) -> dict[str, str]:
    """The data object of an action: the verb, and the step and value when there are some."""
    data = {VERB: verb.value}
    if step is not None:
        data[STEP] = step
    if value is not None:
        data[VALUE] = value
    return data


def choice_value(value: str) -> str:
    """A value as an ``Input.ChoiceSet`` option carries it (``%`` and ``,`` escaped)."""
    return value.replace("%", "%25").replace(",", "%2C")


def choice_values(text: str) -> tuple[str, ...]:
    """The values a choice set sent back: split at commas, each unescaped; blanks dropped."""
    return tuple(_unescape(part) for part in text.split(",") if part)


def _unescape(value: str) -> str:
    return _ESCAPED.sub(lambda found: _UNESCAPED[found.group(0)], value)


def reason_input(approval: str | None = None) -> str:
    """The id of the box a request's reject reason is typed in: :data:`REASON_INPUT` on a
    card of one request; on a card of several, that id and the request's (ids must be unique
    in a card, and Reject sends every box of it)."""
    return REASON_INPUT if approval is None else f"{REASON_INPUT}:{approval}"


def carried_labels(data: Mapping[str, Any]) -> Mapping[str, str]:
    """The labels a choice set's button carried (see :func:`execute`); none when absent or
    not ours."""
    encoded = data.get(LABELS)
    if not isinstance(encoded, str):
        return {}
    try:
        found = json.loads(encoded)
    except ValueError:
        return {}
    if not isinstance(found, dict):
        return {}
    return {key: value for key, value in found.items() if isinstance(value, str)}


# -- decoding --------------------------------------------------------------------------------


def read_action(data: Mapping[str, Any]) -> Input | TypedText | None:
    """The neutral input a card action stands for, or None for data that is not ours.

    ``data`` is either an ``adaptiveCard/action`` invoke's ``value`` (``{"action": {"verb":
    ..., "data": {...}}}``) or the ``value`` of the message an ``Action.Submit`` sends.
    """
    try:
        return _read(data)
    except (TypeError, ValueError, AttributeError):  # not ours: never an error to the caller
        return None


def _read(data: Mapping[str, Any]) -> Input | TypedText | None:
    found = _payload(data)
    if found is None:
        return None
    verb, payload = found
    step = payload.get(STEP)
    if step is not None and not isinstance(step, str):
        return None
    if verb in _COMMANDS:
        return Command(name=_COMMANDS[verb], step=step or None)
    value = payload.get(VALUE)
    if verb in VERDICTS:
        return _decision(VERDICTS[verb], value, payload) if _text(value) else None
    if verb in TRIAGE:
        return _triage(TRIAGE[verb], value, payload) if _text(value) else None
    if verb is Action.EDIT:
        return Command(name=CommandName.EDIT, arg=value) if _text(value) else None
    if verb is Action.SHOW:
        return TypedText(text=f"/referral show {value}", step=None) if _text(value) else None
    if verb is Action.REGISTER:
        return TypedText(text=register_command(value), step=None) if _text(value) else None
    if verb in (Action.PAGE, Action.PICK):
        return TypedText(text=value, step=None) if _text(value) else None
    if step is None:
        return None
    return _answer(verb, step, payload)


def _answer(verb: Action, step: str, payload: Mapping[str, Any]) -> Input | TypedText | None:
    """A click or input that answers ``step``."""
    value, picked = payload.get(VALUE), payload.get(CHOICE_INPUT)
    if verb is Action.CHOOSE:
        if isinstance(value, str):
            return Choice(step=step, value=value)
        if isinstance(picked, str):
            return Choice(step=step, value=_unescape(picked))
        typed = payload.get(TEXT_INPUT)
        return TypedText(text=typed, step=step) if isinstance(typed, str) else None
    if verb is Action.SEARCH:
        return Choice(step=step, value=_unescape(picked)) if isinstance(picked, str) else None
    if verb is Action.CHOOSE_MANY:
        return Choice(step=step, value=choice_values(picked)) if isinstance(picked, str) else None
    if verb is Action.PICK_DATE:
        day = payload.get(DATE_INPUT)
        return Choice(step=step, value=day) if isinstance(day, str) else None
    return None


def _decision(verdict: Verdict, approval: str, payload: Mapping[str, Any]) -> Decision:
    """A click on an approval card's button; Reject brings the reason typed for its request
    (the box of that request on a card of several, else the card's only box)."""
    if verdict != "reject":
        return Decision(approval=approval, verdict=verdict)
    typed = payload.get(reason_input(approval), payload.get(REASON_INPUT))
    reason = typed.strip() if isinstance(typed, str) else ""
    return Decision(approval=approval, verdict=verdict, reason=reason or None)


def _triage(verdict: TriageVerdict, referral: str, payload: Mapping[str, Any]) -> Triage:
    """A click on an incoming referral's button; Decline brings the reason typed for it and
    Assign the seller's email (its referral's box on a card of several, else the card's)."""
    reason = _typed(payload, REASON_INPUT, referral) if verdict == "decline" else None
    assignee = _typed(payload, ASSIGNEE_INPUT, referral) if verdict == "assign" else None
    return Triage(referral=referral, verdict=verdict, reason=reason, assignee=assignee)


def _typed(payload: Mapping[str, Any], box: str, referral: str) -> str | None:
    typed = payload.get(f"{box}:{referral}", payload.get(box))
    return (typed.strip() or None) if isinstance(typed, str) else None


def _payload(data: object) -> tuple[Action, Mapping[str, Any]] | None:
    """The verb and the data, from an invoke's ``value`` or a Submit's flat data."""
    if not isinstance(data, Mapping):
        return None
    action = data.get("action")
    if isinstance(action, Mapping):
        payload = action.get("data")
        verb = action.get(VERB) or (payload.get(VERB) if isinstance(payload, Mapping) else None)
    else:
        payload, verb = data, data.get(VERB)
    if not isinstance(payload, Mapping) or not isinstance(verb, str):
        return None
    try:
        return Action(verb), payload
    except ValueError:
        return None


def _text(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value.strip())
