"""``/referral register ID``: the deal registration a seller's answers fill, walked through the
state machine from a referral, down to the value of the ``add /registrations/-`` PATCH."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.conversation.runtime import machine
from bot.conversation.runtime.session import Session, Subject
from bot.conversation.views import Command, CommandName, Input, Notice, Prompt, Review, Seller, Text
from bot.conversation.vocabulary import to_api, values
from bot.conversation.vocabulary.flows import FLOWS, register
from bot.conversation.vocabulary.steps import ParseContext, listed_options
from bot.referrals.models import Referral
from bot.referrals.patch import JsonPatch
from tests.fixtures import partner_center

FLOW = FLOWS["register"]
TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
PLATFORM = "DEAL-123456-XYZ"
INSIGHTS = "SOL-15974-MQF"
TWO_SOLUTIONS = [
    {"id": PLATFORM, "name": "Contoso Experience Platform", "type": "Name"},
    {"id": INSIGHTS, "name": "Contoso Insights", "type": "Name"},
    # A category names a kind of need, not a solution of the partner's: never offered.
    {"id": "AdvancedAnalytics", "name": "Advanced Analytics", "type": "Category"},
]

CONTRACT_DATES = ["2026-02-12", "2026-02-12", "2026-02-28"]
PLATFORM_SLOT = ["yes", "Partner", "Other", "250k", "usd", "yes", "2026-02-11"]
INSIGHTS_SLOT = ["no", "partner", "other", "EUR 40,000", "no"]  # the amount names the currency
SEED_SHAPED = {
    "type": "AzureIPCoSell",
    "contract": {
        "currency": "USD",
        "endDateTime": "2026-02-28T00:00:00Z",
        "signDateTime": "2026-02-12T00:00:00Z",
        "startDateTime": "2026-02-12T00:00:00Z",
        "term": "Finite",
        "value": 250000,
    },
    "solutionDetails": [
        {
            "id": PLATFORM,
            "isDeployedOnAzure": True,
            "marketplaceTransactionDetails": {
                "isMarketplaceTransacted": True,
                "marketplaceTransactionDateTime": "2026-02-11T00:00:00Z",
            },
            "primaryDeploymentOn": "Partner",
            "pricingModel": "Other",
            "value": 250000,
            "currency": "USD",
        },
        {
            "id": INSIGHTS,
            "isDeployedOnAzure": False,
            "marketplaceTransactionDetails": {"isMarketplaceTransacted": False},
            "primaryDeploymentOn": "Partner",
            "pricingModel": "Other",
            "value": 40000,
            "currency": "EUR",
        },
    ],
}


def referral_wire(solutions: list[dict[str, Any]], **details: Any) -> dict[str, Any]:
    wire: dict[str, Any] = copy.deepcopy(partner_center("get_referral_response"))
    wire["details"].update({"dealValue": 250000, "currency": "USD", **details})
    wire["details"]["requirements"]["solutions"] = solutions
    return wire


def started(solutions: list[dict[str, Any]] = TWO_SOLUTIONS, **details: Any) -> Session:
    snapshot = referral_wire(solutions, **details)
    return machine.start(
        FLOW,
        Session(
            id="draft-1",
            flow="register",
            seller=Seller(user_id="U1"),
            subject=Subject(referral_id="r1", snapshot=snapshot),
            created_at=NOW,
            updated_at=NOW,
        ),
    )


def send(session: Session, message: Input | str) -> machine.Outcome:
    typed = Text(value=message) if isinstance(message, str) else message
    return machine.advance(FLOW, session, typed, today=TODAY, now=NOW)


def run(session: Session, messages: list[Input | str]) -> Session:
    for message in messages:
        outcome = send(session, message)
        assert outcome.refused is None, outcome.views
        assert outcome.session is not None
        session = outcome.session
    return session


def edit(label: str) -> Command:
    return Command(name=CommandName.EDIT, arg=label)


def refusal(session: Session, message: str) -> Prompt:
    outcome = send(session, message)
    assert outcome.refused is not None
    assert outcome.session == session
    prompt = outcome.views[-1]
    assert isinstance(prompt, Prompt)
    assert prompt.error is not None
    return prompt


def finished() -> Session:
    answers = [*CONTRACT_DATES, f"{PLATFORM}, {INSIGHTS}", *PLATFORM_SLOT, *INSIGHTS_SLOT]
    return run(started(), answers)


def review(session: Session) -> dict[str, str | None]:
    view = machine.current_view(FLOW, session, today=TODAY)
    assert isinstance(view, Review)
    return {line.step: line.value for line in view.lines}


def shape(value: Any) -> Any:
    """The keys of a JSON value, all the way down; lists by their first element."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


# -- the whole walk ---------------------------------------------------------------------------


