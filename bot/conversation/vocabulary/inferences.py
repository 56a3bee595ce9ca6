"""Answers worked out from other answers (:class:`~bot.conversation.vocabulary.steps.Inference`):
filled in while the seller has not given them, shown on the review with where they came
from, and theirs to change."""

from __future__ import annotations

import functools

from babel.core import UnknownLocaleError
from babel.numbers import get_territory_currencies

from bot.conversation.vocabulary.steps import Answers
from bot.referrals.catalogs import CURRENCIES

_TAKEN = frozenset(CURRENCIES)


@functools.lru_cache(maxsize=512)
def country_currency(country: str) -> str | None:
    """The currency a country pays in (CLDR's legal tender for it today), when it has one
    and only one the API takes. A country with two (Panama: the balboa and the dollar) has
    none here: that is the seller's to say, not ours to guess."""
    try:
        tender = get_territory_currencies(country.upper(), tender=True)
    except (UnknownLocaleError, ValueError, LookupError):
        return None
    usable = [code for code in tender if code in _TAKEN]
    return usable[0] if len(usable) == 1 else None


def currency_of_country(step: str) -> functools.partial[str | None]:
    """An inference: the currency of the country answered at step ``step``."""
    return functools.partial(_currency_of, step)


def _currency_of(step: str, answers: Answers) -> str | None:
    country = answers.get(step)
    return country_currency(country) if isinstance(country, str) and country else None
