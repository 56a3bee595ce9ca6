"""Teams turns through the shared pipeline: what review found, each as a test.

Activities in Teams' documented shapes, with tokens signed by the stand-in's key, go into the
real app; replies land in the stand-in's Bot Connector; drafts live in the suite's Redis.
"""

from __future__ import annotations

import json
from typing import Any

from bot.conversation.runtime.session_store import RedisSessionStore
from cards.ids import Action
from tests.cards.test_teams import executes, texts
from tests.handlers.teams.conftest import TeamsBot, card_of
from tests.support.job_streams import refuse_new_jobs
from tests.support.teams_stand_in import (
    DEFAULT_TEAM,
    MANAGER,
    SELLER,
    SEND,
    TENANT_ID,
    UPDATE,
)

UNREACHABLE = "I can't reach my memory right now"


def words(card: dict[str, Any]) -> str:
    return " ".join(texts(card))


async def test_another_persons_click_in_a_channel_changes_nothing_for_anyone(
    bot: TeamsBot,
) -> None:
    channel = DEFAULT_TEAM.channels[0]
    started = bot.activities.message("referral new", channel=channel, user=SELLER)
    assert (await bot.post(started)).status_code == 200
    await bot.settled()
    assert len(bot.teams.calls(SEND)) == 1
    thread = started["conversation"]["id"]
    (card_message,) = bot.teams.messages_in(thread)
    card = card_of(card_message)
    (private,) = [a for a in executes(card) if a["data"].get("value") == "private"]
    # A colleague in the channel clicks the seller's card.
    foreign = bot.activities.card_action(
        Action.CHOOSE,
        private["data"],
        reply_to_id=card_message["id"],
        user=MANAGER,
        channel=channel,
    )
    answer = await bot.post(foreign)
    assert answer.status_code == 200
    body = answer.json()
    # Answered with a message to the clicker alone: an answer card would replace the card
    # for everyone in the channel.
    assert body["type"] == "application/vnd.microsoft.activity.message"
    assert "someone else" in body["value"]
    await bot.settled()
    assert bot.teams.calls(UPDATE) == []
    assert len(bot.teams.calls(SEND)) == 1
    assert card_of(bot.teams.message(card_message["id"])) == card
    # The seller's draft did not move; their own click still works.
    own = bot.activities.card_action(
        Action.CHOOSE, private["data"], reply_to_id=card_message["id"], user=SELLER, channel=channel
    )
    mine = (await bot.post(own)).json()
    assert mine["type"] == "application/vnd.microsoft.card.adaptive"
    assert "Private lead" in words(mine["value"])
    await bot.settled()
    assert len(bot.teams.calls(SEND)) == 2


async def test_with_redis_refusing_a_message_the_seller_is_told_at_once(bot: TeamsBot) -> None:
    await refuse_new_jobs(bot.redis, bot.job_stream)
    message = bot.activities.message("referral new")
    response = await bot.post(message)
    assert response.status_code == 200
    (told,) = bot.teams.calls(SEND)
    assert UNREACHABLE in words(card_of(told.activity))


async def test_with_redis_refusing_a_click_the_invoke_says_so_and_nothing_changes(
    bot: TeamsBot,
) -> None:
    await bot.say("referral new", cards=1)
    assert bot.current is not None
    await refuse_new_jobs(bot.redis, bot.job_stream)
    (private,) = [a for a in executes(bot.current["card"]) if a["data"].get("value") == "private"]
    click = bot.activities.card_action(
        Action.CHOOSE, private["data"], reply_to_id=bot.current["id"]
    )
    body = (await bot.post(click)).json()
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert UNREACHABLE in words(body["value"])
    stored = await RedisSessionStore(bot.redis).load(f"teams:{TENANT_ID}:{SELLER.aad_object_id}")
    assert stored is not None
    assert json.loads(stored.data)["answers"] == {}


async def test_a_refused_answer_on_a_card_is_asked_again_on_that_card(bot: TeamsBot) -> None:
    await bot.say("referral new", cards=1)
    await bot.click(Action.CHOOSE, value="private")
    assert bot.current is not None
    asked = bot.current["id"]
    # The name box sent with a NUL in it: Teams shows the answer at once (the invoke), the
    # worker refuses it and puts the question back on the same card, with the reason.
    await bot.click(Action.CHOOSE, answer="Fabrikam\x00Inc")
    latest = card_of(bot.teams.message(asked))
    assert "✓" not in words(latest)
    assert "What should we call this referral?" in words(latest)
    assert executes(latest)  # it can be answered again
    assert len(bot.teams.calls(SEND)) == 2
