"""Sellers signing in as themselves from Slack (AUTH_MODE=user): a private link, the code flow
through /auth/callback, the seller told in chat and carried on; a dead sign-in asks again and
keeps the draft; a link opened by someone else is not kept.

The sandbox here accepts only tokens the identity stand-in issued (and answers 401 once they
are revoked), as Partner Center does with Entra ID's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.handlers.slack.conftest import SlackBot, running, slack_settings
from tests.support.identity_stand_in import IdentityStandIn, Person
from tests.support.sandbox import Sandbox
from tests.support.sign_in import ADA, GRACE, PUBLIC_URL, TEST_KEY, browse, sign_in_settings
from tests.support.slack_payloads import SIGNING_SECRET, dm_channel_id
from tests.support.slack_stand_in import SlackApiStandIn

DM = dm_channel_id("U0001")


@pytest.fixture
async def bot(
    checked_sandbox: Sandbox,
    fresh_identity: IdentityStandIn,
    fresh_slack_api: SlackApiStandIn,
    redis_url: str,
    redis: Redis,
    redis_namespace: str,
) -> AsyncIterator[SlackBot]:
    settings = slack_settings(
        checked_sandbox,
        fresh_slack_api,
        redis_url,
        redis_namespace,
        **sign_in_settings(fresh_identity),
    )
    async with running(settings, fresh_slack_api, redis, redis_namespace) as started:
        yield started


def said(message: dict[str, Any]) -> str:
    return str(message.get("text", "")) + json.dumps(message.get("blocks", []))


def sign_in_link(message: dict[str, Any]) -> str:
    """The URL of the sign-in button of ``message``."""
    for block in message.get("blocks", []):
        accessory = block.get("accessory") or {}
        if accessory.get("url"):
            return str(accessory["url"])
    raise AssertionError(f"no sign-in link in {said(message)}")


async def asked_to_sign_in(bot: SlackBot, command: str) -> str:
    """Send ``/referral <command>``; the link the seller got in their DM."""
    await bot.send(bot.requests.command(command))
    await bot.settled()
    return sign_in_link(bot.slack.last_message(DM))


async def test_a_seller_not_signed_in_gets_a_private_link_and_is_carried_on(
    bot: SlackBot, fresh_identity: IdentityStandIn, checked_sandbox: Sandbox
) -> None:
    link = await asked_to_sign_in(bot, "list mine")
    assert checked_sandbox.requests() == []  # nothing was asked of Partner Center

    page = await browse(fresh_identity, link, ADA, bot.http)
    assert page.status_code == 200
    assert "signed in to Partner Center as ada.lovelace@contoso.example" in page.text
    assert page.headers["cache-control"] == "no-store"
    await bot.settled()

    after = [said(message) for message in bot.slack.messages_to(DM)][-2:]
    assert "Signed in to Partner Center as ada.lovelace@contoso.example" in after[0]
    assert "ada.lovelace@contoso.example" in after[1]  # the listing it was asked for
    (listed,) = checked_sandbox.requests()
    assert listed["status"] == 200


async def test_a_link_opened_by_someone_else_is_not_kept(
    bot: SlackBot, fresh_identity: IdentityStandIn
) -> None:
    link = await asked_to_sign_in(bot, "login")

    await browse(fresh_identity, link, GRACE, bot.http)
    await bot.settled()

    refused = said(bot.slack.last_message(DM))
    assert "as grace.hopper@contoso.example" in refused
    assert "did not keep that sign-in" in refused
    await bot.send(bot.requests.command("whoami"))
    await bot.settled()
    assert "You are not signed in" in said(bot.slack.last_message(DM))


async def test_a_revoked_sign_in_asks_again_and_keeps_the_draft(
    bot: SlackBot, fresh_identity: IdentityStandIn
) -> None:
    await browse(fresh_identity, await asked_to_sign_in(bot, "login"), ADA, bot.http)
    await bot.send(bot.requests.command("new"))
    await bot.settled()
    question = said(bot.slack.last_message(DM))
    fresh_identity.revoke(ADA)  # password changed, say

    await bot.send(bot.requests.command("list"))
    await bot.settled()

    asked = bot.slack.last_message(DM)
    assert "Your Partner Center sign-in has ended (AADSTS" in said(asked)
    assert "Your draft is kept" in said(asked)
    await browse(fresh_identity, sign_in_link(asked), ADA, bot.http)
    await bot.settled()
    await bot.send(bot.requests.command("resume"))
    await bot.settled()
    assert said(bot.slack.last_message(DM)).split("Step")[0] in question


async def test_whoami_and_logout(bot: SlackBot, fresh_identity: IdentityStandIn) -> None:
    await browse(fresh_identity, await asked_to_sign_in(bot, "login"), ADA, bot.http)
    await bot.settled()

    await bot.send(bot.requests.command("whoami"))
    await bot.settled()
    assert "Signed in to Partner Center as ada.lovelace@contoso.example (Ada Lovelace)" in said(
        bot.slack.last_message(DM)
    )
    await bot.send(bot.requests.command("logout"))
    await bot.settled()
    assert "your tokens are deleted" in said(bot.slack.last_message(DM))
    await bot.send(bot.requests.command("list"))
    await bot.settled()
    assert "Sign in to Partner Center first" in said(bot.slack.last_message(DM))


async def test_a_replayed_callback_is_refused_and_changes_nothing(
    bot: SlackBot, fresh_identity: IdentityStandIn
) -> None:
    link = await asked_to_sign_in(bot, "login")
    action, fields = fresh_identity.authorize_form(link, ADA)
    path = action.removeprefix(PUBLIC_URL)
    assert (await bot.http.post(path, data=fields)).status_code == 200
    await bot.settled()
    posted = len(bot.slack.messages_to(DM))

    replayed = await bot.http.post(path, data=fields)
    forged = await bot.http.get(path, params={"state": "guess", "code": "stolen"})
    await bot.settled()

    assert replayed.status_code == forged.status_code == 400
    assert "expired or was already used" in replayed.text
    assert "stolen" not in forged.text
    assert len(bot.slack.messages_to(DM)) == posted
    assert len(fresh_identity.token_requests("authorization_code")) == 1


async def test_a_seller_without_a_referrals_role_is_told_which_roles_are_needed(
    bot: SlackBot, fresh_identity: IdentityStandIn
) -> None:
    without_role = Person(ADA.oid, ADA.username, ADA.name, referrals_role=False)
    await browse(fresh_identity, await asked_to_sign_in(bot, "login"), without_role, bot.http)
    await bot.settled()

    await bot.send(bot.requests.command("list"))
    await bot.settled()

    refused = said(bot.slack.last_message(DM))
    assert "HTTP 403" in refused or "Partner Center said" in refused
    assert "Referrals Admin role, or the Referrals User role" in refused


async def test_no_token_code_or_secret_in_redis_or_a_log_line_at_debug(
    bot: SlackBot,
    fresh_identity: IdentityStandIn,
    redis: Redis,
    redis_namespace: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("msal", "urllib3", "httpx", "httpcore", "slack_bolt", "slack_sdk", "bot"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        await browse(fresh_identity, await asked_to_sign_in(bot, "login"), ADA, bot.http)
        await bot.settled()
        await bot.send(bot.requests.command("list"))
        await bot.settled()
        fresh_identity.revoke(ADA)
        fresh_identity.expire_access_tokens()
        await bot.send(bot.requests.command("list"))  # a refresh, refused
        await bot.settled()
        await asked_to_sign_in(bot, "login")  # a link left unused
    finally:
        for name in ("msal", "urllib3", "httpx", "httpcore", "slack_bolt", "slack_sdk", "bot"):
            logging.getLogger(name).setLevel(logging.NOTSET)

    keys = [key async for key in redis.scan_iter(match=f"*{redis_namespace}*")]
    keys += [key async for key in redis.scan_iter(match="rb:identity:*")]
    stored = b"\n".join([await redis.dump(key) or b"" for key in keys])
    secrets = fresh_identity.secrets() | {SIGNING_SECRET, "xoxb-test-token", TEST_KEY}
    logged = [record.getMessage() for record in caplog.records]
    grants = [request.grant_type for request in fresh_identity.token_requests()]
    assert grants == ["authorization_code", "refresh_token"]  # the second one refused
    assert sorted(secret for secret in secrets if secret.encode() in stored) == []
    assert sorted(secret for secret in secrets if any(secret in line for line in logged)) == []
