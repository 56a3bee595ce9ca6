"""The vocabulary flows are written in: steps, the conditions that switch them on, and the
catalogs that supply their choices.

A flow is data: an ordered tuple of :class:`Step`, and the :class:`Submit` it ends with. Each
step names the API path its answer fills (:mod:`bot.conversation.vocabulary.paths`). Nothing
here does I/O; the state machine (:mod:`bot.conversation.runtime.machine`) walks the steps and
the engine persists the result.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Protocol

from bot.conversation.views import InputKind, Option
from bot.conversation.vocabulary.paths import ApiPath, NoPath
from bot.referrals.lookup import Catalog, lookup_key
from bot.referrals.models import Referral

Answers = Mapping[str, Any]
"""Canonical answers by step id, as stored in the session (JSON values), and the flow's
context under keys made by :func:`context_key`."""

Open = Mapping[str, "Step"]
"""The steps still open, by id: neither answered nor skipped, so an answer may yet come."""

MAX_LISTED_CHOICES = 100
"""Longer catalogs are searched, not listed (Slack's static select stops at 100 options)."""

CONTEXT_MARK = "@"
"""Starts the answers' keys that hold context, not an answer (no step id starts with it)."""


def context_key(name: str) -> str:
    """The answers' key for context a flow keeps beside the answers (the referral's own
    solutions): never a step id, so nothing that walks the steps (review, ``document()``,
    what is missing) ever sees it."""
    return f"{CONTEXT_MARK}{name}"


def is_context_key(key: str) -> bool:
    """Whether an answers' key holds context rather than a step's answer."""
    return key.startswith(CONTEXT_MARK)


@functools.lru_cache(maxsize=256)
def listed_options(catalog: Catalog[str]) -> tuple[Option, ...]:
    """Every value of ``catalog`` with its label; built once per catalog (a hot path).

    Bounded: the fixed catalogs are a few dozen, but catalogs built from a draft's context
    (:class:`FromAnswers`) come and go with the drafts, and must not pile up here.
    """
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

    def may_apply(self, answers: Answers, still_open: Open) -> bool:
        """Whether the step may yet apply: it does now, or some answers to the steps
        ``still_open`` would make it apply. Never False when it applies now, and never True
        again once False while answers are only added (what keeps a progress total from
        going up)."""
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

    def may_apply(self, answers: Answers, still_open: Open) -> bool:
        """True while the step is open, else whether it applies."""
        return self.step in still_open or self(answers)


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

    def may_apply(self, answers: Answers, still_open: Open) -> bool:
        """True while the step is open, else whether it applies."""
        return self.step in still_open or self(answers)


@dataclass(frozen=True, slots=True)
class AnswerIs:
    """Applies when step ``step`` was answered with exactly ``value`` (a yes/no answer)."""

    step: str
    value: str | bool

    def __call__(self, answers: Answers) -> bool:
        """True when the answer is the value (``True`` is not ``"True"``, nor ``1``)."""
        answer = answers.get(self.step)
        return type(answer) is type(self.value) and answer == self.value

    def describe(self) -> str:
        """E.g. ``solution_1_marketplace is yes``."""
        if isinstance(self.value, bool):
            return f"{self.step} is {'yes' if self.value else 'no'}"
        return f"{self.step} is {self.value}"

    def may_apply(self, answers: Answers, still_open: Open) -> bool:
        """True while the step is open, else whether it applies."""
        return self.step in still_open or self(answers)


@dataclass(frozen=True, slots=True)
class PickedAtLeast:
    """Applies when the multi-choice step ``step`` has at least ``count`` values picked."""

    step: str
    count: int

    def __call__(self, answers: Answers) -> bool:
        """True when enough values were picked."""
        picked = answers.get(self.step)
        return isinstance(picked, list | tuple) and len(picked) >= self.count

    def describe(self) -> str:
        """E.g. ``registration_solutions has at least 2``."""
        return f"{self.step} has at least {self.count}"

    def may_apply(self, answers: Answers, still_open: Open) -> bool:
        """While the step is open: whether its catalog has ``count`` values to pick (a
        multi-choice answer picks each value once), or True when the catalog is not known
        yet. Else whether it applies."""
        step = still_open.get(self.step)
        if step is None:
            return self(answers)
        catalog = step.choices.catalog(answers) if step.choices else None
        return catalog is None or len(catalog) >= self.count


@dataclass(frozen=True, slots=True)
class AllOf:
    """Applies when every one of ``conditions`` does."""

    conditions: tuple[Condition, ...]

    def __call__(self, answers: Answers) -> bool:
        """True when all apply."""
        return all(condition(answers) for condition in self.conditions)

    def describe(self) -> str:
        """The conditions joined with "and"."""
        return " and ".join(condition.describe() for condition in self.conditions)

    def may_apply(self, answers: Answers, still_open: Open) -> bool:
        """True when every one may (a bound: they might not all together)."""
        return all(condition.may_apply(answers, still_open) for condition in self.conditions)


@dataclass(frozen=True, slots=True)
class ContextGiven:
    """Applies when the draft holds context under ``key`` (:func:`context_key`): what the
    engine found when it looked up the answer to step ``found_by`` (a customer the seller
    filed before)."""

    key: str
    found_by: str

    def __call__(self, answers: Answers) -> bool:
        """True when the context is there."""
        return bool(answers.get(self.key))

    def describe(self) -> str:
        """E.g. ``customer_name matches an earlier referral``."""
        return f"{self.found_by} finds {self.key.removeprefix(CONTEXT_MARK).replace('_', ' ')}"

    def may_apply(self, answers: Answers, still_open: Open) -> bool:
        """True while the step it is found by is open, else whether it applies."""
        return self.found_by in still_open or self(answers)


def answer_in(step: str, *values: str) -> AnswerIn:
    """Condition: step ``step`` was answered with one of ``values``."""
    return AnswerIn(step, frozenset(values))


def answered_yes(step: str) -> AnswerIs:
    """Condition: the yes/no step ``step`` was answered yes."""
    return AnswerIs(step, True)


def all_of(*conditions: Condition) -> AllOf:
    """Condition: every one of ``conditions`` applies."""
    return AllOf(conditions)


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


@dataclass(frozen=True, slots=True)
class FromAnswers:
    """Choices the draft lists itself, under the context key ``key``: a list of
    ``{"id": ..., "name": ...}`` (the referral's own solutions, put there when the draft
    started). The ids are the values, the names their labels, and a name typed is read as
    its id."""

    key: str
    noun: str
    """What one choice is called in messages ("solution")."""
    depends_on: str | None = None
    """Always None: the choices come with the draft, not from an earlier answer."""

    def catalog(self, answers: Answers) -> Catalog[str] | None:
        """The listed choices as a catalog; None when the draft lists none."""
        listed = answers.get(self.key)
        if not isinstance(listed, list | tuple):
            return None
        entries = tuple(
            (str(item["id"]), str(item.get("name") or ""))
            for item in listed
            if isinstance(item, Mapping) and item.get("id")
        )
        return listed_catalog(self.noun, entries)


@functools.lru_cache(maxsize=128)
def listed_catalog(noun: str, entries: tuple[tuple[str, str], ...]) -> Catalog[str]:
    """One catalog per distinct list, so the same draft shown again finds its options in
    :func:`listed_options`' cache instead of adding new ones.

    A value or name that could not be told apart from an earlier one (the same id twice, two
    solutions of one name) is left out rather than refused: the list comes from Partner
    Center, and a draft must not fail over it.
    """
    taken: set[str] = set()
    values: list[str] = []
    labels: dict[str, str] = {}
    for value, name in entries:
        key = lookup_key(value)
        if key and key not in taken:
            taken.add(key)
            values.append(value)
            if name:
                labels[value] = name
    aliases: dict[str, str] = {}
    for value, name in labels.items():
        key = lookup_key(name)
        if key and key not in taken:
            taken.add(key)
            aliases[name] = value
    return Catalog(noun, values, labels=labels, aliases=aliases)


Parser = Callable[[str, ParseContext], Any]
"""Validates one typed (or clicked) answer and returns its canonical JSON value."""


@dataclass(frozen=True, slots=True)
class Filled:
    """What one answer to a group question (:attr:`Step.covers`) settles: answers to some of
    the steps it covers, and the steps it says have nothing to give (no second address
    line), which count as skipped. The steps it leaves out are asked one by one after it."""

    answers: Mapping[str, Any]
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Inference:
    """An answer worked out from other answers (the currency from the customer's country):
    filled in while the seller has not answered the step, so it is not asked, and shown on
    the review with ``reason`` ("from the customer's country") where it can be edited. It
    follows what it is worked out from until the seller answers the step themselves."""

    infer: Callable[[Answers], Any]
    """The answer for these answers, or None when it cannot be worked out."""
    reason: str


@dataclass(frozen=True, slots=True)
class Section:
    """A group of lines on the review (the deal, the customer, the contact...), with one
    Edit that asks its questions again."""

    id: str
    title: str
    steps: tuple[str, ...]
    seller: bool = False
    """The seller is listed first: they join the team of what the flow sends."""


@dataclass(frozen=True, slots=True)
class Opened:
    """What the words after a flow's name (``/referral new Contoso 50k USD``) answer, and
    what in them could not be read, said back to the seller rather than guessed."""

    answers: Mapping[str, Any]
    unread: tuple[str, ...] = ()


Opening = Callable[[str, ParseContext], Opened]

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
    """Answers for other steps implied by this one ("USD 50,000" also answers the currency);
    they replace earlier answers to those steps, since the seller just said otherwise."""
    ask: Callable[[Answers], str] | None = field(default=None)
    """The question in words taken from the answers ("Is Contoso Platform deployed on
    Azure?"); ``question`` stays the words of the flow's data and diagram."""
    depends_on: tuple[str, ...] = ()
    """Earlier steps whose answers the parser reads (``ParseContext.answers``): when one of
    them changes, this answer is parsed again and dropped (so asked again) if refused."""
    about: Callable[[Answers], Any] | None = field(default=None)
    """What the answer is about when other answers say it (the solution a slot of questions
    asks of): a change that makes it about something else drops the answer."""
    covers: tuple[str, ...] = ()
    """For a group question (an address in one answer): the later steps one answer may
    fill. Its parser returns :class:`Filled`; it is asked in place of the first of them
    while at least two are open, and what it leaves open is asked one by one after it."""
    summary: Callable[[Answers], str | None] | None = field(default=None)
    """For a group question: the answers it covers as one line of the review."""
    declined: Callable[[Answers], Filled] | None = field(default=None)
    """For a group question: what skipping it settles (declining optional questions
    skips them all). None: skipping it asks its steps one at a time."""
    infer: Inference | None = None
    """An answer worked out from the others while the seller has given none."""
    lookup: str | None = None
    """The engine looks this step's answer up (a customer filed before) and keeps what it
    finds as context under ``context_key(lookup)``; the lookup is the engine's to run."""
    fills: ApiPath | NoPath = field(kw_only=True)
    """The API path the answer fills, or why it fills none; required, so no step forgets."""

    @property
    def dependencies(self) -> tuple[str, ...]:
        """Every step whose answer this step's answer is checked against: ``depends_on``,
        and the step its choices depend on."""
        chosen_by = self.choices.depends_on if self.choices else None
        return (*self.depends_on, chosen_by) if chosen_by is not None else self.depends_on

    def question_for(self, answers: Answers) -> str:
        """The question as asked now: ``ask``'s words for these answers, or ``question``."""
        return self.ask(answers) if self.ask is not None else self.question

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

    @property
    def is_group(self) -> bool:
        """Whether this is a group question: one answer for the steps it covers."""
        return bool(self.covers)

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
    prefill: Callable[[Referral], dict[str, Any]] | None = None
    """Answers derived from the referral the draft works on, set when the draft starts: they
    are not asked but show on the review, where they can be edited. Keys made by
    :func:`context_key` carry context the steps read (choices, question words)."""
    sections: tuple[Section, ...] = ()
    """How the review groups the answers, each group with one Edit; without any, each
    answer is a line of its own with its own Edit."""
    opening: Opening | None = None
    """Reads the words typed after the flow's name into answers (``/referral new Contoso
    50k USD by 2027-03-31``)."""
    _by_id: Mapping[str, Step] = field(init=False, repr=False, compare=False)
    _groups: Mapping[str, Step] = field(init=False, repr=False, compare=False)
    """The group question covering each covered step: both looked up on every question."""

    def __post_init__(self) -> None:
        ids = [step.id for step in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError(f"flow {self.name} repeats a step id")
        object.__setattr__(self, "_by_id", MappingProxyType({s.id: s for s in self.steps}))
        groups = {covered: step for step in self.steps for covered in step.covers}
        object.__setattr__(self, "_groups", MappingProxyType(groups))
        context = [step_id for step_id in ids if is_context_key(step_id)]
        if context:
            raise ValueError(f"step ids cannot start with {CONTEXT_MARK!r}: {context}")
        if self.prefill is not None and not self.needs_referral:
            raise ValueError(f"flow {self.name} prefills from a referral it does not have")
        self._check_picker(set(ids))
        self._check_groups(ids)
        for step in self.steps:
            for earlier in step.dependencies:
                if earlier not in ids:
                    raise ValueError(f"{step.id} depends on unknown step {earlier}")
                if ids.index(earlier) >= ids.index(step.id):
                    # Checked in flow order, so a change settles in one pass.
                    raise ValueError(f"{step.id} depends on {earlier}, which comes later")

    def _check_picker(self, known: set[str]) -> None:
        if self.chosen_by is None:
            return
        if self.chosen_by not in known:
            raise ValueError(f"flow {self.name} is chosen by unknown step {self.chosen_by}")
        conditional = [s.id for s in self.steps if s.id != self.chosen_by and s.when is not None]
        if conditional:
            # Their conditions speak of answers this flow never asks for.
            raise ValueError(f"picked steps cannot have conditions: {conditional}")

    def _check_groups(self, ids: list[str]) -> None:
        covered: dict[str, str] = {}
        for step in self.steps:
            for later in step.covers:
                if later not in ids or ids.index(later) <= ids.index(step.id):
                    raise ValueError(f"group {step.id} covers {later}, which is not a later step")
                if self.step(later).covers:
                    raise ValueError(f"group {step.id} covers group {later}")
                if covered.setdefault(later, step.id) != step.id:
                    raise ValueError(f"{later} is covered by both {covered[later]} and {step.id}")
            if step.covers and step.required is not False:
                raise ValueError(f"group {step.id} cannot be required: its steps are")
        placed = [step_id for section in self.sections for step_id in section.steps]
        unknown = [step_id for step_id in placed if step_id not in ids]
        if unknown or len(set(placed)) != len(placed):
            raise ValueError(f"flow {self.name}'s sections name unknown or repeated steps")
        names = {lookup_key(step.id) for step in self.steps}
        names.update(lookup_key(step.label) for step in self.steps)
        clashing = [section.id for section in self.sections if lookup_key(section.id) in names]
        if clashing:
            # ``edit ID`` must reach the section, not a step of the same name.
            raise ValueError(f"sections {clashing} are named like steps of flow {self.name}")

    def reads_context(self, key: str) -> bool:
        """Whether a step of this flow is asked on the context kept under ``key``."""
        return any(
            isinstance(step.when, ContextGiven) and step.when.key == key for step in self.steps
        )

    def group_of(self, step_id: str) -> Step | None:
        """The group question covering step ``step_id``, if one does."""
        return self._groups.get(step_id)

    def covered(self, group: Step, answers: Answers) -> tuple[Step, ...]:
        """The steps ``group`` covers that apply for these answers, in order."""
        return tuple(
            self._by_id[step_id]
            for step_id in group.covers
            if (when := self.condition(self._by_id[step_id])) is None or when(answers)
        )

    def is_open(self, step: Step, answers: Answers, skipped: Collection[str] = ()) -> bool:
        """Whether ``step`` is still to be asked: neither answered nor skipped, and for a
        group question, at least two of the steps it covers are (one is asked as itself)."""
        if step.id in answers or step.id in skipped:
            return False
        if not step.covers:
            return True
        open_covered = [
            s for s in self.covered(step, answers) if s.id not in answers and s.id not in skipped
        ]
        return len(open_covered) >= 2

    def step(self, step_id: str) -> Step:
        """The step with this id."""
        return self._by_id[step_id]

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

    def may_apply(self, answers: Answers, skipped: Collection[str] = ()) -> tuple[Step, ...]:
        """The steps that apply for these answers or may yet, once the questions still open
        (neither answered nor ``skipped``) are answered, in order: :meth:`applicable` and
        more. An upper bound on the steps the draft will have, which only shrinks while
        answers are only added; changing or removing an answer may widen it again."""
        still_open = {
            step.id: step
            for step in self.steps
            if step.id not in answers and step.id not in skipped
        }
        return tuple(
            step
            for step in self.steps
            if (condition := self.condition(step)) is None
            or condition.may_apply(answers, still_open)
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
