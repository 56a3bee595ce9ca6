"""Finding a referral by what a seller calls it, for every command that takes one (``show``,
``update``, ``close``, ``team``, ``register``) and for ``/referral find``.

What names a referral, in the order it is tried:

* its full id (36 characters): used as given, as it always was (read, then the access check);
* a number, ``2`` or ``#2``: the second referral of the last list shown in this conversation
  (:meth:`~.memory.ChatMemory.last_list`; a list, a search or a pick list);
* four or more of ``0-9``, ``a-f`` and ``-`` (``3f2a``): the start of an id; when no id
  starts so, the characters are taken as words (``cafe`` may be a customer);
* anything else, words: every word must appear in the deal's name or the customer's (case and
  accents aside); names equal to the words come first, then names starting with them, then
  the rest, newest first within each.

One referral named: the command goes on as if its id had been typed (a single exact name
among longer ones counts as one: ``Contoso`` beside ``Contoso renewal``). Several: a pick
list of the first :data:`PICK_LIST`, whose buttons run the same command on one of them, saying
how many more matched. None: the closest names, if any look alike.

Names and id starts are matched here, over the referrals the seller may see (their team's;
an admin's, all), listed newest first up to ``PARTNER_CENTER_MAX_PAGES`` pages. Partner
Center documents no ``contains`` or ``startswith`` in ``$filter`` (``partner-center-api.md``),
so what a seller types never reaches Partner Center at all: the only text in the listing's
filter is the seller's email, quoted by :func:`bot.partner_center.odata.literal`. The access
rule is checked again on what comes back, so a service that ignored the filter would still
show and suggest nothing of anyone else's.
"""

from __future__ import annotations

import asyncio
import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bot.conversation.chat.memory import ChatMemory
from bot.conversation.runtime.access import Access, no_email, on_team
from bot.conversation.runtime.engine import Conversation
from bot.conversation.runtime.submit import api_problem
from bot.conversation.views import Problem, ReferralList, View
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import PartnerCenterError
from bot.referrals.models import Referral

FULL_ID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
ID_START_LENGTH: Final = 4
ID_START: Final = re.compile(rf"[0-9a-f-]{{{ID_START_LENGTH},}}", re.I)
"""Typed characters that read as the start of an id (shorter digits are a list's number)."""
MAX_WORDS: Final = 200
"""The longest text looked for, in characters: names are far shorter."""
PICK_LIST: Final = 5
"""The referrals a pick list shows; the others are counted."""
LISTED: Final = 20
"""The referrals ``/referral find`` shows, as a page of ``/referral list``."""
CLOSEST: Final = 3
LIKENESS: Final = 0.6
"""How alike a name must be to be offered when nothing matched (difflib's ratio)."""
_TERMS_COMPARED: Final = 6
"""Words of the seller's compared one by one with the words of every name, at most."""
_QUOTED: Final = 60
"""Characters of what the seller typed that are said back to them."""


@dataclass(frozen=True, slots=True)
class Matches:
    """What words found among the referrals the seller may see: the referrals they name,
    best first; whether the listing stopped at its page limit; and, when none matched, the
    closest names."""

    words: str
    referrals: tuple[Referral, ...]
    truncated: bool = False
    closest: tuple[str, ...] = ()


