"""The words after ``/referral new``: "Contoso 50k USD by 2027-03-31".

A seller can start a referral in one line, naming the customer, the deal's value and when
it should close, in any order. :func:`parse_opening` fills what it reads and the
conversation asks the rest. It never refuses: a piece it cannot read goes to
``Opening.unread`` as a sentence quoting the piece as typed and saying why, so nothing is
guessed and nothing is silently dropped. The pieces are read in this order:

1. **Closing date**: the words after ``by``, ``closing``, ``close``, ``closes``, ``due``
   or ``before`` (a following ``on``, ``by`` or ``date`` is skipped: "closing on
   2027-06-30"). The longest run of up to six words :func:`~.dates.parse_date` reads is
   the date ("by 31 March 2027", "by end of quarter"); a date before *today* is unread.
   When no date follows, a keyword typed in lower case is unread with the words after it
   up to the next keyword or amount ("by someday"); typed with a capital it is part of the
   customer's name ("Close Brothers"). A lone date such as "2027-03-31" with no keyword
   before it is unread too: it is not taken as the closing date by guess.
2. **Amount**: a number with a currency: a three-letter ISO 4217 code before or after it
   ("USD 50k", "50,000 EUR"), or a symbol ("$50,000", "€75,000"; a symbol names no
   currency, see :func:`~.money.parse_money`); or, failing that, a number that is clearly
   an amount: with k or m ("50k", "1.5M"), thousands separators ("50,000" or "50 000") or
   at least five digits. Other numbers are words of the name ("Dynamics 365"). The first
   amount with a currency wins, else the first without; any other is unread as a second
   amount. A code typed in lower case counts only when it is no everyday English word
   ("usd" does, "top" and "all" do not).
3. **Customer and name**: the words left, in order, without linking words at either end
   ("for", "worth", "at"...). When they hold " - " or ": " ("Contoso - Dynamics 365
   rollout"), the customer is the text before it and the referral's name the whole text;
   otherwise both are the text. A text over its field's limit is unread instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bot.conversation.vocabulary.values._common import InvalidAnswer, _prepare, _shown
from bot.conversation.vocabulary.values.dates import _human_date, parse_date
from bot.conversation.vocabulary.values.money import _SYMBOLS as _MONEY_SYMBOLS
from bot.conversation.vocabulary.values.money import Money, parse_money
from bot.referrals import limits
from bot.referrals.catalogs import CURRENCIES


@dataclass(frozen=True, slots=True)
class Opening:
    """What a one-line start of a referral named; ``None`` for what it did not.

    ``unread`` holds a sentence for each piece that could not be read, quoting it as typed
    and saying why, in the order the pieces were typed.
    """

    customer: str | None = None
    name: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    closing: date | None = None
    unread: tuple[str, ...] = ()


_DATE_KEYWORDS = frozenset({"by", "closing", "close", "closes", "due", "before"})
_DATE_FILLERS = frozenset({"on", "by", "date"})
_MAX_DATE_WORDS = 6
# Linking words dropped at either end of the customer's name, when typed in lower case.
_LINKS = frozenset(
    {"for", "worth", "at", "of", "with", "about", "around", "approx", "approx.", "and", "valued"}
)
# Three-letter words that are also currency codes: in lower case they are words.
_CODE_WORDS = frozenset(
    {"all", "bam", "bob", "cop", "cup", "dop", "gel", "mad", "mop", "pen", "ron", "rub"}
    | {"sos", "top", "try"}
)
# The symbols parse_money strips (naming no currency), as a character class.
_SYMBOLS = re.escape("".join(sorted(_MONEY_SYMBOLS)))
_AMOUNT = re.compile(
    rf"(?P<code>[A-Za-z]{{3}})?"
    rf"(?P<amount>[-\u2212\u2013]?(?P<symbol>[{_SYMBOLS}])?"
    r"(?P<number>\d[\d,.]*)(?P<multiplier>[kKmM])?"
    rf"(?P<after>[{_SYMBOLS}])?)"
    rf"(?P<trailing_code>[A-Za-z]{{3}})?"
)
_GROUP = re.compile(r"\d{3}", re.ASCII)
# A date typed as numbers: 2027-03-31, 2027/3/31, 31.03.2027.
_DATE_SHAPE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}", re.ASCII)
# A hyphen, en dash or em dash between spaces, or a colon: "Contoso - Dynamics rollout".
_NAME_SEPARATOR = re.compile(" [-\u2013\u2014] |: ")
_TRAILING = ",;:!?)"


@dataclass(slots=True)
class _Amount:
    """An amount found in words ``start`` to ``end``, as parse_money is to read it."""

    start: int
    end: int
    typed: str
    marked: bool


class _Reading:
    """The words of one opening line, which of them are used, and what could not be read."""

    def __init__(self, words: list[str], today: date) -> None:
        self.words = words
        self.today = today
        self.used = [False] * len(words)
        self.unread: list[tuple[int, str]] = []
        self.closing: date | None = None
        self.money: Money | None = None

    def take(self, start: int, end: int) -> None:
        for index in range(start, end):
            self.used[index] = True

    def typed(self, start: int, end: int) -> str:
        return " ".join(self.words[start:end])

    def read_dates(self) -> None:
        for index, word in enumerate(self.words):
            if self.used[index] or word.rstrip(":").casefold() not in _DATE_KEYWORDS:
                continue
            if self._date_after(index):
                continue
            if word.islower():
                end = self._next_stop(index + 1)
                self.take(index, end)
                phrase = self.typed(index, end)
                reason = "is not a date I can read" if end > index + 1 else "has no date after it"
                self.unread.append((index, f"{_shown(phrase)} {reason}."))

    def _date_after(self, keyword: int) -> bool:
        starts = [keyword + 1]
        if keyword + 1 < len(self.words) and self.words[keyword + 1].casefold() in _DATE_FILLERS:
            starts.append(keyword + 2)
        for start in starts:
            longest = min(_MAX_DATE_WORDS, len(self.words) - start)
            for size in range(longest, 0, -1):
                if any(self.used[start : start + size]):
                    continue
                phrase = self.typed(start, start + size).rstrip(_TRAILING)
                try:
                    found = parse_date(phrase, today=self.today)
                except InvalidAnswer:
                    continue
                self.take(keyword, start + size)
                self._closing(found, keyword, self.typed(keyword, start + size))
                return True
        return False

    def _closing(self, found: date, position: int, typed: str) -> None:
        if found < self.today:
            self.unread.append((position, f"{_shown(typed)} is in the past: {_human_date(found)}."))
        elif self.closing is None:
            self.closing = found
        else:
            self.unread.append(
                (
                    position,
                    f"{_shown(typed)} is a second closing date; "
                    f"the closing date is {_human_date(self.closing)}.",
                )
            )

    def _next_stop(self, start: int) -> int:
        """Where the unreadable words after a keyword end: at the next keyword or amount."""
        for index in range(start, len(self.words)):
            word = self.words[index]
            if (
                self.used[index]
                or word.casefold() in _DATE_KEYWORDS
                or self._amount_at(index) is not None
            ):
                return index
        return len(self.words)

    def read_lone_dates(self) -> None:
        for index, word in enumerate(self.words):
            if not self.used[index] and _DATE_SHAPE.fullmatch(word.rstrip(_TRAILING + ".")):
                self.take(index, index + 1)
                self.unread.append(
                    (
                        index,
                        f'{_shown(word)} looks like a date, but no "by" comes before it, '
                        "so it was not taken as the closing date.",
                    )
                )

    def read_amounts(self) -> None:
        found: list[_Amount] = []
        index = 0
        while index < len(self.words):
            amount = None if self.used[index] else self._amount_at(index)
            if amount is None:
                index += 1
                continue
            found.append(amount)
            self.take(amount.start, amount.end)
            index = amount.end
        found.sort(key=lambda amount: not amount.marked)
        for amount in found:
            try:
                money = parse_money(amount.typed)
            except InvalidAnswer as error:
                self.unread.append((amount.start, error.message))
                continue
            if self.money is None:
                self.money = money
            else:
                kept = f"{self.money.amount:,}" + (
                    f" {self.money.currency}" if self.money.currency else ""
                )
                self.unread.append(
                    (
                        amount.start,
                        f"{_shown(amount.typed)} is a second amount; the amount is {kept}.",
                    )
                )

    def _amount_at(self, index: int) -> _Amount | None:
        """The amount starting at word *index*, with a currency code beside it, if any."""
        word = self.words[index].rstrip(_TRAILING + ".")
        match = _AMOUNT.fullmatch(word)
        if match is None:
            return None
        if match["code"] and not _is_code(match["code"]):
            return None
        if match["trailing_code"] and not _is_code(match["trailing_code"]):
            return None
        start, end = index, index + 1
        # A code typed against the number ("50kUSD") is spaced off, as parse_money reads it.
        typed = [part for part in match.group("code", "amount", "trailing_code") if part]
        # "50 000": groups of three digits after a number of at most three.
        if (
            not match["multiplier"]
            and not match["trailing_code"]
            and re.fullmatch(r"\d{1,3}", match["number"], re.ASCII)
        ):
            while end < len(self.words) and not self.used[end]:
                group = self.words[end].rstrip(_TRAILING)
                if _GROUP.fullmatch(group) is None:
                    break
                typed.append(group)
                end += 1
        marked = bool(match["code"] or match["trailing_code"] or match["symbol"] or match["after"])
        if not match["code"] and start > 0 and self._code_word(start - 1):
            start -= 1
            typed.insert(0, self.words[start])
            marked = True
        elif not match["trailing_code"] and end < len(self.words) and self._code_word(end):
            typed.append(self.words[end].rstrip(_TRAILING))
            end += 1
            marked = True
        if not marked and not _clearly_an_amount(match["number"], match["multiplier"], typed):
            return None
        return _Amount(start, end, " ".join(typed), marked)

    def _code_word(self, index: int) -> bool:
        return not self.used[index] and _is_code(self.words[index].rstrip(_TRAILING))

    def customer(self) -> tuple[str | None, str | None]:
        words = [word for index, word in enumerate(self.words) if not self.used[index]]
        while words and _link(words[0]):
            words.pop(0)
        while words and _link(words[-1]):
            words.pop()
        if not words:
            return None, None
        words[-1] = words[-1].rstrip(_TRAILING)
        text = " ".join(words)
        separator = _NAME_SEPARATOR.search(text)
        customer = text[: separator.start()].rstrip(_TRAILING) if separator else text
        return customer or None, text


def _is_code(word: str) -> bool:
    """Whether *word* is an ISO 4217 code: in capitals, or in any case unless it is a word."""
    return (
        len(word) == 3
        and word.isascii()
        and word.isalpha()
        and word.upper() in CURRENCIES
        and (word.isupper() or word.lower() not in _CODE_WORDS)
    )


def _clearly_an_amount(number: str, multiplier: str | None, typed: list[str]) -> bool:
    """Whether a number without a currency is still clearly money: 50k, 50,000, 50 000, 50000."""
    digits = number.split(".", maxsplit=1)[0]
    return bool(multiplier) or "," in number or len(typed) > 1 or len(digits) >= 5


def _link(word: str) -> bool:
    """Whether *word* only links others ("for", "-", ":") and is dropped at an end."""
    return word in _LINKS or not any(ch.isalnum() for ch in word)


def parse_opening(text: str, *, today: date) -> Opening:
    """What a seller typed to start a referral: customer, name, amount, currency, closing date.

    Never raises: pieces it cannot read are in ``unread``, each said back as typed, with
    why. An empty *text* fills nothing. See the module's docstring for the rules.
    """
    try:
        cleaned = _prepare(text, noun="referral opening")
    except InvalidAnswer as error:
        return Opening(unread=(error.message,))
    if not cleaned:
        return Opening()
    reading = _Reading(cleaned.split(" "), today)
    reading.read_dates()
    reading.read_lone_dates()
    reading.read_amounts()
    customer, name = reading.customer()
    unread = [sentence for _, sentence in sorted(reading.unread, key=lambda item: item[0])]
    if customer is not None and len(customer) > limits.CUSTOMER_NAME:
        unread.append(
            f"The customer name {_shown(customer)} is too long: {len(customer):,} characters, "
            f"and the limit is {limits.CUSTOMER_NAME}."
        )
        customer = None
    if name is not None and len(name) > limits.REFERRAL_NAME:
        unread.append(
            f"The referral name {_shown(name)} is too long: {len(name):,} characters, "
            f"and the limit is {limits.REFERRAL_NAME}."
        )
        name = None
    money = reading.money
    return Opening(
        customer=customer,
        name=name,
        amount=money.amount if money else None,
        currency=money.currency if money else None,
        closing=reading.closing,
        unread=tuple(unread),
    )
