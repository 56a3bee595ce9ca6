"""Whether a referral could be registered as a deal, judged from its own fields alone.

Partner Center decides eligibility with five policies (``POST .../dealregistrations/
eligibility``): the deal type is co-sell, the Microsoft referral is accepted or won, a
solution is Azure IP co-sell eligible, the deal is worth more than USD 25,000, the customer is
Microsoft managed. Most of them look at things a referral does not carry (its sibling
referrals, the solution catalog, customer matching), so this is a filter, not a verdict: it
says no only when a policy the referral's fields can tell about has already failed, or when
the referral is past registering. ``/referral register`` still asks Partner Center before a
draft starts.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from bot.referrals.catalogs import Direction, ReferralStatus, ReferralType
from bot.referrals.models import Referral

__all__ = ["MINIMUM_USD", "could_register"]

MINIMUM_USD: Final = Decimal(25_000)
"""A registered deal must be worth more than this many US dollars (isDealValueEligible)."""


def could_register(referral: Referral) -> bool:
    """Whether ``referral`` might pass deal-registration eligibility: an active co-sell the
    partner sent, not registered yet, worth more than USD 25,000 when priced in dollars."""
    return (
        # Deals are registered on the partner's own referral; the field is absent from some
        # payloads, and an absent or unknown direction is not a failure.
        referral.direction != Direction.INCOMING
        # isDealTypeCosellOrPartnerLed: the service reports the type it derived as "Shared".
        and referral.type == ReferralType.SHARED
        and referral.status == ReferralStatus.ACTIVE
        and not referral.registrations
        and _value_not_too_small(referral)
    )


def _value_not_too_small(referral: Referral) -> bool:
    """isDealValueEligible, as far as it can be told here.

    Only US dollars are judged: how Partner Center converts other currencies to dollars is
    not documented, so a deal in euros or yen (or with no currency) is left to the service.
    A dollar deal without a value cannot be worth more than the threshold.
    """
    details = referral.details
    currency = (details.currency if details else None) or ""
    if currency.strip().upper() != "USD":
        return True
    value = details.deal_value if details else None
    return value is not None and value > MINIMUM_USD