class Finder:
    """Turns what a seller typed into the referral it names, or a pick list, or why none."""

    def __init__(self, client: PartnerCenterClient, access: Access, memory: ChatMemory) -> None:
        self._client = client
        self._access = access
        self._memory = memory

    async def resolve(
        self, conversation: Conversation, command: str, reference: str
    ) -> str | list[View]:
        """The id of the one referral ``reference`` names for ``/referral COMMAND``, or what to
        show instead: a pick list (remembered, so a number picks from it), or why none.

        A full id is given back as it is, without a request: whoever uses it reads it and
        checks the seller may.
        """
        said = " ".join(reference.split())
        if FULL_ID.fullmatch(said):
            return said
        number = said.removeprefix("#")
        if number.isdigit() and len(number) < ID_START_LENGTH:
            return await self._numbered(conversation.key, int(number), command)
        found = await self.search(conversation, said)
        if isinstance(found, Problem):
            return [found]
        exact = [referral for referral in found.referrals if _is_exact(referral, said)]
        named = exact if len(exact) == 1 else found.referrals
        if len(named) == 1 and named[0].id:
            return named[0].id
        if not named:
            return [nothing(found)]
        shown = found.referrals[:PICK_LIST]
        await self.remember(conversation.key, shown)
        more = len(found.referrals) - len(shown)
        return [
            ReferralList(
                title=f"{len(found.referrals)} referrals match {_quoted(said)}. Which one?",
                referrals=shown,
                total=len(found.referrals),
                truncated=found.truncated,
                pick=command,
                note=f"And {more} more: add a word to narrow it down." if more else None,
            )
        ]

    async def find(self, conversation: Conversation, words: str) -> list[View]:
        """``/referral find WORDS``: the referrals the words name, as a list remembered for
        numbers to pick from; or why none."""
        said = " ".join(words.split())
        found = await self.search(conversation, said)
        if isinstance(found, Problem):
            return [found]
        if not found.referrals:
            return [nothing(found)]
        shown = found.referrals[:LISTED]
        await self.remember(conversation.key, shown)
        return [
            ReferralList(
                title=f"Referrals matching {_quoted(said)}",
                referrals=shown,
                total=len(found.referrals),
                truncated=found.truncated,
            )
        ]

    async def search(self, conversation: Conversation, words: str) -> Matches | Problem:
        """The referrals the seller may see that ``words`` name (see the module docstring), or
        why none could be looked at (no email, Partner Center refused, too long)."""
        if len(words) > MAX_WORDS:
            return Problem(
                message=f"That is too long to look for ({len(words)} characters).",
                hint=f"Type a few words of the deal's or the customer's name (at most "
                f"{MAX_WORDS} characters), or the id's first characters.",
            )
        visible = await self._visible(conversation)
        if isinstance(visible, Problem):
            return visible
        referrals, truncated = visible
        # Thousands of names may be compared: off the event loop, as other turns wait on it.
        return await asyncio.to_thread(_matches, words, referrals, truncated)

    async def remember(self, conversation_key: str, referrals: Sequence[Referral]) -> None:
        """Remember ``referrals`` as the last list shown in the conversation."""
        await self._memory.remember_list(conversation_key, _ids(referrals))

    async def _visible(self, conversation: Conversation) -> tuple[list[Referral], bool] | Problem:
        """The referrals the seller may see, newest first, and whether the page limit cut
        the listing short."""
        seller = conversation.seller
        query = None
        if not self._access.is_admin(seller):
            email = self._access.email(seller)
            if email is None:
                return no_email()
            query = on_team(email)
        listing = self._client.acting_for(conversation.key).list(
            filter=query, orderby="updatedDateTime desc"
        )
        try:
            referrals = await listing.collect()
        except PartnerCenterError as error:
            return api_problem(error)
        # The filter asked for the seller's referrals only; the rule is the bot's to keep.
        mine = [r for r in referrals if r.id and self._access.may_use(seller, r)]
        return mine, listing.truncated

    async def _numbered(self, conversation_key: str, number: int, command: str) -> str | list[View]:
        """The id of row ``number`` of the last list shown, or why there is none."""
        ids = await self._memory.last_list(conversation_key)
        if not ids:
            return [
                Problem(
                    message=f"There is no list here to pick number {number} from.",
                    hint=f"/referral list or /referral find WORDS shows one; then "
                    f"/referral {command} {number} picks its row {number}. Or name the "
                    "referral by words of its name.",
                )
            ]
        if not 1 <= number <= len(ids):
            rows = "referral" if len(ids) == 1 else "referrals"
            return [
                Problem(
                    message=f"The last list has {len(ids)} {rows}: there is no number {number}.",
                    hint=f"Pick a number from 1 to {len(ids)}, or name the referral by words "
                    "of its name.",
                )
            ]
        return ids[number - 1]


def match(referrals: Sequence[Referral], words: str) -> tuple[Referral, ...]:
    """The referrals ``words`` name, best first (see the module docstring); ``referrals``
    come newest first, and keep that order within each rank."""
    if ID_START.fullmatch(words):
        start = words.casefold()
        by_id = tuple(r for r in referrals if (r.id or "").casefold().startswith(start))
        if by_id:
            return by_id
    wanted = _folded(words)
    terms = wanted.split()
    if not terms:
        return ()
    ranked: list[tuple[int, int, Referral]] = []
    for position, referral in enumerate(referrals):
        names = [_folded(name) for name in _names(referral)]
        # Joined by a line break, which no term holds: a word never spans two names.
        haystack = "\n".join(names)
        if not all(term in haystack for term in terms):
            continue
        if wanted in names:
            rank = 0
        elif any(name.startswith(wanted) for name in names):
            rank = 1
        else:
            rank = 2
        ranked.append((rank, position, referral))
    return tuple(referral for _, _, referral in sorted(ranked, key=lambda each: each[:2]))


