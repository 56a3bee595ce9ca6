"""The flows as data: step ids, the API paths steps fill, and what is derived from them."""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from bot.conversation.views import InputKind
from bot.conversation.vocabulary import parsers
from bot.conversation.vocabulary.flows import FLOWS, new_referral, update
from bot.conversation.vocabulary.paths import ApiPath, NoPath, pointer_segments
from bot.conversation.vocabulary.steps import (
    Flow,
    PickedAtLeast,
    Step,
    Submit,
    all_of,
    answer_in,
    answered_yes,
    context_key,
    flow_index,
    is_context_key,
)
from bot.referrals.models import Referral
from bot.referrals.patch import APPEND, WRITABLE_PATHS

ALL_STEPS = [(flow, step) for flow in FLOWS.values() for step in flow.steps]
FILLED = [(flow, step) for flow, step in ALL_STEPS if isinstance(step.fills, ApiPath)]
SET_ONLY_ON_CREATE = {"/inviteContext/assistanceRequestCode"}
"""Paths a create sets that no PATCH may change (the help asked of Microsoft)."""


def _step_id(value: Any) -> str:
    return value.id if isinstance(value, Step) else value.name if isinstance(value, Flow) else ""


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [arg for arg in get_args(annotation) if arg is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def declared_by_the_model(pointer: str) -> bool:
    """Whether every segment of ``pointer`` names a field the Referral model declares (a
    misspelt name would be kept as an unknown extra field and sent, silently)."""
    node: Any = Referral
    for segment in pointer_segments(pointer):
        node = _without_none(node)
        if segment.isdigit() or segment == APPEND:
            if get_origin(node) is not list:
                return False
            (node,) = get_args(node)
        elif isinstance(node, type) and issubclass(node, BaseModel):
            by_wire = {info.alias or name: info for name, info in node.model_fields.items()}
            if segment not in by_wire:
                return False
            node = by_wire[segment].annotation
        else:
            return False
    return True


def writable(pointer: str) -> bool:
    """Whether a PATCH may write the path itself or an object or list that holds it."""
    segments = pointer_segments(pointer)
    return any(
        "/" + "/".join(segments[:end]) in WRITABLE_PATHS for end in range(1, len(segments) + 1)
    )


@pytest.mark.parametrize(("flow", "step"), FILLED, ids=_step_id)
def test_every_path_names_fields_the_model_declares(flow: Flow, step: Step) -> None:
    assert isinstance(step.fills, ApiPath)
    assert declared_by_the_model(step.fills.pointer), step.fills.pointer


@pytest.mark.parametrize(("flow", "step"), FILLED, ids=_step_id)
def test_every_path_is_writable_per_the_patch_table(flow: Flow, step: Step) -> None:
    assert isinstance(step.fills, ApiPath)
    pointer = step.fills.pointer
    assert writable(pointer) or pointer in SET_ONLY_ON_CREATE, pointer


def test_the_checks_catch_a_misspelt_path() -> None:
    assert not declared_by_the_model("/details/dealvalue")
    assert not declared_by_the_model("/customerProfile/team/email")
    assert declared_by_the_model("/customerProfile/team/0/email")
    assert not writable("/details/requirements/additional")
    assert writable("/details/requirements/additionalRequirements/partnerRole")


def test_steps_without_a_path_say_why() -> None:
    unfilled = {step.id: step.fills for _, step in ALL_STEPS if isinstance(step.fills, NoPath)}
    assert set(unfilled) == {
        "deal_kind",
        "fields",
        "registration_solutions",
        # Questions for several steps at once: the steps they fill say where.
        "same_customer",
        "address",
        "contact",
        "extras",
        "consents",
    }
    assert all(reason.reason for reason in unfilled.values())


def test_a_updatable_path_is_replaceable_as_it_stands() -> None:
    for _, step in FILLED:
        assert isinstance(step.fills, ApiPath)
        if step.fills.updatable:
            assert step.fills.pointer in WRITABLE_PATHS


def test_the_update_flow_offers_exactly_the_updatable_new_referral_steps() -> None:
    updatable = [step for step in new_referral.FLOW.steps if step.updatable]
    picker, *asked = update.FLOW.steps
    assert picker.id == update.FLOW.chosen_by == "fields"
    assert all(mine is theirs for mine, theirs in zip(asked, updatable, strict=True))
    assert list(update.UPDATABLE) == [step.id for step in updatable]
    assert [update.UPDATABLE.label(step.id) for step in updatable] == [s.label for s in updatable]
    assert update.UPDATABLE.lookup("close date") == "closing_date"


def test_the_update_flow_asks_only_what_was_picked() -> None:
    answers = {"fields": ["deal_value", "notes"]}
    assert [step.id for step in update.FLOW.applicable(answers)] == [
        "fields",
        "deal_value",
        "notes",
    ]
    condition = update.FLOW.condition(update.FLOW.step("notes"))
    assert condition is not None
    assert condition.describe() == "fields includes notes"


def test_every_flow_names_its_submit() -> None:
    assert {flow.name: flow.submit for flow in FLOWS.values()} == {
        "new": Submit.CREATE_REFERRAL,
        "update": Submit.UPDATE_REFERRAL,
        "close": Submit.CLOSE_REFERRAL,
        "team": Submit.ADD_TEAM_MEMBER,
        "register": Submit.REQUEST_REGISTRATION,
    }


def test_step_ids_are_unique_across_flows_unless_the_step_is_shared() -> None:
    owners: dict[str, Step] = {}
    for _, step in ALL_STEPS:
        assert owners.setdefault(step.id, step) is step, f"{step.id} names two different steps"


def _notes(question: str) -> Step:
    return Step(
        "notes",
        "Notes",
        question,
        InputKind.LONG_TEXT,
        parsers.long_text("The notes", 100),
        fills=ApiPath("/details/notes"),
    )


def test_two_flows_with_different_steps_of_one_id_are_refused_at_import() -> None:
    one = Flow(name="one", title="One", steps=(_notes("A?"),), submit=Submit.CREATE_REFERRAL)
    two = Flow(name="two", title="Two", steps=(_notes("B?"),), submit=Submit.CREATE_REFERRAL)
    with pytest.raises(ValueError, match="both have a step 'notes'"):
        flow_index(one, two)
    shared = _notes("A?")
    three = Flow(name="three", title="3", steps=(shared,), submit=Submit.CREATE_REFERRAL)
    four = Flow(name="four", title="4", steps=(shared,), submit=Submit.UPDATE_REFERRAL)
    assert list(flow_index(three, four)) == ["three", "four"]
    with pytest.raises(ValueError, match="two flows are called"):
        flow_index(three, three)


def test_a_picked_step_cannot_carry_its_own_condition() -> None:
    picker = update.FLOW.step("fields")
    conditional = Step(
        "later",
        "Later",
        "?",
        InputKind.TEXT,
        parsers.text("It", 10),
        when=answer_in("fields", "x"),
        fills=ApiPath("/details/notes"),
    )
    with pytest.raises(ValueError, match="cannot have conditions"):
        Flow(
            name="u",
            title="U",
            steps=(picker, conditional),
            submit=Submit.UPDATE_REFERRAL,
            chosen_by="fields",
        )


def _number(step_id: str, **kwargs: Any) -> Step:
    return Step(
        step_id,
        step_id.title(),
        "?",
        InputKind.TEXT,
        parsers.text("It", 10),
        fills=NoPath("a test step"),
        **kwargs,
    )


def test_a_step_checked_against_another_needs_it_earlier_in_the_flow() -> None:
    later = (_number("high", depends_on=("low",)), _number("low"))
    with pytest.raises(ValueError, match="high depends on low, which comes later"):
        Flow(name="f", title="F", steps=later, submit=Submit.CREATE_REFERRAL)
    with pytest.raises(ValueError, match="high depends on unknown step nowhere"):
        Flow(
            name="f",
            title="F",
            steps=(_number("high", depends_on=("nowhere",)),),
            submit=Submit.CREATE_REFERRAL,
        )
    earlier = (_number("low"), _number("high", depends_on=("low",)))
    assert Flow(name="f", title="F", steps=earlier, submit=Submit.CREATE_REFERRAL).steps == earlier


def test_context_keys_are_never_step_ids() -> None:
    assert is_context_key(context_key("solutions"))
    assert not any(is_context_key(step.id) for _, step in ALL_STEPS)
    with pytest.raises(ValueError, match="step ids cannot start with '@'"):
        Flow(name="f", title="F", steps=(_number("@x"),), submit=Submit.CREATE_REFERRAL)


def test_only_a_flow_on_a_referral_prefills_from_it() -> None:
    with pytest.raises(ValueError, match="prefills from a referral it does not have"):
        Flow(
            name="f",
            title="F",
            steps=(_number("low"),),
            submit=Submit.CREATE_REFERRAL,
            prefill=lambda referral: {},
        )


def test_conditions_describe_themselves_for_the_diagrams() -> None:
    picked = PickedAtLeast("solutions", 2)
    both = all_of(picked, answered_yes("sold"))

    assert both.describe() == "solutions has at least 2 and sold is yes"
    assert both({"solutions": ["a", "b"], "sold": True})
    assert not both({"solutions": ["a", "b"], "sold": "True"})
    assert not both({"solutions": ["a"], "sold": True})
