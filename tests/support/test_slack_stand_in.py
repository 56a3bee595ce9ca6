"""The Slack Web API stand-in, driven by the real ``slack_sdk`` client, and the signed payloads,
checked with ``slack_sdk``'s verifier and dispatched through a real Bolt app."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import Clock, SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.slack_payloads import (
    DEFAULT_USERS,
    SIGNING_SECRET,
    SignedRequest,
    SlackRequests,
    SlackUser,
    fixture,
    sign,
)
from tests.support.slack_stand_in import (
    CLIENT_GONE,
    RESPONSE_URL,
    Call,
    Count,
    SlackApiStandIn,
    fresh_slack_api,
    slack_api,
    slack_requests,
)

__all__ = ["fresh_slack_api", "slack_api", "slack_requests"]  # the fixtures used below

TOKEN = "xoxb-test"
BLOCKS: list[dict[str, Any]] = [
    {"type": "section", "block_id": "q", "text": {"type": "mrkdwn", "text": "Which kind?"}},
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": "rb_choose",
                "text": {"type": "plain_text", "text": "Co-sell"},
                "value": "kind|cosell",
            }
        ],
    },
]


class FixedClock(Clock):
    """A clock for ``SignatureVerifier`` that says what it is told."""

    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


@pytest.fixture
def api(fresh_slack_api: SlackApiStandIn) -> SlackApiStandIn:
    return fresh_slack_api


@pytest.fixture
def client(api: SlackApiStandIn) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=api.base_url)


# The Web API stand-in ------------------------------------------------------------------------


async def test_post_message_is_recorded_with_its_blocks(
    api: SlackApiStandIn, client: AsyncWebClient
) -> None:
    first = await client.chat_postMessage(channel="D0001", text="Which kind?", blocks=BLOCKS)
    second = await client.chat_postMessage(channel="D0001", text="Second")

    assert first["ok"] is True
    assert first["channel"] == "D0001"
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["text"] == "Which kind?"
    assert first["message"]["bot_id"] == "B0001"
    [call, _] = api.calls("chat.postMessage")
    assert call.blocks == BLOCKS
    assert call.token == TOKEN
    assert call.headers["content-type"].startswith("application/json")
    assert [message["text"] for message in api.messages_to("D0001")] == ["Which kind?", "Second"]
    # Slack gives a block without an id one of its own.
    shown = api.messages_to("D0001")[0]["blocks"]
    assert shown[0]["block_id"] == "q"
    assert shown[1]["block_id"]
    assert "blocks" not in api.last_message("D0001")


async def test_update_changes_the_message_in_the_channel(
    api: SlackApiStandIn, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="U0001", text="Which kind?", blocks=BLOCKS)
    assert posted["channel"] == "D0001"  # a user id posts to the bot's DM with them
    record = [{"type": "section", "text": {"type": "mrkdwn", "text": "Kind: *Co-sell*"}}]

    updated = await client.chat_update(channel="D0001", ts=posted["ts"], text="Kind", blocks=record)

    assert updated["ts"] == posted["ts"]
    assert api.last_message("D0001")["blocks"][0]["text"]["text"] == "Kind: *Co-sell*"
    assert api.last_message("D0001")["edited"]["user"] == "UBOT"
    with pytest.raises(SlackApiError) as missing:
        await client.chat_update(channel="D0001", ts="1.000001", text="again")
    assert missing.value.response["error"] == "message_not_found"


async def test_views_users_and_conversations(api: SlackApiStandIn, client: AsyncWebClient) -> None:
    home = {"type": "home", "blocks": BLOCKS}
    published = await client.views_publish(user_id="U0001", view=home)
    opened = await client.conversations_open(users="U0001")
    again = await client.conversations_open(users="U0001")
    api.set_user(SlackUser("U0042", "lin", "Lin Chen", "Lin", "Chen", "lin.chen@contoso.example"))
    ada = await client.users_info(user="U0001")
    lin = await client.users_info(user="U0042")

    assert published["view"]["type"] == "home"
    assert published["view"]["id"].startswith("V")
    assert published["view"]["blocks"][0]["block_id"] == "q"
    [call] = api.calls("views.publish")
    assert call.args["view"]["blocks"] == BLOCKS
    assert opened["channel"]["id"] == "D0001"
    assert again["already_open"] is True
    assert ada["user"]["profile"]["email"] == DEFAULT_USERS[0].email
    assert ada["user"]["real_name"] == "Ada Lovelace"
    assert (lin["user"]["profile"]["first_name"], lin["user"]["profile"]["last_name"]) == (
        "Lin",
        "Chen",
    )
    with pytest.raises(SlackApiError) as unknown:
        await client.users_info(user="U9999")
    assert unknown.value.response["error"] == "user_not_found"
    with pytest.raises(SlackApiError) as not_home:
        await client.views_publish(user_id="U0001", view={"type": "modal", "blocks": []})
    assert not_home.value.response["error"] == "invalid_arguments"


async def test_an_update_reads_back_by_ts_and_a_closed_channel_refuses_it(
    api: SlackApiStandIn, client: AsyncWebClient
) -> None:
    first = await client.chat_postMessage(channel="C0APPROVALS", text="Waiting for approval")
    await client.chat_postMessage(channel="C0APPROVALS", text="Another card")
    await client.chat_update(channel="C0APPROVALS", ts=first["ts"], text="Approved by Grace")

    assert api.message("C0APPROVALS", first["ts"])["text"] == "Approved by Grace"
    assert api.last_message("C0APPROVALS")["text"] == "Another card"
    with pytest.raises(LookupError):
        api.message("C0APPROVALS", "1.000001")
    api.close_channel("C0APPROVALS", "is_archived")
    with pytest.raises(SlackApiError) as archived:
        await client.chat_update(channel="C0APPROVALS", ts=first["ts"], text="Too late")
    assert archived.value.response["error"] == "is_archived"
    assert api.message("C0APPROVALS", first["ts"])["text"] == "Approved by Grace"


async def test_usergroups_list_their_members_and_unknown_ones_are_refused(
    api: SlackApiStandIn, client: AsyncWebClient
) -> None:
    api.set_usergroup("S0APPROVERS", ["U0002", "W0003"])

    listed = await client.usergroups_users_list(usergroup="S0APPROVERS")
    with pytest.raises(SlackApiError) as unknown:
        await client.usergroups_users_list(usergroup="S0NOBODY")

    assert listed["users"] == ["U0002", "W0003"]
    assert unknown.value.response["error"] == "no_such_subteam"
    assert api.calls("usergroups.users.list")[0].args["usergroup"] == "S0APPROVERS"
    api.reset()
    with pytest.raises(SlackApiError):
        await client.usergroups_users_list(usergroup="S0APPROVERS")


MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "rb_reject_reason",
    "private_metadata": "apr-1",
    "title": {"type": "plain_text", "text": "Reject registration"},
    "submit": {"type": "plain_text", "text": "Reject"},
    "blocks": [
        {
            "type": "input",
            "block_id": "rb_reason",
            "label": {"type": "plain_text", "text": "Why?"},
            "element": {"type": "plain_text_input", "action_id": "rb_reason"},
        }
    ],
}


async def test_views_open_keeps_the_modal_and_takes_a_trigger_once(
    api: SlackApiStandIn, client: AsyncWebClient
) -> None:
    opened = await client.views_open(trigger_id="1.2.abc", view=MODAL)
    with pytest.raises(SlackApiError) as again:
        await client.views_open(trigger_id="1.2.abc", view=MODAL)
    with pytest.raises(SlackApiError) as without:
        await client.api_call("views.open", json={"view": MODAL})

    assert opened["view"]["id"].startswith("V")
    assert opened["view"]["private_metadata"] == "apr-1"
    assert opened["view"]["blocks"][0]["block_id"] == "rb_reason"
    (modal,) = api.modals()
    assert modal["trigger_id"] == "1.2.abc"
    assert modal["callback_id"] == "rb_reject_reason"
    assert again.value.response["error"] == "exchanged_trigger_id"
    assert without.value.response["error"] == "invalid_arguments"


@pytest.mark.parametrize(
    "broken",
    [
        {"submit": None},  # inputs without a submit button
        {"title": {"type": "plain_text", "text": "A title far longer than Slack takes"}},
        {"title": None},
        {"private_metadata": "x" * 3_001},
        {"type": "home"},
    ],
)
async def test_views_open_refuses_a_modal_slack_would_refuse(
    api: SlackApiStandIn, client: AsyncWebClient, broken: dict[str, Any]
) -> None:
    view = {key: value for key, value in {**MODAL, **broken}.items() if value is not None}
    with pytest.raises(SlackApiError) as refused:
        await client.views_open(trigger_id="1.2.def", view=view)
    assert refused.value.response["error"] == "invalid_arguments"
    assert api.modals() == []
    assert (await client.views_open(trigger_id="1.2.def", view=MODAL))["ok"]  # not used up


async def test_form_encoded_calls_are_parsed(api: SlackApiStandIn, client: AsyncWebClient) -> None:
    data = {"channel": "D0001", "text": "Hi", "blocks": json.dumps(BLOCKS)}
    await client.api_call("chat.postMessage", data=data)

    [call] = api.calls("chat.postMessage")
    assert call.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert call.blocks == BLOCKS


async def test_limits_and_unknown_methods_answer_as_slack_does(
    api: SlackApiStandIn, client: AsyncWebClient
) -> None:
    too_many = [{"type": "divider"}] * 51
    with pytest.raises(SlackApiError) as invalid:
        await client.chat_postMessage(channel="D0001", text="x", blocks=too_many)
    with pytest.raises(SlackApiError) as empty:
        await client.api_call("chat.postMessage", json={"channel": "D0001"})
    with pytest.raises(SlackApiError) as unknown:
        await client.api_call("chat.delete", json={"channel": "D0001", "ts": "1.000001"})

    assert invalid.value.response["error"] == "invalid_blocks"
    assert empty.value.response["error"] == "no_text"
    assert unknown.value.response["error"] == "unknown_method"
    assert api.messages_to("D0001") == []


async def test_calls_without_a_token_are_not_authed(api: SlackApiStandIn) -> None:
    anonymous = AsyncWebClient(base_url=api.base_url)
    with pytest.raises(SlackApiError) as refused:
        await anonymous.chat_postMessage(channel="D0001", text="hi")
    forged = AsyncWebClient(token="not-a-slack-token", base_url=api.base_url)
    with pytest.raises(SlackApiError) as invalid:
        await forged.auth_test()

    assert refused.value.response["error"] == "not_authed"
    assert invalid.value.response["error"] == "invalid_auth"
    assert [call.ok for call in api.calls()] == [False, False]


async def test_rate_limited_then_retried_after_retry_after(
    api: SlackApiStandIn, client: AsyncWebClient
) -> None:
    api.rate_limit("chat.postMessage", times=1, retry_after=0)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))

    posted = await client.chat_postMessage(channel="D0001", text="Hi")

    assert posted["ok"] is True
    assert [call.status for call in api.calls("chat.postMessage")] == [429, 200]
    assert api.calls("chat.postMessage")[0].error == "ratelimited"
    assert len(api.messages_to("D0001")) == 1


async def test_rate_limited_without_a_retry_handler_raises(
    api: SlackApiStandIn, client: AsyncWebClient
) -> None:
    api.rate_limit("views.publish", times=2, retry_after=7)
    for _ in range(2):
        with pytest.raises(SlackApiError) as limited:
            await client.views_publish(user_id="U0001", view={"type": "home", "blocks": []})
        assert limited.value.response.status_code == 429
        assert limited.value.response.headers["Retry-After"] == "7"
        assert limited.value.response["error"] == "ratelimited"
    assert (await client.views_publish(user_id="U0001", view={"type": "home", "blocks": []}))["ok"]


async def test_injected_errors(api: SlackApiStandIn, client: AsyncWebClient) -> None:
    api.fail("conversations.open", "account_inactive")
    with pytest.raises(SlackApiError) as failed:
        await client.conversations_open(users="U0001")
    assert failed.value.response["error"] == "account_inactive"
    assert (await client.conversations_open(users="U0001"))["ok"] is True


async def test_a_delayed_call_is_answered_late_and_only_the_next_times(
    api: SlackApiStandIn, client: AsyncWebClient
) -> None:
    api.delay("chat.postMessage", 0.3)
    posting = asyncio.create_task(client.chat_postMessage(channel="C0001", text="Late"))
    for _ in range(200):
        if api.held("chat.postMessage"):
            break
        await asyncio.sleep(0.01)
    assert api.held() == 1
    assert api.messages_to("C0001") == []  # not done while held
    assert (await posting)["ok"] is True
    assert api.held() == 0
    assert (await client.chat_postMessage(channel="C0001", text="At once"))["ok"] is True
    assert [call.status for call in api.calls("chat.postMessage")] == [200, 200]


async def test_a_delayed_call_whose_client_hangs_up_is_never_done(api: SlackApiStandIn) -> None:
    """As when the process that called is killed while Slack is slow: the stand-in posts
    nothing, and records the call as abandoned."""
    api.delay("chat.postMessage", 5.0)
    host, port = api.origin.removeprefix("http://").split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    body = json.dumps({"channel": "C0001", "text": "Never"}).encode()
    writer.write(
        b"POST /api/chat.postMessage HTTP/1.1\r\nHost: slack\r\n"
        b"Authorization: Bearer xoxb-test\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    for _ in range(200):
        if api.held("chat.postMessage"):
            break
        await asyncio.sleep(0.01)
    assert api.held("chat.postMessage") == 1
    writer.close()
    await writer.wait_closed()
    (call,) = await api.wait_for_async("chat.postMessage", timeout=2.0)
    assert call.status == CLIENT_GONE
    assert call.error == "client_gone"
    assert api.messages_to("C0001") == []
    assert api.held() == 0


def test_wait_for_wakes_on_a_call_from_another_thread(api: SlackApiStandIn) -> None:
    def post_later() -> None:
        with httpx.Client(base_url=api.base_url) as http:
            for text in ("one", "two"):
                http.post(
                    "chat.postMessage",
                    json={"channel": "D0001", "text": text},
                    headers={"Authorization": f"Bearer {TOKEN}"},
                ).raise_for_status()

    worker = threading.Thread(target=post_later)
    worker.start()
    try:
        calls = api.wait_for("chat.postMessage", count=2, timeout=5.0)
    finally:
        worker.join()

    assert [call.args["text"] for call in calls] == ["one", "two"]
    with pytest.raises(TimeoutError, match=r"0 of 1 views\.publish"):
        api.wait_for("views.publish", timeout=0.05)


async def test_wait_for_async_leaves_the_loop_free(
    api: SlackApiStandIn, client: AsyncWebClient
) -> None:
    calls, _ = await asyncio.gather(
        api.wait_for_async("chat.postMessage"),
        client.chat_postMessage(channel="D0001", text="hi"),
    )
    assert calls[0].args["channel"] == "D0001"


def test_listeners_see_each_call_as_it_is_recorded(api: SlackApiStandIn) -> None:
    seen: list[Call] = []
    stop = api.listen(seen.append)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=api.base_url, headers=headers) as http:
        for text in ("one", "two"):
            http.post("chat.postMessage", json={"channel": "D0001", "text": text})
        stop()
        http.post("chat.postMessage", json={"channel": "D0001", "text": "three"})

    assert [call.args["text"] for call in seen] == ["one", "two"]
    assert 0 < seen[0].at < seen[1].at
    assert seen == api.calls()[:2]


# response_url ------------------------------------------------------------------------------


class FakeClock:
    """Seconds that move only when told to."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def timed(clock: FakeClock) -> Iterator[SlackApiStandIn]:
    """A stand-in of its own on a clock the test moves."""
    with SlackApiStandIn(clock=clock) as stand_in:
        yield stand_in


