"""The vocabulary flows are written in: steps, the conditions that switch them on, and the
catalogs that supply their choices.

A flow is data: an ordered tuple of :class:`Step`. Nothing here does I/O; the state machine
(:mod:`bot.conversation.machine`) walks the steps and the engine persists the result.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from bot.conversation.views import InputKind, Option
from bot.referrals.catalog import Catalog
from bot.referrals.models import Referral

Answers = Mapping[str, Any]
"""Canonical answers by step id, as stored in the session (JSON values)."""

MAX_LISTED_CHOICES = 100
"""Longer catalogs are searched, not listed (Slack's static select stops at 100 options)."""


@functools.cache
def listed_options(catalog: Catalog[str]) -> tuple[Option, ...]:
    """Every value of ``catalog`` with its label; built once per catalog (a hot path)."""
    return tuple(Option(value=value, label=catalog.label(value)) for value in catalog)


@dataclass(frozen=True, slots=True)
class ParseContext:
    """What a validator may look at besides the text: today, the other answers, the options
    shown (so "3" can mean the third one)."""

    today: date
    answers: Answers
    numbered: Sequence[str] = ()


class Condition(Protocol):
    """Whether a step applies, given the answers so far."""

    def __call__(self, answers: Answers) -> bool:
        """True when the step applies."""
        ...

    def describe(self) -> str:
        """The condition in words, for the flow diagrams."""
        ...


@dataclass(frozen=True, slots=True)
class AnswerIn:
    """Applies when step ``step`` was answered with one of ``values``."""

    step: str
    values: frozenset[str]

    def __call__(self, answers: Answers) -> bool:
        """True when the answer is one of the values."""
        return answers.get(self.step) in self.values

    def describe(self) -> str:
        """E.g. ``deal_kind in co_sell, services_co_sell``."""
        return f"{self.step} in {', '.join(sorted(self.values))}"


@dataclass(frozen=True, slots=True)
class AnswerContains:
    """Applies when the multi-choice step ``step`` includes ``value``."""

    step: str
    value: str

    def __call__(self, answers: Answers) -> bool:
        """True when the value was picked."""
        picked = answers.get(self.step)
        return isinstance(picked, list | tuple) and self.value in picked

    def describe(self) -> str:
        """E.g. ``fields includes dealValue``."""
        return f"{self.step} includes {self.value}"


def answer_in(step: str, *values: str) -> AnswerIn:
    """Condition: step ``step`` was answered with one of ``values``."""
    return AnswerIn(step, frozenset(values))


class ChoiceSource(Protocol):
    """The catalog a choice step offers, which may depend on earlier answers."""

    @property
    def depends_on(self) -> str | None:
        """The step whose answer picks the catalog, if any."""
        ...

    def catalog(self, answers: Answers) -> Catalog[str] | None:
        """The catalog for these answers; None while what it depends on is unanswered."""
        ...


@dataclass(frozen=True, slots=True)
class Fixed:
    """Always the same catalog."""

    source: Catalog[str]
    depends_on: str | None = None

    def catalog(self, answers: Answers) -> Catalog[str] | None:
        """The catalog."""
        return self.source


@dataclass(frozen=True, slots=True)
class DependsOn:
    """A catalog chosen by an earlier answer (solution plays by solution area)."""

    depends_on: str
    provider: Callable[[str], Catalog[str]]

    def catalog(self, answers: Answers) -> Catalog[str] | None:
        """The catalog for the earlier answer, or None while it is unanswered."""
        earlier = answers.get(self.depends_on)
        return self.provider(earlier) if isinstance(earlier, str) else None


Parser = Callable[[str, ParseContext], Any]
"""Validates one typed (or clicked) answer and returns its canonical JSON value."""

Required = bool | Condition


@dataclass(frozen=True, slots=True)
class Step:
    """One question of a flow."""

    id: str
    label: str
    """Short name on the review card and in ``edit FIELD``."""
    question: str
    kind: InputKind
    parse: Parser
    required: Required = True
    when: Condition | None = None
    choices: ChoiceSource | None = None
    help: str | None = None
    placeholder: str | None = None
    display: Callable[[Any], str] | None = None
    """How an answer reads on the review card; default: the value, lists joined."""
    derive: Callable[[Any], Mapping[str, Any]] | None = field(default=None)
    """Answers for other steps implied by this one ("USD 50,000" also answers the currency)."""
    current: Callable[[Referral], Any] | None = None
    """The referral's present value for this step, in answer form (update flows)."""

    def applies(self, answers: Answers) -> bool:
        """Whether the step is part of the flow for these answers."""
        return self.when is None or self.when(answers)

    def is_required(self, answers: Answers) -> bool:
        """Whether the seller must answer (else ``skip`` is allowed)."""
        return self.required if isinstance(self.required, bool) else self.required(answers)

    def options(self, answers: Answers) -> tuple[Option, ...]:
        """Every option to list, or nothing when the catalog is long (then it is searched)."""
        catalog = self.choices.catalog(answers) if self.choices else None
        if catalog is None or len(catalog) > MAX_LISTED_CHOICES:
            return ()
        return listed_options(catalog)

    def searchable(self, answers: Answers) -> bool:
        """Whether the step's catalog is too long to list."""
        catalog = self.choices.catalog(answers) if self.choices else None
        return catalog is not None and len(catalog) > MAX_LISTED_CHOICES

    def show(self, value: Any) -> str:
        """An answer as it reads on the review card."""
        if self.display is not None:
            return self.display(value)
        if isinstance(value, list | tuple):
            return ", ".join(str(item) for item in value)
        if isinstance(value, bool):
            return "yes" if value else "no"
        return str(value)


@dataclass(frozen=True, slots=True)
class Flow:
    """A conversation: its steps in order and what it is called."""

    name: str
    title: str
    steps: tuple[Step, ...]
    needs_referral: bool = False
    """Whether the flow works on an existing referral (``/referral update ID``)."""

    def __post_init__(self) -> None:
        ids = [step.id for step in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError(f"flow {self.name} repeats a step id")
        known = set(ids)
        for step in self.steps:
            depends_on = step.choices.depends_on if step.choices else None
            if depends_on is not None and ids.index(depends_on) > ids.index(step.id):
                raise ValueError(f"{step.id} depends on {depends_on}, which comes later")
            if depends_on is not None and depends_on not in known:
                raise ValueError(f"{step.id} depends on unknown step {depends_on}")

    def step(self, step_id: str) -> Step:
        """The step with this id."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def applicable(self, answers: Answers) -> tuple[Step, ...]:
        """The steps that apply for these answers, in order."""
        return tuple(step for step in self.steps if step.applies(answers))
