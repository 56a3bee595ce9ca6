"""``/referral new``: every field the API takes, for the four kinds of deal.

Kinds, in the seller's words:

* private lead: not shared with Microsoft (``consentToShareReferralWithMicrosoftSellers``
  false);
* partner-led co-sell: shared with Microsoft sellers, no help asked;
* co-sell with Microsoft's help: two linked referrals, yours and a Microsoft referral that
  carries your engagement id and the kind of help wanted;
* services co-sell: a co-sell whose need is a service, so partner role, solution area and
  solution play are required (the plays offered depend on the area).

Each step names the path its answer fills in the referral (``fills=``); the referral, the
update flow's fields and their current values follow from those paths, so a new field is one
step here. Steps marked ``updatable=True`` are offered by ``/referral update`` too.

The diagram of this flow is in ``docs/flows/new.md``.
"""

from __future__ import annotations

import re
from typing import Any

from bot.conversation.views import InputKind
from bot.conversation.vocabulary import parsers
from bot.conversation.vocabulary.flows.builders import any_of, one_of
from bot.conversation.vocabulary.paths import (
    AMOUNT,
    MIDNIGHT_UTC,
    TAG_IDS,
    ApiPath,
    Conversion,
    NoPath,
)
from bot.conversation.vocabulary.steps import DependsOn, Fixed, Flow, Step, Submit, answer_in
from bot.referrals import catalogs, limits
from bot.referrals.catalogs import SolutionType
from bot.referrals.lookup import Catalog

PRIVATE = "private"
PARTNER_LED = "partner_led"
CO_SELL = "co_sell"
SERVICES_CO_SELL = "services_co_sell"

DEAL_KIND_LABELS = {
    PRIVATE: "Private lead (not shared with Microsoft)",
    PARTNER_LED: "Partner-led co-sell (shared with Microsoft sellers, no help asked)",
    CO_SELL: "Co-sell with Microsoft's help",
    SERVICES_CO_SELL: "Services co-sell (a service need, with Microsoft's help)",
}
DEAL_KINDS: Catalog[str] = Catalog(
    "kind of deal",
    tuple(DEAL_KIND_LABELS),
    labels=DEAL_KIND_LABELS,
    aliases={
        **{label: kind for kind, label in DEAL_KIND_LABELS.items()},
        "private lead": PRIVATE,
        "lead": PRIVATE,
        "partner led": PARTNER_LED,
        "partner-led co-sell": PARTNER_LED,
        "co-sell": CO_SELL,
        "cosell": CO_SELL,
        "co-sell with microsoft": CO_SELL,
        "services": SERVICES_CO_SELL,
        "services co-sell": SERVICES_CO_SELL,
    },
)

SHARED_KINDS = (PARTNER_LED, CO_SELL, SERVICES_CO_SELL)
MICROSOFT_HELP_KINDS = (CO_SELL, SERVICES_CO_SELL)

shared = answer_in("deal_kind", *SHARED_KINDS)
microsoft_helps = answer_in("deal_kind", *MICROSOFT_HELP_KINDS)
services = answer_in("deal_kind", SERVICES_CO_SELL)
# Microsoft's own connectors refuse to share a co-sell without a solution attached; a
# services co-sell is the documented exception.
solution_required = answer_in("deal_kind", CO_SELL)

HELP_TYPE_LABELS = {
    "GeneralOrOther": "General or other help",
    "CustomerTechnicalArchitecture": "Technical architecture for the customer",
    "ProofOfConceptOrDemo": "A proof of concept or demo",
    "QuotesOrLicensing": "Quotes or licensing",
    "PostSalesCustomerSuccess": "Customer success after the sale",
    "WorkloadSpecificValueProposition": "A value proposition for a specific workload",
}
HELP_TYPES: Catalog[str] = Catalog(
    "kind of help",
    tuple(HELP_TYPE_LABELS),
    labels=HELP_TYPE_LABELS,
    aliases={
        **{label: code for code, label in HELP_TYPE_LABELS.items()},
        "general": "GeneralOrOther",
        "other": "GeneralOrOther",
        "architecture": "CustomerTechnicalArchitecture",
        "technical architecture": "CustomerTechnicalArchitecture",
        "proof of concept": "ProofOfConceptOrDemo",
        "poc": "ProofOfConceptOrDemo",
        "demo": "ProofOfConceptOrDemo",
        "quotes": "QuotesOrLicensing",
        "licensing": "QuotesOrLicensing",
        "customer success": "PostSalesCustomerSuccess",
        "value proposition": "WorkloadSpecificValueProposition",
    },
)
assert set(HELP_TYPES) == {c.value for c in catalogs.AssistanceRequestCode} - {"Unknown"}


def _kind_label(value: object) -> str:
    return DEAL_KINDS.label(str(value))


CONTACT = "/customerProfile/team/0"
"""The customer's contact: the first member of the customer's team."""
REQUIREMENTS = "/details/requirements"
SERVICES_NEED = f"{REQUIREMENTS}/additionalRequirements"
"""Partner role, solution area and play: sent only for a services co-sell (steps asked only
then)."""

