"""``/referral register ID``: ask for a deal registration of a co-sell referral.

A registration is the value Partner Center's ``add /registrations/-`` PATCH takes: its type,
the contract (value, currency, sign, start and end dates, term) and, for each of the
referral's solutions it covers, how that solution is deployed, priced, valued and
transacted. Each step names the path it fills under ``/registrations/-``;
:func:`bot.conversation.vocabulary.to_api.registration` builds the registration from them
and adds the solutions' ids, slot by slot, in the order they were picked.

A draft starts prefilled from its referral (:func:`prefill`): the type and the term have a
single documented value, the contract value and currency are the referral's deal value and
currency, and a referral with a single solution has it picked. Those are not asked but show
on the review, where they can be edited.

Up to :data:`MAX_REGISTERED_SOLUTIONS` solutions: the questions of slot N apply when at
least N solutions were picked, and name the solution they ask about. Diagram:
``docs/flows/register.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from bot.conversation.views import InputKind
from bot.conversation.vocabulary import parsers, values
from bot.conversation.vocabulary.flows.builders import one_of
from bot.conversation.vocabulary.parsers import Earlier
from bot.conversation.vocabulary.paths import (
    AMOUNT,
    AS_IS,
    MIDNIGHT_UTC,
    ApiPath,
    Conversion,
    NoPath,
)
from bot.conversation.vocabulary.steps import (
    Answers,
    Fixed,
    Flow,
    FromAnswers,
    PickedAtLeast,
    Step,
    Submit,
    all_of,
    answered_yes,
    context_key,
)
from bot.referrals import catalogs
from bot.referrals.catalogs import SolutionType
from bot.referrals.lookup import Catalog
from bot.referrals.models import Referral

T = TypeVar("T")

REGISTRATION = "/registrations/-"
"""The registration this flow adds: appended to the referral's registrations."""
CONTRACT = f"{REGISTRATION}/contract"
SOLUTION_DETAILS = f"{REGISTRATION}/solutionDetails"

MAX_REGISTERED_SOLUTIONS = 5
"""Solutions one registration may cover here: each has its own slot of questions."""

TYPE = "registration_type"
VALUE = "registration_value"
CURRENCY = "registration_currency"
SIGN_DATE = "registration_sign_date"
START_DATE = "registration_start_date"
END_DATE = "registration_end_date"
TERM = "registration_term"
PICKED = "registration_solutions"
REFERRAL_SOLUTIONS = context_key("referral_solutions")
"""The referral's own solutions, ``[{"id", "name"}]``, set when the draft starts: what the
solutions question offers and the names the slot questions use. Context, not an answer."""

AZURE_IP_CO_SELL = "AzureIPCoSell"
FINITE = "Finite"
PARTNER = "Partner"
OTHER = "Other"

# Partner Center documents only AzureIPCoSell; the full list of registration types is unknown.
REGISTRATION_TYPES: Catalog[str] = Catalog(
    "registration type", (AZURE_IP_CO_SELL,), labels={AZURE_IP_CO_SELL: "Azure IP co-sell"}
)
# Partner Center documents only Finite; the full list of contract terms is unknown.
TERMS: Catalog[str] = Catalog("contract term", (FINITE,))
# Partner Center documents only Partner; the full list of primary deployments is unknown.
DEPLOYMENTS: Catalog[str] = Catalog("primary deployment", (PARTNER,))
# Partner Center documents only Other; the full list of pricing models is unknown.
PRICING_MODELS: Catalog[str] = Catalog("pricing model", (OTHER,))

SOLUTION_CHOICES = FromAnswers(REFERRAL_SOLUTIONS, "solution")
"""The solutions question's choices: the referral's own solutions."""


def registrable_solutions(referral: Referral) -> list[dict[str, str]]:
    """The referral's solutions a registration may cover, as ``{"id", "name"}``, each once:
    every solution it lists with an id, but categories (a category names a kind of need,
    not one of the partner's solutions)."""
    details = referral.details
    requirements = details.requirements if details is not None else None
    tags = requirements.solutions if requirements is not None else None
    solutions: dict[str, dict[str, str]] = {}
    for tag in tags or ():
        if tag.id and tag.type != SolutionType.CATEGORY and tag.id not in solutions:
            solutions[tag.id] = {"id": tag.id, "name": tag.name or tag.id}
    return list(solutions.values())


def prefill(referral: Referral) -> dict[str, Any]:
    """The answers a draft on ``referral`` starts with: the only documented type and term,
    the referral's deal value and currency when they are valid answers, its solutions (as
    context) and, when it has a single one, that one picked."""
    solutions = registrable_solutions(referral)
    answers: dict[str, Any] = {
        TYPE: AZURE_IP_CO_SELL,
        TERM: FINITE,
        REFERRAL_SOLUTIONS: solutions,
        **_deal_value(referral),
    }
    if len(solutions) == 1:
        answers[PICKED] = [solutions[0]["id"]]
    return answers


