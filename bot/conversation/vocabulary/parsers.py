"""Step parsers: the validators of :mod:`bot.conversation.vocabulary.values`, bound to a
step's needs.

Each returns the canonical JSON value the session stores: strings, lists of strings,
booleans, decimal amounts as strings and dates as ISO strings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
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


def currency_of(step_id: str) -> Callable[[str], dict[str, Any]]:
    """A ``derive``: the currency an amount was typed with ("USD 50,000"), if any, as the
    answer to the currency step ``step_id``."""

    def derive(raw: str) -> dict[str, Any]:
        try:
            found = values.parse_money(raw).currency
        except values.InvalidAnswer:
            return {}
        return {step_id: found} if found else {}

    return derive


money_currency = currency_of("currency")
"""The new-referral flow's ``derive``: an amount's currency answers the ``currency`` step."""


def future_date(raw: str, ctx: ParseContext) -> Any:
    """A date that is today or later, stored as ISO ``YYYY-MM-DD``."""
    return values.parse_date(raw, today=ctx.today, not_before=ctx.today).isoformat()


def any_date(raw: str, ctx: ParseContext) -> Any:
    """A date, past or future, stored as ISO ``YYYY-MM-DD``."""
    return values.parse_date(raw, today=ctx.today).isoformat()


def past_date(raw: str, ctx: ParseContext) -> Any:
    """A date that is today or earlier (something that happened), stored as ISO."""
    return values.parse_date(raw, today=ctx.today, not_after=ctx.today).isoformat()


@dataclass(frozen=True, slots=True)
class Earlier:
    """A date step another date must not precede: its answer plus ``gap_days`` is the first
    day allowed (a gap of 1: strictly after)."""

    step: str
    rule: str
    """The rule in words, leading the refusal ("The end date must be after the start date")."""
    gap_days: int = 0


def ordered_date(*earlier: Earlier) -> Parser:
    """A date (past allowed) on or after each of the ``earlier`` steps' answers (plus its
    gap) that is answered; the step should name those steps in ``depends_on``, so that an
    answer an earlier change no longer fits is asked again."""

    def parse(raw: str, ctx: ParseContext) -> Any:
        found = values.parse_date(raw, today=ctx.today)
        for bound in earlier:
            answer = ctx.answers.get(bound.step)
            if answer is None:
                continue
            try:
                first = date.fromisoformat(str(answer)) + timedelta(days=bound.gap_days)
            except OverflowError:
                raise values.InvalidAnswer(
                    f"{bound.rule}, and no date can be.", hint="Change the earlier date."
                ) from None
            try:
                values.parse_date(found.isoformat(), today=ctx.today, not_before=first)
            except values.InvalidAnswer as refused:
                raise values.InvalidAnswer(
                    f"{bound.rule}: {refused.message}", hint=refused.hint
                ) from None
        return found.isoformat()

    return parse


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


def among(source: ChoiceSource, *, owner: str, max_items: int | None = None) -> Parser:
    """One or more of the choices the draft lists itself (a referral's own solutions): a
    refusal names every valid one, closest to what was typed first; ``owner`` says whose
    they are ("this referral")."""

    def parse(raw: str, ctx: ParseContext) -> Any:
        catalog = source.catalog(ctx.answers)
        if catalog is None or not len(catalog):
            noun = catalog.name if catalog is not None else "choice"
            raise values.InvalidAnswer(
                f"{owner[:1].upper()}{owner[1:]} lists no {noun}s, so there is none to pick.",
                hint="Type cancel, add one in Partner Center, then start again.",
            )
        try:
            picked = values.parse_choices(
                raw, catalog, numbered=ctx.numbered or None, max_items=max_items
            )
        except values.InvalidAnswer as refused:
            ranked = _closest_first(catalog, raw)
            listed = "; ".join(f"{catalog.label(value)} ({value})" for value in ranked)
            raise values.InvalidAnswer(
                f"{refused.message} The {catalog.name}s of {owner} are: {listed}.",
                hint="Type their ids or names, separated by commas.",
                suggestions=ranked,
            ) from None
        return list(picked)

    return parse


def _closest_first(catalog: Catalog[str], typed: str) -> tuple[str, ...]:
    """Every value of ``catalog``: those close to ``typed`` first, best first, then the rest
    in the catalog's order."""
    close = catalog.closest(typed, len(catalog))
    return (*close, *(value for value in catalog if value not in close))


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
