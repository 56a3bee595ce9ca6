"""Conversation views rendered for the terminal, read back as the seller would see them."""

from __future__ import annotations

import json
import re
import typing
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console, RenderableType

from bot.conversation.views import (
    ApprovalList,
    Created,
    EligibilityReport,
    InboundCard,
    InboundList,
    InputKind,
    Notice,
    Option,
    Problem,
    Progress,
    Prompt,
    ReferralCard,
    ReferralList,
    Review,
    ReviewLine,
    SignIn,
    StatusChange,
    View,
)
from bot.referrals.models import Referral, ReferralEligibility
from cards import text
from tests.cards.test_approvals_slack import approval
from tests.cards.test_slack import FROM_THE_COUNTRY, GROUPS, grouped

FIXTURES = Path(__file__).parents[1] / "fixtures" / "partner_center"

KINDS = (
    Option(value="private", label="Private lead (not shared with Microsoft)"),
    Option(value="partner_led", label="Partner-led co-sell"),
    Option(value="co_sell", label="Co-sell with Microsoft's help"),
)


def render(renderable: RenderableType) -> str:
    console = Console(record=True, width=100)
    console.print(renderable)
    return console.export_text()


def lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines()]


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def prompt(**changes: Any) -> Prompt:
    fields: dict[str, Any] = {
        "flow": "new",
        "step": "deal_kind",
        "question": "What kind of deal is this?",
        "input": InputKind.SINGLE,
        "required": True,
        "choices": KINDS,
        "progress": Progress(number=5, total=17),
        "can_go_back": True,
    }
    return Prompt(**(fields | changes))


@pytest.fixture
def referral() -> Referral:
    return Referral.from_wire(fixture("get_referral_response.json"))


def test_prompt_shows_progress_question_and_choices_numbered_in_their_order() -> None:
    output = lines(render(text.render_view(prompt())))

    assert output[:5] == [
        "Step 5 of 17",
        "What kind of deal is this?",
        "1. Private lead (not shared with Microsoft)",
        "2. Partner-led co-sell",
        "3. Co-sell with Microsoft's help",
    ]
    assert not any("optional" in line for line in output)


def test_long_choice_lists_keep_every_number_with_its_label() -> None:
    options = tuple(Option(value=f"v{n}", label=f"Choice {n}") for n in range(1, 31))

    output = render(text.render_view(prompt(choices=options)))

    for number in range(1, 31):
        assert re.search(rf"(^|\s){number}\. Choice {number}(\s|$)", output, re.MULTILINE)
    assert len(output.splitlines()) < 20  # laid out in columns, not one per line


def test_optional_prompt_says_how_to_skip_and_shows_the_example_and_current_answer() -> None:
    view = prompt(
        step="name",
        question="What should we call this referral?",
        input=InputKind.TEXT,
        required=False,
        choices=(),
        placeholder="Contoso - Dynamics 365 rollout",
        current="Fabrikam [EU] rollout",
        hint="A name your colleagues will recognize.",
    )

    output = render(text.render_view(view))

    assert "Step 5 of 17 · optional" in output
    assert "What should we call this referral?  (type skip to leave it out)" in output
    assert "For example: Contoso - Dynamics 365 rollout" in output
    assert "Current: Fabrikam [EU] rollout" in output  # brackets as typed, not markup
    assert "A name your colleagues will recognize." in output


def test_an_edit_asking_an_answered_question_again_says_how_to_keep_it() -> None:
    kept = render(text.render_view(prompt(current="Partner-led co-sell", can_keep=True)))
    asked = render(text.render_view(prompt(current="Partner-led co-sell")))

    assert "Current: Partner-led co-sell  (type keep to leave it as it is)" in kept
    assert "type keep" not in asked


def test_prompt_after_a_wrong_answer_shows_the_error_hint_and_the_numbers_to_type() -> None:
    view = prompt(
        error='"privte" is not a known kind of deal.',
        hint="Type a number from 1 to 3, or the name of a kind of deal.",
        suggestions=(KINDS[0], Option(value="elsewhere", label="Not on the list")),
    )

    output = render(text.render_view(view))

    error_line = output.index('✗ "privte" is not a known kind of deal.')
    assert output.index("Type a number from 1 to 3") > error_line
    # The error names the closest values; the card adds the number that picks a listed one.
    assert "Type 1 for Private lead (not shared with Microsoft)." in output
    assert "elsewhere" not in output


def test_prompt_kinds_say_how_to_answer() -> None:
    multi = render(text.render_view(prompt(input=InputKind.MULTI)))
    yes_no = render(text.render_view(prompt(input=InputKind.YES_NO, choices=())))
    searchable = render(
        text.render_view(
            prompt(input=InputKind.COUNTRY, choices=(), searchable=True, catalog="country")
        )
    )

    assert "Pick one or more: numbers or names, separated by commas." in multi
    assert "Answer yes or no." in yes_no
    assert "Type a name or code." in searchable


