"""Adaptive Card building blocks that keep every card valid, readable and small enough.

Text comes in two kinds:

* words of this package (``Step 5 of 17``, ``Still needed:``): a ``TextBlock``, whose text
  Teams reads as a subset of markdown;
* anything that comes from the engine, a seller or Partner Center (questions, answers,
  customer names, notes, errors): a ``RichTextBlock`` of ``TextRun``\\ s. A text run is never
  read as markdown, so a customer called ``[Contoso](https://example.com)`` or ``**Big**``
  shows as typed instead of becoming a link or bold text, with no escaping rules that Teams'
  desktop, web and mobile clients each apply differently.

Every text goes through :func:`clip`: cut to a number of characters, never blank (an empty
block shows as a hole in the card, or not at all), and never more than four bytes of JSON per
character of its limit, so a run of control characters (six bytes each once escaped) cannot
blow a card's size. Sizes are counted as the JSON Teams receives: UTF-8,
compact separators (:func:`size_of`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from microsoft_teams.cards.core import (
    Action,
    ActionSet,
    AdaptiveCard,
    CardElement,
    Column,
    ColumnSet,
    RichTextBlock,
    SerializableObject,
    TextBlock,
    TextColor,
    TextRun,
    TextSize,
    TextWeight,
)

from cards.words import MISSING

VERSION: Final = "1.5"
"""The newest Adaptive Card version Teams renders; Action.Execute needs 1.4 or later."""
CARD_BYTES: Final = 24_000
"""Largest card content we produce. Teams refuses a message over about 28 KB; the activity
around the card (ids, addresses, the attachment's content type) takes the rest."""
ACTIONS_PER_SET: Final = 6
"""Teams' host config renders at most six actions per set and silently drops the others."""

TEXT: Final = 500
"""A question, an error, a hint, one fact."""
LONG_TEXT: Final = 2_000
"""Notes and other free text shown in full."""
LABEL: Final = 100
"""A field's name."""
TITLE: Final = 75
"""A button's or an option's words; Teams shortens longer ones on screen anyway."""
PLACEHOLDER: Final = 150
SUMMARY: Final = 300
"""The notification text of a card."""
MAX_LINES: Final = 40
"""Lines of one text shown as separate lines; the rest are run together."""

ELLIPSIS: Final = "…"
BYTES_PER_CHARACTER: Final = 4


# -- text ------------------------------------------------------------------------------------


def json_bytes(text: str) -> int:
    """Bytes ``text`` takes inside a JSON string, as sent (UTF-8, control characters escaped)."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8")) - 2


def clean(text: str) -> str:
    """``text`` with lone surrogates (which JSON can carry but UTF-8 cannot) replaced."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters and ``4 * limit`` bytes, with an ellipsis when
    something was cut; a dash when there is nothing to show."""
    text = clean(text)
    if not text.strip():
        return MISSING
    budget = BYTES_PER_CHARACTER * limit
    if len(text) <= limit and json_bytes(text) <= budget:
        return text
    room = budget - json_bytes(ELLIPSIS)
    low, high = 0, min(len(text), limit - 1)
    while low < high:  # the longest prefix within both limits
        middle = (low + high + 1) // 2
        if json_bytes(text[:middle]) <= room:
            low = middle
        else:
            high = middle - 1
    return text[:low] + ELLIPSIS


def fits(value: str, limit: int) -> bool:
    """Whether ``value`` can travel unchanged in a card: not empty and at most ``limit``
    bytes of JSON (a value cut short would mean something else)."""
    return bool(value) and clean(value) == value and json_bytes(value) <= limit


def lines(text: str, limit: int = LONG_TEXT) -> list[str]:
    """``text`` clipped as a whole, then split into its non-blank lines (at most
    :data:`MAX_LINES`; later ones are joined onto the last)."""
    parts = [line for line in clip(text, limit).splitlines() if line.strip()] or [MISSING]
    if len(parts) > MAX_LINES:
        parts = [*parts[: MAX_LINES - 1], " ".join(parts[MAX_LINES - 1 :])]
    return parts


def run(
    text: str,
    limit: int = TEXT,
    *,
    weight: TextWeight | None = None,
    color: TextColor | None = None,
    size: TextSize | None = None,
    subtle: bool | None = None,
    italic: bool | None = None,
) -> TextRun:
    """One run of text shown exactly as given (no markdown), clipped to ``limit``."""
    return TextRun(
        text=clip(text, limit),
        weight=weight,
        color=color,
        size=size,
        is_subtle=subtle,
        italic=italic,
    )


def words(*runs: TextRun, separator: bool | None = None) -> RichTextBlock:
    """A paragraph of text runs."""
    return RichTextBlock(inlines=list(runs), separator=separator)


def said(
    text: str,
    limit: int = TEXT,
    *,
    weight: TextWeight | None = None,
    color: TextColor | None = None,
    size: TextSize | None = None,
    subtle: bool | None = None,
) -> list[CardElement]:
    """Text from the engine or from data, one paragraph per line, never read as markdown."""
    return [
        words(run(line, limit, weight=weight, color=color, size=size, subtle=subtle))
        for line in lines(text, limit)
    ]


def note(
    text: str,
    *,
    subtle: bool | None = None,
    color: TextColor | None = None,
    weight: TextWeight | None = None,
    size: TextSize | None = None,
) -> TextBlock:
    """Words of this package (never data), wrapped."""
    return TextBlock(
        text=text or MISSING, wrap=True, is_subtle=subtle, color=color, weight=weight, size=size
    )


def fact(label: str, value: str | None, limit: int = TEXT) -> RichTextBlock:
    """``Label: value`` on one line (newlines in the value become spaces), a dash for none."""
    shown = " ".join((value or "").split()) or MISSING
    return words(run(f"{label}: ", LABEL, weight="Bolder"), run(shown, limit))


def local_time(moment: datetime) -> str:
    """A time each reader sees in their own time zone and format, for a ``TextBlock`` (Adaptive
    Cards' DATE and TIME functions take an RFC 3339 time in UTC; a text run shows them as
    typed)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    stamp = aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{{{{DATE({stamp}, SHORT)}}}} {{{{TIME({stamp})}}}}"


# -- layout ----------------------------------------------------------------------------------


def actions(row: Sequence[Action]) -> ActionSet:
    """A row of actions (Teams shows at most six; callers never give more)."""
    return ActionSet(actions=list(row[:ACTIONS_PER_SET]))


def beside(content: Sequence[CardElement], action: Action, *, separator: bool = False) -> ColumnSet:
    """Content on the left, one action on its right (an Edit or Show button per row)."""
    return ColumnSet(
        separator=separator or None,
        columns=[
            Column(width="stretch", items=list(content)),
            Column(width="auto", items=[actions([action])]),
        ],
    )


# -- size ------------------------------------------------------------------------------------


def to_dict(model: SerializableObject) -> dict[str, Any]:
    """A card model as the JSON Teams takes (camelCase names, nothing unset)."""
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


def size_of(content: Any) -> int:
    """Bytes of JSON as sent (UTF-8, compact separators)."""
    return len(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def card(body: Iterable[CardElement], *, fallback_text: str) -> dict[str, Any]:
    """The card itself: a version 1.5 ``AdaptiveCard`` with ``fallbackText`` for clients
    that cannot render it."""
    return to_dict(
        AdaptiveCard(version=VERSION, body=list(body), fallback_text=clip(fallback_text, SUMMARY))
    )


class Budget:
    """Room left in a card: parts that must be shown are reserved first, then optional ones
    are taken in order of importance while they fit (:data:`CARD_BYTES` in all)."""

    def __init__(self, fallback_text: str, total: int = CARD_BYTES) -> None:
        self.left = total - size_of(card([], fallback_text=fallback_text))

    def reserve(self, *elements: CardElement) -> None:
        """Count parts that are shown whatever their size (they are bounded by clipping)."""
        for element in elements:
            self.left -= size_of(to_dict(element)) + 1  # and a comma

    def reserve_bytes(self, cost: int) -> None:
        """Count bytes that are shown whatever their size (a key a list will be added under)."""
        self.left -= cost

    def take(self, element: CardElement) -> bool:
        """Count ``element`` and say yes when it fits; say no and count nothing otherwise."""
        cost = size_of(to_dict(element)) + 1
        if cost > self.left:
            return False
        self.left -= cost
        return True

    def take_bytes(self, cost: int) -> bool:
        """The same, for a part measured by the caller (an option inside a choice set)."""
        if cost > self.left:
            return False
        self.left -= cost
        return True


def fitted(
    head: Sequence[CardElement],
    rows: Sequence[CardElement],
    tail: Sequence[CardElement],
    budget: Budget,
    *,
    more: Callable[[int], CardElement],
) -> list[CardElement]:
    """``head`` and ``tail`` whole, with as many ``rows`` between as fit and a line counting
    the rest."""
    budget.reserve(*head, *tail, more(len(rows)))
    shown: list[CardElement] = []
    for row in rows:
        if not budget.take(row):
            break
        shown.append(row)
    if len(shown) < len(rows):
        shown.append(more(len(rows) - len(shown)))
    return [*head, *shown, *tail]