def _deal_value(referral: Referral) -> dict[str, Any]:
    """The contract value and currency answers the referral's details give, each only when
    it is one the step would accept (a zero deal value is asked instead)."""
    details = referral.details
    if details is None:
        return {}
    found = {
        VALUE: _valid(values.parse_money, details.deal_value, lambda money: str(money.amount)),
        CURRENCY: _valid(values.parse_currency, details.currency, str),
    }
    return {step_id: answer for step_id, answer in found.items() if answer is not None}


def _valid(parse: Callable[[str], T], given: object, answer: Callable[[T], str]) -> str | None:
    """``given`` read by ``parse`` and stored as ``answer`` makes it; None when it is absent
    or refused."""
    if given is None or given == "":
        return None
    # format(..., "f") writes a Decimal without an exponent ("1E+5" is no amount to parse).
    text = format(given, "f") if isinstance(given, Decimal) else str(given)
    try:
        return answer(parse(text))
    except values.InvalidAnswer:
        return None


def picked_solutions(answers: Answers) -> list[str]:
    """The ids of the solutions picked, in slot order; empty while none are."""
    picked = answers.get(PICKED)
    return [str(item) for item in picked] if isinstance(picked, list | tuple) else []


def solution_name(answers: Answers, solution_id: str) -> str:
    """How the referral names one of its solutions; the id when it names it no other way."""
    listed = answers.get(REFERRAL_SOLUTIONS)
    for solution in listed if isinstance(listed, list) else ():
        if isinstance(solution, dict) and solution.get("id") == solution_id:
            return str(solution.get("name") or solution_id)
    return solution_id


@dataclass(frozen=True, slots=True)
class Slot:
    """The questions about the ``number``-th picked solution (from 1): its step ids, labels
    and paths, and the solution they ask about."""

    number: int

    def id(self, name: str) -> str:
        """A step id of this slot (``solution_2_value``)."""
        return f"solution_{self.number}_{name}"

    def label(self, name: str) -> str:
        """A label of this slot, distinct on the review (``Solution 2 value``)."""
        return f"Solution {self.number} {name}"

    def path(self, field: str, convert: Conversion = AS_IS) -> ApiPath:
        """The path a field of this slot's solution detail fills."""
        return ApiPath(f"{SOLUTION_DETAILS}/{self.number - 1}/{field}", convert)

    def solution(self, answers: Answers) -> str | None:
        """The id of the solution picked for this slot; None when fewer were picked."""
        picked = picked_solutions(answers)
        return picked[self.number - 1] if len(picked) >= self.number else None

    def ask(self, words: str) -> Callable[[Answers], str]:
        """A question naming this slot's solution: ``words`` with ``{name}`` in it."""

        def question(answers: Answers) -> str:
            solution = self.solution(answers)
            name = solution_name(answers, solution) if solution else f"solution {self.number}"
            return words.format(name=name)

        return question


def slot_steps(slot: Slot) -> tuple[Step, ...]:
    """The questions about one picked solution, asked when at least ``slot.number`` were
    picked; an answer is about the solution picked for its slot, and dropped when another
    solution takes the slot."""
    applies = PickedAtLeast(PICKED, slot.number)
    transacted = slot.id("marketplace")
    about = slot.solution
    return (
        Step(
            slot.id("on_azure"),
            slot.label("on Azure"),
            "Is this solution deployed on Azure?",
            InputKind.YES_NO,
            parsers.yes_no,
            when=applies,
            ask=slot.ask("Is {name} deployed on Azure?"),
            about=about,
            fills=slot.path("isDeployedOnAzure"),
        ),
        one_of(
            slot.id("deployment"),
            slot.label("primary deployment"),
            "Where is this solution mainly deployed?",
            Fixed(DEPLOYMENTS),
            when=applies,
            ask=slot.ask("Where is {name} mainly deployed?"),
            about=about,
            fills=slot.path("primaryDeploymentOn"),
        ),
        one_of(
            slot.id("pricing"),
            slot.label("pricing model"),
            "What is this solution's pricing model?",
            Fixed(PRICING_MODELS),
            when=applies,
            ask=slot.ask("What is the pricing model of {name}?"),
            about=about,
            fills=slot.path("pricingModel"),
        ),
        Step(
            slot.id("value"),
            slot.label("value"),
            "What is this solution worth in the deal? (e.g. 250k, USD 250,000)",
            InputKind.MONEY,
            parsers.money,
            when=applies,
            derive=parsers.currency_of(slot.id("currency")),
            display=parsers.show_amount,
            ask=slot.ask("What is {name} worth in the deal? (e.g. 250k, USD 250,000)"),
            about=about,
            fills=slot.path("value", AMOUNT),
        ),
        Step(
            slot.id("currency"),
            slot.label("currency"),
            "In which currency is this solution's value?",
            InputKind.CURRENCY,
            parsers.currency,
            when=applies,
            choices=Fixed(catalogs.CURRENCIES),
            ask=slot.ask("In which currency is the value of {name}?"),
            about=about,
            fills=slot.path("currency"),
        ),
        Step(
            transacted,
            slot.label("on marketplace"),
            "Was this solution transacted through the commercial marketplace?",
            InputKind.YES_NO,
            parsers.yes_no,
            when=applies,
            ask=slot.ask("Was {name} transacted through the commercial marketplace?"),
            about=about,
            fills=slot.path("marketplaceTransactionDetails/isMarketplaceTransacted"),
        ),
        Step(
            slot.id("marketplace_date"),
            slot.label("marketplace date"),
            "When was this solution transacted on the marketplace?",
            InputKind.DATE,
            parsers.past_date,
            when=all_of(applies, answered_yes(transacted)),
            ask=slot.ask("When was {name} transacted on the marketplace?"),
            about=about,
            fills=slot.path(
                "marketplaceTransactionDetails/marketplaceTransactionDateTime", MIDNIGHT_UTC
            ),
        ),
    )


