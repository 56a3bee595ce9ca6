"""Customers a seller filed before: when a new referral names one, the draft offers its
address, size and contact in one question (``same_customer``), never copying them silently.

The seller's earlier referrals are those :class:`~.finding.Finder` may show them (their
team's; an admin's, all). The newest whose customer name is the one typed (case, accents
and punctuation aside) is offered. A lookup that fails (Partner Center unreachable, a
profile without an email) offers nothing: the seller is asked the questions as usual.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from bot.conversation.chat.finding import Finder, Matches
from bot.conversation.runtime.engine import Conversation
from bot.conversation.vocabulary.flows.new_referral import known_customer
from bot.referrals.lookup import lookup_key

logger = logging.getLogger(__name__)


class KnownCustomers:
    """A :class:`~bot.conversation.runtime.engine.Lookup` of the customer name answered."""

    def __init__(self, finder: Finder) -> None:
        self._finder = finder

    async def __call__(self, conversation: Conversation, answer: Any) -> Any:
        """The newest earlier referral of this customer, as the draft keeps it; or None."""
        wanted = lookup_key(str(answer or ""))
        if not wanted:
            return None
        # Its words, without the punctuation a name may be typed with ("Fabrikam Inc.").
        words = " ".join(re.findall(r"\w+", str(answer)))
        found = await self._finder.search(conversation, words)
        if not isinstance(found, Matches):  # Partner Center refused, no email: no offer
            logger.info("known customer lookup found nothing to look at")
            return None
        for referral in found.referrals:  # newest first within each likeness
            profile = referral.customer_profile
            if profile is not None and lookup_key(profile.name or "") == wanted:
                return known_customer(referral)
        return None