@pytest.fixture
def tiered(clock: FakeClock) -> Iterator[SlackApiStandIn]:
    """A stand-in of its own enforcing the rate tiers, on a clock the test moves."""
    with SlackApiStandIn(clock=clock, rate_tiers=True) as stand_in:
        yield stand_in


async def test_replace_original_replaces_the_clicked_message(
    api: SlackApiStandIn, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="D0001", text="Which kind?", blocks=BLOCKS)
    await client.chat_postMessage(channel="D0001", text="Later")
    url = api.response_url("D0001", posted["ts"], user="U0001")
    record = [{"type": "section", "text": {"type": "mrkdwn", "text": "Kind: *Co-sell*"}}]

    # What Bolt's respond() does: a JSON post with slack_sdk's webhook client.
    sent = await AsyncWebhookClient(url).send(text="Kind", blocks=record, replace_original=True)

    assert url.startswith(api.origin + "/actions/T0001/")
    assert sent.status_code == 200
    assert json.loads(sent.body) == {"ok": True}
    replaced = api.messages_to("D0001")[0]
    assert (replaced["ts"], replaced["text"]) == (posted["ts"], "Kind")
    assert replaced["blocks"][0]["text"]["text"] == "Kind: *Co-sell*"
    assert [message["text"] for message in api.messages_to("D0001")] == ["Kind", "Later"]
    [use] = api.uses(url)
    assert use.args["replace_original"] is True
    assert use.use is not None
    assert (use.use.effect, use.use.channel, use.use.ts, use.use.number) == (
        "replaced",
        "D0001",
        posted["ts"],
        1,
    )
    assert use.use.message == replaced
    # The store stays consistent: a later chat.update edits the replaced message.
    await client.chat_update(channel="D0001", ts=posted["ts"], text="Edited")
    assert api.messages_to("D0001")[0]["blocks"] == replaced["blocks"]
    assert api.messages_to("D0001")[0]["text"] == "Edited"


