"""Forgiving lookup over a fixed, ordered set of values the API spells one exact way.

A :class:`Catalog` maps what people type ("agriculture forestry and fishing",
"united states", "10 to 50 employees") to the canonical value the API expects, and
when it cannot, says so with the closest valid values.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from difflib import SequenceMatcher
from typing import Generic, TypeVar

__all__ = ["Catalog", "UnknownValue", "camel_label", "lookup_key"]

# Covariant so that, say, a Catalog[ReferralStatus] is usable as a Catalog[str].
V_co = TypeVar("V_co", bound=str, covariant=True)

_SUGGESTION_CUTOFF = 0.6
_ERROR_SUGGESTIONS = 5
_MIN_FRAGMENT = 3
_GIVEN_PREVIEW = 60

_WORD_BOUNDARY = re.compile(
    r"(?<=[a-z])(?=[A-Z])"  # camelCase
    r"|(?<=[A-Z])(?=[A-Z][a-z])"  # an acronym followed by a word: IPServices
    r"|(?<=[A-Za-z])(?=\d)"
    r"|(?<=\d)(?=[A-Za-z])"
)
_SMALL_WORDS = frozenset({"a", "an", "and", "for", "in", "of", "on", "or", "the", "to", "with"})


def lookup_key(text: str) -> str:
    """Return the key *text* is matched by.

    Case, accents, spaces and punctuation are ignored and ``&`` reads as "and", so
    ``"Agriculture, Forestry, & Fishing"`` and ``"agriculture forestry and fishing"``
    share a key, as do ``"Côte d'Ivoire"`` and ``"cote divoire"``.
    """
    decomposed = unicodedata.normalize("NFKD", text.replace("&", " and ").casefold())
    # Combining accents are not alphanumeric, so this also strips them.
    return "".join(ch for ch in decomposed if ch.isalnum())


def camel_label(value: str) -> str:
    """Spell a CamelCase API value as words.

    ``"Dynamics365Business"`` becomes ``"Dynamics 365 Business"``.

    Connecting words are lower-cased (``"SkypeForBusiness"`` -> ``"Skype for Business"``),
    commas and brackets get their usual spacing, and the result always has the same
    :func:`lookup_key` as *value*. Lower-case words run together (``"DatabaseonLinux"``)
    cannot be split reliably; give those an explicit label instead.
    """
    spaced = _WORD_BOUNDARY.sub(" ", value)
    spaced = re.sub(r"\s*,\s*", ", ", spaced)
    spaced = re.sub(r"\s*\(\s*", " (", spaced)
    words = spaced.split()
    return " ".join(
        word.lower() if index and word.lower() in _SMALL_WORDS else word
        for index, word in enumerate(words)
    )


class UnknownValue(ValueError):
    """Text that names no value of a catalog.

    ``catalog`` is the catalog's name, ``given`` the text as received and
    ``suggestions`` the closest canonical values, best first (possibly empty).
    """

    def __init__(
        self,
        catalog: str,
        given: str,
        suggestions: Sequence[str] = (),
        *,
        suggestion_labels: Sequence[str] | None = None,
    ) -> None:
        self.catalog = catalog
        self.given = given
        self.suggestions: tuple[str, ...] = tuple(suggestions)
        self.suggestion_labels: tuple[str, ...] = (
            self.suggestions if suggestion_labels is None else tuple(suggestion_labels)
        )
        super().__init__(self._message())

    def _message(self) -> str:
        given = self.given
        if len(given) > _GIVEN_PREVIEW:
            given = given[: _GIVEN_PREVIEW - 1] + "…"
        message = f"{given!r} is not a known {self.catalog}."
        if len(self.suggestion_labels) == 1:
            message += f" Did you mean: {self.suggestion_labels[0]}?"
        elif self.suggestion_labels:
            # Semicolons, because labels such as "Agriculture, Forestry, & Fishing" hold commas.
            message += f" Did you mean one of: {'; '.join(self.suggestion_labels)}?"
        return message


class Catalog(Generic[V_co]):
    """An ordered set of canonical values, looked up leniently.

    *name* is a singular noun used in messages ("industry"). *values* are the canonical
    values in display order, spelt exactly as the API spells them. *aliases* maps other
    accepted names to a canonical value; *labels* maps a canonical value to how it is
    shown to people (default: the value itself). Labels are for display and for
    suggestions; put a label in *aliases* too if it should be accepted when its key
    differs from the value's.

    Raises :class:`ValueError` if two values, or an alias and a different value, share a
    :func:`lookup_key`, if an alias or label refers to an unknown value, or if a value or
    alias has an empty key.
    """

    def __init__(
        self,
        name: str,
        values: Iterable[V_co],
        *,
        aliases: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self._values: tuple[V_co, ...] = tuple(values)
        canonical: dict[str, V_co] = {}
        self._by_key: dict[str, V_co] = {}
        for value in self._values:
            if value in canonical:
                raise ValueError(f"{name}: {value!r} is listed twice")
            canonical[value] = value
            key = self._key_of(value, f"value {value!r}")
            other = self._by_key.setdefault(key, value)
            if other != value:
                raise ValueError(f"{name}: values {other!r} and {value!r} are indistinguishable")
        for alias, target in (aliases or {}).items():
            value = self._resolve(canonical, target, f"alias {alias!r}")
            key = self._key_of(alias, f"alias {alias!r}")
            other = self._by_key.setdefault(key, value)
            if other != value:
                raise ValueError(
                    f"{name}: alias {alias!r} for {value!r} is indistinguishable from {other!r}"
                )
        self._labels: dict[str, str] = {}
        for target, label in (labels or {}).items():
            self._labels[self._resolve(canonical, target, f"label {label!r}")] = label
        self._position: dict[str, int] = {value: i for i, value in enumerate(self._values)}
        # (key, position of the value it leads to) for every name worth suggesting from.
        names: list[tuple[str, str]] = [
            *self._by_key.items(),
            *((lookup_key(label), value) for value, label in self._labels.items()),
        ]
        self._candidates: tuple[tuple[str, int], ...] = tuple(
            (key, self._position[value]) for key, value in names if key
        )

    def _key_of(self, text: str, what: str) -> str:
        key = lookup_key(text)
        if not key:
            raise ValueError(f"{self.name}: {what} has no letters or digits to match on")
        return key

    def _resolve(self, canonical: Mapping[str, V_co], target: str, what: str) -> V_co:
        try:
            return canonical[target]
        except KeyError:
            raise ValueError(f"{self.name}: {what} refers to unknown value {target!r}") from None

    @property
    def values(self) -> tuple[V_co, ...]:
        """The canonical values, in order."""
        return self._values

    def get(self, text: str) -> V_co | None:
        """Return the canonical value *text* names, or ``None``."""
        return self._by_key.get(lookup_key(text))

    def lookup(self, text: str) -> V_co:
        """Return the canonical value *text* names.

        Raises :class:`UnknownValue`, with the closest values as suggestions, if none.
        """
        value = self.get(text)
        if value is None:
            suggestions = self.closest(text, _ERROR_SUGGESTIONS)
            raise UnknownValue(
                self.name,
                text,
                suggestions,
                suggestion_labels=[self._suggestion_label(value) for value in suggestions],
            )
        return value

    def label(self, value: str) -> str:
        """Return the display label of the value *value* names.

        Accepts any spelling :meth:`lookup` does and raises :class:`UnknownValue` likewise.
        """
        canonical = self.lookup(value)
        return self._labels.get(canonical, canonical)

    def closest(self, text: str, n: int = 3) -> tuple[V_co, ...]:
        """Return up to *n* canonical values nearest to *text*, best first.

        Compares keys of values, aliases and labels; a value whose name contains what
        was typed ("retail" in "Retail & Consumer Goods") counts as close.
        """
        key = lookup_key(text)
        if not key or n <= 0:
            return ()
        scores: dict[int, float] = {}
        matcher = SequenceMatcher(autojunk=False)
        matcher.set_seq2(key)
        for candidate, position in self._candidates:
            score = 0.0
            if len(key) >= _MIN_FRAGMENT and key in candidate:
                score = 0.75 + 0.25 * len(key) / len(candidate)
            else:
                matcher.set_seq1(candidate)
                if (
                    matcher.real_quick_ratio() >= _SUGGESTION_CUTOFF
                    and matcher.quick_ratio() >= _SUGGESTION_CUTOFF
                ):
                    score = matcher.ratio()
            if score >= _SUGGESTION_CUTOFF and score > scores.get(position, 0.0):
                scores[position] = score
        ranked = sorted(scores, key=lambda position: (-scores[position], position))
        return tuple(self._values[position] for position in ranked[:n])

    def _suggestion_label(self, value: str) -> str:
        # Show the label only where typing it back would find the value again.
        label = self._labels.get(value, value)
        if lookup_key(label) == lookup_key(value):
            return label
        return f"{value} ({label})"

    def __contains__(self, item: object) -> bool:
        """Whether *item* is exactly one of the canonical values."""
        return isinstance(item, str) and item in self._position

    def __iter__(self) -> Iterator[V_co]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"<Catalog {self.name!r}: {len(self._values)} values>"