SOLUTION_ID = re.compile(r"^(SOL|DEAL)-", re.IGNORECASE)


def _solution_tags(answer: Any) -> Any:
    return [
        {"id": value.upper(), "type": SolutionType.NAME.value}
        if SOLUTION_ID.match(value)
        else {
            "id": value,
            "name": catalogs.SOLUTIONS.label(value),
            "type": SolutionType.CATEGORY.value,
        }
        for value in answer
    ]


def _solution_ids(value: Any) -> Any:
    ids = [tag["id"] for tag in value if isinstance(tag, dict) and tag.get("id")]
    return ids or None


SOLUTION_TAGS = Conversion(_solution_tags, _solution_ids)
"""Solution categories by name, a partner's own solutions (SOL-…, DEAL-…) by id."""


FLOW = Flow(
    name="new",
    title="New referral",
    submit=Submit.CREATE_REFERRAL,
    steps=(
        one_of(
            "deal_kind",
            "Kind of deal",
            "What kind of deal is this?",
            Fixed(DEAL_KINDS),
            display=_kind_label,
            help="Private stays with you; the others are shared with Microsoft sellers, "
            "and once shared a referral cannot be made private again.",
            fills=NoPath(
                "the referral type, the sharing consent and whether Microsoft is asked for help "
                "follow from it (bot.conversation.vocabulary.to_api)"
            ),
        ),
        Step(
            "name",
            "Referral name",
            "What should we call this referral?",
            InputKind.TEXT,
            parsers.text("The referral name", limits.REFERRAL_NAME),
            placeholder="Contoso - Dynamics 365 rollout",
            fills=ApiPath("/name", updatable=True),
        ),
        Step(
            "customer_name",
            "Customer",
            "What is the customer organization called?",
            InputKind.TEXT,
            parsers.text("The customer name", limits.CUSTOMER_NAME),
            fills=ApiPath("/customerProfile/name", updatable=True),
        ),
        Step(
            "address_line1",
            "Address",
            "The customer's street address?",
            InputKind.TEXT,
            parsers.text("The address", limits.ADDRESS_LINE),
            fills=ApiPath("/customerProfile/address/addressLine1"),
        ),
        Step(
            "address_line2",
            "Address line 2",
            "Anything more for the address (suite, floor)?",
            InputKind.TEXT,
            parsers.text("The second address line", limits.ADDRESS_LINE),
            required=False,
            fills=ApiPath("/customerProfile/address/addressLine2", unanswered=""),
        ),
        Step(
            "city",
            "City",
            "Which city?",
            InputKind.TEXT,
            parsers.text("The city", limits.CITY),
            fills=ApiPath("/customerProfile/address/city"),
        ),
        Step(
            "state",
            "State or region",
            "Which state or region?",
            InputKind.TEXT,
            parsers.text("The state or region", limits.STATE),
            fills=ApiPath("/customerProfile/address/state"),
        ),
        Step(
            "postal_code",
            "Postal code",
            "The postal code?",
            InputKind.TEXT,
            parsers.text("The postal code", limits.POSTAL_CODE),
            fills=ApiPath("/customerProfile/address/postalCode"),
        ),
        Step(
            "country",
            "Country",
            "Which country? (a name or a two-letter code)",
            InputKind.COUNTRY,
            parsers.country,
            choices=Fixed(catalogs.COUNTRIES),
            display=lambda code: f"{catalogs.COUNTRIES.label(str(code))} ({code})",
            fills=ApiPath("/customerProfile/address/country"),
        ),
        one_of(
            "customer_size",
            "Customer size",
            "How many employees does the customer have?",
            Fixed(catalogs.CUSTOMER_SIZES),
            display=lambda size: catalogs.CUSTOMER_SIZES.label(str(size)),
            fills=ApiPath("/customerProfile/size"),
        ),
        Step(
            "contact_first_name",
            "Contact first name",
            "Who is your contact at the customer? First name:",
            InputKind.TEXT,
            parsers.text("The first name", limits.PERSON_NAME),
            required=shared,
            fills=ApiPath(f"{CONTACT}/firstName", unanswered=""),
        ),
        Step(
            "contact_last_name",
            "Contact last name",
            "Their last name?",
            InputKind.TEXT,
            parsers.text("The last name", limits.PERSON_NAME),
            required=shared,
            fills=ApiPath(f"{CONTACT}/lastName", unanswered=""),
        ),
        Step(
            "contact_email",
            "Contact email",
            "Their email address?",
            InputKind.EMAIL,
            parsers.email,
            required=shared,
            fills=ApiPath(f"{CONTACT}/email", unanswered=""),
        ),
        Step(
            "contact_phone",
            "Contact phone",
            "Their phone number?",
            InputKind.PHONE,
            parsers.phone,
            required=False,
            fills=ApiPath(f"{CONTACT}/phoneNumber", unanswered=""),
        ),
        Step(
            "deal_value",
            "Deal value",
            "What is the deal worth? (e.g. 50k, 120,000, USD 75000)",
            InputKind.MONEY,
            parsers.money,
            derive=parsers.money_currency,
            display=parsers.show_amount,
            fills=ApiPath("/details/dealValue", AMOUNT, updatable=True),
        ),
        Step(
            "currency",
            "Currency",
            "In which currency? (e.g. USD, euro)",
            InputKind.CURRENCY,
            parsers.currency,
            choices=Fixed(catalogs.CURRENCIES),
            fills=ApiPath("/details/currency", updatable=True),
        ),
        Step(
            "closing_date",
            "Closing date",
            "When do you expect to close? (e.g. 2026-12-31, in 30 days, end of quarter)",
            InputKind.DATE,
            parsers.future_date,
            fills=ApiPath("/details/closingDateTime", MIDNIGHT_UTC, updatable=True),
        ),
        Step(
            "notes",
            "Notes",
            "What does the customer need? A few sentences for whoever reads this.",
            InputKind.LONG_TEXT,
            parsers.long_text("The notes", limits.NOTES),
            required=False,
            fills=ApiPath("/details/notes", unanswered="", updatable=True),
        ),
        any_of(
            "industries",
            "Industries",
            "Which industries?",
            Fixed(catalogs.INDUSTRIES),
            required=False,
            fills=ApiPath(f"{REQUIREMENTS}/industries", TAG_IDS, unanswered=[], updatable=True),
        ),
        any_of(
            "products",
            "Products",
            "Which Microsoft products?",
            Fixed(catalogs.PRODUCTS),
            required=False,
            fills=ApiPath(f"{REQUIREMENTS}/products", TAG_IDS, unanswered=[], updatable=True),
        ),
        any_of(
            "services",
            "Services",
            "Which services will you provide?",
            Fixed(catalogs.SERVICES),
            required=False,
            fills=ApiPath(f"{REQUIREMENTS}/services", TAG_IDS, unanswered=[], updatable=True),
        ),
        Step(
            "solutions",
            "Solutions",
            "Which solutions? Pick categories, or give your solution ids (SOL-…, DEAL-…).",
            InputKind.MULTI,
            parsers.solutions,
            choices=Fixed(catalogs.SOLUTIONS),
            required=solution_required,
            help="A co-sell with Microsoft's help needs at least one of your co-sell ready "
            "solutions; otherwise this is optional.",
            fills=ApiPath(f"{REQUIREMENTS}/solutions", SOLUTION_TAGS, unanswered=[]),
        ),
        one_of(
            "partner_role",
            "Partner role",
            "What is your role in this services deal?",
            Fixed(catalogs.PARTNER_ROLES),
            when=services,
            fills=ApiPath(f"{SERVICES_NEED}/partnerRole"),
        ),
        one_of(
            "solution_area",
            "Solution area",
            "Which solution area?",
            Fixed(catalogs.SOLUTION_AREAS),
            when=services,
            fills=ApiPath(f"{SERVICES_NEED}/solutionArea"),
        ),
        one_of(
            "solution_play",
            "Solution play",
            "Which solution play?",
            DependsOn("solution_area", catalogs.plays_for),
            when=services,
            fills=ApiPath(f"{SERVICES_NEED}/solutionPlay"),
        ),
        one_of(
            "help_type",
            "Help wanted",
            "What help do you want from Microsoft?",
            Fixed(HELP_TYPES),
            when=microsoft_helps,
            display=lambda code: HELP_TYPES.label(str(code)),
            fills=ApiPath("/inviteContext/assistanceRequestCode"),
        ),
        Step(
            "help_notes",
            "Notes for Microsoft",
            "Anything Microsoft's seller should know?",
            InputKind.LONG_TEXT,
            parsers.long_text("The notes for Microsoft", limits.NOTES),
            when=microsoft_helps,
            required=False,
            fills=ApiPath("/inviteContext/notes", unanswered=""),
        ),
        Step(
            "consent_share_info",
            "May share contact details",
            "May the customer's contact details be shared with the others working on this deal?",
            InputKind.YES_NO,
            parsers.yes_no,
            fills=ApiPath("/consent/consentToToShareInfoWithOthers"),
        ),
        Step(
            "consent_contact",
            "Customer agreed to be contacted",
            "Has the customer agreed to be contacted about this deal?",
            InputKind.YES_NO,
            parsers.yes_no,
            fills=ApiPath("/consent/consentToContact"),
        ),
        Step(
            "consent_partners",
            "Microsoft may bring in partners",
            "May Microsoft invite other partners to help with this deal?",
            InputKind.YES_NO,
            parsers.yes_no,
            when=shared,
            fills=ApiPath("/consent/consentToMicrosoftToContactSpecificPartners", unanswered=False),
        ),
        Step(
            "team",
            "Also on your team",
            "Anyone else from your company on this deal? (First Last <email>, comma-separated)",
            InputKind.TEXT,
            parsers.teammates,
            required=False,
            help="You are on the team already.",
            fills=ApiPath("/team", unanswered=[]),
        ),
    ),
)