async def test_delete_original_and_new_messages(
    api: SlackApiStandIn, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="D0001", text="Which kind?", blocks=BLOCKS)
    url = api.response_url("U0001", posted["ts"], user="U0001")
    hook = AsyncWebhookClient(url)

    ephemeral = await hook.send(text="Only you")
    in_channel = await hook.send(text="Everyone", response_type="in_channel")
    deleted = await hook.send_dict({"delete_original": True})
    gone = await hook.send(text="again", replace_original=True)

    assert [r.status_code for r in (ephemeral, in_channel, deleted, gone)] == [200, 200, 200, 404]
    assert json.loads(gone.body) == {"ok": False, "error": "message_not_found"}
    assert [message["text"] for message in api.messages_to("D0001")] == ["Everyone"]
    [only_you] = api.ephemeral_to("D0001")
    assert (only_you["text"], only_you["user"]) == ("Only you", "U0001")
    effects = [call.use.effect if call.use else call.error for call in api.uses(url)]
    assert effects == ["ephemeral", "posted", "deleted", "message_not_found"]
    with pytest.raises(SlackApiError) as missing:
        await client.chat_update(channel="D0001", ts=posted["ts"], text="x")
    assert missing.value.response["error"] == "message_not_found"


async def test_a_response_url_serves_five_uses(
    api: SlackApiStandIn, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="D0001", text="Which kind?")
    url = api.response_url("D0001", posted["ts"])
    hook = AsyncWebhookClient(url)

    empty = await hook.send_dict({"replace_original": True})  # refused: not a use
    answers = [await hook.send(text=f"take {n}", replace_original=True) for n in range(1, 7)]

    assert (empty.status_code, json.loads(empty.body)["error"]) == (400, "no_text")
    assert [answer.status_code for answer in answers] == [200] * 5 + [404]
    assert json.loads(answers[-1].body) == {"ok": False, "error": "expired_url"}
    assert api.last_message("D0001")["text"] == "take 5"
    assert [call.use.number if call.use else None for call in api.uses(url)] == [
        None, 1, 2, 3, 4, 5, None,
    ]  # fmt: skip
    # Each URL counts its own uses.
    fresh = api.response_url("D0001", posted["ts"])
    assert (
        await AsyncWebhookClient(fresh).send(text="6", replace_original=True)
    ).status_code == 200


