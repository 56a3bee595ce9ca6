"""A ``referral-bot worker`` killed (``kill -9``) in the middle of a seller's work, and a second
worker taking over: no draft is lost, no turn is done twice, no second referral is made.

The worker is a real child process, as the Procfile runs it; Slack's requests go in through
the web app (``serve --no-worker``'s app, in this process: it only queues), signed and shaped
as Slack sends them. Replies land in the Slack stand-in, referrals in the sandbox, drafts and
jobs in the suite's Redis (a job stream of the test's own). Each kill is put where it hurts:
Slack, or Partner Center, is made slow at the chosen point, the worker is killed while the
call is held, and the next worker starts once a minute has passed for the dead worker's
traces (:func:`a_minute_passes_here`).

1. Mid-turn: the seller's answer is stored and the turn is busy telling Slack (turning the
   answered card into its record, or posting the next question) when the worker dies. The
   next worker finishes that turn once: the next question is asked once, the answer is not
   applied a second time, and the flow goes on to a review listing every earlier answer.
2. Mid-submit: the create has reached Partner Center (the sandbox made the referral) and its
   answer is still on the way when the worker dies. The next worker looks the referral up by
   the draft's key before sending anything, finds it, and shows it to the seller once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.app.web import build_web_app
from bot.conversation.runtime.session_store import KeyBuilder, RedisSessionStore
from bot.jobs import GROUP
from bot.jobs.keys import StreamKeys
from cards.ids import Action
from cards.slack import encode_choice
from tests.handlers.slack.conftest import slack_settings
from tests.handlers.slack.test_notification_faults import (
    A_MINUTE_MS,
    a_minute_passes,
    until,
    until_async,
    worker_env,
    workers,
)
from tests.support.sandbox import Sandbox
from tests.support.slack_payloads import (
    USER_ID,
    ResponseUrls,
    SignedRequest,
    SlackRequests,
    dm_channel_id,
)
from tests.support.slack_stand_in import CLIENT_GONE, RESPONSE_URL, SlackApiStandIn

DM = dm_channel_id(USER_ID)
NAME = "Fabrikam - worker killed"
CUSTOMER = "Fabrikam Inc"
STREET = "1 Main St"
BEFORE_THE_KILL = [NAME, CUSTOMER]
"""Typed after the kind of deal is clicked, before the answer whose turn is cut short."""
KILLED_ANSWER = STREET
AFTER_THE_KILL = ["skip", "Seattle", "WA", "98101", "US", "10 to 50 employees"]
AFTER_THE_KILL += ["skip", "50k", "2027-03-31"]  # no contact; the currency is the country's
AFTER_THE_KILL += ["all", "skip", "skip", "skip", "skip", "skip", "skip", "yes", "yes", "skip"]
CARDS_TO_REVIEW = 2 + len(BEFORE_THE_KILL) + 1 + len(AFTER_THE_KILL)
"""The DM's messages once the review is shown: the kind of deal's card, one question per
answer, and the review (the same count as a flow nobody killed, see ``test_slack``)."""
REVIEW = "check your answers"
CREATED = "Created your referral"
HELD_SECONDS = 10.0
"""How long Slack sits on the call the first worker makes (it is killed long before)."""
ANSWERED_LATE = 5.0
"""How late the sandbox answers the create (it is made at once; the worker dies meanwhile)."""
TURN_SECONDS = 10.0
"""How long one turn may take to show in the DM (a worker starting included)."""


# The seller, through the web process ------------------------------------------------------------


@dataclass
class Seller:
    """Ada (``U0001``) in her DM with the bot, talking to it through the web app."""

    http: httpx.AsyncClient
    requests: SlackRequests
    slack: SlackApiStandIn

    async def send(self, request: SignedRequest) -> None:
        answer = await self.http.post(request.path, content=request.body, headers=request.headers)
        assert answer.status_code == 200, answer.text

    def cards(self) -> list[dict[str, Any]]:
        """The DM's messages as they stand now (records and replacements applied)."""
        return self.slack.messages_to(DM)

    async def shown(self, count: int) -> dict[str, Any]:
        """Wait until the DM holds ``count`` messages; the last one."""
        await until(lambda: len(self.cards()) >= count, TURN_SECONDS, f"message {count} in the DM")
        return self.cards()[-1]

    async def types(self, text: str) -> None:
        await self.send(self.requests.dm_message(text))

    async def clicks(self, action: Action, card: dict[str, Any], value: str | None = None) -> None:
        await self.send(self.requests.action(action, value=value, message=card))

    async def starts_a_draft(self) -> None:
        """``/referral new``, the kind of deal clicked, then the answers before the kill: the
        question after them (the street) is the last card in the DM."""
        await self.send(self.requests.command("new"))
        kinds = await self.shown(1)
        await self.clicks(Action.CHOOSE, kinds, encode_choice("deal_kind", "private"))
        await self.shown(2)
        for count, text in enumerate(BEFORE_THE_KILL, start=3):
            await self.types(text)
            await self.shown(count)

    async def answers(self, texts: list[str], *, after: int) -> dict[str, Any]:
        """Type ``texts`` one by one, each once the question before it is shown; the last
        card (the DM held ``after`` messages before)."""
        card = self.cards()[-1]
        for count, text in enumerate(texts, start=after + 1):
            await self.types(text)
            card = await self.shown(count)
        return card


