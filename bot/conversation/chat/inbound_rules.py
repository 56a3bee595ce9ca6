"""The rules of incoming referrals that every part of their triage shares: where their cards
go (a triage channel per workspace), when reminders come, what a platform must do for them
(:class:`InboundReplier`), the job kinds, and what a person is told when a click is refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Protocol

from bot.conversation.chat.turns import Replier, Turn
from bot.conversation.views import Notice, Problem, Seller, View
from bot.inbound.places import InboundPlaces, place_of
from bot.notifications.channels import Channel

ARRIVED: Final = "inbound-arrived"
"""The job kind that reads an incoming referral the change detection saw, and files it."""
CARDS: Final = "inbound-card"
"""The job kind that posts an incoming referral's cards where they are not yet, and shows
where it stands on those posted."""
SELLERS: Final = "inbound-sellers"
"""The job kind that finds the sellers whose referral it is and tells them in their DM."""
REMIND: Final = "inbound-remind"
"""The job kind that reminds a triage channel (on the card's thread) of a threshold."""
TELL: Final = "inbound-told"
"""The job kind that tells one person of an incoming referral in their DM (assigned to them,
a reminder), ordered by their conversation."""
BOT: Final = "referral-bot"
"""Who moved a record no person moved (it expired)."""
PARTNER_CENTER: Final = "partner-center"
"""Who moved a record answered outside the chat."""
ALLOTTED: Final = timedelta(days=14)
"""How long Partner Center lets an incoming referral wait, when it does not say
(``expirationDateTime``)."""
LISTED: Final = 20
"""How many incoming referrals ``/referral inbox`` and a home page show."""

GONE = Problem(message="That incoming referral is no longer kept here; nothing changed.")
NOT_A_CHANNEL = Problem(
    message="Type this in the channel where incoming referrals should be triaged.",
    hint="A direct message is nobody's triage channel.",
)
REASON_NEEDED = Problem(
    message="Say why it is declined: the sender sees the reason. Nothing changed.",
    hint="Type the reason on the card, then click Decline.",
)
WHOM_NEEDED = Problem(
    message="Name the seller to assign it to; nothing changed.",
    hint="Pick a person on the card (in Teams, type their email), then click Assign.",
)
NO_PLACE_YET = Notice(
    message="No triage channel is set up, so incoming referrals go nowhere yet.",
    detail="Type /referral inbound here in the channel where they should be triaged (or "
    "the operator sets INBOUND_CHANNEL for Slack).",
)


class InboundReplier(Replier, Protocol):
    """What incoming referrals ask of a platform, besides what every turn does."""

    async def post_in_thread(self, channel: Channel, message_id: str, view: View) -> str:
        """Post ``view`` as a reply on the thread of the bot's message ``message_id`` in
        ``channel`` (a reminder under its card); the reply's id."""
        ...

    async def reach(self, turn: Turn, via: Channel | None) -> Turn | None:
        """``turn`` addressed so that a post to its person arrives in a DM of theirs, or None
        when the platform cannot open one (logged). ``via`` is the triage channel of their
        workspace, through which a platform that needs it opens the DM (Slack opens one with
        anyone on posting; Teams keeps each 1:1 chat's reference, opening it once at the Bot
        Connector of that channel)."""
        ...

    async def person(self, channel: Channel, email: str) -> Seller | None:
        """The person of ``channel``'s workspace whose profile has ``email`` (found through
        that channel where the platform looks people up per conversation), or None when the
        platform knows nobody by it there."""
        ...


@dataclass(frozen=True, slots=True)
class InboundRules:
    """Where incoming referrals go by default and when people are reminded of them."""

    slack_channel: str | None = None
    """``INBOUND_CHANNEL``: the Slack channel they go to unless one is set in chat."""
    slack_workspace: str = ""
    """The Slack workspace ``INBOUND_CHANNEL`` belongs to (the first allowed one)."""
    reminder_days: tuple[int, ...] = (3, 1)
    """``INBOUND_REMINDER_DAYS``: remind when this many days are left (largest first)."""
    admins: frozenset[str] = field(default_factory=frozenset)
    """``REFERRAL_ADMINS`` (lower case): they see every incoming referral in their inbox."""

    def crossed(self, expires_at: datetime, now: datetime) -> list[int]:
        """The reminder thresholds passed at ``now`` for a referral expiring at
        ``expires_at`` (none once it expired)."""
        left = expires_at - now
        if left <= timedelta(0):
            return []
        return sorted((d for d in self.reminder_days if left <= timedelta(days=d)), reverse=True)


async def triage_places(places: InboundPlaces, rules: InboundRules) -> list[Channel]:
    """Every triage channel: those set in chat, and ``INBOUND_CHANNEL`` for a Slack workspace
    that set none."""
    found = await places.all()
    if rules.slack_channel:
        default = Channel(platform="slack", workspace=rules.slack_workspace, id=rules.slack_channel)
        if not any(place_of(each) == place_of(default) for each in found):
            found.append(default)
    return found


def days_left(expires_at: datetime, now: datetime) -> int:
    """Whole days left before ``expires_at`` (0 on its last day and after)."""
    return max(0, (expires_at - now) // timedelta(days=1))


def dm_place(conversation: str) -> str:
    """The place of a card in a person's DM (``dm:slack:T1:U2``)."""
    return f"dm:{conversation}"


def platform_of(key: str) -> tuple[str, str]:
    """The platform and workspace of a conversation key (``slack:T1:U2`` → slack, T1)."""
    platform, _, rest = key.partition(":")
    return platform, rest.partition(":")[0]


def user_of(key: str) -> str:
    """The platform's id of the person of a conversation key (``slack:T1:U2`` → U2)."""
    return key.rsplit(":", 1)[-1]