async def test_a_response_url_expires_after_thirty_minutes(
    timed: SlackApiStandIn, clock: FakeClock
) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=timed.base_url)
    posted = await client.chat_postMessage(channel="D0001", text="Which kind?")
    command_url = timed.response_url("D0001", kind="commands")
    url = timed.response_url("D0001", posted["ts"])

    clock.now += 30 * 60
    in_time = await AsyncWebhookClient(url).send(text="in time", replace_original=True)
    nothing_to_replace = await AsyncWebhookClient(command_url).send(text="x", replace_original=True)
    clock.now += 1
    late = await AsyncWebhookClient(url).send(text="late", replace_original=True)

    assert command_url.startswith(timed.origin + "/commands/T0001/")
    assert in_time.status_code == 200
    assert nothing_to_replace.status_code == 404
    assert (late.status_code, json.loads(late.body)["error"]) == (404, "expired_url")
    assert timed.last_message("D0001")["text"] == "in time"


# Rate tiers --------------------------------------------------------------------------------


async def test_tiers_are_off_unless_asked_for(api: SlackApiStandIn, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="D0001", text="x")
    for _ in range(60):
        await client.chat_update(channel="D0001", ts=posted["ts"], text="y")
    assert api.counts()["chat.update"] == Count(60, 0)


