"""Slack turns through the shared pipeline: what review and measurement found, each as a test.

Signed requests in Slack's shapes go into the real app; replies land in the Slack stand-in
(``chat.*`` and the clicks' ``response_url``s); drafts live in the suite's Redis.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import parse_qs

import httpx
from redis.asyncio import Redis

from bot.app.services import chat_services
from bot.app.web import build_web_app
from bot.app.worker import job_handlers, run_worker
from bot.conversation.runtime.session_store import RedisSessionStore
from bot.jobs import JobQueue, WorkOptions, dispatch
from bot.settings import Settings
from cards.ids import Action
from cards.slack import encode_choice
from tests.handlers.slack.conftest import SlackBot, slack_settings
from tests.support.job_streams import refuse_new_jobs
from tests.support.sandbox import Sandbox
from tests.support.slack_payloads import SignedRequest, SlackRequests, dm_channel_id
from tests.support.slack_stand_in import RESPONSE_URL, SlackApiStandIn

DM = dm_channel_id("U0001")
UNREACHABLE = "I can't reach my memory right now"


def texts(call: Any) -> str:
    return str(call.args.get("text", "")) + str(call.args.get("blocks", ""))


def response_url_of(request: SignedRequest) -> str:
    (payload,) = parse_qs(request.body.decode())["payload"]
    return str(json.loads(payload)["response_url"])


async def session_answers(redis: Redis, team: str) -> dict[str, Any]:
    stored = await RedisSessionStore(redis).load(f"slack:{team}:U0001")
    assert stored is not None
    answers: dict[str, Any] = json.loads(stored.data)["answers"]
    return answers


async def start_draft(bot: SlackBot) -> dict[str, Any]:
    """``/referral new``: the first question's card (the kind of deal)."""
    await bot.send(bot.requests.command("new"))
    await bot.slack.wait_for_async("chat.postMessage")
    return bot.slack.last_message(DM)


def choose_private(bot: SlackBot, card: dict[str, Any]) -> SignedRequest:
    return bot.requests.action(
        Action.CHOOSE, value=encode_choice("deal_kind", "private"), message=card
    )


async def test_a_double_click_moves_the_draft_once_and_writes_only_the_clicked_card(
    bot: SlackBot, redis_namespace: str
) -> None:
    card = await start_draft(bot)
    # Two clicks on one button: two requests with their own action_ts (not a resend).
    first, second = choose_private(bot, card), choose_private(bot, card)
    assert (await bot.send(first)).status_code == 200
    assert (await bot.send(second)).status_code == 200
    await bot.settled()
    await asyncio.sleep(0.1)
    # One transition: one next card, asking the next question.
    posts = bot.slack.calls("chat.postMessage")
    assert len(posts) == 2
    assert "What should we call this referral?" in texts(posts[1])
    assert (await session_answers(bot.redis, redis_namespace))["deal_kind"] == "private"
    # The clicked card (and only it) became the record, through the first click's
    # response_url; the next question's card was not touched; no chat.update at all.
    (record,) = bot.slack.calls(RESPONSE_URL)
    assert record.use is not None
    assert record.use.effect == "replaced"
    assert record.use.ts == card["ts"]
    assert "✓ Private lead" in texts(record)
    assert bot.slack.uses(response_url_of(second)) == []
    assert bot.slack.calls("chat.update") == []
    assert bot.slack.last_message(DM)["ts"] == posts[1].response["ts"]
    assert "What should we call this referral?" in str(bot.slack.last_message(DM)["blocks"])


async def test_a_click_costs_one_tier_limited_call_and_no_chat_update(bot: SlackBot) -> None:
    card = await start_draft(bot)
    mark = bot.slack.mark()
    await bot.send(choose_private(bot, card))
    await bot.slack.wait_for_async("chat.postMessage", count=2)
    await bot.settled()
    counts = bot.slack.counts(since=mark)
    assert {method: count.calls for method, count in counts.items()} == {
        "chat.postMessage": 1,
        RESPONSE_URL: 1,
    }


