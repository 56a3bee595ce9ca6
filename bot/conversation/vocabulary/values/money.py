"""Amounts of money: "50k", "$50,000", "USD 50,000"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from bot.conversation.vocabulary.values._common import InvalidAnswer, _prepare, _shown
from bot.referrals.catalogs import CURRENCIES


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
