"""Answers to a conversation's questions, checked and turned into values.

Every answer goes through these functions before a conversation moves on, whether it was
typed in a chat, typed in the terminal or sent by a card, so a card's value (the canonical
string) and a typed answer meet the same rules. Each ``parse_*`` function returns the value
or raises :class:`InvalidAnswer`, whose ``message`` says what is wrong, ``hint`` what would
be right and ``suggestions`` the closest valid values. Nothing here does I/O; "today" is
passed in.
"""

from __future__ import annotations

from bot.conversation.vocabulary.values._common import InvalidAnswer
from bot.conversation.vocabulary.values.address import Address, format_address, parse_address
from bot.conversation.vocabulary.values.choices import (
    SolutionChoice,
    SolutionKind,
    parse_choice,
    parse_choices,
    parse_country,
    parse_currency,
    parse_solutions,
)
from bot.conversation.vocabulary.values.contact import parse_email, parse_phone, parse_yes_no
from bot.conversation.vocabulary.values.dates import parse_date
from bot.conversation.vocabulary.values.money import Money, parse_money
from bot.conversation.vocabulary.values.opening import Opening, parse_opening
from bot.conversation.vocabulary.values.person import Contact, format_contact, parse_contact
from bot.conversation.vocabulary.values.text import parse_long_text, parse_text

__all__ = [
    "Address",
    "Contact",
    "InvalidAnswer",
    "Money",
    "Opening",
    "SolutionChoice",
    "SolutionKind",
    "format_address",
    "format_contact",
    "parse_address",
    "parse_choice",
    "parse_choices",
    "parse_contact",
    "parse_country",
    "parse_currency",
    "parse_date",
    "parse_email",
    "parse_long_text",
    "parse_money",
    "parse_opening",
    "parse_phone",
    "parse_solutions",
    "parse_text",
    "parse_yes_no",
]
