"""The Slack edges of deal-registration approvals: clicks on an approval card in the approvals
channel, the reject modal and its submission, and who ``APPROVERS`` names.

Signed requests in Slack's shapes go into the web process alone (no worker), so each test
reads the turn it queued straight from its conversation's inbox; the approval card clicked is
the real one, rendered and posted to the Slack stand-in.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.web import build_web_app
from bot.conversation import ApprovalCard, Decision, Seller, Turn, Verdict
from bot.jobs import JobQueue
from bot.notifications.channels import Channel
from bot.referrals.models import DealRegistration
from cards.ids import REASON_INPUT, Action
from handlers.approvals import REASON_NEEDED
from handlers.slack import CARD_ACTIONS, DECISIONS, SlackChannelPoster, SlackReplier
from handlers.slack.groups import GROUP_SECONDS, UserGroups
from tests.handlers.slack.conftest import slack_settings
from tests.support.sandbox import Sandbox
from tests.support.sign_in import PUBLIC_URL
from tests.support.slack_payloads import SignedRequest, SlackRequests
from tests.support.slack_stand_in import RESPONSE_URL, SlackApiStandIn

APPROVALS = "C0APPROVALS"
APPROVER = "U0002"
UNREACHABLE = "I can't reach my memory right now"
PENDING = ApprovalCard(
    approval_id="apr-7f3a",
    status="pending",
    referral_id="3f2504e0-4f89-11d3-9a0c-0305e82c3301",
    referral_name="Contoso & Sons pilot",
    customer="Contoso",
    requester="Ada Lovelace",
    requested_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
    registration=DealRegistration(type="standard"),
    actions=("approve", "reject"),
)


@dataclass
class SlackWeb:
    """The web process under test (no worker), and how to talk to it the way Slack does."""

    http: httpx.AsyncClient
    requests: SlackRequests
    slack: SlackApiStandIn
    redis: Redis
    jobs: JobQueue
    team: str

    async def send(self, request: SignedRequest) -> httpx.Response:
        return await self.http.post(request.path, content=request.body, headers=request.headers)

    async def queued(self, user: str = APPROVER) -> list[Turn]:
        """The turns waiting in ``user``'s conversation, oldest first."""
        inbox = self.jobs.inbox(f"slack:{self.team}:{user}")
        return [
            Turn.model_validate(json.loads(entry)["payload"])
            for entry in await self.redis.lrange(inbox, 0, -1)
        ]

    async def post_card(self, view: ApprovalCard = PENDING) -> dict[str, Any]:
        """``view`` posted in the approvals channel as the worker posts it; the message."""
        client = AsyncWebClient(token="xoxb-test-token", base_url=self.slack.base_url)
        channel = Channel(platform="slack", workspace=self.team, id=APPROVALS)
        ts = await SlackChannelPoster(client).post_to_channel(channel, view)
        return self.slack.message(APPROVALS, ts)

    def click(self, card: dict[str, Any], action: Action, user: str = APPROVER) -> SignedRequest:
        """A click on the ``action`` button of ``card``, in the approvals channel."""
        value = button(card, action)["value"]
        return self.requests.action(action, value=value, message=card, channel=APPROVALS, user=user)

    def submit(self, reason: str | None, *, approval: str = PENDING.approval_id) -> SignedRequest:
        """The reject modal submitted with ``reason`` typed (None: left empty)."""
        state = {REASON_INPUT: {REASON_INPUT: {"type": "plain_text_input", "value": reason}}}
        return self.requests.view_submission(
            Action.REJECT_REASON, state, user=APPROVER, private_metadata=approval
        )


def button(message: dict[str, Any], action: Action) -> dict[str, Any]:
    """The element of ``message`` whose action id is ``action``."""
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == action:
                found: dict[str, Any] = element
                return found
    raise LookupError(f"no {action} button on the message")


