"""The state machine: given a flow, a session and one input, the next session and views.

Pure: no I/O, no clock reads (``today`` comes in), so every transition can be tested on its
own and the engine stays a thin layer of storage and API calls around :func:`advance`.

An answer may be checked against earlier ones (an end date after the start date, a solution
play of the solution area): after every change, the answers checked against what changed
are checked again, in flow order, and those that no longer pass are dropped, so the seller
is asked them again instead of sending a draft its own rules refuse.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.conversation.runtime.session import Session
from bot.conversation.views import (
    ALREADY_ANSWERED,
    Choice,
    Command,
    CommandName,
    Decision,
    Input,
    InputKind,
    Notice,
    Option,
    Problem,
    Progress,
    Prompt,
    Review,
    ReviewLine,
    Text,
    Triage,
    View,
)
from bot.conversation.vocabulary import values
from bot.conversation.vocabulary.steps import Flow, ParseContext, Step
from bot.referrals.catalogs import catalog_id
from bot.referrals.lookup import lookup_key
from bot.referrals.models import Referral

EARLIEST_SEARCH_DAYS = 366
"""How far past today a date step's earliest accepted day is looked for."""
COMMANDS_HELP = (
    "Answer the question, or type: back, skip (optional questions), review, "
    "edit FIELD, submit, cancel, help."
)


class Effect(StrEnum):
    """What an input did to the draft, for a chat front to show it truthfully."""

    CHANGED = "changed"
    """Taken: the draft moved on (an answer accepted, a step skipped, a submit, a cancel)."""
    REFUSED = "refused"
    """Not taken: the answer (or command) was refused and the same question is asked again."""
    STALE = "stale"
    """Not taken: it was meant for a question that was already answered."""
    SHOWN = "shown"
    """Nothing to take: the input only asked to see something (help, resume, a listing)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one input led to. ``session`` None means the draft is gone (cancelled)."""

    session: Session | None
    views: tuple[View, ...]
    submit: bool = False
    """The seller asked to submit and the draft is complete: the engine sends it."""
    persist: bool = True
    """Whether the session changed and must be written."""
    refused: Effect | None = None
    """Why nothing was taken (REFUSED or STALE), when that is the case."""

    @property
    def effect(self) -> Effect:
        """What the input did to the draft."""
        if self.refused is not None:
            return self.refused
        return Effect.CHANGED if self.persist or self.submit else Effect.SHOWN


@dataclass(frozen=True, slots=True)
class Situation:
    """A flow with one session, and what the machine derives from them."""

    flow: Flow
    session: Session
    subject: Referral | None = field(default=None)
    today: date | None = None
    """The engine's today, which date questions are asked against (their earliest day)."""

    @property
    def answers(self) -> dict[str, Any]:
        """The session's answers."""
        return self.session.answers

    def applicable(self) -> tuple[Step, ...]:
        """Steps that apply for the answers so far."""
        return self.flow.applicable(self.answers)

    def missing(self) -> tuple[Step, ...]:
        """Applicable required steps without an answer."""
        return tuple(
            step
            for step in self.applicable()
            if step.is_required(self.answers) and step.id not in self.answers
        )


def advance(flow: Flow, session: Session, message: Input, *, today: date, now: datetime) -> Outcome:
    """Apply one input to a session."""
    situation = Situation(flow, session, _subject(session), today)
    if isinstance(message, Command):
        return _command(situation, message, today=today, now=now)
    if isinstance(message, Decision | Triage):
        # A decision on an approval card (or an incoming referral's) belongs to the approvals
        # (the triage), never to a draft.
        problem = Problem(message="That decision is not an answer to this draft.")
        return Outcome(
            session, (problem, _now_showing(situation)), persist=False, refused=Effect.REFUSED
        )
    if message.step is not None and message.step != session.current:
        return _stale(situation)
    if session.current is None:
        if situation.missing():
            return _goto(situation, situation.missing()[0].id, now=now)
        return Outcome(
            session,
            (
                Notice(message="Everything is answered. Type submit to send it, or edit FIELD."),
                review_view(situation),
            ),
            persist=False,
        )
    raw = message.value if isinstance(message, Text) else _choice_text(message)
    return _answer(situation, flow.step(session.current), raw, today=today, now=now)


def current_view(flow: Flow, session: Session, *, today: date) -> View:
    """What the seller should see now: the current question or the review."""
    return _now_showing(Situation(flow, session, _subject(session), today))


def start(flow: Flow, session: Session) -> Session:
    """Point a new session at its first question, with the answers the flow derives from the
    referral it works on (``Flow.prefill``): those are not asked, but show on the review
    where they can be edited. With everything answered, the review comes first."""
    answers = {**_prefilled(flow, session), **session.answers}
    first = next((step for step in flow.applicable(answers) if step.id not in answers), None)
    return session.model_copy(
        update={"answers": answers, "current": first.id if first is not None else None}
    )


