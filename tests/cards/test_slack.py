"""Conversation views rendered as Block Kit: the right control per step, and Slack's limits
held whatever the data."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.conversation.views import (
    Command,
    CommandName,
    Created,
    DraftSummary,
    EligibilityReport,
    Home,
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
    ReviewSection,
    SignIn,
    StatusChange,
    View,
)
from bot.conversation.vocabulary.flows import FLOWS
from bot.conversation.vocabulary.flows.new_referral import FLOW as NEW_REFERRAL
from bot.referrals.models import Referral, ReferralEligibility
from cards import words
from cards.ids import STEP_BLOCK_PREFIX, Action
from cards.slack import (
    SlackMessage,
    answered,
    decode_choice,
    encode_choice,
    escape,
    external_options,
    home,
    message,
)
from handlers.slack.inputs import action_input
from tests.support.prompts import flow_prompts

FIXTURES = Path(__file__).parents[1] / "fixtures" / "partner_center"
TODAY = date(2026, 5, 1)
NASTY = "Contoso <Test> & Co"
ESCAPED = "Contoso &lt;Test&gt; &amp; Co"
TEXT_KINDS = (
    InputKind.TEXT,
    InputKind.LONG_TEXT,
    InputKind.MONEY,
    InputKind.EMAIL,
    InputKind.PHONE,
)
KINDS = (
    Option(value="private", label="Private lead (not shared with Microsoft)"),
    Option(value="partner_led", label="Partner-led co-sell"),
    Option(value="co_sell", label="Co-sell with Microsoft's help"),
)
INTERACTIVE = {
    "button",
    "static_select",
    "external_select",
    "multi_static_select",
    "multi_external_select",
    "datepicker",
    "overflow",
}


# -- helpers --------------------------------------------------------------------------------


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object inside ``node``, ``node`` included."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def elements(blocks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every interactive element: in actions rows and as section accessories."""
    return [node for node in walk(list(blocks)) if node.get("type") in INTERACTIVE]


