"""The front desk: one entry point for everything a seller says to the bot.

Drafts go to the :class:`~bot.conversation.runtime.engine.Engine`; ``show``, ``find`` and
``list`` read from Partner Center directly, showing a seller only referrals whose team includes
them (all of them to an admin; see :mod:`bot.conversation.runtime.access`). Whatever names a
referral for ``show`` or a draft on one (``update``, ``close``, ``team``, ``register``) is
turned into its id first, by the :class:`~bot.conversation.chat.finding.Finder`. The shared
turn pipeline (:mod:`bot.conversation.chat.turns`) calls :meth:`Desk.answer` with what every
platform's turn was parsed into.
"""

from __future__ import annotations

from bot.conversation.chat.commands import (
    HELP_TEXT,
    ApprovalCommand,
    Find,
    Help,
    InboundCommand,
    ListReferrals,
    Parsed,
    Show,
    SignInCommand,
    SubscribeCommand,
    Usage,
    parse_message,
)
from bot.conversation.chat.finding import Finder
from bot.conversation.chat.memory import ChatMemory
from bot.conversation.runtime.access import NO_EMAIL_HINT, Access, no_email, on_team, referral_for
from bot.conversation.runtime.engine import Conversation, Engine, Reply
from bot.conversation.runtime.machine import Effect
from bot.conversation.runtime.submit import api_problem
from bot.conversation.views import (
    Command,
    CommandName,
    Home,
    Notice,
    Problem,
    ReferralCard,
    ReferralList,
    Seller,
    View,
)
from bot.conversation.vocabulary.flows import FLOWS
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import PartnerCenterError
from bot.partner_center.odata import UnsafeLiteral
from bot.referrals.registration import could_register

LIST_PAGE = 20
CHAT_ONLY = "That works in chat only (Slack or Teams)."
UNUSABLE_EMAIL = (
    "The email address of your chat profile holds characters I can't look referrals up by, "
    "so I show none."
)
SCOPES = {
    "all": (None, "Referrals"),
    "open": ("status eq 'New' or status eq 'Active'", "Open referrals"),
    "won": ("status eq 'Closed' and substatus eq 'Won'", "Won referrals"),
    "lost": ("status eq 'Closed' and substatus eq 'Lost'", "Lost referrals"),
}


