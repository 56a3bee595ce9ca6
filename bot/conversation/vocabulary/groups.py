"""Group questions: one answer for several steps (:attr:`Step.covers`).

An address typed in one line fills the street, city, state, postal code and country; a
contact fills first and last name, email and phone; one yes answers the consents that go
together; one pick says which optional questions to ask at all. Each parser here returns
:class:`Filled` with what the answer gave, by step id, and what it says is not there; the
state machine checks every value with its own step's parser and asks what is left open
one by one, so a group question can only ever save questions, never skip a check.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.conversation.vocabulary import values
from bot.conversation.vocabulary.steps import (
    Answers,
    Filled,
    ParseContext,
    Parser,
    Step,
    listed_catalog,
)
from bot.conversation.vocabulary.values._common import _prepare
from bot.referrals.lookup import Catalog, lookup_key

# -- an address -------------------------------------------------------------------------

ADDRESS_FIELDS = ("address_line1", "address_line2", "city", "state", "postal_code", "country")
"""The steps an address fills, named as :meth:`values.Address.filled` names them."""


def address(raw: str, ctx: ParseContext) -> Filled:
    """A postal address in one answer (or one line of it): what it places with confidence.

    A whole address (more than the street) without a second line has none: that question
    is not asked."""
    found = values.parse_address(raw)
    given = found.filled()
    whole = len(given) > 1
    return Filled(given, ("address_line2",) if whole and found.line2 is None else ())


def address_summary(answers: Answers) -> str | None:
    """The address on one line, as far as it is answered."""
    parts = {field: answers.get(field) for field in ADDRESS_FIELDS}
    if not any(parts.values()):
        return None
    return values.format_address(
        values.Address(
            line1=str(parts["address_line1"] or "…"),
            line2=_text(parts["address_line2"]),
            city=_text(parts["city"]),
            state=_text(parts["state"]),
            postal_code=_text(parts["postal_code"]),
            country=_text(parts["country"]),
        )
    )


# -- a person ---------------------------------------------------------------------------

CONTACT_FIELDS = {
    "first_name": "contact_first_name",
    "last_name": "contact_last_name",
    "email": "contact_email",
    "phone": "contact_phone",
}
"""The contact's steps, by :class:`values.Contact` field."""


def contact(raw: str, ctx: ParseContext) -> Filled:
    """A contact in one answer: name, email and phone as far as they are given. A contact
    given with two or more of them is given whole: a phone left out is not asked."""
    found = values.parse_contact(raw)
    given = {
        step: getattr(found, field)
        for field, step in CONTACT_FIELDS.items()
        if getattr(found, field) is not None
    }
    whole = len(given) > 1 and found.phone is None
    return Filled(given, ("contact_phone",) if whole else ())


def contact_summary(answers: Answers) -> str | None:
    """The contact on one line, as far as it is answered."""
    parts = {field: _text(answers.get(step)) for field, step in CONTACT_FIELDS.items()}
    if not any(parts.values()):
        return None
    return values.format_contact(values.Contact(**parts))


# -- consents that go together ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flag:
    """One yes/no step of a consent group, with the words that name it in an answer."""

    step: str
    words: tuple[str, ...]
    """What names it ("share", "contact"), the first as the question lists it."""
    asked: Callable[[Answers], bool] = lambda answers: True
    """Whether the group asks it for these answers (the deal kind may settle it)."""


_ALL = frozenset(
    {"all", "yes", "y", "all of them", "yes to all", "everything", "yes all", "yes please"}
)
_NONE = frozenset(
    {"none", "no", "n", "nope", "none of them", "no to all", "nothing", "no none", "no thanks"}
)
"""Yes to all (or every one offered), no to all: what the consents and the offer read alike."""
_JOINERS = (",", ";", "/", "&", "\n", " and ", " plus ")
_CONSENT_HINT = 'Answer yes (all), no (none), or name the ones agreed to, e.g. "share, contact".'


