"""Deal registrations waiting for a decision, where each person looks for them in Slack: the
App Home tab (an approver's with Approve and Reject, the requester's with Withdraw, nobody
else's) and ``/referral approvals`` in the DM; a decision on the home page is the same
decision as on the channel's card."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.approvals.store import Approvals, ApprovalStatus
from cards.ids import Action
from cards.words import WAITING_FOR_DECISION
from tests.handlers.slack.conftest import SlackBot
from tests.handlers.slack.test_approvals import (
    BOSS,
    SELLER,
    SELLER_DM,
    STRANGER,
    approval_card,
    approval_id,
    ask_for_registration,
    bot,
    buttons,
    patches,
    registrations,
    said,
)
from tests.support.sandbox import Sandbox
from tests.support.slack_payloads import dm_channel_id

__all__ = ["bot"]  # the deployment of tests/handlers/slack/test_approvals.py

NAME = "Northwind Traders - Contoso Experience Platform"


async def home_of(bot: SlackBot, user: str) -> dict[str, Any]:
    """``user`` opens the app's Home tab; the view the bot published for them."""
    published = len(bot.slack.calls("views.publish"))
    await bot.send(bot.requests.home_opened(user=user))
    await bot.settled()
    calls = bot.slack.calls("views.publish")
    assert len(calls) == published + 1
    (call,) = calls[published:]
    assert call.ok
    assert call.args["user_id"] == user
    view: dict[str, Any] = call.response["view"]
    return view


def clicks(surface: dict[str, Any]) -> list[tuple[str, str]]:
    """The buttons of a message or view: action id and value."""
    return [
        (element["action_id"], element.get("value", ""))
        for block in surface["blocks"]
        for element in block.get("elements") or ()
        if element.get("type") == "button"
    ]


@pytest.mark.parametrize(
    ("user", "offered"),
    [
        (BOSS, [Action.APPROVE, Action.REJECT]),
        (SELLER, [Action.WITHDRAW]),
        (STRANGER, []),
    ],
    ids=["an-approver", "the-requester", "a-stranger"],
)
async def test_the_home_tab_shows_the_waiting_request_to_whom_may_act_on_it(
    bot: SlackBot, user: str, offered: list[Action]
) -> None:
    await ask_for_registration(bot)
    approval = approval_id(approval_card(bot))

    home = await home_of(bot, user)

    assert clicks(home) == [(action, approval) for action in offered]
    shown = said(home)
    if offered:
        assert WAITING_FOR_DECISION in shown
        assert NAME in shown
    else:
        assert WAITING_FOR_DECISION not in shown
        assert approval not in shown


async def test_approve_on_the_home_tab_sends_once_and_updates_the_channel_card(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    await ask_for_registration(bot)
    approval = approval_id(approval_card(bot))
    home = await home_of(bot, BOSS)
    click = bot.requests.view_action(Action.APPROVE, home, value=approval, user=BOSS)
    again = bot.requests.view_action(Action.APPROVE, home, value=approval, user=BOSS)

    answers = await asyncio.gather(bot.send(click), bot.send(again))  # a double click
    await bot.settled()

    assert [answer.status_code for answer in answers] == [200, 200]
    assert len(registrations(fresh_sandbox)) == 1
    assert len(patches(fresh_sandbox)) == 1
    decided = approval_card(bot)
    assert "Grace Hopper" in said(decided)
    assert buttons(decided) == []
    assert "Grace Hopper approved your deal registration" in said(bot.slack.last_message(SELLER_DM))
    # The second click is told who decided, in the approver's DM (a view has no thread).
    assert "Grace Hopper approved this" in said(bot.slack.last_message(dm_channel_id(BOSS)))
    stored = await Approvals(bot.redis, stream=bot.job_stream).get(approval)
    assert stored.status is ApprovalStatus.SUBMITTED


async def test_reject_on_the_home_tab_asks_why_for_that_request(bot: SlackBot) -> None:
    await ask_for_registration(bot)
    approval = approval_id(approval_card(bot))
    home = await home_of(bot, BOSS)

    await bot.send(bot.requests.view_action(Action.REJECT, home, value=approval, user=BOSS))
    await bot.settled()

    (modal,) = bot.slack.modals()
    assert modal["private_metadata"] == approval
    assert buttons(approval_card(bot)) == [Action.APPROVE, Action.REJECT]  # nothing decided


async def test_approvals_typed_by_an_approver_lists_the_request_with_its_buttons(
    bot: SlackBot,
) -> None:
    await ask_for_registration(bot)
    approval = approval_id(approval_card(bot))

    await bot.send(bot.requests.command("approvals", user=BOSS))
    await bot.settled()

    listed = bot.slack.last_message(dm_channel_id(BOSS))
    assert "Waiting for your decision" in said(listed)
    assert NAME in said(listed)
    assert clicks(listed) == [(Action.APPROVE, approval), (Action.REJECT, approval)]