def _prefilled(flow: Flow, session: Session) -> dict[str, Any]:
    """The answers ``flow`` derives from the session's referral; none without either."""
    subject = _subject(session)
    if flow.prefill is None or subject is None:
        return {}
    return flow.prefill(subject)


def prompt_view(
    situation: Situation,
    step: Step,
    *,
    error: str | None = None,
    hint: str | None = None,
    suggestions: tuple[str, ...] = (),
) -> Prompt:
    """The question for ``step``: its choices, or the id of the catalog a card's type-ahead
    lists, and for a date the earliest day the step accepts (``situation.today`` or later)."""
    answers = situation.answers
    options = step.options(answers)
    catalog = step.choices.catalog(answers) if step.choices else None
    return Prompt(
        flow=situation.flow.name,
        step=step.id,
        question=step.question_for(answers),
        input=step.kind,
        required=step.is_required(answers),
        choices=options,
        searchable=step.searchable(answers),
        catalog=catalog_id(catalog) if catalog is not None else None,
        earliest=_earliest(situation, step),
        current=_current(situation, step),
        error=error,
        hint=hint or (step.help if error is None else None),
        suggestions=tuple(
            Option(value=value, label=catalog.label(value) if catalog else value)
            for value in suggestions
        ),
        progress=_progress(situation, step),
        can_go_back=bool(situation.session.history),
        placeholder=step.placeholder,
    )


def _progress(situation: Situation, step: Step) -> Progress:
    """Where ``step`` stands among the steps that apply or may yet (:meth:`Flow.may_apply`):
    its place among them, and how many there are (why a bound: :class:`Progress`)."""
    counted = situation.flow.may_apply(situation.answers, situation.session.skipped)
    number = next((i for i, s in enumerate(counted, 1) if s.id == step.id), len(counted))
    return Progress(number=number, total=len(counted))


def review_view(situation: Situation, *, notice: str | None = None) -> Review:
    """Every applicable answer, and what is still missing."""
    lines = []
    for step in situation.applicable():
        answer = situation.answers.get(step.id)
        shown = step.show(answer) if answer is not None else None
        before = step.current(situation.subject) if situation.subject else None
        if shown is not None and before is not None and before != answer:
            shown = f"{step.show(before)} → {shown}"
        lines.append(ReviewLine(step=step.id, label=step.label, value=shown))
    session = situation.session
    return Review(
        flow=situation.flow.name,
        title=situation.flow.title,
        lines=tuple(lines),
        missing=tuple(step.label for step in situation.missing()),
        notice=notice or session.notice,
        can_reapply=session.notice is not None,
    )


# -- inputs ---------------------------------------------------------------------------------


def _answer(situation: Situation, step: Step, raw: str, *, today: date, now: datetime) -> Outcome:
    session = situation.session
    options = step.options(situation.answers)
    context = ParseContext(
        today=today, answers=situation.answers, numbered=tuple(o.value for o in options)
    )
    try:
        value = step.parse(raw, context)
    except values.InvalidAnswer as invalid:
        prompt = prompt_view(
            situation,
            step,
            error=invalid.message,
            hint=invalid.hint,
            suggestions=invalid.suggestions,
        )
        return Outcome(session, (prompt,), persist=False, refused=Effect.REFUSED)
    implied = dict(step.derive(raw)) if step.derive is not None else {}
    answers = {**session.answers, step.id: value, **implied}
    dropped = _drop_invalidated(
        situation.flow, session.answers, answers, {step.id, *implied}, today
    )
    history = [*session.history, step.id]
    updated = session.model_copy(
        update={
            "answers": answers,
            "skipped": [s for s in session.skipped if s not in (step.id, *implied)],
            "history": history,
            "updated_at": now,
            "notice": None,
        }
    )
    return _told(_move_on(replace(situation, session=updated), step, now=now), dropped)


def _skip(situation: Situation, *, today: date, now: datetime) -> Outcome:
    session = situation.session
    if session.current is None:
        return Outcome(session, (Notice(message="There is no question to skip."),), persist=False)
    step = situation.flow.step(session.current)
    if step.is_required(situation.answers):
        prompt = prompt_view(situation, step, error="This one is required; it can't be skipped.")
        return Outcome(session, (prompt,), persist=False, refused=Effect.REFUSED)
    answers = {k: v for k, v in session.answers.items() if k != step.id}
    dropped = _drop_invalidated(situation.flow, session.answers, answers, {step.id}, today)
    updated = session.model_copy(
        update={
            "answers": answers,
            "skipped": sorted({*session.skipped, step.id}),
            "history": [*session.history, step.id],
            "updated_at": now,
        }
    )
    return _told(_move_on(replace(situation, session=updated), step, now=now), dropped)