async def test_a_tier_3_method_answers_429_with_retry_after_past_its_allowance(
    tiered: SlackApiStandIn, clock: FakeClock
) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=tiered.base_url)
    posted = await client.chat_postMessage(channel="D0001", text="x")
    for _ in range(50):  # Tier 3: 50 a minute
        await client.chat_update(channel="D0001", ts=posted["ts"], text="y")
    with pytest.raises(SlackApiError) as limited:
        await client.chat_update(channel="D0001", ts=posted["ts"], text="y")
    other_workspace = AsyncWebClient(token="xoxb-another", base_url=tiered.base_url)
    await other_workspace.chat_update(channel="D0001", ts=posted["ts"], text="z")
    clock.now += 1.2  # one call's worth: 60 s / 50
    await client.chat_update(channel="D0001", ts=posted["ts"], text="w")

    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "2"  # 1.2 s, in whole seconds
    assert limited.value.response["error"] == "ratelimited"
    assert tiered.counts()["chat.update"] == Count(calls=53, ratelimited=1)
    assert tiered.last_message("D0001")["text"] == "w"


async def test_usergroups_users_list_is_tier_2_and_views_open_tier_4(
    tiered: SlackApiStandIn, clock: FakeClock
) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=tiered.base_url)
    tiered.set_usergroup("S0APPROVERS", ["U0002"])
    for _ in range(20):  # Tier 2: 20 a minute
        await client.usergroups_users_list(usergroup="S0APPROVERS")
    with pytest.raises(SlackApiError) as limited:
        await client.usergroups_users_list(usergroup="S0APPROVERS")
    for number in range(100):  # Tier 4: 100 a minute
        await client.views_open(trigger_id=f"1.2.{number}", view=MODAL)
    with pytest.raises(SlackApiError) as too_many:
        await client.views_open(trigger_id="1.2.last", view=MODAL)

    assert limited.value.response.status_code == too_many.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "3"  # 60 s / 20
    assert tiered.counts()["usergroups.users.list"] == Count(calls=21, ratelimited=1)
    assert tiered.counts()["views.open"] == Count(calls=101, ratelimited=1)