def controls(blocks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Interactive elements other than the Back/Skip/Review/Cancel row."""
    nav = {Action.BACK, Action.KEEP, Action.SKIP, Action.REVIEW, Action.CANCEL}
    return [element for element in elements(blocks) if element.get("action_id") not in nav]


def mrkdwn_texts(blocks: Sequence[dict[str, Any]]) -> list[str]:
    return [node["text"] for node in walk(list(blocks)) if node.get("type") == "mrkdwn"]


def plain_texts(blocks: Sequence[dict[str, Any]]) -> list[str]:
    return [node["text"] for node in walk(list(blocks)) if node.get("type") == "plain_text"]


def assert_within_limits(blocks: Sequence[dict[str, Any]], *, max_blocks: int = 50) -> None:
    """Every Block Kit limit the renderers promise to keep."""
    assert 0 < len(blocks) <= max_blocks
    block_ids = [block["block_id"] for block in blocks if "block_id" in block]
    assert len(block_ids) == len(set(block_ids)), "block ids must be unique in a message"
    for block in blocks:
        assert len(block.get("block_id", "")) <= 255
        kind = block["type"]
        if kind == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                assert 0 < len(block["text"]["text"]) <= 3000
            fields = block.get("fields", [])
            assert len(fields) <= 10
            assert all(0 < len(field["text"]) <= 2000 for field in fields)
        elif kind == "actions":
            assert 0 < len(block["elements"]) <= 25
            action_ids = [element["action_id"] for element in block["elements"]]
            assert len(action_ids) == len(set(action_ids)), "action ids repeat in one row"
        elif kind == "context":
            assert 0 < len(block["elements"]) <= 10
            assert all(0 < len(element["text"]) <= 3000 for element in block["elements"])
        elif kind == "header":
            assert 0 < len(block["text"]["text"]) <= 150
    for element in elements(blocks):
        assert 0 < len(element["action_id"]) <= 255
        if element["type"] == "button":
            assert 0 < len(element["text"]["text"]) <= 75
            assert len(element.get("value", "")) <= 2000
        if "options" in element:
            assert 0 < len(element["options"]) <= (5 if element["type"] == "overflow" else 100)
            assert_options(element["options"])
        if "placeholder" in element:
            assert len(element["placeholder"]["text"]) <= 150
    assert all(text.strip() for text in [*mrkdwn_texts(blocks), *plain_texts(blocks)])


def assert_options(options: Sequence[dict[str, Any]]) -> None:
    for option in options:
        assert 0 < len(option["text"]["text"]) <= 75
        assert 0 < len(option["value"]) <= 150


def assert_valid(card: SlackMessage) -> None:
    assert card.text.strip()
    assert_within_limits(card.blocks)


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


def options(count: int, *, label: str = "Option") -> tuple[Option, ...]:
    return tuple(Option(value=f"v{i},x&y (z)", label=f"{label} {i}") for i in range(count))


def referrals(count: int) -> tuple[Referral, ...]:
    """``count`` referrals made from the listing fixture, each with its own id and name."""
    page = fixture("list_referrals_page1_response.json")["value"]
    made = []
    for number in range(count):
        data = copy.deepcopy(page[number % len(page)])
        data["id"] = f"00000000-0000-0000-0000-{number:012d}"
        data["name"] = f"{data.get('name') or 'Referral'} #{number}"
        made.append(Referral.from_wire(data))
    return tuple(made)


@pytest.fixture
def referral() -> Referral:
    return Referral.from_wire(fixture("get_referral_response.json"))


# -- prompts --------------------------------------------------------------------------------


def test_prompt_shows_progress_question_and_one_button_per_choice() -> None:
    card = message(prompt())

    assert_valid(card)
    assert card.blocks[0]["elements"][0]["text"] == "Step 5 of 17"
    assert card.blocks[1]["text"]["text"] == "*What kind of deal is this?*"
    picks = controls(card.blocks)
    assert [pick["type"] for pick in picks] == ["button"] * 3
    assert {pick["action_id"] for pick in picks} == {Action.CHOOSE}
    assert [pick["text"]["text"] for pick in picks] == [option.label for option in KINDS]
    assert [decode_choice(pick["value"]) for pick in picks] == [
        ("deal_kind", option.value) for option in KINDS
    ]
    assert "Step 5 of 17" in card.text


@pytest.mark.parametrize(
    ("changes", "kind", "action"),
    [
        ({"choices": options(12)}, "static_select", Action.CHOOSE),
        ({"choices": options(100)}, "static_select", Action.CHOOSE),
        ({"choices": options(101)}, "external_select", Action.SEARCH),
        (
            {"choices": (), "searchable": True, "catalog": "industry"},
            "external_select",
            Action.SEARCH,
        ),
        (
            {"input": InputKind.MULTI, "choices": options(14)},
            "multi_static_select",
            Action.CHOOSE_MANY,
        ),
        (
            {"input": InputKind.MULTI, "choices": (), "searchable": True, "catalog": "industry"},
            "multi_external_select",
            Action.CHOOSE_MANY,
        ),
        ({"input": InputKind.DATE, "choices": ()}, "datepicker", Action.PICK_DATE),
        (
            {"input": InputKind.COUNTRY, "choices": (), "searchable": True, "catalog": "country"},
            "external_select",
            Action.SEARCH,
        ),
        (
            {"input": InputKind.CURRENCY, "choices": (), "searchable": True, "catalog": "currency"},
            "external_select",
            Action.SEARCH,
        ),
    ],
)
def test_each_kind_of_step_gets_its_control_with_the_step_in_the_block_id(
    changes: dict[str, Any], kind: str, action: Action
) -> None:
    card = message(prompt(step="industries", **changes))

    assert_valid(card)
    [control] = controls(card.blocks)
    assert (control["type"], control["action_id"]) == (kind, action)
    [row] = [
        block
        for block in card.blocks
        if control in block.get("elements", []) or control == block.get("accessory")
    ]
    assert row["block_id"] == f"{STEP_BLOCK_PREFIX}industries"
    if "select" in kind and "external" not in kind:
        assert_options(control["options"])
    if "external" in kind:
        assert control["min_query_length"] == 1


def test_yes_no_is_two_buttons_each_naming_the_step() -> None:
    card = message(prompt(step="consent_contact", input=InputKind.YES_NO, choices=()))

    picks = controls(card.blocks)
    assert [(pick["type"], pick["action_id"]) for pick in picks] == [
        ("button", Action.CHOOSE),
        ("button", Action.CHOOSE),
    ]
    assert [pick["text"]["text"] for pick in picks] == ["Yes", "No"]
    assert [decode_choice(pick["value"]) for pick in picks] == [
        ("consent_contact", "yes"),
        ("consent_contact", "no"),
    ]


@pytest.mark.parametrize("kind", TEXT_KINDS)
def test_typed_answers_are_asked_for_as_a_reply_with_the_example(kind: InputKind) -> None:
    card = message(prompt(input=kind, choices=(), placeholder="Contoso - Dynamics 365 rollout"))

    assert_valid(card)
    assert controls(card.blocks) == []
    assert "Type your answer as a reply." in mrkdwn_texts(card.blocks)
    assert "For example: _Contoso - Dynamics 365 rollout_" in mrkdwn_texts(card.blocks)


@pytest.mark.parametrize(
    ("current", "initial"),
    [("2026-12-31", "2026-12-31"), ("in 30 days", None), ("2026-02-30", None), (None, None)],
)
def test_date_picker_starts_at_the_current_answer_when_it_is_a_date(
    current: str | None, initial: str | None
) -> None:
    card = message(prompt(step="closing_date", input=InputKind.DATE, choices=(), current=current))

    [picker] = controls(card.blocks)
    assert picker.get("initial_date") == initial


def test_the_current_choice_stands_out() -> None:
    card = message(prompt(current="Partner-led co-sell"))

    styles = [pick.get("style") for pick in controls(card.blocks)]
    assert styles == [None, "primary", None]


@pytest.mark.parametrize(
    ("can_go_back", "required", "expected"),
    [
        (True, True, [Action.BACK, Action.REVIEW, Action.CANCEL]),
        (False, False, [Action.SKIP, Action.REVIEW, Action.CANCEL]),
        (True, False, [Action.BACK, Action.SKIP, Action.REVIEW, Action.CANCEL]),
    ],
)
def test_navigation_row_names_the_step_and_cancel_asks_first(
    can_go_back: bool, required: bool, expected: list[Action]
) -> None:
    card = message(prompt(can_go_back=can_go_back, required=required))

    row = card.blocks[-1]
    assert [element["action_id"] for element in row["elements"]] == expected
    assert {element["value"] for element in row["elements"]} == {"deal_kind"}
    cancel = row["elements"][-1]
    assert cancel["style"] == "danger"
    assert cancel["confirm"]["title"]["text"]


@pytest.mark.parametrize("required", [True, False])
def test_an_edit_asking_an_answered_question_again_offers_keep_pinned_to_the_step(
    required: bool,
) -> None:
    kept = message(prompt(required=required, current="Partner-led co-sell", can_keep=True))
    asked = message(prompt(required=required, current="Partner-led co-sell"))

    assert_valid(kept)
    row = kept.blocks[-1]["elements"]
    skip = [] if required else [Action.SKIP]
    assert [element["action_id"] for element in row] == [
        Action.BACK,
        Action.KEEP,
        *skip,
        Action.REVIEW,
        Action.CANCEL,
    ]
    [keep] = [element for element in row if element["action_id"] == Action.KEEP]
    assert (keep["text"]["text"], keep["value"]) == ("Keep", "deal_kind")
    assert action_input(keep) == Command(name=CommandName.KEEP, step="deal_kind")
    assert Action.KEEP not in [element["action_id"] for element in elements(asked.blocks)]


def test_an_error_shows_the_hint_and_suggestions_to_click() -> None:
    card = message(
        prompt(
            step="country",
            input=InputKind.COUNTRY,
            choices=(),
            searchable=True,
            catalog="country",
            error="Germny is not a country I know.",
            hint="Type a name or a two-letter code.",
            suggestions=(Option(value="DE", label="Germany"), Option(value="GM", label="Gambia")),
        )
    )

    assert_valid(card)
    assert ":warning: Germny is not a country I know.\nType a name or a two-letter code." in (
        mrkdwn_texts(card.blocks)
    )
    picks = [element for element in controls(card.blocks) if element["type"] == "button"]
    assert [decode_choice(pick["value"]) for pick in picks] == [
        ("country", "DE"),
        ("country", "GM"),
    ]
    assert [element["type"] for element in controls(card.blocks)][-1] == "external_select"


def test_every_step_of_every_flow_renders_within_limits() -> None:
    for asked in flow_prompts(TODAY):
        card = message(asked)
        assert_valid(card)
        found = {(element["type"], element["action_id"]) for element in controls(card.blocks)}
        if asked.input in (InputKind.COUNTRY, InputKind.CURRENCY):
            assert found == {("external_select", Action.SEARCH)}, asked.step
        elif asked.input is InputKind.DATE:
            assert found == {("datepicker", Action.PICK_DATE)}, asked.step
        elif asked.input is InputKind.MULTI:
            assert found == {("multi_static_select", Action.CHOOSE_MANY)}, asked.step
        elif asked.input is InputKind.YES_NO:
            assert found == {("button", Action.CHOOSE)}, asked.step
        elif asked.input in TEXT_KINDS:
            assert found == set(), asked.step


def test_options_too_long_to_send_back_are_left_for_typing() -> None:
    card = message(prompt(choices=(*options(7), Option(value="x" * 151, label="Too long"))))

    [select] = controls(card.blocks)
    assert len(select["options"]) == 7
    assert "Or type your answer as a reply." in mrkdwn_texts(card.blocks)


def test_answered_card_keeps_question_and_answer_and_nothing_to_click() -> None:
    for record in (answered(prompt(), NASTY), answered("What kind of deal is this?", NASTY)):
        assert_valid(record)
        assert elements(record.blocks) == []
        assert all(block["type"] != "actions" for block in record.blocks)
        assert f"*What kind of deal is this?*\n✓ {ESCAPED}" in mrkdwn_texts(record.blocks)


# -- escaping -------------------------------------------------------------------------------


def test_data_is_escaped_in_mrkdwn_and_shown_as_typed_in_plain_text(referral: Referral) -> None:
    named = referral.model_copy(update={"name": NASTY})
    named.customer_profile.name = NASTY  # type: ignore[union-attr]
    views: list[View] = [
        prompt(
            question=NASTY, current=NASTY, error=NASTY, choices=(Option(value="a", label=NASTY),)
        ),
        Review(
            flow="new",
            title="New referral",
            lines=(ReviewLine(step="customer_name", label="Customer", value=NASTY),),
        ),
        grouped(value=NASTY),
        ReferralCard(referral=named, message=NASTY),
        ReferralList(title="Open", referrals=(named,)),
        Created(referrals=(named,), message=NASTY),
        Notice(message=NASTY, detail=NASTY),
        Problem(message=NASTY, hint=NASTY, reference=NASTY),
        SignIn(url="https://login.example/authorize?x=1", message=NASTY, detail=NASTY),
        status_change(name=NASTY, customer=NASTY, reason=NASTY, team=(NASTY,)),
    ]
    for view in views:
        card = message(view)
        texts = mrkdwn_texts(card.blocks)
        assert any(ESCAPED in text for text in texts), view.kind
        assert not any(NASTY in text for text in texts), view.kind
        assert NASTY not in card.text
    picks = controls(message(views[0]).blocks)
    assert picks[0]["text"]["text"] == NASTY


def test_escape_replaces_only_the_three_characters() -> None:
    assert escape("a & b < c > d * _e_") == "a &amp; b &lt; c &gt; d * _e_"


def test_clipping_never_cuts_an_entity_in_half() -> None:
    card = message(Notice(message="&" * 4000))

    text = card.blocks[0]["text"]["text"]
    assert len(text) <= 3000
    assert text.endswith("&amp;…")


# -- review ---------------------------------------------------------------------------------


def review(count: int, **changes: Any) -> Review:
    steps = [step for flow in FLOWS.values() for step in flow.steps]
    lines = tuple(
        ReviewLine(
            step=f"{steps[i % len(steps)].id}_{i}",
            label=f"{steps[i % len(steps)].label} {i}",
            value=None if i % 7 == 3 else f"answer {i}",
        )
        for i in range(count)
    )
    fields: dict[str, Any] = {"flow": "new", "title": "New referral", "lines": lines}
    return Review(**(fields | changes))


def test_review_of_the_new_referral_flow_has_an_edit_button_per_line() -> None:
    lines = tuple(
        ReviewLine(step=step.id, label=step.label, value=None if step.id == "city" else "x")
        for step in NEW_REFERRAL.steps
    )
    assert len(lines) > 30
    card = message(
        Review(flow="new", title="New referral", lines=lines, missing=("City",), notice="Heads up")
    )

    assert_valid(card)
    edits = [element for element in elements(card.blocks) if element["action_id"] == Action.EDIT]
    assert [edit["value"] for edit in edits] == [step.id for step in NEW_REFERRAL.steps]
    assert "*City*\n_missing_" in mrkdwn_texts(card.blocks)
    assert ":warning: Still needed: City." in mrkdwn_texts(card.blocks)
    assert ":warning: Heads up" in mrkdwn_texts(card.blocks)
    decisions = card.blocks[-1]["elements"]
    assert [d["action_id"] for d in decisions] == [Action.SUBMIT, Action.CANCEL]
    assert decisions[0]["style"] == "primary"


def test_review_offers_reapply_when_the_referral_changed_underneath() -> None:
    card = message(review(5, notice="Someone else changed it.", can_reapply=True))

    decisions = card.blocks[-1]["elements"]
    assert [d["action_id"] for d in decisions] == [Action.SUBMIT, Action.REAPPLY, Action.CANCEL]
    assert decisions[1]["style"] == "primary"


@pytest.mark.parametrize("count", [0, 46, 47, 60, 120, 230])
def test_a_review_of_any_length_fits_one_message_and_every_line_stays_editable(
    count: int,
) -> None:
    view = review(count, missing=("x",), notice="n")
    card = message(view)

    assert_valid(card)
    edited = set()
    for element in elements(card.blocks):
        if element["action_id"] == Action.EDIT:
            edited |= {o["value"] for o in element.get("options", [])} | {element.get("value")}
    assert {line.step for line in view.lines} <= edited


def test_a_review_too_long_to_show_counts_the_rest() -> None:
    card = message(review(400))

    assert_valid(card)
    assert any("more fields are not shown" in text for text in mrkdwn_texts(card.blocks))


GROUPS = (
    ("the_deal", "The deal", ("Kind of deal", "Referral name", "Deal value", "Currency")),
    ("the_customer", "The customer", ("Customer", "Address", "Customer size")),
    ("the_contact", "Their contact", ("Contact",)),
    ("needs", "What they need", ("Solutions", "Partner role", "Solution area")),
    ("microsoft", "Microsoft's help", ("Help wanted", "Notes for Microsoft")),
    ("sharing", "What is shared", ("Consents",)),
    ("your_team", "Your team", ("You", "Also on your team")),
)
"""The new-referral flow's review groups: the ``edit`` each sends, the title, the lines."""
LEFT_OUT = {"the_deal": ("Closing date", "Notes"), "needs": ("Industries", "Products", "Services")}
FROM_THE_COUNTRY = "from the customer's country"


def grouped(*, value: str = "An answer", missing: bool = False, **changes: Any) -> Review:
    """A review in :data:`GROUPS`, every line answered with ``value`` but the currency (taken
    from the customer's country), and the address still needed when ``missing``."""

    def line(edit: str, number: int, label: str) -> ReviewLine:
        step = f"{edit}_{number}"
        if label == "Currency":
            return ReviewLine(step=step, label=label, value="USD", note=FROM_THE_COUNTRY)
        needed = missing and label == "Address"
        return ReviewLine(step=step, label=label, value=None if needed else value)

    sections = tuple(
        ReviewSection(
            edit=edit,
            title=title,
            lines=tuple(line(edit, number, label) for number, label in enumerate(labels)),
            left_out=LEFT_OUT.get(edit, ()),
        )
        for edit, title, labels in GROUPS
    )
    fields: dict[str, Any] = {
        "flow": "new",
        "title": "New referral",
        "lines": tuple(line for section in sections for line in section.lines),
        "sections": sections,
        "missing": ("City",) if missing else (),
    }
    return Review(**(fields | changes))


def test_a_review_in_groups_has_one_edit_per_group_with_what_is_missing_first() -> None:
    card = message(grouped(missing=True, notice="Heads up"))

    assert_valid(card)
    edits = [element for element in elements(card.blocks) if element["action_id"] == Action.EDIT]
    assert [edit["value"] for edit in edits] == [edit for edit, _, _ in GROUPS]
    groups = [block for block in card.blocks if "accessory" in block]
    assert [block["accessory"]["value"] for block in groups] == [edit for edit, _, _ in GROUPS]
    assert all(block["accessory"]["text"]["text"] == "Edit" for block in groups)
    texts = [block.get("text", {}).get("text") for block in card.blocks]
    needed = texts.index(":warning: Still needed: City.")
    assert texts.index(":warning: Heads up") < needed < card.blocks.index(groups[0])
    deal = groups[0]["text"]["text"].split("\n")
    assert deal == [
        "*The deal*",
        "Kind of deal: An answer",
        "Referral name: An answer",
        "Deal value: An answer",
        f"Currency: USD  _({FROM_THE_COUNTRY})_",
        "_Left out: Closing date, Notes_",
    ]
    assert "Address: _missing_" in groups[1]["text"]["text"].split("\n")
    assert groups[3]["text"]["text"].endswith("\n_Left out: Industries, Products, Services_")
    decisions = card.blocks[-1]["elements"]
    assert [d["action_id"] for d in decisions] == [Action.SUBMIT, Action.CANCEL]


def test_a_complete_review_in_groups_needs_nothing_and_can_be_reapplied() -> None:
    card = message(grouped(notice="Someone else changed it.", can_reapply=True))

    assert_valid(card)
    assert not any("Still needed" in text for text in mrkdwn_texts(card.blocks))
    decisions = card.blocks[-1]["elements"]
    assert [d["action_id"] for d in decisions] == [Action.SUBMIT, Action.REAPPLY, Action.CANCEL]


def test_seven_groups_of_long_answers_stay_within_limits_and_each_keeps_its_edit() -> None:
    long = "Contoso <&> " * 500  # 6,000 characters, longer still once escaped
    view = grouped(value=long, missing=True, notice=long)
    card = message(view)

    assert_valid(card)
    assert len(card.blocks) <= 50
    groups = [block for block in card.blocks if "accessory" in block]
    assert [block["accessory"]["value"] for block in groups] == [edit for edit, _, _ in GROUPS]
    for block in card.blocks:
        for text in mrkdwn_texts([block]):
            assert len(text) <= 3000
    deal = groups[0]["text"]["text"]
    assert deal.startswith("*The deal*\nKind of deal: Contoso &lt;&amp;&gt;")
    assert deal.endswith("\n…")  # the lines that did not fit
    assert "<&>" not in deal


def test_a_review_of_more_groups_than_a_message_holds_counts_the_rest() -> None:
    sections = tuple(
        ReviewSection(
            edit=f"group_{number}",
            title=f"Group {number}",
            lines=(ReviewLine(step=f"s{number}", label="Field", value="x"),),
        )
        for number in range(60)
    )
    lines = tuple(line for section in sections for line in section.lines)
    card = message(
        Review(flow="new", title="t", lines=lines, sections=sections, missing=("Field",))
    )

    assert_valid(card)
    edits = [
        element["value"] for element in elements(card.blocks) if element["action_id"] == Action.EDIT
    ]
    assert edits == [f"group_{number}" for number in range(len(edits))]
    assert f"{60 - len(edits)} more groups are not shown" in card.blocks[-2]["elements"][0]["text"]


# -- referrals ------------------------------------------------------------------------------


def test_created_lists_each_referral_with_its_ids_and_a_show_button(referral: Referral) -> None:
    second = referral.model_copy(update={"id": "second-id", "engagement_id": "engagement"})
    card = message(Created(referrals=(referral, second), message="Created 2 referrals."))

    assert_valid(card)
    assert card.text == "Created 2 referrals."
    shows = [element for element in elements(card.blocks) if element["action_id"] == Action.SHOW]
    assert [show["value"] for show in shows] == [referral.id, "second-id"]
    text = "\n".join(mrkdwn_texts(card.blocks))
    assert f"Id: `{referral.id}`" in text
    assert f"Engagement id: `{referral.engagement_id}`" in text
    assert "10,000 USD" in text


def test_referral_card_shows_the_facts(referral: Referral) -> None:
    card = message(ReferralCard(referral=referral, message="Updated."))

    assert_valid(card)
    text = "\n".join(mrkdwn_texts(card.blocks))
    for expected in (
        f"*Id*\n{referral.id}",
        f"*Engagement id*\n{referral.engagement_id}",
        "*Status*\nNew/Pending",
        "*Customer*\nFabrikam Customer Inc (Redmond, US)",
        "*Deal value*\n10,000 USD",
        "*Closing*\n2020-12-01",
        "*Industries*\nEducation",
        "✓ Updated.",
    ):
        assert expected in text
    assert elements(card.blocks) == []


def test_a_registrable_referral_card_ends_with_register_deal(referral: Referral) -> None:
    card = message(ReferralCard(referral=referral, registrable=True))

    assert_valid(card)
    (register,) = elements(card.blocks)
    assert card.blocks[-1]["type"] == "actions"
    assert register["text"]["text"] == words.REGISTER == "Register deal"
    assert (register["action_id"], register["value"]) == (Action.REGISTER, referral.id)
    assert register["style"] == "primary"


@pytest.mark.parametrize("referral_id", [None, "", "r" * 2001])
def test_no_register_button_without_an_id_that_travels_whole(
    referral: Referral, referral_id: str | None
) -> None:
    unsent = referral.model_copy(update={"id": referral_id})

    card = message(ReferralCard(referral=unsent, registrable=True))

    assert_valid(card)
    assert elements(card.blocks) == []


def test_long_notes_are_clipped_with_an_ellipsis(referral: Referral) -> None:
    referral.details.notes = "word " * 2000  # type: ignore[union-attr]
    card = message(ReferralCard(referral=referral))

    assert_valid(card)
    notes = next(text for text in mrkdwn_texts(card.blocks) if text.startswith("*Notes*"))
    assert len(notes) == 3000
    assert notes.endswith("…")


def test_a_list_of_25_shows_20_with_show_buttons_and_counts_them() -> None:
    listed = referrals(25)
    card = message(ReferralList(title="Open referrals", referrals=listed, total=25))

    assert_valid(card)
    shows = [element for element in elements(card.blocks) if element["action_id"] == Action.SHOW]
    assert [show["value"] for show in shows] == [r.id for r in listed[:20]]
    assert card.blocks[-1]["elements"][0]["text"] == "20 of 25 referrals"
    assert card.blocks[0]["type"] == "header"


def test_an_empty_list_says_so() -> None:
    card = message(ReferralList(title="Open referrals", referrals=()))

    assert_valid(card)
    assert "No referrals found." in mrkdwn_texts(card.blocks)


def test_eligibility_marks_each_policy_with_what_it_looked_at() -> None:
    eligibility = ReferralEligibility.from_wire(fixture("referral_eligibility_response.json"))
    card = message(EligibilityReport(referral_id="abc", eligibility=eligibility))

    assert_valid(card)
    texts = mrkdwn_texts(card.blocks)
    assert texts[0].startswith("✓ Referral abc is eligible") or texts[0].startswith("✗")
    assert (
        "✓ *The deal is shared with Microsoft (co-sell or partner-led).*\nLooked at: type=Shared"
        in texts
    )


def test_a_failed_policy_says_what_would_fix_it() -> None:
    failed = {
        "policyName": "isMicrosoftReferralAcceptedOrWon",
        "isEligible": False,
        "referralProperties": {"status": "New", "substatus": "Pending"},
    }
    eligibility = ReferralEligibility.from_wire({"isEligible": False, "failedPolicies": [failed]})
    texts = mrkdwn_texts(
        message(EligibilityReport(referral_id="abc", eligibility=eligibility)).blocks
    )
    assert (
        "✗ *Microsoft's side has not accepted it yet.*\n"
        "Wait for the Microsoft seller to accept the co-sell invitation.\n"
        "Looked at: status=New, substatus=Pending"
    ) in texts


def test_eligibility_with_many_policies_fits() -> None:
    policy = {"policyName": "p", "isEligible": False, "referralProperties": {"k": None}}
    eligibility = ReferralEligibility.from_wire(
        {"isEligible": False, "failedPolicies": [policy] * 80}
    )
    card = message(EligibilityReport(referral_id="abc", eligibility=eligibility))

    assert_valid(card)
    assert "32 more policies not shown." in mrkdwn_texts(card.blocks)


def test_notice_and_problem() -> None:
    notice = message(Notice(message="Cancelled.", detail="Commands: new, list"))
    problem = message(
        Problem(message="Partner Center refused.", hint="Try later.", reference="ab12")
    )

    assert_valid(notice)
    assert_valid(problem)
    assert mrkdwn_texts(notice.blocks) == ["Cancelled.", "Commands: new, list"]
    assert notice.blocks[1]["type"] == "context"
    assert mrkdwn_texts(problem.blocks) == [
        ":x: Partner Center refused.\nTry later.",
        "Reference: ab12",
    ]
    assert problem.text == "Partner Center refused."


# -- a channel's status card ----------------------------------------------------------------

PARTNER_CENTER = "https://partner.microsoft.com/dashboard/referrals/v2/leads/3f2504e0"


def status_change(**changes: Any) -> StatusChange:
    fields: dict[str, Any] = {
        "event": "won",
        "referral_id": "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
        "name": "Contoso pilot",
        "customer": "Contoso",
        "value": 120_000.0,
        "currency": "USD",
        "before": "Active, Accepted",
        "after": "Closed, Won",
        "team": ("Ada Lovelace", "grace.hopper@contoso.example"),
        "closing": date(2026, 6, 30),
        "link": PARTNER_CENTER,
    }
    return StatusChange(**(fields | changes))


def test_a_won_card_celebrates_with_the_facts_and_both_buttons() -> None:
    won = status_change()
    card = message(won)

    assert_valid(card)
    assert card.text == "🎉 Won: Contoso pilot · Contoso"
    assert card.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "🎉 Won: Contoso pilot", "emoji": True},
    }
    texts = mrkdwn_texts(card.blocks)
    assert texts[:5] == [
        "*Customer*\nContoso",
        "*Deal value*\n120,000 USD",
        "*Status*\nActive, Accepted → Closed, Won",
        "*Team*\nAda Lovelace, grace.hopper@contoso.example",
        "*Closing*\n2026-06-30",
    ]
    assert f"Id: `{won.referral_id}`" in texts
    opened, show = elements(card.blocks)
    assert opened["url"] == PARTNER_CENTER
    assert opened["action_id"] == Action.OPEN_IN_PARTNER_CENTER
    assert opened["text"]["text"] == words.OPEN_IN_PARTNER_CENTER
    assert "value" not in opened
    assert (show["action_id"], show["value"]) == (Action.SHOW, won.referral_id)


