"""Notifications posted to a Slack channel: through the real Web API client (as the app
builds it) to the Slack stand-in, its rate tiers and its errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
import yaml
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.platforms import build_slack_client
from bot.conversation import Notice, StatusChange
from bot.notifications.channels import Channel, ChannelGone
from bot.settings import Settings
from cards.ids import Action
from cards.slack import message
from handlers.slack import SlackChannelPoster
from handlers.slack.channels import GONE_ERRORS
from tests.handlers.slack.conftest import SlackBot
from tests.support.slack_stand_in import BOT_SCOPES, Count, SlackApiStandIn

MANIFEST = Path(__file__).parents[3] / "handlers" / "slack" / "manifest.yml"
DEALS = Channel(platform="slack", workspace="T0001", id="C0DEALS", name="deals")
WON = StatusChange(
    event="won",
    referral_id="3f2504e0-4f89-11d3-9a0c-0305e82c3301",
    name="Contoso pilot",
    customer="Contoso",
    value=120_000,
    currency="USD",
    before="Active, Accepted",
    after="Closed, Won",
    team=("Ada Lovelace", "grace.hopper@contoso.example"),
    closing=date(2026, 6, 30),
    link="https://partner.microsoft.com/dashboard/referrals/3f2504e0",
)


@pytest.fixture
async def client(fresh_slack_api: SlackApiStandIn) -> AsyncIterator[AsyncWebClient]:
    """The Web API client exactly as the app builds it (429s retried), on the stand-in."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, slack_bot_token="xoxb-test-token", slack_api_url=fresh_slack_api.base_url
    )
    client = build_slack_client(settings)
    yield client
    if client.session is not None:
        await client.session.close()


@pytest.fixture
def poster(client: AsyncWebClient) -> SlackChannelPoster:
    return SlackChannelPoster(client)


async def test_the_card_lands_in_the_channel(
    poster: SlackChannelPoster, fresh_slack_api: SlackApiStandIn
) -> None:
    await poster.post_to_channel(DEALS, WON)

    (posted,) = fresh_slack_api.messages_to("C0DEALS")
    expected = message(WON)
    assert posted["text"] == expected.text == "🎉 Won: Contoso pilot · Contoso"
    # Slack gives each block an id when the app gives none: compare without them.
    assert [_without_id(block) for block in posted["blocks"]] == expected.blocks
    (call,) = fresh_slack_api.calls("chat.postMessage")
    assert call.args["channel"] == "C0DEALS"
    assert call.token == "xoxb-test-token"


async def test_any_view_can_be_posted(
    poster: SlackChannelPoster, fresh_slack_api: SlackApiStandIn
) -> None:
    await poster.post_to_channel(DEALS, Notice(message="This channel now hears about referrals."))

    assert fresh_slack_api.last_message("C0DEALS")["text"] == (
        "This channel now hears about referrals."
    )


@pytest.mark.parametrize("error", sorted(GONE_ERRORS))
async def test_a_channel_that_no_longer_takes_the_bots_messages_is_gone(
    poster: SlackChannelPoster, fresh_slack_api: SlackApiStandIn, error: str
) -> None:
    fresh_slack_api.close_channel("C0DEALS", error)

    with pytest.raises(ChannelGone, match=error) as gone:
        await poster.post_to_channel(DEALS, WON)

    assert isinstance(gone.value.__cause__, SlackApiError)
    assert "C0DEALS" in str(gone.value)
    assert fresh_slack_api.messages_to("C0DEALS") == []


async def test_a_post_returns_its_ts_and_an_update_rewrites_that_message(
    poster: SlackChannelPoster, fresh_slack_api: SlackApiStandIn
) -> None:
    first = await poster.post_to_channel(DEALS, Notice(message="Waiting for approval"))
    second = await poster.post_to_channel(DEALS, WON)

    await poster.update_in_channel(DEALS, first, Notice(message="Approved by Grace Hopper"))

    assert first != second
    assert fresh_slack_api.message("C0DEALS", first)["text"] == "Approved by Grace Hopper"
    assert fresh_slack_api.message("C0DEALS", second)["text"] == message(WON).text
    (update,) = fresh_slack_api.calls("chat.update")
    assert (update.args["channel"], update.args["ts"]) == ("C0DEALS", first)


