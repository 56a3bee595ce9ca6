"""How referral values read, the same on every surface (terminal, Slack, Teams)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.conversation.views import ApprovalCard
from bot.referrals.catalogs import CUSTOMER_SIZES
from bot.referrals.models import (
    DealRegistration,
    MarketplaceTransactionDetails,
    Member,
    Referral,
    RegistrationSolutionDetail,
    Tag,
)
from cards import words
from cards.words import MISSING


def joined(values: Iterable[Any], separator: str = " · ") -> str | None:
    """The non-empty values joined, or None when there are none."""
    parts = [str(value) for value in values if value not in (None, "")]
    return separator.join(parts) or None


def kind(referral: Referral) -> str | None:
    """What sort of referral it is: type, qualification and direction."""
    return joined((referral.type, referral.qualification, referral.direction))


def member(person: Member) -> str | None:
    """A team member as one line: name, email (when it is not the name) and phone."""
    name = person.display_name
    email = person.email if person.email != name else None
    return joined((name, email, person.phone_number))


def customer(referral: Referral) -> str | None:
    """ "Northwind Traders (Seattle, US) · 51 to 250 employees"."""
    profile = referral.customer_profile
    if profile is None:
        return None
    address = profile.address
    place = joined((address.city, address.country), ", ") if address else None
    located = joined((profile.name, f"({place})" if place else None), " ")
    return joined((located, customer_size(profile.size)))


def customer_size(size: str | None) -> str | None:
    """A size the catalog knows, in words; any other as the API sent it."""
    known = CUSTOMER_SIZES.get(size) if size else None
    return CUSTOMER_SIZES.label(known) if known else size


def status(referral: Referral) -> str | None:
    """ "Active/Accepted"."""
    return joined((referral.status, referral.substatus), "/")


def money(value: Decimal | None, currency: str | None) -> str | None:
    """ "120,000 USD"; cents only when there are some."""
    if value is None:
        return None
    if not value.is_finite():
        return f"{value} {currency or ''}".rstrip()
    amount = f"{int(value):,}" if value == value.to_integral_value() else f"{value:,.2f}"
    return f"{amount} {currency or ''}".rstrip()


def day(value: datetime | None) -> str | None:
    """ "2026-12-31"."""
    return value.strftime("%Y-%m-%d") if value else None


def timestamp(value: datetime | None) -> str | None:
    """ "2026-11-23 19:44 UTC"."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else None


def members(people: Iterable[Member], separator: str) -> str:
    """Team members, one :func:`member` line each, joined by ``separator``."""
    return separator.join(member(person) or MISSING for person in people)


def facts(referral: Referral, *, people: str = "\n") -> list[tuple[str, str | None]]:
    """What a referral card shows first, by label: ids, status, customer, deal, type, teams.

    ``people`` separates the members of a team.
    """
    details = referral.details
    profile = referral.customer_profile
    rows: list[tuple[str, str | None]] = [
        ("Id", referral.id),
        ("Engagement id", referral.engagement_id),
        ("Status", status(referral)),
        ("Customer", customer(referral)),
        ("Deal value", money(details.deal_value, details.currency) if details else None),
        ("Closing", day(details.closing_date_time) if details else None),
    ]
    if referral.status_reason:
        rows.append(("Status reason", referral.status_reason))
    sort = kind(referral)
    if sort:
        rows.append(("Type", sort))
    if referral.team:
        rows.append(("Team", members(referral.team, people)))
    if profile and profile.team:
        rows.append(("Customer contacts", members(profile.team, people)))
    return rows


def glance(referral: Referral) -> str | None:
    """A referral in one line: customer, status, value and closing date."""
    details = referral.details
    return joined(
        (
            referral.customer_profile.name if referral.customer_profile else None,
            status(referral),
            money(details.deal_value, details.currency) if details else None,
            f"closing {day(details.closing_date_time)}"
            if details and details.closing_date_time
            else None,
        )
    )


def tag_ids(tags: Iterable[Tag] | None) -> str:
    """Tag ids, comma-separated."""
    return ", ".join(tag.id for tag in tags or ())


def requirements(referral: Referral, *, missing: str) -> dict[str, str]:
    """What the customer needs, by label, leaving out what is empty."""
    needs = referral.details.requirements if referral.details else None
    if needs is None:
        return {}
    extra = needs.additional_requirements
    rows = {
        "Industries": tag_ids(needs.industries),
        "Products": tag_ids(needs.products),
        "Services": tag_ids(needs.services),
        "Solutions": ", ".join(
            joined((solution.id, solution.name), " ") or missing
            for solution in needs.solutions or ()
        ),
        "Partner role": extra.partner_role if extra else None,
        "Solution area": extra.solution_area if extra else None,
        "Solution play": extra.solution_play if extra else None,
    }
    return {label: value for label, value in rows.items() if value}


