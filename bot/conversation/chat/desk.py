"""The front desk: one entry point for everything a seller says to the bot.

Drafts go to the :class:`~bot.conversation.runtime.engine.Engine`; ``show`` and ``list`` read
from Partner Center directly. The shared turn pipeline (:mod:`bot.conversation.chat.turns`)
calls :meth:`Desk.answer` with what every platform's turn was parsed into.
"""

from __future__ import annotations

from bot.conversation.chat.commands import (
    HELP_TEXT,
    Help,
    ListReferrals,
    Parsed,
    Show,
    Usage,
    parse_message,
)
from bot.conversation.runtime.engine import Conversation, Engine, Reply
from bot.conversation.runtime.machine import Effect
from bot.conversation.runtime.submit import api_problem
from bot.conversation.views import (
    Home,
    Notice,
    Problem,
    ReferralCard,
    ReferralList,
    View,
)
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import PartnerCenterError

LIST_PAGE = 20
SCOPES = {
    "all": (None, "Referrals"),
    "open": ("status eq 'New' or status eq 'Active'", "Open referrals"),
    "won": ("status eq 'Closed' and substatus eq 'Won'", "Won referrals"),
    "lost": ("status eq 'Closed' and substatus eq 'Lost'", "Lost referrals"),
}


class Desk:
    """Routes a seller's messages to the engine or to Partner Center."""

    def __init__(self, engine: Engine, client: PartnerCenterClient) -> None:
        self._engine = engine
        self._client = client

    async def on_message(
        self, conversation: Conversation, text: str, *, step: str | None = None
    ) -> list[View]:
        """Handle a typed message; ``step`` is the question it answers, when known."""
        return (await self.answer(conversation, parse_message(text, step=step))).views

    async def answer(
        self, conversation: Conversation, parsed: Parsed, *, delivery: str | None = None
    ) -> Reply:
        """Answer a parsed message or card input, saying what it did to the draft.

        ``delivery`` names the turn, so a turn delivered twice changes the draft once (see
        :meth:`Engine.turn`).
        """
        if isinstance(parsed, Show):
            return Reply(await self._show(parsed.referral_id), Effect.SHOWN)
        if isinstance(parsed, ListReferrals):
            return Reply(await self._list(conversation, parsed), Effect.SHOWN)
        if isinstance(parsed, Help):
            return Reply([_help(parsed)], Effect.SHOWN)
        if isinstance(parsed, Usage):
            return Reply([Problem(message=parsed.message)], Effect.REFUSED)
        return await self._engine.turn(conversation, parsed, delivery=delivery)

    async def home(self, conversation: Conversation) -> Home:
        """The seller's home page: the draft in progress and their open referrals."""
        draft = await self._engine.draft(conversation)
        email = conversation.seller.email
        query = SCOPES["open"][0]
        if email:
            query = f"({query}) and team/any(t:t/email eq '{_quoted(email)}')"
        listing = self._client.list(filter=query, orderby="updatedDateTime desc", top=LIST_PAGE)
        try:
            referrals = await listing.collect()
        except PartnerCenterError as error:
            return Home(draft=draft, referrals=(), problem=api_problem(error).message)
        return Home(draft=draft, referrals=tuple(referrals), total=listing.total)

    async def _show(self, referral_id: str) -> list[View]:
        try:
            referral = await self._client.get(referral_id)
        except PartnerCenterError as error:
            return [api_problem(error)]
        return [ReferralCard(referral=referral)]

    async def _list(self, conversation: Conversation, command: ListReferrals) -> list[View]:
        query: str | None
        if command.scope == "mine":
            email = conversation.seller.email
            if not email:
                return [
                    Problem(
                        message="I don't know your email address, so I can't find your referrals.",
                        hint="Try /referral list open.",
                    )
                ]
            query, title = f"team/any(t:t/email eq '{_quoted(email)}')", "Your referrals"
        else:
            query, title = SCOPES[command.scope]
        # Partner Center pages with opaque continuation links; page N is the last LIST_PAGE
        # of the first N * LIST_PAGE referrals (one request while that is under 100).
        wanted = LIST_PAGE * command.page
        listing = self._client.list(filter=query, orderby="updatedDateTime desc", top=wanted)
        try:
            referrals = (await listing.collect())[wanted - LIST_PAGE :]
        except PartnerCenterError as error:
            return [api_problem(error)]
        more = listing.total is not None and listing.total > wanted
        scope = "" if command.scope == "all" else f" {command.scope}"
        return [
            ReferralList(
                title=title if command.page == 1 else f"{title}, page {command.page}",
                referrals=tuple(referrals),
                total=listing.total,
                truncated=listing.truncated,
                more=f"/referral list{scope} {command.page + 1}" if more else None,
            )
        ]


def _help(parsed: Help) -> View:
    if parsed.unknown is None:
        return Notice(message="What I can do:", detail=HELP_TEXT)
    guess = f" Did you mean /referral {parsed.closest}?" if parsed.closest else ""
    return Problem(message=f"I don't know /referral {parsed.unknown}.{guess}", hint=HELP_TEXT)


def _quoted(value: str) -> str:
    # OData string literals escape a quote by doubling it.
    return value.replace("'", "''")
