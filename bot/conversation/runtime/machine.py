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
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.conversation.runtime.progress import progress
from bot.conversation.runtime.review import review_view, section_questions
from bot.conversation.runtime.session import Session
from bot.conversation.runtime.situation import Situation, declined
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
    Prompt,
    Text,
    Triage,
    View,
)
from bot.conversation.vocabulary import values
from bot.conversation.vocabulary.steps import Filled, Flow, ParseContext, Step, is_context_key
from bot.referrals.catalogs import catalog_id
from bot.referrals.lookup import lookup_key
from bot.referrals.models import Referral

__all__ = [
    "Effect",
    "Outcome",
    "Situation",
    "advance",
    "current_view",
    "opened",
    "prompt_view",
    "review_view",
    "start",
    "with_context",
]

EARLIEST_SEARCH_DAYS = 366
"""How far past today a date step's earliest accepted day is looked for."""
COMMANDS_HELP = (
    "Answer the question, or type: back, skip (optional questions), review, "
    "edit FIELD, keep (when editing), submit, cancel, help."
)
GROUP_SKIP_HINT = "Type skip to answer them one at a time."
CHECK_FIRST = "Nothing is missing. Check everything below, then submit to send it."


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
    told = sorted({*session.told, *(key for key in answers if not is_context_key(key))})
    inferred = _infer(flow, answers, dict(session.inferred))
    first = next(
        (step for step in flow.applicable(answers) if flow.is_open(step, answers, session.skipped)),
        None,
    )
    return session.model_copy(
        update={
            "answers": answers,
            "told": told,
            "inferred": inferred,
            "current": first.id if first is not None else None,
        }
    )


def opened(flow: Flow, words: str, *, today: date) -> tuple[dict[str, Any], Notice | None]:
    """The answers the words typed after the flow's name give (``/referral new Contoso 50k
    USD by 2027-03-31``), each checked by its own step's parser, and a notice saying what
    was taken and what was not: nothing is guessed, nothing dropped unsaid."""
    words = words.strip()
    if not words:
        return {}, None
    if flow.opening is None:
        return {}, Notice(
            message=f"{flow.title} takes no words after its name; ignored: {words!r}.",
        )
    read = flow.opening(words, ParseContext(today=today, answers={}))
    answers: dict[str, Any] = {}
    unread = list(read.unread)
    for step_id, value in read.answers.items():
        step = flow.step(step_id)
        context = ParseContext(today=today, answers=answers)
        try:
            answers[step_id] = step.parse(_as_typed(value), context)
        except values.InvalidAnswer as invalid:
            unread.append(f"{step.label}: {invalid.message}")
    taken = [
        f"{flow.step(step_id).label} {flow.step(step_id).show(v)}" for step_id, v in answers.items()
    ]
    message = f"From your line: {'; '.join(taken)}." if taken else "I could not use your line."
    detail = f"Not used: {' '.join(unread)}" if unread else None
    return answers, Notice(message=message, detail=detail)


def with_context(flow: Flow, session: Session, key: str, found: Any) -> Session:
    """The draft with what the engine found (``found``; None: nothing) kept under the
    context key ``key``. Unless the seller is editing, its current question follows: back
    to an earlier one this makes applicable (the offer of a customer filed before), or on
    from one it no longer applies to (that offer, once the customer is renamed)."""
    answers = {k: v for k, v in session.answers.items() if k != key}
    if found is not None:
        answers[key] = found
    updated = session.model_copy(update={"answers": answers})
    current = updated.current
    if updated.editing or current is None:
        return updated
    order = [step.id for step in flow.steps]
    situation = Situation(flow, updated)
    applicable = situation.applicable()
    still = [step.id for step in applicable if situation.is_open(step)]
    earlier = [step_id for step_id in still if order.index(step_id) < order.index(current)]
    if earlier:
        current = earlier[0]
    elif current not in {step.id for step in applicable}:
        later = [step_id for step_id in still if order.index(step_id) > order.index(current)]
        missing = situation.missing()
        current = later[0] if later else missing[0].id if missing else None
    return updated.model_copy(update={"current": current})


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
        required=_required(situation, step),
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
        progress=progress(situation, step),
        can_go_back=bool(situation.session.history),
        placeholder=step.placeholder,
        can_keep=situation.session.editing and _current(situation, step) is not None,
    )


def _required(situation: Situation, step: Step) -> bool:
    """Whether the question must be answered: a group question must when a step it leaves
    open must (skipping it only asks them one at a time)."""
    if not step.is_group:
        return step.is_required(situation.answers)
    return declined(situation, step) is None


# -- inputs ---------------------------------------------------------------------------------