async def test_post_message_allows_a_short_burst_per_channel(
    tiered: SlackApiStandIn, clock: FakeClock
) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=tiered.base_url)
    for _ in range(3):
        await client.chat_postMessage(channel="D0001", text="burst")
    with pytest.raises(SlackApiError) as limited:
        await client.chat_postMessage(channel="U0001", text="too soon")  # the same DM
    await client.chat_postMessage(channel="D0002", text="another channel")
    mark = tiered.mark()
    clock.now += 1
    await client.chat_postMessage(channel="D0001", text="a second later")
    url = tiered.response_url("D0001", tiered.last_message("D0001")["ts"])
    for _ in range(5):  # response_url posts are outside the tiers
        assert (
            await AsyncWebhookClient(url).send(text="r", replace_original=True)
        ).status_code == 200

    assert limited.value.response.headers["Retry-After"] == "1"
    assert tiered.counts()["chat.postMessage"] == Count(calls=6, ratelimited=1)
    assert tiered.counts(since=mark) == {"chat.postMessage": Count(1, 0), RESPONSE_URL: Count(5, 0)}
    tiered.set_rate_tiers(False)
    for _ in range(5):
        await client.chat_postMessage(channel="D0001", text="no limit")


# Signing -----------------------------------------------------------------------------------


def test_signature_matches_slacks_documented_example() -> None:
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
        b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
        b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
        b"commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert sign(SIGNING_SECRET, "1531420618", body) == expected


