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
from bot.conversation.vocabulary import groups, parsers, values
from bot.conversation.vocabulary.flows.builders import any_of, one_of
from bot.conversation.vocabulary.inferences import currency_of_country
from bot.conversation.vocabulary.paths import (
    AMOUNT,
    MIDNIGHT_UTC,
    TAG_IDS,
    ApiPath,
    Conversion,
    NoPath,
)
from bot.conversation.vocabulary.steps import (
    ContextGiven,
    DependsOn,
    Filled,
    Fixed,
    Flow,
    Inference,
    Opened,
    ParseContext,
    Section,
    Step,
    Submit,
    answer_in,
    context_key,
)
from bot.referrals import catalogs, limits
from bot.referrals.catalogs import SolutionType
from bot.referrals.lookup import Catalog
from bot.referrals.models import Referral

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


def _show_solutions(answer: Any) -> str:
    """Categories by their names, a partner's own solutions by their ids."""
    return ", ".join(
        str(value) if SOLUTION_ID.match(str(value)) else catalogs.SOLUTIONS.label(str(value))
        for value in answer
    )


SOLUTION_TAGS = Conversion(_solution_tags, _solution_ids)
"""Solution categories by name, a partner's own solutions (SOL-…, DEAL-…) by id."""


NOTES = Step(
    "notes",
    "Notes",
    "What does the customer need? A few sentences for whoever reads this.",
    InputKind.LONG_TEXT,
    parsers.long_text("The notes", limits.NOTES),
    required=False,
    fills=ApiPath("/details/notes", unanswered="", updatable=True),
)

INDUSTRIES = any_of(
    "industries",
    "Industries",
    "Which industries?",
    Fixed(catalogs.INDUSTRIES),
    required=False,
    fills=ApiPath(f"{REQUIREMENTS}/industries", TAG_IDS, unanswered=[], updatable=True),
)

PRODUCTS = any_of(
    "products",
    "Products",
    "Which Microsoft products?",
    Fixed(catalogs.PRODUCTS),
    required=False,
    fills=ApiPath(f"{REQUIREMENTS}/products", TAG_IDS, unanswered=[], updatable=True),
)

SERVICES = any_of(
    "services",
    "Services",
    "Which services will you provide?",
    Fixed(catalogs.SERVICES),
    required=False,
    fills=ApiPath(f"{REQUIREMENTS}/services", TAG_IDS, unanswered=[], updatable=True),
)

SOLUTIONS = Step(
    "solutions",
    "Solutions",
    "Which solutions? Pick categories, or give your solution ids (SOL-…, DEAL-…).",
    InputKind.MULTI,
    parsers.solutions,
    choices=Fixed(catalogs.SOLUTIONS),
    display=_show_solutions,
    required=solution_required,
    help="A co-sell with Microsoft's help needs at least one of your co-sell ready "
    "solutions; otherwise this is optional.",
    fills=ApiPath(f"{REQUIREMENTS}/solutions", SOLUTION_TAGS, unanswered=[]),
)

HELP_NOTES = Step(
    "help_notes",
    "Notes for Microsoft",
    "Anything Microsoft's seller should know?",
    InputKind.LONG_TEXT,
    parsers.long_text("The notes for Microsoft", limits.NOTES),
    when=microsoft_helps,
    required=False,
    fills=ApiPath("/inviteContext/notes", unanswered=""),
)

TEAM = Step(
    "team",
    "Also on your team",
    "Anyone else from your company on this deal? (First Last <email>, comma-separated)",
    InputKind.TEXT,
    parsers.teammates,
    required=False,
    help="You are on the team already.",
    fills=ApiPath("/team", unanswered=[]),
)

EXTRAS = groups.Offered((NOTES, INDUSTRIES, PRODUCTS, SERVICES, SOLUTIONS, HELP_NOTES, TEAM))
"""The optional questions offered together, once: most referrals need none of them."""