@pytest.mark.parametrize(
    ("event", "headline"),
    [
        ("new", "🆕 New referral: Contoso pilot"),
        ("accepted", "🤝 Accepted: Contoso pilot"),
        ("won", "🎉 Won: Contoso pilot"),
        ("lost", "📉 Lost: Contoso pilot"),
        ("declined", "🚫 Declined: Contoso pilot"),
        ("expired", "⌛ Expired: Contoso pilot"),
    ],
)
def test_the_headline_says_what_happened_in_plain_words(event: str, headline: str) -> None:
    card = message(status_change(event=event))

    assert_valid(card)
    assert plain_texts(card.blocks)[0] == headline
    assert card.text.startswith(headline)


@pytest.mark.parametrize("event", ["lost", "declined"])
def test_lost_and_declined_say_why_under_the_headline(event: str) -> None:
    card = message(status_change(event=event, after="Closed, Lost", reason="Went with a rival"))

    assert_valid(card)
    assert mrkdwn_texts(card.blocks)[0] == "*Reason:* Went with a rival"


def test_a_new_referral_has_only_its_status_and_what_is_unknown_is_left_out() -> None:
    card = message(
        StatusChange(event="new", referral_id="r-1", after="New, Pending", name=None, link=None)
    )

    assert_valid(card)
    assert card.text == "🆕 New referral: (unnamed referral)"
    assert mrkdwn_texts(card.blocks) == ["*Status*\nNew, Pending", "Id: `r-1`"]
    (show,) = elements(card.blocks)  # no link, no Open button
    assert (show["action_id"], show["value"]) == (Action.SHOW, "r-1")