async def test_a_refused_typed_answer_is_not_stamped_on_the_previous_card(
    bot: SlackBot,
) -> None:
    card = await start_draft(bot)
    await bot.send(choose_private(bot, card))
    await bot.slack.wait_for_async("chat.postMessage", count=2)
    for refused in ("x" * 39_000, "Fabrikam\x00Inc"):
        await bot.send(bot.requests.dm_message(refused))
    await bot.slack.wait_for_async("chat.postMessage", count=4)
    await bot.settled()
    # Each refusal asks the same question again, with why; no card says "✓" of it.
    asked_again = bot.slack.calls("chat.postMessage")[2:]
    assert all("What should we call this referral?" in texts(call) for call in asked_again)
    assert bot.slack.calls("chat.update") == []
    # A good answer afterwards is recorded on the last question card, and only it.
    await bot.send(bot.requests.dm_message("Fabrikam - pilot"))
    await bot.slack.wait_for_async("chat.postMessage", count=5)
    await bot.settled()
    (update,) = bot.slack.calls("chat.update")
    assert update.args["ts"] == asked_again[-1].response["ts"]
    assert "✓ Fabrikam - pilot" in texts(update)


async def break_the_job_stream(redis: Redis, stream: str) -> None:
    """Redis refuses every new job (see :func:`refuse_new_jobs`)."""
    await refuse_new_jobs(redis, stream)


async def test_redis_refusing_a_slash_command_is_said_in_the_ack_and_nothing_happens(
    bot: SlackBot, redis_namespace: str
) -> None:
    await break_the_job_stream(bot.redis, bot.job_stream)
    answer = await bot.send(bot.requests.command("new"))
    assert answer.status_code == 200
    assert UNREACHABLE in answer.text
    await asyncio.sleep(0.2)
    assert bot.slack.calls("chat.postMessage") == []
    queue = JobQueue(bot.redis, stream=bot.job_stream)
    assert await bot.redis.llen(queue.inbox(f"slack:{redis_namespace}:U0001")) == 0


async def test_redis_refusing_a_click_is_said_privately_through_its_response_url(
    bot: SlackBot,
) -> None:
    card = await start_draft(bot)
    await bot.settled()
    await break_the_job_stream(bot.redis, bot.job_stream)
    click = choose_private(bot, card)
    assert (await bot.send(click)).status_code == 200
    (told,) = bot.slack.uses(response_url_of(click))
    assert told.use is not None
    assert told.use.effect == "ephemeral"
    assert UNREACHABLE in texts(told)
    await asyncio.sleep(0.2)
    assert len(bot.slack.calls("chat.postMessage")) == 1  # the first card only
    assert bot.slack.last_message(DM)["ts"] == card["ts"]  # the card is as it was


async def test_redis_refusing_a_typed_message_is_said_in_the_dm(bot: SlackBot) -> None:
    await break_the_job_stream(bot.redis, bot.job_stream)
    assert (await bot.send(bot.requests.dm_message("Fabrikam"))).status_code == 200
    (told,) = await bot.slack.wait_for_async("chat.postMessage")
    assert told.args["channel"] == DM
    assert UNREACHABLE in texts(told)


async def test_after_a_referral_is_created_a_failed_post_says_so_with_its_id(
    bot: SlackBot,
) -> None:
    # Everything up to the review, typed; then "submit" typed, and its reply fails to post.
    answers = ["private", "Failed post", "Fabrikam Inc", "1 Main St", "skip", "Seattle"]
    answers += ["WA", "98101", "US", "10 to 50 employees", "skip", "50k", "2027-03-31"]
    answers += ["none", "yes"]  # no optional question; the consents together
    await bot.send(bot.requests.dm_message("/referral new"))
    await bot.slack.wait_for_async("chat.postMessage")
    for count, text in enumerate(answers, start=2):
        await bot.send(bot.requests.dm_message(text))
        await bot.slack.wait_for_async("chat.postMessage", count=count)
    assert "check your answers" in texts(bot.slack.calls("chat.postMessage")[-1])
    bot.slack.fail("chat.postMessage", "channel_not_found")
    await bot.send(bot.requests.dm_message("submit"))
    posted = await bot.slack.wait_for_async("chat.postMessage", count=len(answers) + 3)
    assert not posted[-2].ok
    told = texts(posted[-1])
    assert "Partner Center created your referral" in told
    assert "nothing was sent" not in told
    assert "Reference" in told