CONSENTS = (
    groups.Flag("consent_share_info", ("share", "details", "share details", "contact details")),
    groups.Flag("consent_contact", ("contact", "contacted", "be contacted")),
    groups.Flag("consent_partners", ("partners", "other partners"), asked=shared),
)
CONSENT_WORDS = {
    "consent_share_info": "their contact details shared with those working on the deal",
    "consent_contact": "being contacted about it",
    "consent_partners": "Microsoft bringing in other partners",
}


def _consents_summary(answers: Any) -> str | None:
    said = [
        f"{CONSENT_WORDS[flag.step]}: {'yes' if answers[flag.step] else 'no'}"
        for flag in CONSENTS
        if isinstance(answers.get(flag.step), bool)
    ]
    return "; ".join(said) if said else None


def _private_keeps_partners_out(answers: Any) -> bool | None:
    """A private lead is not shared with Microsoft: Microsoft brings in nobody."""
    return False if answers.get("deal_kind") == PRIVATE else None


def _partners_consent(raw: str, ctx: ParseContext) -> Any:
    agreed = values.parse_yes_no(raw)
    if agreed and ctx.answers.get("deal_kind") == PRIVATE:
        raise values.InvalidAnswer(
            "A private lead is not shared with Microsoft, so Microsoft cannot bring in partners.",
            hint="Answer no, or change the kind of deal.",
        )
    return agreed


KNOWN_CUSTOMER = context_key("known_customer")
"""Where the engine keeps an earlier referral of the customer the seller named."""
KNOWN_FIELDS = (*groups.ADDRESS_FIELDS, "customer_size", *groups.CONTACT_FIELDS.values())
"""What an earlier referral of the same customer can answer."""


def known_customer(referral: Referral) -> dict[str, Any] | None:
    """What the draft keeps of an earlier referral of the customer the seller named: its
    name, when it was created, and the answers it gives for :data:`KNOWN_FIELDS` (None when
    it gives none)."""
    answers = {}
    for step_id in KNOWN_FIELDS:
        value = FLOW.step(step_id).current(referral)
        if value not in (None, ""):
            answers[step_id] = value
    if not answers:
        return None
    created = referral.created_date_time
    return {
        "id": referral.id,
        "name": referral.name,
        "customer": referral.customer_profile.name if referral.customer_profile else None,
        "created": created.date().isoformat() if created is not None else None,
        "answers": answers,
    }


def _known(answers: Any) -> dict[str, Any]:
    found = answers.get(KNOWN_CUSTOMER)
    return found if isinstance(found, dict) else {}


def _same_customer_question(answers: Any) -> str:
    found = _known(answers)
    given = found.get("answers") or {}
    size = given.get("customer_size")
    said = [
        groups.address_summary(given),
        catalogs.CUSTOMER_SIZES.label(str(size)) if size else None,
        groups.contact_summary(given),
    ]
    customer = found.get("customer") or "this customer"
    when = f" of {found['created']}" if found.get("created") else ""
    name = found.get("name")
    called = f" ({name})" if name and name != customer else ""
    details = "; ".join(part for part in said if part)
    return (
        f"Same as {customer}'s referral{when}{called}? It has: {details}. "
        "Yes copies these here; no asks them."
    )


def _same_customer(raw: str, ctx: ParseContext) -> Filled:
    if not values.parse_yes_no(raw):
        return Filled({})
    given = dict(_known(ctx.answers).get("answers") or {})
    # What it lacks and is optional (a second address line) is not asked either.
    lacking = tuple(
        step_id
        for step_id in KNOWN_FIELDS
        if step_id not in given and not FLOW.step(step_id).is_required(ctx.answers)
    )
    return Filled(given, lacking)


