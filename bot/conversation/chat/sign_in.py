"""The chat's side of signing in to Partner Center: what a seller is told and sent.

Sign-in itself (msal, the sealed token caches, the callback) lives in :mod:`bot.identity`;
the turn pipeline reaches it through :class:`SignInDesk`, so the conversation never imports
msal. Whether sellers sign in at all is the deployment's choice (``AUTH_MODE``): only in
``user`` mode are links sent.

:class:`SignInTurns` is the sign-in part of the turn pipeline
(:class:`~bot.conversation.chat.turns.TurnRunner` holds one): ``/referral login``,
``logout`` and ``whoami``; a private link when a turn needs Partner Center and the seller
has not signed in (or their sign-in ended); the welcome back once the callback signed them
in, after which the turn they were stopped at carries on.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from bot.conversation.chat.commands import SignInCommand, needs_partner_center
from bot.conversation.views import Home, Notice, Problem, Seller, SignIn, View

if TYPE_CHECKING:
    from bot.conversation.chat.desk import Desk
    from bot.conversation.chat.memory import CardRef
    from bot.conversation.chat.turns import Replier, Turn, TurnProgress
    from bot.identity.caches import Account
    from bot.settings import AuthMode

logger = logging.getLogger(__name__)

RESUME = "resume"
"""What runs once a seller who was stopped mid-draft has signed in: their draft, as it was."""

NOT_SIGNED_IN = "Sign in to Partner Center first: the referrals you see and change are yours."
SIGN_IN_AGAIN = "Your Partner Center sign-in has ended ({reason}); sign in again to carry on."
KEPT = "Your draft is kept: once you are signed in, I carry on where you were."
NOT_HERE = Problem(
    message="I send sign-in links only where nobody else sees them.",
    hint="Open a 1:1 chat with me and type /referral login there.",
)
SWITCH = "You are signed in as {username}. To sign in as someone else, use this link."
HOME_SIGN_IN = "Sign in to Partner Center to see your referrals: message me /referral login."


class SignInDesk(Protocol):
    """What the chat needs of sign-in (:class:`bot.identity.identity.Identity`)."""

    mode: AuthMode

    @property
    def per_seller(self) -> bool:
        """Whether each seller signs in as themselves."""
        ...

    async def is_signed_in(self, principal: str) -> bool:
        """Whether calls for ``principal`` have someone to act as."""
        ...

    async def link(self, principal: str, resume: Mapping[str, Any]) -> str:
        """A private, single-use sign-in link."""
        ...

    async def account(self, principal: str) -> Account | None:
        """Whom calls for ``principal`` act as."""
        ...

    async def sign_out(self, principal: str) -> bool:
        """Delete the principal's tokens; True when there were any."""
        ...

    async def held_account(self, principal: str) -> Account | None:
        """Whom a new sign-in waiting for confirmation is for."""
        ...

    async def confirm(self, principal: str) -> bool:
        """Use the new sign-in from now on."""
        ...

    async def refuse(self, principal: str) -> None:
        """Forget the new sign-in, unused."""
        ...


async def answer_sign_in(
    desk: SignInDesk | None, principal: str, command: SignInCommand, link: str | None
) -> list[View]:
    """``/referral login``, ``logout`` and ``whoami``; ``link`` is a fresh sign-in link when
    ``login`` was asked in a place where one may be shown."""
    mode = desk.mode if desk is not None else "static"
    if command.action == "whoami":
        return [await _whoami(desk, principal)]
    if mode == "static":
        return [
            Notice(
                message="There is no sign-in here: Partner Center calls use this "
                "deployment's configured token, or the built-in sandbox (AUTH_MODE=static).",
            )
        ]
    if mode == "service":
        return [
            Notice(
                message="Everyone here acts as one integration user (AUTH_MODE=service); an "
                "operator signs it in with `referral-bot login`.",
            )
        ]
    assert desk is not None
    if command.action == "logout":
        if await desk.sign_out(principal):
            return [Notice(message="Signed out of Partner Center: your tokens are deleted.")]
        return [Notice(message="You were not signed in to Partner Center.")]
    if link is None:
        return [NOT_HERE]
    account = await desk.account(principal)
    message = (
        SWITCH.format(username=account.username)
        if account is not None
        else "Sign in to Partner Center as yourself."
    )
    return [SignIn(url=link, message=message)]


async def _whoami(desk: SignInDesk | None, principal: str) -> View:
    mode = desk.mode if desk is not None else "static"
    if desk is None or mode == "static":
        return Notice(
            message="Partner Center calls use this deployment's configured token, or the "
            "built-in sandbox (AUTH_MODE=static): no one signs in."
        )
    account = await desk.account(principal)
    if account is None:
        if mode == "service":
            return Problem(
                message="The integration user is not signed in.",
                hint="An operator signs it in with `referral-bot login`.",
            )
        return Notice(message="You are not signed in to Partner Center.", detail="Type login.")
    who = account.username + (f" ({account.name})" if account.name else "")
    message = (
        f"Everyone here acts as the integration user {who}."
        if mode == "service"
        else f"Signed in to Partner Center as {who}."
    )
    roles = ", ".join(account.roles) if account.roles else None
    detail = (
        f"Roles granted at sign-in: {roles}."
        if roles
        else "Sign-in did not report roles; Partner Center checks on each call for "
        "Referrals Admin, or Referrals User on the referral's team."
    )
    if account.tenant_id:
        detail = f"Tenant {account.tenant_id}. {detail}"
    return Notice(message=message, detail=detail)


