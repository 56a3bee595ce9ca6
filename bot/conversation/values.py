"""Answers to a conversation's questions, checked and turned into values.

Every answer goes through these functions before a conversation moves on, whether it was
typed in a chat, typed in the terminal or sent by a card, so a card's value (the canonical
string) and a typed answer meet the same rules. Each ``parse_*`` function returns the value
or raises :class:`InvalidAnswer`, whose ``message`` says what is wrong, ``hint`` what would
be right and ``suggestions`` the closest valid values. Nothing here does I/O; "today" is
passed in.
"""

from __future__ import annotations

import calendar
import difflib
import re
import unicodedata
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Generic, Literal, TypeVar

from email_validator import EmailNotValidError, validate_email

from bot.referrals import limits
from bot.referrals.catalog import Catalog, UnknownValue
from bot.referrals.catalogs import COUNTRIES, CURRENCIES, SOLUTIONS

__all__ = [
    "InvalidAnswer",
    "Money",
    "SolutionChoice",
    "SolutionKind",
    "parse_choice",
    "parse_choices",
    "parse_country",
    "parse_currency",
    "parse_date",
    "parse_email",
    "parse_long_text",
    "parse_money",
    "parse_phone",
    "parse_solutions",
    "parse_text",
    "parse_yes_no",
]

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


# --- shared ---------------------------------------------------------------------------

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


# --- text -----------------------------------------------------------------------------


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


# --- money ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Money:
    """An amount, and the ISO 4217 code it was typed with (``None`` when none was)."""

    amount: Decimal
    currency: str | None = None


_MAX_AMOUNT = Decimal(10) ** 12
_CENT = Decimal("0.01")
_MULTIPLIERS = {"k": Decimal(1000), "m": Decimal(1_000_000)}
# Symbols are stripped but name no currency: "$" alone is used by dozens of them.
_SYMBOLS = frozenset("$€£¥₹₩₽₺₪₫₱₦₴")
# Typeset text and autocorrect put a minus sign or an en dash where a hyphen was typed.
_MINUS = ("-", "\u2212", "\u2013")
_LEADING_CODE = re.compile(r"([A-Za-z]{3})(?![A-Za-z]) ?")
_TRAILING_CODE = re.compile(r" ?(?<![A-Za-z])([A-Za-z]{3})$")
_AMOUNT = re.compile(
    r"(?P<whole>\d{1,3}(?:,\d{3})+|\d{1,3}(?: \d{3})+|\d+)?"
    r"(?:\.(?P<fraction>\d+))?"
    r" ?(?P<multiplier>[km])?",
    re.ASCII | re.IGNORECASE,
)
# The European forms are recognised only to say how to write them: "50.000,00", "1,5".
_DECIMAL_COMMA = re.compile(
    r"(?P<whole>\d{1,3}(?:[. ]\d{3})+|\d+),(?P<fraction>\d{1,2}) ?(?P<multiplier>[km])?",
    re.ASCII | re.IGNORECASE,
)
_DOT_THOUSANDS = re.compile(r"\d{1,3}(?:\.\d{3}){2,}", re.ASCII)
_MONEY_HINT = (
    "Type a number such as 50000, 50,000.00, 50k or 1.5m; "
    "you may add a currency code, as in USD 50,000."
)


