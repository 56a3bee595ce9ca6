"""Views out to the terminal, for the shared turn pipeline: each one printed below the last.

A terminal cannot rewrite what it printed, so the line the seller typed is the record of
their answer and a card shown "in place" of another is printed after it.
"""

from __future__ import annotations

import itertools

from rich.console import Console

from bot.conversation import CardRef, Home, Notice, ReferralList, Seller, Turn, View
from bot.notifications.channels import Channel, ChannelGone
from cards.text import render_view

PLATFORM = "console"


class ConsoleReplier:
    """Prints views on ``console``."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._numbers = itertools.count(1)

    async def post(self, turn: Turn, view: View) -> CardRef:
        """Print ``view``; a number stands for where it was printed."""
        self._console.print(render_view(view))
        self._console.print()
        return CardRef(PLATFORM, str(next(self._numbers)))

    async def replace(self, turn: Turn, card: CardRef, view: View) -> None:
        """Print ``view`` (what is printed stays printed)."""
        await self.post(turn, view)

    async def record(self, turn: Turn, card: CardRef, answer: str) -> None:
        """Nothing to do: the seller's own line above is the record of their answer."""

    async def profile(self, turn: Turn) -> Seller:
        """The seller as ``--as`` (or the account) named them."""
        return turn.seller

    async def admits(self, turn: Turn) -> str | None:
        """The person at this terminal may always be served."""
        return None

    def channel(self, turn: Turn) -> Channel | None:
        """A terminal is nobody's channel."""
        return None

    async def post_to_channel(self, channel: Channel, view: View) -> str:
        """The terminal posts to no channel."""
        raise ChannelGone("the terminal has no channels")

    async def update_in_channel(self, channel: Channel, message_id: str, view: View) -> None:
        """The terminal has no channel message to rewrite."""
        raise ChannelGone("the terminal has no channels")

    async def named_by(self, turn: Turn, names: frozenset[str]) -> bool:
        """Whether ``names`` holds the terminal's person: their account (``turn.seller.user_id``)
        or, when ``--as`` gave one, their email (compared case-insensitively)."""
        if turn.seller.user_id in names:
            return True
        email = turn.seller.email
        return email is not None and email.casefold() in {name.casefold() for name in names}

    async def home(self, turn: Turn, view: Home) -> None:
        """Print the home page as the terminal shows things: the draft, then the list."""
        if view.draft is not None:
            await self.post(
                turn, Notice(message=f"Your {view.draft.title.lower()} draft is waiting.")
            )
        listed = ReferralList(
            title="Your open referrals", referrals=view.referrals, total=view.total
        )
        await self.post(turn, listed)