def test_walking_the_flow_fills_the_seeds_registration() -> None:
    session = finished()

    assert session.current is None
    registration = to_api.registration(FLOW, session.answers)
    assert registration.to_wire() == SEED_SHAPED
    (seed,) = partner_center("register_deal_patch")
    assert shape(registration.to_wire()) == shape(seed["value"])
    patch = JsonPatch().append("/registrations", registration.to_wire())
    assert patch.to_wire()[0]["path"] == seed["path"]
    assert send(session, Command(name=CommandName.SUBMIT)).submit


def test_a_slot_question_names_its_solution() -> None:
    session = run(started(), [*CONTRACT_DATES, f"{INSIGHTS}, {PLATFORM}"])
    asked = send(session, "yes").views[-1]

    first = machine.current_view(FLOW, session, today=TODAY)
    assert isinstance(first, Prompt)
    assert first.question == "Is Contoso Insights deployed on Azure?"
    assert isinstance(asked, Prompt)
    assert asked.question == "Where is Contoso Insights mainly deployed?"
    assert FLOW.step("solution_1_on_azure").question == "Is this solution deployed on Azure?"


# -- what the referral answers ----------------------------------------------------------------


def test_prefilled_answers_are_not_asked_but_are_on_the_review() -> None:
    session = started()

    assert session.current == "registration_sign_date"
    lines = review(run(session, [Command(name=CommandName.REVIEW)]))
    assert lines["registration_type"] == "Azure IP co-sell"
    assert lines["registration_term"] == "Finite"
    assert lines["registration_value"] == "250,000"
    assert lines["registration_currency"] == "USD"
    assert register.REFERRAL_SOLUTIONS not in lines  # context, not an answer
    assert all(not key.startswith("@") for key in lines)
    editing = run(session, [edit("contract value"), "300k"])
    assert editing.answers["registration_value"] == "300000"


def test_a_referral_with_one_solution_has_it_picked() -> None:
    session = run(started(TWO_SOLUTIONS[:1]), CONTRACT_DATES)

    assert session.answers["registration_solutions"] == [PLATFORM]
    assert session.current == "solution_1_on_azure"  # the solutions question is not asked


def test_a_referral_without_a_deal_value_has_the_contract_value_asked() -> None:
    session = started(dealValue=None, currency=None)

    assert session.current == "registration_value"
    assert run(session, ["75k EUR"]).answers["registration_currency"] == "EUR"
    assert run(session, ["75k EUR"]).current == "registration_sign_date"


def test_an_amount_with_a_currency_replaces_the_prefilled_currency() -> None:
    session = run(started(), [edit("contract value"), "75k EUR"])

    assert session.answers["registration_value"] == "75000"
    assert session.answers["registration_currency"] == "EUR"


def test_prefill_reads_only_valid_answers_from_the_referral() -> None:
    referral = Referral.from_wire(referral_wire(TWO_SOLUTIONS, dealValue=0, currency="XXY"))

    answers = register.prefill(referral)

    assert "registration_value" not in answers  # zero is no contract value
    assert "registration_currency" not in answers
    assert [s["id"] for s in answers[register.REFERRAL_SOLUTIONS]] == [PLATFORM, INSIGHTS]
    assert "registration_solutions" not in answers  # two to choose from


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "typed", "says"),
    [
        (["2026-02-12"], "2026-02-11", "The start date cannot be before the sign date"),
        (CONTRACT_DATES[:2], "2026-02-01", "The end date must be after the start date"),
        (CONTRACT_DATES[:2], "2026-02-12", "The end date must be after the start date"),
        ([], "31/02/2026", "is not a real date"),
    ],
)
def test_dates_out_of_order_are_refused(before: list[str], typed: str, says: str) -> None:
    session = run(started(), before)

    prompt = refusal(session, typed)

    assert prompt.step == session.current
    assert prompt.error is not None
    assert says in prompt.error


def test_an_unknown_solution_is_refused_naming_the_referrals_closest_first() -> None:
    session = run(started(), CONTRACT_DATES)

    prompt = refusal(session, "SOL-15974-MQX")

    assert prompt.error is not None
    assert '"SOL-15974-MQX" is not a known solution' in prompt.error
    assert prompt.error.endswith(
        "The solutions of this referral are: Contoso Insights (SOL-15974-MQF); "
        "Contoso Experience Platform (DEAL-123456-XYZ)."
    )
    assert [option.value for option in prompt.suggestions] == [INSIGHTS, PLATFORM]
    category = refusal(session, "AdvancedAnalytics")
    assert category.error is not None
    assert "AdvancedAnalytics" in category.error


def test_solutions_are_picked_by_number_or_name() -> None:
    session = run(started(), CONTRACT_DATES)

    assert run(session, ["2, 1"]).answers["registration_solutions"] == [INSIGHTS, PLATFORM]
    by_name = run(session, ["contoso insights"])
    assert by_name.answers["registration_solutions"] == [INSIGHTS]