def test_review_lists_answers_marks_missing_ones_and_says_what_to_type() -> None:
    view = Review(
        flow="new",
        title="New referral",
        lines=(
            ReviewLine(step="name", label="Referral name [x]", value="Contoso [EU] deal"),
            ReviewLine(step="deal_value", label="Deal value", value=None),
            ReviewLine(step="notes", label="Notes", value=None),
        ),
        missing=("Deal value",),
        notice="Someone changed the deal value meanwhile.",
    )

    output = lines(render(text.render_view(view)))

    assert "New referral" in output
    assert any(
        line.startswith("Referral name [x]") and "Contoso [EU] deal" in line for line in output
    )
    assert any(line.startswith("Deal value") and line.endswith("missing") for line in output)
    assert any(line.startswith("Notes") and line.endswith("-") for line in output)
    assert "Someone changed the deal value meanwhile." in output
    assert "Still needed: Deal value." in output
    assert [line for line in output if line][
        -1
    ] == "Type submit to send, edit FIELD to change one, or cancel."


def test_a_review_in_groups_shows_what_is_missing_first_then_each_group_to_edit() -> None:
    output = lines(render(text.render_view(grouped(missing=True, notice="Heads up"))))

    shown = [line for line in output if line]
    assert shown[:3] == ["New referral", "Heads up", "Still needed: City."]
    titles = [f"{title}  (edit {edit})" for edit, title, _ in GROUPS]
    assert [line for line in shown if line in titles] == titles
    deal = shown.index(titles[0])
    assert shown[deal + 1 : deal + 7] == [
        "Kind of deal   An answer",
        "Referral name  An answer",
        "Deal value     An answer",
        f"Currency       USD  ({FROM_THE_COUNTRY})",
        "Left out: Closing date, Notes",
        titles[1],
    ]
    assert "Address        missing" in shown
    assert "Left out: Industries, Products, Services" in shown
    assert shown[-1] == (
        "Type submit to send, edit and a group's or a field's name to change it, or cancel."
    )


def test_a_review_in_groups_after_a_conflict_offers_reapply() -> None:
    output = render(text.render_view(grouped(notice="Changed.", can_reapply=True)))

    assert "Still needed" not in output
    assert "Type reapply to apply your changes on top, edit and a group's" in output


def test_review_after_a_conflict_offers_reapply() -> None:
    view = Review(flow="update", title="Update", lines=(), notice="Changed.", can_reapply=True)

    output = render(text.render_view(view))

    assert "Type reapply to apply your changes on top" in output


def test_created_puts_the_ids_first_and_shows_each_card(referral: Referral) -> None:
    second = referral.model_copy(update={"id": "ms-2", "engagement_id": referral.engagement_id})
    view = Created(referrals=(referral, second), message="Created your referral and asked.")

    output = render(text.render_view(view))

    assert output.startswith("✓ Created your referral and asked.")
    ids = [line for line in lines(output) if line.startswith(("Referral id", "Engagement id"))]
    assert ids == [
        f"Referral id    {referral.id}",
        f"Engagement id  {referral.engagement_id}",
        "Referral id    ms-2",
        f"Engagement id  {referral.engagement_id}",
    ]
    assert output.index("Engagement id  ") < output.index("╭")  # before the cards
    assert output.count("Created: ") == 2  # one card each
    assert f"/referral show {referral.id} shows it again." in output


def test_created_shows_ids_as_sent_even_when_they_look_like_markup(referral: Referral) -> None:
    odd = referral.model_copy(update={"id": "[bold]r-1[/bold]", "engagement_id": None})

    output = lines(render(text.render_view(Created(referrals=(odd,), message="Created."))))

    assert "Referral id    [bold]r-1[/bold]" in output
    assert "Engagement id  -" in output


def test_referral_card_view_shows_the_message_above_the_card(referral: Referral) -> None:
    output = render(text.render_view(ReferralCard(referral=referral, message="Closed as Won.")))

    assert output.startswith("✓ Closed as Won.")
    assert f"{referral.id}" in output
    assert render(text.render_view(ReferralCard(referral=referral))).startswith("╭")


def test_a_registrable_referral_ends_with_how_to_register_it(referral: Referral) -> None:
    offered = render(text.render_view(ReferralCard(referral=referral, registrable=True)))
    said = render(
        text.render_view(ReferralCard(referral=referral, message="Updated.", registrable=True))
    )
    plain = render(text.render_view(ReferralCard(referral=referral)))

    assert offered.startswith("╭")
    assert offered.rstrip().splitlines()[-1] == (
        f"Deal registration: /referral register {referral.id}"
    )
    assert said.startswith("✓ Updated.")
    assert said.rstrip().endswith(f"/referral register {referral.id}")
    assert "Deal registration" not in plain