@pytest.fixture
async def web(
    fresh_sandbox: Sandbox,
    fresh_slack_api: SlackApiStandIn,
    redis_url: str,
    redis: Redis,
    redis_namespace: str,
) -> AsyncIterator[SlackWeb]:
    settings = slack_settings(fresh_sandbox, fresh_slack_api, redis_url, redis_namespace)
    app = build_web_app(settings, worker=False)
    requests = SlackRequests(
        team_id=redis_namespace,
        hooks_url=fresh_slack_api.origin,
        response_urls=fresh_slack_api.response_url,
    )
    jobs = JobQueue(redis, stream=settings.job_stream)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
            yield SlackWeb(http, requests, fresh_slack_api, redis, jobs, redis_namespace)


# Clicks on the approval card ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "verdict", "actions"),
    [
        (Action.APPROVE, "approve", ("approve", "reject")),
        (Action.RETRY, "retry", ("retry", "reject")),
        (Action.WITHDRAW, "withdraw", ("withdraw",)),
    ],
)
async def test_a_decision_click_queues_a_decision_turn(
    web: SlackWeb, action: Action, verdict: Verdict, actions: tuple[Verdict, ...]
) -> None:
    card = await web.post_card(PENDING.model_copy(update={"actions": actions}))

    answer = await web.send(web.click(card, action))

    assert answer.status_code == 200
    assert answer.text == ""  # acknowledged; the card is rewritten by the worker
    (turn,) = await web.queued()
    assert turn.kind == "click"
    assert turn.action == Decision(approval=PENDING.approval_id, verdict=verdict)
    assert turn.conversation == f"slack:{web.team}:{APPROVER}"
    assert turn.seller.user_id == APPROVER
    # The channel's card is named, for the worker to rewrite it through the response_url;
    # answers still go to the clicker's DM, never to the channel.
    assert turn.card is not None
    assert (turn.card.channel, turn.card.message_id) == (APPROVALS, card["ts"])
    assert turn.address.get("channel") is None
    assert turn.address["response_url"]
    assert web.slack.calls("views.open") == []


async def test_two_clicks_on_one_button_are_two_deliveries(web: SlackWeb) -> None:
    card = await web.post_card()

    for _ in range(2):
        assert (await web.send(web.click(card, Action.APPROVE))).status_code == 200

    first, second = await web.queued()
    assert first.action == second.action
    assert first.delivery.startswith("action-")
    assert first.delivery != second.delivery


async def test_a_decision_button_without_an_approval_id_queues_nothing(web: SlackWeb) -> None:
    card = await web.post_card()
    click = web.requests.action(
        Action.APPROVE, value="", message=card, channel=APPROVALS, user=APPROVER
    )

    assert (await web.send(click)).status_code == 200
    assert await web.queued() == []


async def test_redis_refusing_a_decision_is_said_privately(web: SlackWeb) -> None:
    card = await web.post_card()
    await web.redis.delete(web.jobs.stream)
    await web.redis.set(web.jobs.stream, "not a stream")

    assert (await web.send(web.click(card, Action.APPROVE))).status_code == 200

    (told,) = web.slack.calls(RESPONSE_URL)
    assert told.use is not None
    assert told.use.effect == "ephemeral"
    assert UNREACHABLE in str(told.args)
    assert web.slack.message(APPROVALS, card["ts"]) == card  # the shared card is untouched


# Reject: the modal, then its submission ---------------------------------------------------------