def _move_on(situation: Situation, answered: Step, *, now: datetime) -> Outcome:
    session = situation.session
    missing = situation.missing()
    if session.editing:
        target = missing[0].id if missing else None
        return _show(situation, session.model_copy(update={"current": target, "editing": False}))
    applicable = situation.applicable()
    ids = [step.id for step in applicable]
    after = applicable[ids.index(answered.id) + 1 :] if answered.id in ids else applicable
    upcoming = next(
        (
            step.id
            for step in after
            if step.id not in session.answers and step.id not in session.skipped
        ),
        None,
    )
    target = upcoming or (missing[0].id if missing else None)
    return _show(situation, session.model_copy(update={"current": target}))


def _show(situation: Situation, session: Session) -> Outcome:
    moved = replace(situation, session=session)
    if session.current is None:
        return Outcome(session, (review_view(moved),))
    return Outcome(session, (prompt_view(moved, situation.flow.step(session.current)),))


def _goto(situation: Situation, step_id: str, *, now: datetime, editing: bool = False) -> Outcome:
    session = situation.session.model_copy(
        update={"current": step_id, "editing": editing, "updated_at": now}
    )
    return _show(situation, session)


def _command(situation: Situation, command: Command, *, today: date, now: datetime) -> Outcome:
    session = situation.session
    name = command.name
    if (
        command.step is not None
        and command.step != session.current
        and name
        in (
            CommandName.BACK,
            CommandName.SKIP,
        )
    ):
        return _stale(situation)
    if name is CommandName.BACK:
        previous = _previous(situation)
        if previous is None:
            view = _now_showing(situation)
            first = Notice(message="This is the first question.")
            return Outcome(session, (first, view), persist=False)
        earlier, last = previous
        updated = session.model_copy(
            update={"history": earlier, "current": last, "editing": False, "updated_at": now}
        )
        return _show(situation, updated)
    if name is CommandName.SKIP:
        return _skip(situation, today=today, now=now)
    if name is CommandName.CANCEL:
        return Outcome(None, (Notice(message="Cancelled. Nothing was sent to Partner Center."),))
    if name is CommandName.HELP:
        step = situation.flow.step(session.current) if session.current else None
        detail = step.help if step and step.help else None
        view = _now_showing(situation)
        return Outcome(session, (Notice(message=COMMANDS_HELP, detail=detail), view), persist=False)
    if name is CommandName.REVIEW:
        return _show(situation, session.model_copy(update={"current": None, "editing": False}))
    if name is CommandName.EDIT:
        return _edit(situation, command.arg, now=now)
    if name in (CommandName.SUBMIT, CommandName.REAPPLY):
        return _submit(situation, reapply=name is CommandName.REAPPLY)
    if name is CommandName.RESUME:
        view = _now_showing(situation)
        resumed = Notice(message=f"Picking up your {situation.flow.title.lower()} draft.")
        return Outcome(session, (resumed, view), persist=False)
    problem = Problem(message=f"{name} can't be used here.", hint=COMMANDS_HELP)
    return Outcome(session, (problem,), persist=False)


def _edit(situation: Situation, target: str | None, *, now: datetime) -> Outcome:
    applicable = situation.applicable()
    names = {lookup_key(step.id): step for step in applicable}
    names.update({lookup_key(step.label): step for step in applicable})
    wanted = lookup_key(target or "")
    step = names.get(wanted)
    if step is None:
        close = difflib.get_close_matches(wanted, list(names), n=1, cutoff=0.6)
        step = names[close[0]] if close else None
    if step is None and wanted:
        # "edit solutions" for "Solutions to register": a word of one label only.
        holding = {s.id: s for key, s in names.items() if wanted in key}
        step = next(iter(holding.values())) if len(holding) == 1 else None
    if step is None:
        fields = ", ".join(s.label for s in applicable)
        problem = Problem(
            message=f"There is no field called {target!r}." if target else "Edit which field?",
            hint=f"Type edit and one of: {fields}.",
        )
        return Outcome(situation.session, (problem,), persist=False, refused=Effect.REFUSED)
    return _goto(situation, step.id, now=now, editing=True)


def _submit(situation: Situation, *, reapply: bool) -> Outcome:
    session = situation.session
    if reapply and session.notice is None:
        problem = Problem(message="There is nothing to re-apply.", hint="Type submit to send.")
        return Outcome(session, (problem,), persist=False)
    missing = situation.missing()
    if missing:
        first = missing[0]
        prompt = prompt_view(
            situation,
            first,
            error=f"Before submitting, answer: {', '.join(step.label for step in missing)}.",
        )
        moved = session.model_copy(update={"current": first.id})
        return Outcome(moved, (prompt,), refused=Effect.REFUSED)
    return Outcome(session, (), submit=True, persist=False)