def consents(*flags: Flag) -> Parser:
    """Consents answered together: yes for every one asked, no for none, or the words (or
    numbers) of those agreed to, the others then being no. Each asked flag gets an answer,
    so nothing is left for later."""

    def parse(raw: str, ctx: ParseContext) -> Filled:
        asked = [flag for flag in flags if flag.asked(ctx.answers)]
        said = _said(raw)
        words = " ".join(re.findall(r"\w+", said))
        if words in _ALL:
            return Filled({flag.step: True for flag in asked})
        if words in _NONE:
            return Filled({flag.step: False for flag in asked})
        agreed: set[str] = set()
        for piece in _pieces(said):
            flag = _flag_named(piece, asked)
            if flag is None:
                names = ", ".join(f'"{flag.words[0]}"' for flag in asked)
                raise values.InvalidAnswer(
                    f'I can\'t tell which consent "{piece}" is; they are {names}.',
                    hint=_CONSENT_HINT,
                )
            agreed.add(flag.step)
        if not agreed:
            raise values.InvalidAnswer("An answer is required.", hint=_CONSENT_HINT)
        return Filled({flag.step: flag.step in agreed for flag in asked})

    return parse


def _said(raw: str) -> str:
    """An answer as typed, checked and normalised as every answer is (NFKC: a circled or
    superscript digit is its digit), folded, lines kept, the final full stop dropped."""
    return _prepare(raw, noun="answer", lines=True).casefold().rstrip(".!")


def _pieces(said: str) -> list[str]:
    for joiner in _JOINERS:
        said = said.replace(joiner, "\n")
    return [piece.strip() for piece in said.split("\n") if piece.strip()]


def _flag_named(piece: str, asked: Sequence[Flag]) -> Flag | None:
    if piece.isascii() and piece.isdigit() and len(piece) <= len(str(len(asked))):
        number = int(piece)
        return asked[number - 1] if 1 <= number <= len(asked) else None
    key = lookup_key(piece)
    return next((flag for flag in asked if any(key == lookup_key(w) for w in flag.words)), None)


def consent_question(
    intro: str, flags: Sequence[Flag], described: Mapping[str, str]
) -> Callable[[Answers], str]:
    """The group's question for these answers: the consents it asks, numbered."""

    def ask(answers: Answers) -> str:
        asked = [flag for flag in flags if flag.asked(answers)]
        listed = " ".join(
            f"({n}) {described[flag.step]} [{flag.words[0]}]" for n, flag in enumerate(asked, 1)
        )
        return f"{intro} {listed} — yes to all, no, or the ones agreed to."

    return ask


# -- optional questions offered together ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Offered:
    """The optional questions among ``steps`` that apply and are unanswered, as choices
    (a :class:`~bot.conversation.vocabulary.steps.ChoiceSource`): their ids are the values,
    their labels the words."""

    steps: tuple[Step, ...]
    noun: str = "question"
    depends_on: str | None = None

    def offered(self, answers: Answers) -> tuple[Step, ...]:
        """The steps to offer for these answers."""
        return tuple(
            step
            for step in self.steps
            if (step.when is None or step.when(answers))
            and not step.is_required(answers)
            and step.id not in answers
        )

    def catalog(self, answers: Answers) -> Catalog[str] | None:
        """The offered steps as a catalog of their ids, labelled."""
        return listed_catalog(self.noun, tuple((s.id, s.label) for s in self.offered(answers)))


def offer(source: Offered) -> Parser:
    """Which of the offered questions to ask: none, all, or those named (or numbered); the
    others are skipped."""

    def parse(raw: str, ctx: ParseContext) -> Filled:
        offered = [step.id for step in source.offered(ctx.answers)]
        words = " ".join(re.findall(r"\w+", _said(raw)))
        if words in _NONE:
            return Filled({}, tuple(offered))
        if words in _ALL:
            return Filled({})
        catalog = source.catalog(ctx.answers)
        assert catalog is not None  # an Offered source always has one
        numbered = ctx.numbered or None
        try:
            picked = values.parse_choices(raw, catalog, numbered=numbered)
        except values.InvalidAnswer:
            # "industries and notes": no offered question has "and" in its name.
            joined = re.sub(r"\s+and\s+", ", ", raw)
            if joined == raw:
                raise
            picked = values.parse_choices(joined, catalog, numbered=numbered)
        return Filled({}, tuple(step for step in offered if step not in picked))

    return parse


def declined(source: Offered) -> Callable[[Answers], Filled]:
    """What skipping the offer settles: none of the offered questions is asked."""

    def decline(answers: Answers) -> Filled:
        return Filled({}, tuple(step.id for step in source.offered(answers)))

    return decline


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