def test_a_link_or_id_that_cannot_travel_whole_gets_no_button() -> None:
    too_long = status_change(referral_id="r" * 2001, link="https://x.example/" + "a" * 3000)
    not_a_web_page = status_change(link="javascript:alert(1)")

    assert elements(message(too_long).blocks) == []
    assert [e["action_id"] for e in elements(message(not_a_web_page).blocks)] == [Action.SHOW]
    assert_valid(message(too_long))


def test_a_status_card_headline_shows_a_name_as_typed_and_long_texts_are_clipped() -> None:
    card = message(status_change(name=NASTY * 20, reason="why " * 1000, team=("x" * 3000,)))

    assert_valid(card)
    assert plain_texts(card.blocks)[0].startswith(f"🎉 Won: {NASTY}")
    assert plain_texts(card.blocks)[0].endswith("…")
    assert mrkdwn_texts(card.blocks)[0].endswith("…")


# -- home -----------------------------------------------------------------------------------


def test_home_shows_the_draft_with_resume_and_the_open_referrals() -> None:
    draft = DraftSummary(
        flow="new",
        title="New referral",
        progress=Progress(number=3, total=17),
        updated_at=datetime(2026, 5, 1, 12, 30, tzinfo=UTC),
    )
    surface = home(Home(draft=draft, referrals=referrals(25), total=40))

    assert surface["type"] == "home"
    assert_within_limits(surface["blocks"], max_blocks=100)
    [resume] = [e for e in elements(surface["blocks"]) if e["action_id"] == Action.RESUME]
    assert resume["type"] == "button"
    text = "\n".join(mrkdwn_texts(surface["blocks"]))
    assert "Step 3 of 17" in text
    assert "2026-05-01 12:30 UTC" in text
    shows = [e for e in elements(surface["blocks"]) if e["action_id"] == Action.SHOW]
    assert len(shows) == 20
    assert "20 of 40 referrals" in text
    assert "Your open referrals" in plain_texts(surface["blocks"])


