"""Who may see and change a referral: its team, matched on the email of the seller's chat
profile, and the admins of ``REFERRAL_ADMINS``.

Every person acts through the same Partner Center credentials, so Partner Center would show
anyone everything: the bot decides. The desk asks before it shows or lists, the engine before
it starts a draft that changes a referral (update, close, add a team member).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.conversation.runtime.submit import api_problem
from bot.conversation.views import Problem, Seller
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import PartnerCenterError
from bot.partner_center.odata import literal
from bot.referrals.models import Referral

logger = logging.getLogger(__name__)

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


async def referral_for(
    access: Access, client: PartnerCenterClient, seller: Seller, referral_id: str
) -> Referral | Problem:
    """The referral ``seller`` asked for, read from Partner Center, or why they don't get it
    (no email: refused before anything is read; not on its team; Partner Center refused)."""
    if not access.is_admin(seller) and access.email(seller) is None:
        return no_email()
    try:
        referral = await client.get(referral_id)
    except PartnerCenterError as error:
        return api_problem(error)
    if not access.may_use(seller, referral):
        logger.info("%s refused on referral %s: not on its team", seller.user_id, referral_id)
        return access.refusal(seller, referral_id)
    return referral


def on_team(email: str) -> str:
    """The OData filter of the referrals whose team includes ``email``: the rule above, asked
    of Partner Center when listing. Raises :class:`~bot.partner_center.odata.UnsafeLiteral`
    for an email no filter may hold."""
    return f"team/any(t:t/email eq {literal(email)})"


def no_email() -> Problem:
    """What a seller whose profile has no email is told instead of any referral."""
    return Problem(message=NO_EMAIL, hint=NO_EMAIL_HINT)
