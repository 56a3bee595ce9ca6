"""Deal-registration eligibility: the five referral policies and the partner's own flag.

The policies and the response shape are the documented ones (Create Deal Registrations).
How the service decides each policy is not documented; the sandbox decides with small, fixed
reference data (:mod:`~bot.partner_center.sandbox.demo_data`) so every outcome can be
reproduced in a test or a demo.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot.referrals.catalogs import ReferralStatus, ReferralSubstatus, ReferralType, TargetType
from bot.referrals.models import Referral
from bot.referrals.wire import money_to_json

__all__ = [
    "AZURE_IP_COSELL",
    "MICROSOFT_TARGET_ID",
    "POLICY_NAMES",
    "EligibilityReport",
    "EligibilityRules",
    "PolicyResult",
    "evaluate_referral",
    "partner_eligibility",
    "shares_with_microsoft",
    "targets_microsoft",
]

MICROSOFT_TARGET_ID = "msft"
"""The business profile location id that makes a referral "the Microsoft referral"."""

AZURE_IP_COSELL = "MSFT Internal Azure IP Co-Sell"

POLICY_NAMES = (
    "isDealTypeCosellOrPartnerLed",
    "isMicrosoftReferralAcceptedOrWon",
    "isSolutionIncentiveEligible",
    "isDealValueEligible",
    "isCustomerManaged",
)

_ACCEPTED_OR_WON = frozenset(
    {
        (ReferralStatus.ACTIVE.value, ReferralSubstatus.ACCEPTED.value),
        (ReferralStatus.CLOSED.value, ReferralSubstatus.WON.value),
    }
)


@dataclass(frozen=True, slots=True)
class EligibilityRules:
    """The reference data the policies decide with.

    ``solutions`` maps the id of each Azure IP co-sell eligible solution to its name;
    ``usd_rates`` gives the US dollars one unit of a currency is worth; a deal must be worth
    more than ``minimum_usd``.
    """

    solutions: Mapping[str, str]
    usd_rates: Mapping[str, Decimal]
    minimum_usd: Decimal = Decimal(25_000)


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """One policy's verdict and the referral properties it looked at (as text, as documented)."""

    policy_name: str
    is_eligible: bool
    referral_properties: Mapping[str, str]
    additional_properties: tuple[str, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        """The policy as the eligibility route answers it."""
        body: dict[str, Any] = {
            "policyName": self.policy_name,
            "isEligible": self.is_eligible,
            "referralProperties": dict(self.referral_properties),
        }
        if self.additional_properties is not None:
            body["additionalProperties"] = list(self.additional_properties)
        return body


@dataclass(frozen=True, slots=True)
class EligibilityReport:
    """The verdicts of all five policies, in the documented order."""

    policies: tuple[PolicyResult, ...]

    @property
    def is_eligible(self) -> bool:
        """Whether every policy passed."""
        return all(policy.is_eligible for policy in self.policies)

    @property
    def failed(self) -> tuple[PolicyResult, ...]:
        """The policies that failed."""
        return tuple(policy for policy in self.policies if not policy.is_eligible)

    def to_json(self) -> dict[str, Any]:
        """The body of ``POST .../dealregistrations/eligibility``."""
        return {
            "isEligible": self.is_eligible,
            "passedPolicies": [p.to_json() for p in self.policies if p.is_eligible],
            "failedPolicies": [p.to_json() for p in self.failed],
        }


def targets_microsoft(referral: Referral) -> bool:
    """Whether the referral invites Microsoft (``target`` has the ``msft`` profile location)."""
    return any(
        target.type == TargetType.BUSINESS_PROFILE_LOCATION
        and (target.id or "").casefold() == MICROSOFT_TARGET_ID
        for target in referral.target or ()
    )


def shares_with_microsoft(referral: Referral) -> bool:
    """Whether the partner consented to share the referral with Microsoft sellers."""
    consent = referral.consent
    return bool(consent and consent.consent_to_share_referral_with_microsoft_sellers)


def evaluate_referral(
    referral: Referral, engagement: Sequence[Referral], rules: EligibilityRules
) -> EligibilityReport:
    """Judge a referral against the five policies; ``engagement`` holds its sibling referrals."""
    return EligibilityReport(
        (
            _deal_type(referral),
            _microsoft_referral(referral, engagement),
            _solution(referral, rules),
            _deal_value(referral, rules),
            _customer_managed(referral),
        )
    )


def partner_eligibility(is_eligible: bool) -> dict[str, Any]:
    """The body of ``GET /engagements/partners/dealregistrationeligibility``."""
    return {"isEligible": is_eligible, "policies": [{"isEligible": is_eligible}]}


def _text(value: object) -> str:
    return "None" if value is None else str(value)


def _deal_type(referral: Referral) -> PolicyResult:
    # Co-sell and partner-led deals are both shared with Microsoft sellers; private ones not.
    shared = referral.type == ReferralType.SHARED or shares_with_microsoft(referral)
    return PolicyResult(POLICY_NAMES[0], shared, {"type": _text(referral.type)})


def _microsoft_referral(referral: Referral, engagement: Sequence[Referral]) -> PolicyResult:
    candidates = [
        other for other in engagement if other.id != referral.id and targets_microsoft(other)
    ]
    accepted = [
        other
        for other in candidates
        if (_text(other.status), _text(other.substatus)) in _ACCEPTED_OR_WON
    ]
    shown = (accepted or candidates)[0] if candidates else None
    properties = {
        "status": _text(shown.status if shown else None),
        "substatus": _text(shown.substatus if shown else None),
    }
    return PolicyResult(POLICY_NAMES[1], bool(accepted), properties)


def _solution(referral: Referral, rules: EligibilityRules) -> PolicyResult:
    requirements = referral.details.requirements if referral.details else None
    solutions = (requirements.solutions if requirements else None) or []
    for solution in solutions:
        if solution.id is not None and solution.id in rules.solutions:
            properties = {"solutionId": solution.id, "solutionName": rules.solutions[solution.id]}
            return PolicyResult(POLICY_NAMES[2], True, properties, (AZURE_IP_COSELL,))
    first = solutions[0] if solutions else None
    properties = {
        "solutionId": (first.id if first else None) or "",
        "solutionName": (first.name if first else None) or "",
    }
    return PolicyResult(POLICY_NAMES[2], False, properties, ())


def _deal_value(referral: Referral, rules: EligibilityRules) -> PolicyResult:
    details = referral.details
    value = details.deal_value if details else None
    currency = (details.currency if details else None) or ""
    properties = {
        "currency": currency,
        "dealValue": "" if value is None else str(money_to_json(value)),
    }
    rate = rules.usd_rates.get(currency.upper())
    # An unknown currency cannot be converted, so the deal cannot be shown to be big enough.
    eligible = value is not None and rate is not None and value * rate > rules.minimum_usd
    return PolicyResult(POLICY_NAMES[3], eligible, properties)


def _customer_managed(referral: Referral) -> PolicyResult:
    profile = referral.customer_profile
    managed = bool(profile and profile.is_matching_complete)
    return PolicyResult(
        POLICY_NAMES[4],
        managed,
        {"isMatchingComplete": "true" if managed else "false"},
        ("Managed",) if managed else ("Unmanaged",),
    )
