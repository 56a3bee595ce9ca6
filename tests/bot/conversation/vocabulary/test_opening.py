"""The one line after /referral new: what is read, in any order, and what is said back."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.conversation.vocabulary.values import Opening, parse_opening
from bot.referrals import limits

TODAY = date(2026, 5, 14)


def opened(
    customer: str | None,
    amount: int | str | None = None,
    currency: str | None = None,
    closing: date | None = None,
    *,
    name: str | None = None,
    unread: tuple[str, ...] = (),
) -> Opening:
    """The Opening expected; the name is the customer unless given."""
    return Opening(
        customer=customer,
        name=name or customer,
        amount=Decimal(amount) if amount is not None else None,
        currency=currency,
        closing=closing,
        unread=unread,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Contoso 50k USD by 2027-03-31", opened("Contoso", 50000, "USD", date(2027, 3, 31))),
        ("50k USD Contoso by end of quarter", opened("Contoso", 50000, "USD", date(2026, 6, 30))),
        ("Contoso by 2027-03-31 for $50,000", opened("Contoso", 50000, None, date(2027, 3, 31))),
        (
            "Contoso - Dynamics 365 rollout 120k EUR closing 2027-06-30",
            opened(
                "Contoso",
                120000,
                "EUR",
                date(2027, 6, 30),
                name="Contoso - Dynamics 365 rollout",
            ),
        ),
        ("Fabrikam €75,000 by 31 March 2027", opened("Fabrikam", 75000, None, date(2027, 3, 31))),
        ("Contoso 50k", opened("Contoso", 50000)),
        ("Contoso", opened("Contoso")),
        ("USD 50,000 Contoso due 2027-01-15", opened("Contoso", 50000, "USD", date(2027, 1, 15))),
        ("by 2027-03-31 Contoso 50000 USD", opened("Contoso", 50000, "USD", date(2027, 3, 31))),
        (
            "Contoso Ltd closes on 2027-06-30 1.5M usd",
            opened("Contoso Ltd", 1500000, "USD", date(2027, 6, 30)),
        ),
        (
            "Contoso: Azure migration 250k GBP before December 31, 2026",
            opened("Contoso", 250000, "GBP", date(2026, 12, 31), name="Contoso: Azure migration"),
        ),
        (
            "Contoso \u2013 Teams rollout, 50 000 EUR, closing: 2027-06-30",  # an en dash
            opened("Contoso", 50000, "EUR", date(2027, 6, 30), name="Contoso \u2013 Teams rollout"),
        ),
        ("Contoso 50kUSD by in 30 days", opened("Contoso", 50000, "USD", date(2026, 6, 13))),
        ("Contoso by tomorrow", opened("Contoso", None, None, date(2026, 5, 15))),
        ("Contoso by today", opened("Contoso", None, None, TODAY)),
        (
            "Contoso closing by the end of the year",
            opened("Contoso", None, None, date(2026, 12, 31)),
        ),
        ("Contoso worth 50k USD", opened("Contoso", 50000, "USD")),
        ("Contoso 1,250.50 CAD", opened("Contoso", "1250.50", "CAD")),
        ("Contoso CAD$50", opened("Contoso", 50, "CAD")),
        ("Contoso 50 USD", opened("Contoso", 50, "USD")),
        ("Contoso 250000", opened("Contoso", 250000)),
        # Capitalised, a date word that leads to no date is part of the name.
        (
            "Close Brothers 50k by 2027-01-01",
            opened("Close Brothers", 50000, None, date(2027, 1, 1)),
        ),
        ("Due North Ltd 50k", opened("Due North Ltd", 50000)),
        # Small unmarked numbers are words; lower-case codes that are words are words.
        ("Contoso Dynamics 365", opened("Contoso Dynamics 365")),
        ("Fortune 500 Corp 50k GBP", opened("Fortune 500 Corp", 50000, "GBP")),
        ("Contoso top 50k", opened("Contoso top", 50000)),
        ("Contoso TOP 50k", opened("Contoso", 50000, "TOP")),
        ("  Contoso\n50k  ", opened("Contoso", 50000)),
    ],
)
def test_word_orders(text: str, expected: Opening) -> None:
    assert parse_opening(text, today=TODAY) == expected


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_nothing_typed_fills_nothing(text: str) -> None:
    assert parse_opening(text, today=TODAY) == Opening()


# --- what is said back ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Contoso by someday",
            opened("Contoso", unread=('"by someday" is not a date I can read.',)),
        ),
        (
            "Contoso 50k USD by next spring",
            opened("Contoso", 50000, "USD", unread=('"by next spring" is not a date I can read.',)),
        ),
        (
            "Contoso by next spring 50k",
            opened("Contoso", 50000, unread=('"by next spring" is not a date I can read.',)),
        ),
        ("Contoso by", opened("Contoso", unread=('"by" has no date after it.',))),
        (
            "Contoso 50k 60k",
            opened("Contoso", 50000, unread=('"60k" is a second amount; the amount is 50,000.',)),
        ),
        (
            "Contoso 50k 60k USD",
            opened(
                "Contoso",
                60000,
                "USD",
                unread=('"50k" is a second amount; the amount is 60,000 USD.',),
            ),
        ),
        (
            "Contoso by 2020-01-01 50k",
            opened("Contoso", 50000, unread=('"by 2020-01-01" is in the past: 1 January 2020.',)),
        ),
        (
            "Contoso 50k by 2027-03-31 by 2027-04-30",
            opened(
                "Contoso",
                50000,
                None,
                date(2027, 3, 31),
                unread=(
                    '"by 2027-04-30" is a second closing date; the closing date is 31 March 2027.',
                ),
            ),
        ),
        (
            "Contoso 50k 2027-03-31",
            opened(
                "Contoso",
                50000,
                unread=(
                    '"2027-03-31" looks like a date, but no "by" comes before it, '
                    "so it was not taken as the closing date.",
                ),
            ),
        ),
        (
            "Contoso 0k",
            opened("Contoso", unread=('"0k" is zero; an amount must be more than zero.',)),
        ),
        (
            "Contoso -50k",
            opened("Contoso", unread=('"-50k" is negative; an amount must be more than zero.',)),
        ),
        (
            "Contoso 50.000 EUR",
            opened(
                "Contoso",
                unread=(
                    '"50.000 EUR" is ambiguous: the dot could separate thousands or decimals.',
                ),
            ),
        ),
        (
            "Contoso by someday 50k 60k by 2020-01-01",
            opened(
                "Contoso",
                50000,
                unread=(
                    '"by someday" is not a date I can read.',
                    '"60k" is a second amount; the amount is 50,000.',
                    '"by 2020-01-01" is in the past: 1 January 2020.',
                ),
            ),
        ),
        (
            "3M 50k USD",
            opened(
                None, 50000, "USD", unread=('"3M" is a second amount; the amount is 50,000 USD.',)
            ),
        ),
    ],
)
def test_what_cannot_be_read_is_said_back(text: str, expected: Opening) -> None:
    assert parse_opening(text, today=TODAY) == expected


def test_a_customer_over_its_limit_is_said_back() -> None:
    customer = "C" * (limits.CUSTOMER_NAME + 1)
    read = parse_opening(f"{customer} 50k", today=TODAY)
    assert (read.customer, read.name, read.amount) == (None, None, Decimal(50000))
    assert read.unread == (
        f'The customer name "{"C" * 39}…" is too long: 201 characters, and the limit is 200.',
        f'The referral name "{"C" * 39}…" is too long: 201 characters, and the limit is 200.',
    )


def test_a_name_over_its_limit_keeps_the_customer() -> None:
    project = "x" * limits.REFERRAL_NAME
    read = parse_opening(f"Contoso - {project} 50k", today=TODAY)
    assert (read.customer, read.name) == ("Contoso", None)
    assert read.unread == (
        f'The referral name "Contoso - {"x" * 29}…" is too long: 210 characters, '
        "and the limit is 200.",
    )


def test_text_that_cannot_be_saved_is_said_back() -> None:
    assert parse_opening("Contoso\x00 50k", today=TODAY) == Opening(
        unread=(
            '"Contoso\\x00 50k" contains an invisible control character (U+0000) '
            "that cannot be saved.",
        )
    )
    assert parse_opening("Contoso 50k " * 100, today=TODAY) == Opening(
        unread=("That answer is 1,200 characters long, too long to be a referral opening.",)
    )


# --- properties -----------------------------------------------------------------------

_NOT_NAMES = {"by", "closing", "close", "closes", "due", "before", "on", "date", "today"}
_NOT_NAMES |= {"tomorrow", "end", "worth", "with", "about", "around", "valued"}
_customers = st.lists(
    st.from_regex(r"[A-Z][a-z]{3,9}", fullmatch=True).filter(
        lambda word: word.casefold() not in _NOT_NAMES
    ),
    min_size=1,
    max_size=3,
).map(" ".join)
_currencies = st.sampled_from(["USD", "EUR", "GBP", "JPY", "INR", "CAD", "AUD", "CHF", "SEK"])
_closings = st.integers(0, 3650).map(lambda days: TODAY + timedelta(days=days))


@st.composite
def amounts(draw: st.DrawFn) -> tuple[str, Decimal]:
    """An amount as typed (50000, 50,000 or 50k), and its value."""
    number = draw(st.integers(1, 999_999_999))
    forms = [str(number), f"{number:,}"]
    if number % 1000 == 0:
        forms.append(f"{number // 1000}k")
    return draw(st.sampled_from(forms)), Decimal(number)


@st.composite
def dates(draw: st.DrawFn) -> tuple[str, date]:
    """A closing date as typed (ISO, 31 March 2027 or March 31, 2027), and its value."""
    value = draw(_closings)
    month = calendar.month_name[value.month]
    forms = [value.isoformat(), f"{value.day} {month} {value.year}"]
    forms.append(f"{month} {value.day}, {value.year}")
    return draw(st.sampled_from(forms)), value


ORDERS = (
    "{customer} {amount} {code} by {date}",
    "{amount} {code} {customer} by {date}",
    "{customer} by {date} for {amount} {code}",
    "{customer} {code} {amount} closing {date}",
    "by {date} {customer} {amount} {code}",
    "{customer} due {date} {code} {amount}",
    "{code} {amount} {customer} closes on {date}",
)


@settings(max_examples=150)
@given(
    order=st.sampled_from(ORDERS),
    customer=_customers,
    amount=amounts(),
    code=_currencies,
    closing=dates(),
)
def test_any_supported_word_order_reads_back(
    order: str,
    customer: str,
    amount: tuple[str, Decimal],
    code: str,
    closing: tuple[str, date],
) -> None:
    text = order.format(customer=customer, amount=amount[0], code=code, date=closing[0])
    assert parse_opening(text, today=TODAY) == Opening(
        customer, customer, amount[1], code, closing[1]
    )


@settings(max_examples=50)
@given(customer=_customers, project=_customers, amount=amounts(), code=_currencies)
def test_a_project_after_a_dash_is_the_name(
    customer: str, project: str, amount: tuple[str, Decimal], code: str
) -> None:
    read = parse_opening(f"{customer} - {project} {amount[0]} {code}", today=TODAY)
    assert read == Opening(customer, f"{customer} - {project}", amount[1], code)


_openings = (
    st.text(max_size=120)
    | st.text(alphabet="0123456789.,:-$€£ kKmMUSDEURbycloseduefor\n", max_size=60)
    | st.lists(
        st.sampled_from(
            ["Contoso", "by", "50k", "USD", "2027-03-31", "end", "of", "quarter", "-", "0k"]
        ),
        max_size=8,
    ).map(" ".join)
)


@settings(max_examples=300)
@given(text=_openings)
def test_it_never_raises(text: str) -> None:
    read = parse_opening(text, today=TODAY)
    assert isinstance(read, Opening)
    assert all(sentence for sentence in read.unread)
    assert read.closing is None or read.closing >= TODAY
    assert read.amount is None or read.amount > 0