def test_home_without_a_draft_says_how_to_start_and_shows_the_problem() -> None:
    surface = home(Home(draft=None, referrals=(), problem=f"Partner Center said {NASTY}"))

    assert_within_limits(surface["blocks"], max_blocks=100)
    texts = mrkdwn_texts(surface["blocks"])
    assert words.NO_DRAFT in texts
    assert f":warning: Partner Center said {ESCAPED}" in texts
    assert elements(surface["blocks"]) == []


def test_home_with_a_naive_time_and_a_draft_at_its_review() -> None:
    draft = DraftSummary(
        flow="new", title="New referral", progress=None, updated_at=datetime(2026, 5, 1, 12, 30)
    )
    surface = home(Home(draft=draft, referrals=()))

    assert "Ready to review" in "\n".join(mrkdwn_texts(surface["blocks"]))


# -- type-ahead -----------------------------------------------------------------------------


def test_external_options_stay_within_limits() -> None:
    many = (*options(150, label="L" * 100), Option(value="v" * 151, label="too long"))
    body = external_options(many)

    assert len(body["options"]) == 100
    assert_options(body["options"])
    assert body["options"][0]["value"] == "v0,x&y (z)"
    assert external_options([Option(value="x" * 151, label="x")]) == {"options": []}


# -- choice values --------------------------------------------------------------------------