def parse_money(text: str) -> Money:
    """An amount greater than zero, with the currency code it was typed with, if any.

    Accepts ``50000``, ``50,000``, ``50 000``, ``50000.50``, ``$50,000``, ``50k``,
    ``1.5M``, ``USD 50,000`` and ``50,000 usd``: commas or spaces between thousands, a dot
    before decimals. A leading or trailing three-letter ISO 4217 code is returned as
    ``currency``; a symbol such as ``$`` is allowed but names no currency, because several
    currencies share it. European forms (``50.000,00``, ``1,5``) and a dot followed by three
    digits (``50.000``: fifty or fifty thousand?) are refused, with the number written the
    expected way in the hint. At most two decimal places; less than 10^12.
    """
    cleaned = _prepare(text, noun="amount")
    if not cleaned:
        raise InvalidAnswer("An amount is required.", hint=_MONEY_HINT)
    number, currency = _split_currency(cleaned)
    negative = number.startswith(_MINUS)
    number = number.lstrip("".join(_MINUS)).lstrip()
    if number[:1] in _SYMBOLS:
        number = number[1:].lstrip()
    elif number[-1:] in _SYMBOLS:
        number = number[:-1].rstrip()
    negative = negative or number.startswith(_MINUS)
    if negative:
        raise InvalidAnswer(
            f"{_shown(text)} is negative; an amount must be more than zero.",
            hint="Type the amount without a minus sign.",
        )
    match = _AMOUNT.fullmatch(number)
    if match is None or not (match["whole"] or match["fraction"]):
        raise _misformatted_amount(text, number)
    whole = (match["whole"] or "0").replace(",", "").replace(" ", "")
    fraction = match["fraction"] or ""
    multiplier = match["multiplier"]
    if (
        multiplier is None
        and len(fraction) == 3
        and match["whole"] is not None
        and match["whole"].isdigit()
        and not match["whole"].startswith("0")
    ):
        thousands = int(whole + fraction)
        raise InvalidAnswer(
            f"{_shown(text)} is ambiguous: the dot could separate thousands or decimals.",
            hint=(
                f"For {thousands:,}, write {thousands} or {thousands:,}; "
                "a dot starts decimals, with at most two digits after it."
            ),
        )
    amount = Decimal(f"{whole}.{fraction or '0'}")
    if multiplier is not None:
        amount *= _MULTIPLIERS[multiplier.lower()]
    return Money(_checked_amount(amount, text), currency)


def _split_currency(text: str) -> tuple[str, str | None]:
    """*text* without a leading or trailing currency code, and the code."""
    codes: list[str] = []
    leading = _LEADING_CODE.match(text)
    if leading is not None:
        codes.append(leading[1])
        text = text[leading.end() :]
    trailing = _TRAILING_CODE.search(text)
    if trailing is not None:
        codes.append(trailing[1])
        text = text[: trailing.start()]
    for code in codes:
        if code.upper() not in CURRENCIES:
            raise InvalidAnswer(
                f"{_shown(code)} is not a currency code.",
                hint="Use a three-letter ISO 4217 code such as USD, EUR or GBP, or none.",
                suggestions=CURRENCIES.closest(code, 3),
            )
    distinct = sorted({code.upper() for code in codes})
    if len(distinct) > 1:
        raise InvalidAnswer(
            f"The amount names two currencies: {' and '.join(distinct)}.",
            hint="Give one currency code, or none.",
        )
    return text.strip(), distinct[0] if distinct else None


def _misformatted_amount(text: str, number: str) -> InvalidAnswer:
    european = _DECIMAL_COMMA.fullmatch(number)
    if european is not None:
        whole = int(re.sub(r"[. ]", "", european["whole"]))
        example = f"{whole:,}.{european['fraction']}{european['multiplier'] or ''}"
        return InvalidAnswer(
            f"{_shown(text)} uses a comma before the decimals.",
            hint=f"Use a dot for decimals and commas between thousands: {example}.",
        )
    if _DOT_THOUSANDS.fullmatch(number):
        return InvalidAnswer(
            f"{_shown(text)} uses dots between thousands.",
            hint=f"Use commas between thousands, or nothing: {int(number.replace('.', '')):,}.",
        )
    return InvalidAnswer(f"{_shown(text)} is not an amount.", hint=_MONEY_HINT)


def _checked_amount(amount: Decimal, text: str) -> Decimal:
    if amount == 0:
        raise InvalidAnswer(
            f"{_shown(text)} is zero; an amount must be more than zero.",
            hint="Type the expected value, such as 50000 or 50k.",
        )
    if amount >= _MAX_AMOUNT:
        raise InvalidAnswer(
            f"{_shown(text)} is too large for an amount.",
            hint="Amounts must be less than 1,000,000,000,000; check the number of zeros.",
        )
    cents = amount.quantize(_CENT, rounding=ROUND_HALF_UP)
    if cents != amount:
        exponent = amount.normalize().as_tuple().exponent
        places = -exponent if isinstance(exponent, int) else 0
        raise InvalidAnswer(
            f"{_shown(text)} has {places} decimal places; an amount has at most 2.",
            hint=f"Round it to cents: {cents:,}.",
        )
    if amount == amount.to_integral_value():
        return amount.quantize(Decimal(1))
    return cents


