"""Reading what a seller typed: ``/referral`` subcommands and the words that steer a draft.

Slack's slash command, a Teams message and the terminal all hand over the same text, so they
share this one parser.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Literal

from bot.conversation.views import Command, CommandName, Decision, Input, Text, Triage

LIST_SCOPES = ("mine", "open", "won", "lost")


@dataclass(frozen=True, slots=True)
class Show:
    """``/referral show ID``: ``referral_id`` is the id or whatever else names the referral
    (the id's first characters, a number from the last list, words of its name; see
    :mod:`bot.conversation.chat.finding`)."""

    referral_id: str


@dataclass(frozen=True, slots=True)
class Find:
    """``/referral find WORDS``: the referrals whose deal or customer name has the words."""

    words: str


@dataclass(frozen=True, slots=True)
class ListReferrals:
    """``/referral list [mine|open|won|lost]``."""

    scope: Literal["all", "mine", "open", "won", "lost"] = "all"
    page: int = 1


@dataclass(frozen=True, slots=True)
class Help:
    """``/referral help``, or a subcommand we do not know (``unknown``, with a guess)."""

    unknown: str | None = None
    closest: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """A known subcommand used wrongly; ``message`` says how to use it."""

    message: str


@dataclass(frozen=True, slots=True)
class SignInCommand:
    """``/referral login``, ``logout`` or ``whoami``: the seller's Partner Center sign-in."""

    action: Literal["login", "logout", "whoami"]


@dataclass(frozen=True, slots=True)
class SubscribeCommand:
    """``/referral subscribe [EVENT ...] [all] [min=VALUE] [mine]``, ``unsubscribe`` and
    ``subscriptions``: this channel's notifications."""

    action: Literal["subscribe", "unsubscribe", "subscriptions"]
    events: tuple[str, ...] = ()
    """The events asked for; empty: won and lost."""
    min_value: float | None = None
    mine: bool = False


@dataclass(frozen=True, slots=True)
class ApprovalCommand:
    """``/referral approvals`` (what waits for a decision), ``approvals here`` (requests come
    to this channel) and ``withdraw ID`` (take one's own request back)."""

    action: Literal["list", "here", "withdraw"]
    target: str | None = None
    """For ``withdraw``: the referral's id, or the request's."""


@dataclass(frozen=True, slots=True)
class InboundCommand:
    """``/referral inbox`` (incoming referrals waiting for an answer) and ``inbound here``
    (they are triaged in this channel)."""

    action: Literal["inbox", "here"]


Parsed = (
    Input
    | Show
    | Find
    | ListReferrals
    | Help
    | Usage
    | SignInCommand
    | SubscribeCommand
    | ApprovalCommand
    | InboundCommand
)

SIGN_IN_WORDS = ("login", "logout", "whoami")
SUBSCRIBE_WORDS = ("subscribe", "unsubscribe", "subscriptions")
EVENT_WORDS = ("new", "accepted", "won", "lost", "declined", "expired")
SUBSCRIBE_USAGE = (
    "Usage: /referral subscribe [won] [lost] [declined] [expired] [accepted] [new] [all] "
    "[min=VALUE] [mine] (no event word: won and lost)."
)
_MULTIPLIERS = {"k": 1_000, "m": 1_000_000}
EVENT_ALIASES = {
    "win": "won",
    "wins": "won",
    "loss": "lost",
    "losses": "lost",
    "lose": "lost",
    "accept": "accepted",
    "decline": "declined",
    "expire": "expired",
    "expiry": "expired",
}
"""Other words people use for the events."""
SUBCOMMANDS = (
    "new",
    "show",
    "find",
    "list",
    "update",
    "close",
    "team",
    "register",
    "withdraw",
    "approvals",
    "inbox",
    "inbound",
    "resume",
    "cancel",
    "help",
    *SIGN_IN_WORDS,
    *SUBSCRIBE_WORDS,
)
NEEDS_ID = {"show", "update", "close", "team", "register", "withdraw"}
NAMES_A_REFERRAL = NEEDS_ID - {"withdraw"}
"""The subcommands whose referral may be named by more than its id (words of its name...)."""
REFERENCE_USAGE = (
    "ID (the referral's id or its first characters, a number from the last list, or words of "
    "its deal or customer name)."
)
STEERING = {
    "back": CommandName.BACK,
    "skip": CommandName.SKIP,
    "cancel": CommandName.CANCEL,
    "help": CommandName.HELP,
    "review": CommandName.REVIEW,
    "submit": CommandName.SUBMIT,
    "resume": CommandName.RESUME,
    "reapply": CommandName.REAPPLY,
    "keep": CommandName.KEEP,
}

