"""Step parsers: the validators of :mod:`bot.conversation.vocabulary.values`, bound to a
step's needs.

Each returns the canonical JSON value the session stores: strings, lists of strings,
booleans, decimal amounts as strings and dates as ISO strings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.conversation.vocabulary import values
from bot.conversation.vocabulary.steps import ChoiceSource, ParseContext, Parser
from bot.referrals import limits
from bot.referrals.lookup import Catalog


def text(field: str, max_length: int) -> Parser:
    """One line of text."""

    def parse(raw: str, ctx: ParseContext) -> Any:
        return values.parse_text(raw, field=field, max_length=max_length)

    return parse


def long_text(field: str, max_length: int) -> Parser:
    """Text that may span lines."""

    def parse(raw: str, ctx: ParseContext) -> Any:
        return values.parse_long_text(raw, field=field, max_length=max_length)

    return parse


def money(raw: str, ctx: ParseContext) -> Any:
    """An amount greater than zero, stored as a decimal string."""
    return str(values.parse_money(raw).amount)


def show_amount(amount: object) -> str:
    """A stored amount with thousands separators ("50,000", "1,234.5")."""
    return f"{Decimal(str(amount)):,}"


def money_currency(raw: str) -> dict[str, Any]:
    """The currency an amount was typed with ("USD 50,000"), if any."""
    try:
        found = values.parse_money(raw).currency
    except values.InvalidAnswer:
        return {}
    return {"currency": found} if found else {}


def future_date(raw: str, ctx: ParseContext) -> Any:
    """A date that is today or later, stored as ISO ``YYYY-MM-DD``."""
    return values.parse_date(raw, today=ctx.today, not_before=ctx.today).isoformat()


def email(raw: str, ctx: ParseContext) -> Any:
    """An email address."""
    return values.parse_email(raw)


def phone(raw: str, ctx: ParseContext) -> Any:
    """A phone number."""
    return values.parse_phone(raw)


def yes_no(raw: str, ctx: ParseContext) -> Any:
    """Yes or no."""
    return values.parse_yes_no(raw)


def country(raw: str, ctx: ParseContext) -> Any:
    """An ISO 3166-1 alpha-2 code, from a code or a name."""
    return values.parse_country(raw)


def currency(raw: str, ctx: ParseContext) -> Any:
    """An ISO 4217 code, from a code or a name."""
    return values.parse_currency(raw)


def _catalog(source: ChoiceSource, ctx: ParseContext) -> Catalog[str]:
    catalog = source.catalog(ctx.answers)
    if catalog is None:
        raise values.InvalidAnswer(
            f"This question depends on your answer to {source.depends_on}, which is missing."
        )
    return catalog


def single(source: ChoiceSource) -> Parser:
    """One value of the step's catalog."""

    def parse(raw: str, ctx: ParseContext) -> Any:
        return values.parse_choice(raw, _catalog(source, ctx), numbered=ctx.numbered or None)

    return parse


def multi(source: ChoiceSource) -> Parser:
    """One or more values of the step's catalog."""

    def parse(raw: str, ctx: ParseContext) -> Any:
        picked = values.parse_choices(raw, _catalog(source, ctx), numbered=ctx.numbered or None)
        return list(picked)

    return parse


def solutions(raw: str, ctx: ParseContext) -> Any:
    """Solution categories from the catalog, or a partner's solution ids (SOL-…, DEAL-…)."""
    picked = values.parse_solutions(raw, numbered=ctx.numbered or None)
    return [choice.value for choice in picked]


def teammates(raw: str, ctx: ParseContext) -> Any:
    """People as ``First Last <email>``, comma- or semicolon-separated."""
    people: list[dict[str, str]] = []
    for entry in (part.strip() for part in raw.replace(";", ",").split(",")):
        if not entry:
            continue
        name, _, rest = entry.partition("<")
        address = rest.rstrip(">").strip()
        words = name.split()
        if not address or len(words) < 2:
            raise values.InvalidAnswer(
                f"I couldn't read {entry!r} as a person.",
                hint="Write each teammate as First Last <email>, e.g. Ana Lopez <ana@contoso.com>.",
            )
        people.append(
            {
                "firstName": values.parse_text(
                    " ".join(words[:-1]), field="The first name", max_length=limits.PERSON_NAME
                ),
                "lastName": values.parse_text(
                    words[-1], field="The last name", max_length=limits.PERSON_NAME
                ),
                "email": values.parse_email(address),
            }
        )
    if not people:
        raise values.InvalidAnswer("No teammates given.", hint="Type skip to add nobody.")
    return people
