"""Shorthands for the step shapes flows use most, so a step is declared once."""

from __future__ import annotations

from typing import Any

from bot.conversation.views import InputKind
from bot.conversation.vocabulary import parsers
from bot.conversation.vocabulary.steps import ChoiceSource, Step


def one_of(step_id: str, label: str, question: str, source: ChoiceSource, **kwargs: Any) -> Step:
    """A step answered with exactly one value of ``source``'s catalog."""
    return Step(
        step_id, label, question, InputKind.SINGLE, parsers.single(source), choices=source, **kwargs
    )


def any_of(step_id: str, label: str, question: str, source: ChoiceSource, **kwargs: Any) -> Step:
    """A step answered with one or more values of ``source``'s catalog."""
    return Step(
        step_id, label, question, InputKind.MULTI, parsers.multi(source), choices=source, **kwargs
    )
