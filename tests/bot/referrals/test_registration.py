"""Whether a referral could be registered as a deal, from its own fields: a table of cases,
and properties tying the dollar threshold to the deal-value policy as the sandbox applies it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.partner_center.sandbox.eligibility import EligibilityRules, evaluate_referral
from bot.referrals.models import Referral
from bot.referrals.registration import could_register

GOOD: dict[str, Any] = {
    "id": "r-1",
    "name": "Northwind - platform",
    "status": "Active",
    "substatus": "Accepted",
    "type": "Shared",
    "direction": "Outgoing",
    "details": {"dealValue": 30000, "currency": "USD"},
}
"""An active co-sell the partner sent, worth USD 30,000, not registered yet."""
A_REGISTRATION = {"id": "g-1", "type": "AzureIPCoSell", "status": "ReviewPending"}


def referral(**changes: Any) -> Referral:
    """:data:`GOOD` with some wire fields replaced (None drops the field)."""
    document = {**GOOD, **changes}
    return Referral.from_wire({key: value for key, value in document.items() if value is not None})


def priced(value: Any, currency: str | None) -> Referral:
    details = {"dealValue": value, "currency": currency}
    return referral(details={key: v for key, v in details.items() if v is not None})


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        (referral(), True),
        # direction: only an incoming referral is refused; some payloads leave it out
        (referral(direction=None), True),
        (referral(direction="Incoming"), False),
        (referral(direction="SomethingNew"), True),
        # deal type: isDealTypeCosellOrPartnerLed reads "Shared"
        (referral(type="Independent"), False),
        (referral(type=None), False),
        # status: registered while active only
        (referral(status="New", substatus="Pending"), False),
        (referral(status="Closed", substatus="Won"), False),
        (referral(status=None, substatus=None), False),
        # registrations: one already made
        (referral(registrations=[A_REGISTRATION]), False),
        (referral(registrations=[]), True),
        # deal value in dollars: more than 25,000
        (priced(25_001, "USD"), True),
        (priced("25000.01", "USD"), True),
        (priced(25_000, "USD"), False),
        (priced(1_000, "usd"), False),
        (priced(None, "USD"), False),
        (referral(details=None), True),
        # other currencies (or none): the conversion is not documented, so not judged here
        (priced(1_000, "EUR"), True),
        (priced(0, "JPY"), True),
        (priced(1_000, None), True),
    ],
)
def test_could_register(changed: Referral, expected: bool) -> None:
    assert could_register(changed) is expected


def test_any_failure_is_enough_whatever_else_passes() -> None:
    assert not could_register(priced(1_000_000, "USD").model_copy(update={"direction": "Incoming"}))
    assert not could_register(referral(type="Independent", details={"currency": "EUR"}))


AT_PAR = EligibilityRules(solutions={}, usd_rates={"USD": Decimal(1)})
amounts = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False)


@given(value=amounts)
def test_a_dollar_deal_passes_exactly_when_the_deal_value_policy_does(value: Decimal) -> None:
    """The sandbox applies the policy with its own threshold: both say the same thing."""
    deal = priced(str(value), "USD")
    (policy,) = [
        p
        for p in evaluate_referral(deal, [], AT_PAR).policies
        if p.policy_name == "isDealValueEligible"
    ]

    assert could_register(deal) is policy.is_eligible


@given(
    value=amounts,
    currency=st.sampled_from(["EUR", "GBP", "JPY", "CAD", "eur", ""]),
)
def test_the_value_of_a_deal_in_another_currency_never_decides(
    value: Decimal, currency: str
) -> None:
    assert could_register(priced(str(value), currency or None))
