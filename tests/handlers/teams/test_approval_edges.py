"""The Teams edges of deal-registration approvals: ``Action.Execute`` invokes from an approval
card, and who ``APPROVERS`` names.

Activities in Teams' documented shapes, with tokens signed by the stand-in's key, go into the
web process alone (no worker), so each test reads the turn it queued straight from its
conversation's inbox. The approval card clicked is the real one, rendered and posted to the
Deal Approvals channel through the Teams stand-in's Bot Connector.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from microsoft_teams.apps import App
from redis.asyncio import Redis

from bot.app.platforms import build_teams_app, teams_running
from bot.app.web import build_web_app
from bot.approvals.store import Approvals, Request
from bot.conversation import ApprovalCard, Decision, Turn, Verdict
from bot.jobs import JobQueue
from bot.notifications.channels import Channel
from bot.references import ReferenceBook
from bot.referrals.models import DealRegistration
from bot.settings import Settings
from cards.ids import REASON_INPUT, Action
from cards.teams import card
from handlers.approvals import DECISION_TAKEN, REASON_NEEDED
from handlers.teams import MESSAGES_PATH, TeamsChannelPoster, TeamsReplier, TeamsSender, turns
from handlers.teams.sender import Address
from tests.cards.test_teams import executes
from tests.handlers.teams.conftest import card_of, teams_settings
from tests.support.identity_stand_in import IdentityStandIn
from tests.support.sandbox import Sandbox
from tests.support.sign_in import PUBLIC_URL
from tests.support.teams_stand_in import (
    DEFAULT_TEAM,
    GET_MEMBER,
    MANAGER,
    SELLER,
    SEND,
    TENANT_ID,
    UPDATE,
    TeamsActivities,
    TeamsStandIn,
    TeamsUser,
    personal_conversation_id,
)

APPROVALS = DEFAULT_TEAM.channels[1]
STRANGER = TeamsUser(
    "29:1edsger-dijkstra", "3a2b1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d", "Edsger Dijkstra", "Edsger",
    "Dijkstra", "edsger@contoso.example",
)  # fmt: skip
"""Neither the requester nor an approver."""
MESSAGE = "application/vnd.microsoft.activity.message"
UNREACHABLE = "I can't reach my memory right now"
PENDING = ApprovalCard(
    approval_id="apr-7f3a",
    status="pending",
    referral_id="3f2504e0-4f89-11d3-9a0c-0305e82c3301",
    referral_name="Contoso pilot",
    customer="Contoso",
    requester="Ada Lovelace",
    requested_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
    registration=DealRegistration(type="standard"),
    actions=("approve", "reject"),
)


def approvals_channel(teams: TeamsStandIn) -> Channel:
    """The Deal Approvals channel, with the reference saved when the bot joined the team."""
    reference = {
        "serviceUrl": teams.service_url,
        "conversation": {"id": APPROVALS.id, "conversationType": "channel", "tenantId": TENANT_ID},
        "channelId": "msteams",
    }
    return Channel(
        platform="teams", workspace=TENANT_ID, id=APPROVALS.id, name=APPROVALS.name,
        reference=reference,
    )  # fmt: skip


@dataclass
class TeamsWeb:
    """The web process under test (no worker), the bot's SDK app for posting as a worker
    does, and how to talk to both the way Teams does."""

    http: httpx.AsyncClient
    activities: TeamsActivities
    teams: TeamsStandIn
    sdk: App
    settings: Settings
    redis: Redis
    jobs: JobQueue

    @property
    def sender(self) -> TeamsSender:
        return TeamsSender(self.sdk, self.settings.teams_service_url_hosts)

    async def post(self, activity: Mapping[str, Any]) -> httpx.Response:
        headers = self.activities.headers(activity)
        return await self.http.post(MESSAGES_PATH, json=dict(activity), headers=headers)

    async def queued(self, user: TeamsUser = MANAGER) -> list[Turn]:
        """The turns waiting in ``user``'s conversation, oldest first."""
        inbox = self.jobs.inbox(f"teams:{TENANT_ID}:{user.aad_object_id}")
        return [
            Turn.model_validate(json.loads(entry)["payload"])
            for entry in await self.redis.lrange(inbox, 0, -1)
        ]

    async def post_card(self, view: ApprovalCard = PENDING) -> str:
        """``view`` posted in the approvals channel as the worker posts it; its activity id."""
        poster = TeamsChannelPoster(self.sender)
        return await poster.post_to_channel(approvals_channel(self.teams), view)

    def click(
        self,
        card_id: str,
        verb: Action,
        *,
        reason: str | None = None,
        user: TeamsUser = MANAGER,
        channel: bool = True,
    ) -> dict[str, Any]:
        """The invoke of ``verb`` on the card ``card_id``, with ``reason`` in its box."""
        content = card_of(self.teams.message(card_id))
        (action,) = [each for each in executes(content) if each["verb"] == verb]
        data = dict(action["data"])
        if reason is not None:
            data[REASON_INPUT] = reason  # Teams merges the inputs into the data by id
        return self.activities.card_action(
            verb,
            data,
            reply_to_id=card_id,
            user=user,
            channel=APPROVALS if channel else None,
        )


