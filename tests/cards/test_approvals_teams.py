"""Requests to approve a deal registration rendered as Adaptive Cards: valid against the
official 1.5 schema, the heading says where each stands, only the buttons the view allows,
and every button read back as the decision it stands for, with the reason typed for it."""

from __future__ import annotations

from typing import Any

import pytest

from bot.conversation.views import (
    ApprovalList,
    Decision,
    EligibilityReport,
    Home,
    Verdict,
)
from cards import words
from cards.ids import REASON_INPUT, Action
from cards.teams import OWNER, TeamsCard, card, home, read_action
from tests.cards.test_approvals_slack import (
    APPROVAL_ID,
    DECIDED,
    STATES,
    approval,
    eligibility,
    long_registration,
    several,
)
from tests.cards.test_teams import (
    CARD_BYTES,
    NASTY,
    all_actions,
    assert_execute,
    assert_valid,
    by_verb,
    click,
    executes,
    inputs,
    markdown_texts,
    of_type,
    paragraphs,
    read_both,
    referrals,
    schema_errors,
    size_of,
    texts,
)


def verbs(made: TeamsCard) -> list[str]:
    return [action["verb"] for action in executes(made.content)]


def assert_valid_many(made: TeamsCard) -> None:
    """A card of several requests: valid, small enough, every action ours, one box per
    request (ids unique), none of them required (Reject sends them all)."""
    content = made.content
    assert schema_errors(content) == []
    assert size_of(content) <= CARD_BYTES
    assert all(text.strip() for text in texts(content))
    for action_set in of_type(content, "ActionSet"):
        assert 0 < len(action_set["actions"]) <= 6
    for action in executes(content):
        assert_execute(action)
    ids = [box["id"] for box in inputs(content)]
    assert len(ids) == len(set(ids)), "input ids repeat"
    assert not any(box.get("isRequired") for box in inputs(content))


# -- one request --------------------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "state", "expected"), STATES)
def test_each_state_has_its_heading_and_only_its_buttons(
    changes: dict[str, Any], state: str, expected: list[Action]
) -> None:
    made = card(approval(**changes))

    assert_valid(made)
    heading = f"Deal registration for Contoso pilot: {state}"
    assert paragraphs(made.content)[0] == heading
    assert made.text == heading
    assert verbs(made) == expected
    assert all(action["data"]["value"] == APPROVAL_ID for action in executes(made.content))
    offers_reject = Action.REJECT in expected
    assert [box["id"] for box in inputs(made.content)] == ([REASON_INPUT] if offers_reject else [])


def test_the_heading_is_coloured_by_how_it_went() -> None:
    def color(**changes: Any) -> str | None:
        [first] = of_type(card(approval(**changes)).content, "TextRun")[:1]
        return first.get("color")

    assert color() == "Accent"
    assert color(status="submitted", actions=()) == "Good"
    assert color(status="failed", actions=("retry", "reject")) == "Attention"
    assert color(status="expired", actions=()) == "Warning"


def test_the_reason_box_sits_just_above_the_buttons_and_only_reject_sends_it() -> None:
    body = card(approval()).content["body"]
    box, row = body[-2:]

    assert box["type"] == "Input.Text"
    assert box["id"] == REASON_INPUT
    assert box["label"] == "Reason (for Reject)"
    assert box["isRequired"] is True
    assert box["errorMessage"] == words.REASON_FIRST
    assert box["isMultiline"] is True
    assert box["maxLength"] == 1000
    assert row["type"] == "ActionSet"
    approve, reject = row["actions"]
    assert (approve["style"], reject["style"]) == ("positive", "destructive")
    assert approve["associatedInputs"] == "none"
    assert "associatedInputs" not in reject, "Reject sends the card's inputs"


def test_withdraw_and_retry_send_no_input() -> None:
    made = card(approval(status="failed", actions=("retry", "reject", "withdraw")))

    for verb in (Action.RETRY, Action.WITHDRAW):
        [action] = by_verb(made.content, verb)
        assert action["associatedInputs"] == "none"


