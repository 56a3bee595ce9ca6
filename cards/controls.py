"""The control each question gets, decided once for Slack, Teams and the terminal.

A platform renders the control :func:`control_for` picks with its own widgets; it never
decides the kind of control itself:

* yes/no, and up to :data:`MAX_BUTTONS` choices of one: :attr:`Control.BUTTONS`, one each;
* more choices, or several answers from a listed catalog: :attr:`Control.SELECT`, a
  drop-down of the listed choices (up to :data:`MAX_LISTED`);
* countries, currencies and catalogs too long to list: :attr:`Control.SEARCH`, a type-ahead
  over the catalog the prompt names (``Prompt.catalog``) or over its choices;
* dates: :attr:`Control.DATE`, a date picker starting no earlier than ``Prompt.earliest``;
* anything else: :attr:`Control.TEXT` or :attr:`Control.LONG_TEXT`, typed.

A select or type-ahead with nothing to offer falls back to typing; whatever the control, the
answer may also be typed. After a wrong answer, the closest valid values are offered as
buttons (:func:`suggested`) unless the control is buttons already.

Everything here comes from the prompt and the domain catalogs (:mod:`bot.referrals.catalogs`),
never from the flows, so what a card offers is what the engine said.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from bot.conversation.views import InputKind, Option, Prompt
from bot.referrals.catalogs import by_id
from bot.referrals.lookup import Catalog
from cards.words import NO, YES

MAX_BUTTONS: Final = 5
"""Up to this many choices are buttons; more go in a select."""
MAX_LISTED: Final = 100
"""Up to this many choices go in a plain select; more get the type-ahead (Slack's static
select stops at 100 options)."""
MAX_SUGGESTIONS: Final = 5
"""Closest valid values offered as buttons after a wrong answer."""
YES_NO: Final = (Option(value="yes", label=YES), Option(value="no", label=NO))

_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_CHOICE_KINDS: Final = (InputKind.SINGLE, InputKind.MULTI)
_CATALOG_KINDS: Final = (InputKind.COUNTRY, InputKind.CURRENCY)


class Control(StrEnum):
    """What takes a question's answer on a card."""

    BUTTONS = "buttons"
    SELECT = "select"
    SEARCH = "search"
    DATE = "date"
    TEXT = "text"
    LONG_TEXT = "long_text"


@dataclass(frozen=True, slots=True)
class Plan:
    """The control for one prompt, and what it offers.

    ``options``: the buttons or the select's choices; for a type-ahead, the prompt's own
    choices when it lists them (else the renderer searches ``Prompt.catalog``). ``many``:
    several answers may be picked.
    """

    control: Control
    many: bool = False
    options: tuple[Option, ...] = ()


def control_for(prompt: Prompt) -> Plan:
    """The control that fits ``prompt``'s input kind and choices."""
    kind, choices = prompt.input, prompt.choices
    many = kind is InputKind.MULTI
    if kind is InputKind.YES_NO:
        return Plan(Control.BUTTONS, options=choices or YES_NO)
    if kind is InputKind.DATE:
        return Plan(Control.DATE)
    if kind in _CATALOG_KINDS or kind in _CHOICE_KINDS:
        long = len(choices) > MAX_LISTED
        if kind in _CATALOG_KINDS or prompt.searchable or long:
            if choices or prompt.catalog is not None:
                return Plan(Control.SEARCH, many=many, options=choices)
            return Plan(Control.TEXT)
        if not choices:
            return Plan(Control.TEXT)
        if many or len(choices) > MAX_BUTTONS:
            return Plan(Control.SELECT, many=many, options=choices)
        return Plan(Control.BUTTONS, options=choices)
    if kind is InputKind.LONG_TEXT:
        return Plan(Control.LONG_TEXT)
    return Plan(Control.TEXT)


def suggested(prompt: Prompt, plan: Plan) -> tuple[Option, ...]:
    """The closest valid values to offer as buttons above the control, after a wrong answer."""
    if not prompt.error or plan.control is Control.BUTTONS:
        return ()
    return prompt.suggestions[:MAX_SUGGESTIONS]


def searched(prompt: Prompt, plan: Plan) -> tuple[Option, ...]:
    """Everything a type-ahead offers: the prompt's choices, or its whole catalog sorted by
    label (for a platform whose type-ahead filters what the card holds)."""
    if plan.options:
        return plan.options
    catalog = by_id(prompt.catalog) if prompt.catalog is not None else None
    return () if catalog is None else _sorted_options(catalog)


def label(catalog_id: str | None, value: str) -> str:
    """How a value picked from the catalog with this id reads; the value itself when the
    catalog or the value is unknown."""
    catalog = by_id(catalog_id) if catalog_id is not None else None
    if catalog is None or value not in catalog:
        return value
    return catalog.label(value)


def is_current(option: Option, current: str | None) -> bool:
    """Whether ``option`` is the answer given before (``Prompt.current`` reads as a value or
    a label)."""
    return current is not None and current in (option.value, option.label)


def initial_date(prompt: Prompt) -> date | None:
    """The day a date picker starts at: the current answer when it is a real date on or after
    the earliest the step accepts."""
    current = prompt.current
    if current is None or not _ISO_DATE.fullmatch(current):
        return None
    try:
        day = date.fromisoformat(current)
    except ValueError:
        return None
    if prompt.earliest is not None and day < prompt.earliest:
        return None
    return day


@functools.cache
def _sorted_options(catalog: Catalog[str]) -> tuple[Option, ...]:
    options = (Option(value=value, label=catalog.label(value)) for value in catalog)
    return tuple(sorted(options, key=lambda option: option.label.casefold()))