def sign_in_view(link: str, *, reason: str | None, kept: bool) -> SignIn:
    """The card with a sign-in link, saying why and whether a draft waits."""
    message = SIGN_IN_AGAIN.format(reason=reason) if reason else NOT_SIGNED_IN
    return SignIn(url=link, message=message, detail=KEPT if kept else None)


def welcome(account: Account) -> Notice:
    """What a seller is told in chat once the callback signed them in."""
    return Notice(message=f"Signed in to Partner Center as {account.username}.")


def other_person(seller: Seller, account: Account) -> str | None:
    """Why ``account`` is not the chat user ``seller`` (a link opened by someone else), or
    None when nothing says so. The chat profile's email must be the account's user name, and
    on Teams the Entra object id must match."""
    if seller.email and account.username and seller.email.lower() != account.username.lower():
        return f"your chat profile's email is {seller.email}"
    if (
        account.object_id
        and _looks_like_object_id(seller.user_id)
        and seller.user_id.lower() != account.object_id.lower()
    ):
        return "your chat account is a different Microsoft account"
    return None


def _looks_like_object_id(user_id: str) -> bool:
    parts = user_id.split("-")
    return len(parts) == 5 and all(part.isalnum() for part in parts)


class SignInTurns:
    """The sign-in part of the turn pipeline: one per
    :class:`~bot.conversation.chat.turns.TurnRunner`, with the runner's way of posting views
    (so what it posts counts in the turn's progress)."""

    def __init__(
        self,
        identity: SignInDesk | None,
        desk: Desk,
        post: Callable[[Turn, Replier, list[View], TurnProgress], Awaitable[CardRef | None]],
    ) -> None:
        self._identity = identity
        self._desk = desk
        self._post = post

    async def command(self, turn: Turn, command: SignInCommand) -> list[View]:
        """The answer to ``/referral login``, ``logout`` or ``whoami``."""
        link = None
        if command.action == "login" and self._identity is not None and self._identity.per_seller:
            link = None if turn.shared else await self._link(turn, then=None)
        return await answer_sign_in(self._identity, turn.conversation, command, link)

    async def needed(self, turn: Turn, parsed: object) -> bool:
        """Whether answering ``parsed`` needs Partner Center as a seller not signed in yet."""
        return (
            self._identity is not None
            and self._identity.per_seller
            and needs_partner_center(parsed)
            and not await self._identity.is_signed_in(turn.conversation)
        )

    async def ask(
        self, turn: Turn, replier: Replier, progress: TurnProgress, *, reason: str | None
    ) -> None:
        """Send a private sign-in link; the turn is carried on once the seller signed in."""
        if turn.kind == "home":
            home = Home(draft=None, referrals=(), problem=HOME_SIGN_IN)
            await replier.home(turn, home)
            return
        if self._identity is None or not self._identity.per_seller or turn.shared:
            await self._post(turn, replier, [NOT_HERE], progress)
            return
        carry_on = turn.text if turn.kind == "message" and turn.text else RESUME
        link = await self._link(turn, then=carry_on)
        kept = carry_on == RESUME or await self._desk.has_draft(turn.conversation)
        view = sign_in_view(link, reason=reason, kept=kept)
        if turn.card is not None and progress.sending:
            # The clicked Submit card says "Sending…": it becomes the link instead.
            await replier.replace(turn, turn.card, view)
            progress.posted.append(view)
            return
        await self._post(turn, replier, [view], progress)

    async def signed_in(self, turn: Turn, replier: Replier, progress: TurnProgress) -> Turn | None:
        """Welcome a seller back from signing in, and the turn to carry on with, if any."""
        if self._identity is None:
            return None
        account = await self._identity.held_account(turn.conversation)
        if account is None:
            return None  # lapsed unconfirmed, or this turn ran already
        seller = await replier.profile(turn)
        mismatch = other_person(seller, account)
        if mismatch is not None:
            # A link opened by someone else must not let this chat user act as them: the
            # sign-in was held aside, and is forgotten without ever being used.
            await self._identity.refuse(turn.conversation)
            logger.warning("%s signed in as another person: refused", turn.conversation)
            refused = Problem(
                message=f"You signed in to Partner Center as {account.username}, but "
                f"{mismatch}; I did not keep that sign-in.",
                hint="Type /referral login and sign in with your own account.",
            )
            await self._post(turn, replier, [refused], progress)
            return None
        await self._identity.confirm(turn.conversation)
        await self._post(turn, replier, [welcome(account)], progress)
        if not turn.text:
            return None
        return turn.model_copy(update={"kind": "message", "seller": seller})

    async def _link(self, turn: Turn, *, then: str | None) -> str:
        assert self._identity is not None
        resume = turn.model_dump(
            mode="json", include={"platform", "conversation", "seller", "address", "shared"}
        )
        resume["text"] = then
        return await self._identity.link(turn.conversation, resume)
