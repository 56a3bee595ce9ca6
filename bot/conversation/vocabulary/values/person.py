"""A person in one answer: "Ada Lovelace <ada@fabrikam.com> +1 206 555 0100".

People paste a contact the way it appears in a signature or an address book: a name, an
email address and a phone number, in any order, separated by spaces, commas or brackets.
:func:`parse_contact` reads each with the validators the single-field questions use
(:func:`~.contact.parse_email`, :func:`~.contact.parse_phone`) and splits the name into a
first and a last name by these rules, which the review shows before anything is sent:

* A word with ``@`` is the email address; a run of words that start like a number (a
  digit, ``+``, or a bracket and a digit) is the phone number ("+1 (206) 555-0100"). A
  ``+`` starts a new number.
* Titles in front of a name are dropped: Dr, Mr, Mrs, Ms, Prof (with or without a dot).
* "Lovelace, Ada": two names with only a comma between them are last name, first name.
* A single word is the first name only ("Ada", "山田太郎"): the last name is asked next,
  never cut out of the word by guess.
* Han, Hiragana, Katakana and Hangul names written with a space are family name first
  ("山田 太郎": first 太郎, last 山田; "김 민준": first 민준, last 김).
* Otherwise the given name comes first: the last word is the last name and the words
  before it the first name ("María José García": María José / García; "Анна Каренина":
  Анна / Каренина), except that a particle after the first word starts the last name
  ("Ludwig van Beethoven": Ludwig / van Beethoven; "Ursula von der Leyen": Ursula / von der
  Leyen), and a closing Jr, Sr, II, III or IV stays with the last name. Spanish and
  Portuguese names with two family names ("Gabriel García Márquez") come out with the
  first family name in the first name; "García Márquez, Gabriel" reads them as meant.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.conversation.vocabulary.values._common import InvalidAnswer, _count, _prepare, _shown
from bot.conversation.vocabulary.values.contact import parse_email, parse_phone
from bot.referrals import limits


@dataclass(frozen=True, slots=True)
class Contact:
    """A person's name, email address and phone number, each ``None`` when not given.

    ``email`` is as :func:`~.contact.parse_email` returns it, ``phone`` as
    :func:`~.contact.parse_phone` does ("+12065550100").
    """

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None


_HINT = (
    "Type the person's name, email address and phone number, such as "
    "Ada Lovelace, ada@fabrikam.com, +1 206 555 0100; any of them may be left out."
)
_TITLES = frozenset({"dr", "mr", "mrs", "ms", "prof"})
_PARTICLES = frozenset(
    {
        "van",
        "von",
        "der",
        "den",
        "de",
        "da",
        "di",
        "del",
        "della",
        "des",
        "du",
        "dos",
        "das",
        "do",
        "le",
        "la",
        "ten",
        "ter",
        "zu",
        "bin",
        "ibn",
        "al",
        "el",
    }
)
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
_NUMBER_START = re.compile(r"\+|\(?[0-9]")
# Apostrophes (typed and typographic), hyphens (ASCII and Unicode) and dots: O'Brien, J. R.
_NAME_PUNCTUATION = frozenset("'\u2019-\u2010.")
_BRACKETS = '<>()[]{}"“”«»'
_FAMILY_FIRST_SCRIPTS = ("CJK ", "HIRAGANA", "KATAKANA", "HANGUL", "IDEOGRAPHIC ITERATION")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "name", "email", "phone", "comma" or "separator"
    text: str


def parse_contact(text: str) -> Contact:
    """A person's first and last name, email address and phone number, from one answer.

    Any of the four may be missing, but not all. See the module's docstring for how the
    name is split. Refused: two different email addresses or phone numbers, a word with
    ``@`` that is not an email address, a number that is not a phone number, a name with
    digits or symbols in it, more than one name, and a name part over the length limit.
    """
    cleaned = _prepare(text, noun="contact")
    if not cleaned:
        raise InvalidAnswer("A name, an email address or a phone number is required.", hint=_HINT)
    tokens = _tokens(cleaned)
    emails = [token.text for token in tokens if token.kind == "email"]
    email = _one([(typed, parse_email(typed)) for typed in emails], "email address")
    phone = _one([(typed, parse_phone(typed)) for typed in _phone_runs(tokens)], "phone number")
    names = _name_runs(tokens)
    first, last = _names(names)
    if first is None and last is None and email is None and phone is None:
        raise InvalidAnswer(
            f"{_shown(text)} has no name, email address or phone number in it.", hint=_HINT
        )
    for value, field in ((first, "first name"), (last, "last name")):
        if value is not None and len(value) > limits.PERSON_NAME:
            raise InvalidAnswer(
                f"The {field} {_shown(value)} is too long: {len(value):,} characters, "
                f"and the limit is {limits.PERSON_NAME}.",
                hint=(
                    f"Shorten the {field} by at least "
                    f"{_count(len(value) - limits.PERSON_NAME, 'character')}."
                ),
            )
    return Contact(first, last, email, phone)


def format_contact(contact: Contact) -> str:
    """*contact* on one line: "Ada Lovelace <ada@fabrikam.com> +12065550100".

    The name is written as :func:`parse_contact` reads it back: family name first for
    Han, Kana and Hangul names, and "Last, First" when the given-first order would be
    split differently ("Byron Lovelace, Ada"). A last name alone is written as it is (read
    back, it would be a first name). Parts that are ``None`` are left out.
    """
    name = _name_text(contact.first_name, contact.last_name)
    pieces = [name] if name else []
    if contact.email is not None:
        pieces.append(f"<{contact.email}>" if name else contact.email)
    if contact.phone is not None:
        pieces.append(contact.phone)
    return " ".join(pieces)


def _tokens(cleaned: str) -> list[_Token]:
    """The words of *cleaned*, each with what it is; commas are tokens of their own."""
    tokens: list[_Token] = []
    for index, segment in enumerate(cleaned.split(",")):
        if index:
            tokens.append(_Token("comma", ","))
        for word in segment.split():
            tokens.append(_token(word))
    return tokens


def _token(word: str) -> _Token:
    """What *word* is: an email address (it has ``@``), part of a phone number, or a name.

    A word that starts like a number (a digit, ``+`` or a bracket and a digit) is part of
    a phone number, and :func:`parse_phone` explains any letter in it ("0100x12"); a word
    that has neither letters nor digits only separates the others.
    """
    if "@" in word:
        return _Token("email", word.strip(_BRACKETS))
    number = word[4:] if word[:4].lower() == "tel:" else word
    if _NUMBER_START.match(number):
        return _Token("phone", number)
    name = word.strip(_BRACKETS)
    if not any(unicodedata.category(ch)[0] in "LMN" for ch in name):
        return _Token("separator", word)
    return _Token("name", name)


def _phone_runs(tokens: list[_Token]) -> list[str]:
    """Phone numbers: neighbouring phone tokens, each ``+`` starting a new number."""
    runs: list[list[str]] = []
    previous = None
    for token in tokens:
        if token.kind == "phone":
            if previous != "phone" or token.text.startswith("+"):
                runs.append([])
            runs[-1].append(token.text)
        previous = token.kind
    return [" ".join(run) for run in runs]


def _one(found: list[tuple[str, str]], noun: str) -> str | None:
    """The one value typed (as typed, value) pairs hold, or ``None``; refuses two.

    The same value typed twice, or in another case ("ada@x.com <ADA@x.com>"), is one.
    """
    distinct: dict[str, tuple[str, str]] = {}
    for typed, value in found:
        distinct.setdefault(value.casefold(), (typed, value))
    if len(distinct) > 1:
        shown = [_shown(typed) for typed, _ in distinct.values()]
        more = " and more" if len(shown) > 3 else ""
        raise InvalidAnswer(
            f"That answer has {_count(len(shown), noun)}: {' and '.join(shown[:3])}{more}.",
            hint=f"Give one {noun} for the person.",
        )
    return next(iter(distinct.values()))[1] if distinct else None


def _name_runs(tokens: list[_Token]) -> list[tuple[list[str], bool]]:
    """The names: runs of neighbouring name words, titles dropped, each checked.

    With each run, whether only a comma separates it from the run before.
    """
    runs: list[tuple[list[str], bool]] = []
    between: list[str] = []
    current: list[str] = []
    for token in [*tokens, _Token("end", "")]:
        if token.kind == "name":
            _check_name_word(token.text)
            current.append(token.text)
            continue
        if current:
            words = _untitled(current)
            if words:
                runs.append((words, between == ["comma"]))
                between = []
            current = []
        between.append(token.kind)
    return runs


def _untitled(words: list[str]) -> list[str]:
    start = 0
    while start < len(words) and words[start].rstrip(".").casefold() in _TITLES:
        start += 1
    return words[start:]


def _check_name_word(word: str) -> None:
    if any(unicodedata.category(ch) == "Nd" for ch in word):
        raise InvalidAnswer(
            f"The name {_shown(word)} has digits in it.",
            hint=(
                "Write names in letters; a phone number goes after the name, "
                "starting with + and the country code."
            ),
        )
    stray = next(
        (
            ch
            for ch in word
            if ch not in _NAME_PUNCTUATION and unicodedata.category(ch)[0] not in "LM"
        ),
        None,
    )
    if stray is not None:
        raise InvalidAnswer(
            f'The name {_shown(word)} has "{stray}" in it, which is not part of a name.',
            hint="Write names in letters, with hyphens, apostrophes or dots where they belong.",
        )


def _names(runs: list[tuple[list[str], bool]]) -> tuple[str | None, str | None]:
    """First and last name from the names found: none, one, or "Last, First"."""
    if not runs:
        return None, None
    if len(runs) == 1:
        return _split_name(runs[0][0])
    if len(runs) == 2 and runs[1][1]:
        return " ".join(runs[1][0]), " ".join(runs[0][0])
    shown = " and ".join(_shown(" ".join(words)) for words, _ in runs[:3])
    raise InvalidAnswer(
        f"That answer has more than one name: {shown}{' and more' if len(runs) > 3 else ''}.",
        hint=f"Give one person. {_HINT}",
    )


def _family_first(words: list[str]) -> bool:
    """Whether every word is written in Han, Kana or Hangul, whose names put the family first."""
    return all(
        unicodedata.name(ch, "").startswith(_FAMILY_FIRST_SCRIPTS) for word in words for ch in word
    )


def _split_name(words: list[str]) -> tuple[str | None, str | None]:
    """First and last name of one name written in its usual order."""
    if len(words) == 1:
        return words[0], None
    if _family_first(words):
        return " ".join(words[1:]), words[0]
    suffix: list[str] = []
    if len(words) > 2 and words[-1].rstrip(".").casefold() in _SUFFIXES:
        suffix = words[-1:]
        words = words[:-1]
    start = len(words) - 1
    for index in range(1, len(words) - 1):
        if words[index].casefold() in _PARTICLES:
            start = index
            break
    return " ".join(words[:start]), " ".join(words[start:] + suffix)


def _name_text(first: str | None, last: str | None) -> str:
    if first is None or last is None:
        return first or last or ""
    written = f"{last} {first}" if _family_first([first, last]) else f"{first} {last}"
    if _split_name(written.split()) == (first, last):
        return written
    return f"{last}, {first}"
