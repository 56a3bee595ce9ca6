"""What every validator shares: the error it raises and the wording helpers."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Sequence
from typing import TypeVar

V = TypeVar("V", bound=str)
T = TypeVar("T", bound=Hashable)


class InvalidAnswer(ValueError):
    """An answer that cannot be used; the step is asked again with this explanation.

    ``message`` says what is wrong in plain words, ``hint`` what would be right, and
    ``suggestions`` holds the closest valid values (canonical, as a card would send them).
    ``str()`` of the exception is the message alone.
    """

    def __init__(
        self, message: str, hint: str | None = None, suggestions: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.suggestions: tuple[str, ...] = tuple(suggestions)

    def __reduce__(self) -> tuple[type[InvalidAnswer], tuple[str, str | None, tuple[str, ...]]]:
        # The default keeps only ``args``, which would drop the hint and suggestions.
        return (type(self), (self.message, self.hint, self.suggestions))


# Answers that are not free text are short; refusing long ones early keeps the fuzzy
# matching behind the suggestions from running over pasted pages.
_MAX_ANSWER = 1000
_MAX_LIST_ANSWER = 10_000
_MAX_LIST_ITEMS = 200
_MAX_EXPLAINED = 10
_MAX_SUGGESTIONS = 8
_PREVIEW = 40

# C0 and C1 controls except tab, line feed and carriage return, and lone surrogates (which
# arrive from badly encoded JSON and cannot be stored as UTF-8).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _shown(text: str) -> str:
    """*text* quoted for a message: one line, shortened, invisible characters escaped."""
    flat = " ".join(text.split())
    if len(flat) > _PREVIEW:
        flat = flat[: _PREVIEW - 1] + "…"
    visible = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape", "backslashreplace").decode()
        for ch in flat
    )
    return f'"{visible}"'


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


def _plural(noun: str) -> str:
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u"):
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {_plural(noun)}"


def _listing(items: Sequence[str]) -> str:
    # Some labels hold commas ("Agriculture, Forestry, & Fishing"); semicolons keep them apart.
    separator = "; " if any("," in item for item in items) else ", "
    return separator.join(items)


def _check_controls(text: str, subject: str) -> None:
    found = _CONTROL.search(text)
    if found is not None:
        raise InvalidAnswer(
            f"{subject} contains an invisible control character "
            f"(U+{ord(found.group()):04X}) that cannot be saved.",
            hint="Type it again, or paste it as plain text.",
        )


def _prepare(text: str, *, noun: str, limit: int = _MAX_ANSWER, lines: bool = False) -> str:
    """A short structured answer, cleaned: NFKC, whitespace collapsed, controls refused.

    NFKC turns full-width digits and letters, and no-break and thin spaces, into their plain
    forms, which is what a structured value means. With *lines*, line breaks are kept.
    """
    if len(text) > limit:
        raise InvalidAnswer(
            f"That answer is {len(text):,} characters long, "
            f"too long to be {_article(noun)} {noun}.",
            hint=f"Type just the {noun}.",
        )
    _check_controls(text, _shown(text))
    text = unicodedata.normalize("NFKC", text)
    if lines:
        kept = (" ".join(line.split()) for line in text.splitlines())
        return "\n".join(line for line in kept if line)
    return " ".join(text.split())
