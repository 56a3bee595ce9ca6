"""Values from a catalog: one, several, countries, currencies, solutions."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Literal

from bot.conversation.vocabulary.values._common import (
    _MAX_EXPLAINED,
    _MAX_LIST_ANSWER,
    _MAX_LIST_ITEMS,
    _MAX_SUGGESTIONS,
    InvalidAnswer,
    T,
    V,
    _article,
    _capitalized,
    _listing,
    _plural,
    _prepare,
    _shown,
)
from bot.referrals.catalogs import COUNTRIES, CURRENCIES, SOLUTIONS
from bot.referrals.lookup import Catalog, UnknownValue

_OPTION_NUMBER = re.compile(r"#?(\d{1,6})[.)]?", re.ASCII)
# The longest run of comma-separated pieces tried as one value: catalog values hold up to
# three commas ("DynamicsAX,GP,NAV,SL"), and labels a few more words at most.
_MAX_JOINED = 6
_LIST_SEPARATORS = re.compile(r"[;\n]")
_SMALL_CATALOG = 12


@dataclass(frozen=True, slots=True)
class _Miss:
    """A piece of an answer that names nothing, and what to say about it."""

    given: str
    note: str | None = None
    suggestions: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()

    def did_you_mean(self) -> str:
        if len(self.labels) == 1:
            return f"Did you mean {self.labels[0]}?"
        if self.labels:
            return f"Did you mean one of: {'; '.join(self.labels)}?"
        return ""

    def describe(self) -> str:
        detail = self.note or self.did_you_mean()
        detail = detail[:1].lower() + detail[1:]
        return f"{_shown(self.given)} ({detail})" if detail else _shown(self.given)


class _Chooser(Generic[T]):
    """Resolves pieces of an answer (names, or numbers of the options shown) to values."""

    def __init__(
        self,
        noun: str,
        by_name: Callable[[str], T | None],
        explain: Callable[[str], _Miss],
        numbered: Sequence[str] | None,
        hint: str,
    ) -> None:
        self.noun = noun
        self.by_name = by_name
        self.explain_name = explain
        self.numbered = tuple(numbered or ())
        self.hint = hint

    def option(self, piece: str) -> int | None:
        match = _OPTION_NUMBER.fullmatch(piece) if self.numbered else None
        return int(match[1]) if match is not None else None

    def resolve(self, piece: str) -> T | None:
        number = self.option(piece)
        if number is None:
            return self.by_name(piece)
        if 1 <= number <= len(self.numbered):
            return self.by_name(self.numbered[number - 1])
        return None

    def explain(self, piece: str) -> _Miss:
        number = self.option(piece)
        if number is None:
            return self.explain_name(piece)
        if 1 <= number <= len(self.numbered):
            return self.explain_name(self.numbered[number - 1])
        return _Miss(
            piece, note=f"There is no option {number}; they go from 1 to {len(self.numbered)}."
        )

    def one(self, text: str) -> T:
        cleaned = _prepare(text, noun=self.noun)
        if not cleaned:
            raise InvalidAnswer(
                f"{_capitalized(_article(self.noun))} {self.noun} is required.", hint=self.hint
            )
        found = self.resolve(cleaned)
        if found is not None:
            return found
        several, misses = self.split(cleaned)
        count = len(dict.fromkeys(several))
        if not misses and count > 1:
            raise InvalidAnswer(
                f"{_shown(text)} names {count} {_plural(self.noun)}; choose only one.",
                hint=self.hint,
            )
        raise self.unknown([self.explain(cleaned)])

    def many(self, text: str, max_items: int | None) -> tuple[T, ...]:
        cleaned = _prepare(
            text, noun=f"list of {_plural(self.noun)}", limit=_MAX_LIST_ANSWER, lines=True
        )
        pieces = len(re.findall(r"[^,;\n]+", cleaned))
        if pieces > _MAX_LIST_ITEMS:
            raise InvalidAnswer(
                f"That answer lists {pieces} items; the most that can be read is "
                f"{_MAX_LIST_ITEMS}.",
                hint=self.hint,
            )
        whole = self.resolve(cleaned) if cleaned else None
        if whole is not None and not self._all_named(cleaned):
            return (whole,)
        found, misses = self.split(cleaned)
        if misses:
            raise self.unknown(misses)
        picked = tuple(dict.fromkeys(found))
        if not picked:
            raise InvalidAnswer(
                f"Choose at least one {self.noun}.",
                hint=self.hint,
            )
        if max_items is not None and len(picked) > max_items:
            raise InvalidAnswer(
                f"That is {len(picked)} {_plural(self.noun)}; choose at most {max_items}.",
                hint=self.hint,
            )
        return picked

    def _all_named(self, text: str) -> bool:
        """Whether *text* is a list whose every item names a value on its own."""
        pieces = [piece.strip() for piece in re.split(r"[,;\n]", text) if piece.strip()]
        return len(pieces) > 1 and all(self.resolve(piece) is not None for piece in pieces)

    def split(self, text: str) -> tuple[list[T], list[_Miss]]:
        """Every value named in *text*, in order, and what could not be read.

        Semicolons and line breaks always separate. Commas usually do, but values may hold
        commas, so at each piece the longest run of pieces that names a value wins, unless
        each of those pieces names a value of its own: "PE, RU" is Peru and Russia, not
        Peru.
        """
        found: list[T] = []
        misses: list[_Miss] = []
        for chunk in _LIST_SEPARATORS.split(text):
            pieces = [piece.strip() for piece in chunk.split(",") if piece.strip()]
            alone = [self.resolve(piece) for piece in pieces]
            unread: list[str] = []
            start = 0
            while start < len(pieces):
                for end in range(min(len(pieces), start + _MAX_JOINED), start, -1):
                    if end - start == 1:
                        value = alone[start]
                    elif all(item is not None for item in alone[start:end]):
                        continue
                    else:
                        value = self.resolve(", ".join(pieces[start:end]))
                    if value is not None:
                        break
                else:
                    unread.append(pieces[start])
                    start += 1
                    continue
                self._explain_run(unread, misses)
                unread = []
                found.append(value)
                start = end
            self._explain_run(unread, misses)
        return found, misses

    def _explain_run(self, run: list[str], misses: list[_Miss]) -> None:
        """Adds what to say about consecutive unread pieces."""
        if not run:
            return
        if len(misses) >= _MAX_EXPLAINED:
            misses.extend(_Miss(piece) for piece in run)
            return
        each = [self.explain(piece) for piece in run]
        if len(run) > 1:
            # A value with commas typed with a typo ("Agricultre, Forestry, & Fishing") is
            # one mistake, not three: its pieces all point at the value the whole run does.
            joined = self.explain(", ".join(run))
            best = joined.suggestions[:1]
            if best and all(miss.suggestions[:1] == best for miss in each):
                misses.append(joined)
                return
        misses.extend(each)

    def unknown(self, misses: Sequence[_Miss]) -> InvalidAnswer:
        suggestions = tuple(dict.fromkeys(value for miss in misses for value in miss.suggestions))[
            :_MAX_SUGGESTIONS
        ]
        if len(misses) == 1:
            miss = misses[0]
            if miss.note is not None and not miss.suggestions:
                message = f"{_shown(miss.given)} is not {_article(self.noun)} {self.noun}: "
                message += miss.note[:1].lower() + miss.note[1:]
            else:
                message = f"{_shown(miss.given)} is not a known {self.noun}."
                if miss.note is not None:
                    message += f" {miss.note}"
                if miss.did_you_mean():
                    message += f" {miss.did_you_mean()}"
            return InvalidAnswer(message, hint=self.hint, suggestions=suggestions)
        shown = [miss.describe() for miss in misses[:_MAX_EXPLAINED]]
        more = len(misses) - len(shown)
        listed = "; ".join(shown) + (f"; and {more} more" if more else "")
        return InvalidAnswer(
            f"These are not known {_plural(self.noun)}: {listed}.",
            hint=self.hint,
            suggestions=suggestions,
        )


def _catalog_miss(catalog: Catalog[str], piece: str) -> _Miss:
    try:
        catalog.lookup(piece)
    except UnknownValue as exc:
        return _Miss(piece, suggestions=exc.suggestions, labels=exc.suggestion_labels)
    return _Miss(piece)


def _catalog_hint(catalog: Catalog[str], numbered: Sequence[str] | None, *, many: bool) -> str:
    noun = catalog.name
    if numbered:
        hint = f"Type a number from 1 to {len(numbered)}, or the name of {_article(noun)} {noun}."
    elif len(catalog) <= _SMALL_CATALOG:
        hint = f"Choose from: {_listing([catalog.label(value) for value in catalog])}."
    else:
        hint = f"Type the name of {_article(noun)} {noun}, or pick one from the list."
    if many:
        hint += " Separate several with commas, semicolons or new lines."
    return hint


def _catalog_chooser(
    catalog: Catalog[V], numbered: Sequence[str] | None, *, many: bool, hint: str | None = None
) -> _Chooser[V]:
    return _Chooser(
        catalog.name,
        catalog.get,
        lambda piece: _catalog_miss(catalog, piece),
        numbered,
        hint or _catalog_hint(catalog, numbered, many=many),
    )


def parse_choice(text: str, catalog: Catalog[V], *, numbered: Sequence[str] | None = None) -> V:
    """One value of *catalog*, as its canonical value.

    Accepts the canonical value (what a card sends), its label or an alias, in any case and
    spacing, and, when the options were shown numbered, an option's number: *numbered*
    lists the values shown, first as 1. An unknown answer is refused with the closest values
    in ``suggestions`` and in the message.
    """
    return _catalog_chooser(catalog, numbered, many=False).one(text)


def parse_choices(
    text: str,
    catalog: Catalog[V],
    *,
    numbered: Sequence[str] | None = None,
    max_items: int | None = None,
) -> tuple[V, ...]:
    """One or more values of *catalog*, in the order given, without repeats.

    Values are separated by commas, semicolons or line breaks; a value that itself holds
    commas ("Agriculture, Forestry, & Fishing", "DynamicsAX,GP,NAV,SL") is still read as one,
    so a multi-select card may send its values joined by commas. Each item is read as
    :func:`parse_choice` reads one (numbers too: ``1, 3, 5``). Every unreadable item is
    reported at once. At most *max_items* values, when given.
    """
    return _catalog_chooser(catalog, numbered, many=True).many(text, max_items)


def parse_country(text: str) -> str:
    """A country, as its ISO 3166-1 alpha-2 code, from the code, the alpha-3 code or a name."""
    return _catalog_chooser(
        COUNTRIES,
        None,
        many=False,
        hint="Type the country's name or its two-letter code, such as Germany or DE.",
    ).one(text)


_CURRENCY_HINT = "Type a three-letter currency code such as USD, EUR or GBP, or its name."
_SYMBOL_CURRENCIES = {
    "$": ("USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN"),
    "€": ("EUR",),
    "£": ("GBP",),
    "¥": ("JPY", "CNY"),
    "₹": ("INR",),
}


def parse_currency(text: str) -> str:
    """A currency, as its ISO 4217 code, from the code or its name.

    A symbol alone is refused, with the currencies that use it as suggestions: ``$`` alone
    could be any of them.
    """
    symbol = _prepare(text, noun="currency")
    if symbol in _SYMBOL_CURRENCIES:
        codes = _SYMBOL_CURRENCIES[symbol]
        more = " and others" if len(codes) > 1 else ""
        raise InvalidAnswer(
            f'"{symbol}" is a symbol, not a currency code; it stands for {", ".join(codes)}{more}.',
            hint=_CURRENCY_HINT,
            suggestions=codes,
        )
    return _catalog_chooser(CURRENCIES, None, many=False, hint=_CURRENCY_HINT).one(text)


SolutionKind = Literal["category", "id"]


@dataclass(frozen=True, slots=True)
class SolutionChoice:
    """A solution the customer needs: a category of :data:`SOLUTIONS`, or a partner's id."""

    value: str
    kind: SolutionKind


