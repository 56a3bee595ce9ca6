"""The options a choice set lists, and the rule that keeps a long catalog inside one card.

Adaptive Cards 1.5 in Teams cannot ask the bot for options while the seller types: a
type-ahead (``Input.ChoiceSet`` with ``style: "filtered"``) filters the options already in
the card. So a searchable step lists its whole catalog (the one the prompt names, as
:func:`cards.controls.searched` gives it), sorted by label, and the seller filters it on the
device.

The rule for long lists: at most :data:`MAX_OPTIONS` options, and only as many as fit in the
room the rest of the card leaves under :data:`~cards.teams._kit.CARD_BYTES`. Countries (249,
about 10 KB) and currencies (178, about 8 KB) always fit in full; when a list is cut, the
card says so, and the seller can type the answer as a reply. Options whose value could not
travel unchanged (over 500 bytes) are left out the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from microsoft_teams.cards.core import Choice as CardChoice

from bot.conversation.views import Option
from cards.teams._actions import VALUE_BYTES, choice_value
from cards.teams._kit import TITLE, Budget, clip, fits, size_of, to_dict

MAX_OPTIONS: Final = 400
"""Options listed in one choice set at most (every catalog of the flows has fewer)."""


def usable(options: Sequence[Option]) -> list[Option]:
    """The options whose value can travel unchanged in a choice set."""
    return [option for option in options if fits(choice_value(option.value), VALUE_BYTES)]


def card_choice(option: Option) -> CardChoice:
    """One option of a choice set: the label shown, the escaped value sent back."""
    shown = option.label if option.label.strip() else option.value
    return CardChoice(title=clip(shown, TITLE), value=choice_value(option.value))


def fitted(options: Sequence[Option], budget: Budget) -> list[CardChoice]:
    """As many of ``options`` as fit the budget, up to :data:`MAX_OPTIONS`, in order."""
    picked: list[CardChoice] = []
    for option in options[:MAX_OPTIONS]:
        choice = card_choice(option)
        if not budget.take_bytes(size_of(to_dict(choice)) + 1):
            break
        picked.append(choice)
    return picked