def test_signed_requests_pass_the_verifier_and_forgeries_fail() -> None:
    now = 1_700_000_000.0
    requests = SlackRequests(SIGNING_SECRET, clock=lambda: now)
    verifier = SignatureVerifier(SIGNING_SECRET, clock=FixedClock(now))
    built = [
        requests.command("new"),
        requests.action("rb_choose", value="kind|cosell"),
        requests.suggestion("rb_search", "rb_step:country", "ger"),
        requests.view_submission("rb_notes", {}),
        requests.dm_message("hello"),
        requests.home_opened(),
        requests.url_verification(),
    ]
    for request in built:
        assert verifier.is_valid_request(request.body, request.headers), request.payload

    command = built[0]
    tampered = command.with_body(command.body.replace(b"text=new", b"text=close"))
    assert not verifier.is_valid_request(tampered.body, tampered.headers)
    assert not SignatureVerifier("another-secret", clock=FixedClock(now)).is_valid_request(
        command.body, command.headers
    )
    stale = requests.command("new", age=301)
    assert not verifier.is_valid_request(stale.body, stale.headers)
    recent = requests.command("new", age=299)
    assert verifier.is_valid_request(recent.body, recent.headers)
    forged = requests.command("new", bad_signature=True)
    assert not verifier.is_valid_request(forged.body, forged.headers)


# Payload shapes ------------------------------------------------------------------------------


def test_payloads_keep_the_documented_shapes() -> None:
    requests = SlackRequests(SIGNING_SECRET, hooks_url="http://127.0.0.1:9")
    command = requests.command("show 123", user="U0002")
    fields = {name: values[0] for name, values in parse_qs(command.body.decode()).items()}
    documented = fixture("slash_command")
    assert set(fields) == set(documented)
    assert fields["command"] == "/referral"
    assert fields["text"] == "show 123"
    assert (fields["user_id"], fields["user_name"], fields["channel_id"]) == (
        "U0002",
        "grace",
        "D0002",
    )
    assert fields["response_url"].startswith("http://127.0.0.1:9/commands/T0001/")
    assert command.content_type == "application/x-www-form-urlencoded"

    action = requests.action("rb_choose", selected=[("US", "United States"), "DE"])
    payload = json.loads(parse_qs(action.body.decode())["payload"][0])
    assert set(payload) == set(fixture("block_actions"))
    [element] = payload["actions"]
    assert element["type"] == "multi_static_select"
    assert [option["value"] for option in element["selected_options"]] == ["US", "DE"]
    assert element["selected_options"][0]["text"]["text"] == "United States"
    assert payload["container"] == {
        "type": "message",
        "message_ts": payload["message"]["ts"],
        "channel_id": "D0001",
        "is_ephemeral": False,
    }

    message = requests.dm_message("hi", retry_num=1)
    assert message.headers["X-Slack-Retry-Num"] == "1"
    assert message.headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert message.payload["event"]["channel_type"] == "im"
    assert set(message.payload) == set(fixture("event_message_im"))
    opened = requests.home_opened()
    retried = requests.retry(opened, num=2)
    assert retried.body == opened.body  # the same event_id: the app must dedupe on it
    assert retried.headers["X-Slack-Retry-Num"] == "2"
    assert "X-Slack-Retry-Num" not in opened.headers
    ids = {requests.dm_message("a").payload["event_id"] for _ in range(3)}
    assert len(ids) == 3


def test_action_finds_the_block_of_the_clicked_element() -> None:
    requests = SlackRequests(SIGNING_SECRET)
    shown = {"ts": "1700000000.000100", "text": "Country?", "blocks": [
        {"type": "section", "block_id": "intro", "text": {"type": "mrkdwn", "text": "Country?"}},
        {"type": "section", "block_id": "rb_step:country", "text": {"type": "mrkdwn", "text": "x"},
         "accessory": {"type": "external_select", "action_id": "rb_search"}},
    ]}  # fmt: skip
    action = requests.action(
        "rb_search", selected=("DE", "Germany"), element_type="external_select", message=shown
    )
    [element] = action.payload["actions"]
    assert element["block_id"] == "rb_step:country"
    assert element["selected_option"]["value"] == "DE"
    assert action.payload["container"]["message_ts"] == "1700000000.000100"
    assert action.payload["message"]["blocks"] == shown["blocks"]


def test_a_click_on_a_home_view_carries_the_view_not_a_message() -> None:
    requests = SlackRequests(SIGNING_SECRET)
    home = {"id": "V0HOME", "type": "home", "blocks": [
        {"type": "actions", "block_id": "b1", "elements": [
            {"type": "button", "action_id": "rb_approve", "value": "apr-1",
             "text": {"type": "plain_text", "text": "Approve"}}]},
    ]}  # fmt: skip

    clicked = requests.view_action("rb_approve", home, value="apr-1", user="U0002")

    payload = clicked.payload
    assert payload["container"] == {"type": "view", "view_id": "V0HOME"}
    assert payload["view"]["blocks"] == home["blocks"]
    assert not {"message", "channel", "response_url"} & set(payload)
    [element] = payload["actions"]
    assert (element["block_id"], element["value"]) == ("b1", "apr-1")
    assert element["text"]["text"] == "Approve"
    assert payload["user"]["id"] == "U0002"
    verifier = SignatureVerifier(SIGNING_SECRET)
    assert verifier.is_valid_request(clicked.body, clicked.headers)


