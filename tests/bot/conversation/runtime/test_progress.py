"""The progress a question shows, "Step N of T", over every flow: the total is the most
questions the draft can still have, so it only comes down while the seller answers, and never
goes up unless the seller changes an answer they gave, or answers a group question (an address
in one answer) with only part of what it covers, whose rest is then asked, and counted, one by
one."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from bot.conversation.runtime import machine
from bot.conversation.runtime.session import Session, Subject
from bot.conversation.views import (
    Command,
    CommandName,
    Input,
    InputKind,
    Prompt,
    Review,
    Seller,
    Text,
)
from bot.conversation.vocabulary.flows import FLOWS, register
from bot.conversation.vocabulary.steps import Flow
from tests.fixtures import partner_center

TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
SOLUTIONS = [
    {"id": "DEAL-123456-XYZ", "name": "Contoso Experience Platform", "type": "Name"},
    {"id": "SOL-15974-MQF", "name": "Contoso Insights", "type": "Name"},
    {"id": "SOL-24680-ABC", "name": "Contoso Sync", "type": "Name"},
]
TYPED: Mapping[InputKind, Sequence[str]] = {
    InputKind.TEXT: ("Contoso", "Ana Lopez <ana@contoso.com>", "yes"),
    InputKind.LONG_TEXT: ("Training for 300 staff.",),
    InputKind.EMAIL: ("ana@contoso.com",),
    InputKind.PHONE: ("+1 425 555 0100",),
    InputKind.MONEY: ("50k", "EUR 40,000"),
    InputKind.YES_NO: ("yes", "no"),
}
"""Answers to try for a question without choices, by what it asks for."""
DAYS = (0, -1, -30, 1, 30, 365, 400)
"""Days from the earliest a date question takes (or today) to try."""


def subject(solutions: list[dict[str, str]] = SOLUTIONS) -> Subject:
    wire: dict[str, Any] = copy.deepcopy(partner_center("get_referral_response"))
    wire["details"].update({"dealValue": 250000, "currency": "USD"})
    wire["details"]["requirements"]["solutions"] = solutions
    return Subject(referral_id="r1", snapshot=wire)


def started(flow: Flow, about: Subject | None = None) -> Session:
    draft = Session(
        id="draft-1",
        flow=flow.name,
        seller=Seller(user_id="U1"),
        subject=about if flow.needs_referral else None,
        created_at=NOW,
        updated_at=NOW,
    )
    return machine.start(flow, draft)


def send(flow: Flow, session: Session, message: Input | str) -> machine.Outcome:
    typed = Text(value=message) if isinstance(message, str) else message
    return machine.advance(flow, session, typed, today=TODAY, now=NOW)


def asked(outcome: machine.Outcome) -> Prompt:
    prompt = outcome.views[-1]
    assert isinstance(prompt, Prompt), outcome.views
    return prompt


def walk(flow: Flow, session: Session, messages: list[Input | str]) -> Session:
    for message in messages:
        outcome = send(flow, session, message)
        assert outcome.refused is None, outcome.views
        assert outcome.session is not None
        session = outcome.session
    return session


def step_of(flow: Flow, session: Session) -> str:
    prompt = machine.current_view(flow, session, today=TODAY)
    assert isinstance(prompt, Prompt)
    return f"Step {prompt.progress.number} of {prompt.progress.total}"


# -- what the seller sees ---------------------------------------------------------------------


def test_a_register_draft_counts_only_the_solutions_its_referral_has() -> None:
    flow = FLOWS["register"]
    contract = len(register.CONTRACT_STEPS)
    per_slot = len(register.slot_steps(register.Slot(1)))
    session = started(flow, subject(SOLUTIONS[:2]))

    # The type, value and currency come from the referral, and so the term: never asked,
    # they are not counted. Two solutions to pick from make two slots of questions at most,
    # not all five.
    told = 4
    assert step_of(flow, session) == f"Step 1 of {contract - told + 2 * per_slot}"
    session = walk(flow, session, ["2026-02-12", "2026-02-12", "2026-02-28"])
    assert step_of(flow, session) == f"Step 4 of {contract - told + 2 * per_slot}"
    session = walk(flow, session, ["Contoso Insights"])
    assert step_of(flow, session) == f"Step 5 of {contract - told + per_slot}"
    session = walk(flow, session, ["no", "partner", "other", "EUR 40,000"])  # and the currency
    # The marketplace date is still counted: asked when the answer here is yes. The slot's
    # currency came with its value: not asked, not counted.
    assert step_of(flow, session) == f"Step 9 of {contract - told + per_slot - 1}"
    assert walk(flow, session, ["no"]).current is None  # the review: no progress there


def test_an_edit_keeps_the_total_until_an_answer_changes_and_then_says_so() -> None:
    flow = FLOWS["new"]
    session = send(flow, started(flow), "private").session
    assert session is not None
    assert step_of(flow, session) == "Step 2 of 12"

    editing = send(flow, session, Command(name=CommandName.EDIT, arg="kind of deal"))
    assert asked(editing).progress.model_dump() == {"number": 1, "total": 12}
    back = send(flow, session, Command(name=CommandName.BACK))
    assert asked(back).progress.model_dump() == {"number": 1, "total": 12}

    assert editing.session is not None
    changed = send(flow, editing.session, "services")
    # The seller said services: its three questions are asked, and counted, from here on.
    assert asked(changed).progress.total == 16


# -- the property -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seen:
    """A question shown on the walk: the draft it was asked of, and its total."""

    answers: dict[str, Any]
    skipped: frozenset[str]
    total: int

    def only_added_to(self, session: Session) -> bool:
        """Whether ``session`` keeps every answer and skip this draft had (and maybe more)."""
        kept = all(
            key in session.answers and session.answers[key] == value
            for key, value in self.answers.items()
        )
        return kept and self.skipped <= set(session.skipped)


def answer(flow: Flow, session: Session, data: st.DataObject) -> machine.Outcome:
    """The current question answered with a value it takes (or skipped, when it is optional
    and takes none of those tried)."""
    prompt = machine.current_view(flow, session, today=TODAY)
    assert isinstance(prompt, Prompt)
    step = flow.step(prompt.step)
    catalog = step.choices.catalog(session.answers) if step.choices else None
    tries: list[str]
    if catalog is not None and len(catalog):
        values = list(catalog)[:12]
        if step.kind is InputKind.MULTI:
            picked = st.lists(st.sampled_from(values), min_size=1, max_size=4, unique=True)
            tries = ["\n".join(data.draw(picked))]
        else:
            tries = [data.draw(st.sampled_from(values))]
    elif step.kind is InputKind.DATE:
        start = prompt.earliest or TODAY
        tries = [(start + timedelta(days=days)).isoformat() for days in DAYS]
    else:
        tries = list(data.draw(st.permutations(TYPED[step.kind])))
    for typed in tries:
        outcome = send(flow, session, typed)
        if outcome.refused is None:
            return outcome
    assert not prompt.required, f"no answer tried is taken by {step.id}"
    return send(flow, session, Command(name=CommandName.SKIP))


ACTIONS = ("answer",) * 6 + ("skip", "back", "edit", "review")
"""What the seller does at a question: mostly answer it."""
AT_REVIEW = ("edit", "submit", "stop")
COMMANDS = {
    "skip": CommandName.SKIP,
    "back": CommandName.BACK,
    "review": CommandName.REVIEW,
    "submit": CommandName.SUBMIT,
}


# Explaining a failure replays these long walks over and over, past the suite's timeout; the
# shrunk walk, drawn step by step, says enough.
@settings(max_examples=150, phases=[phase for phase in Phase if phase is not Phase.explain])
@given(flow=st.sampled_from(sorted(FLOWS)), data=st.data())
def test_the_total_never_goes_up_unless_an_answer_changed(flow: str, data: st.DataObject) -> None:
    """On any walk of any flow (answers, skips, back, edits from the review): the step's
    number is within the total, the total counts at least the steps that apply, it never
    grows while the seller only adds answers, and the review shows no progress."""
    walked = FLOWS[flow]
    session = started(walked, subject())
    seen: list[Seen] = []

    def shown(views: Sequence[object]) -> None:
        for view in views:
            if isinstance(view, Review):
                assert "progress" not in Review.model_fields
            if not isinstance(view, Prompt):
                continue
            number, total = view.progress.number, view.progress.total
            assert 1 <= number <= total
            applicable = {step.id for step in walked.applicable(session.answers)}
            # Every question the seller was asked; not the answers they were told, even edited.
            told = {*session.told, *session.inferred, *settled_by_groups(walked, session)}
            assert total >= len(applicable & (set(session.history) - told))
            for before in seen:
                if before.only_added_to(session):
                    assert total <= before.total, (before, session.answers)
            seen.append(Seen(dict(session.answers), frozenset(session.skipped), total))

    shown([machine.current_view(walked, session, today=TODAY)])
    for _ in range(90):
        if session.current is None:
            action = data.draw(st.sampled_from(AT_REVIEW))
        else:
            action = data.draw(st.sampled_from(ACTIONS))
        if action == "stop":
            return
        if action == "answer":
            outcome = answer(walked, session, data)
        elif action == "edit":
            step = data.draw(st.sampled_from(walked.applicable(session.answers)))
            outcome = send(walked, session, Command(name=CommandName.EDIT, arg=step.id))
        else:
            outcome = send(walked, session, Command(name=COMMANDS[action]))
        if outcome.submit:
            return
        assert outcome.session is not None
        if partly_answered_group(walked, session, outcome.session):
            seen.clear()  # what it left open is asked, and counted, one by one from here
        session = outcome.session
        shown(outcome.views)


def settled_by_groups(flow: Flow, session: Session) -> set[str]:
    """The steps the answers to group questions gave (an address's city): part of that
    question, not questions of their own, even when edited afterwards."""
    settled: set[str] = set()
    for step in flow.steps:
        given = session.answers.get(step.id) if step.is_group else None
        if isinstance(given, list):
            settled.update(given)
    return settled


def partly_answered_group(flow: Flow, before: Session, after: Session) -> bool:
    """Whether ``after`` answered the group question ``before`` asked and left some of the
    steps it covers open, or answered one of those steps before its group was asked (an
    edit): either way its steps are asked one by one."""
    if before.current is None or after.history[-1:] != [before.current]:
        return False
    group = flow.step(before.current)
    outer = flow.group_of(group.id)
    if outer is not None:
        return flow.is_open(outer, before.answers, before.skipped)
    if not group.is_group:
        return False
    covered = flow.covered(group, after.answers)
    return any(flow.is_open(step, after.answers, after.skipped) for step in covered)
