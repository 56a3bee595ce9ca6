"""Reading what sellers type: /referral subcommands and steering words."""

from __future__ import annotations

import pytest

from bot.conversation.chat.commands import (
    ApprovalCommand,
    Find,
    Help,
    ListReferrals,
    Show,
    Usage,
    needs_partner_center,
    needs_seller_profile,
    parse_message,
)
from bot.conversation.views import Command, CommandName, Decision, Text


@pytest.mark.parametrize(
    ("typed", "parsed"),
    [
        ("/referral new", Command(name=CommandName.START, arg="new")),
        ("referral new", Command(name=CommandName.START, arg="new")),
        ("/referral update abc-123", Command(name=CommandName.START, arg="update abc-123")),
        ("/referral close abc-123", Command(name=CommandName.START, arg="close abc-123")),
        ("/referral team abc-123", Command(name=CommandName.START, arg="team abc-123")),
        ("/referral show abc-123", Show("abc-123")),
        ("/referral register abc-123", Command(name=CommandName.START, arg="register abc-123")),
        ("/referral withdraw abc-123", ApprovalCommand("withdraw", "abc-123")),
        ("/referral approvals", ApprovalCommand("list")),
        ("/referral approvals HERE", ApprovalCommand("here")),
        (
            "/referral approvals there",
            Usage("Usage: /referral approvals, or /referral approvals here (in a channel)."),
        ),
        (
            "/referral withdraw",
            Usage("Usage: /referral withdraw ID (the referral's id, as /referral list shows)."),
        ),
        ("/referral list", ListReferrals("all")),
        ("/referral list Won", ListReferrals("won")),
        ("/referral list open 3", ListReferrals("open", 3)),
        ("/referral list 2", ListReferrals("all", 2)),
        ("/referral resume", Command(name=CommandName.RESUME)),
        ("/referral cancel", Command(name=CommandName.CANCEL)),
        ("/referral", Help()),
        ("/referral help", Help()),
        ("/referral nwe", Help(unknown="nwe", closest="new")),
        ("/referral frobnicate", Help(unknown="frobnicate", closest=None)),
        (
            "/referral show",
            Usage(
                "Usage: /referral show ID (the referral's id or its first characters, a number "
                "from the last list, or words of its deal or customer name)."
            ),
        ),
        ("/referral show Tailwind  Traders", Show("Tailwind Traders")),
        ("/referral show 2", Show("2")),
        ("/referral close 3f2a", Command(name=CommandName.START, arg="close 3f2a")),
        (
            "/referral update tailwind traders",
            Command(name=CommandName.START, arg="update tailwind traders"),
        ),
        ("/referral find tailwind  store", Find("tailwind store")),
        ("referral FIND 3f2a", Find("3f2a")),
        (
            "/referral find",
            Usage(
                "Usage: /referral find WORDS (words of the deal or customer name, or the id's "
                "first characters)."
            ),
        ),
        (
            "/referral withdraw a b",
            Usage("Usage: /referral withdraw ID (the referral's id, as /referral list shows)."),
        ),
        ("/referral list everything", Usage("Usage: /referral list [mine|open|won|lost] [PAGE].")),
        ("back", Command(name=CommandName.BACK)),
        ("  Submit ", Command(name=CommandName.SUBMIT)),
        ("edit deal value", Command(name=CommandName.EDIT, arg="deal value")),
        ("edit", Command(name=CommandName.EDIT, arg=None)),
        ("Contoso Ltd", Text(value="Contoso Ltd")),
        ("referrals are great", Text(value="referrals are great")),
    ],
)
def test_parse(typed: str, parsed: object) -> None:
    assert parse_message(typed) == parsed


def test_the_step_a_reply_belongs_to_is_kept() -> None:
    assert parse_message("skip", step="notes") == Command(name=CommandName.SKIP, step="notes")
    assert parse_message("Acme", step="name") == Text(value="Acme", step="name")


@pytest.mark.parametrize(
    ("verdict", "needed"),
    [("approve", True), ("retry", True), ("reject", False), ("withdraw", False)],
)
def test_only_decisions_that_send_need_partner_center(verdict: str, needed: bool) -> None:
    # Approve and Retry send the registration as the approver: they sign in first.
    decision = Decision(approval="a1", verdict=verdict)  # type: ignore[arg-type]

    assert needs_partner_center(decision) is needed


def test_find_reads_partner_center_as_the_seller() -> None:
    # Searching lists the seller's referrals: their profile, and their sign-in, come first.
    assert needs_partner_center(Find("tailwind"))
    assert needs_seller_profile(Find("tailwind"))