def response_urls_of(slack: SlackApiStandIn) -> ResponseUrls:
    """``response_url``s minted by the stand-in, bound to the message clicked (a reply through
    one replaces that message, as Slack does)."""

    def mint(channel: str, message_ts: str | None, *, user: str, kind: str, team_id: str) -> str:
        minted: Literal["actions", "commands"] = "commands" if kind == "commands" else "actions"
        return slack.response_url(channel, message_ts, user=user, kind=minted, team_id=team_id)

    return mint


@asynccontextmanager
async def seller_at_the_web(
    sandbox: Sandbox, slack: SlackApiStandIn, redis_url: str, namespace: str
) -> AsyncIterator[Seller]:
    """The web app (the Procfile's ``serve --no-worker``: it checks, acknowledges and queues)
    in this process, and Ada talking to it as Slack does."""
    settings = slack_settings(sandbox, slack, redis_url, namespace)
    app = build_web_app(settings, worker=False)
    requests = SlackRequests(
        team_id=namespace, hooks_url=slack.origin, response_urls=response_urls_of(slack)
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as http:
            yield Seller(http, requests, slack)


# Redis ------------------------------------------------------------------------------------------


def conversation_of(namespace: str) -> str:
    return f"slack:{namespace}:{USER_ID}"


async def draft(redis: Redis, namespace: str) -> dict[str, Any] | None:
    """Ada's draft as stored (None: there is none)."""
    stored = await RedisSessionStore(redis).load(conversation_of(namespace))
    return None if stored is None else dict(json.loads(stored.data))


async def a_minute_passes_here(redis: Redis, stream: str, namespace: str) -> None:
    """:func:`a_minute_passes` for every trace of this test's deployment: the job stream's
    (the dead worker's job and inbox lease) and the conversation's too (the claim a submit
    holds, which lapses in ``SUBMIT_CLAIM_SECONDS``). A worker reclaims a job a minute after
    its worker died, so a minute on is what the next worker meets; it is done at once here,
    not waited for. Nothing of the product is changed or bypassed."""
    await a_minute_passes(redis, stream)
    keys = KeyBuilder()
    pattern = f"{keys.prefix}:{keys.tag(conversation_of(namespace))}:*"
    async for key in redis.scan_iter(match=pattern, count=1000):
        if 0 <= await redis.pttl(key) <= A_MINUTE_MS:
            await redis.delete(key)


async def job_streams(redis: Redis, stream: str) -> list[str]:
    """Every stream jobs of the deployment wait in: the job stream, and the streams of its
    workers' own (the jobs of a conversation a worker served last are sent to it)."""
    found = {stream}
    async for key in redis.scan_iter(match=f"{StreamKeys(stream).slot}:*", count=1000):
        name = key.decode() if isinstance(key, bytes) else str(key)
        if await redis.type(name) in (b"stream", "stream"):
            found.add(name)
    return sorted(found)


async def pending(redis: Redis, stream: str) -> int:
    """Jobs read by a worker and not acknowledged, in any of the deployment's streams."""
    count = 0
    for name in await job_streams(redis, stream):
        with contextlib.suppress(ResponseError):  # no group on it (yet)
            count += int((await redis.xpending(name, GROUP))["pending"])
    return count


async def waiting(redis: Redis, stream: str) -> int:
    """Jobs in any of the deployment's streams (done jobs leave them)."""
    return sum([await redis.xlen(name) for name in await job_streams(redis, stream)])


async def settled(redis: Redis, stream: str, within: float = 10.0) -> None:
    """Wait until every job queued so far is done."""
    await until_async(lambda: _none_waiting(redis, stream), within, "every job to be done")


async def _none_waiting(redis: Redis, stream: str) -> bool:
    return not await waiting(redis, stream)


def said(message: dict[str, Any]) -> str:
    return str(message.get("text", "")) + json.dumps(message.get("blocks", []))


def asks(card: dict[str, Any]) -> str | None:
    """The step a question card asks (its Back, Skip and Review buttons name it)."""
    for block in card.get("blocks", []):
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if element.get("action_id") in (Action.BACK, Action.SKIP, Action.REVIEW):
                return str(element["value"])
    return None


def reviewed(card: dict[str, Any]) -> dict[str, str]:
    """What a review card lists, by label: each group is a section whose Edit button names
    it, its answers one a line (``*The customer*\nCustomer: Fabrikam Inc``)."""
    listed = {}
    for block in card.get("blocks", []):
        edit = block.get("accessory") or {}
        if edit.get("action_id") == Action.EDIT:
            _, _, lines = block["text"]["text"].partition("\n")
            for line in lines.splitlines():
                label, _, answer = line.partition(": ")
                listed[label] = answer
    return listed


# 1. Killed mid-turn ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "slow",
    ["chat.update", "chat.postMessage"],
    ids=["recording-the-answered-card", "posting-the-next-question"],
)
async def test_a_turn_cut_short_by_kill_9_is_finished_once_by_the_next_worker(
    slow: str,
    tmp_path: Path,
    fresh_sandbox: Sandbox,
    fresh_slack_api: SlackApiStandIn,
    redis: Redis,
    redis_url: str,
    redis_namespace: str,
) -> None:
    """Ada answers the street; the worker stores the answer, then Slack sits on the call
    that tells her (``slow``): the answered card turned into its record, or the next question
    posted. The worker is killed there. The next worker finishes the turn: the street is
    kept, not applied again to the next question, which is asked once; the draft goes on to
    its review, which lists every answer given before the kill."""
    stream = f"rb:jobs:{redis_namespace}"
    env = {
        **worker_env(
            tmp_path,
            redis_url=redis_url,
            stream=stream,
            slack=fresh_slack_api,
            partner_center=fresh_sandbox.base_url,
            poll_interval=3600,  # no poll: the only jobs are Ada's turns
        ),
        "SLACK_ALLOWED_TEAMS": redis_namespace,
    }
    async with (
        workers(tmp_path, env, stream) as start,
        seller_at_the_web(fresh_sandbox, fresh_slack_api, redis_url, redis_namespace) as ada,
    ):
        first = await start("first")
        await ada.starts_a_draft()
        asked = len(ada.cards())
        street_card = ada.cards()[-1]
        assert asks(street_card) == "address", said(street_card)

        fresh_slack_api.delay(slow, HELD_SECONDS)
        await ada.types(KILLED_ANSWER)
        await until(lambda: fresh_slack_api.held(slow) == 1, TURN_SECONDS, f"{slow} held")
        first.signal(signal.SIGKILL)
        assert await first.exited() == -signal.SIGKILL
        await until(
            lambda: any(call.status == CLIENT_GONE for call in fresh_slack_api.calls(slow)),
            5,
            f"the held {slow} to be abandoned",
        )

        # Killed mid-turn: the answer stored, the turn's job not done, Ada not told yet.
        stored = await draft(redis, redis_namespace)
        assert stored is not None
        assert stored["answers"]["address_line1"] == STREET
        assert len(ada.cards()) == asked, "the next question was posted before the kill"
        recorded = f"✓ {STREET}" in said(fresh_slack_api.message(DM, street_card["ts"]))
        assert recorded == (slow == "chat.postMessage")
        assert await pending(redis, stream) == 1

        await a_minute_passes_here(redis, stream, redis_namespace)
        await start("second")
        following = await ada.shown(asked + 1)
        await settled(redis, stream)
        await asyncio.sleep(0.5)  # anything more that was coming has come

        # The turn done once: one next question, asking what follows the street.
        assert len(ada.cards()) == asked + 1
        assert asks(following) == "address_line2", said(following)
        answered = fresh_slack_api.message(DM, street_card["ts"])
        assert f"✓ {STREET}" in said(answered)
        stored = await draft(redis, redis_namespace)
        assert stored is not None
        assert stored["answers"]["address_line1"] == STREET
        assert "address_line2" not in stored["answers"], "the street was applied twice"

        # The flow goes on, with every answer given before the kill still there.
        review = await ada.answers(AFTER_THE_KILL, after=asked + 1)
        await settled(redis, stream)

    assert REVIEW in said(review), said(review)
    listed = reviewed(review)
    assert listed["Referral name"] == NAME
    assert listed["Customer"] == CUSTOMER
    # No second line: skipped after the kill, not the street again.
    assert listed["Address"] == f"{STREET}, Seattle, WA 98101, US"
    assert len(ada.cards()) == CARDS_TO_REVIEW
    posts = [call for call in fresh_slack_api.calls("chat.postMessage") if call.ok]
    assert len(posts) == CARDS_TO_REVIEW, "a question was asked twice"
    stored = await draft(redis, redis_namespace)
    assert stored is not None
    assert stored["answers"]["address_line1"] == STREET
    assert stored["answers"]["customer_name"] == CUSTOMER
    assert stored["answers"]["name"] == NAME
    assert await waiting(redis, stream) == 0
    assert await redis.xlen(StreamKeys(stream).dead_letters) == 0


