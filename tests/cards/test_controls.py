"""One card policy: the same prompt gets the same control on Slack and Teams (and the same
guidance in the terminal), the date picker starts where the prompt says, and the words shared
by every surface (progress, list captions) read the same on all three."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from bot.conversation.views import (
    Home,
    InputKind,
    Option,
    Progress,
    Prompt,
    ReferralList,
)
from bot.referrals.models import Referral
from cards import slack, teams, text, words
from cards.controls import MAX_BUTTONS, MAX_LISTED, Control, control_for, initial_date
from tests.support.prompts import flow_prompts

TODAY = date(2026, 5, 1)
FIXTURES = Path(__file__).parents[1] / "fixtures" / "partner_center"
TYPED = {Control.TEXT, Control.LONG_TEXT}
"""Slack asks for typed answers as a reply, long or not."""


def prompt(**changes: Any) -> Prompt:
    fields: dict[str, Any] = {
        "flow": "new",
        "step": "deal_kind",
        "question": "What kind of deal is this?",
        "input": InputKind.SINGLE,
        "required": True,
        "choices": (),
        "progress": Progress(number=5, total=17),
        "can_go_back": True,
    }
    return Prompt(**(fields | changes))


def options(count: int) -> tuple[Option, ...]:
    return tuple(Option(value=f"v{i}", label=f"Option {i}") for i in range(count))


def variety() -> Iterator[Prompt]:
    """Every step of every flow as the engine asks it, and the edges of every rule."""
    yield from flow_prompts(TODAY)
    for kind in (InputKind.SINGLE, InputKind.MULTI):
        for count in (0, 1, MAX_BUTTONS, MAX_BUTTONS + 1, MAX_LISTED, MAX_LISTED + 1):
            yield prompt(input=kind, choices=options(count))
        yield prompt(input=kind, searchable=True, catalog="industry")
        yield prompt(input=kind, searchable=True)  # nothing to search: typed
    for kind in (InputKind.COUNTRY, InputKind.CURRENCY):
        yield prompt(input=kind, catalog=kind.value)
        yield prompt(input=kind)
        yield prompt(input=kind, choices=options(3))
    yield prompt(input=InputKind.YES_NO)
    yield prompt(input=InputKind.DATE, earliest=TODAY)
    for kind in (InputKind.TEXT, InputKind.LONG_TEXT, InputKind.MONEY, InputKind.EMAIL):
        yield prompt(input=kind)


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def slack_control(blocks: Sequence[dict[str, Any]]) -> tuple[Control, bool]:
    """The control a Block Kit question offers, and whether it takes several answers."""
    kinds = {node.get("type") for node in walk(list(blocks))}
    if kinds & {"external_select", "multi_external_select"}:
        return Control.SEARCH, "multi_external_select" in kinds
    if kinds & {"static_select", "multi_static_select"}:
        return Control.SELECT, "multi_static_select" in kinds
    if "datepicker" in kinds:
        return Control.DATE, False
    choose = [n for n in walk(list(blocks)) if n.get("action_id") == "rb_choose"]
    return (Control.BUTTONS if choose else Control.TEXT), False


def teams_control(content: dict[str, Any]) -> tuple[Control, bool]:
    """The control an Adaptive Card question offers, and whether it takes several answers."""
    fields = [node for node in walk(content) if str(node.get("type", "")).startswith("Input.")]
    if not fields:
        choose = [n for n in walk(content) if n.get("verb") == "rb_choose"]
        return (Control.BUTTONS if choose else Control.TEXT), False
    [field] = fields
    if field["type"] == "Input.ChoiceSet":
        kind = Control.SEARCH if field["style"] == "filtered" else Control.SELECT
        return kind, field.get("isMultiSelect", False)
    if field["type"] == "Input.Date":
        return Control.DATE, False
    return (Control.LONG_TEXT if field.get("isMultiline") else Control.TEXT), False


def typed_alike(control: Control) -> Control:
    return Control.TEXT if control in TYPED else control


def test_the_same_prompt_gets_the_same_control_on_slack_and_teams() -> None:
    seen = set()
    for asked in variety():
        plan = control_for(asked)
        seen.add(plan.control)
        on_slack = slack_control(slack.message(asked).blocks)
        on_teams = teams_control(teams.card(asked).content)
        assert on_teams == (plan.control, plan.many), asked
        assert on_slack == (typed_alike(plan.control), plan.many), asked
    assert seen == set(Control)


def test_the_terminal_says_how_to_answer_the_control_it_would_get() -> None:
    for asked in variety():
        shown = render(text.render_view(asked))
        searched = control_for(asked).control is Control.SEARCH
        assert (words.TYPE_NAME_OR_CODE in shown) is searched, asked


@pytest.mark.parametrize(
    ("earliest", "current", "minimum", "initial"),
    [
        (TODAY, "2026-12-31", "2026-05-01", "2026-12-31"),
        (TODAY, "2026-04-30", "2026-05-01", None),
        (date(2026, 6, 1), "2026-05-15", "2026-06-01", None),
        (None, "2020-01-01", None, "2020-01-01"),
        (None, "in 30 days", None, None),
    ],
)
def test_the_date_picker_starts_where_the_prompt_says(
    earliest: date | None, current: str, minimum: str | None, initial: str | None
) -> None:
    asked = prompt(input=InputKind.DATE, earliest=earliest, current=current)

    picked = initial_date(asked)
    assert (picked.isoformat() if picked else None) == initial
    [picker] = [n for n in walk(teams.card(asked).content) if n.get("type") == "Input.Date"]
    assert (picker.get("min"), picker.get("value")) == (minimum, initial)
    [slack_picker] = [n for n in walk(slack.message(asked).blocks) if n.get("type") == "datepicker"]
    assert slack_picker.get("initial_date") == initial


def test_the_engine_earliest_day_reaches_the_picker() -> None:
    dated = [asked for asked in flow_prompts(TODAY) if asked.input is InputKind.DATE]

    refusing_the_past = {(a.flow, a.step) for a in dated if a.earliest is not None}
    assert {("new", "closing_date"), ("update", "closing_date")} <= refusing_the_past
    assert ("register", "registration_start_date") not in refusing_the_past
    for asked in dated:
        [picker] = [n for n in walk(teams.card(asked).content) if n.get("type") == "Input.Date"]
        if asked.earliest is None:
            assert "min" not in picker, asked.step
        else:
            assert asked.earliest == TODAY, asked.step
            assert picker["min"] == asked.earliest.isoformat(), asked.step


# -- the same words everywhere ------------------------------------------------------------------


def render(renderable: Any, width: int = 200) -> str:
    console = Console(record=True, width=width)
    console.print(renderable)
    return console.export_text()


def texts_of(node: Any) -> list[str]:
    """Every text in Block Kit or Adaptive Card JSON."""
    return [found["text"] for found in walk(node) if isinstance(found.get("text"), str)]


@pytest.mark.parametrize("required", [True, False])
def test_the_progress_line_reads_the_same_on_every_surface(required: bool) -> None:
    asked = prompt(required=required, choices=options(3))
    line = words.progress_line(asked)

    assert line == ("Step 5 of 17" if required else "Step 5 of 17 · optional")
    assert slack.message(asked).blocks[0]["elements"][0]["text"] == line
    assert teams.card(asked).content["body"][0]["text"] == line
    assert render(text.render_view(asked)).splitlines()[0].strip() == line
    assert slack.message(asked).text == teams.card(asked).text == f"{line}: {asked.question}"


def referrals(count: int) -> tuple[Referral, ...]:
    page = json.loads((FIXTURES / "list_referrals_page1_response.json").read_text())["value"]
    made = []
    for number in range(count):
        data = copy.deepcopy(page[number % len(page)])
        data["id"] = f"00000000-0000-0000-0000-{number:012d}"
        made.append(Referral.from_wire(data))
    return tuple(made)


@pytest.mark.parametrize(
    ("count", "total", "truncated", "caption"),
    [
        (1, None, False, "1 referral"),
        (3, None, False, "3 referrals"),
        (3, 40, False, "3 of 40 referrals"),
        (25, None, False, "20 of 25 referrals"),
        (
            20,
            100,
            True,
            "20 of 100 referrals; stopped at the page limit, narrow the filter to see the rest",
        ),
    ],
)
def test_a_list_caption_reads_the_same_on_every_surface(
    count: int, total: int | None, truncated: bool, caption: str
) -> None:
    listed = referrals(count)
    view = ReferralList(title="Open referrals", referrals=listed, total=total, truncated=truncated)
    shown = min(count, words.MAX_LISTED)

    assert words.list_caption(shown, count, total, truncated) == caption
    assert caption in texts_of(slack.message(view).blocks)
    assert caption in texts_of(teams.card(view).content)
    assert caption in " ".join(render(text.render_view(view), width=400).split())
    assert slack.message(view).text == teams.card(view).text == f"Open referrals: {caption}"
    home = Home(draft=None, referrals=listed, total=total)
    unlimited = words.list_caption(shown, count, total, truncated=False)
    assert unlimited in texts_of(slack.home(home)["blocks"])
    assert unlimited in texts_of(teams.home(home).content)
