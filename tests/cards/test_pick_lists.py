"""A pick list (several referrals named by words) on every surface: each row's button runs the
command that asked on its referral; the terminal numbers the rows and says how to type a pick.
"""

from __future__ import annotations

import json
from typing import Any

from bot.conversation.views import ReferralList
from cards import text, words
from cards.ids import Action
from cards.slack import message
from cards.teams import TypedText, card, read_action
from tests.cards.test_slack import assert_valid as assert_valid_slack
from tests.cards.test_slack import referrals
from tests.cards.test_teams import assert_valid as assert_valid_teams
from tests.cards.test_teams import executes, texts
from tests.cards.test_text_views import lines, render

NOTE = "And 3 more: add a word to narrow it down."


def pick_list(pick: str | None = "update", count: int = 5) -> ReferralList:
    return ReferralList(
        title="8 referrals match 'contoso'. Which one?",
        referrals=referrals(count),
        total=8,
        pick=pick,
        note=NOTE,
    )


def slack_buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [block["accessory"] for block in blocks if "accessory" in block]


def test_slack_rows_carry_the_command_with_the_referrals_id() -> None:
    view = pick_list()
    made = message(view)

    assert_valid_slack(made)
    buttons = slack_buttons(made.blocks)
    assert [button["action_id"] for button in buttons] == [Action.PICK] * 5
    assert [button["value"] for button in buttons] == [
        f"/referral update {referral.id}" for referral in view.referrals
    ]
    assert {button["text"]["text"] for button in buttons} == {"Update"}
    assert NOTE in json.dumps(made.blocks)


def test_a_plain_list_keeps_its_show_buttons() -> None:
    made = message(pick_list(pick=None))

    assert {button["action_id"] for button in slack_buttons(made.blocks)} == {Action.SHOW}
    shown = card(pick_list(pick=None)).content
    assert {action["verb"] for action in executes(shown)} == {Action.SHOW}


def test_teams_rows_carry_the_command_and_read_back_as_it() -> None:
    view = pick_list(pick="close")
    made = card(view)

    assert_valid_teams(made)
    picks = [action for action in executes(made.content) if action["verb"] == Action.PICK]
    assert [action["title"] for action in picks] == ["Close"] * 5
    for action, referral in zip(picks, view.referrals, strict=True):
        assert read_action(action["data"]) == TypedText(
            text=f"/referral close {referral.id}", step=None
        )
    assert NOTE in " ".join(texts(made.content))


def test_an_id_that_would_not_travel_whole_gets_no_button() -> None:
    (long_id,) = referrals(1)
    long_id = long_id.model_copy(update={"id": "x" * 3000})
    view = ReferralList(title="t", referrals=(long_id,), pick="show")

    assert slack_buttons(message(view).blocks) == []
    assert [a for a in executes(card(view).content) if a["verb"] == Action.PICK] == []


def test_every_subcommand_has_a_button_title() -> None:
    for subcommand in ("show", "update", "close", "team", "register"):
        assert words.pick_button(subcommand) in (
            words.SHOW,
            "Update",
            "Close",
            "Add to team",
            words.REGISTER,
        )


def test_the_terminal_numbers_the_rows_and_says_how_to_pick() -> None:
    output = lines(render(text.render_view(pick_list(pick="team", count=2))))

    assert output[0] == "8 referrals match 'contoso'. Which one?"
    numbered = [line.split()[0] for line in output if " 00000000-0000-" in line]
    assert numbered == ["1", "2"]
    assert "Type /referral team N for row N." in output
    assert NOTE in output


def test_a_terminal_list_is_numbered_for_show() -> None:
    output = lines(render(text.render_view(pick_list(pick=None, count=2))))

    assert "Type /referral show N for row N." in output
