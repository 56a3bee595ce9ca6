"""Teams end to end: activities in Teams' shapes, with tokens signed by the stand-in's keys,
into the real app; its cards land in the Bot Connector stand-in; referrals in the sandbox."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from bot.app.web import build_web_app
from bot.partner_center.client import PartnerCenterClient
from bot.references import PREFIX
from bot.settings import ConfigurationError, load_settings
from cards.ids import Action
from tests.cards.test_teams import executes, schema_errors, texts
from tests.handlers.teams.conftest import DM, TeamsBot, card_of, forget_teams_keys, teams_settings
from tests.support.identity_stand_in import IdentityStandIn
from tests.support.sandbox import Sandbox
from tests.support.teams_stand_in import DEFAULT_TEAM, SEND, UPDATE, TeamsActivities, TeamsStandIn


def words(content: dict[str, Any]) -> str:
    return " ".join(texts(content))


async def kept_reference(redis: Redis, conversation_id: str) -> dict[str, Any] | None:
    """The conversation reference kept for proactive messages, as stored in Redis."""
    data = await redis.get(f"{PREFIX}:teams:{conversation_id}")
    return json.loads(data) if data else None


async def listed_channels(redis: Redis) -> set[str]:
    """The Teams channels listed for notifications, as stored in Redis."""
    members = await redis.smembers(f"{PREFIX}:teams:channels")
    return {m.decode() if isinstance(m, bytes) else str(m) for m in members}


async def test_referral_new_posts_the_first_question_as_a_card(bot: TeamsBot) -> None:
    await bot.say("referral new", cards=1)
    assert bot.current is not None
    content = bot.current["card"]
    assert schema_errors(content) == []
    assert "What kind of deal is this?" in words(content)
    kinds = [a["data"].get("value") for a in executes(content) if a["verb"] == Action.CHOOSE]
    assert "private" in kinds
    (sent,) = bot.teams.calls(SEND)
    assert sent.token is not None  # the bot's token, from the Entra stand-in


async def test_a_missing_or_forged_token_is_refused_and_nothing_happens(bot: TeamsBot) -> None:
    activity = bot.activities.message("referral new")
    unsigned = await bot.http.post("/api/messages", json=activity)
    forged = await bot.post(activity, wrong_key=True)
    expired = await bot.post(activity, expired=True)
    elsewhere = await bot.post(activity, audience="another-bot")
    assert [r.status_code for r in (unsigned, forged, expired, elsewhere)] == [401] * 4
    await bot.settled()
    assert bot.teams.calls(SEND) == []


async def test_a_private_lead_from_teams_to_the_sandbox(
    bot: TeamsBot, client_for_sandbox: PartnerCenterClient
) -> None:
    await bot.say("referral new")
    # A button: the card turns into the next question in place; no button is left to reuse.
    # A button: Teams puts the question and the answer in place of the card at once, with no
    # button left to reuse; the next question follows as a new card.
    record = await bot.click(Action.CHOOSE, value="private")
    assert "What kind of deal is this?" in words(record)
    assert "✓ Private lead" in words(record)
    assert executes(record) == []
    assert bot.current is not None
    asking = bot.current["id"]
    assert "What should we call this referral?" in words(bot.current["card"])
    # Typed, an answer turns the card that asked into a record too.
    await bot.say("Fabrikam - Teams")
    typed = card_of(bot.teams.message(asking))
    assert "What should we call this referral?" in words(typed)
    assert "✓ Fabrikam - Teams" in words(typed)
    assert executes(typed) == []
    for text in ["Fabrikam Inc", "1 Main St"]:
        await bot.say(text)
    await bot.click(Action.SKIP)
    for text in ["Seattle", "WA", "98101"]:
        await bot.say(text)
    await bot.click(Action.SEARCH, answer="US")  # the country, from the filtered choice set
    # No contact for a private lead (one skip); the currency is the country's.
    for text in ["10 to 50 employees", "skip", "50k"]:
        await bot.say(text)
    await bot.click(Action.PICK_DATE, answer="2027-03-31")
    # Every optional question in turn, and the consents one at a time.
    for text in ["all", "Pilot first", "skip", "skip", "skip", "skip", "skip", "yes", "yes"]:
        await bot.say(text)
    await bot.say("skip")
    assert bot.current is not None
    sending = await bot.click(Action.SUBMIT)
    assert "Sending to Partner Center" in words(sending)
    created = bot.teams.message(bot.current["id"])
    assert "Created your referral" in words(card_of(created))
    found = await client_for_sandbox.list(filter="customerProfile/name eq 'Fabrikam Inc'").collect()
    (referral,) = [r for r in found if r.name == "Fabrikam - Teams"]
    assert referral.details is not None
    assert referral.details.closing_date_time is not None
    assert referral.details.closing_date_time.date().isoformat() == "2027-03-31"
    assert referral.customer_profile is not None
    assert referral.customer_profile.address is not None
    assert referral.customer_profile.address.country == "US"
    # Every card the bot sent or replaced is valid Adaptive Card 1.5.
    for call in [*bot.teams.calls(SEND), *bot.teams.calls(UPDATE)]:
        for attachment in call.activity.get("attachments", []):
            assert schema_errors(attachment["content"]) == []


async def test_installing_keeps_the_conversation_reference(bot: TeamsBot, redis: Redis) -> None:
    installed = bot.activities.installation_update("add")
    assert (await bot.post(installed)).status_code == 200
    await bot.settled()
    saved = await kept_reference(redis, DM)
    assert saved is not None
    assert saved["serviceUrl"] == bot.teams.service_url
    assert saved["conversation"]["id"] == DM
    welcome = card_of(bot.teams.last_message(DM))
    assert "referral new" in words(welcome)


async def test_the_same_card_clicked_twice_moves_the_draft_once(bot: TeamsBot) -> None:
    await bot.say("referral new", cards=1)
    assert bot.current is not None
    clicked = bot.current
    first = await bot.click(Action.CHOOSE, value="private")
    bot.current = clicked  # the second click lands on the card as it was before the first
    second = await bot.click(Action.CHOOSE, value="private")
    assert executes(first) == executes(second) == []
    await bot.settled()
    # The second click changed nothing and posted nothing: the clicked card shows the answer
    # taken, and the next question's card is the only one after it.
    messages = bot.teams.messages_in(DM)
    assert len(messages) == 2
    assert "✓ Private lead" in words(card_of(messages[0]))
    assert "What should we call this referral?" in words(card_of(messages[1]))
    # The draft moved once: the kind of deal is answered once, nothing after it.
    await bot.say("review")
    assert bot.current is not None
    review = words(bot.current["card"])
    assert review.count("Private lead") == 1
    assert "Fabrikam" not in review


async def test_a_message_teams_sends_again_is_answered_once(bot: TeamsBot) -> None:
    message = bot.activities.message("referral help")
    assert (await bot.post(message)).status_code == 200
    assert (await bot.post(message)).status_code == 200  # Teams' retry: the same activity id
    await bot.settled()
    assert len(bot.teams.calls(SEND)) == 1


async def test_a_click_on_a_card_we_no_longer_know_still_gets_a_card(bot: TeamsBot) -> None:
    await bot.say("referral help", cards=1)
    assert bot.current is not None
    foreign = bot.activities.card_action("rb_unknown", {"verb": "rb_unknown"})
    response = await bot.post(foreign)
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert "no longer in use" in words(body["value"])
    assert schema_errors(body["value"]) == []


@pytest.mark.parametrize("names_its_card", [True, False])
async def test_clients_without_universal_actions_answer_through_the_submit_fallback(
    bot: TeamsBot, names_its_card: bool
) -> None:
    await bot.say("referral new", cards=1)
    assert bot.current is not None
    (button,) = [
        a
        for a in executes(bot.current["card"])
        if a["verb"] == Action.CHOOSE and a["data"].get("value") == "private"
    ]
    submitted = bot.activities.message("", value=button["fallback"]["data"])
    if names_its_card:
        submitted["replyToId"] = bot.current["id"]  # the card the Submit was on
    assert (await bot.post(submitted)).status_code == 200
    await bot.settled()
    # The next question is posted, and the card with the buttons becomes a record.
    (record,) = bot.teams.calls(UPDATE)
    assert executes(record.activity["attachments"][0]["content"]) == []
    assert len(bot.teams.messages_in(DM)) == 2


async def test_a_team_that_adds_the_bot_is_remembered_for_notifications(
    bot: TeamsBot, redis: Redis
) -> None:
    added = bot.activities.bot_added_to_team()
    assert (await bot.post(added)).status_code == 200
    channel_id = added["conversation"]["id"]
    assert channel_id in await listed_channels(redis)
    saved = await kept_reference(redis, channel_id)
    assert saved is not None
    assert saved["serviceUrl"] == bot.teams.service_url
    removed = bot.activities.installation_update("remove")
    assert (await bot.post(removed)).status_code == 200
    assert await kept_reference(redis, removed["conversation"]["id"]) is None


async def test_a_throttled_bot_connector_is_retried_as_it_asks(bot: TeamsBot) -> None:
    bot.teams.rate_limit(SEND, times=2, retry_after=0.05)
    await bot.say("referral help", cards=1)
    assert [call.status for call in bot.teams.calls(SEND)] == [429, 429, 201]


async def test_an_unexpected_failure_gives_the_seller_a_reference(
    bot: TeamsBot, caplog: Any
) -> None:
    bot.teams.fail(SEND, 500, times=1)
    await bot.say("referral help", cards=1)
    problem = words(bot.current["card"]) if bot.current else ""
    assert "Something went wrong on my side" in problem
    reference = problem.split("Reference: ")[1].split()[0]
    assert f"reference {reference}" in caplog.text


async def test_a_body_that_is_not_an_activity_is_refused(bot: TeamsBot) -> None:
    headers = bot.activities.headers(bot.activities.message("hi"))
    broken = await bot.http.post("/api/messages", content=b"{not json", headers=headers)
    listed = await bot.http.post("/api/messages", json=[1, 2], headers=headers)
    assert (broken.status_code, listed.status_code) == (400, 400)


def test_the_unauthenticated_mode_is_refused_where_the_app_is_public() -> None:
    with pytest.raises(ConfigurationError, match="TEAMS_ALLOW_UNAUTHENTICATED"):
        load_settings(
            _env_file=None, teams_allow_unauthenticated=True, public_url="https://bot.example.com"
        )
    assert load_settings(_env_file=None).teams_allow_unauthenticated is False


async def test_the_unauthenticated_mode_takes_unsigned_activities_and_says_so_loudly(
    fresh_sandbox: Sandbox,
    fresh_teams_api: TeamsStandIn,
    teams_activities: TeamsActivities,
    identity: IdentityStandIn,
    redis_url: str,
    redis: Redis,
    redis_namespace: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = teams_settings(
        fresh_sandbox,
        fresh_teams_api,
        identity,
        redis_url,
        redis_namespace,
        teams_allow_unauthenticated=True,
    )
    app = build_web_app(settings)
    assert "accepts activities WITHOUT checking who sent them" in caplog.text
    await forget_teams_keys(redis)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as http:
            unsigned = await http.post("/api/messages", json=teams_activities.message("hi"))
    assert unsigned.status_code == 200
    await forget_teams_keys(redis)


async def test_in_a_channel_the_bot_answers_when_mentioned_in_the_thread(bot: TeamsBot) -> None:
    channel = DEFAULT_TEAM.channels[0]
    message = bot.activities.message("referral help", channel=channel)
    assert message["text"].startswith("<at>")
    assert (await bot.post(message)).status_code == 200
    await bot.settled()
    (sent,) = bot.teams.calls(SEND)
    assert sent.path.endswith(f"/v3/conversations/{message['conversation']['id']}/activities")
    assert "referral new" in words(card_of(sent.activity))


async def test_after_a_cancel_typed_words_leave_the_old_cards_alone(bot: TeamsBot) -> None:
    await bot.say("referral new", cards=1)
    assert bot.current is not None
    asked = bot.current["id"]
    await bot.click(Action.CANCEL)
    record = card_of(bot.teams.message(asked))
    await bot.say("hello")
    assert card_of(bot.teams.message(asked)) == record


async def test_an_invoke_teams_sends_again_has_one_effect(bot: TeamsBot) -> None:
    await bot.say("referral new", cards=1)
    assert bot.current is not None
    (button,) = [
        a
        for a in executes(bot.current["card"])
        if a["verb"] == Action.CHOOSE and a["data"].get("value") == "private"
    ]
    invoke = bot.activities.card_action(
        Action.CHOOSE, button["data"], reply_to_id=bot.current["id"]
    )
    first = await bot.post(invoke)
    again = await bot.post(invoke)  # the same activity id: Teams' retry
    assert first.json() == again.json()
    await bot.settled()
    # One next question, not two, and no "already answered".
    assert len(bot.teams.messages_in(DM)) == 2
    said = " ".join(words(card_of(message)) for message in bot.teams.messages_in(DM))
    assert "already answered" not in said


def asked_step(content: dict[str, Any]) -> str | None:
    """The step a question card asks (its Review action names it)."""
    return next(
        (str(a["data"].get("step")) for a in executes(content) if a["verb"] == Action.REVIEW),
        None,
    )


async def test_the_short_way_in_teams_groups_the_review_and_keeps_on_edit(
    bot: TeamsBot, client_for_sandbox: PartnerCenterClient
) -> None:
    await bot.say("referral new Northwind 75k USD by 2027-03-31")
    said = " ".join(words(card_of(m)) for m in bot.teams.messages_in(DM))
    assert "From your line" in said
    assert "Northwind" in said
    await bot.say("partner led")
    await bot.say("500 Pine St, Portland, OR 97204, US")
    assert bot.current is not None
    assert asked_step(bot.current["card"]) == "customer_size"
    await bot.say("51 to 250 employees")
    await bot.say("Grace Hopper <grace@northwind.example> +1 503 555 0100")
    await bot.say("none")
    await bot.say("yes")
    review = bot.current["card"]
    edits = [a["data"].get("value") for a in executes(review) if a["verb"] == Action.EDIT]
    assert edits == ["the_deal", "the_customer", "the_contact", "needs", "sharing", "your_team"]
    assert "500 Pine St, Portland, OR 97204, US" in words(review)
    assert schema_errors(review) == []

    await bot.click(Action.EDIT, value="the_customer")
    assert asked_step(bot.current["card"]) == "customer_name"
    await bot.click(Action.KEEP)
    assert asked_step(bot.current["card"]) == "address"
    await bot.say("1 Main St, Seattle, WA 98101, US")
    await bot.click(Action.KEEP)
    assert "1 Main St, Seattle, WA 98101, US" in words(bot.current["card"])

    await bot.click(Action.SUBMIT)
    found = await client_for_sandbox.list(filter="customerProfile/name eq 'Northwind'").collect()
    (referral,) = found
    assert referral.customer_profile is not None
    assert referral.customer_profile.address is not None
    assert referral.customer_profile.address.city == "Seattle"
    assert referral.details is not None
    assert referral.details.currency == "USD"
