"""What a choice button carries back: the step it answers and the value picked.

A button has one ``value`` string (at most 2,000 characters) and no block id we can read
the step from reliably, so both travel in it: ``"<step>|<value>"``. Step ids are code
identifiers and never contain ``|``; the value may contain anything (catalog values hold
commas, ampersands, parentheses, even ``|``), so decoding splits at the *first* ``|`` only.
"""

from __future__ import annotations

from cards.slack._kit import BUTTON_VALUE

SEPARATOR = "|"


def encode_choice(step: str, value: str) -> str:
    """The button value for picking ``value`` at ``step``: ``"<step>|<value>"``.

    Raises ValueError when ``step`` contains ``|`` or the result would exceed Slack's 2,000
    characters for a button value (callers leave such an option off the card).
    """
    if SEPARATOR in step:
        raise ValueError(f"a step id cannot contain {SEPARATOR!r}: {step!r}")
    encoded = f"{step}{SEPARATOR}{value}"
    if len(encoded) > BUTTON_VALUE:
        raise ValueError(f"the choice is too long for a button ({len(encoded)} characters)")
    return encoded


def decode_choice(value: str) -> tuple[str, str]:
    """The ``(step, value)`` a button value made by :func:`encode_choice` stands for.

    A value without the separator (not made here) decodes to an empty step, which the engine
    treats as a click on a card that is no longer current.
    """
    step, separator, picked = value.partition(SEPARATOR)
    if not separator:
        return "", value
    return step, picked


def fits_button(step: str, value: str) -> bool:
    """Whether picking ``value`` at ``step`` can be a button, unchanged."""
    return SEPARATOR not in step and len(step) + len(SEPARATOR) + len(value) <= BUTTON_VALUE
