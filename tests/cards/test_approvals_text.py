"""Requests to approve a deal registration rendered for the terminal, read back as a reader
would see them."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console, RenderableType

from bot.conversation.views import ApprovalList, EligibilityReport
from cards import text, words
from tests.cards.test_approvals_slack import (
    APPROVAL_ID,
    DECIDED,
    STATES,
    approval,
    eligibility,
    long_registration,
    registration,
    several,
)
from tests.cards.test_text_views import lines


def render(renderable: RenderableType, width: int = 100) -> str:
    console = Console(record=True, width=width)
    console.print(renderable)
    return console.export_text()


@pytest.mark.parametrize(("changes", "state", "verbs"), STATES)
def test_each_state_has_its_heading(changes: dict[str, Any], state: str, verbs: object) -> None:
    output = lines(render(text.render_view(approval(**changes))))

    # A long heading wraps at the terminal's width: read it back as one line.
    assert " ".join(output).startswith(f"Deal registration for Contoso pilot: {state}")


def test_the_line_for_the_reader_comes_first_then_the_young_warning() -> None:
    output = lines(render(text.render_view(approval(message="Ada approved it.", young=True))))

    assert output[:3] == [
        "Ada approved it.",
        "Deal registration for Contoso pilot: waiting for approval",
        f"{words.WARNING} {words.YOUNG_REFERRAL}",
    ]
    assert f"{words.WARNING} {words.YOUNG_REFERRAL}" not in render(text.render_view(approval()))


def test_the_request_the_registration_its_solutions_and_eligibility_are_shown() -> None:
    output = lines(render(text.render_view(approval(reference="pc-req-9"))))

    assert output[1:8] == [
        "Referral                  Contoso pilot",
        "Customer                  Contoso Ltd",
        "Referral id               r-42",
        "Requested by              Bob Seller",
        "Partner Center reference  pc-req-9",
        "Asked                     2026-05-01 09:30 UTC",
        "Expires                   2026-05-04 09:30 UTC",
    ]
    assert output[8:16] == [
        "Registration",
        "Type            AzureIPCoSell",
        "Contract value  250,000 USD",
        "Signed          2026-02-12",
        "Starts          2026-02-12",
        "Ends            2026-02-28",
        "Term            Finite",
        "Solutions",
    ]
    assert output[16] == "DEAL-123456-XYZ"
    assert " ".join(output[17:19]).startswith(
        "Deployed on Azure: Yes · Primary deployment: Partner · Pricing model: Other · "
        "Value: 250,000 USD"
    )
    assert "✓ Referral r-42 is eligible for deal registration (5 passed, 0 failed)." in output
    assert f"✓ {words.policy_sentence('isDealValueEligible', True)}" in output


def test_a_decided_request_shows_when_and_no_expiry() -> None:
    output = lines(
        render(text.render_view(approval(status="approved", decided_by="Ada", decided_at=DECIDED)))
    )

    assert ["Decided", "2026-05-02", "14:00", "UTC"] in [line.split() for line in output]
    assert not any(line.startswith("Expires") for line in output)


def test_failed_policies_come_first_in_plain_words() -> None:
    report = eligibility()
    failed = report.passed_policies.pop(0)
    report.failed_policies.append(failed.model_copy(update={"is_eligible": False}))
    report.is_eligible = False
    output = lines(render(text.render_view(approval(eligibility=report))))

    start = output.index(
        "✗ Referral r-42 is not eligible for deal registration (4 passed, 1 failed)."
    )
    assert output[start + 1] == f"✗ {words.policy_sentence(failed.policy_name, False)}"


def test_only_the_requester_is_told_how_to_withdraw() -> None:
    hint = words.withdraw_hint(APPROVAL_ID)

    assert hint in render(text.render_view(approval(actions=("withdraw",))))
    assert hint not in render(text.render_view(approval()))


def test_a_registration_without_solutions_or_report_says_so() -> None:
    view = approval(eligibility=None, registration=registration(solutionDetails=None))
    output = render(text.render_view(view))

    assert f"{words.SOLUTIONS}: {words.NO_SOLUTIONS}" in output
    assert "eligible for deal registration" not in output


def test_every_solution_of_a_long_registration_is_listed() -> None:
    output = render(text.render_view(approval(registration=long_registration(7))), width=10_000)

    assert all(f"(S-{n})" in output for n in range(7))


def test_a_list_shows_each_request_and_an_empty_one_says_so() -> None:
    output = lines(render(text.render_view(ApprovalList(title="Approvals", approvals=several(3)))))
    empty = lines(render(text.render_view(ApprovalList(title="Approvals", approvals=()))))

    assert output[0] == "Approvals"
    headings = [line for line in output if line.startswith("Deal registration for")]
    assert headings == [f"Deal registration for Deal {n}: waiting for approval" for n in range(3)]
    assert [line for line in empty if line] == ["Approvals", "Nothing waits for a decision."]


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
    view = EligibilityReport(referral_id="r", eligibility=eligibility(), partner_eligible=partner)
    output = lines(render(text.render_view(view), width=200))

    assert output[: len(expected)] == expected
    assert output[len(expected)].startswith("✓ Referral r is eligible")