steps = st.text(st.characters(blacklist_characters="|", blacklist_categories=("Cs",)), max_size=40)
values = st.text(
    st.one_of(st.sampled_from("|,&()<> é中🙂"), st.characters(blacklist_categories=("Cs",))),
    max_size=300,
)


@given(step=steps, value=values)
def test_choice_values_round_trip(step: str, value: str) -> None:
    encoded = encode_choice(step, value)

    assert len(encoded) <= 2000
    assert decode_choice(encoded) == (step, value)


def test_choice_values_with_separators_and_errors() -> None:
    assert decode_choice(encode_choice("products", "DynamicsAX,GP|NAV & SL")) == (
        "products",
        "DynamicsAX,GP|NAV & SL",
    )
    assert decode_choice("no separator") == ("", "no separator")
    with pytest.raises(ValueError, match="step id"):
        encode_choice("a|b", "c")
    with pytest.raises(ValueError, match="too long"):
        encode_choice("step", "x" * 2000)


# -- any data -------------------------------------------------------------------------------

texts = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=400),
    st.builds(
        lambda piece, times: piece * times,
        st.sampled_from(["<", "&", "é", "a b ", "*_", "🙂", " ", "|"]),
        st.integers(0, 6000),
    ),
)


def wire_referral(name: str, notes: str, customer: str, number: int) -> Referral:
    return Referral.from_wire(
        {
            "id": f"id-{number}",
            "engagementId": notes[:50],
            "name": name,
            "status": name[:30],
            "customerProfile": {
                "name": customer,
                "address": {"city": notes[:100], "country": "US"},
                "team": [{"firstName": name, "email": customer, "phoneNumber": notes[:20]}],
            },
            "details": {
                "notes": notes,
                "dealValue": number * 1000,
                "currency": customer[:5],
                "requirements": {"products": [{"id": name}], "solutions": [{"id": notes}]},
            },
            "team": [{"firstName": notes, "lastName": name}],
        }
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=texts, notes=texts, customer=texts)
def test_limits_hold_whatever_the_data(name: str, notes: str, customer: str) -> None:
    made = tuple(wire_referral(name, notes, customer, number) for number in range(22))
    draft = DraftSummary(
        flow="new", title=name, progress=Progress(number=1, total=2), updated_at=datetime.now(UTC)
    )
    choices = (
        Option(value=name[:150] or "v", label=notes),
        Option(value=customer[:150] or "w", label=name),
    )
    asked = prompt(
        question=name, current=customer, error=notes, hint=name, placeholder=notes, choices=choices
    )
    views: list[View] = [
        asked,
        prompt(choices=choices * 4, step=name[:100] or "s"),
        prompt(input=InputKind.MULTI, choices=choices, step=name[:100] or "s"),
        prompt(input=InputKind.TEXT, choices=(), placeholder=notes),
        Review(
            flow="new",
            title=name,
            lines=tuple(ReviewLine(step=f"s{i}", label=name, value=notes) for i in range(60)),
            missing=(name, customer),
            notice=notes,
        ),
        grouped(value=notes, missing=True, title=name, notice=name),
        Review(
            flow="new",
            title=name,
            lines=(),
            sections=(
                ReviewSection(
                    edit=name or "e",
                    title=name,
                    lines=tuple(
                        ReviewLine(step=f"s{i}", label=name, value=notes, note=customer)
                        for i in range(30)
                    ),
                    left_out=(name, customer),
                ),
            ),
        ),
        Created(referrals=made[:2], message=notes),
        ReferralCard(referral=made[0], message=name, registrable=True),
        ReferralList(title=name, referrals=made, total=len(made)),
        Notice(message=name, detail=notes),
        Problem(message=name, hint=notes, reference=customer),
        status_change(
            event="lost",
            referral_id=name or "r",
            name=name,
            customer=customer,
            currency=customer[:5],
            before=notes,
            after=name or "Closed",
            reason=notes,
            team=(name, notes, customer),
            link=f"https://partner.microsoft.com/{notes}",
        ),
    ]
    for view in views:
        assert_valid(message(view))
    assert_valid(answered(asked, notes))
    assert_within_limits(
        home(Home(draft=draft, referrals=made, problem=None))["blocks"], max_blocks=100
    )
    assert_options(external_options(choices * 60)["options"])


def test_a_sign_in_link_is_a_link_button_our_listener_acks() -> None:
    link = "https://login.microsoftonline.com/t/oauth2/v2.0/authorize?state=s"
    card = message(SignIn(url=link, message="Sign in to Partner Center first."))

    (button,) = [block["accessory"] for block in card.blocks if "accessory" in block]
    assert button["url"] == link
    assert button["action_id"] == Action.SIGN_IN
    assert words.SIGN_IN_PRIVATE in json.dumps(card.blocks)