# Through a real Bolt app ------------------------------------------------------------------


@pytest.fixture
async def bolt(api: SlackApiStandIn) -> AsyncIterator[tuple[AsyncApp, httpx.AsyncClient]]:
    """A Bolt app behind Starlette, acking in-process, calling Slack through the stand-in."""
    app = AsyncApp(
        client=AsyncWebClient(token=TOKEN, base_url=api.base_url),
        signing_secret=SIGNING_SECRET,
        process_before_response=True,
    )
    handler = AsyncSlackRequestHandler(app)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    web = Starlette(routes=[Route("/slack/events", events, methods=["POST"])])
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot.test") as http:
        yield app, http


async def _send(http: httpx.AsyncClient, request: SignedRequest) -> httpx.Response:
    return await http.post(request.path, content=request.body, headers=request.headers)


async def test_bolt_accepts_every_payload(
    bolt: tuple[AsyncApp, httpx.AsyncClient], api: SlackApiStandIn, slack_requests: SlackRequests
) -> None:
    app, http = bolt
    seen: list[tuple[str, Any]] = []

    @app.command("/referral")
    async def command(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        seen.append(("command", command["text"]))
        await client.chat_postMessage(channel=command["user_id"], text="Which kind?", blocks=BLOCKS)

    @app.action("rb_choose")
    async def action(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        seen.append(("action", (action["block_id"], action["value"])))
        await respond(text="Co-sell it is", replace_original=False)

    @app.options("rb_search")
    async def options(ack: AsyncAck, payload: dict[str, Any]) -> None:
        seen.append(("options", payload["value"]))
        await ack(options=[{"text": {"type": "plain_text", "text": "Germany"}, "value": "DE"}])

    @app.event("message")
    async def message(event: dict[str, Any]) -> None:
        seen.append(("message", event["text"]))

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: AsyncWebClient) -> None:
        seen.append(("home", event["tab"]))
        await client.views_publish(user_id=event["user"], view={"type": "home", "blocks": []})

    assert (await _send(http, slack_requests.command("new"))).status_code == 200
    clicked = slack_requests.action(
        "rb_choose", value="kind|cosell", message=api.last_message("D0001")
    )
    assert (await _send(http, clicked)).status_code == 200
    suggested = await _send(http, slack_requests.suggestion("rb_search", "rb_step:country", "ger"))
    assert suggested.json()["options"][0]["value"] == "DE"
    assert (await _send(http, slack_requests.dm_message("Contoso"))).status_code == 200
    assert (await _send(http, slack_requests.home_opened())).status_code == 200
    challenge = await _send(http, slack_requests.url_verification("xyz"))
    assert challenge.json() == {"challenge": "xyz"}

    block_id = api.calls("chat.postMessage")[0].response["message"]["blocks"][1]["block_id"]
    assert seen == [
        ("command", "new"),
        ("action", (block_id, "kind|cosell")),
        ("options", "ger"),
        ("message", "Contoso"),
        ("home", "home"),
    ]
    assert len(api.calls("auth.test")) == 1
    [reply] = api.calls(RESPONSE_URL)
    assert reply.args["text"] == "Co-sell it is"
    assert reply.path.startswith("/actions/T0001/")
    # Minted for the clicked message: a post that does not replace it is an ephemeral one.
    assert reply.use is not None
    assert reply.use.effect == "ephemeral"
    assert api.calls("views.publish")[0].ok


async def test_bolt_rejects_forged_and_stale_requests(
    bolt: tuple[AsyncApp, httpx.AsyncClient], slack_requests: SlackRequests
) -> None:
    _, http = bolt
    forged = await _send(http, slack_requests.command("new", bad_signature=True))
    stale = await _send(http, slack_requests.command("new", age=6 * 60))
    assert (forged.status_code, stale.status_code) == (401, 401)