async def test_reject_opens_the_modal_for_that_approval_and_queues_nothing(
    web: SlackWeb,
) -> None:
    card = await web.post_card()
    click = web.click(card, Action.REJECT)

    answer = await web.send(click)

    assert answer.status_code == 200
    (opened,) = web.slack.calls("views.open")
    assert opened.ok
    assert opened.args["trigger_id"] == click.payload["trigger_id"]
    (modal,) = web.slack.modals()
    assert modal["callback_id"] == Action.REJECT_REASON
    assert modal["private_metadata"] == PENDING.approval_id
    (reason,) = [block for block in modal["blocks"] if block["type"] == "input"]
    assert reason["block_id"] == reason["element"]["action_id"] == REASON_INPUT
    # The heading is the card's words, unescaped once (the modal escapes them itself).
    assert "Contoso &amp; Sons" in json.dumps(modal["blocks"])
    assert "&amp;amp;" not in json.dumps(modal["blocks"])
    assert await web.queued() == []
    assert await web.redis.xlen(web.jobs.stream) == 0


async def test_reject_from_a_message_without_words_opens_the_modal_all_the_same(
    web: SlackWeb,
) -> None:
    card = {**(await web.post_card()), "text": ""}

    assert (await web.send(web.click(card, Action.REJECT))).status_code == 200

    (modal,) = web.slack.modals()
    assert modal["private_metadata"] == PENDING.approval_id
    assert "Reject this deal registration" in json.dumps(modal["blocks"])


async def test_a_modal_that_cannot_open_is_said_privately(web: SlackWeb) -> None:
    card = await web.post_card()
    web.slack.fail("views.open", "expired_trigger_id")

    assert (await web.send(web.click(card, Action.REJECT))).status_code == 200

    (told,) = web.slack.calls(RESPONSE_URL)
    assert told.use is not None
    assert told.use.effect == "ephemeral"
    assert "Click Reject again" in str(told.args)
    assert await web.queued() == []


async def test_the_modal_submitted_with_a_reason_queues_the_rejection(web: SlackWeb) -> None:
    card = await web.post_card()
    await web.send(web.click(card, Action.REJECT))
    (modal,) = web.slack.modals()
    state = {REASON_INPUT: {REASON_INPUT: {"type": "plain_text_input", "value": "  Too early. "}}}
    submitted = web.requests.view_submission(
        Action.REJECT_REASON,
        state,
        user=APPROVER,
        private_metadata=modal["private_metadata"],
        view_id=modal["id"],
    )

    answer = await web.send(submitted)

    assert answer.status_code == 200
    assert answer.text == ""  # the modal closes
    (turn,) = await web.queued()
    assert turn.kind == "click"
    assert turn.action == Decision(
        approval=PENDING.approval_id, verdict="reject", reason="Too early."
    )
    assert turn.conversation == f"slack:{web.team}:{APPROVER}"
    assert turn.delivery == f"view-{modal['id']}"
    assert turn.card is None


@pytest.mark.parametrize("reason", [None, "", "   \n "])
async def test_a_blank_reason_is_refused_in_the_modal(web: SlackWeb, reason: str | None) -> None:
    answer = await web.send(web.submit(reason))

    assert answer.status_code == 200
    assert answer.json() == {"response_action": "errors", "errors": {REASON_INPUT: REASON_NEEDED}}
    assert await web.queued() == []


async def test_redis_refusing_a_rejection_is_said_on_the_modals_input(web: SlackWeb) -> None:
    await web.redis.delete(web.jobs.stream)
    await web.redis.set(web.jobs.stream, "not a stream")

    answer = await web.send(web.submit("Too early"))

    assert answer.json()["response_action"] == "errors"
    said = answer.json()["errors"][REASON_INPUT]
    assert UNREACHABLE in said
    assert "nothing changed" in said


MODAL_CALLBACKS = (Action.REJECT_REASON, Action.DECLINE_REASON)


@pytest.mark.parametrize("action", [action for action in Action if action not in MODAL_CALLBACKS])
def test_every_action_id_has_one_route(action: Action) -> None:
    """Bolt hands a click to the first route that matches: Reject (and an incoming
    referral's Decline) must reach its own listener, which opens the modal, and never the
    catch-all, which would queue a turn."""
    routes = [
        DECISIONS.match(action) is not None,
        action == Action.REJECT,
        action == Action.DECLINE,
        CARD_ACTIONS.match(action) is not None,
    ]
    assert routes.count(True) == 1