# --- dates ----------------------------------------------------------------------------

# Spelt out: calendar.month_name follows the process locale.
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTHS = {
    **{name.lower(): number for number, name in enumerate(_MONTH_NAMES, start=1)},
    **{name[:3].lower(): number for number, name in enumerate(_MONTH_NAMES, start=1)},
    "sept": 9,
}
_ISO_DATE = re.compile(r"(\d{4})([-/])(\d{1,2})\2(\d{1,2})", re.ASCII)
_NUMERIC_DATE = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4})", re.ASCII)
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?[ -]([a-z]+)\.?,?[ -](\d{4})", re.ASCII)
_MONTH_DAY_YEAR = re.compile(r"([a-z]+)\.? (\d{1,2})(?:st|nd|rd|th)?,? (\d{4})", re.ASCII)
_IN_SOME = re.compile(r"in (\d{1,6}|a|an|one) (day|week|month|year)s?", re.ASCII)
_END_OF = re.compile(r"(?:the )?end of (?:the |this )?(month|quarter|year)", re.ASCII)


def parse_date(text: str, *, today: date, not_before: date | None = None) -> date:
    """A calendar date, and when *not_before* is given, not before it.

    Accepts ``2026-12-31``, ``2026/12/31``, ``31 Dec 2026``, ``31st December 2026``,
    ``Dec 31 2026``, ``December 31, 2026``, day and month as numbers when only one reading
    is a real date (``31/12/2026``, ``12/31/2026``), and ``today``, ``tomorrow``,
    ``in N days|weeks|months|years`` and ``end of month|quarter|year``, counted from
    *today*. ``03/04/2026`` is refused: it is 3 April in some countries and 4 March in
    others. Quarters are calendar quarters, which end on the same days as Microsoft's
    fiscal ones. A card's date picker sends ISO dates.
    """
    cleaned = _prepare(text, noun="date").lower().rstrip(".")
    if not cleaned:
        raise InvalidAnswer("A date is required.", hint=_date_hint(today))
    found = _read_date(cleaned, text, today)
    if not_before is not None and found < not_before:
        if not_before == today:
            raise InvalidAnswer(
                f"{_human_date(found)} is in the past.",
                hint=f"Choose today ({_human_date(today)}) or a later date.",
            )
        raise InvalidAnswer(
            f"{_human_date(found)} is before {_human_date(not_before)}.",
            hint=f"Choose {_human_date(not_before)} or a later date.",
        )
    return found


def _read_date(cleaned: str, text: str, today: date) -> date:
    if cleaned == "today":
        return today
    if cleaned == "tomorrow":
        return _shifted(today, 1, "day", text)
    if match := _IN_SOME.fullmatch(cleaned):
        count = int(match[1]) if match[1].isdigit() else 1
        return _shifted(today, count, match[2], text)
    if match := _END_OF.fullmatch(cleaned):
        return _end_of(today, match[1])
    if match := _ISO_DATE.fullmatch(cleaned):
        return _real_date(int(match[1]), int(match[3]), int(match[4]), text)
    if match := _NUMERIC_DATE.fullmatch(cleaned):
        return _day_month_or_month_day(int(match[1]), int(match[3]), int(match[4]), text)
    if match := _DAY_MONTH_YEAR.fullmatch(cleaned):
        return _real_date(int(match[3]), _month(match[2], text, today), int(match[1]), text)
    if match := _MONTH_DAY_YEAR.fullmatch(cleaned):
        return _real_date(int(match[3]), _month(match[1], text, today), int(match[2]), text)
    raise InvalidAnswer(f"{_shown(text)} is not a date.", hint=_date_hint(today))


