"""Answer validators: what each accepts, what it refuses and what it says when it refuses."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.conversation.vocabulary.values import (
    InvalidAnswer,
    Money,
    SolutionChoice,
    parse_choice,
    parse_choices,
    parse_country,
    parse_currency,
    parse_date,
    parse_email,
    parse_long_text,
    parse_money,
    parse_phone,
    parse_solutions,
    parse_text,
    parse_yes_no,
)
from bot.referrals import catalogs
from bot.referrals.catalogs import (
    COUNTRIES,
    CUSTOMER_SIZES,
    INDUSTRIES,
    PRODUCTS,
    SALES_STAGES,
    SOLUTIONS,
)
from bot.referrals.lookup import Catalog
from tests.support.answers import refusal

TODAY = date(2026, 5, 14)
MONTHS = (
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


def human(value: date) -> str:
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


# --- InvalidAnswer --------------------------------------------------------------------


def test_invalid_answer_carries_message_hint_and_suggestions() -> None:
    error = InvalidAnswer("Bad.", hint="Do this.", suggestions=["A", "B"])
    assert isinstance(error, ValueError)
    assert (error.message, error.hint, error.suggestions) == ("Bad.", "Do this.", ("A", "B"))
    assert str(error) == "Bad."


def test_invalid_answer_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(InvalidAnswer("Bad.", "Do this.", ("A",))))
    assert (error.message, error.hint, error.suggestions) == ("Bad.", "Do this.", ("A",))


# --- text -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Contoso", "Contoso"),
        ("  Contoso   Ltd  ", "Contoso Ltd"),
        ("Contoso\tLtd\nEurope", "Contoso Ltd Europe"),
        ("Cafe\u0301 Ltd", "Café Ltd"),  # decomposed accents are composed
        ("Zoë 👩\u200d💻", "Zoë 👩\u200d💻"),  # joiners are not control characters
    ],
)
def test_text_is_trimmed_and_collapsed(text: str, expected: str) -> None:
    assert parse_text(text, field="The customer name", max_length=200) == expected


def test_text_required_names_the_field() -> None:
    error = refusal(parse_text, "  \n ", field="The customer name", max_length=200)
    assert error.message == "The customer name is required."
    assert error.hint


def test_text_optional_may_be_empty() -> None:
    assert parse_text("   ", field="The second line", max_length=10, required=False) == ""


def test_text_limit_is_inclusive_and_counted_after_cleaning() -> None:
    assert parse_text("x" * 10, field="f", max_length=10) == "x" * 10
    assert parse_text("  " + "x " * 5, field="f", max_length=9) == "x x x x x"
    error = refusal(parse_text, "x" * 12, field="The postal code", max_length=10)
    assert error.message == "The postal code is too long: 12 characters, and the limit is 10."
    assert error.hint == "Shorten it by at least 2 characters."


def test_text_field_names_start_sentences() -> None:
    assert refusal(parse_text, "", field="city", max_length=5).message == "City is required."


@pytest.mark.parametrize(
    "bad", ["a\x00b", "bell\x07", "esc\x1b[31m", "del\x7f", "c1\x85", "\ud800"]
)
def test_text_refuses_control_characters(bad: str) -> None:
    error = refusal(parse_text, bad, field="The referral name", max_length=200)
    assert error.message.startswith("The referral name contains an invisible control character")
    assert "U+" in error.message


def test_long_text_keeps_lines() -> None:
    text = "\n  First line.  \r\nSecond  line.\r\n\r\n\tIndented.\n\n"
    expected = "First line.\nSecond  line.\n\n\tIndented."
    assert parse_long_text(text, field="The notes", max_length=4000) == expected


def test_long_text_limits_and_requires() -> None:
    error = refusal(parse_long_text, "ab\ncd", field="The notes", max_length=4)
    assert error.message == "The notes is too long: 5 characters, and the limit is 4."
    assert refusal(parse_long_text, "\n\n", field="The notes", max_length=4).message == (
        "The notes is required."
    )
    assert parse_long_text("", field="The notes", max_length=4, required=False) == ""
    assert "U+0000" in refusal(parse_long_text, "a\x00", field="The notes", max_length=9).message


# --- money ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("50000", "50000", None),
        ("50k", "50000", None),
        ("50K", "50000", None),
        ("1.5m", "1500000", None),
        ("1.5 M", "1500000", None),
        (".5k", "500", None),
        ("50,000", "50000", None),
        ("1,234,567.89", "1234567.89", None),
        ("$50,000", "50000", None),
        ("$ 50,000", "50000", None),
        ("50,000$", "50000", None),
        ("€50k", "50000", None),
        ("50 000", "50000", None),
        ("50\u00a0000", "50000", None),  # no-break space
        ("50\u202f000", "50000", None),  # narrow no-break space
        ("50000.50", "50000.50", None),
        ("0.01", "0.01", None),
        ("USD 50,000", "50000", "USD"),
        ("usd50000", "50000", "USD"),
        ("50,000 usd", "50000", "USD"),
        ("50k EUR", "50000", "EUR"),
        ("$50,000 USD", "50000", "USD"),
        ("EUR 1.25m", "1250000", "EUR"),
        ("\uff11\uff12\uff13", "123", None),  # full-width digits
        ("999,999,999,999.99", "999999999999.99", None),
    ],
)
def test_money_accepts(text: str, amount: str, currency: str | None) -> None:
    parsed = parse_money(text)
    assert parsed == Money(Decimal(amount), currency)
    assert parsed.amount.as_tuple().exponent in (0, -2)


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("", "An amount is required.", "50,000.00"),
        ("fifty", '"fifty" is not an amount.', "50k"),
        ("50 dollars", '"50 dollars" is not an amount.', "USD 50,000"),
        ("1e5", '"1e5" is not an amount.', None),
        ("50.000,00", '"50.000,00" uses a comma before the decimals.', "50,000.00"),
        ("50 000,5", '"50 000,5" uses a comma before the decimals.', "50,000.5"),
        ("1,5", '"1,5" uses a comma before the decimals.', "1.5"),
        ("1,5k", '"1,5k" uses a comma before the decimals.', "1.5k"),
        ("1.000.000", '"1.000.000" uses dots between thousands.', "1,000,000"),
        ("50.000", '"50.000" is ambiguous', "For 50,000, write 50000 or 50,000"),
        ("50,000.123", '"50,000.123" has 3 decimal places; an amount has at most 2.', "50,000.12"),
        ("0.125", '"0.125" has 3 decimal places', "0.13"),
        ("1.234567k", '"1.234567k" has 3 decimal places', "1,234.57"),
        ("0", '"0" is zero; an amount must be more than zero.', None),
        ("$0.00", '"$0.00" is zero', None),
        ("-50", '"-50" is negative; an amount must be more than zero.', None),
        ("-$50", '"-$50" is negative', None),
        ("$-50", '"$-50" is negative', None),
        ("\u221250", "is negative", None),
        ("\u2013 50", "is negative", None),
        ("1,000,000,000,000", '"1,000,000,000,000" is too large for an amount.', "zeros"),
        ("1000000m", "is too large", "1,000,000,000,000"),
        ("XYZ 50", '"XYZ" is not a currency code.', "USD, EUR or GBP"),
        ("50 mln", '"mln" is not a currency code.', None),
        ("USD 50 EUR", "The amount names two currencies: EUR and USD.", "one currency"),
        ("USD", '"USD" is not an amount.', None),
    ],
)
def test_money_refuses(text: str, message: str, hint: str | None) -> None:
    error = refusal(parse_money, text)
    assert message in error.message
    if hint is not None:
        assert error.hint is not None
        assert hint in error.hint


def test_money_refuses_pages_of_text() -> None:
    assert "too long to be an amount" in refusal(parse_money, "1" * 5000).message


cents = st.integers(min_value=1, max_value=10**13)


@given(
    cents=cents,
    layout=st.sampled_from(["{:,.2f}", "{:.2f}", "{:,.2f}|space", "whole"]),
    prefix=st.sampled_from(["", "$", "$ ", "USD ", "usd", "USD $"]),
    suffix=st.sampled_from(["", " USD", "USD", " usd"]),
)
def test_money_round_trips(cents: int, layout: str, prefix: str, suffix: str) -> None:
    amount = Decimal(cents) / 100
    if layout == "whole":
        assume(cents % 100 == 0)
        number = f"{int(amount):,}"
    elif layout.endswith("|space"):
        number = layout.removesuffix("|space").format(amount).replace(",", " ")
    else:
        number = layout.format(amount)
    parsed = parse_money(prefix + number + suffix)
    assert parsed.amount == amount
    named = "usd" in (prefix + suffix).lower()
    assert parsed.currency == ("USD" if named else None)


@given(whole=st.integers(min_value=1, max_value=999_999_999), unit=st.sampled_from("kKmM"))
def test_money_multipliers(whole: int, unit: str) -> None:
    factor = 1000 if unit in "kK" else 1_000_000
    assume(whole * factor < 10**12)
    assert parse_money(f"{whole}{unit}").amount == whole * factor
    assert parse_money(f"{whole:,} {unit}").amount == whole * factor


@given(whole=st.integers(min_value=0, max_value=999_999), tenths=st.integers(0, 9))
def test_money_fractional_millions(whole: int, tenths: int) -> None:
    assume(whole or tenths)
    expected = (Decimal(whole) + Decimal(tenths) / 10) * 1_000_000
    assert parse_money(f"{whole}.{tenths}m").amount == expected


# --- dates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-31", date(2026, 12, 31)),
        ("2027-1-5", date(2027, 1, 5)),
        ("2026/12/31", date(2026, 12, 31)),
        ("31 Dec 2026", date(2026, 12, 31)),
        ("31-Dec-2026", date(2026, 12, 31)),
        ("31st December 2026", date(2026, 12, 31)),
        ("2nd Sept 2026", date(2026, 9, 2)),
        ("Dec 31 2026", date(2026, 12, 31)),
        ("Dec. 31, 2026", date(2026, 12, 31)),
        ("December 31, 2026", date(2026, 12, 31)),
        ("DECEMBER 3RD, 2026", date(2026, 12, 3)),
        ("31/12/2026", date(2026, 12, 31)),
        ("12/31/2026", date(2026, 12, 31)),
        ("31.12.2026", date(2026, 12, 31)),
        ("04/04/2027", date(2027, 4, 4)),  # both readings agree
        ("today", TODAY),
        (" Today. ", TODAY),
        ("tomorrow", date(2026, 5, 15)),
        ("in 30 days", date(2026, 6, 13)),
        ("in 1 day", date(2026, 5, 15)),
        ("in 0 days", TODAY),
        ("in a week", date(2026, 5, 21)),
        ("in 2 weeks", date(2026, 5, 28)),
        ("in 3 months", date(2026, 8, 14)),
        ("in 8 months", date(2027, 1, 14)),
        ("in one year", date(2027, 5, 14)),
        ("end of month", date(2026, 5, 31)),
        ("end of the month", date(2026, 5, 31)),
        ("End of this quarter", date(2026, 6, 30)),
        ("end of quarter", date(2026, 6, 30)),
        ("end of year", date(2026, 12, 31)),
    ],
)
def test_date_accepts(text: str, expected: date) -> None:
    assert parse_date(text, today=TODAY, not_before=TODAY) == expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 1, 1), date(2026, 3, 31)),
        (date(2026, 3, 31), date(2026, 3, 31)),
        (date(2026, 4, 1), date(2026, 6, 30)),
        (date(2026, 8, 15), date(2026, 9, 30)),
        (date(2026, 12, 2), date(2026, 12, 31)),
    ],
)
def test_end_of_quarter(today: date, expected: date) -> None:
    assert parse_date("end of quarter", today=today) == expected


def test_months_are_clipped_to_the_last_day() -> None:
    assert parse_date("in 1 month", today=date(2026, 1, 31)) == date(2026, 2, 28)
    assert parse_date("in 1 month", today=date(2028, 1, 31)) == date(2028, 2, 29)
    assert parse_date("in 1 year", today=date(2028, 2, 29)) == date(2029, 2, 28)
    assert parse_date("end of month", today=date(2028, 2, 3)) == date(2028, 2, 29)


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("", "A date is required.", "2026-06-30"),
        ("soon", '"soon" is not a date.', "in 30 days"),
        ("next month", '"next month" is not a date.', "end of quarter"),
        ("31 Dec", '"31 Dec" is not a date.', "30 June 2026"),
        (
            "03/04/2026",
            '"03/04/2026" could be 3 April 2026 or 4 March 2026.',
            "2026-04-03 or 2026-03-04",
        ),
        ("13/13/2026", '"13/13/2026" is not a real date', "year-month-day"),
        ("2026-02-30", '"2026-02-30" is not a real date: February 2026 has 28 days.', "1 to 28"),
        ("2026-13-01", '"2026-13-01" is not a real date: there is no month 13.', None),
        ("0000-01-01", "there is no year 0", None),
        ("31 Sept 2026", "September 2026 has 30 days", None),
        ("Decmber 31 2026", '"decmber" is not a month. Did you mean December?', None),
        ("31 Foo 2026", '"foo" is not a month.', None),
        ("in 999999 weeks", '"in 999999 weeks" is too far in the future.', None),
        ("in 999999 years", "too far in the future", None),
        ("2026-12-31T10:00:00Z", "is not a date", None),
    ],
)
def test_date_refuses(text: str, message: str, hint: str | None) -> None:
    error = refusal(parse_date, text, today=TODAY)
    assert message in error.message
    if hint is not None:
        assert error.hint is not None
        assert hint in error.hint


def test_date_in_the_past_is_named() -> None:
    error = refusal(parse_date, "2026-05-13", today=TODAY, not_before=TODAY)
    assert error.message == "13 May 2026 is in the past."
    assert error.hint == "Choose today (14 May 2026) or a later date."


def test_date_before_another_bound_is_named() -> None:
    error = refusal(parse_date, "2026-06-01", today=TODAY, not_before=date(2026, 7, 1))
    assert error.message == "1 June 2026 is before 1 July 2026."
    assert parse_date("2026-06-01", today=TODAY) == date(2026, 6, 1)


def test_date_in_the_future_is_named_when_only_the_past_is_taken() -> None:
    error = refusal(parse_date, "tomorrow", today=TODAY, not_after=TODAY)
    assert error.message == "15 May 2026 is in the future."
    assert error.hint == "Choose today (14 May 2026) or an earlier date."
    assert parse_date("today", today=TODAY, not_after=TODAY) == TODAY


def test_date_after_another_bound_is_named() -> None:
    error = refusal(parse_date, "2026-06-02", today=TODAY, not_after=date(2026, 6, 1))
    assert error.message == "2 June 2026 is after 1 June 2026."
    assert error.hint == "Choose 1 June 2026 or an earlier date."


dates = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))


@given(value=dates)
def test_date_formats_round_trip(value: date) -> None:
    month = MONTHS[value.month - 1]
    for text in (
        value.isoformat(),
        f"{value.day:02d} {month[:3]} {value.year:04d}",
        f"{value.day} {month} {value.year:04d}",
        f"{month} {value.day}, {value.year:04d}",
        f"{value.year:04d}/{value.month:02d}/{value.day:02d}",
    ):
        assert parse_date(text, today=TODAY) == value, text


@given(value=dates, today=dates)
def test_date_is_never_in_the_past(value: date, today: date) -> None:
    if value >= today:
        assert parse_date(value.isoformat(), today=today, not_before=today) == value
    else:
        error = refusal(parse_date, value.isoformat(), today=today, not_before=today)
        assert error.message == f"{human(value)} is in the past."


@given(today=dates, days=st.integers(min_value=0, max_value=5000))
def test_in_n_days_counts_from_today(today: date, days: int) -> None:
    try:
        expected = date.fromordinal(today.toordinal() + days)
    except ValueError:
        assume(False)
    assert parse_date(f"in {days} days", today=today, not_before=today) == expected


# --- email and phone ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jane@contoso.com", "jane@contoso.com"),
        ("  Jane.Doe@Contoso.COM ", "Jane.Doe@contoso.com"),
        ("mailto:jane@contoso.com", "jane@contoso.com"),
        ("<jane@contoso.com>", "jane@contoso.com"),
        ("jane+deals@sub.contoso.co.uk", "jane+deals@sub.contoso.co.uk"),
        ("zoë@contoso.com", "zoë@contoso.com"),
    ],
)
def test_email_accepts(text: str, expected: str) -> None:
    assert parse_email(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "An email address is required."),
        ("jane", '"jane" is not a valid email address. An email address must have an @-sign.'),
        ("jane@", '"jane@" is not a valid email address.'),
        ("@contoso.com", '"@contoso.com" is not a valid email address.'),
        ("jane@contoso", "It should have a period."),
        ("jane doe@contoso.com", "invalid characters before the @-sign"),
        ("jane@contoso..com", "two periods in a row"),
        ("j" * 250 + "@contoso.com", "the limit is 254"),
    ],
)
def test_email_refuses(text: str, message: str) -> None:
    error = refusal(parse_email, text)
    assert message in error.message
    assert error.hint == "Type an address such as name@contoso.com."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+1 (425) 555-0100", "+14255550100"),
        ("425.555.0100", "4255550100"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "00442079460958"),
        ("tel:+4930123456", "+4930123456"),
        ("1234567", "1234567"),
        ("+123456789012345", "+123456789012345"),
        ("\uff10\uff12\uff10 \uff17\uff19\uff14\uff16", "0207946"),  # full-width
    ],
)
def test_phone_accepts(text: str, expected: str) -> None:
    assert parse_phone(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "A phone number is required."),
        ("555-CALL", '"555-CALL" contains "C", which is not part of a phone number.'),
        ("+1 425 555 0100 ext 12", 'contains "e"'),
        ("425/555/0100", 'contains "/"'),
        ("1+4255550100", '"1+4255550100" has a "+" that is not at the start.'),
        ("12345", '"12345" has 5 digits; a phone number has at least 7.'),
        ("+1234567890123456", "has 16 digits; a phone number has at most 15"),
        ("1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6", "the limit is 30"),
    ],
)
def test_phone_refuses(text: str, message: str) -> None:
    error = refusal(parse_phone, text)
    assert message in error.message
    assert error.hint is not None
    assert "+1 425 555 0100" in error.hint


@st.composite
def phone_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """A phone number as someone might type it, and its normal form."""
    digits = draw(st.text(alphabet="0123456789", min_size=7, max_size=15))
    plus = draw(st.sampled_from(["", "+"]))
    groups: list[str] = []
    rest = digits
    while rest:
        size = draw(st.integers(min_value=1, max_value=4))
        groups.append(rest[:size])
        rest = rest[size:]
    separators = [draw(st.sampled_from(["", " ", "-", "."])) for _ in groups]
    typed = plus + "".join(sep + group for sep, group in zip(separators, groups, strict=True))
    return typed, plus + digits


@given(number=phone_numbers())
def test_phone_normalises_to_digits(number: tuple[str, str]) -> None:
    typed, expected = number
    assert parse_phone(typed) == expected


# --- yes or no ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["yes", "Yes", "YES", "y", "Y", "yeah", "yep", "sure", "ok", "true", "1", " yes! "]
)
def test_yes(text: str) -> None:
    assert parse_yes_no(text) is True


@pytest.mark.parametrize(
    "text", ["no", "No", "n", "N", "nope", "nah", "false", "FALSE", "0", "no."]
)
def test_no(text: str) -> None:
    assert parse_yes_no(text) is False


@pytest.mark.parametrize("text", ["maybe", "yess", "si", "2", "yes no"])
def test_yes_no_refuses(text: str) -> None:
    error = refusal(parse_yes_no, text)
    assert error.message == f'"{text}" is not a yes or no answer.'
    assert error.hint == "Answer yes or no."


def test_yes_no_required() -> None:
    assert refusal(parse_yes_no, " ").message == "An answer is required."


# --- one choice -----------------------------------------------------------------------

SHOWN = INDUSTRIES.values[:5]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Agriculture, Forestry, & Fishing", "Agriculture, Forestry, & Fishing"),
        ("agriculture forestry and fishing", "Agriculture, Forestry, & Fishing"),
        ("  RETAIL  ", "Retail & Consumer Goods"),  # an alias
        ("3", "Education"),
        ("#3", "Education"),
        ("3.", "Education"),
        ("5)", "Government"),
    ],
)
def test_choice_accepts(text: str, expected: str) -> None:
    assert parse_choice(text, INDUSTRIES, numbered=SHOWN) == expected


def test_choice_accepts_labels() -> None:
    assert parse_choice("10 to 50 employees", CUSTOMER_SIZES) == "10to50employees"
    assert parse_choice("Dynamics 365 Business", PRODUCTS) == "Dynamics365Business"


def test_choice_suggests_the_closest_values() -> None:
    error = refusal(parse_choice, "Retial", INDUSTRIES)
    assert (
        error.message == '"Retial" is not a known industry. Did you mean Retail & Consumer Goods?'
    )
    assert error.suggestions == ("Retail & Consumer Goods",)


def test_choice_lists_a_short_catalog_in_the_hint() -> None:
    error = refusal(parse_choice, "zzz", SALES_STAGES)
    assert error.message == '"zzz" is not a known sales stage.'
    assert error.hint == "Choose from: Qualify, Develop, Propose, Close."
    assert refusal(parse_choice, "clse", SALES_STAGES).suggestions == ("Close",)


def test_choice_numbers_need_numbered_options() -> None:
    error = refusal(parse_choice, "9", INDUSTRIES, numbered=SHOWN)
    assert error.message == '"9" is not an industry: there is no option 9; they go from 1 to 5.'
    assert error.hint == "Type a number from 1 to 5, or the name of an industry."
    assert "is not a known industry" in refusal(parse_choice, "3", INDUSTRIES).message


def test_choice_refuses_several() -> None:
    error = refusal(parse_choice, "Retail, Healthcare", INDUSTRIES)
    assert error.message == '"Retail, Healthcare" names 2 industries; choose only one.'


def test_choice_required() -> None:
    assert refusal(parse_choice, "  ", INDUSTRIES).message == "An industry is required."
    assert refusal(parse_choice, "", PRODUCTS).message == "A product is required."


EVERY_CATALOG: tuple[Catalog[str], ...] = (
    catalogs.PRODUCTS,
    catalogs.SERVICES,
    catalogs.INDUSTRIES,
    catalogs.SOLUTIONS,
    catalogs.CUSTOMER_SIZES,
    catalogs.PARTNER_ROLES,
    catalogs.SOLUTION_AREAS,
    *catalogs.SOLUTION_PLAYS.values(),
    catalogs.ASSISTANCE_REQUEST_CODES,
    catalogs.SALES_STAGES,
    catalogs.STATUSES,
    catalogs.SUBSTATUSES,
    catalogs.REFERRAL_TYPES,
    catalogs.QUALIFICATIONS,
    catalogs.COUNTRIES,
    catalogs.CURRENCIES,
)


@pytest.mark.parametrize("catalog", EVERY_CATALOG, ids=lambda catalog: catalog.name)
def test_every_card_value_is_accepted_as_sent(catalog: Catalog[str]) -> None:
    for value in catalog:
        assert parse_choice(value, catalog) == value
        assert parse_choices(value, catalog) == (value,)
        assert parse_choice("1", catalog, numbered=[value]) == value


@st.composite
def catalog_values(draw: st.DrawFn) -> tuple[Catalog[str], str]:
    catalog = draw(st.sampled_from(EVERY_CATALOG))
    return catalog, draw(st.sampled_from(catalog.values))


@st.composite
def respelt(draw: st.DrawFn, value: str) -> str:
    """*value* with random case changes, spacing and punctuation noise."""
    out = [draw(st.sampled_from(["", " ", "  "]))]
    for char in value:
        if char == " " and draw(st.booleans()):
            continue
        out.append(char.swapcase() if draw(st.booleans()) else char)
        out.append(draw(st.sampled_from(["", "", "", " ", "_", "-"])))
    out.append(draw(st.sampled_from(["", " ", "\t"])))
    return "".join(out)


@given(data=st.data(), picked=catalog_values())
def test_choice_survives_noise(data: st.DataObject, picked: tuple[Catalog[str], str]) -> None:
    catalog, value = picked
    assert parse_choice(data.draw(respelt(value)), catalog) == value
    label = catalog.label(value)
    assume(catalog.get(label) == value)
    assert parse_choice(data.draw(respelt(label)), catalog) == value


# --- several choices ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Education", ("Education",)),
        ("Agriculture, Forestry, & Fishing", ("Agriculture, Forestry, & Fishing",)),
        (
            "Agriculture, Forestry, & Fishing, Education",
            ("Agriculture, Forestry, & Fishing", "Education"),
        ),
        (
            "Education,Agriculture, Forestry, & Fishing,Healthcare",
            ("Education", "Agriculture, Forestry, & Fishing", "Healthcare"),
        ),
        ("Education; Healthcare\nGovernment", ("Education", "Healthcare", "Government")),
        ("1, 3, 5", ("Agriculture, Forestry, & Fishing", "Education", "Government")),
        ("1;3", ("Agriculture, Forestry, & Fishing", "Education")),
        ("Retail, Consumer Goods, Retail & Consumer Goods", ("Retail & Consumer Goods",)),
        ("3, Education, education", ("Education",)),
        ("Education,, ;Healthcare,", ("Education", "Healthcare")),
    ],
)
def test_choices_accepts(text: str, expected: tuple[str, ...]) -> None:
    assert parse_choices(text, INDUSTRIES, numbered=SHOWN) == expected


def test_choices_with_commas_inside_values() -> None:
    assert parse_choices("DynamicsAX,GP,NAV,SL,Azure", PRODUCTS) == (
        "DynamicsAX,GP,NAV,SL",
        "Azure",
    )
    assert parse_choices("Azure, DynamicsAX,GP,NAV,SL", PRODUCTS) == (
        "Azure",
        "DynamicsAX,GP,NAV,SL",
    )


def test_choices_do_not_join_pieces_that_stand_alone() -> None:
    # "PE" and "RU" together spell Peru.
    assert parse_choices("PE,RU", COUNTRIES) == ("PE", "RU")
    assert parse_choices("Peru", COUNTRIES) == ("PE",)


def test_choices_report_every_bad_item() -> None:
    error = refusal(parse_choices, "Retial, Education, Helthcare, foo", INDUSTRIES)
    assert error.message == (
        "These are not known industries: "
        '"Retial" (did you mean Retail & Consumer Goods?); '
        '"Helthcare" (did you mean Healthcare?); "foo".'
    )
    assert error.suggestions == ("Retail & Consumer Goods", "Healthcare")
    assert error.hint is not None
    assert "commas, semicolons or new lines" in error.hint


def test_choices_treat_a_misspelt_value_with_commas_as_one_mistake() -> None:
    error = refusal(parse_choices, "Agricultre, Forestry, & Fishing; Education", INDUSTRIES)
    assert error.message == (
        '"Agricultre, Forestry, & Fishing" is not a known industry. '
        "Did you mean Agriculture, Forestry, & Fishing?"
    )


def test_choices_report_options_out_of_range() -> None:
    error = refusal(parse_choices, "1, 7, 8", INDUSTRIES, numbered=SHOWN)
    assert error.message == (
        "These are not known industries: "
        '"7" (there is no option 7; they go from 1 to 5.); '
        '"8" (there is no option 8; they go from 1 to 5.).'
    )


def test_choices_limit() -> None:
    assert parse_choices("Azure, Teams", PRODUCTS, max_items=2) == ("Azure", "Teams")
    error = refusal(parse_choices, "Azure, Teams, SQL", PRODUCTS, max_items=2)
    assert error.message == "That is 3 products; choose at most 2."


def test_choices_required() -> None:
    assert refusal(parse_choices, " ,; ", INDUSTRIES).message == "Choose at least one industry."


def test_choices_refuse_endless_lists() -> None:
    error = refusal(parse_choices, ", ".join(["Azure"] * 300), PRODUCTS)
    assert "lists 300 items" in error.message


MULTI_CATALOGS = (INDUSTRIES, PRODUCTS, catalogs.SERVICES, SOLUTIONS, catalogs.PARTNER_ROLES)


@given(data=st.data(), catalog=st.sampled_from((*MULTI_CATALOGS, COUNTRIES)))
def test_choices_round_trip(data: st.DataObject, catalog: Catalog[str]) -> None:
    values = data.draw(
        st.lists(st.sampled_from(catalog.values), min_size=1, max_size=6, unique=True)
    )
    separator = data.draw(st.sampled_from([",", ", ", ";", "; ", "\n", " ; "]))
    assert parse_choices(separator.join(values), catalog) == tuple(values)


@given(data=st.data(), catalog=st.sampled_from(MULTI_CATALOGS))
def test_choices_round_trip_labels(data: st.DataObject, catalog: Catalog[str]) -> None:
    values = data.draw(
        st.lists(st.sampled_from(catalog.values), min_size=1, max_size=5, unique=True)
    )
    typed = [data.draw(respelt(catalog.label(value))) for value in values]
    separator = data.draw(st.sampled_from([",", ", ", "; ", "\n"]))
    assert parse_choices(separator.join(typed), catalog) == tuple(values)


# --- country and currency -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DE", "DE"),
        ("de", "DE"),
        ("DEU", "DE"),
        ("Germany", "DE"),
        ("UK", "GB"),
        ("côte d'ivoire", "CI"),
    ],
)
def test_country_accepts(text: str, expected: str) -> None:
    assert parse_country(text) == expected


def test_country_refuses_with_suggestions() -> None:
    error = refusal(parse_country, "Germny")
    assert error.message.startswith('"Germny" is not a known country. Did you mean')
    assert "DE (Germany)" in error.message
    assert error.suggestions[0] == "DE"
    assert error.hint == "Type the country's name or its two-letter code, such as Germany or DE."
    assert refusal(parse_country, "").message == "A country is required."


@pytest.mark.parametrize(
    ("text", "expected"),
    [("USD", "USD"), ("usd", "USD"), ("Euro", "EUR"), ("US Dollar", "USD"), ("sterling", "GBP")],
)
def test_currency_accepts(text: str, expected: str) -> None:
    assert parse_currency(text) == expected


def test_currency_refuses_symbols_and_unknown_codes() -> None:
    dollar = refusal(parse_currency, "$")
    assert dollar.message.startswith('"$" is a symbol, not a currency code; it stands for USD, CAD')
    assert dollar.suggestions[0] == "USD"
    assert refusal(parse_currency, "€").suggestions == ("EUR",)
    unknown = refusal(parse_currency, "Dollarz")
    assert unknown.message.startswith('"Dollarz" is not a known currency.')
    assert unknown.hint is not None
    assert "USD, EUR or GBP" in unknown.hint


# --- solutions ------------------------------------------------------------------------


def test_solutions_mix_categories_and_ids() -> None:
    assert parse_solutions("sol-15974-mqf, Cloud Migration; DEAL-123456-XYZ\nIoT") == (
        SolutionChoice("SOL-15974-MQF", "id"),
        SolutionChoice("CloudMigration", "category"),
        SolutionChoice("DEAL-123456-XYZ", "id"),
        SolutionChoice("InternetofThings", "category"),
    )


def test_solutions_as_sent_by_a_card() -> None:
    assert parse_solutions("SOL-15974-MQF") == (SolutionChoice("SOL-15974-MQF", "id"),)
    assert parse_solutions("CloudMigration,SOL-1") == (
        SolutionChoice("CloudMigration", "category"),
        SolutionChoice("SOL-1", "id"),
    )


def test_solutions_numbered_options_may_be_ids() -> None:
    shown = ["SOL-1-A", "CloudMigration"]
    assert parse_solutions("2, 1, sol-1-a", numbered=shown) == (
        SolutionChoice("CloudMigration", "category"),
        SolutionChoice("SOL-1-A", "id"),
    )


@pytest.mark.parametrize("text", ["SOL 15974", "SOL-", "sol-15974_mqf", "DEAL--1"])
def test_solutions_explain_malformed_ids(text: str) -> None:
    error = refusal(parse_solutions, text)
    assert error.message.startswith(f'"{text}" is not a solution: a solution id is SOL- or DEAL-')
    assert "SOL-15974-MQF" in error.message


def test_solutions_suggest_categories() -> None:
    error = refusal(parse_solutions, "Cloud Migraton")
    assert error.message.startswith('"Cloud Migraton" is not a known solution. Did you mean')
    assert error.suggestions[0] == "CloudMigration"
    assert refusal(parse_solutions, "").message == "Choose at least one solution."


# --- anything typed -------------------------------------------------------------------

PARSERS: dict[str, Callable[[str], object]] = {
    "text": lambda text: parse_text(text, field="The name", max_length=50),
    "long_text": lambda text: parse_long_text(text, field="The notes", max_length=50),
    "money": parse_money,
    "date": lambda text: parse_date(text, today=TODAY, not_before=TODAY),
    "email": parse_email,
    "phone": parse_phone,
    "yes_no": parse_yes_no,
    "choice": lambda text: parse_choice(text, INDUSTRIES, numbered=SHOWN),
    "choices": lambda text: parse_choices(text, PRODUCTS, numbered=PRODUCTS.values[:9]),
    "countries": lambda text: parse_choices(text, COUNTRIES, max_items=3),
    "country": parse_country,
    "currency": parse_currency,
    "solutions": lambda text: parse_solutions(text, numbered=SOLUTIONS.values[:4]),
}

answers = (
    st.text(max_size=120)
    | st.text(alphabet="0123456789.,;:$€+-()/ kKmMuUsSdD\n\t#", max_size=40)
    | st.text(alphabet="0123456789 /-.", max_size=12).map(lambda text: text + " 2026")
    | st.text(alphabet="abcdeijlnorstuy@.-_ ", max_size=30)
    | st.sampled_from(["in 5 days", "31 Dec 2026", "SOL-1", "1, 2", "$5k", "a@b.co", "yes"])
)


def attempt(parse: Callable[[str], object], text: str) -> InvalidAnswer | None:
    """The InvalidAnswer *parse* raised for *text*, or None; anything else propagates."""
    try:
        parse(text)
    except InvalidAnswer as error:
        return error
    return None


@settings(max_examples=300)
@given(text=answers)
def test_any_text_is_parsed_or_refused_cleanly(text: str) -> None:
    for name, parse in PARSERS.items():
        error = attempt(parse, text)
        assert error is None or error.message, name


@pytest.mark.parametrize("name", sorted(PARSERS))
@pytest.mark.parametrize("text", ["\x00", "\ud800", "\x1b[2J", "1" * 20_000, "," * 20_000])
def test_hostile_text_is_refused_cleanly(name: str, text: str) -> None:
    error = attempt(PARSERS[name], text)
    assert error is not None
    assert error.message


def test_currency_symbols_in_amounts_name_no_currency() -> None:
    assert parse_money("£5k") == Money(Decimal(5000))
    assert parse_money("CAD$50") == Money(Decimal(50), "CAD")