HELP_TEXT = (
    "/referral new [CUSTOMER VALUE by DATE]: create a referral, step by step "
    "(/referral new Contoso 50k USD by 2027-03-31 answers four questions at once)\n"
    "/referral show ID: one referral\n"
    "/referral find WORDS: referrals whose deal or customer name has these words\n"
    "/referral list [mine|open|won|lost] [PAGE]: referrals, newest first\n"
    "/referral update ID: change fields of a referral\n"
    "/referral close ID: close it as won, lost or declined\n"
    "/referral team ID: add a colleague to its team\n"
    "/referral register ID: ask for a deal registration (checks eligibility; approvers decide)\n"
    "/referral withdraw ID: take back your request for a deal registration\n"
    "/referral approvals: requests waiting for a decision; approvals here: approvers get "
    "requests in this channel\n"
    "/referral inbox: incoming referrals waiting for an answer; inbound here: they are "
    "triaged in this channel\n"
    "/referral resume: continue your draft\n"
    "/referral cancel: discard your draft\n"
    "/referral login, logout, whoami: your Partner Center sign-in\n"
    "/referral subscribe [won lost ... | all] [min=VALUE] [mine], unsubscribe, subscriptions: "
    "this channel hears about referral changes\n"
    "ID: the referral's id, its first characters (3f2a), a number from the last list (2) "
    "or words of its name (tailwind).\n"
    "While answering: back, skip, review, edit FIELD, submit, cancel, help."
)


def parse_referral_command(arguments: str) -> Parsed:
    """Parse what follows ``/referral``."""
    words = arguments.split()
    if not words:
        return Help()
    name, rest = words[0].lower(), words[1:]
    if name not in SUBCOMMANDS:
        guess = difflib.get_close_matches(name, SUBCOMMANDS, n=1, cutoff=0.5)
        return Help(unknown=words[0], closest=guess[0] if guess else None)
    if name in NAMES_A_REFERRAL and not rest:
        return Usage(f"Usage: /referral {name} {REFERENCE_USAGE}")
    if name == "withdraw" and len(rest) != 1:
        return Usage(f"Usage: /referral {name} ID (the referral's id, as /referral list shows).")
    if name == "show":
        return Show(" ".join(rest))
    if name == "find":
        if not rest:
            return Usage(
                "Usage: /referral find WORDS (words of the deal or customer name, or the id's "
                "first characters)."
            )
        return Find(" ".join(rest))
    if name == "list":
        return _list(rest)
    if name == "help":
        return Help()
    if name == "withdraw":
        return ApprovalCommand("withdraw", rest[0])
    if name == "approvals":
        if not rest:
            return ApprovalCommand("list")
        if [word.lower() for word in rest] == ["here"]:
            return ApprovalCommand("here")
        return Usage("Usage: /referral approvals, or /referral approvals here (in a channel).")
    if name in ("inbox", "inbound"):
        if not rest:
            return InboundCommand("inbox")
        if name == "inbound" and [word.lower() for word in rest] == ["here"]:
            return InboundCommand("here")
        return Usage("Usage: /referral inbox, or /referral inbound here (in a channel).")
    if name == "subscribe":
        return _subscribe(rest)
    if name in ("unsubscribe", "subscriptions"):
        if rest:
            return Usage(f"Usage: /referral {name} (nothing after it).")
        return SubscribeCommand(name)  # type: ignore[arg-type]
    if name in SIGN_IN_WORDS:
        if rest:
            return Usage(f"Usage: /referral {name} (nothing after it).")
        return SignInCommand(name)  # type: ignore[arg-type]
    if name in ("resume", "cancel"):
        return Command(name=STEERING[name])
    return Command(name=CommandName.START, arg=" ".join([name, *rest]))


