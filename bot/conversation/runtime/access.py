"""Who may see and change a referral: its team, matched on the email of the seller's chat
profile, and the admins of ``REFERRAL_ADMINS``.

Every person acts through the same Partner Center credentials, so Partner Center would show
anyone everything: the bot decides. The desk asks before it shows or lists, the engine before
it starts a draft that changes a referral (update, close, add a team member).
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.conversation.views import Problem, Seller
from bot.referrals.models import Referral

NO_EMAIL = (
    "Your chat profile has no email address, so I can't tell which referrals are yours "
    "and show none."
)
NO_EMAIL_HINT = (
    "Ask your admin to add your email to your chat profile (in the terminal, start with "
    '--as "First Last <email>").'
)


class Access:
    """The admins, and the rule for everyone else: on the referral's team."""

    def __init__(self, admins: Iterable[str] = ()) -> None:
        self._admins = frozenset(admin.strip().lower() for admin in admins if admin.strip())

    def is_admin(self, seller: Seller) -> bool:
        """Whether ``seller`` is listed in ``REFERRAL_ADMINS``, by chat user id or email."""
        names = {seller.user_id.lower()}
        if seller.email:
            names.add(seller.email.lower())
        return not self._admins.isdisjoint(names)

    def email(self, seller: Seller) -> str | None:
        """The email a seller's referrals are found by (lower case), if they have one."""
        return seller.email.strip().lower() if seller.email and seller.email.strip() else None

    def may_use(self, seller: Seller, referral: Referral) -> bool:
        """Whether ``seller`` may see and change ``referral``."""
        if self.is_admin(seller):
            return True
        email = self.email(seller)
        team = referral.team or ()
        return email is not None and any(
            (member.email or "").strip().lower() == email for member in team
        )

    def refusal(self, seller: Seller, referral_id: str) -> Problem:
        """What a seller who may not use the referral is told."""
        if self.email(seller) is None:
            return no_email()
        return Problem(
            message=f"You're not on the team of referral {referral_id}, so I can't show or "
            "change it.",
            hint="Ask someone on its team to add you (/referral team ID), or see yours with "
            "/referral list mine.",
        )


def no_email() -> Problem:
    """What a seller whose profile has no email is told instead of any referral."""
    return Problem(message=NO_EMAIL, hint=NO_EMAIL_HINT)
