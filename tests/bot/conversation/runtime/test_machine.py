"""The state machine on its own: every rule of moving through a flow, no storage involved."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.conversation.runtime import machine
from bot.conversation.runtime.session import Session, Subject
from bot.conversation.views import (
    Choice,
    Command,
    CommandName,
    Decision,
    Input,
    InputKind,
    Notice,
    Problem,
    Prompt,
    Review,
    Seller,
    Text,
)
from bot.conversation.vocabulary import values
from bot.conversation.vocabulary.flows import FLOWS
from bot.conversation.vocabulary.paths import NoPath
from bot.conversation.vocabulary.steps import Flow, ParseContext, Step, Submit
from bot.referrals import catalogs
from bot.referrals.models import Referral
from tests.fixtures import partner_center

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
SELLER = Seller(user_id="U1", first_name="Ana", last_name="Lopez", email="ana@contoso.com")

PRIVATE_LEAD = [
    "private",
    "Contoso - Dynamics rollout",
    "Contoso Ltd",
    "1 Main St",  # the address question takes the street alone: the rest is asked in turn
    None,  # skip address line 2
    "Seattle",
    "WA",
    "98101",
    "united states",
    "10 to 50 employees",
    None,  # a private lead's contact is optional: one skip leaves it out
    "50k",  # the currency is the country's
    "2026-12-31",
    "all",  # every optional question, in turn
    "Supply chain on Dynamics 365",
    "retail",
    "Dynamics 365 Business",
    None,
    None,
    None,  # the consents one at a time
    "yes",
    "yes",
    None,
]


def new_session(flow: str = "new", subject: Subject | None = None) -> Session:
    return machine.start(
        FLOWS[flow],
        Session(
            id="draft-1",
            flow=flow,
            seller=SELLER,
            subject=subject,
            created_at=NOW,
            updated_at=NOW,
        ),
    )


def send(session: Session, message: Input | str | None) -> machine.Outcome:
    if message is None:
        message = Command(name=CommandName.SKIP)
    elif isinstance(message, str):
        message = Text(value=message)
    return machine.advance(FLOWS[session.flow], session, message, today=TODAY, now=NOW)


def run(session: Session, messages: list[Input | str | None]) -> Session:
    for message in messages:
        outcome = send(session, message)
        assert outcome.session is not None
        session = outcome.session
    return session


def only(outcome: machine.Outcome) -> Prompt | Review:
    view = outcome.views[-1]
    assert isinstance(view, Prompt | Review)
    return view


def test_private_lead_walks_every_step_to_the_review() -> None:
    session = run(new_session(), PRIVATE_LEAD)
    assert session.current is None
    review = machine.current_view(FLOWS["new"], session, today=TODAY)
    assert isinstance(review, Review)
    assert review.missing == ()
    values = {line.step: line.value for line in review.lines}
    assert values["deal_value"] == "50,000"
    assert values["address"] == "1 Main St, Seattle, WA 98101, US"  # the address on one line
    assert values["customer_size"] == "10 to 50 employees"
    assert values["industries"] == "Retail & Consumer Goods"
    # Never asked of a private lead, but listed with the two that were.
    assert "Microsoft bringing in other partners: no" in str(values["consents"])
    assert send(session, Command(name=CommandName.SUBMIT)).submit


@pytest.mark.parametrize(
    ("kind", "total"),
    [
        ("private", 12),
        ("partner led", 12),  # the partner consent is one of the consents asked together
        ("co-sell", 14),  # + a solution and the help wanted
        ("services", 16),  # + partner role, solution area and play, and the help wanted
    ],
)
def test_progress_total_never_goes_up_once_the_deal_kind_is_known(kind: str, total: int) -> None:
    # Found: "Step 1 of 25", then "Step 2 of 26" once the deal kind was known.
    session = new_session()
    first = machine.current_view(FLOWS["new"], session, today=TODAY)
    assert isinstance(first, Prompt)
    assert (first.progress.number, first.progress.total) == (1, 17)  # every question any kind asks
    prompt = machine.current_view(FLOWS["new"], run(session, [kind]), today=TODAY)
    assert isinstance(prompt, Prompt)
    assert (prompt.progress.number, prompt.progress.total) == (2, total)


def test_wrong_answer_reasks_the_same_step_with_closest_values() -> None:
    session = run(new_session(), PRIVATE_LEAD[:15])
    assert session.current == "industries"
    outcome = send(session, "helthcare")
    prompt = only(outcome)
    assert isinstance(prompt, Prompt)
    assert prompt.step == "industries"
    assert prompt.error
    assert "helthcare" in prompt.error
    assert "Healthcare" in [option.value for option in prompt.suggestions]
    assert not outcome.persist
    assert outcome.session == session


def test_numbered_answers_pick_from_the_listed_choices() -> None:
    session = new_session()
    prompt = machine.current_view(FLOWS["new"], session, today=TODAY)
    assert isinstance(prompt, Prompt)
    assert [option.value for option in prompt.choices][1] == "partner_led"
    assert run(session, ["2"]).answers["deal_kind"] == "partner_led"


def test_a_card_click_for_another_step_is_stale() -> None:
    session = run(new_session(), ["private"])
    outcome = send(session, Choice(step="deal_kind", value="co_sell"))
    assert not outcome.persist
    assert isinstance(outcome.views[0], Notice)
    assert "already answered" in outcome.views[0].message
    assert outcome.session is not None
    assert outcome.session.answers["deal_kind"] == "private"


def test_card_selection_goes_through_the_same_validation() -> None:
    session = run(new_session(), PRIVATE_LEAD[:15])
    picked = send(
        session, Choice(step="industries", value=("Healthcare", "Retail & Consumer Goods"))
    )
    assert picked.session is not None
    assert picked.session.answers["industries"] == ["Healthcare", "Retail & Consumer Goods"]
    forged = send(session, Choice(step="industries", value=("Healthcare", "Piracy")))
    prompt = only(forged)
    assert isinstance(prompt, Prompt)
    assert prompt.error
    assert "Piracy" in prompt.error


def test_back_returns_to_the_previous_answer_and_shows_it() -> None:
    session = run(new_session(), ["private", "Contoso deal"])
    outcome = send(session, Command(name=CommandName.BACK))
    prompt = only(outcome)
    assert isinstance(prompt, Prompt)
    assert prompt.step == "name"
    assert prompt.current == "Contoso deal"
    first = new_session()
    assert "first question" in send(first, Command(name=CommandName.BACK)).views[0].message  # type: ignore[union-attr]


def test_required_steps_cannot_be_skipped_optional_ones_can() -> None:
    session = run(new_session(), ["private"])
    outcome = send(session, None)
    prompt = only(outcome)
    assert isinstance(prompt, Prompt)
    assert prompt.error == "This one is required; it can't be skipped."
    assert not outcome.persist
    at_line2 = run(session, ["Deal", "Customer", "1 Main St"])
    assert at_line2.current == "address_line2"
    assert run(at_line2, [None]).current == "city"


def test_contacts_are_required_once_the_deal_is_shared() -> None:
    session = run(new_session(), ["partner-led", *PRIVATE_LEAD[1:10]])
    assert session.current == "contact"
    # Skipped, the contact question is asked a field at a time, and the name is required.
    session = run(session, [None])
    assert session.current == "contact_first_name"
    prompt = only(send(session, None))
    assert isinstance(prompt, Prompt)
    assert prompt.error


def test_edit_from_the_review_returns_to_the_review() -> None:
    session = run(new_session(), PRIVATE_LEAD)
    editing = run(session, [Command(name=CommandName.EDIT, arg="deal value")])
    assert editing.current == "deal_value"
    assert editing.editing
    back = send(editing, "75,000")
    assert isinstance(back.views[-1], Review)
    assert back.session is not None
    assert back.session.answers["deal_value"] == "75000"
    unknown = send(session, Command(name=CommandName.EDIT, arg="favourite colour"))
    assert "no field called 'favourite colour'" in unknown.views[0].message  # type: ignore[union-attr]


def test_changing_the_kind_of_deal_asks_what_is_now_required() -> None:
    session = run(new_session(), PRIVATE_LEAD)
    editing = run(session, [Command(name=CommandName.EDIT, arg="kind of deal")])
    outcome = send(editing, "services")
    prompt = only(outcome)
    assert isinstance(prompt, Prompt)
    assert prompt.step == "contact_first_name"  # shared deals need a customer contact


def test_solution_plays_follow_the_solution_area() -> None:
    services = ["services", *PRIVATE_LEAD[1:10], "Ada", "Lee", "ada@contoso.com", None]
    services += ["50k", "2026-12-31", "all", "Needs", None, None, None, None]
    session = run(new_session(), services)
    assert session.current == "partner_role"
    session = run(session, ["Solution design", "Security"])
    prompt = machine.current_view(FLOWS["new"], session, today=TODAY)
    assert isinstance(prompt, Prompt)
    assert {option.value for option in prompt.choices} >= {"Data Security", "Multicloud Security"}
    assert "Migrate SAP" not in {option.value for option in prompt.choices}
    wrong = only(send(session, "Migrate SAP"))
    assert isinstance(wrong, Prompt)
    assert wrong.error
    session = run(session, ["Data Security"])
    # Changing the area drops a play that no longer belongs to it.
    editing = run(session, [Command(name=CommandName.EDIT, arg="solution area"), "Infrastructure"])
    assert "solution_play" not in editing.answers


def test_amount_with_a_currency_answers_the_currency_too() -> None:
    session = run(new_session(), PRIVATE_LEAD[:11])
    assert session.current == "deal_value"
    session = run(session, ["EUR 42,500"])
    assert session.answers["currency"] == "EUR"
    assert session.current == "closing_date"


def test_submit_with_missing_answers_points_at_the_first() -> None:
    session = run(new_session(), ["private", "Deal"])
    outcome = send(session, Command(name=CommandName.SUBMIT))
    assert not outcome.submit
    prompt = only(outcome)
    assert isinstance(prompt, Prompt)
    assert prompt.step == "customer_name"
    assert prompt.error
    assert prompt.error.startswith("Before submitting, answer: Customer, Street, City")


def test_closing_date_in_the_past_is_refused() -> None:
    session = run(new_session(), PRIVATE_LEAD[:12])
    assert session.current == "closing_date"
    prompt = only(send(session, "2026-11-01"))
    assert isinstance(prompt, Prompt)
    assert prompt.error


def test_cancel_discards_and_help_changes_nothing() -> None:
    session = run(new_session(), ["private"])
    cancelled = send(session, Command(name=CommandName.CANCEL))
    assert cancelled.session is None
    assert "Nothing was sent" in cancelled.views[0].message  # type: ignore[union-attr]
    helped = send(session, Command(name=CommandName.HELP))
    assert not helped.persist
    assert isinstance(helped.views[-1], Prompt)


def update_session() -> Session:
    referral = Referral.from_wire(partner_center("get_referral_response"))
    subject = Subject(referral_id="r1", etag=referral.e_tag, snapshot=referral.to_wire())
    return new_session("update", subject)


def test_update_shows_current_values_and_what_changes() -> None:
    session = run(update_session(), ["deal value, notes"])
    prompt = machine.current_view(FLOWS["update"], session, today=TODAY)
    assert isinstance(prompt, Prompt)
    assert prompt.step == "deal_value"
    assert prompt.current == "10,000"
    session = run(session, ["12,500", "Training for 300 staff"])
    review = machine.current_view(FLOWS["update"], session, today=TODAY)
    assert isinstance(review, Review)
    values = {line.step: line.value for line in review.lines}
    assert values["deal_value"] == "10,000 → 12,500"
    assert values["notes"] is not None
    assert values["notes"].endswith("→ Training for 300 staff")


def test_close_needs_a_reason_only_when_lost_or_declined() -> None:
    referral = Referral.from_wire(partner_center("get_referral_response"))
    subject = Subject(referral_id="r1", etag=referral.e_tag, snapshot=referral.to_wire())
    won = run(new_session("close", subject), ["won", None])
    assert won.current is None
    lost = run(new_session("close", subject), ["lost"])
    prompt = only(send(lost, None))
    assert isinstance(prompt, Prompt)
    assert prompt.error


INPUTS = st.one_of(
    st.sampled_from([c for c in CommandName if c not in (CommandName.START,)]).map(
        lambda name: Command(name=name, arg="deal value" if name is CommandName.EDIT else None)
    ),
    st.sampled_from(
        ["1", "2", "3", "yes", "no", "usd", "50k", "2027-01-31", "us", "Healthcare", "x", ""]
    ).map(lambda value: Text(value=value)),
    st.text(max_size=30).map(lambda value: Text(value=value)),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(flow=st.sampled_from(["new", "close", "team"]), inputs=st.lists(INPUTS, max_size=40))
def test_any_input_sequence_keeps_the_session_consistent(flow: str, inputs: list[Input]) -> None:
    referral = Referral.from_wire(partner_center("get_referral_response"))
    subject = Subject(referral_id="r1", etag=None, snapshot=referral.to_wire())
    session = new_session(flow, subject if flow != "new" else None)
    for message in inputs:
        outcome = machine.advance(FLOWS[flow], session, message, today=TODAY, now=NOW)
        assert outcome.views or outcome.submit
        if outcome.session is None:
            return
        session = outcome.session
        applicable = {step.id for step in FLOWS[flow].applicable(session.answers)}
        assert session.current is None or session.current in applicable
        assert set(session.skipped).isdisjoint(session.answers)


# -- what a question carries for the cards ----------------------------------------------------


def test_a_date_question_carries_the_earliest_day_its_own_rule_accepts() -> None:
    session = run(new_session(), PRIVATE_LEAD[:12])
    assert session.current == "closing_date"
    prompt = machine.current_view(FLOWS["new"], session, today=TODAY)
    assert isinstance(prompt, Prompt)
    assert prompt.earliest == TODAY  # the step refuses past dates
    first = machine.current_view(FLOWS["new"], new_session(), today=TODAY)
    assert isinstance(first, Prompt)
    assert first.earliest is None  # not a date


def test_the_earliest_day_follows_whatever_rule_the_step_has() -> None:
    flow = FLOWS["new"]
    dated = flow.step("closing_date")
    week_out = replace(
        dated,
        parse=lambda raw, ctx: values.parse_date(
            raw, today=ctx.today, not_before=ctx.today + timedelta(days=7)
        ).isoformat(),
    )
    any_day = replace(
        dated, parse=lambda raw, ctx: values.parse_date(raw, today=ctx.today).isoformat()
    )
    situation = machine.Situation(flow, new_session(), today=TODAY)

    assert machine.prompt_view(situation, week_out).earliest == TODAY + timedelta(days=7)
    assert machine.prompt_view(situation, any_day).earliest is None
    without_today = machine.Situation(flow, new_session())
    assert machine.prompt_view(without_today, dated).earliest is None


def test_a_question_names_its_catalog_for_type_ahead_and_labels() -> None:
    flow = FLOWS["new"]
    situation = machine.Situation(flow, new_session(), today=TODAY)

    country = machine.prompt_view(situation, flow.step("country"))
    assert (country.searchable, country.choices, country.catalog) == (True, (), "country")
    assert catalogs.by_id("country") is catalogs.COUNTRIES
    industries = machine.prompt_view(situation, flow.step("industries"))
    assert industries.catalog == "industry"
    assert len(industries.choices) == len(catalogs.INDUSTRIES)
    kinds = machine.prompt_view(situation, flow.step("deal_kind"))
    assert kinds.catalog is None  # the flow's own short list: its choices carry the labels
    assert all(option.label for option in kinds.choices)


# -- answers checked against others, prefilled, phrased from the answers ----------------------


def _number(raw: str, ctx: ParseContext) -> Any:
    try:
        return int(raw)
    except ValueError:
        raise values.InvalidAnswer(f"{raw!r} is not a number.") from None


def _above_low(raw: str, ctx: ParseContext) -> Any:
    number = _number(raw, ctx)
    if number <= ctx.answers.get("low", number - 1):
        raise values.InvalidAnswer(f"{number} is not above {ctx.answers['low']}.")
    return number


def _bounds(prefill: Any = None, *, low_required: bool = True) -> Flow:
    """Low, then high (above low), then a note about whatever low is."""
    return Flow(
        name="bounds",
        title="Bounds",
        submit=Submit.CREATE_REFERRAL,
        needs_referral=prefill is not None,
        prefill=prefill,
        steps=(
            Step(
                "low",
                "Low",
                "Low?",
                InputKind.TEXT,
                _number,
                required=low_required,
                fills=NoPath("a test step"),
            ),
            Step(
                "high",
                "High",
                "High?",
                InputKind.TEXT,
                _above_low,
                depends_on=("low",),
                fills=NoPath("a test step"),
            ),
            Step(
                "note",
                "Note",
                "A note?",
                InputKind.TEXT,
                lambda raw, ctx: raw,
                about=lambda answers: answers.get("low"),
                ask=lambda answers: f"A note about {answers.get('low', 'nothing')}?",
                fills=NoPath("a test step"),
            ),
        ),
    )


def _walk(flow: Flow, session: Session, messages: list[Input | str | None]) -> machine.Outcome:
    outcome = machine.Outcome(session, ())
    for message in messages:
        assert outcome.session is not None
        typed = Text(value=message) if isinstance(message, str) else message
        given = Command(name=CommandName.SKIP) if typed is None else typed
        outcome = machine.advance(flow, outcome.session, given, today=TODAY, now=NOW)
    return outcome


def _draft(flow: Flow, subject: Subject | None = None) -> Session:
    return machine.start(
        flow,
        Session(
            id="d", flow=flow.name, seller=SELLER, subject=subject, created_at=NOW, updated_at=NOW
        ),
    )


def test_an_answer_a_change_no_longer_admits_is_dropped_and_asked_again() -> None:
    flow = _bounds()
    done = _walk(flow, _draft(flow), ["1", "5", "about one"]).session
    assert done is not None
    assert done.current is None

    kept = _walk(flow, done, [Command(name=CommandName.EDIT, arg="low"), "4"])
    dropped = _walk(flow, done, [Command(name=CommandName.EDIT, arg="low"), "5"])

    assert kept.session is not None
    assert kept.session.answers["high"] == 5
    assert dropped.session is not None
    assert "high" not in dropped.session.answers
    notice, prompt = dropped.views
    assert isinstance(notice, Notice)
    assert "High" in notice.message
    assert isinstance(prompt, Prompt)
    assert prompt.step == "high"


def test_an_answer_about_something_else_now_is_dropped() -> None:
    flow = _bounds()
    done = _walk(flow, _draft(flow), ["1", "5", "about one"]).session
    assert done is not None

    same = _walk(flow, done, [Command(name=CommandName.EDIT, arg="low"), "1"])
    other = _walk(flow, done, [Command(name=CommandName.EDIT, arg="low"), "2"])

    assert same.session is not None
    assert same.session.answers["note"] == "about one"
    assert other.session is not None
    assert "note" not in other.session.answers
    prompt = other.views[-1]
    assert isinstance(prompt, Prompt)
    assert prompt.question == "A note about 2?"


def test_skipping_an_answer_others_are_about_drops_them_too() -> None:
    flow = _bounds(low_required=False)
    done = _walk(flow, _draft(flow), ["1", "5", "about one"]).session
    assert done is not None

    skipped = _walk(flow, done, [Command(name=CommandName.EDIT, arg="low"), None])

    assert skipped.session is not None
    assert set(skipped.session.answers) == {"high"}


def test_a_question_is_phrased_from_the_answers_and_the_flow_keeps_its_own() -> None:
    flow = _bounds()
    session = _walk(flow, _draft(flow), ["3", "5"]).session
    assert session is not None

    prompt = machine.current_view(flow, session, today=TODAY)

    assert isinstance(prompt, Prompt)
    assert prompt.question == "A note about 3?"
    assert flow.step("note").question == "A note?"


def test_start_prefills_from_the_referral_and_asks_the_first_unanswered() -> None:
    referral = Referral.from_wire(partner_center("get_referral_response"))
    subject = Subject(referral_id="r1", snapshot=referral.to_wire())

    def low_is_the_deal_value(worked_on: Referral) -> dict[str, Any]:
        assert worked_on.details is not None
        return {"low": int(worked_on.details.deal_value or 0), "@seen": ["context"]}

    flow = _bounds(low_is_the_deal_value)
    session = _draft(flow, subject)

    assert session.answers == {"low": 10000, "@seen": ["context"]}
    assert session.current == "high"
    assert session.history == []  # back does not walk into what nobody asked
    lines = {
        line.step: line.value
        for line in machine.review_view(machine.Situation(flow, session)).lines
    }
    assert lines == {"low": "10000", "high": None, "note": None}
    assert _draft(flow).answers == {}  # no referral, nothing to derive from


def test_start_shows_the_review_when_the_referral_answers_everything() -> None:
    subject = Subject(referral_id="r1", snapshot={"id": "r1"})
    flow = _bounds(lambda referral: {"low": 1, "high": 2, "note": "n"})

    assert _draft(flow, subject).current is None


def test_back_skips_questions_that_no_longer_apply() -> None:
    picked_again = [Command(name=CommandName.EDIT, arg="fields to change"), "notes"]
    session = run(update_session(), ["deal value, notes", "12,500", *picked_again])
    assert session.history == ["fields", "deal_value", "fields"]

    once = run(session, [Command(name=CommandName.BACK)])
    twice = run(once, [Command(name=CommandName.BACK)])

    assert once.current == "fields"
    assert twice.current == "fields"  # not deal_value: it is no longer picked
    assert twice.history == []


def test_a_decision_is_no_answer_to_a_draft() -> None:
    session = new_session()

    outcome = send(session, Decision(approval="a1", verdict="approve"))

    assert outcome.effect is machine.Effect.REFUSED
    assert outcome.session == session
    assert isinstance(outcome.views[0], Problem)