@pytest.mark.parametrize(
    ("field", "typed", "says"),
    [
        ("contract value", "lots", '"lots" is not an amount.'),
        ("contract value", "0", '"0" is zero; an amount must be more than zero.'),
        ("contract value", "-5000", '"-5000" is negative; an amount must be more than zero.'),
        ("solution 2 value", "plenty", '"plenty" is not an amount.'),
        ("solution 2 value", "0.00", "is zero"),
        ("solution 1 marketplace date", "2026-03-03", "3 March 2026 is in the future."),
    ],
)
def test_a_bad_amount_or_date_is_reasked_with_a_specific_message(
    field: str, typed: str, says: str
) -> None:
    editing = run(finished(), [edit(field)])

    prompt = refusal(editing, typed)

    assert prompt.error is not None
    assert says in prompt.error


# -- answers that depend on others ------------------------------------------------------------


def test_editing_the_start_date_past_the_end_date_asks_the_end_date_again() -> None:
    outcome = send(run(finished(), [edit("start date")]), "2026-03-01")

    notice, prompt = outcome.views
    assert isinstance(notice, Notice)
    assert "End date" in notice.message
    assert isinstance(prompt, Prompt)
    assert prompt.step == "registration_end_date"
    assert outcome.session is not None
    assert "registration_end_date" not in outcome.session.answers
    with pytest.raises(ValueError, match="missing: End date"):
        to_api.registration(FLOW, outcome.session.answers)
    done = run(outcome.session, ["2026-03-31"])
    assert done.current is None
    contract = to_api.registration(FLOW, done.answers).contract
    assert contract is not None
    assert contract.end_date_time == datetime(2026, 3, 31, tzinfo=UTC)


def test_a_date_that_still_fits_is_kept() -> None:
    outcome = send(run(finished(), [edit("start date")]), "2026-02-20")

    assert outcome.session is not None
    assert outcome.session.answers["registration_end_date"] == "2026-02-28"
    assert isinstance(outcome.views[-1], Review)


def test_moving_the_sign_date_past_both_drops_both() -> None:
    outcome = send(run(finished(), [edit("sign date")]), "2026-03-01")

    assert outcome.session is not None
    answers = outcome.session.answers
    assert "registration_start_date" not in answers
    assert "registration_end_date" not in answers
    notice = outcome.views[0]
    assert isinstance(notice, Notice)
    assert "Start date, End date" in notice.message


# -- slots ------------------------------------------------------------------------------------


def applicable(session: Session) -> set[str]:
    return {step.id for step in FLOW.applicable(session.answers)}


def test_slot_two_applies_only_when_two_solutions_are_picked() -> None:
    one = run(started(), [*CONTRACT_DATES, PLATFORM])
    two = run(started(), [*CONTRACT_DATES, f"{PLATFORM}, {INSIGHTS}"])

    assert "solution_1_value" in applicable(one)
    assert not any(step.startswith("solution_2_") for step in applicable(one))
    assert {"solution_2_on_azure", "solution_2_value"} <= applicable(two)
    assert not any(step.startswith("solution_3_") for step in applicable(two))


def test_the_marketplace_date_is_asked_only_when_transacted() -> None:
    session = run(started(), [*CONTRACT_DATES, PLATFORM, *PLATFORM_SLOT[:5]])
    assert session.current == "solution_1_marketplace"

    transacted = run(session, ["yes"])
    not_transacted = run(session, ["no"])

    assert transacted.current == "solution_1_marketplace_date"
    assert not_transacted.current is None
    assert "solution_1_marketplace_date" not in review(not_transacted)
    (detail,) = to_api.registration(FLOW, not_transacted.answers).to_wire()["solutionDetails"]
    assert detail["marketplaceTransactionDetails"] == {"isMarketplaceTransacted": False}


def test_dropping_a_picked_solution_drops_its_slot() -> None:
    session = run(finished(), [edit("solutions to register"), PLATFORM])

    assert session.current is None
    assert not any(key.startswith("solution_2_") for key in session.answers)
    registration = to_api.registration(FLOW, session.answers).to_wire()
    assert registration["solutionDetails"] == SEED_SHAPED["solutionDetails"][:1]


def test_reordering_the_picks_asks_each_slot_about_its_new_solution() -> None:
    outcome = send(run(finished(), [edit("solutions to register")]), f"{INSIGHTS}, {PLATFORM}")

    assert outcome.session is not None
    assert not any(key.startswith("solution_") for key in outcome.session.answers)
    prompt = outcome.views[-1]
    assert isinstance(prompt, Prompt)
    assert prompt.question == "Is Contoso Insights deployed on Azure?"


