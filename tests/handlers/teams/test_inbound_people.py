"""Incoming referrals put in front of people in Teams, as the Slack suite's
``test_inbound_people`` does in Slack: the sellers whose referral it is hear of it in their 1:1
chat with the bot, and so does the seller Assign picks. Someone who never talked to the bot
has no such chat: the bot opens one (Create Conversation at the Bot Connector of the tenant's
triage channel, as Bot Framework documents proactive messages), keeps its reference, and uses
it the next time. No token goes to a Bot Connector outside ``TEAMS_SERVICE_URL_HOSTS``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from bot.inbound.places import InboundPlaces
from bot.references import ReferenceBook
from cards.ids import ASSIGNEE_INPUT, Action
from handlers.approvals import DECISION_TAKEN
from tests.handlers.slack.test_notifications import polled_once
from tests.handlers.teams.conftest import BotOf, TeamsBot, card_of
from tests.handlers.teams.test_allowlists import Attacker
from tests.handlers.teams.test_approvals import EDSGER, typed
from tests.handlers.teams.test_inbound import (
    card_arrived,
    cards_in_channel,
    click,
    make_triage_channel,
    said,
    verbs,
)
from tests.support.sandbox import Sandbox
from tests.support.teams_stand_in import (
    BOT_ID,
    CREATE,
    MANAGER,
    SELLER,
    TENANT_ID,
    TeamsStandIn,
    TeamsUser,
    personal_conversation_id,
)

MATCHED = "An incoming referral for a customer or team of yours"


@pytest.fixture
async def bot(bot_of: BotOf, fresh_teams_api: TeamsStandIn) -> AsyncIterator[TeamsBot]:
    fresh_teams_api.set_user(EDSGER)
    async with bot_of(referral_admins=SELLER.aad_object_id, poll_interval_seconds=0.2) as started:
        await polled_once(started)  # type: ignore[arg-type]
        # Ada talks to the bot in her 1:1 chat; Edsger and Grace never have.
        await typed(started, "referral inbound here", user=SELLER, in_channel=False)
        await make_triage_channel(started)
        yield started


@pytest.fixture
def outside() -> Iterator[Attacker]:
    """A host outside ``TEAMS_SERVICE_URL_HOSTS``: it records whatever reaches it."""
    with Attacker() as host:
        yield host


def member(user: TeamsUser) -> dict[str, str]:
    """``user`` as a member of a referral's team."""
    return {"firstName": user.given_name, "lastName": user.surname, "email": user.email}


def chat_of(bot: TeamsBot, user: TeamsUser) -> list[dict[str, Any]]:
    """The bot's messages in its 1:1 chat with ``user``."""
    return bot.teams.messages_in(personal_conversation_id(user))


def key_of(user: TeamsUser) -> str:
    return f"teams:{TENANT_ID}:{user.aad_object_id}"


def opened_with(bot: TeamsBot) -> list[str]:
    """Whom each Create Conversation the bot made was for (their ids, as sent)."""
    return [call.body["members"][0]["id"] for call in bot.teams.calls(CREATE)]


async def told(bot: TeamsBot, user: TeamsUser, count: int = 1, within: float = 10.0) -> None:
    """Wait until the bot said ``count`` things in its chat with ``user``, and settled."""
    deadline = asyncio.get_running_loop().time() + within
    while len(chat_of(bot, user)) < count:
        assert asyncio.get_running_loop().time() < deadline, f"{user.name} was not told"
        await asyncio.sleep(0.05)
    await bot.settled()


async def arrived(bot: TeamsBot, sandbox: Sandbox, **fields: Any) -> tuple[str, dict[str, Any]]:
    """An incoming referral sent by Microsoft; its id and its card in the triage channel."""
    before = len(cards_in_channel(bot))
    sent = sandbox.send_incoming(**fields)
    return str(sent["id"]), await card_arrived(bot, before)


async def test_a_seller_on_its_team_is_told_in_a_chat_opened_for_them(
    bot: TeamsBot, fresh_sandbox: Sandbox
) -> None:
    await arrived(bot, fresh_sandbox, team=[member(EDSGER), member(SELLER)])
    await told(bot, EDSGER)
    await told(bot, SELLER)

    # Edsger never talked to the bot: one chat opened, at the triage channel's Bot Connector.
    assert opened_with(bot) == [EDSGER.aad_object_id]
    (opened,) = bot.teams.calls(CREATE)
    assert opened.path == "/amer/v3/conversations"
    assert opened.body["bot"] == {"id": BOT_ID}
    assert opened.body["isGroup"] is False
    assert opened.body["tenantId"] == TENANT_ID
    assert opened.body["channelData"] == {"tenant": {"id": TENANT_ID}}
    (card,) = chat_of(bot, EDSGER)
    content = card_of(card)
    assert MATCHED in said(content)
    assert "Incoming referral from Microsoft" in said(content)
    assert verbs(content) == [Action.ACCEPT, Action.DECLINE, Action.ASSIGN]
    kept = await ReferenceBook(bot.redis).dm("teams", key_of(EDSGER))
    assert kept is not None
    assert kept["serviceUrl"] == bot.teams.service_url
    assert kept["conversation"]["id"] == personal_conversation_id(EDSGER)
    # Ada's chat with the bot was kept when she talked to it: told there, nothing opened.
    (ada_card,) = [m for m in chat_of(bot, SELLER) if MATCHED in said(card_of(m))]
    assert verbs(card_of(ada_card)) == [Action.ACCEPT, Action.DECLINE, Action.ASSIGN]


