"""Requests to approve a deal registration rendered as Block Kit: the heading says where each
stands, only the buttons the view allows (each carrying the approval's id), Slack's limits
held whatever the registration holds, and the reject modal's ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View as Surface

from bot.conversation.views import (
    ApprovalCard,
    ApprovalList,
    EligibilityReport,
    Home,
    Verdict,
)
from bot.referrals.models import DealRegistration, ReferralEligibility
from cards import words
from cards.ids import REASON_INPUT, Action
from cards.slack import SlackMessage, home, message, reject_modal
from tests.cards.test_slack import (
    ESCAPED,
    NASTY,
    assert_within_limits,
    elements,
    mrkdwn_texts,
    plain_texts,
    referrals,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "partner_center"
APPROVAL_ID = "4f0c8a3e-approval"
ASKED = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
DECIDED = datetime(2026, 5, 2, 14, 0, tzinfo=UTC)


def registration(**changes: Any) -> DealRegistration:
    """The documented registration sample (one solution, transacted on the marketplace)."""
    patch = json.loads((FIXTURES / "register_deal_patch.json").read_text(encoding="utf-8"))
    return DealRegistration.from_wire(patch[0]["value"] | changes)


def eligibility() -> ReferralEligibility:
    sample = (FIXTURES / "referral_eligibility_response.json").read_text(encoding="utf-8")
    return ReferralEligibility.from_wire(json.loads(sample))


def approval(**changes: Any) -> ApprovalCard:
    fields: dict[str, Any] = {
        "approval_id": APPROVAL_ID,
        "status": "pending",
        "referral_id": "r-42",
        "referral_name": "Contoso pilot",
        "customer": "Contoso Ltd",
        "requester": "Bob Seller",
        "requested_at": ASKED,
        "registration": registration(),
        "eligibility": eligibility(),
        "expires_at": datetime(2026, 5, 4, 9, 30, tzinfo=UTC),
        "actions": ("approve", "reject"),
    }
    return ApprovalCard(**(fields | changes))


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [element for element in elements(blocks) if element["type"] == "button"]


def shown(blocks: list[dict[str, Any]]) -> str:
    """Every text of the blocks, in order, one per line."""
    return "\n".join([*plain_texts(blocks), *mrkdwn_texts(blocks)])


def assert_valid(made: SlackMessage, *, max_blocks: int = 50) -> None:
    """Slack's limits, and slack_sdk's own validation of every block read back."""
    assert made.text.strip()
    assert_within_limits(made.blocks, max_blocks=max_blocks)
    for block in made.blocks:
        Block.parse(block).validate_json()  # type: ignore[union-attr]


# -- one request --------------------------------------------------------------------------------


STATES: list[tuple[dict[str, Any], str, list[Action]]] = [
    # The view's changes, where it stands (after the title's colon), the buttons.
    ({}, "waiting for approval", [Action.APPROVE, Action.REJECT]),
    ({"actions": ("withdraw",)}, "waiting for approval", [Action.WITHDRAW]),
    (
        {"status": "approved", "decided_by": "Ada", "decided_at": DECIDED, "actions": ()},
        "approved by Ada",
        [],
    ),
    (
        {
            "status": "submitted",
            "decided_by": "Grace Hopper",
            "reference": "pc-req-9",
            "actions": (),
        },
        "approved by Grace Hopper and sent to Partner Center",
        [],
    ),
    (
        {
            "status": "failed",
            "decided_by": "Grace Hopper",
            "reason": "Contract dates overlap",
            "actions": ("retry", "reject"),
        },
        "approved by Grace Hopper, but Partner Center refused it: Contract dates overlap",
        [Action.RETRY, Action.REJECT],
    ),
    (
        {"status": "rejected", "decided_by": "Ada", "reason": "Too small", "actions": ()},
        "rejected by Ada: Too small",
        [],
    ),
    ({"status": "expired", "actions": ()}, "expired unanswered", []),
    (
        {"status": "withdrawn", "decided_by": "Bob Seller", "actions": ()},
        "withdrawn by the requester",
        [],
    ),
]


@pytest.mark.parametrize(("changes", "state", "verbs"), STATES)
def test_each_state_has_its_heading_and_only_its_buttons(
    changes: dict[str, Any], state: str, verbs: list[Action]
) -> None:
    view = approval(**changes)
    made = message(view)

    assert_valid(made)
    assert made.blocks[0]["type"] == "header"
    assert made.blocks[0]["text"]["text"] == "Deal registration for Contoso pilot"
    assert made.blocks[1]["text"]["text"] == state[:1].upper() + state[1:]
    assert made.text == f"Deal registration for Contoso pilot: {state}"
    found = buttons(made.blocks)
    assert [button["action_id"] for button in found] == verbs
    assert all(button["value"] == APPROVAL_ID for button in found)


def test_approve_is_primary_and_reject_danger_and_reject_carries_only_the_id() -> None:
    approve, reject = buttons(message(approval()).blocks)

    assert approve["style"] == "primary"
    assert reject["style"] == "danger"
    assert reject.keys() == {"type", "action_id", "text", "value", "style"}
    assert (approve["text"]["text"], reject["text"]["text"]) == (words.APPROVE, words.REJECT)


def test_buttons_keep_the_order_of_the_view_and_never_repeat() -> None:
    verdicts: tuple[Verdict, ...] = ("reject", "withdraw", "approve", "reject")
    found = buttons(message(approval(actions=verdicts)).blocks)

    assert [b["action_id"] for b in found] == [Action.REJECT, Action.WITHDRAW, Action.APPROVE]


def test_an_id_too_long_to_travel_whole_gets_no_buttons() -> None:
    made = message(approval(approval_id="a" * 2001))

    assert buttons(made.blocks) == []
    assert_valid(made)


def test_the_line_for_the_viewer_comes_first_and_the_young_warning_follows_the_heading() -> None:
    made = message(approval(message="Ada approved it\nbefore you.", young=True))

    assert made.blocks[0]["text"]["text"] == "*Ada approved it before you.*"
    assert made.blocks[1]["type"] == "header"
    assert words.YOUNG_REFERRAL in made.blocks[3]["text"]["text"]
    assert words.YOUNG_REFERRAL not in shown(message(approval()).blocks)


def test_the_request_the_registration_and_each_solution_are_shown() -> None:
    text = shown(message(approval()).blocks)

    for expected in (
        "*Referral*\nContoso pilot",
        "*Customer*\nContoso Ltd",
        "*Referral id*\nr-42",
        "*Requested by*\nBob Seller",
        "*Type*\nAzureIPCoSell",
        "*Contract value*\n250,000 USD",
        "*Signed*\n2026-02-12",
        "*Starts*\n2026-02-12",
        "*Ends*\n2026-02-28",
        "*Term*\nFinite",
        "*DEAL-123456-XYZ*",
        "Deployed on Azure: Yes",
        "Primary deployment: Partner",
        "Pricing model: Other",
        "Value: 250,000 USD",
        "Marketplace transacted: Yes, 2026-02-11",
    ):
        assert expected in text


def test_times_are_shown_in_the_readers_zone_and_expiry_only_while_pending() -> None:
    pending = shown(message(approval()).blocks)
    decided = shown(message(approval(status="rejected", decided_at=DECIDED, actions=())).blocks)

    assert f"*Asked*\n<!date^{int(ASKED.timestamp())}^" in pending
    assert "*Expires*" in pending
    assert "*Decided*" not in pending
    assert f"*Decided*\n<!date^{int(DECIDED.timestamp())}^" in decided
    assert "*Expires*" not in decided


def test_the_reference_is_shown_once_known() -> None:
    assert "*Partner Center reference*\npc-req-9" in shown(
        message(approval(status="submitted", reference="pc-req-9", actions=())).blocks
    )
    assert "Partner Center reference" not in shown(message(approval()).blocks)


def test_eligibility_is_condensed_to_plain_words_failed_first() -> None:
    report = eligibility()
    failed = report.passed_policies.pop()
    report.failed_policies.append(failed.model_copy(update={"is_eligible": False}))
    report.is_eligible = False
    [section] = [t for t in mrkdwn_texts(message(approval(eligibility=report)).blocks) if "✗" in t]

    lines = section.splitlines()
    assert (
        lines[0] == "*✗ Referral r-42 is not eligible for deal registration (4 passed, 1 failed).*"
    )
    assert lines[1] == f"✗ {words.policy_sentence(failed.policy_name, False)}"
    assert lines[2] == f"✓ {words.policy_sentence('isDealTypeCosellOrPartnerLed', True)}"
    assert len(lines) == 6


def test_without_an_eligibility_report_or_solutions_the_card_says_so() -> None:
    made = message(approval(eligibility=None, registration=registration(solutionDetails=None)))

    assert "eligible for deal registration" not in shown(made.blocks)
    assert f"{words.SOLUTIONS}: {words.NO_SOLUTIONS}" in shown(made.blocks)
    assert_valid(made)


def test_data_is_escaped_in_mrkdwn_and_shown_as_typed_in_the_header() -> None:
    made = message(approval(referral_name=NASTY, customer=NASTY, decided_by=NASTY))

    assert made.blocks[0]["text"]["text"] == f"Deal registration for {NASTY}"
    assert f"*Customer*\n{ESCAPED}" in mrkdwn_texts(made.blocks)
    assert all(NASTY not in text for text in mrkdwn_texts(made.blocks))


def long_registration(count: int) -> DealRegistration:
    solution = registration().model_dump(mode="json", by_alias=True)["solutionDetails"][0]
    many = [
        solution | {"id": f"S-{n}", "name": "Solution " + "x" * 3000, "pricingModel": "y" * 500}
        for n in range(count)
    ]
    return registration(solutionDetails=many, type="T" * 5000)


def test_a_long_registration_stays_within_block_kit_limits() -> None:
    report = eligibility()
    report.failed_policies.extend(
        policy.model_copy(update={"policy_name": f"policy{n}" * 200, "is_eligible": False})
        for n, policy in enumerate(report.passed_policies * 10)
    )
    view = approval(
        registration=long_registration(30),
        eligibility=report,
        message="m" * 5000,
        referral_name="n" * 5000,
        reason="r" * 5000,
        status="failed",
        actions=("retry", "reject"),
        young=True,
    )
    made = message(view)

    assert_valid(made)
    solution_sections = [t for t in mrkdwn_texts(made.blocks) if "Deployed on Azure" in t]
    assert len(solution_sections) == words.MAX_SOLUTIONS
    assert words.solutions_not_shown(25) in mrkdwn_texts(made.blocks)
    assert words.policies_not_shown(len(report.failed_policies) + 5 - 10) in shown(made.blocks)
    assert [b["action_id"] for b in buttons(made.blocks)] == [Action.RETRY, Action.REJECT]


# -- several requests ---------------------------------------------------------------------------


def several(count: int) -> tuple[ApprovalCard, ...]:
    return tuple(
        approval(approval_id=f"ap-{n}", referral_name=f"Deal {n}", young=True, message="m")
        for n in range(count)
    )


def test_a_list_shows_whole_cards_between_dividers_and_counts_the_rest() -> None:
    made = message(ApprovalList(title="Waiting for you", approvals=several(10)))

    assert_valid(made)
    assert made.blocks[0]["text"]["text"] == "Waiting for you"
    assert made.text == "Waiting for you: 10 requests"
    ids = [button["value"] for button in buttons(made.blocks)]
    listed = sorted(set(ids), key=ids.index)
    assert ids == [i for i in listed for _ in range(2)], "each card whole, with both buttons"
    dividers = [n for n, block in enumerate(made.blocks) if block["type"] == "divider"]
    assert len(dividers) == len(listed) >= 2
    assert made.blocks[-1]["type"] == "context"
    counted = words.approvals_not_shown(10 - len(listed))
    assert made.blocks[-1]["elements"][0]["text"] == counted
    assert "/referral approvals" in counted


def test_a_short_list_shows_every_card_and_an_empty_one_says_so() -> None:
    made = message(ApprovalList(title="Approvals", approvals=several(2)))
    empty = message(ApprovalList(title="Approvals", approvals=()))

    assert {button["value"] for button in buttons(made.blocks)} == {"ap-0", "ap-1"}
    assert "more" not in shown(made.blocks[-1:])
    assert mrkdwn_texts(empty.blocks) == ["Nothing waits for a decision."]
    assert empty.text == "Approvals: Nothing waits for a decision."


# -- home --------------------------------------------------------------------------------------


def test_home_lists_waiting_requests_with_their_buttons_before_the_referrals() -> None:
    waiting = (*several(7), approval(approval_id="mine", actions=("withdraw",)))
    view = home(Home(draft=None, referrals=referrals(25), approvals=waiting))
    blocks = view["blocks"]

    headers = [b["text"]["text"] for b in blocks if b["type"] == "header"]
    assert headers == [words.HOME_TITLE, words.WAITING_FOR_DECISION, words.YOUR_OPEN_REFERRALS]
    assert_within_limits(blocks, max_blocks=100)
    Surface(**view).validate_json()
    decisions = [b for b in buttons(blocks) if b["action_id"] != Action.SHOW]
    assert [b["value"] for b in decisions][::2] == [f"ap-{n}" for n in range(5)]
    assert {b["action_id"] for b in decisions} == {Action.APPROVE, Action.REJECT}
    assert words.approvals_not_shown(3) in shown(blocks)
    order = [shown([block]) for block in blocks]
    first = next(n for n, said in enumerate(order) if "Deal registration for Deal 0" in said)
    assert order.index(words.WAITING_FOR_DECISION) < first < order.index(words.YOUR_OPEN_REFERRALS)


def test_home_without_requests_has_no_waiting_section() -> None:
    blocks = home(Home(draft=None, referrals=()))["blocks"]

    assert words.WAITING_FOR_DECISION not in shown(blocks)


# -- eligibility ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("partner", "expected"),
    [
        (False, [words.PARTNER_NOT_ELIGIBLE, words.PARTNER_FIX]),
        (True, [words.PARTNER_ELIGIBLE]),
    ],
)
def test_eligibility_says_first_whether_the_organization_may_register(
    partner: bool, expected: list[str]
) -> None:
    made = message(
        EligibilityReport(referral_id="r", eligibility=eligibility(), partner_eligible=partner)
    )

    assert_valid(made)
    first = made.blocks[0]["text"]["text"]
    assert all(said in first for said in expected)
    assert (words.PARTNER_FIX in first) is (not partner)


def test_eligibility_without_the_partner_check_says_nothing_of_it() -> None:
    made = message(EligibilityReport(referral_id="r", eligibility=eligibility()))

    assert "organization" not in shown(made.blocks)


# -- the reject modal --------------------------------------------------------------------------


def test_the_reject_modal_asks_why_and_carries_the_approval_id() -> None:
    modal = reject_modal(APPROVAL_ID, f"Deal registration for {NASTY}: waiting for approval")

    Surface(**modal).validate_json()
    assert modal["type"] == "modal"
    assert modal["callback_id"] == Action.REJECT_REASON.value == "rb_reject_reason"
    assert modal["private_metadata"] == APPROVAL_ID
    assert modal["title"]["text"] == "Reject registration"
    assert modal["submit"]["text"] == "Reject"
    assert modal["close"]["text"] == "Cancel"
    heading, reason = modal["blocks"]
    assert heading["text"]["text"] == f"Deal registration for {ESCAPED}: waiting for approval"
    assert reason["type"] == "input"
    assert reason["block_id"] == REASON_INPUT
    assert reason["optional"] is False
    assert reason["label"]["text"] == "Why? The requester sees this"
    assert reason["element"] == {
        "type": "plain_text_input",
        "action_id": REASON_INPUT,
        "multiline": True,
        "max_length": 1000,
    }