# Who APPROVERS names ---------------------------------------------------------------------------


class Clock:
    """Seconds that move only when told to."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def approver_turn(user: str = APPROVER) -> Turn:
    return Turn(
        platform="slack",
        conversation=f"slack:T0001:{user}",
        seller=Seller(user_id=user),
        delivery="action-1",
        kind="click",
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def replier(fresh_slack_api: SlackApiStandIn, clock: Clock) -> SlackReplier:
    client = AsyncWebClient(token="xoxb-test-token", base_url=fresh_slack_api.base_url)
    return SlackReplier(client, groups=UserGroups(clock=clock))


@pytest.mark.parametrize("user", ["U0002", "W0002"])
async def test_a_user_id_names_that_person_without_asking_slack(
    replier: SlackReplier, fresh_slack_api: SlackApiStandIn, user: str
) -> None:
    fresh_slack_api.set_usergroup("S0APPROVERS", [])

    assert await replier.named_by(approver_turn(user), frozenset({user, "S0APPROVERS"}))
    assert not await replier.named_by(approver_turn(user), frozenset({"U0001"}))
    assert fresh_slack_api.calls("usergroups.users.list") == []


async def test_a_user_group_names_its_members_and_is_remembered_five_minutes(
    replier: SlackReplier, fresh_slack_api: SlackApiStandIn, clock: Clock
) -> None:
    fresh_slack_api.set_usergroup("S0APPROVERS", ["U0003", APPROVER])
    names = frozenset({"U0009", "S0APPROVERS"})

    assert await replier.named_by(approver_turn(), names)
    assert not await replier.named_by(approver_turn("U0001"), names)
    (listed,) = fresh_slack_api.calls("usergroups.users.list")
    assert listed.args["usergroup"] == "S0APPROVERS"

    fresh_slack_api.set_usergroup("S0APPROVERS", ["U0001"])  # the group changes
    clock.now += GROUP_SECONDS - 1
    assert await replier.named_by(approver_turn(), names)  # still the remembered members
    clock.now += 2
    assert not await replier.named_by(approver_turn(), names)
    assert await replier.named_by(approver_turn("U0001"), names)
    assert len(fresh_slack_api.calls("usergroups.users.list")) == 2


async def test_a_group_slack_refuses_to_list_names_nobody_and_is_logged(
    replier: SlackReplier,
    fresh_slack_api: SlackApiStandIn,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fresh_slack_api.set_usergroup("S0APPROVERS", [APPROVER])

    with caplog.at_level(logging.WARNING, logger="handlers.slack.groups"):
        assert not await replier.named_by(approver_turn(), frozenset({"S0GONE"}))
        assert not await replier.named_by(approver_turn(), frozenset({"S0GONE"}))
    # Another group in the names still counts.
    assert await replier.named_by(approver_turn(), frozenset({"S0GONE", "S0APPROVERS"}))

    assert [call.error for call in fresh_slack_api.calls("usergroups.users.list")] == [
        "no_such_subteam",
        None,
    ]
    (logged,) = caplog.records
    assert "S0GONE" in logged.getMessage()
    assert "no_such_subteam" in logged.getMessage()


async def test_a_rate_limited_group_is_asked_again_next_time(
    replier: SlackReplier, fresh_slack_api: SlackApiStandIn
) -> None:
    fresh_slack_api.set_usergroup("S0APPROVERS", [APPROVER])
    fresh_slack_api.rate_limit("usergroups.users.list", retry_after=0)

    assert not await replier.named_by(approver_turn(), frozenset({"S0APPROVERS"}))
    assert await replier.named_by(approver_turn(), frozenset({"S0APPROVERS"}))
    assert [call.status for call in fresh_slack_api.calls("usergroups.users.list")] == [429, 200]