@pytest.mark.parametrize(
    ("verdicts", "typed"),
    [
        (("approve", "reject"), "  Contract too small.\n "),
        (("retry", "reject"), "Dates overlap"),
        (("withdraw",), None),
    ],
)
def test_every_button_reads_back_as_its_decision_with_the_reason_for_reject(
    verdicts: tuple[Verdict, ...], typed: str | None
) -> None:
    made = card(approval(status="failed", actions=verdicts))

    for action, verdict in zip(executes(made.content), verdicts, strict=True):
        got = read_both(made.content, action, typed)
        reason = typed.strip() if verdict == "reject" and typed else None
        assert got == Decision(approval=APPROVAL_ID, verdict=verdict, reason=reason)


@pytest.mark.parametrize("typed", [None, "", "   \n  ", 7])
def test_a_blank_or_missing_reason_reads_as_none(typed: Any) -> None:
    made = card(approval())
    [reject] = by_verb(made.content, Action.REJECT)
    sent = click(made.content, reject)[0]
    sent["action"]["data"][REASON_INPUT] = typed

    assert read_action(sent) == Decision(approval=APPROVAL_ID, verdict="reject", reason=None)


@pytest.mark.parametrize(
    "data",
    [
        {"verb": "rb_approve"},
        {"verb": "rb_approve", "value": "   "},
        {"verb": "rb_reject", "value": ["a"]},
        {"verb": "rb_withdraw", "value": 3},
        {"verb": "rb_reject_reason", "value": "a"},
    ],
)
def test_approval_data_that_names_no_request_reads_as_nothing(data: dict[str, Any]) -> None:
    assert read_action(data) is None


def test_the_card_is_not_stamped_with_an_owner() -> None:
    made = card(approval(actions=("approve", "reject", "withdraw")))

    assert all(OWNER not in action.get("data", {}) for action in all_actions(made.content))


def test_the_line_for_the_viewer_comes_first_and_the_young_warning_follows() -> None:
    made = card(approval(message="Ada approved it before you.", young=True))

    shown = paragraphs(made.content)
    assert shown[:3] == [
        "Ada approved it before you.",
        "Deal registration for Contoso pilot: waiting for approval",
        f"{words.WARNING} {words.YOUNG_REFERRAL}",
    ]
    assert f"{words.WARNING} {words.YOUNG_REFERRAL}" not in paragraphs(card(approval()).content)


def test_the_request_the_registration_and_each_solution_are_shown() -> None:
    shown = paragraphs(card(approval(reference="pc-req-9")).content)

    for expected in (
        "Referral: Contoso pilot",
        "Customer: Contoso Ltd",
        "Referral id: r-42",
        "Requested by: Bob Seller",
        "Partner Center reference: pc-req-9",
        "Type: AzureIPCoSell",
        "Contract value: 250,000 USD",
        "Signed: 2026-02-12",
        "Starts: 2026-02-12",
        "Ends: 2026-02-28",
        "Term: Finite",
        "DEAL-123456-XYZ",
        "Deployed on Azure: Yes · Primary deployment: Partner · Pricing model: Other · "
        "Value: 250,000 USD · Marketplace transacted: Yes, 2026-02-11",
        f"✓ {words.policy_sentence('isCustomerManaged', True)}",
    ):
        assert expected in shown


def test_times_read_in_the_readers_zone_and_expiry_only_while_pending() -> None:
    pending = markdown_texts(card(approval()).content)
    decided = markdown_texts(
        card(approval(status="rejected", decided_at=DECIDED, actions=())).content
    )

    assert any(t.startswith("Asked: {{DATE(2026-05-01T09:30:00Z, SHORT)}}") for t in pending)
    assert any(t.startswith("Expires: {{DATE(") for t in pending)
    assert not any(t.startswith("Decided:") for t in pending)
    assert any(t.startswith("Decided: {{DATE(2026-05-02T14:00:00Z") for t in decided)
    assert not any(t.startswith("Expires:") for t in decided)


def test_data_is_never_read_as_markdown() -> None:
    made = card(approval(referral_name=NASTY, customer=NASTY, requester=NASTY, reason=NASTY))

    assert all(NASTY not in text for text in markdown_texts(made.content))
    assert any(NASTY in text for text in texts(made.content))


