"""The vocabulary flows are written in: steps, the conditions that switch them on, and the
catalogs that supply their choices.

A flow is data: an ordered tuple of :class:`Step`, and the :class:`Submit` it ends with. Each
step names the API path its answer fills (:mod:`bot.conversation.vocabulary.paths`). Nothing
here does I/O; the state machine (:mod:`bot.conversation.runtime.machine`) walks the steps and
the engine persists the result.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Protocol

from bot.conversation.views import InputKind, Option
from bot.conversation.vocabulary.paths import ApiPath, NoPath
from bot.referrals.lookup import Catalog
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
    fills: ApiPath | NoPath = field(kw_only=True)
    """The API path the answer fills, or why it fills none; required, so no step forgets."""

    @property
    def updatable(self) -> bool:
        """Whether ``/referral update`` offers this step (its path is marked updatable)."""
        return isinstance(self.fills, ApiPath) and self.fills.updatable

    def current(self, referral: Referral) -> Any:
        """The referral's present value at this step's path, in answer form; None when it has
        none or the step fills no path."""
        return self.fills.current(referral) if isinstance(self.fills, ApiPath) else None

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


class Submit(StrEnum):
    """What a finished flow sends to Partner Center; the submitter dispatches on it."""

    CREATE_REFERRAL = "create_referral"
    """Create the referral the answers fill (and the linked Microsoft referral when help is
    asked)."""
    UPDATE_REFERRAL = "update_referral"
    """A JSON Patch replacing the picked fields whose answers differ from the referral's."""
    CLOSE_REFERRAL = "close_referral"
    """Close the referral with the substatus (and reason) the answers fill."""
    ADD_TEAM_MEMBER = "add_team_member"
    """Append the member the answers fill to the referral's team."""
    REQUEST_REGISTRATION = "request_registration"
    """Ask approvers to approve the deal registration the answers fill; only an approved
    one is sent (``add /registrations/-``)."""

    @property
    def needs_open_referral(self) -> bool:
        """Whether the referral it sends to must still be open: a closed referral cannot be
        updated or closed again (a flow sending this is refused at its start)."""
        return self in (Submit.UPDATE_REFERRAL, Submit.CLOSE_REFERRAL)


@dataclass(frozen=True, slots=True)
class Flow:
    """A conversation: its steps in order, what it is called and what it submits."""

    name: str
    title: str
    steps: tuple[Step, ...]
    submit: Submit
    needs_referral: bool = False
    """Whether the flow works on an existing referral (``/referral update ID``)."""
    chosen_by: str | None = None
    """A step whose answer lists the ids of the other steps to ask (the update flow's fields
    picker): each of those is asked only when picked."""

    def __post_init__(self) -> None:
        ids = [step.id for step in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError(f"flow {self.name} repeats a step id")
        known = set(ids)
        if self.chosen_by is not None:
            if self.chosen_by not in known:
                raise ValueError(f"flow {self.name} is chosen by unknown step {self.chosen_by}")
            conditional = [
                s.id for s in self.steps if s.id != self.chosen_by and s.when is not None
            ]
            if conditional:
                # Their conditions speak of answers this flow never asks for.
                raise ValueError(f"picked steps cannot have conditions: {conditional}")
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

    def condition(self, step: Step) -> Condition | None:
        """When ``step`` is asked in this flow: its own condition, or being picked."""
        if self.chosen_by is None or step.id == self.chosen_by:
            return step.when
        return AnswerContains(self.chosen_by, step.id)

    def applicable(self, answers: Answers) -> tuple[Step, ...]:
        """The steps that apply for these answers, in order."""
        return tuple(
            step
            for step in self.steps
            if (condition := self.condition(step)) is None or condition(answers)
        )


def flow_index(*flows: Flow) -> Mapping[str, Flow]:
    """The flows by name, checked: names are unique, and a step id names one step across all
    flows (two flows share an id only by sharing the very same step, as the update flow shares
    the new-referral flow's updatable steps). Catalog look-ups and ``edit FIELD`` go by id."""
    by_name: dict[str, Flow] = {}
    by_id: dict[str, tuple[Step, Flow]] = {}
    for flow in flows:
        if flow.name in by_name:
            raise ValueError(f"two flows are called {flow.name}")
        by_name[flow.name] = flow
        for step in flow.steps:
            seen = by_id.setdefault(step.id, (step, flow))
            if seen[0] is not step:
                raise ValueError(
                    f"flows {seen[1].name} and {flow.name} both have a step {step.id!r} but "
                    "not the same one: rename one, or share the step itself"
                )
    return MappingProxyType(by_name)