def test_no_registration_hint_for_a_referral_without_an_id(referral: Referral) -> None:
    unsent = referral.model_copy(update={"id": None})

    output = render(text.render_view(ReferralCard(referral=unsent, registrable=True)))

    assert "Deal registration" not in output


def test_referral_list_has_its_title_and_table(referral: Referral) -> None:
    output = render(text.render_view(ReferralList(title="Open referrals", referrals=(referral,))))
    empty = render(text.render_view(ReferralList(title="Won referrals", referrals=())))

    assert output.startswith("Open referrals")
    assert "1 referral" in output
    assert empty.splitlines() == ["Won referrals", "No referrals found."]


def test_eligibility_view_uses_the_eligibility_report() -> None:
    eligibility = ReferralEligibility.from_wire(fixture("referral_eligibility_response.json"))

    output = render(text.render_view(EligibilityReport(referral_id="r-1", eligibility=eligibility)))

    assert "Referral r-1 is eligible for deal registration" in output


def test_notice_shows_its_detail_below() -> None:
    output = render(text.render_view(Notice(message="What I can do:", detail="a\nb")))

    assert output.splitlines() == ["What I can do:", "a", "b"]


def test_problem_shows_message_hint_and_reference() -> None:
    view = Problem(
        message="Partner Center said: no [such] referral",
        hint="Check the id.",
        reference="req-42",
    )

    output = render(text.render_view(view)).splitlines()

    assert output == [
        "✗ Partner Center said: no [such] referral",
        "Check the id.",
        "Reference: req-42",
    ]
    assert render(text.render_view(Problem(message="Nope."))).splitlines() == ["✗ Nope."]


@pytest.mark.parametrize("sandbox", [True, False])
def test_chat_banner_says_where_things_live_and_how_to_start(sandbox: bool) -> None:
    banner = text.chat_banner(
        seller="Ana Lopez",
        email="ana@contoso.com",
        redis_url="unix:///data/redis/redis.sock",
        data_dir=Path("/data"),
        partner_center_url="https://api.partner.microsoft.com/v1.0",
        sandbox=sandbox,
    )

    output = " ".join(render(banner).replace("│", " ").split())

    assert "Ana Lopez <ana@contoso.com>" in output
    assert "Drafts unix:///data/redis/redis.sock" in output
    assert "Data folder /data" in output
    if sandbox:
        assert "built-in sandbox (demo data; for the real one, set ENTRA_CLIENT_ID" in output
    else:
        assert "Partner Center https://api.partner.microsoft.com/v1.0" in output
    assert "Type /referral new to create a referral, /referral help for more, quit to leave." in (
        output
    )


def test_a_status_change_says_what_happened_why_the_facts_and_the_link() -> None:
    view = StatusChange(
        event="lost",
        referral_id="r-1",
        name="Contoso [bold]pilot[/bold]",
        customer="Contoso",
        value=1234.5,
        currency="EUR",
        before="Active, Accepted",
        after="Closed, Lost",
        reason="[red]Budget[/red] cut",
        team=("Ada Lovelace",),
        closing=date(2026, 6, 30),
        link="https://partner.microsoft.com/referrals/r-1",
    )

    output = lines(render(text.render_view(view)))

    assert output == [
        "📉 Lost: Contoso [bold]pilot[/bold]",
        "Reason: [red]Budget[/red] cut",
        "Customer    Contoso",
        "Deal value  1,234.50 EUR",
        "Status      Active, Accepted → Closed, Lost",
        "Team        Ada Lovelace",
        "Closing     2026-06-30",
        "Id          r-1",
        "https://partner.microsoft.com/referrals/r-1",
    ]


def test_a_new_referral_shows_only_what_is_known() -> None:
    output = lines(
        render(text.render_view(StatusChange(event="new", referral_id="r-2", after="New")))
    )

    assert output == ["🆕 New referral: (unnamed referral)", "Status  New", "Id      r-2"]


def test_every_view_type_has_a_renderer(referral: Referral) -> None:
    views: list[View] = [
        prompt(),
        Review(flow="new", title="t", lines=()),
        Created(referrals=(referral,), message="m"),
        ReferralCard(referral=referral),
        ReferralList(title="t", referrals=()),
        EligibilityReport(referral_id="r", eligibility=ReferralEligibility(is_eligible=True)),
        Notice(message="m"),
        Problem(message="m"),
        SignIn(url="https://login.example/", message="m"),
        StatusChange(event="won", referral_id="r", after="Closed, Won"),
        approval(),
        ApprovalList(title="t", approvals=(approval(),)),
        InboundCard(referral=referral, status="waiting", days_left=3),
        InboundList(title="t", referrals=(InboundCard(referral=referral, status="expired"),)),
    ]
    members = typing.get_args(typing.get_args(View)[0])  # View is Annotated[A | B | ..., ...]
    assert {view.kind for view in views} == {m.model_fields["kind"].default for m in members}

    for view in views:
        assert render(text.render_view(view)).strip()