@pytest.fixture
async def web(
    sandbox: Sandbox,
    fresh_teams_api: TeamsStandIn,
    teams_activities: TeamsActivities,
    identity: IdentityStandIn,
    redis_url: str,
    redis: Redis,
    redis_namespace: str,
) -> AsyncIterator[TeamsWeb]:
    fresh_teams_api.set_user(STRANGER)
    settings = teams_settings(
        sandbox,
        fresh_teams_api,
        identity,
        redis_url,
        redis_namespace,
        approvers=MANAGER.aad_object_id,
    )
    app = build_web_app(settings, worker=False)
    jobs = JobQueue(redis, stream=settings.job_stream)
    # The request the card stands for: the web process reads it to refuse a click at once.
    await Approvals(redis, stream=settings.job_stream).request(
        Request(
            referral_id=PENDING.referral_id,
            requester=f"teams:{TENANT_ID}:{SELLER.aad_object_id}",
            requester_name=PENDING.requester,
            registration=PENDING.registration.to_wire(),
        ),
        now=PENDING.requested_at,
        approval_id=PENDING.approval_id,
    )
    async with (
        teams_running(build_teams_app(settings)) as sdk,
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC_URL) as http,
    ):
        yield TeamsWeb(http, teams_activities, fresh_teams_api, sdk, settings, redis, jobs)


