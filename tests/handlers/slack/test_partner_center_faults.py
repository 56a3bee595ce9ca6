"""Partner Center failing under a seller in Slack: a storm of 429s or 503s on the create, and a
create that times out. The seller is told plainly, soon, and keeps the draft; submitting again
once Partner Center is back makes one referral, never two."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.handlers.slack.conftest import BotOf, SlackBot
from tests.support.sandbox import Sandbox
from tests.support.slack_payloads import dm_channel_id

DM = dm_channel_id("U0001")
ANSWERS = ["private", "Storm pilot", "Fabrikam Inc", "1 Main St", "skip", "Seattle"]
ANSWERS += ["WA", "98101", "US", "10 to 50 employees", "skip", "skip", "skip", "skip"]
ANSWERS += ["50k", "usd", "2027-03-31", "skip", "skip", "skip", "skip", "skip", "yes", "yes"]
ANSWERS += ["skip"]
TIMEOUT = 2.0
"""Partner Center's request timeout in these tests (30 s by default)."""
SOON = 15.0
"""What "soon" means here: the request was acknowledged at once; this is the card that
follows, within what a person waits for a chat bot (the client's retries of a 429, waiting
out its Retry-After, or its timeout and a look-up, included)."""


def said(message: dict[str, Any]) -> str:
    return str(message.get("text", "")) + json.dumps(message.get("blocks", []))


async def type_(bot: SlackBot, text: str) -> str:
    """Type ``text`` in the DM; everything the bot said in answer."""
    before = len(bot.slack.messages_to(DM))
    await bot.send(bot.requests.dm_message(text))
    await bot.settled(within=30)
    return "\n".join(said(message) for message in bot.slack.messages_to(DM)[before:])


@pytest.fixture
async def bot(bot_of: BotOf) -> AsyncIterator[SlackBot]:
    async with bot_of(partner_center_timeout_seconds=TIMEOUT) as started:
        yield started


async def review(bot: SlackBot) -> None:
    await type_(bot, "/referral new")
    for text in ANSWERS:
        await type_(bot, text)


@pytest.mark.parametrize(
    ("fault", "told"),
    [
        ({"status": 429, "retryAfter": 1, "times": 50}, "Partner Center said"),
        ({"status": 503, "times": 50}, "Partner Center said"),
    ],
    ids=["429-storm", "503-storm"],
)
async def test_a_storm_on_the_create_is_told_soon_and_submitting_again_makes_one_referral(
    bot: SlackBot, fresh_sandbox: Sandbox, fault: dict[str, Any], told: str
) -> None:
    await review(bot)
    fresh_sandbox.fault(method="POST", path="/engagements/referrals", **fault)

    started = time.monotonic()
    answer = await type_(bot, "submit")

    assert time.monotonic() - started < SOON
    assert told in answer, answer
    assert "Created your referral" not in answer
    assert "check your answers" in answer  # the draft is kept, at its review
    assert fresh_sandbox.named("Storm pilot") == []
    fresh_sandbox.clear_faults()
    assert "Created your referral" in await type_(bot, "submit")
    assert len(fresh_sandbox.named("Storm pilot")) == 1


async def test_a_create_whose_answer_never_came_is_found_not_made_twice(
    bot: SlackBot, fresh_sandbox: Sandbox
) -> None:
    await review(bot)
    # Partner Center takes the create but answers after the client stopped waiting.
    fresh_sandbox.fault(method="POST", answerAfterSeconds=TIMEOUT * 2, times=1)

    started = time.monotonic()
    answer = await type_(bot, "submit")

    assert time.monotonic() - started < SOON
    assert "Created your referral" in answer, answer
    assert len(fresh_sandbox.named("Storm pilot")) == 1
    await asyncio.sleep(TIMEOUT * 2)  # the held answer goes, before the next test's reset