def _answer(situation: Situation, step: Step, raw: str, *, today: date, now: datetime) -> Outcome:
    session = situation.session
    options = step.options(situation.answers)
    context = ParseContext(
        today=today, answers=situation.answers, numbered=tuple(o.value for o in options)
    )
    try:
        value = step.parse(raw, context)
        if isinstance(value, Filled):
            answers, skipped, changed = _group_answer(situation, step, value, today)
        else:
            implied = dict(step.derive(raw)) if step.derive is not None else {}
            answers = {**session.answers, step.id: value, **implied}
            changed = {step.id, *implied}
            skipped = {s for s in session.skipped if s not in changed}
        if not step.is_group:  # what came with the answer, not asked on its own
            told = {*session.told, *(changed - {step.id})}
            session = session.model_copy(update={"told": sorted(told)})
            situation = replace(situation, session=session)
    except values.InvalidAnswer as invalid:
        hint = invalid.hint or (GROUP_SKIP_HINT if step.is_group else None)
        prompt = prompt_view(
            situation, step, error=invalid.message, hint=hint, suggestions=invalid.suggestions
        )
        return Outcome(session, (prompt,), persist=False, refused=Effect.REFUSED)
    return _taken(situation, step, answers, skipped, changed, today=today, now=now)


def _group_answer(
    situation: Situation, group: Step, filled: Filled, today: date
) -> tuple[dict[str, Any], set[str], set[str]]:
    """The answers after one answer to a group question: each value it gives checked by its
    own step's parser (in flow order, so a step reads the ones before it), as if typed.

    An answer that settles two or more of the steps restates the group (a whole address), so
    the steps it leaves out are cleared and asked again; one that settles a single step
    changes that step only."""
    session = situation.session
    if group.is_group:
        covered = {step.id for step in situation.flow.covered(group, situation.answers)}
    else:  # a question whose yes fills others (the same customer as before)
        covered = {step.id for step in situation.applicable() if step.id != group.id}
    given = {key: value for key, value in filled.answers.items() if key in covered}
    nothing = {key for key in filled.skipped if key in covered and key not in given}
    answers = dict(session.answers)
    skipped = set(session.skipped)
    if group.is_group and len(given) + len(nothing) >= 2:
        for step_id in group.covers:
            answers.pop(step_id, None)
            skipped.discard(step_id)
    for step in situation.flow.steps:
        if step.id in given:
            context = ParseContext(today=today, answers=answers)
            try:
                answers[step.id] = step.parse(_as_typed(given[step.id]), context)
            except values.InvalidAnswer as invalid:
                raise values.InvalidAnswer(
                    f"{step.label}: {invalid.message}", hint=invalid.hint
                ) from None
            skipped.discard(step.id)
    for step_id in nothing:
        answers.pop(step_id, None)
        skipped.add(step_id)
    answers[group.id] = sorted({*given, *nothing})
    skipped.discard(group.id)
    return answers, skipped, {group.id, *given, *nothing}


def _taken(
    situation: Situation,
    step: Step,
    answers: dict[str, Any],
    skipped: set[str],
    changed: set[str],
    *,
    today: date,
    now: datetime,
) -> Outcome:
    """The draft once ``step`` was answered (or skipped): the answers the change made wrong
    dropped, those worked out from others brought up to date, and the next question."""
    session = situation.session
    dropped = _drop_invalidated(situation.flow, session.answers, answers, changed, today)
    inferred = {k: v for k, v in session.inferred.items() if k not in changed}
    inferred = _infer(situation.flow, answers, inferred)
    updated = session.model_copy(
        update={
            "answers": answers,
            "skipped": sorted(skipped),
            "inferred": inferred,
            "history": [*session.history, step.id],
            "updated_at": now,
            "notice": None,
        }
    )
    dropped = tuple(d for d in dropped if d.id not in inferred)
    if dropped:  # asked again, on their own
        gone = {d.id for d in dropped}
        updated = updated.model_copy(update={"told": [t for t in updated.told if t not in gone]})
    return _told(_move_on(replace(situation, session=updated), step, now=now), dropped)


def _skip(situation: Situation, *, today: date, now: datetime) -> Outcome:
    session = situation.session
    if session.current is None:
        return Outcome(session, (Notice(message="There is no question to skip."),), persist=False)
    step = situation.flow.step(session.current)
    if step.is_required(situation.answers):
        prompt = prompt_view(situation, step, error="This one is required; it can't be skipped.")
        return Outcome(session, (prompt,), persist=False, refused=Effect.REFUSED)
    settled = declined(situation, step)
    if settled is not None:
        answers, skipped, changed = _group_answer(situation, step, settled, today)
        return _taken(situation, step, answers, skipped, changed, today=today, now=now)
    answers = {k: v for k, v in session.answers.items() if k != step.id}
    skipped = {*session.skipped, step.id}
    return _taken(situation, step, answers, skipped, {step.id}, today=today, now=now)