# -- deal-registration approvals ----------------------------------------------------------------


def yes_no(value: bool | None) -> str | None:
    """ "Yes" or "No"; None when unknown."""
    if value is None:
        return None
    return words.YES if value else words.NO


def approval_facts(view: ApprovalCard) -> list[tuple[str, str | None]]:
    """What a request is about, by label: the referral, its customer and id, who asked, and
    Partner Center's reference once the registration was sent. Times are the caller's to
    add (:func:`approval_times`): each surface shows them in its reader's time zone."""
    rows: list[tuple[str, str | None]] = [
        (words.REFERRAL, view.referral_name or words.UNNAMED),
        (words.CUSTOMER, view.customer),
        (words.REFERRAL_ID, view.referral_id),
        (words.REQUESTED_BY, view.requester),
    ]
    if view.reference:
        rows.append((words.PARTNER_CENTER_REFERENCE, view.reference))
    return rows


def approval_times(view: ApprovalCard) -> list[tuple[str, datetime]]:
    """When it was asked, decided, and (while pending) when it lapses, by label."""
    rows: list[tuple[str, datetime | None]] = [
        (words.ASKED, view.requested_at),
        (words.DECIDED, view.decided_at if view.status != "pending" else None),
        (words.EXPIRES, view.expires_at if view.status == "pending" else None),
    ]
    return [(label, moment) for label, moment in rows if moment is not None]


def approval_glance(view: ApprovalCard) -> str:
    """A request in one line, for a home page: who asked, the customer, the contract value."""
    contract = view.registration.contract
    return (
        joined(
            (
                f"{words.REQUESTED_BY} {view.requester}",
                view.customer,
                money(contract.value, contract.currency) if contract else None,
            )
        )
        or MISSING
    )


def registration_facts(registration: DealRegistration) -> list[tuple[str, str | None]]:
    """The registration's type and contract, by label (None where the request has none)."""
    contract = registration.contract
    if contract is None:
        return [(words.REGISTRATION_TYPE, registration.type), (words.CONTRACT_VALUE, None)]
    return [
        (words.REGISTRATION_TYPE, registration.type),
        (words.CONTRACT_VALUE, money(contract.value, contract.currency)),
        (words.SIGNED, day(contract.sign_date_time)),
        (words.STARTS, day(contract.start_date_time)),
        (words.ENDS, day(contract.end_date_time)),
        (words.TERM, contract.term),
    ]


def solutions(registration: DealRegistration) -> list[RegistrationSolutionDetail]:
    """The registration's solutions (none when it lists none)."""
    return list(registration.solution_details or ())


def solution_name(solution: RegistrationSolutionDetail) -> str:
    """ "Contoso Experience Platform (DEAL-123456-XYZ)", or whichever of the two is known."""
    if solution.name and solution.id:
        return f"{solution.name} ({solution.id})"
    return solution.name or solution.id or words.UNNAMED_SOLUTION


def solution_facts(solution: RegistrationSolutionDetail) -> list[tuple[str, str | None]]:
    """One solution of a registration, by label: where it runs, how it is priced, its value
    and whether it went through the marketplace."""
    return [
        (words.DEPLOYED_ON_AZURE, yes_no(solution.is_deployed_on_azure)),
        (words.PRIMARY_DEPLOYMENT, solution.primary_deployment_on),
        (words.PRICING_MODEL, solution.pricing_model),
        (words.SOLUTION_VALUE, money(solution.value, solution.currency)),
        (words.MARKETPLACE, marketplace(solution.marketplace_transaction_details)),
    ]


def marketplace(details: MarketplaceTransactionDetails | None) -> str | None:
    """ "Yes, 2026-02-11" (when transacted, with the day when known), "No", or None."""
    transacted = yes_no(details.is_marketplace_transacted) if details else None
    if details is None or transacted is None:
        return None
    return joined((transacted, day(details.marketplace_transaction_date_time)), ", ")


def inline(rows: Iterable[tuple[str, str | None]]) -> str:
    """Facts on one line: ``Label: value · Label: value``, a dash for a missing value."""
    return " · ".join(f"{label}: {value or MISSING}" for label, value in rows)