def closest_names(words: str, referrals: Sequence[Referral]) -> tuple[str, ...]:
    """Up to :data:`CLOSEST` names of ``referrals`` that look like ``words`` (a typo, a
    word misremembered), most alike first; each is the deal's name, or the customer's."""
    wanted = _folded(words)
    if not wanted:
        return ()
    alike = _Likeness(wanted)
    likeness: dict[str, float] = {}
    for referral in referrals:
        names = _names(referral)
        if not names:
            continue
        score = max(alike(_folded(name)) for name in names)
        if score >= LIKENESS:
            likeness[names[0]] = max(likeness.get(names[0], 0.0), score)
    return tuple(sorted(likeness, key=lambda label: -likeness[label])[:CLOSEST])


def _matches(words: str, referrals: Sequence[Referral], truncated: bool) -> Matches:
    matched = match(referrals, words)
    closest = () if matched else closest_names(words, referrals)
    return Matches(words, matched, truncated, closest)


def nothing(found: Matches) -> Problem:
    """What a seller is told when their words named no referral they may see."""
    if found.closest:
        hint = "Closest names: " + "; ".join(found.closest) + "."
    else:
        hint = "Try fewer words, the id's first characters, or /referral list."
    if found.truncated:
        hint += " Only the most recently updated referrals were looked at (the page limit)."
    return Problem(message=f"No referral matches {_quoted(found.words)}.", hint=hint)


def _names(referral: Referral) -> list[str]:
    """The deal's name and the customer's, those there are."""
    customer = referral.customer_profile.name if referral.customer_profile else None
    return [name for name in (referral.name, customer) if name and name.strip()]


def _is_exact(referral: Referral, words: str) -> bool:
    wanted = _folded(words)
    return any(_folded(name) == wanted for name in _names(referral))


class _Likeness:
    """How alike the seller's words are to a name: as wholes, or word by word (each of the
    seller's words against the name's word most like it, averaged), whichever is more.

    Thousands of names may be compared on the event loop, so the cheap upper bounds of
    difflib come first, the words' ratios are kept (names share most of their words), and
    a pair that cannot reach :data:`LIKENESS` counts as nothing alike.
    """

    def __init__(self, wanted: str) -> None:
        self._wanted = difflib.SequenceMatcher(None, "", wanted)  # b is analysed once
        self._terms = wanted.split()[:_TERMS_COMPARED]
        self._pairs: dict[tuple[str, str], float] = {}

    def __call__(self, name: str) -> float:
        whole = _ratio(self._wanted, name)
        words = name.split()
        if not self._terms or not words:
            return whole
        each = sum(max(self._pair(term, word) for word in words) for term in self._terms)
        return max(whole, each / len(self._terms))

    def _pair(self, term: str, word: str) -> float:
        known = self._pairs.get((term, word))
        if known is None:
            known = _ratio(difflib.SequenceMatcher(None, "", term), word)
            self._pairs[(term, word)] = known
        return known


def _ratio(matcher: difflib.SequenceMatcher[str], text: str) -> float:
    """``matcher``'s ratio with ``text`` as its first sequence, or 0 when its upper bounds
    already fall short of :data:`LIKENESS`."""
    matcher.set_seq1(text)
    if matcher.real_quick_ratio() < LIKENESS or matcher.quick_ratio() < LIKENESS:
        return 0.0
    return matcher.ratio()


def _folded(text: str) -> str:
    """``text`` for comparing: compatibility forms, accents dropped, case folded, spaces
    collapsed (``Tailwínd  TRADERS`` reads as ``tailwind traders``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def _ids(referrals: Sequence[Referral]) -> list[str]:
    return [referral.id for referral in referrals if referral.id]


def _quoted(words: str) -> str:
    """What the seller typed, in quotes, cut short when long."""
    shown = words if len(words) <= _QUOTED else words[: _QUOTED - 1] + "…"
    return f"'{shown}'"
