"""An incoming referral as its card shows it, and the words for who answered it, whom it was
assigned to and how long is left."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from bot.conversation.chat.inbound_rules import days_left
from bot.conversation.views import InboundCard, TriageVerdict
from bot.inbound.store import InboundRecord, InboundStatus

WAITING_ACTIONS: Final[tuple[TriageVerdict, ...]] = ("accept", "decline", "assign")


def inbound_card(
    record: InboundRecord, now: datetime, *, message: str | None = None
) -> InboundCard:
    """The card of ``record`` at ``now``: with Accept, Decline and Assign while it waits, and
    nothing to click once it is answered (or being answered)."""
    waiting = record.status is InboundStatus.WAITING
    decided = record.status not in (InboundStatus.WAITING, InboundStatus.EXPIRED)
    return InboundCard(
        referral=record.referral,
        status=record.status.value,
        expires_at=record.expires_at if waiting else None,
        days_left=days_left(record.expires_at, now) if waiting else None,
        decided_by=(record.decided_by_name or record.decided_by) if decided else None,
        decided_at=record.decided_at if decided else None,
        reason=record.reason
        if record.status in (InboundStatus.DECLINED, InboundStatus.ANSWERED)
        else None,
        problem=record.problem if waiting else None,
        assignee=record.assignee_name or record.assignee,
        actions=WAITING_ACTIONS if waiting else (),
        message=message,
    )


_DONE: Final[dict[InboundStatus, str]] = {
    InboundStatus.ACCEPTING: "is accepting",
    InboundStatus.DECLINING: "is declining",
    InboundStatus.ACCEPTED: "accepted",
    InboundStatus.DECLINED: "declined",
}


def who_answered(record: InboundRecord) -> str:
    """``Grace Hopper accepted this at 2026-12-04 10:02 UTC; nothing else changed.``: what a
    click that came too late hears."""
    if record.status is InboundStatus.EXPIRED:
        return "This referral expired unanswered; nothing changed."
    if record.status is InboundStatus.ANSWERED:
        return "This referral was answered in Partner Center; nothing changed."
    who = record.decided_by_name or record.decided_by or "Someone"
    when = f" at {record.decided_at:%Y-%m-%d %H:%M} UTC" if record.decided_at else ""
    return f"{who} {_DONE.get(record.status, 'answered')} this{when}; nothing else changed."


def name_of(record: InboundRecord) -> str:
    """The referral's name, or its id."""
    return record.referral.name or record.id


def assigned_line(record: InboundRecord, now: datetime) -> str:
    """What an assignee is told above the card."""
    who = record.decided_by_name or "Someone"
    left = days_left(record.expires_at, now)
    return (
        f"{who} assigned you this incoming referral: you are on its team now. Accept or "
        f"decline it within {left} day{'' if left == 1 else 's'}."
    )


def reminder_line(days: int) -> str:
    """What a reminder says above the card."""
    return (
        f"Reminder: {days} day{'' if days == 1 else 's'} left to accept or decline this "
        "referral before Partner Center archives it."
    )


def matched_line() -> str:
    """What a seller matched by their referrals is told above the card."""
    return "An incoming referral for a customer or team of yours: accept or decline it here."