# 2. Killed mid-submit ----------------------------------------------------------------------------


def creates(sandbox: Sandbox) -> list[dict[str, Any]]:
    """The creates Partner Center answered (a late answer is logged once sent)."""
    return [
        request
        for request in sandbox.requests()
        if request["method"] == "POST" and request["path"].endswith("/engagements/referrals")
    ]


def looked_up(sandbox: Sandbox, key: str) -> bool:
    """Whether someone looked for the referral created with ``key`` as its external id."""
    return any(
        request["method"] == "GET"
        and "externalReferenceId" in request["query"]
        and key in httpx.QueryParams(request["query"]).get("$filter", "")
        for request in sandbox.requests()
    )


async def test_a_submit_killed_after_partner_center_created_it_makes_one_referral(
    tmp_path: Path,
    fresh_sandbox: Sandbox,
    fresh_slack_api: SlackApiStandIn,
    redis: Redis,
    redis_url: str,
    redis_namespace: str,
) -> None:
    """Ada clicks Submit on her review. Partner Center makes the referral at once and answers
    late; the worker is killed after the referral exists, before the answer came, so nothing
    of it was recorded but that it was sent. The next worker takes the job over, looks the
    referral up by the draft's key before sending anything, finds it, and shows it to Ada:
    one referral, one "created"."""
    stream = f"rb:jobs:{redis_namespace}"
    env = {
        **worker_env(
            tmp_path,
            redis_url=redis_url,
            stream=stream,
            slack=fresh_slack_api,
            partner_center=fresh_sandbox.base_url,
            poll_interval=3600,
        ),
        "SLACK_ALLOWED_TEAMS": redis_namespace,
    }
    async with (
        workers(tmp_path, env, stream) as start,
        seller_at_the_web(fresh_sandbox, fresh_slack_api, redis_url, redis_namespace) as ada,
    ):
        first = await start("first")
        await ada.starts_a_draft()
        review = await ada.answers([STREET, *AFTER_THE_KILL], after=len(ada.cards()))
        assert REVIEW in said(review)
        await settled(redis, stream)
        before = await draft(redis, redis_namespace)
        assert before is not None
        draft_id = str(before["id"])

        fresh_sandbox.fault(answerAfterSeconds=ANSWERED_LATE, times=1, method="POST")
        await ada.clicks(Action.SUBMIT, review)
        await until_async(
            lambda: asyncio.to_thread(lambda: bool(fresh_sandbox.named(NAME))),
            TURN_SECONDS,
            "Partner Center to make the referral",
        )
        first.signal(signal.SIGKILL)
        assert await first.exited() == -signal.SIGKILL

        # Killed mid-submit: the referral made, its create recorded as sent (not as made),
        # the draft kept, the job not done, and Ada not told.
        assert creates(fresh_sandbox) == [], "killed after the answer came"
        stored = await draft(redis, redis_namespace)
        assert stored is not None
        assert stored["submission"]["sent"] == [draft_id]
        assert not stored["submission"].get("created")
        assert await pending(redis, stream) == 1
        assert not any(CREATED in said(card) for card in ada.cards())

        await a_minute_passes_here(redis, stream, redis_namespace)
        await start("second")
        await until(
            lambda: any(CREATED in said(card) for card in ada.cards()),
            TURN_SECONDS,
            "Ada to be shown the referral",
        )
        await settled(redis, stream)
        # The create's late answer, to a worker long dead, lands in the sandbox's log.
        await until(lambda: bool(creates(fresh_sandbox)), ANSWERED_LATE + 2, "the late answer")
        await asyncio.sleep(0.5)  # anything more that was coming has come

    # One referral, named as the draft, made by the one create sent.
    referrals = fresh_sandbox.named(NAME)
    assert len(referrals) == 1, f"{len(referrals)} referrals made from one draft"
    (referral,) = referrals
    assert referral["externalReferenceId"] == draft_id
    assert len(creates(fresh_sandbox)) == 1
    assert looked_up(fresh_sandbox, draft_id), "sent again without looking for the first"
    # Ada is shown it once: the review card turned into the result, nothing posted besides.
    shown = [card for card in ada.cards() if CREATED in said(card)]
    assert len(shown) == 1
    assert shown[0]["ts"] == review["ts"]
    assert f"Id: `{referral['id']}`" in said(shown[0])
    told = [call for call in fresh_slack_api.calls() if CREATED in json.dumps(call.args)]
    assert [call.method for call in told] == [RESPONSE_URL]
    assert len(ada.cards()) == CARDS_TO_REVIEW
    # The draft is done with: gone, its submit's result kept (a day) for a repeated click.
    assert await draft(redis, redis_namespace) is None
    claim = KeyBuilder().claim(conversation_of(redis_namespace), f"submit:{draft_id}")
    assert 23 * 3600 < await redis.ttl(claim) <= 24 * 3600
    assert await waiting(redis, stream) == 0
    assert await redis.xlen(StreamKeys(stream).dead_letters) == 0
