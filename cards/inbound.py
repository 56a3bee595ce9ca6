"""Incoming referrals, in the words every surface shows them with (Slack, Teams, the
terminal): who sent it, what it is, where its answer stands, how long is left.

A triage card must let someone decide at a glance whether to take the deal: the sender
(Microsoft, or which partner), the customer, the need (solutions, products, industries), the
value and closing date, the customer's contact, and the days left before Partner Center
archives it unanswered. The facts are listed here once, by label; each renderer lays them out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from bot.conversation.views import InboundCard, InboundList, InboundState, TriageVerdict
from bot.referrals.models import Referral, Tag
from cards.formatting import customer, day, joined, member, money, timestamp
from cards.words import MISSING, Tone

ACCEPT: Final = "Accept"
DECLINE: Final = "Decline"
ASSIGN: Final = "Assign"
BUTTONS: Final[Mapping[TriageVerdict, str]] = {
    "accept": ACCEPT,
    "decline": DECLINE,
    "assign": ASSIGN,
}
"""The title of each control of an incoming referral's card."""
ASSIGN_PLACEHOLDER: Final = "Assign to a seller…"
ASSIGNEE_LABEL: Final = "Seller's email (for Assign)"
DECLINE_TITLE: Final = "Decline referral"
DECLINE_QUESTION: Final = "Why? The sender sees this"
DECLINE_LABEL: Final = "Reason (for Decline)"
DECLINE_FIRST: Final = "Say why before declining."
REASON_LENGTH: Final = 1000
"""Longest decline reason taken (Partner Center documents no limit for ``statusReason``)."""
MICROSOFT: Final = "Microsoft"
INBOX_COMMAND: Final = "/referral inbox"
WAITING_FOR_ANSWER: Final = "Incoming referrals waiting for an answer"
MAX_HOME_INBOUND: Final = 5
"""Incoming referrals a home page shows (the rest counted, with the command listing them)."""
TONES: Final[Mapping[InboundState, Tone]] = {
    "waiting": "warning",
    "accepting": "neutral",
    "declining": "neutral",
    "accepted": "good",
    "declined": "bad",
    "answered": "neutral",
    "expired": "bad",
}


def sender(referral: Referral) -> str:
    """Who sent the referral: Microsoft, or the partner that invited this one."""
    invited = referral.invite_context.invited_by if referral.invite_context else None
    if invited is None or (invited.organization_id or "").lower() == "msft":
        return MICROSOFT
    return invited.organization_name or invited.organization_id or MICROSOFT


def inbound_title(view: InboundCard) -> str:
    """``Incoming referral from Microsoft: Litware - pilot``."""
    name = view.referral.name or view.referral.id or MISSING
    return f"Incoming referral from {sender(view.referral)}: {name}"


def days_left(days: int | None) -> str:
    """``12 days left``, ``1 day left``, ``less than a day left``."""
    if days is None:
        return "time left unknown"
    if days <= 0:
        return "less than a day left"
    return f"{days} day{'' if days == 1 else 's'} left"


def inbound_state(view: InboundCard) -> str:
    """Where the answer stands, in a few words (``waiting for an answer, 12 days left``)."""
    who = view.decided_by or "Someone"
    when = f" on {timestamp(view.decided_at)}" if view.decided_at else ""
    states: Mapping[InboundState, str] = {
        "waiting": f"waiting for an answer, {days_left(view.days_left)}",
        "accepting": f"{who} is accepting it",
        "declining": f"{who} is declining it",
        "accepted": f"accepted by {who}{when}",
        "declined": f"declined by {who}{when}",
        "answered": "answered in Partner Center" + (f" ({view.reason})" if view.reason else ""),
        "expired": "expired unanswered: Partner Center archived it",
    }
    return states[view.status]


def inbound_heading(view: InboundCard) -> str:
    """The title and the state: what a notification of the card says."""
    return f"{inbound_title(view)}: {inbound_state(view)}"


def inbound_status(view: InboundCard) -> str:
    """:func:`inbound_state` as a line of its own, with the decline reason and the deadline."""
    line = inbound_state(view)
    line = line[:1].upper() + line[1:]
    if view.status == "declined" and view.reason:
        line += f": {view.reason}"
    if view.status == "waiting" and view.expires_at is not None:
        line += f" (Partner Center archives it on {day(view.expires_at)})"
    return line


def problem_line(view: InboundCard) -> str | None:
    """What Partner Center said when it refused the last answer sent, while it still waits."""
    if view.status != "waiting" or not view.problem:
        return None
    return f"Partner Center refused the last answer: {view.problem}"


def _tags(tags: list[Tag] | None) -> str | None:
    return ", ".join(tag.id for tag in tags or ()) or None


def inbound_facts(view: InboundCard) -> list[tuple[str, str | None]]:
    """The facts of the card, by label: sender, customer, need, deal, contact, assignee."""
    referral = view.referral
    details = referral.details
    needs = details.requirements if details else None
    contacts = referral.customer_profile.team if referral.customer_profile else None
    solutions = joined(
        (solution.name or solution.id for solution in (needs.solutions if needs else None) or ()),
        ", ",
    )
    rows: list[tuple[str, str | None]] = [
        ("From", sender(referral)),
        ("Customer", customer(referral)),
        ("Solutions", solutions),
        ("Products", _tags(needs.products) if needs else None),
        ("Industries", _tags(needs.industries) if needs else None),
        ("Value", money(details.deal_value, details.currency) if details else None),
        ("Closing", day(details.closing_date_time) if details else None),
        ("Contact", member(contacts[0]) if contacts else None),
    ]
    if view.assignee:
        rows.append(("Assigned to", view.assignee))
    return rows


def inbound_notes(view: InboundCard) -> str | None:
    """What the sender wrote about the need (the referral's notes and the invitation's)."""
    referral = view.referral
    notes = referral.details.notes if referral.details else None
    invited = referral.invite_context.notes if referral.invite_context else None
    return joined((notes, invited), "\n")


def inbound_glance(view: InboundCard) -> str:
    """One line: customer, value, closing, days left."""
    referral = view.referral
    details = referral.details
    return (
        joined(
            (
                referral.customer_profile.name if referral.customer_profile else None,
                money(details.deal_value, details.currency) if details else None,
                f"closing {day(details.closing_date_time)}"
                if details and details.closing_date_time
                else None,
                days_left(view.days_left) if view.status == "waiting" else None,
            )
        )
        or MISSING
    )


def inbox_summary(view: InboundList) -> str:
    """``3 incoming referrals waiting for an answer``: a list's notification text."""
    count = len(view.referrals)
    if not count:
        return view.empty
    return f"{count} incoming referral{'' if count == 1 else 's'} waiting for an answer"


def inbound_not_shown(count: int) -> str:
    """A line counting the incoming referrals a list or home page leaves out."""
    noun = "referral" if count == 1 else "referrals"
    return f"{count} more incoming {noun} not shown: type {INBOX_COMMAND} to see them."
