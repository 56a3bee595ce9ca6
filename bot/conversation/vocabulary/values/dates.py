"""Dates: ISO, written out, or relative ("in 30 days", "end of quarter")."""

from __future__ import annotations

import calendar
import difflib
import re
from datetime import date, timedelta

from bot.conversation.vocabulary.values._common import InvalidAnswer, _prepare, _shown

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


def parse_date(
    text: str, *, today: date, not_before: date | None = None, not_after: date | None = None
) -> date:
    """A calendar date, not before *not_before* and not after *not_after* when they are given.

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
    if not_after is not None and found > not_after:
        if not_after == today:
            raise InvalidAnswer(
                f"{_human_date(found)} is in the future.",
                hint=f"Choose today ({_human_date(today)}) or an earlier date.",
            )
        raise InvalidAnswer(
            f"{_human_date(found)} is after {_human_date(not_after)}.",
            hint=f"Choose {_human_date(not_after)} or an earlier date.",
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
