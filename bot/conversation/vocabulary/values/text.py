"""Free text: names, addresses, notes."""

from __future__ import annotations

import unicodedata

from bot.conversation.vocabulary.values._common import (
    InvalidAnswer,
    _capitalized,
    _check_controls,
    _count,
)


def parse_text(text: str, *, field: str, max_length: int, required: bool = True) -> str:
    """One line of free text: trimmed, runs of whitespace (line breaks too) made one space.

    *field* names the answer in messages and starts a sentence ("The customer name").
    Refuses control characters, and text longer than *max_length* once cleaned. An empty
    answer is refused when *required*, and returned as ``""`` otherwise.
    """
    return _free_text(text, field=field, max_length=max_length, required=required, lines=False)


def parse_long_text(text: str, *, field: str, max_length: int, required: bool = True) -> str:
    """Free text that may span lines, such as notes.

    As :func:`parse_text`, but line breaks are kept (as ``\\n``); spaces at the ends of
    lines and blank lines at the start and end are dropped.
    """
    return _free_text(text, field=field, max_length=max_length, required=required, lines=True)


def _free_text(text: str, *, field: str, max_length: int, required: bool, lines: bool) -> str:
    subject = _capitalized(field)
    _check_controls(text, subject)
    # NFC, not NFKC: in free text the exact characters are the person's choice.
    text = unicodedata.normalize("NFC", text)
    if lines:
        cleaned = "\n".join(line.rstrip() for line in text.splitlines()).strip()
    else:
        cleaned = " ".join(text.split())
    if not cleaned:
        if required:
            raise InvalidAnswer(f"{subject} is required.", hint="Type an answer to go on.")
        return ""
    if len(cleaned) > max_length:
        raise InvalidAnswer(
            f"{subject} is too long: {len(cleaned):,} characters, and the limit is {max_length:,}.",
            hint=f"Shorten it by at least {_count(len(cleaned) - max_length, 'character')}.",
        )
    return cleaned
