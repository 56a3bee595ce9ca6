"""``/referral update ID``: pick the fields to change, answer each, review, send a JSON Patch.

The change is bound to the version read at the start (``If-Match``); when someone changed
the referral meanwhile, the seller sees what changed and may re-apply. Diagram:
``docs/flows/update.md``.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.conversation import parsers
from bot.conversation.flows.builders import any_of
from bot.conversation.steps import AnswerContains, Fixed, Flow, Step
from bot.conversation.views import InputKind
from bot.referrals import catalogs, limits
from bot.referrals.catalog import Catalog
from bot.referrals.models import Referral, ReferralDetails

UPDATABLE: Catalog[str] = Catalog(
    "field",
    (
        "name",
        "deal_value",
        "currency",
        "closing_date",
        "notes",
        "customer_name",
        "industries",
        "products",
        "services",
    ),
    labels={
        "name": "Referral name",
        "deal_value": "Deal value",
        "currency": "Currency",
        "closing_date": "Closing date",
        "notes": "Notes",
        "customer_name": "Customer name",
        "industries": "Industries",
        "products": "Products",
        "services": "Services",
    },
    aliases={"value": "deal_value", "amount": "deal_value", "close date": "closing_date"},
)


def _picked(field: str) -> AnswerContains:
    return AnswerContains("fields", field)


def _details(referral: Referral) -> ReferralDetails:
    return referral.details or ReferralDetails()


def _deal_value(referral: Referral) -> str | None:
    value = _details(referral).deal_value
    return str(value) if value is not None else None


def _closing_date(referral: Referral) -> str | None:
    closing = _details(referral).closing_date_time
    return closing.date().isoformat() if closing else None


def _tags(kind: str) -> Callable[[Referral], list[str] | None]:
    def current(referral: Referral) -> list[str] | None:
        requirements = _details(referral).requirements
        tags = getattr(requirements, kind, None) if requirements else None
        return [tag.id for tag in tags] if tags else None

    return current


FLOW = Flow(
    name="update",
    title="Update referral",
    needs_referral=True,
    steps=(
        any_of(
            "fields",
            "Fields to change",
            "What do you want to change?",
            Fixed(UPDATABLE),
            display=lambda picked: ", ".join(UPDATABLE.label(str(p)) for p in picked),
        ),
        Step(
            "name",
            "Referral name",
            "The new referral name?",
            InputKind.TEXT,
            parsers.text("The referral name", limits.REFERRAL_NAME),
            when=_picked("name"),
            current=lambda referral: referral.name,
        ),
        Step(
            "deal_value",
            "Deal value",
            "The new deal value?",
            InputKind.MONEY,
            parsers.money,
            display=parsers.show_amount,
            when=_picked("deal_value"),
            current=_deal_value,
        ),
        Step(
            "currency",
            "Currency",
            "The new currency?",
            InputKind.CURRENCY,
            parsers.currency,
            choices=Fixed(catalogs.CURRENCIES),
            when=_picked("currency"),
            current=lambda referral: _details(referral).currency,
        ),
        Step(
            "closing_date",
            "Closing date",
            "The new closing date?",
            InputKind.DATE,
            parsers.future_date,
            when=_picked("closing_date"),
            current=_closing_date,
        ),
        Step(
            "notes",
            "Notes",
            "The new notes?",
            InputKind.LONG_TEXT,
            parsers.long_text("The notes", limits.NOTES),
            when=_picked("notes"),
            current=lambda referral: _details(referral).notes,
        ),
        Step(
            "customer_name",
            "Customer name",
            "The customer's name?",
            InputKind.TEXT,
            parsers.text("The customer name", limits.CUSTOMER_NAME),
            when=_picked("customer_name"),
            current=lambda referral: (
                referral.customer_profile.name if referral.customer_profile else None
            ),
        ),
        any_of(
            "industries",
            "Industries",
            "Which industries?",
            Fixed(catalogs.INDUSTRIES),
            when=_picked("industries"),
            current=_tags("industries"),
        ),
        any_of(
            "products",
            "Products",
            "Which products?",
            Fixed(catalogs.PRODUCTS),
            when=_picked("products"),
            current=_tags("products"),
        ),
        any_of(
            "services",
            "Services",
            "Which services?",
            Fixed(catalogs.SERVICES),
            when=_picked("services"),
            current=_tags("services"),
        ),
    ),
)