async def test_a_second_referral_for_the_same_seller_goes_to_the_chat_kept(
    bot: TeamsBot, fresh_sandbox: Sandbox
) -> None:
    await arrived(bot, fresh_sandbox, name="First for Edsger", team=[member(EDSGER)])
    await told(bot, EDSGER)
    await arrived(bot, fresh_sandbox, name="Second for Edsger", team=[member(EDSGER)])
    await told(bot, EDSGER, 2)

    assert opened_with(bot) == [EDSGER.aad_object_id]  # opened once, then reused
    first, second = (said(card_of(message)) for message in chat_of(bot, EDSGER))
    assert "First for Edsger" in first
    assert "Second for Edsger" in second


async def test_assign_tells_the_assignee_in_their_chat(
    bot: TeamsBot, fresh_sandbox: Sandbox
) -> None:
    _, card = await arrived(bot, fresh_sandbox)
    assert chat_of(bot, EDSGER) == []

    answer = await click(bot, card["id"], Action.ASSIGN, **{ASSIGNEE_INPUT: EDSGER.email})
    await told(bot, EDSGER)

    assert answer == DECISION_TAKEN
    assert opened_with(bot) == [EDSGER.aad_object_id]
    (message,) = chat_of(bot, EDSGER)
    content = card_of(message)
    assert "Grace Hopper assigned you this incoming referral" in said(content)
    assert verbs(content) == [Action.ACCEPT, Action.DECLINE, Action.ASSIGN]


async def test_no_chat_is_opened_at_a_bot_connector_outside_the_allowlist(
    bot: TeamsBot, fresh_sandbox: Sandbox, outside: Attacker, caplog: pytest.LogCaptureFixture
) -> None:
    _, card = await arrived(bot, fresh_sandbox)
    # The tenant's triage channel kept with a Bot Connector no longer allowed (the allowlist
    # was narrowed since): its reference, as Teams sent it, but for the host.
    places = InboundPlaces(bot.redis, stream=bot.job_stream)
    kept = await places.get("teams", TENANT_ID)
    assert kept is not None
    assert kept.reference is not None
    elsewhere = {**kept.reference, "serviceUrl": outside.origin + "/amer/"}
    await places.set(kept.model_copy(update={"reference": elsewhere}))

    await click(bot, card["id"], Action.ASSIGN, **{ASSIGNEE_INPUT: EDSGER.email})

    assert outside.received == []  # no token, no call
    assert bot.teams.calls(CREATE) == []
    assert chat_of(bot, EDSGER) == []
    assert "refused to open a chat" in caplog.text
    assert "TEAMS_SERVICE_URL_HOSTS" in caplog.text
    assert await ReferenceBook(bot.redis).dm("teams", key_of(EDSGER)) is None

    # The channel set again where Teams serves it: the next assignee is told.
    await make_triage_channel(bot)
    await click(bot, card["id"], Action.ASSIGN, **{ASSIGNEE_INPUT: MANAGER.email})
    await told(bot, MANAGER)
    assert opened_with(bot) == [MANAGER.aad_object_id]
    assert outside.received == []


async def test_a_chat_kept_at_a_bot_connector_outside_the_allowlist_is_not_used(
    bot: TeamsBot, fresh_sandbox: Sandbox, outside: Attacker, caplog: pytest.LogCaptureFixture
) -> None:
    references = ReferenceBook(bot.redis)
    chat = personal_conversation_id(EDSGER)
    await references.save_dm(
        "teams",
        key_of(EDSGER),
        {
            "serviceUrl": outside.origin + "/amer/",
            "channelId": "msteams",
            "bot": {"id": BOT_ID},
            "conversation": {"id": chat, "conversationType": "personal", "tenantId": TENANT_ID},
        },
    )

    await arrived(bot, fresh_sandbox, team=[member(EDSGER), member(MANAGER)])
    await told(bot, MANAGER)

    assert outside.received == []
    assert chat_of(bot, EDSGER) == []
    assert opened_with(bot) == [MANAGER.aad_object_id]  # Grace's chat opened, Edsger's not
    assert "the chat kept for" in caplog.text


async def test_someone_the_app_is_not_installed_for_is_not_told(
    bot: TeamsBot, fresh_sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    bot.teams.without_app(EDSGER)

    await arrived(bot, fresh_sandbox, team=[member(EDSGER), member(MANAGER)])
    await told(bot, MANAGER)

    assert [call.status for call in bot.teams.calls(CREATE)] == [403, 201]
    assert opened_with(bot) == [EDSGER.aad_object_id, MANAGER.aad_object_id]
    assert chat_of(bot, EDSGER) == []
    assert "Teams would not open a chat" in caplog.text
    assert await ReferenceBook(bot.redis).dm("teams", key_of(EDSGER)) is None