def _infer(flow: Flow, answers: dict[str, Any], inferred: Mapping[str, str]) -> dict[str, str]:
    """Fill in (in place) the answers the flow works out from others, for the steps the
    seller has not answered, and return which those are, with why.

    One worked out before follows what it came from: changed, or gone when it can no longer
    be worked out (a step that stopped applying)."""
    kept = dict(inferred)
    applicable = {step.id for step in flow.applicable(answers)}
    for step in flow.steps:
        if step.infer is None or (step.id in answers and step.id not in kept):
            continue
        value = step.infer.infer(answers) if step.id in applicable else None
        if value is None:
            if step.id in kept:
                answers.pop(step.id, None)
                del kept[step.id]
        else:
            answers[step.id] = value
            kept[step.id] = step.infer.reason
    return kept


def _move_on(situation: Situation, answered: Step, *, now: datetime) -> Outcome:
    session = situation.session
    if session.editing:
        missing = situation.missing()
        still = {step.id for step in situation.applicable()}
        queue = [step_id for step_id in session.edit_queue if step_id in still]
        if queue:
            update: dict[str, Any] = {"current": queue[0], "edit_queue": queue[1:]}
        else:
            update = {"current": missing[0].id if missing else None, "editing": False}
            update["edit_queue"] = []
        return _show(situation, session.model_copy(update=update))
    applicable = situation.applicable()
    ids = [step.id for step in applicable]
    after = applicable[ids.index(answered.id) + 1 :] if answered.id in ids else applicable
    upcoming = next((step.id for step in after if situation.is_open(step)), None)
    if upcoming is None:
        missing = situation.missing()
        upcoming = missing[0].id if missing else None
    return _show(situation, session.model_copy(update={"current": upcoming}))


def _show(situation: Situation, session: Session) -> Outcome:
    moved = replace(situation, session=session)
    if session.current is None:
        return Outcome(session, (review_view(moved),))
    return Outcome(session, (prompt_view(moved, situation.flow.step(session.current)),))


def _goto(
    situation: Situation,
    step_id: str,
    *,
    now: datetime,
    editing: bool = False,
    queue: Sequence[str] = (),
) -> Outcome:
    session = situation.session.model_copy(
        update={
            "current": step_id,
            "editing": editing,
            "edit_queue": list(queue),
            "updated_at": now,
        }
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
            CommandName.KEEP,  # a second click on Keep must not keep the next answer too
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
            update={
                "history": earlier,
                "current": last,
                "editing": False,
                "edit_queue": [],
                "updated_at": now,
            }
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
        shown: dict[str, Any] = {"current": None, "editing": False, "edit_queue": []}
        return _show(situation, session.model_copy(update=shown))
    if name is CommandName.KEEP:
        return _keep(situation, now=now)
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


def _keep(situation: Situation, *, now: datetime) -> Outcome:
    """Leave the question an edit asks again as it is, and go on to the next."""
    session = situation.session
    if not session.editing or session.current is None:
        problem = Problem(
            message="Keep works while editing: it leaves an answer as it is.",
            hint=COMMANDS_HELP,
        )
        return Outcome(session, (problem, _now_showing(situation)), persist=False)
    step = situation.flow.step(session.current)
    return _move_on(
        replace(situation, session=session.model_copy(update={"updated_at": now})), step, now=now
    )


def _edit(situation: Situation, target: str | None, *, now: datetime) -> Outcome:
    applicable = [
        step
        for step in situation.applicable()
        if not step.is_group or situation.flow.covered(step, situation.answers)
    ]
    names = {lookup_key(step.id): step for step in applicable}
    names.update({lookup_key(step.label): step for step in applicable})
    wanted = lookup_key(target or "")
    step = names.get(wanted)
    section = next(
        (
            section
            for section in situation.flow.sections
            if wanted in (lookup_key(section.id), lookup_key(section.title))
        ),
        None,
    )
    if step is None and section is not None:
        questions = section_questions(situation, section.steps)
        if questions:
            first, *rest = (question.id for question in questions)
            return _goto(situation, first, now=now, editing=True, queue=rest)
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
    if session.current is not None and _unseen(situation):
        # Answers that fill several fields at once, or were worked out: nothing is sent
        # that the seller has not seen on the review first.
        reviewing = session.model_copy(update={"current": None, "editing": False, "edit_queue": []})
        said = Notice(message=CHECK_FIRST)
        return Outcome(reviewing, (said, review_view(replace(situation, session=reviewing))))
    return Outcome(session, (), submit=True, persist=False)


def _unseen(situation: Situation) -> bool:
    """Whether the draft holds answers the seller did not give to their own question (a
    group answer's, the first line's, one worked out or prefilled): those are seen on the
    review before anything is sent."""
    asked = set(situation.session.history)
    return any(
        step.id in situation.answers and step.id not in asked and not step.is_group
        for step in situation.applicable()
    )


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
    if step.is_group:
        answered = any(
            s.id in situation.answers for s in situation.flow.covered(step, situation.answers)
        )
        return step.summary(situation.answers) if answered and step.summary else None
    answer = situation.answers.get(step.id)
    if answer is None and situation.subject is not None:
        answer = step.current(situation.subject)
    return step.show(answer) if answer is not None else None


def _subject(session: Session) -> Referral | None:
    return Referral.from_wire(session.subject.snapshot) if session.subject else None
