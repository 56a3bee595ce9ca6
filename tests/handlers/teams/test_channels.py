"""Notifications posted to a Teams channel: the real SDK app (the bot's tokens from msal at
the identity stand-in) through :class:`TeamsSender` to the Teams stand-in's Bot Connector."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from bot.app.platforms import build_teams_app, teams_running
from bot.conversation import Notice, StatusChange
from bot.notifications.channels import Channel, ChannelGone
from cards.ids import Action
from cards.teams import CONTENT_TYPE, TypedText, card, read_action
from handlers.teams import TeamsChannelPoster, TeamsSender
from handlers.teams.sender import UnknownServiceUrl
from tests.cards.test_teams import assert_valid, by_verb, click
from tests.handlers.teams.conftest import teams_settings
from tests.support.identity_stand_in import IdentityStandIn
from tests.support.sandbox import Sandbox
from tests.support.teams_stand_in import DEFAULT_TEAM, SEND, TENANT_ID, UPDATE, TeamsStandIn

CHANNEL_ID = DEFAULT_TEAM.channels[1].id
LOST = StatusChange(
    event="lost",
    referral_id="3f2504e0-4f89-11d3-9a0c-0305e82c3301",
    name="Contoso pilot",
    customer="Contoso",
    value=120_000,
    currency="USD",
    before="Active, Accepted",
    after="Closed, Lost",
    reason="Customer chose another partner",
    team=("Ada Lovelace",),
    closing=date(2026, 6, 30),
    link="https://partner.microsoft.com/dashboard/referrals/3f2504e0",
)


def channel(teams: TeamsStandIn, **reference: Any) -> Channel:
    """The Deal Approvals channel, with the reference saved when the bot joined the team."""
    saved = {
        "serviceUrl": teams.service_url,
        "conversation": {"id": CHANNEL_ID, "conversationType": "channel", "tenantId": TENANT_ID},
        "channelId": "msteams",
        **reference,
    }
    return Channel(
        platform="teams", workspace=TENANT_ID, id=CHANNEL_ID, name="Deal Approvals", reference=saved
    )


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
async def poster(
    sandbox: Sandbox,
    fresh_teams_api: TeamsStandIn,
    identity: IdentityStandIn,
    redis_url: str,
    redis_namespace: str,
    waits: list[float],
) -> AsyncIterator[TeamsChannelPoster]:
    """The poster on the SDK app as the workers build it; waits between retries recorded."""
    settings = teams_settings(sandbox, fresh_teams_api, identity, redis_url, redis_namespace)

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async with teams_running(build_teams_app(settings)) as teams:
        yield TeamsChannelPoster(TeamsSender(teams, settings.teams_service_url_hosts, sleep=sleep))


async def test_the_card_lands_in_the_channel_as_a_new_post(
    poster: TeamsChannelPoster, fresh_teams_api: TeamsStandIn
) -> None:
    await poster.post_to_channel(channel(fresh_teams_api), LOST)

    (posted,) = fresh_teams_api.messages_in(CHANNEL_ID)
    (attachment,) = posted["attachments"]
    expected = card(LOST)
    assert attachment["contentType"] == CONTENT_TYPE
    assert attachment["content"] == expected.content
    assert posted["summary"] == expected.text
    assert_valid(expected)
    (call,) = fresh_teams_api.calls(SEND)
    assert call.path.endswith(f"/v3/conversations/{CHANNEL_ID}/activities")  # not a thread


async def test_show_on_the_posted_card_reads_back_as_the_show_command(
    poster: TeamsChannelPoster, fresh_teams_api: TeamsStandIn
) -> None:
    await poster.post_to_channel(channel(fresh_teams_api), LOST)
    content = fresh_teams_api.last_message(CHANNEL_ID)["attachments"][0]["content"]

    (show,) = by_verb(content, Action.SHOW)

    shown = TypedText(text=f"/referral show {LOST.referral_id}", step=None)
    assert [read_action(sent) for sent in click(content, show)] == [shown, shown]


@pytest.mark.parametrize(
    ("status", "code"), [(403, "BotNotInConversationRoster"), (404, "ConversationNotFound")]
)
async def test_a_channel_the_bot_is_out_of_is_gone(
    poster: TeamsChannelPoster, fresh_teams_api: TeamsStandIn, status: int, code: str
) -> None:
    fresh_teams_api.close_conversation(CHANNEL_ID, status)  # type: ignore[arg-type]

    with pytest.raises(ChannelGone, match=str(status)) as gone:
        await poster.post_to_channel(channel(fresh_teams_api), LOST)

    assert gone.value.__cause__ is not None
    assert gone.value.__cause__.response.status_code == status  # type: ignore[attr-defined]
    assert CHANNEL_ID in str(gone.value)
    assert [call.status for call in fresh_teams_api.calls(SEND)] == [status]  # not retried
    assert fresh_teams_api.messages_in(CHANNEL_ID) == []


async def test_a_post_returns_its_activity_id_and_an_update_rewrites_that_message(
    poster: TeamsChannelPoster, fresh_teams_api: TeamsStandIn
) -> None:
    first = await poster.post_to_channel(channel(fresh_teams_api), Notice(message="Waiting"))
    second = await poster.post_to_channel(channel(fresh_teams_api), LOST)

    await poster.update_in_channel(
        channel(fresh_teams_api), first, Notice(message="Approved by Grace Hopper")
    )

    assert first != second
    rewritten = fresh_teams_api.message(first)
    assert (
        rewritten["attachments"][0]["content"]
        == card(Notice(message="Approved by Grace Hopper")).content
    )
    assert fresh_teams_api.message(second)["attachments"][0]["content"] == card(LOST).content
    assert [message["id"] for message in fresh_teams_api.messages_in(CHANNEL_ID)] == [
        first,
        second,
    ]
    # The thread's root is updated in the channel's conversation itself.
    (update,) = fresh_teams_api.calls(UPDATE)
    assert update.path.endswith(f"/v3/conversations/{CHANNEL_ID}/activities/{first}")


@pytest.mark.parametrize("status", [403, 404])
async def test_an_update_in_a_channel_the_bot_is_out_of_is_gone(
    poster: TeamsChannelPoster, fresh_teams_api: TeamsStandIn, status: int
) -> None:
    posted = await poster.post_to_channel(channel(fresh_teams_api), LOST)
    fresh_teams_api.close_conversation(CHANNEL_ID, status)  # type: ignore[arg-type]

    with pytest.raises(ChannelGone, match=str(status)):
        await poster.update_in_channel(channel(fresh_teams_api), posted, Notice(message="Done"))

    assert [call.status for call in fresh_teams_api.calls(UPDATE)] == [status]  # not retried
    assert fresh_teams_api.message(posted)["attachments"][0]["content"] == card(LOST).content


async def test_an_update_without_a_reference_cannot_be_made(
    poster: TeamsChannelPoster, fresh_teams_api: TeamsStandIn
) -> None:
    bare = channel(fresh_teams_api).model_copy(update={"reference": None})

    with pytest.raises(ChannelGone, match="serviceUrl"):
        await poster.update_in_channel(bare, "1700000000000", LOST)

    assert fresh_teams_api.calls(UPDATE) == []


async def test_a_channel_without_a_reference_cannot_be_reached(
    poster: TeamsChannelPoster, fresh_teams_api: TeamsStandIn
) -> None:
    bare = channel(fresh_teams_api).model_copy(update={"reference": None})

    with pytest.raises(ChannelGone, match="serviceUrl"):
        await poster.post_to_channel(bare, LOST)

    assert fresh_teams_api.calls(SEND) == []


async def test_a_service_url_outside_the_bot_framework_hosts_is_refused_not_gone(
    poster: TeamsChannelPoster, fresh_teams_api: TeamsStandIn
) -> None:
    elsewhere = channel(fresh_teams_api, serviceUrl="https://attacker.example/amer/")

    with pytest.raises(UnknownServiceUrl):
        await poster.post_to_channel(elsewhere, LOST)

    assert fresh_teams_api.calls(SEND) == []


@pytest.mark.parametrize("status", [500, 401])
async def test_any_other_failure_propagates_for_a_later_try(
    poster: TeamsChannelPoster, fresh_teams_api: TeamsStandIn, status: int
) -> None:
    fresh_teams_api.fail(SEND, status)

    with pytest.raises(Exception) as failed:  # noqa: PT011 - the SDK's own error type
        await poster.post_to_channel(channel(fresh_teams_api), LOST)
    await poster.post_to_channel(channel(fresh_teams_api), LOST)  # the later try

    assert not isinstance(failed.value, ChannelGone)
    assert failed.value.response.status_code == status  # type: ignore[attr-defined]
    assert len(fresh_teams_api.messages_in(CHANNEL_ID)) == 1


async def test_throttling_is_waited_out_and_the_card_lands(
    poster: TeamsChannelPoster, fresh_teams_api: TeamsStandIn, waits: list[float]
) -> None:
    fresh_teams_api.rate_limit(SEND, times=2, retry_after=3)

    await poster.post_to_channel(channel(fresh_teams_api), LOST)

    assert waits == [3.0, 3.0]
    assert [call.status for call in fresh_teams_api.calls(SEND)] == [429, 429, 201]
    assert len(fresh_teams_api.messages_in(CHANNEL_ID)) == 1