def _stale(situation: Situation) -> Outcome:
    notice = Notice(message=ALREADY_ANSWERED)
    return Outcome(
        situation.session, (notice, _now_showing(situation)), persist=False, refused=Effect.STALE
    )


# -- helpers --------------------------------------------------------------------------------


def _now_showing(situation: Situation) -> View:
    """The current question or the review, for the situation as it is."""
    current = situation.session.current
    if current is None:
        return review_view(situation)
    return prompt_view(situation, situation.flow.step(current))


def _earliest(situation: Situation, step: Step) -> date | None:
    """The earliest day a date step accepts, found by asking its own validator: None when it
    takes yesterday (or there is no today to ask against), else the first day from today on
    that it takes."""
    today = situation.today
    if step.kind is not InputKind.DATE or today is None:
        return None
    context = ParseContext(today=today, answers=situation.answers)
    try:
        if _accepts(step, today - timedelta(days=1), context):
            return None
        for offset in range(EARLIEST_SEARCH_DAYS):
            day = today + timedelta(days=offset)
            if _accepts(step, day, context):
                return day
    except OverflowError:  # at the ends of the calendar
        return None
    return None


def _accepts(step: Step, day: date, context: ParseContext) -> bool:
    try:
        step.parse(day.isoformat(), context)
    except values.InvalidAnswer:
        return False
    return True


def _choice_text(choice: Choice) -> str:
    # Canonical values may contain commas ("DynamicsAX,GP,NAV,SL") but never newlines.
    return "\n".join(choice.value) if isinstance(choice.value, tuple) else choice.value


def _previous(situation: Situation) -> tuple[list[str], str] | None:
    """Where ``back`` goes: the latest step in the history that still applies (an answer
    may have switched the others off), and the history before it; None at the first."""
    applicable = {step.id for step in situation.applicable()}
    history = list(situation.session.history)
    while history:
        last = history.pop()
        if last in applicable:
            return history, last
    return None


def _drop_invalidated(
    flow: Flow,
    before: Mapping[str, Any],
    answers: dict[str, Any],
    changed: set[str],
    today: date,
) -> tuple[Step, ...]:
    """Forget the answers a change made wrong, and return their steps.

    In flow order (a step is checked only against earlier ones), an answer is dropped when a
    step it depends on (:attr:`Step.dependencies`) changed and its parser now refuses it, or
    when what it is about (:attr:`Step.about`) is no longer what it was answered about. A
    dropped answer counts as changed for the steps after it.
    """
    changed = set(changed)
    dropped: list[Step] = []
    for step in flow.steps:
        if step.id not in answers or step.id in changed:
            continue
        moved = step.about is not None and step.about(before) != step.about(answers)
        checked = not changed.isdisjoint(step.dependencies)
        if moved or (checked and not _still_valid(step, answers, today)):
            del answers[step.id]
            changed.add(step.id)
            dropped.append(step)
    return tuple(dropped)


def _still_valid(step: Step, answers: dict[str, Any], today: date) -> bool:
    """Whether the step's parser, given the other answers, takes its stored answer back
    unchanged (read as it would be typed)."""
    answer = answers[step.id]
    context = ParseContext(today=today, answers=answers)
    try:
        return bool(step.parse(_as_typed(answer), context) == answer)
    except values.InvalidAnswer:
        return False


def _as_typed(answer: Any) -> str:
    """A stored answer as the seller would type it: a list one value a line (values may hold
    commas), yes or no, else its text."""
    if isinstance(answer, bool):
        return "yes" if answer else "no"
    if isinstance(answer, Sequence) and not isinstance(answer, str):
        return "\n".join(str(item) for item in answer)
    return str(answer)


def _told(outcome: Outcome, dropped: tuple[Step, ...]) -> Outcome:
    """``outcome``, preceded by a word on the answers a change dropped, when there are."""
    if not dropped:
        return outcome
    labels = ", ".join(step.label for step in dropped)
    notice = Notice(
        message=f"That change no longer fits your earlier answer to: {labels}.",
        detail="You'll be asked again.",
    )
    return replace(outcome, views=(notice, *outcome.views))


def _current(situation: Situation, step: Step) -> str | None:
    answer = situation.answers.get(step.id)
    if answer is None and situation.subject is not None:
        answer = step.current(situation.subject)
    return step.show(answer) if answer is not None else None


def _subject(session: Session) -> Referral | None:
    return Referral.from_wire(session.subject.snapshot) if session.subject else None