def _date_hint(today: date) -> str:
    example = _end_of(today, "quarter")
    return (
        f"Type a date such as {example.isoformat()} or {_human_date(example)}, "
        "or say today, tomorrow, in 30 days or end of quarter."
    )


def _human_date(value: date) -> str:
    """``31 December 2026``: read the same way everywhere."""
    return f"{value.day} {_MONTH_NAMES[value.month - 1]} {value.year}"


def _month(word: str, text: str, today: date) -> int:
    number = _MONTHS.get(word)
    if number is None:
        close = difflib.get_close_matches(word, [name.lower() for name in _MONTH_NAMES], n=1)
        guess = f" Did you mean {close[0].capitalize()}?" if close else ""
        raise InvalidAnswer(
            f'{_shown(text)} is not a date: "{word}" is not a month.{guess}',
            hint=_date_hint(today),
        )
    return number


def _real_date(year: int, month: int, day: int, text: str) -> date:
    if not 1 <= month <= 12:
        raise InvalidAnswer(
            f"{_shown(text)} is not a real date: there is no month {month}.",
            hint="Write dates as year-month-day, such as 2026-12-31.",
        )
    if year < 1:
        raise InvalidAnswer(
            f"{_shown(text)} is not a real date: there is no year {year}.",
            hint="Write the year with four digits, such as 2026.",
        )
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        raise InvalidAnswer(
            f"{_shown(text)} is not a real date: {_MONTH_NAMES[month - 1]} {year} has {days} days.",
            hint=f"Choose a day from 1 to {days}.",
        )
    return date(year, month, day)


def _valid(year: int, month: int, day: int) -> bool:
    return 1 <= month <= 12 and year >= 1 and 1 <= day <= calendar.monthrange(year, month)[1]


def _day_month_or_month_day(first: int, second: int, year: int, text: str) -> date:
    as_day_month = _valid(year, second, first)
    as_month_day = _valid(year, first, second)
    if as_day_month and as_month_day and first != second:
        day_month, month_day = date(year, second, first), date(year, first, second)
        raise InvalidAnswer(
            f"{_shown(text)} could be {_human_date(day_month)} or {_human_date(month_day)}.",
            hint=(
                f"Write it as year-month-day: {day_month.isoformat()} or {month_day.isoformat()}."
            ),
        )
    if as_day_month:
        return date(year, second, first)
    if as_month_day:
        return date(year, first, second)
    raise InvalidAnswer(
        f"{_shown(text)} is not a real date, read either as day/month or as month/day.",
        hint="Write dates as year-month-day, such as 2026-12-31.",
    )


def _shifted(today: date, count: int, unit: str, text: str) -> date:
    try:
        if unit == "day":
            return today + timedelta(days=count)
        if unit == "week":
            return today + timedelta(weeks=count)
        return _plus_months(today, count * 12 if unit == "year" else count)
    except OverflowError:
        raise InvalidAnswer(
            f"{_shown(text)} is too far in the future.",
            hint=_date_hint(today),
        ) from None


def _plus_months(start: date, months: int) -> date:
    """*start* moved by whole months, the day clipped to the month's last (31 Jan + 1 = 28 Feb)."""
    years, month_index = divmod(start.month - 1 + months, 12)
    year = start.year + years
    if year > date.max.year:
        raise OverflowError("date out of range")
    month = month_index + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def _end_of(today: date, period: str) -> date:
    if period == "year":
        return date(today.year, 12, 31)
    last_month = today.month if period == "month" else (today.month + 2) // 3 * 3
    return date(today.year, last_month, calendar.monthrange(today.year, last_month)[1])


# --- contact details ------------------------------------------------------------------

_EMAIL_HINT = "Type an address such as name@contoso.com."