async def test_a_redelivered_typed_answer_is_not_applied_to_the_next_question(
    fresh_sandbox: Sandbox,
    fresh_slack_api: SlackApiStandIn,
    redis: Redis,
    redis_url: str,
    redis_namespace: str,
) -> None:
    """The answer was saved, the reply stalled (429, Retry-After 30), the worker was killed;
    the job is reclaimed by another worker and must not answer the next question with it."""
    settings = slack_settings(fresh_sandbox, fresh_slack_api, redis_url, redis_namespace)
    requests = SlackRequests(
        team_id=redis_namespace,
        hooks_url=fresh_slack_api.origin,
        response_urls=fresh_slack_api.response_url,
    )
    async with chat_services(settings) as services, AsyncExitStack() as stack:
        handle = dispatch(await job_handlers(settings, services, stack))
        queue = JobQueue(services.redis, stream=settings.job_stream)
        http = await build_web(settings, stack)

        async def say(text: str) -> None:
            request = requests.dm_message(text)
            await http.post(request.path, content=request.body, headers=request.headers)

        quick = WorkOptions(concurrency=4, block_ms=20, reclaim_after_ms=300, lease_ms=200)
        stopping = asyncio.Event()
        worker = asyncio.create_task(queue.work(handle, stopping, options=quick))
        for count, text in enumerate(["/referral new", "private", "Fabrikam - Slack"], 1):
            await say(text)
            await fresh_slack_api.wait_for_async("chat.postMessage", count=count)
        await asyncio.sleep(0.1)
        stopping.set()
        await worker
        # The next answer: saved, then its card stuck behind Slack's Retry-After; killed.
        fresh_slack_api.rate_limit("chat.postMessage", times=1, retry_after=30)
        dying = WorkOptions(concurrency=4, block_ms=20, drain_seconds=0.05, lease_ms=200)
        stopping = asyncio.Event()
        worker = asyncio.create_task(queue.work(handle, stopping, options=dying))
        await say("Fabrikam Inc")
        await fresh_slack_api.wait_for_async("chat.postMessage", count=4)  # the 429
        answers = await session_answers(redis, redis_namespace)
        assert answers["customer_name"] == "Fabrikam Inc"
        stopping.set()
        await worker  # its job is cancelled half-way, unacknowledged
        # Another worker takes the job over.
        stopping = asyncio.Event()
        worker = asyncio.create_task(queue.work(handle, stopping, options=quick))
        try:
            await fresh_slack_api.wait_for_async("chat.postMessage", count=5, timeout=10)
            await asyncio.sleep(0.2)
        finally:
            stopping.set()
            await worker
    answers = await session_answers(redis, redis_namespace)
    assert answers["customer_name"] == "Fabrikam Inc"
    assert "address_line1" not in answers
    posts = [call for call in fresh_slack_api.calls("chat.postMessage") if call.ok]
    assert len(posts) == 4
    assert "the customer's address" in texts(posts[-1]).lower()


async def test_two_answers_typed_5_ms_apart_arrive_in_order_with_two_workers(
    fresh_sandbox: Sandbox,
    fresh_slack_api: SlackApiStandIn,
    redis: Redis,
    redis_url: str,
    redis_namespace: str,
) -> None:
    settings = slack_settings(
        fresh_sandbox, fresh_slack_api, redis_url, redis_namespace, worker_concurrency=8
    )
    requests = SlackRequests(team_id=redis_namespace, hooks_url=fresh_slack_api.origin)
    async with AsyncExitStack() as stack:
        http = await build_web(settings, stack)
        stop = asyncio.Event()
        workers = [asyncio.create_task(run_worker(settings, stop)) for _ in range(2)]
        try:
            for count, text in enumerate(["/referral new", "private"], 1):
                request = requests.dm_message(text)
                await http.post(request.path, content=request.body, headers=request.headers)
                await fresh_slack_api.wait_for_async("chat.postMessage", count=count)
            for text in ("Contoso - in order", "Contoso Ltd", "2 Side St"):
                request = requests.dm_message(text)
                await http.post(request.path, content=request.body, headers=request.headers)
                await asyncio.sleep(0.005)
            await fresh_slack_api.wait_for_async("chat.postMessage", count=5, timeout=10)
        finally:
            stop.set()
            await asyncio.gather(*workers)
    answers = await session_answers(redis, redis_namespace)
    assert answers["name"] == "Contoso - in order"
    assert answers["customer_name"] == "Contoso Ltd"
    assert answers["address_line1"] == "2 Side St"


async def build_web(settings: Settings, stack: AsyncExitStack) -> httpx.AsyncClient:
    """The Procfile's web process (``serve --no-worker``) and a client of it."""
    web = build_web_app(settings, worker=False)
    await stack.enter_async_context(web.router.lifespan_context(web))
    transport = httpx.ASGITransport(app=web)
    return await stack.enter_async_context(
        httpx.AsyncClient(transport=transport, base_url="http://web")
    )