_SOLUTION_ID = re.compile(r"(?:SOL|DEAL)-[A-Z0-9]+(?:-[A-Z0-9]+)*", re.ASCII | re.IGNORECASE)
_SOLUTION_ID_LIKE = re.compile(r"(?:sol|deal)\b", re.ASCII | re.IGNORECASE)
_SOLUTIONS_HINT = (
    "Type solution categories, such as Cloud Migration, or your solution ids, such as "
    "SOL-15974-MQF; separate several with commas, semicolons or new lines."
)


def _solution_by_name(piece: str) -> SolutionChoice | None:
    if _SOLUTION_ID.fullmatch(piece):
        return SolutionChoice(piece.upper(), "id")
    category = SOLUTIONS.get(piece)
    return SolutionChoice(category, "category") if category is not None else None


def _solution_miss(piece: str) -> _Miss:
    if _SOLUTION_ID_LIKE.match(piece):
        return _Miss(
            piece,
            note="A solution id is SOL- or DEAL- followed by letters and digits, "
            "such as SOL-15974-MQF.",
        )
    return _catalog_miss(SOLUTIONS, piece)


def parse_solutions(
    text: str, *, numbered: Sequence[str] | None = None
) -> tuple[SolutionChoice, ...]:
    """One or more solutions: categories of :data:`SOLUTIONS`, or solution ids.

    A solution id is ``SOL-`` or ``DEAL-`` followed by dash-separated letters and digits
    (``SOL-15974-MQF``), accepted in any case and returned upper-case. Categories are read
    as :func:`parse_choices` reads values; *numbered* lists the options shown (categories
    or ids), first as 1.
    """
    chooser = _Chooser(SOLUTIONS.name, _solution_by_name, _solution_miss, numbered, _SOLUTIONS_HINT)
    return chooser.many(text, None)