def _opening(words: str, ctx: ParseContext) -> Opened:
    """``/referral new Contoso 50k USD by 2027-03-31``: the customer (and the referral's
    name), the value, its currency and the closing date."""
    read = values.parse_opening(words, today=ctx.today)
    answers: dict[str, Any] = {}
    if read.name:
        answers["name"] = read.name
    if read.customer:
        answers["customer_name"] = read.customer
    if read.amount is not None:
        answers["deal_value"] = str(read.amount)
    if read.currency:
        answers["currency"] = read.currency
    if read.closing is not None:
        answers["closing_date"] = read.closing.isoformat()
    return Opened(answers, read.unread)


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
            lookup="known_customer",
            fills=ApiPath("/customerProfile/name", updatable=True),
        ),
        Step(
            "same_customer",
            "Same customer as before",
            "Same customer as one of your earlier referrals?",
            InputKind.YES_NO,
            _same_customer,
            ask=_same_customer_question,
            when=ContextGiven(KNOWN_CUSTOMER, "customer_name"),
            required=False,
            help="Yes copies its address, size and contact here, where you can still change "
            "them; no asks them.",
            fills=NoPath("copies the earlier referral's address, size and contact"),
        ),
        Step(
            "address",
            "Address",
            "The customer's address? One answer is fine: street, city, state, postal code and "
            "country (1 Main St, Seattle, WA 98101, US).",
            InputKind.LONG_TEXT,
            groups.address,
            required=False,
            covers=groups.ADDRESS_FIELDS,
            summary=groups.address_summary,
            placeholder="1 Main St, Seattle, WA 98101, US",
            fills=NoPath("the address steps it covers"),
        ),
        Step(
            "address_line1",
            "Street",
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
            "contact",
            "Contact",
            "Who is your contact at the customer? Name, email and phone in one answer is fine "
            "(Ada Lovelace <ada@fabrikam.com> +1 206 555 0100).",
            InputKind.TEXT,
            groups.contact,
            required=False,
            covers=tuple(groups.CONTACT_FIELDS.values()),
            summary=groups.contact_summary,
            placeholder="Ada Lovelace <ada@fabrikam.com> +1 206 555 0100",
            fills=NoPath("the contact steps it covers"),
        ),
        Step(
            "contact_first_name",
            "Contact first name",
            "Your contact's first name?",
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
            infer=Inference(currency_of_country("country"), "from the customer's country"),
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
            "extras",
            "More details",
            "Add notes, industries, products, services, solutions or teammates? Pick the ones "
            "to add, or none.",
            InputKind.MULTI,
            groups.offer(EXTRAS),
            choices=EXTRAS,
            required=False,
            covers=tuple(step.id for step in EXTRAS.steps),
            declined=groups.declined(EXTRAS),
            fills=NoPath("asks which of the optional steps it covers to ask"),
        ),
        NOTES,
        INDUSTRIES,
        PRODUCTS,
        SERVICES,
        SOLUTIONS,
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
        HELP_NOTES,
        Step(
            "consents",
            "Consents",
            "What has the customer agreed to?",
            InputKind.TEXT,
            groups.consents(*CONSENTS),
            ask=groups.consent_question(
                "What has the customer agreed to?", CONSENTS, CONSENT_WORDS
            ),
            required=False,
            covers=tuple(flag.step for flag in CONSENTS),
            summary=_consents_summary,
            fills=NoPath("the consent steps it covers"),
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
            _partners_consent,
            depends_on=("deal_kind",),
            infer=Inference(
                _private_keeps_partners_out, "a private lead is not shared with Microsoft"
            ),
            fills=ApiPath("/consent/consentToMicrosoftToContactSpecificPartners", unanswered=False),
        ),
        TEAM,
    ),
    sections=(
        Section(
            "the_deal",
            "The deal",
            ("deal_kind", "name", "deal_value", "currency", "closing_date", "notes"),
        ),
        Section("the_customer", "The customer", ("customer_name", "address", "customer_size")),
        Section("the_contact", "Their contact", ("contact",)),
        Section(
            "needs",
            "What they need",
            (
                "industries",
                "products",
                "services",
                "solutions",
                "partner_role",
                "solution_area",
                "solution_play",
            ),
        ),
        Section("microsoft", "Microsoft's help", ("help_type", "help_notes")),
        Section("sharing", "What is shared", ("consents",)),
        Section("your_team", "Your team", ("team",), seller=True),
    ),
    opening=_opening,
)