class Desk:
    """Routes a seller's messages to the engine or to Partner Center."""

    def __init__(
        self,
        engine: Engine,
        client: PartnerCenterClient,
        *,
        access: Access | None = None,
        memory: ChatMemory | None = None,
    ) -> None:
        """``memory`` keeps the last list shown (by default beside the engine's drafts)."""
        self._engine = engine
        self._client = client
        self._access = access or Access()
        self._finder = Finder(client, self._access, memory or ChatMemory(engine.store))

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
        try:
            return await self._answer(conversation, parsed, delivery)
        except UnsafeLiteral:
            # A profile's email no filter may hold (a control character): nothing was asked.
            return Reply([Problem(message=UNUSABLE_EMAIL, hint=NO_EMAIL_HINT)], Effect.REFUSED)

    async def _answer(
        self, conversation: Conversation, parsed: Parsed, delivery: str | None
    ) -> Reply:
        if isinstance(parsed, Show):
            return Reply(await self._show(conversation, parsed.referral_id), Effect.SHOWN)
        if isinstance(parsed, Find):
            return Reply(await self._finder.find(conversation, parsed.words), Effect.SHOWN)
        if isinstance(parsed, ListReferrals):
            return Reply(await self._list(conversation, parsed), Effect.SHOWN)
        if isinstance(parsed, Help):
            return Reply([_help(parsed)], Effect.SHOWN)
        if isinstance(parsed, Usage):
            return Reply([Problem(message=parsed.message)], Effect.REFUSED)
        if isinstance(parsed, SignInCommand | SubscribeCommand | ApprovalCommand | InboundCommand):
            # Both need the chat's own address (a link to send privately, a channel to
            # subscribe): the turn pipeline answers them before the desk is asked.
            return Reply([Problem(message=CHAT_ONLY)], Effect.REFUSED)
        if isinstance(parsed, Command) and parsed.name is CommandName.START:
            named = await self._named(conversation, parsed)
            if not isinstance(named, Command):
                # A pick list asks which; anything else says why there is none.
                effect = Effect.SHOWN if isinstance(named[0], ReferralList) else Effect.REFUSED
                return Reply(named, effect)
            parsed = named
        return await self._engine.turn(conversation, parsed, delivery=delivery)

    async def _named(self, conversation: Conversation, command: Command) -> Command | list[View]:
        """A draft starting on a referral, with the referral named by its id; or what to show
        instead (several named, or none)."""
        name, _, reference = (command.arg or "").strip().partition(" ")
        flow = FLOWS.get(name.lower())
        if flow is None or not flow.needs_referral or not reference.strip():
            return command
        found = await self._finder.resolve(conversation, name.lower(), reference)
        if isinstance(found, str):
            return command.model_copy(update={"arg": f"{name} {found}"})
        return found

    async def has_draft(self, key: str) -> bool:
        """Whether conversation ``key`` has a draft in progress."""
        return await self._engine.draft(Conversation(key, Seller(user_id=key))) is not None

    async def home(self, conversation: Conversation) -> Home:
        """The seller's home page: the draft in progress and their open referrals (an admin's:
        every open referral; a profile without an email: none, and why)."""
        draft = await self._engine.draft(conversation)
        seller = conversation.seller
        query = SCOPES["open"][0]
        if not self._access.is_admin(seller):
            email = self._access.email(seller)
            if email is None:
                return Home(draft=draft, referrals=(), problem=no_email().message)
            try:
                query = f"({query}) and {on_team(email)}"
            except UnsafeLiteral:
                return Home(draft=draft, referrals=(), problem=UNUSABLE_EMAIL)
        listing = self._client.acting_for(conversation.key).list(
            filter=query, orderby="updatedDateTime desc", top=LIST_PAGE
        )
        try:
            referrals = await listing.collect()
        except PartnerCenterError as error:
            return Home(draft=draft, referrals=(), problem=api_problem(error).message)
        return Home(draft=draft, referrals=tuple(referrals), total=listing.total)

    async def _show(self, conversation: Conversation, reference: str) -> list[View]:
        referral_id = await self._finder.resolve(conversation, "show", reference)
        if not isinstance(referral_id, str):
            return referral_id
        client = self._client.acting_for(conversation.key)
        found = await referral_for(self._access, client, conversation.seller, referral_id)
        if isinstance(found, Problem):
            return [found]
        return [ReferralCard(referral=found, registrable=could_register(found))]

    async def _list(self, conversation: Conversation, command: ListReferrals) -> list[View]:
        query: str | None
        seller = conversation.seller
        email = self._access.email(seller)
        if command.scope == "mine":
            if email is None:
                return [no_email()]
            query, title = on_team(email), "Your referrals"
        else:
            query, title = SCOPES[command.scope]
            if not self._access.is_admin(seller):
                # Everyone else sees the referrals whose team includes them, whatever the scope.
                if email is None:
                    return [no_email()]
                query = on_team(email) if query is None else f"({query}) and {on_team(email)}"
        # Partner Center pages with opaque continuation links; page N is the last LIST_PAGE
        # of the first N * LIST_PAGE referrals (one request while that is under 100).
        wanted = LIST_PAGE * command.page
        listing = self._client.acting_for(conversation.key).list(
            filter=query, orderby="updatedDateTime desc", top=wanted
        )
        try:
            referrals = (await listing.collect())[wanted - LIST_PAGE :]
        except PartnerCenterError as error:
            return [api_problem(error)]
        if (
            not referrals
            and command.page == 1
            and email is not None
            and not (self._access.is_admin(seller) and command.scope != "mine")
        ):
            # Say whose referrals were looked for: "none found" alone reads as "none exist".
            return [
                Notice(
                    message=f"No {_SCOPE_WORDS[command.scope]}referrals have {email} on "
                    "their team.",
                    detail="Create one with /referral new (you are put on its team), or ask "
                    "a colleague on a referral's team to add you.",
                )
            ]
        more = listing.total is not None and listing.total > wanted
        await self._finder.remember(conversation.key, referrals)
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


_SCOPE_WORDS = {"all": "", "mine": "", "open": "open ", "won": "won ", "lost": "lost "}


def _help(parsed: Help) -> View:
    if parsed.unknown is None:
        return Notice(message="What I can do:", detail=HELP_TEXT)
    guess = f" Did you mean /referral {parsed.closest}?" if parsed.closest else ""
    return Problem(message=f"I don't know /referral {parsed.unknown}.{guess}", hint=HELP_TEXT)