def answered_with_a_message(response: httpx.Response) -> str:
    """The words of an invoke answered with a message (to the clicker alone), not a card."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["statusCode"] == 200
    assert body["type"] == MESSAGE
    said: str = body["value"]
    return said


# Clicks on the approval card in the channel ---------------------------------------------------


@pytest.mark.parametrize(
    ("verb", "verdict", "actions", "reason"),
    [
        (Action.APPROVE, "approve", ("approve", "reject"), None),
        (Action.REJECT, "reject", ("approve", "reject"), "Too early for Microsoft."),
        (Action.RETRY, "retry", ("retry", "reject"), None),
    ],
)
async def test_a_decision_is_queued_and_answered_with_a_message_not_a_card(
    web: TeamsWeb,
    verb: Action,
    verdict: Verdict,
    actions: tuple[Verdict, ...],
    reason: str | None,
) -> None:
    card_id = await web.post_card(PENDING.model_copy(update={"actions": actions}))
    posted = web.teams.message(card_id)

    answer = await web.post(web.click(card_id, verb, reason=f"  {reason} " if reason else None))

    assert answered_with_a_message(answer) == DECISION_TAKEN
    (turn,) = await web.queued()
    assert turn.kind == "click"
    assert turn.action == Decision(approval=PENDING.approval_id, verdict=verdict, reason=reason)
    assert turn.conversation == f"teams:{TENANT_ID}:{MANAGER.aad_object_id}"
    assert turn.seller.user_id == MANAGER.aad_object_id
    assert turn.shared
    # Not answered in place, and no card named: the worker rewrites the shared card.
    assert not turn.answered_in_place
    assert turn.card is None
    assert turn.address["user"] == MANAGER.id
    assert turn.address["reference"]["conversation"]["id"].startswith(APPROVALS.id)
    # The web process changed nothing in Teams: the card is as it was posted.
    assert web.teams.calls(UPDATE) == []
    assert len(web.teams.calls(SEND)) == 1
    assert web.teams.message(card_id) == posted


@pytest.mark.parametrize("reason", [None, "", "   "])
async def test_a_rejection_without_a_reason_is_refused_and_not_queued(
    web: TeamsWeb, reason: str | None
) -> None:
    card_id = await web.post_card()

    answer = await web.post(web.click(card_id, Action.REJECT, reason=reason))

    assert answered_with_a_message(answer) == REASON_NEEDED
    assert await web.queued() == []


async def test_a_decision_by_the_requester_is_not_taken_for_someone_elses_card(
    web: TeamsWeb,
) -> None:
    """Approval cards name no owner: neither the someone-else's-draft answer nor the
    channel-notification one may swallow a decision."""
    card_id = await web.post_card(PENDING.model_copy(update={"actions": ("withdraw",)}))

    answer = await web.post(web.click(card_id, Action.WITHDRAW, user=SELLER))

    assert answered_with_a_message(answer) == DECISION_TAKEN
    (turn,) = await web.queued(SELLER)
    assert turn.action == Decision(approval=PENDING.approval_id, verdict="withdraw")


@pytest.mark.parametrize(
    ("who", "refused"),
    [(STRANGER, "Only approvers decide"), (SELLER, "You asked for this registration yourself")],
)
async def test_a_refused_click_is_answered_to_the_clicker_alone_and_not_queued(
    web: TeamsWeb, who: TeamsUser, refused: str
) -> None:
    card_id = await web.post_card()
    posted = web.teams.message(card_id)

    answer = await web.post(web.click(card_id, Action.APPROVE, user=who))

    said = answered_with_a_message(answer)
    assert refused in said
    assert "nothing changed" in said.lower()
    assert await web.queued(who) == []
    assert len(web.teams.calls(SEND)) == 1  # the card itself: nothing said in the channel
    assert web.teams.message(card_id) == posted


async def test_only_the_requester_may_withdraw(web: TeamsWeb) -> None:
    card_id = await web.post_card(PENDING.model_copy(update={"actions": ("withdraw",)}))

    answer = await web.post(web.click(card_id, Action.WITHDRAW, user=MANAGER))

    assert "Only the person who asked can withdraw" in answered_with_a_message(answer)
    assert await web.queued(MANAGER) == []


async def test_a_decision_in_a_personal_chat_names_its_card(web: TeamsWeb) -> None:
    chat = personal_conversation_id(SELLER)
    view = PENDING.model_copy(update={"actions": ("withdraw",)})
    card_id = await web.sender.post(Address(web.teams.service_url, chat), card(view))

    answer = await web.post(web.click(card_id, Action.WITHDRAW, user=SELLER, channel=False))

    assert answered_with_a_message(answer) == DECISION_TAKEN
    (turn,) = await web.queued(SELLER)
    assert not turn.shared
    assert not turn.answered_in_place
    assert turn.card is not None
    assert (turn.card.channel, turn.card.message_id) == (chat, card_id)


async def test_redis_refusing_a_decision_is_said_in_a_message_and_the_card_stays(
    web: TeamsWeb,
) -> None:
    card_id = await web.post_card()
    posted = web.teams.message(card_id)
    await web.redis.delete(web.jobs.stream)
    await web.redis.set(web.jobs.stream, "not a stream")

    answer = await web.post(web.click(card_id, Action.APPROVE))

    said = answered_with_a_message(answer)
    assert UNREACHABLE in said
    assert "nothing changed" in said
    assert web.teams.message(card_id) == posted


async def test_a_failure_on_an_approval_card_is_said_in_a_message_not_a_card(
    web: TeamsWeb, monkeypatch: pytest.MonkeyPatch
) -> None:
    card_id = await web.post_card()
    posted = web.teams.message(card_id)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the click could not be read")

    monkeypatch.setattr(turns, "click_turn", broken)
    answer = await web.post(web.click(card_id, Action.APPROVE))

    said = answered_with_a_message(answer)
    assert "nothing changed" in said
    assert "Reference: " in said
    assert await web.queued() == []
    assert web.teams.message(card_id) == posted


# Who APPROVERS names ---------------------------------------------------------------------------


async def a_click_turn(web: TeamsWeb, user: TeamsUser = MANAGER) -> Turn:
    """The turn of ``user``'s Approve click in the approvals channel, as the worker gets it."""
    card_id = await web.post_card()
    await web.post(web.click(card_id, Action.APPROVE, user=user))
    (turn,) = await web.queued(user)
    return turn


@pytest.fixture
def replier(web: TeamsWeb) -> TeamsReplier:
    return TeamsReplier(web.sender, ReferenceBook(web.redis))


async def test_the_entra_object_id_names_the_person_without_asking_teams(
    web: TeamsWeb, replier: TeamsReplier
) -> None:
    turn = await a_click_turn(web)

    assert await replier.named_by(turn, frozenset({MANAGER.aad_object_id.upper()}))
    assert not await replier.named_by(turn, frozenset({SELLER.aad_object_id}))
    assert web.teams.calls(GET_MEMBER) == []  # no email named: nothing to look up


async def test_an_email_names_the_person_whatever_its_case(
    web: TeamsWeb, replier: TeamsReplier
) -> None:
    turn = await a_click_turn(web)

    assert await replier.named_by(turn, frozenset({"GRACE.Hopper@Contoso.example"}))
    assert not await replier.named_by(turn, frozenset({SELLER.email, SELLER.aad_object_id}))
    (member, _) = web.teams.calls(GET_MEMBER)
    assert member.path.endswith(f"/members/{MANAGER.id}")