def test_adding_a_solution_keeps_the_answers_about_the_others() -> None:
    one = run(started(), [*CONTRACT_DATES, PLATFORM, *PLATFORM_SLOT])

    two = run(one, [edit("solutions to register"), f"{PLATFORM}, {INSIGHTS}"])

    assert two.answers["solution_1_value"] == "250000"
    assert two.current == "solution_2_on_azure"


# -- the registration on its way out ----------------------------------------------------------


def test_the_registration_refuses_what_the_steps_would_have_refused() -> None:
    answers = dict(finished().answers)

    misordered = answers | {"registration_end_date": "2026-02-01"}
    with pytest.raises(ValueError, match=r"end date \(2026-02-01\) is not after the start date"):
        to_api.registration(FLOW, misordered)
    early = answers | {"registration_start_date": "2026-02-01"}
    with pytest.raises(ValueError, match=r"start date \(2026-02-01\) is before the sign date"):
        to_api.registration(FLOW, early)
    unanswered = {k: v for k, v in answers.items() if k != "solution_2_pricing"}
    with pytest.raises(ValueError, match="missing: Solution 2 pricing model"):
        to_api.registration(FLOW, unanswered)
    stranger = answers | {"registration_solutions": [PLATFORM, "SOL-OTHER"]}
    with pytest.raises(ValueError, match="Not solutions of this referral: SOL-OTHER"):
        to_api.registration(FLOW, stranger)
    too_many = answers | {"registration_solutions": [f"SOL-{n}" for n in range(6)]}
    with pytest.raises(ValueError, match="at most 5"):
        to_api.registration(FLOW, too_many)
    free = answers | {"solution_1_value": "0"}
    with pytest.raises(ValueError, match="Solution 1 value must be more than zero"):
        to_api.registration(FLOW, free)


def test_every_catalog_offers_its_single_documented_value() -> None:
    assert list(register.REGISTRATION_TYPES) == ["AzureIPCoSell"]
    assert list(register.TERMS) == ["Finite"]
    assert list(register.DEPLOYMENTS) == ["Partner"]
    assert list(register.PRICING_MODELS) == ["Other"]
    assert register.REGISTRATION_TYPES.lookup("azure ip co-sell") == "AzureIPCoSell"


def test_a_referrals_solutions_make_one_catalog_however_often_asked() -> None:
    answers = started().answers
    source = register.SOLUTION_CHOICES

    first, again = source.catalog(answers), source.catalog(dict(answers))

    assert first is not None
    assert first is again  # so listed_options finds it in its cache
    assert list(first) == [PLATFORM, INSIGHTS]
    assert listed_options.cache_info().maxsize is not None
    assert source.catalog({}) is None


# -- properties -------------------------------------------------------------------------------

DATES = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))


def context(**answers: str) -> ParseContext:
    return ParseContext(today=TODAY, answers=answers)


def accepts(step_id: str, day: date, **answers: str) -> bool:
    try:
        FLOW.step(step_id).parse(day.isoformat(), context(**answers))
    except values.InvalidAnswer:
        return False
    return True


@given(sign=DATES, start=DATES, end=DATES)
def test_dates_are_taken_exactly_when_ordered(sign: date, start: date, end: date) -> None:
    signed = {"registration_sign_date": sign.isoformat()}
    started_too = signed | {"registration_start_date": start.isoformat()}

    assert accepts("registration_sign_date", sign)
    assert accepts("registration_start_date", start, **signed) == (sign <= start)
    assert accepts("registration_end_date", end, **started_too) == (max(sign, start) < end)
    assert accepts("registration_end_date", end, **signed) == (sign < end)


EDITS = st.lists(
    st.tuples(st.sampled_from(["sign date", "start date", "end date"]), DATES), max_size=8
)


@given(edits=EDITS)
def test_no_sequence_of_date_edits_leaves_the_dates_out_of_order(
    edits: list[tuple[str, date]],
) -> None:
    session = finished()
    for field, day in edits:
        outcome = send(run(session, [edit(field)]), day.isoformat())
        assert outcome.session is not None
        session = outcome.session
        dates = [
            session.answers.get(f"registration_{name}_date") for name in ("sign", "start", "end")
        ]
        sign, start, end = (date.fromisoformat(d) if d else None for d in dates)
        if sign and start:
            assert sign <= start
        if start and end:
            assert start < end
        if sign and end:
            assert sign < end
    while session.current is not None:
        session = run(session, [fitting(session)])
    to_api.registration(FLOW, session.answers)


def fitting(session: Session) -> str:
    """A day the current date question takes, whatever the other dates are."""
    answers = session.answers
    sign = date.fromisoformat(answers["registration_sign_date"])
    if session.current == "registration_start_date":
        return sign.isoformat()
    assert session.current == "registration_end_date"
    start = date.fromisoformat(answers.get("registration_start_date", sign.isoformat()))
    return (max(sign, start) + timedelta(days=1)).isoformat()