def _list(words: list[str]) -> Parsed:
    scope, page = "all", 1
    for word in words:
        if word.isdigit() and int(word) >= 1:
            page = int(word)
        elif word.lower() in ("all", *LIST_SCOPES):
            scope = word.lower()
        else:
            return Usage("Usage: /referral list [mine|open|won|lost] [PAGE].")
    return ListReferrals(scope, page)  # type: ignore[arg-type]


def _subscribe(words: list[str]) -> Parsed:
    events: list[str] = []
    min_value: float | None = None
    mine = False
    for word in (EVENT_ALIASES.get(each.lower(), each.lower()) for each in words):
        if word in EVENT_WORDS:
            if word not in events:
                events.append(word)
        elif word == "all":
            events = list(EVENT_WORDS)
        elif word == "mine":
            mine = True
        elif word.startswith("min="):
            min_value = _amount(word[4:])
            if min_value is None:
                return Usage(
                    f"min= takes an amount, such as min=50000 or min=50k, not {word[4:]!r}. "
                    + SUBSCRIBE_USAGE
                )
        else:
            guess = difflib.get_close_matches(word, (*EVENT_WORDS, "all", "mine"), n=1)
            hint = f" Did you mean {guess[0]}?" if guess else ""
            return Usage(f"I don't know {word!r} here.{hint} {SUBSCRIBE_USAGE}")
    return SubscribeCommand("subscribe", tuple(events), min_value, mine)


def _amount(text: str) -> float | None:
    """``50000``, ``50,000``, ``50k``, ``1.5m``: a non-negative amount, or None."""
    cleaned = text.replace(",", "").replace("_", "").strip()
    multiplier = _MULTIPLIERS.get(cleaned[-1:], 1) if cleaned else 1
    if multiplier != 1:
        cleaned = cleaned[:-1]
    try:
        amount = float(cleaned) * multiplier
    except ValueError:
        return None
    return amount if math.isfinite(amount) and amount >= 0 else None


def parse_message(text: str, *, step: str | None = None) -> Parsed:
    """Parse one message to the bot: a ``/referral`` command, a steering word, or an answer."""
    stripped = text.strip()
    lowered = stripped.lower()
    for prefix in ("/referral", "referral"):
        if lowered == prefix or lowered.startswith(prefix + " "):
            return parse_referral_command(stripped[len(prefix) :])
    if lowered in STEERING:
        return Command(name=STEERING[lowered], step=step)
    if lowered in SIGN_IN_WORDS:
        return SignInCommand(lowered)  # type: ignore[arg-type]
    if lowered.startswith("edit ") or lowered == "edit":
        return Command(name=CommandName.EDIT, arg=stripped[5:].strip() or None, step=step)
    return Text(value=text, step=step)


SENDING = frozenset({CommandName.SUBMIT, CommandName.REAPPLY})
"""Commands that send to Partner Center: chat fronts show progress while they run."""


def sends(parsed: object) -> bool:
    """Whether ``parsed`` is a command that sends to Partner Center (Submit, Reapply)."""
    return isinstance(parsed, Command) and parsed.name in SENDING


def needs_partner_center(parsed: object) -> bool:
    """Whether answering ``parsed`` calls Partner Center, now or at its end: show, find,
    list, a draft starting (it ends in a submit), the commands that send, and an approver's Approve
    or Retry (the registration is sent as them)."""
    starts = isinstance(parsed, Command) and parsed.name is CommandName.START
    approves = isinstance(parsed, Decision) and parsed.verdict in ("approve", "retry")
    answers = isinstance(parsed, Triage)  # an incoming referral is answered as the clicker
    reads = isinstance(parsed, Show | Find | ListReferrals)
    return starts or approves or answers or sends(parsed) or reads


def needs_seller_profile(parsed: object) -> bool:
    """Whether answering ``parsed`` needs the seller's names and email: a draft starting (the
    seller joins its team; update, close and team check the seller is on the referral's team),
    and show, find and every list (a seller sees only referrals whose team includes them). Help and
    steering words do without, so chat fronts skip the profile lookup for them."""
    starts = isinstance(parsed, Command) and parsed.name is CommandName.START
    return starts or isinstance(parsed, Show | Find | ListReferrals)
