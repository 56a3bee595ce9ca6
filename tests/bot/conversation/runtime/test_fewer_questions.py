"""Fewer questions: answers that fill several fields, answers worked out from others, a
one-line start and a grouped review, on the state machine itself.

Every short way must end in the very payload the long way (one field per answer) ends in,
and nothing may reach Partner Center that the seller has not seen on the review.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.conversation.runtime import machine
from bot.conversation.runtime.session import Session, dump_session, load_session
from bot.conversation.views import (
    Command,
    CommandName,
    Input,
    Notice,
    Prompt,
    Review,
    Seller,
    Text,
)
from bot.conversation.vocabulary import to_api
from bot.conversation.vocabulary.flows import FLOWS

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
SELLER = Seller(
    user_id="U1",
    display_name="Ana Lopez",
    first_name="Ana",
    last_name="Lopez",
    email="ana@contoso.com",
)
NEW = FLOWS["new"]
SKIP = None
KEEP = Command(name=CommandName.KEEP)

LONG_PARTNER_LED = [
    "partner led",
    "Contoso - Dynamics rollout",
    "Contoso Ltd",
    SKIP,  # the address one field at a time
    "1 Main St",
    "Suite 200",
    "Seattle",
    "WA",
    "98101",
    "US",
    "10 to 50 employees",
    SKIP,  # the contact one field at a time
    "Ada",
    "Lovelace",
    "ada@fabrikam.com",
    "+1 206 555 0100",
    "50000",  # the currency is worked out from the country
    "2027-03-31",
    "all",  # every optional question, one by one
    SKIP,  # notes
    SKIP,  # industries
    SKIP,  # products
    SKIP,  # services
    SKIP,  # solutions
    SKIP,  # the consents one at a time
    "yes",
    "yes",
    "yes",
    SKIP,  # team
]
"""A partner-led referral the longest way: every field its own answer."""

SHORT_PARTNER_LED = [
    "partner led",
    "1 Main St, Suite 200, Seattle, WA 98101, US",
    "10 to 50 employees",
    "Ada Lovelace <ada@fabrikam.com> +1 206 555 0100",
    "none",
    "yes",
]
"""The same referral the shortest way, after ``/referral new Contoso Ltd - Dynamics rollout
50k USD by 2027-03-31``... with the name as the opening gives it."""


def new_draft(words: str = "") -> tuple[Session, Notice | None]:
    answers, said = machine.opened(NEW, words, today=TODAY)
    session = Session(
        id="draft-1",
        flow="new",
        seller=SELLER,
        answers=answers,
        created_at=NOW,
        updated_at=NOW,
    )
    return machine.start(NEW, session), said


def send(session: Session, message: Input | str | None) -> machine.Outcome:
    if message is None:
        message = Command(name=CommandName.SKIP)
    elif isinstance(message, str):
        message = Text(value=message)
    return machine.advance(NEW, session, message, today=TODAY, now=NOW)


def run(session: Session, messages: list[Input | str | None]) -> Session:
    for message in messages:
        outcome = send(session, message)
        assert outcome.session is not None
        assert outcome.refused is None, (message, outcome.views)
        session = outcome.session
    return session


def view(session: Session) -> Prompt | Review:
    shown = machine.current_view(NEW, session, today=TODAY)
    assert isinstance(shown, Prompt | Review)
    return shown


def payload(session: Session) -> dict[str, Any]:
    wire = to_api.partner_referral(NEW, session.answers, SELLER).to_wire()
    wire.pop("externalReferenceId", None)
    return wire


def reviewed(session: Session) -> Review:
    shown = view(session)
    assert isinstance(shown, Review), shown
    assert shown.missing == ()
    return shown


def sections(review: Review) -> dict[str, dict[str, str | None]]:
    return {s.edit: {line.label: line.value for line in s.lines} for s in review.sections}


def test_the_long_way_asks_every_field_and_reaches_the_review() -> None:
    session = run(new_draft()[0], LONG_PARTNER_LED)
    reviewed(session)
    wire = payload(session)
    assert wire["customerProfile"]["address"] == {
        "addressLine1": "1 Main St",
        "addressLine2": "Suite 200",
        "city": "Seattle",
        "state": "WA",
        "postalCode": "98101",
        "country": "US",
    }
    assert wire["consent"]["consentToMicrosoftToContactSpecificPartners"] is True


def test_the_short_way_ends_in_the_same_payload_in_a_third_of_the_answers() -> None:
    long_way = run(new_draft()[0], LONG_PARTNER_LED)
    start, said = new_draft("Contoso Ltd 50k USD by 2027-03-31")
    assert said is not None
    assert "Contoso Ltd" in said.message
    short_way = run(start, SHORT_PARTNER_LED)
    reviewed(short_way)
    expected = payload(long_way)
    got = payload(short_way)
    # The opening names the referral after its customer; the long way typed a name.
    expected["name"] = got["name"]
    assert got == expected
    assert 1 + len(SHORT_PARTNER_LED) + 1 <= 12  # the opening, the answers, submit
    assert len(LONG_PARTNER_LED) >= 26
    assert long_way.inferred == {"currency": "from the customer's country"}
    assert "currency" not in short_way.inferred  # typed on the first line


def test_an_address_in_one_answer_is_shown_whole_on_the_review() -> None:
    session = run(new_draft()[0], ["partner led", "Contoso", "Contoso Ltd"])
    session = run(session, ["Unter den Linden 77, 10117 Berlin, Germany"])
    asked = view(session)
    assert isinstance(asked, Prompt)
    assert asked.step == "state"
    session = run(session, ["Berlin"])
    asked = view(session)
    assert isinstance(asked, Prompt)
    assert asked.step == "customer_size"
    review = send(session, Command(name=CommandName.REVIEW)).views[-1]
    assert isinstance(review, Review)
    customer = sections(review)["the_customer"]
    assert customer["Address"] == "Unter den Linden 77, Berlin, Berlin 10117, DE"


def test_a_street_alone_asks_the_rest_of_the_address_one_by_one() -> None:
    session = run(new_draft()[0], ["partner led", "Contoso", "Contoso Ltd", "1 Main St"])
    asked = view(session)
    assert isinstance(asked, Prompt)
    assert asked.step == "address_line2"
    session = run(session, [SKIP, "Seattle", "WA", "98101", "US"])
    asked = view(session)
    assert isinstance(asked, Prompt)
    assert asked.step == "customer_size"


def test_an_address_without_a_country_asks_the_country_next() -> None:
    session = run(new_draft()[0], ["partner led", "Contoso", "Contoso Ltd"])
    session = run(session, ["1 Main St, Seattle, WA 98101"])
    asked = view(session)
    assert isinstance(asked, Prompt)
    assert asked.step == "country"


def test_a_bad_part_of_an_address_is_refused_naming_the_part() -> None:
    session = run(new_draft()[0], ["partner led", "Contoso", "Contoso Ltd"])
    outcome = send(session, "1 Main St, Seattle, WA 98101, Atlantis")
    # An unknown country is left for its own question, never guessed.
    assert outcome.refused is None
    assert outcome.session is not None
    asked = view(outcome.session)
    assert isinstance(asked, Prompt)
    assert "Atlantis" not in (outcome.session.answers.get("country") or "")


def test_the_currency_follows_the_country_until_the_seller_names_one() -> None:
    session, _ = new_draft("Fabrikam 75k by 2027-03-31")
    assert "currency" not in session.answers
    session = run(session, ["partner led", "Hauptstr. 1, 10115 Berlin, Germany"])
    assert session.answers["currency"] == "EUR"
    assert session.inferred == {"currency": "from the customer's country"}
    review = send(session, Command(name=CommandName.REVIEW)).views[-1]
    assert isinstance(review, Review)
    currency = next(line for line in review.lines if line.step == "currency")
    assert (currency.value, currency.note) == ("EUR", "from the customer's country")
    # The country changes: so does a currency worked out from it.
    session = run(session, [Command(name=CommandName.EDIT, arg="country"), "Japan"])
    assert session.answers["currency"] == "JPY"
    # Named by the seller, it stays whatever the country.
    session = run(session, [Command(name=CommandName.EDIT, arg="currency"), "USD"])
    session = run(session, [Command(name=CommandName.EDIT, arg="country"), "India"])
    assert session.answers["currency"] == "USD"
    assert session.inferred == {}


def test_a_country_with_two_currencies_asks_which() -> None:
    session, _ = new_draft("Fabrikam 75k by 2027-03-31")
    session = run(session, ["private", "Calle 50 y Via Espana, 0801 Panama City, Panama"])
    assert session.answers["country"] == "PA"
    assert "currency" not in session.answers


def test_a_contact_in_one_answer_fills_name_email_and_phone() -> None:
    session = run(new_draft()[0], ["partner led", "Contoso", "Contoso Ltd"])
    session = run(session, ["1 Main St, Seattle, WA 98101, US", "10 to 50 employees"])
    session = run(session, ["Ludwig van Beethoven, ludwig@fabrikam.com"])
    answers = session.answers
    assert answers["contact_first_name"] == "Ludwig"
    assert answers["contact_last_name"] == "van Beethoven"
    assert answers["contact_email"] == "ludwig@fabrikam.com"
    assert "contact_phone" in session.skipped  # a whole contact without a phone has none
    asked = view(session)
    assert isinstance(asked, Prompt)
    assert asked.step == "deal_value"


def test_a_name_alone_asks_for_the_email_next() -> None:
    session = run(new_draft()[0], ["partner led", "Contoso", "Contoso Ltd"])
    session = run(session, ["1 Main St, Seattle, WA 98101, US", "10 to 50 employees"])
    session = run(session, ["Ada Lovelace"])
    asked = view(session)
    assert isinstance(asked, Prompt)
    assert asked.step == "contact_email"


def test_a_wrong_email_in_a_contact_is_refused_and_nothing_is_kept() -> None:
    session = run(new_draft()[0], ["partner led", "Contoso", "Contoso Ltd"])
    session = run(session, ["1 Main St, Seattle, WA 98101, US", "10 to 50 employees"])
    outcome = send(session, "Ada Lovelace <ada@@fabrikam>")
    assert outcome.refused is not None
    prompt = outcome.views[-1]
    assert isinstance(prompt, Prompt)
    assert prompt.step == "contact"
    assert prompt.error
    assert "ada@@fabrikam" in prompt.error
    assert "contact_first_name" not in session.answers


def test_one_yes_answers_the_consents_that_go_together() -> None:
    session = _at_consents("partner led")
    asked = view(session)
    assert isinstance(asked, Prompt)
    assert asked.step == "consents"
    assert "partners" in asked.question
    session = run(session, ["yes"])
    assert [session.answers[k] for k in ("consent_share_info", "consent_contact")] == [True, True]
    assert session.answers["consent_partners"] is True


def test_a_private_lead_asks_two_consents_and_shows_the_third_worked_out() -> None:
    session = _at_consents("private")
    asked = view(session)
    assert isinstance(asked, Prompt)
    assert asked.step == "consents"
    assert "partners" not in asked.question
    session = run(session, ["share"])
    assert session.answers["consent_share_info"] is True
    assert session.answers["consent_contact"] is False
    assert session.answers["consent_partners"] is False
    review = reviewed(run(session, []))
    sharing = sections(review)["sharing"]["Consents"]
    assert sharing is not None
    assert "Microsoft bringing in other partners: no" in sharing
    assert "being contacted about it: no" in sharing


def test_a_consent_answer_naming_nothing_known_is_refused_specifically() -> None:
    session = _at_consents("partner led")
    outcome = send(session, "share, maybe later")
    assert outcome.refused is not None
    prompt = outcome.views[-1]
    assert isinstance(prompt, Prompt)
    assert prompt.error is not None
    assert "maybe later" in prompt.error


def test_the_optional_questions_are_offered_once() -> None:
    session = run(new_draft("Contoso 50k USD by 2027-03-31")[0], ["partner led"])
    session = run(session, ["1 Main St, Seattle, WA 98101, US", "10 to 50 employees"])
    session = run(session, ["Ada Lovelace <ada@fabrikam.com>"])
    asked = view(session)
    assert isinstance(asked, Prompt)
    assert asked.step == "extras"
    offered = {option.value for option in asked.choices}
    assert offered == {"notes", "industries", "products", "services", "solutions", "team"}
    session = run(session, ["industries"])
    asked = view(session)
    assert isinstance(asked, Prompt)
    assert asked.step == "industries"
    session = run(session, ["retail"])
    asked = view(session)
    assert isinstance(asked, Prompt)
    assert asked.step == "consents"


def test_skipping_the_offer_declines_it_but_a_co_sell_still_needs_its_solution() -> None:
    session = run(new_draft("Contoso 50k USD by 2027-03-31")[0], ["co-sell"])
    session = run(session, ["1 Main St, Seattle, WA 98101, US", "10 to 50 employees"])
    session = run(session, ["Ada Lovelace <ada@fabrikam.com>"])
    asked = view(session)
    assert isinstance(asked, Prompt)
    assert asked.step == "extras"
    assert "solutions" not in {option.value for option in asked.choices}
    session = run(session, [SKIP])
    asked = view(session)
    assert isinstance(asked, Prompt)
    assert asked.step == "solutions"


def test_the_opening_says_what_it_could_not_read() -> None:
    session, said = new_draft("Contoso 50k USD by someday")
    assert said is not None
    assert said.detail is not None
    assert "someday" in said.detail
    assert "closing_date" not in session.answers
    assert session.answers["customer_name"] == "Contoso"


def test_the_opening_never_guesses_a_past_closing_date() -> None:
    session, said = new_draft("Contoso 50k USD by 2020-01-31")
    assert "closing_date" not in session.answers
    assert said is not None
    assert said.detail is not None
    assert "2020" in said.detail


def test_progress_counts_a_group_once_and_shrinks_as_answers_fill_fields() -> None:
    fresh = view(new_draft()[0])
    opened = view(new_draft("Contoso 50k USD by 2027-03-31")[0])
    assert isinstance(fresh, Prompt)
    assert isinstance(opened, Prompt)
    assert opened.progress.total < fresh.progress.total
    session = run(new_draft("Contoso 50k USD by 2027-03-31")[0], ["partner led"])
    before = view(session)
    session = run(session, ["1 Main St, Seattle, WA 98101, US"])
    after = view(session)
    assert isinstance(before, Prompt)
    assert isinstance(after, Prompt)
    assert after.progress.number == before.progress.number + 1
    assert after.progress.total <= before.progress.total
    # Before the kind is known, the bound holds the services co-sell's questions too.
    assert before.progress.total <= 12 < fresh.progress.total


def test_review_groups_the_answers_with_one_edit_each() -> None:
    session = run(new_draft("Contoso 50k USD by 2027-03-31")[0], SHORT_PARTNER_LED)
    review = reviewed(session)
    assert [s.edit for s in review.sections] == [
        "the_deal",
        "the_customer",
        "the_contact",
        "needs",
        "sharing",
        "your_team",
    ]
    grouped = sections(review)
    assert grouped["the_contact"] == {"Contact": "Ada Lovelace <ada@fabrikam.com> +12065550100"}
    team = next(s for s in review.sections if s.edit == "your_team")
    assert team.lines[0].value == "Ana Lopez <ana@contoso.com>"
    assert team.lines[0].note == "from your chat profile"
    needs = next(s for s in review.sections if s.edit == "needs")
    assert needs.lines == ()
    assert "Industries" in needs.left_out
    assert len(review.sections) <= 7
    assert sum(len(s.lines) for s in review.sections) <= 14


def test_editing_a_group_asks_its_questions_again_and_keep_leaves_one_as_it_is() -> None:
    session = run(new_draft("Contoso 50k USD by 2027-03-31")[0], SHORT_PARTNER_LED)
    session = run(session, [Command(name=CommandName.EDIT, arg="the_customer")])
    asked = view(session)
    assert isinstance(asked, Prompt)
    assert asked.step == "customer_name"
    assert asked.can_keep
    session = run(session, [KEEP])
    asked = view(session)
    assert isinstance(asked, Prompt)
    assert asked.step == "address"
    assert asked.current == "1 Main St, Suite 200, Seattle, WA 98101, US"
    session = run(session, ["500 Pine St, Portland, OR 97204, US", KEEP])
    review = reviewed(session)
    assert sections(review)["the_customer"]["Address"] == "500 Pine St, Portland, OR 97204, US"
    assert session.answers.get("address_line2") is None  # restated whole: no suite now
    assert session.answers["currency"] == "USD"  # the seller's own, not the country's


def test_submit_from_a_question_shows_the_review_first() -> None:
    session = run(new_draft("Contoso 50k USD by 2027-03-31")[0], SHORT_PARTNER_LED[:-1])
    session = run(session, [Command(name=CommandName.EDIT, arg="consents"), "yes"])
    session = run(session, [Command(name=CommandName.EDIT, arg="customer size")])
    outcome = send(session, Command(name=CommandName.SUBMIT))
    assert not outcome.submit
    assert isinstance(outcome.views[0], Notice)
    assert isinstance(outcome.views[-1], Review)
    assert outcome.session is not None
    assert send(outcome.session, Command(name=CommandName.SUBMIT)).submit


def _at_consents(kind: str) -> Session:
    session = run(new_draft("Contoso 50k USD by 2027-03-31")[0], [kind])
    session = run(session, ["1 Main St, Seattle, WA 98101, US", "10 to 50 employees"])
    return run(session, ["Ada Lovelace <ada@fabrikam.com>", "none"])


@pytest.mark.parametrize("kind", ["private", "partner led", "co-sell", "services"])
def test_every_kind_the_short_way_is_within_its_target(kind: str) -> None:
    session = run(new_draft("Contoso 50k USD by 2027-03-31")[0], [kind])
    answered = 1 + 1  # the opening line and the kind
    script = {
        "address": "1 Main St, Seattle, WA 98101, US",
        "customer_size": "10 to 50 employees",
        "contact": "Ada Lovelace <ada@fabrikam.com>",
        "extras": "none",
        "solutions": "Artificial Intelligence",
        "partner_role": "1",
        "solution_area": "1",
        "solution_play": "1",
        "help_type": "general",
        "consents": "yes",
    }
    while True:
        shown = view(session)
        if isinstance(shown, Review):
            break
        session = run(session, [script[shown.step]])
        answered += 1
    reviewed(session)
    answered += 1  # submit
    target = 12 if kind in ("private", "partner led") else 14
    assert answered <= target, answered


def test_a_second_click_on_keep_does_not_keep_the_next_answer() -> None:
    session = run(new_draft("Contoso 50k USD by 2027-03-31")[0], SHORT_PARTNER_LED)
    session = run(session, [Command(name=CommandName.EDIT, arg="the_customer")])
    click = Command(name=CommandName.KEEP, step="customer_name")
    session = run(session, [click])
    assert session.current == "address"
    again = send(session, click)
    assert again.refused is not None  # stale: meant for the question already kept
    assert again.session is not None
    assert again.session.current == "address"


def test_a_draft_stored_mid_edit_resumes_where_it_was() -> None:
    """What a restart does: the draft is read back from its stored JSON by another process."""
    session = run(new_draft("Contoso 50k by 2027-03-31")[0], SHORT_PARTNER_LED)
    session = run(session, [Command(name=CommandName.EDIT, arg="the_customer"), KEEP])
    restored = load_session(dump_session(session))
    assert restored == session
    assert restored.edit_queue == ["customer_size"]
    assert restored.inferred == {"currency": "from the customer's country"}
    resumed = run(restored, ["500 Pine St, Portland, OR 97204, US", KEEP])
    assert reviewed(resumed).sections[1].lines[1].value == "500 Pine St, Portland, OR 97204, US"