CONTRACT_STEPS: tuple[Step, ...] = (
    one_of(
        TYPE,
        "Registration type",
        "What kind of deal registration is this?",
        Fixed(REGISTRATION_TYPES),
        display=lambda code: REGISTRATION_TYPES.label(str(code)),
        fills=ApiPath(f"{REGISTRATION}/type"),
    ),
    Step(
        VALUE,
        "Contract value",
        "What is the contract worth? (e.g. 250k, USD 250,000)",
        InputKind.MONEY,
        parsers.money,
        derive=parsers.currency_of(CURRENCY),
        display=parsers.show_amount,
        fills=ApiPath(f"{CONTRACT}/value", AMOUNT),
    ),
    Step(
        CURRENCY,
        "Contract currency",
        "In which currency is the contract? (e.g. USD, euro)",
        InputKind.CURRENCY,
        parsers.currency,
        choices=Fixed(catalogs.CURRENCIES),
        fills=ApiPath(f"{CONTRACT}/currency"),
    ),
    Step(
        SIGN_DATE,
        "Sign date",
        "When was the contract signed? (e.g. 2026-02-12)",
        InputKind.DATE,
        parsers.any_date,
        fills=ApiPath(f"{CONTRACT}/signDateTime", MIDNIGHT_UTC),
    ),
    Step(
        START_DATE,
        "Start date",
        "When does the contract start?",
        InputKind.DATE,
        parsers.ordered_date(Earlier(SIGN_DATE, "The start date cannot be before the sign date")),
        depends_on=(SIGN_DATE,),
        fills=ApiPath(f"{CONTRACT}/startDateTime", MIDNIGHT_UTC),
    ),
    Step(
        END_DATE,
        "End date",
        "When does the contract end?",
        InputKind.DATE,
        # The start date first: when answered, it is the later bound of the two.
        parsers.ordered_date(
            Earlier(START_DATE, "The end date must be after the start date", gap_days=1),
            Earlier(SIGN_DATE, "The end date must be after the sign date", gap_days=1),
        ),
        depends_on=(SIGN_DATE, START_DATE),
        fills=ApiPath(f"{CONTRACT}/endDateTime", MIDNIGHT_UTC),
    ),
    one_of(
        TERM,
        "Contract term",
        "What is the contract's term?",
        Fixed(TERMS),
        fills=ApiPath(f"{CONTRACT}/term"),
    ),
    Step(
        PICKED,
        "Solutions to register",
        "Which of the referral's solutions does this registration cover?",
        InputKind.MULTI,
        parsers.among(SOLUTION_CHOICES, owner="this referral", max_items=MAX_REGISTERED_SOLUTIONS),
        choices=SOLUTION_CHOICES,
        help=f"Up to {MAX_REGISTERED_SOLUTIONS}; a few questions follow about each.",
        fills=NoPath(
            "the picked solutions' ids fill the solution details, slot by slot "
            "(bot.conversation.vocabulary.to_api.registration)"
        ),
    ),
)

FLOW = Flow(
    name="register",
    title="Deal registration",
    submit=Submit.REQUEST_REGISTRATION,
    needs_referral=True,
    prefill=prefill,
    steps=(
        *CONTRACT_STEPS,
        *(
            step
            for number in range(1, MAX_REGISTERED_SOLUTIONS + 1)
            for step in slot_steps(Slot(number))
        ),
    ),
)