def parse_email(text: str) -> str:
    """An email address, normalized (the domain lower-cased, Unicode in NFC).

    Checks the syntax only; nothing is looked up. A ``mailto:`` prefix and surrounding
    angle brackets are dropped.
    """
    cleaned = _prepare(text, noun="email address").strip("<>").strip()
    if cleaned[:7].lower() == "mailto:":
        cleaned = cleaned[7:].strip()
    if not cleaned:
        raise InvalidAnswer("An email address is required.", hint=_EMAIL_HINT)
    if len(cleaned) > limits.EMAIL:
        raise InvalidAnswer(
            f"{_shown(cleaned)} is too long for an email address: {len(cleaned):,} "
            f"characters, and the limit is {limits.EMAIL}.",
            hint=_EMAIL_HINT,
        )
    try:
        checked = validate_email(cleaned, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidAnswer(
            f"{_shown(cleaned)} is not a valid email address. {exc}", hint=_EMAIL_HINT
        ) from None
    return checked.normalized


_PHONE_CHARACTERS = frozenset("0123456789+-.() ")
_MIN_PHONE_DIGITS = 7
_MAX_PHONE_DIGITS = 15  # E.164, country code included
_PHONE_HINT = (
    "Type the number with its country code, such as +1 425 555 0100; "
    "spaces, dashes, dots and brackets are fine."
)


def parse_phone(text: str) -> str:
    """A phone number, as ``+`` (when typed) followed by its digits only.

    Digits with an optional leading ``+``; spaces, dashes, dots and brackets are allowed
    and dropped. Between 7 and 15 digits (E.164 allows at most 15). A ``tel:`` prefix is
    dropped. Extensions are refused.
    """
    cleaned = _prepare(text, noun="phone number")
    if cleaned[:4].lower() == "tel:":
        cleaned = cleaned[4:].strip()
    if not cleaned:
        raise InvalidAnswer("A phone number is required.", hint=_PHONE_HINT)
    if len(cleaned) > limits.PHONE:
        raise InvalidAnswer(
            f"{_shown(cleaned)} is too long for a phone number: {len(cleaned)} characters, "
            f"and the limit is {limits.PHONE}.",
            hint=_PHONE_HINT,
        )
    stray = next((ch for ch in cleaned if ch not in _PHONE_CHARACTERS), None)
    if stray is not None:
        raise InvalidAnswer(
            f'{_shown(cleaned)} contains "{stray}", which is not part of a phone number.',
            hint=_PHONE_HINT,
        )
    if "+" in cleaned[1:]:
        raise InvalidAnswer(
            f'{_shown(cleaned)} has a "+" that is not at the start.', hint=_PHONE_HINT
        )
    digits = "".join(ch for ch in cleaned if ch.isdigit())
    if len(digits) < _MIN_PHONE_DIGITS:
        raise InvalidAnswer(
            f"{_shown(cleaned)} has {len(digits)} digits; "
            f"a phone number has at least {_MIN_PHONE_DIGITS}.",
            hint=_PHONE_HINT,
        )
    if len(digits) > _MAX_PHONE_DIGITS:
        raise InvalidAnswer(
            f"{_shown(cleaned)} has {len(digits)} digits; a phone number has at most "
            f"{_MAX_PHONE_DIGITS}, country code included.",
            hint=_PHONE_HINT,
        )
    return ("+" if cleaned.startswith("+") else "") + digits


# --- yes or no ------------------------------------------------------------------------

_YES = frozenset({"yes", "y", "yeah", "yep", "yup", "sure", "ok", "okay", "true", "1"})
_NO = frozenset({"no", "n", "nope", "nah", "false", "0"})


def parse_yes_no(text: str) -> bool:
    """Yes or no: ``yes/y/yeah/yep/sure/ok/true/1`` or ``no/n/nope/nah/false/0``, any case."""
    cleaned = _prepare(text, noun="yes or no answer").lower().rstrip(".!")
    if cleaned in _YES:
        return True
    if cleaned in _NO:
        return False
    if not cleaned:
        raise InvalidAnswer("An answer is required.", hint="Answer yes or no.")
    raise InvalidAnswer(f"{_shown(text)} is not a yes or no answer.", hint="Answer yes or no.")


# --- choices --------------------------------------------------------------------------

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


# --- solutions ------------------------------------------------------------------------

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