@pytest.mark.parametrize("error", ["is_archived", "not_in_channel"])
async def test_an_update_in_a_channel_that_is_gone_is_gone(
    poster: SlackChannelPoster, fresh_slack_api: SlackApiStandIn, error: str
) -> None:
    posted = await poster.post_to_channel(DEALS, WON)
    fresh_slack_api.close_channel("C0DEALS", error)

    with pytest.raises(ChannelGone, match=error):
        await poster.update_in_channel(DEALS, posted, Notice(message="Approved"))

    assert fresh_slack_api.message("C0DEALS", posted)["text"] == message(WON).text


async def test_an_update_failing_for_now_propagates(
    poster: SlackChannelPoster, fresh_slack_api: SlackApiStandIn
) -> None:
    posted = await poster.post_to_channel(DEALS, WON)
    fresh_slack_api.fail("chat.update", "internal_error")

    with pytest.raises(SlackApiError) as failed:
        await poster.update_in_channel(DEALS, posted, Notice(message="Approved"))

    assert not isinstance(failed.value, ChannelGone)


def test_every_gone_error_is_one_slack_answers_for_good() -> None:
    assert {
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "account_inactive",
        "team_access_not_granted",
        "access_denied",
        "restricted_action",
    } == GONE_ERRORS


@pytest.mark.parametrize("error", ["internal_error", "fatal_error", "service_unavailable"])
async def test_a_passing_failure_propagates_for_a_later_try(
    poster: SlackChannelPoster, fresh_slack_api: SlackApiStandIn, error: str
) -> None:
    fresh_slack_api.fail("chat.postMessage", error)

    with pytest.raises(SlackApiError) as failed:
        await poster.post_to_channel(DEALS, WON)
    await poster.post_to_channel(DEALS, WON)  # the later try

    assert not isinstance(failed.value, ChannelGone)
    assert failed.value.response["error"] == error
    assert len(fresh_slack_api.messages_to("C0DEALS")) == 1


async def test_a_burst_past_the_channel_rate_is_retried_as_retry_after_says_and_lands(
    poster: SlackChannelPoster, fresh_slack_api: SlackApiStandIn
) -> None:
    # chat.postMessage allows about one message a second per channel, with a burst of three.
    fresh_slack_api.set_rate_tiers(True)
    try:
        for _ in range(4):
            await poster.post_to_channel(DEALS, WON)
    finally:
        fresh_slack_api.set_rate_tiers(False)

    assert len(fresh_slack_api.messages_to("C0DEALS")) == 4
    assert fresh_slack_api.counts()["chat.postMessage"] == Count(calls=5, ratelimited=1)
    limited = next(call for call in fresh_slack_api.calls("chat.postMessage") if call.status == 429)
    assert limited.response["error"] == "ratelimited"


async def test_a_429_answered_on_demand_is_retried_too(
    poster: SlackChannelPoster, fresh_slack_api: SlackApiStandIn
) -> None:
    fresh_slack_api.rate_limit("chat.postMessage", retry_after=0)

    await poster.post_to_channel(DEALS, WON)

    assert [call.status for call in fresh_slack_api.calls("chat.postMessage")] == [429, 200]
    assert len(fresh_slack_api.messages_to("C0DEALS")) == 1


def test_the_manifest_lets_the_bot_post_in_public_channels_uninvited() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    scopes = manifest["oauth_config"]["scopes"]["bot"]

    assert "chat:write.public" in scopes
    assert tuple(scopes) == BOT_SCOPES  # the stand-in answers with the manifest's scopes


async def test_clicking_open_in_partner_center_is_acked_and_starts_nothing(bot: SlackBot) -> None:
    await SlackChannelPoster(_client_of(bot)).post_to_channel(DEALS, WON)
    posted = bot.slack.last_message("C0DEALS")

    opened = await bot.send(
        bot.requests.action(Action.OPEN_IN_PARTNER_CENTER, message=posted, channel="C0DEALS")
    )
    queued_by_open = await bot.redis.xlen(bot.job_stream)
    shown = await bot.send(
        bot.requests.action(Action.SHOW, value=WON.referral_id, message=posted, channel="C0DEALS")
    )

    assert opened.status_code == shown.status_code == 200
    assert queued_by_open == 0  # the browser opens the link: the bot has nothing to do
    assert await bot.redis.xlen(bot.job_stream) == 1  # Show asks for /referral show ID


def _client_of(bot: SlackBot) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test-token", base_url=bot.slack.base_url)


def _without_id(block: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in block.items() if key != "block_id"}
