"""The rules of deal-registration approvals that every part of them shares: who decides
(``APPROVERS``), where requests go (a workspace's approvals channel), how long they wait, and
what a person is told when a click is refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from bot.approvals.places import ApprovalPlaces
from bot.approvals.store import (
    ApprovalStatus,
)
from bot.conversation.views import (
    Problem,
    Seller,
)
from bot.notifications.channels import Channel
from bot.referrals.models import Referral

POST_CARD: Final = "approval-card"
"""The job kind that posts a new request's card in the approvals channel."""
TELL_REQUESTER: Final = "approval-told"
"""The job kind that tells a requester what became of their request."""
YOUNG: Final = timedelta(hours=72)
"""Microsoft may reject a registration made this soon after the referral was created."""
BOT: Final = "referral-bot"
"""Who moved a request no person moved (it expired)."""
OPEN: Final = (ApprovalStatus.PENDING, ApprovalStatus.FAILED)
"""Requests a decision may still change."""
LISTED: Final = 20
"""How many requests ``/referral approvals`` and a home page show."""

NOT_AN_APPROVER = Problem(
    message="Only approvers decide deal registrations, so nothing changed.",
    hint="Your organization's approvers are set in APPROVERS; ask one of them.",
)
OWN_REQUEST = Problem(
    message="You asked for this registration yourself, so another approver decides it.",
    hint="Nothing changed. To take it back, use Withdraw.",
)
NO_PLACE = "No approvals channel is set up, so there is nobody to ask for this registration yet."
NO_PLACE_HINT = (
    "An approver types /referral approvals here in the channel where requests should go "
    "(or the operator sets APPROVALS_CHANNEL for Slack)."
)
NOT_THE_REQUESTER = Problem(
    message="Only the person who asked can withdraw a request; nothing changed."
)
GONE = Problem(message="That request for approval is no longer kept; nothing changed.")
ONLY_IN_CHAT = Problem(
    message="Approvers decide deal registrations in Slack or Teams, so I can't ask for one "
    "from here.",
    hint="Ask in Slack or Teams with /referral register ID: the report above is the same there.",
)
CHAT_PLATFORMS: Final = frozenset({"slack", "teams"})
"""Where approvals channels are (the terminal has none)."""


@dataclass(frozen=True, slots=True)
class ApprovalRules:
    """Who decides, where requests go by default, and how long they wait."""

    approvers: frozenset[str]
    """``APPROVERS``: Slack user or user-group ids, Teams Entra object ids or emails."""
    slack_channel: str | None = None
    """``APPROVALS_CHANNEL``: the Slack channel requests go to unless one is set in chat."""
    ttl: timedelta = timedelta(days=7)
    """``APPROVAL_TTL_DAYS``: a request unanswered this long expires."""


def platform_of(key: str) -> tuple[str, str]:
    """The platform and workspace of a conversation key (``slack:T1:U2`` → slack, T1)."""
    platform, _, rest = key.partition(":")
    return platform, rest.partition(":")[0]


async def place_for(places: ApprovalPlaces, rules: ApprovalRules, key: str) -> Channel | None:
    """Where requests from conversation ``key`` go: the channel set for its workspace, else
    (Slack) ``APPROVALS_CHANNEL``."""
    platform, workspace = platform_of(key)
    found = await places.get(platform, workspace)
    if found is None and platform == "slack" and rules.slack_channel:
        found = Channel(platform="slack", workspace=workspace, id=rules.slack_channel)
    return found


def display_name(seller: Seller) -> str:
    """A person's name as cards show it."""
    names = " ".join(part for part in (seller.first_name, seller.last_name) if part)
    return seller.display_name or names or seller.email or seller.user_id


def is_young(referral: Referral, now: datetime) -> bool:
    """Whether ``referral`` was created less than 72 hours before ``now``."""
    created = referral.created_date_time
    return created is not None and now - created < YOUNG
