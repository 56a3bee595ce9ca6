"""The state machine on its own: every rule of moving through a flow, no storage involved."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.conversation.runtime import machine
from bot.conversation.runtime.session import Session, Subject
from bot.conversation.views import (
    Choice,
    Command,
    CommandName,
    Input,
    Notice,
    Prompt,
    Review,
    Seller,
    Text,
)
from bot.conversation.vocabulary import values
from bot.conversation.vocabulary.flows import FLOWS
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
    "1 Main St",
    None,  # skip address line 2
    "Seattle",
    "WA",
    "98101",
    "united states",
    "10 to 50 employees",
    None,
    None,
    None,
    None,  # no contact for a private lead
    "50k",
    "usd",
    "2026-12-31",
    "Supply chain on Dynamics 365",
    "retail",
    "Dynamics 365 Business",
    None,
    None,
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
    assert values["country"] == "United States (US)"
    assert values["customer_size"] == "10 to 50 employees"
    assert values["industries"] == "Retail & Consumer Goods"
    assert "consent_partners" not in values  # only asked when shared with Microsoft
    assert send(session, Command(name=CommandName.SUBMIT)).submit


def test_progress_counts_the_steps_that_apply() -> None:
    session = new_session()
    first = machine.current_view(FLOWS["new"], session, today=TODAY)
    assert isinstance(first, Prompt)
    assert (first.progress.number, first.progress.total) == (1, 25)
    co_sell = run(session, ["co-sell"])
    prompt = machine.current_view(FLOWS["new"], co_sell, today=TODAY)
    assert isinstance(prompt, Prompt)
    assert prompt.progress.number == 2
    assert prompt.progress.total == 28  # + help type, notes for Microsoft, partner consent


def test_wrong_answer_reasks_the_same_step_with_closest_values() -> None:
    session = run(new_session(), PRIVATE_LEAD[:18])
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
    session = run(new_session(), PRIVATE_LEAD[:18])
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
    services += ["50k", "usd", "2026-12-31", "Needs", None, None, None, None]
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
    session = run(new_session(), PRIVATE_LEAD[:14])
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
    assert prompt.error.startswith("Before submitting, answer: Customer, Address")


def test_closing_date_in_the_past_is_refused() -> None:
    session = run(new_session(), PRIVATE_LEAD[:16])
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
    session = run(new_session(), PRIVATE_LEAD[:16])
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