def test_a_long_registration_fits_and_stays_valid() -> None:
    report = eligibility()
    report.failed_policies.extend(
        policy.model_copy(update={"policy_name": f"policy{n}" * 200, "is_eligible": False})
        for n, policy in enumerate(report.passed_policies * 10)
    )
    made = card(
        approval(
            registration=long_registration(30),
            eligibility=report,
            message="m" * 5000,
            referral_name="n" * 5000,
            reason="r" * 5000,
            status="failed",
            actions=("retry", "reject"),
            young=True,
        )
    )

    assert_valid(made)
    shown = paragraphs(made.content)
    assert sum(text.startswith("Deployed on Azure") for text in shown) == words.MAX_SOLUTIONS
    assert words.solutions_not_shown(25) in shown
    assert verbs(made) == [Action.RETRY, Action.REJECT]


# -- several requests ---------------------------------------------------------------------------


def test_a_list_shows_what_fits_and_each_reject_sends_its_own_reason() -> None:
    made = card(ApprovalList(title="Waiting for you", approvals=several(12)))

    assert_valid_many(made)
    assert made.text == "Waiting for you: 12 requests"
    rejects = by_verb(made.content, Action.REJECT)
    shown = [action["data"]["value"] for action in rejects]
    assert 2 <= len(shown) < 12
    assert shown == [f"ap-{n}" for n in range(len(shown))]
    assert words.approvals_not_shown(12 - len(shown)) in paragraphs(made.content)
    typed = {box["id"]: f"reason {box['id']}" for box in inputs(made.content)}
    for reject in rejects:
        approval_id = reject["data"]["value"]
        invoke = {"action": {"verb": reject["verb"], "data": {**reject["data"], **typed}}}
        submitted = {**reject["fallback"]["data"], **typed}
        for sent in (invoke, submitted):
            got = read_action(sent)
            assert got == Decision(
                approval=approval_id, verdict="reject", reason=f"reason rb_reason:{approval_id}"
            )


def test_an_empty_list_says_so() -> None:
    made = card(ApprovalList(title="Approvals", approvals=()))

    assert_valid(made)
    assert paragraphs(made.content) == ["Approvals", "Nothing waits for a decision."]
    assert made.text == "Approvals: Nothing waits for a decision."


# -- home --------------------------------------------------------------------------------------


def test_home_lists_waiting_requests_with_their_buttons_before_the_referrals() -> None:
    waiting = (*several(7), approval(approval_id="mine", actions=("withdraw",)))
    made = home(Home(draft=None, referrals=referrals(25), approvals=waiting))

    assert_valid_many(made)
    shown = paragraphs(made.content)
    first = shown.index("Deal registration for Deal 0")
    assert shown.index(words.WAITING_FOR_DECISION) < first < shown.index(words.YOUR_OPEN_REFERRALS)
    decided = [a["data"]["value"] for a in executes(made.content) if a["verb"] != Action.SHOW]
    assert decided == [f"ap-{n}" for n in range(5) for _ in range(2)]
    assert words.approvals_not_shown(3) in shown
    assert by_verb(made.content, Action.SHOW), "room is left for referrals"
    [reject] = by_verb(made.content, Action.REJECT)[:1]
    assert read_both(made.content, reject, " why ") == Decision(
        approval="ap-0", verdict="reject", reason="why"
    )


def test_home_without_requests_has_no_waiting_section() -> None:
    made = home(Home(draft=None, referrals=referrals(3)))

    assert words.WAITING_FOR_DECISION not in paragraphs(made.content)
    assert inputs(made.content) == []


# -- eligibility ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("partner", "expected"),
    [
        (False, [f"✗ {words.PARTNER_NOT_ELIGIBLE}", words.PARTNER_FIX]),
        (True, [f"✓ {words.PARTNER_ELIGIBLE}"]),
        (None, []),
    ],
)
def test_eligibility_says_first_whether_the_organization_may_register(
    partner: bool | None, expected: list[str]
) -> None:
    made = card(
        EligibilityReport(referral_id="r", eligibility=eligibility(), partner_eligible=partner)
    )

    assert_valid(made)
    shown = paragraphs(made.content)
    assert shown[: len(expected)] == expected
    assert shown[len(expected)].startswith("✓ Referral r is eligible")
