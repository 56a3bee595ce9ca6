"""Channel notifications under faults, with real ``referral-bot worker`` processes.

The other notification tests run the worker inside the test's event loop; these start the
processes an operator runs and hurt them the way production does: a worker killed (SIGKILL)
while a card is on its way to Slack, two workers (and so two pollers) on one stream with one
of them stopped (SIGTERM) halfway, and Slack answering 429. In each, a card reaches the channel
exactly once. The children reach the suite's Redis, the Slack stand-in (``SLACK_API_URL``) and
a sandbox acting as Microsoft (``PARTNER_CENTER_BASE_URL``), all on loopback.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from redis.asyncio import Redis
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.app.web import build_web_app
from bot.jobs import GROUP, JobQueue
from bot.jobs.keys import StreamKeys
from bot.notifications.changes import CHANGE, Before, ReferralChange
from bot.notifications.channels import Channel
from bot.notifications.delivery import SENT
from bot.notifications.subscriptions import Subscription, Subscriptions
from bot.partner_center.sandbox import SandboxState, create_sandbox_app, run_sandbox_in_thread
from tests.handlers.slack.conftest import slack_settings
from tests.support.processes import child_env
from tests.support.sandbox import Sandbox
from tests.support.slack_payloads import SIGNING_SECRET, SlackRequests
from tests.support.slack_stand_in import CLIENT_GONE, SlackApiStandIn

REFERRAL_BOT = Path(sys.executable).parent / "referral-bot"
DEALS = "C0DEALS"
TAILWIND = "7b9d2e4f-6a8c-4b1d-8e3f-5a7c9e1b3d02"  # Active, Accepted
NORTHWIND = "5e7a9c1d-3f5b-4d7e-9b1c-3e5a7c9e1b04"  # Active, Accepted
NORTHWIND_MICROSOFT = "1d3f5b7e-9a1c-4e3f-8d5b-7a9c1e3f5d05"  # Active, Accepted
FABRIKAM = "c5fbb3b6-be74-4795-9fb5-4324c73fed37"  # New, Pending
ADVENTURE = "3f2a7c1e-8d4b-4e6f-9a10-2b5c7d9e1f01"  # New, Pending
NAMES = {
    TAILWIND: "Tailwind Traders - store modernization",
    NORTHWIND: "Northwind Traders - Contoso Experience Platform",
    NORTHWIND_MICROSOFT: "Northwind Traders - Contoso Experience Platform (Microsoft)",
    FABRIKAM: "Fabrikam - Microsoft 365 training",
    ADVENTURE: "Adventure Works - connected factory",
}
WIN = ReferralChange(
    referral_id=TAILWIND,
    updated=datetime(2026, 12, 4, 9, 0, tzinfo=UTC),
    status="Closed",
    substatus="Won",
    before=Before(status="Active", substatus="Accepted"),
    name=NAMES[TAILWIND],
)
"""A win as the change detector puts it on the stream (tests 1 and 3 queue it themselves)."""
A_MINUTE_MS = 60_000
"""How long the product waits for a worker that died mid-job: its job is reclaimed once
unacknowledged this long (``WorkOptions.reclaim_after_ms``), the claim on a card being sent
lapses after ``SENDING_SECONDS``, and an inbox's lease after 30 s."""
HELD_SECONDS = 8.0
"""How long Slack sits on the card the first worker sends (it is killed long before)."""
STARTED_WITHIN = 15.0


# Child processes -------------------------------------------------------------------------------


@dataclass
class Worker:
    """A ``referral-bot worker`` child process and its log (its output, in a file)."""

    name: str
    process: asyncio.subprocess.Process
    log_path: Path
    log_file: IO[bytes] = field(repr=False)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def polls(self) -> int:
        """Polls this worker finished, as its log says (one INFO line each)."""
        return self.log().count("bot.notifications.poller: poll:")

    def running(self) -> bool:
        return self.process.returncode is None

    def signal(self, signum: signal.Signals) -> None:
        if self.running():
            os.killpg(self.process.pid, signum)

    async def exited(self, within: float = 15.0) -> int:
        """The exit status (negative: the signal that ended it)."""
        return await asyncio.wait_for(self.process.wait(), within)


def worker_env(
    tmp_path: Path,
    *,
    redis_url: str,
    stream: str,
    slack: SlackApiStandIn,
    partner_center: str,
    poll_interval: float,
) -> dict[str, str]:
    """The environment of a worker of the test's deployment (its own stream, so no job of
    another test reaches it)."""
    return child_env(
        REDIS_URL=redis_url,
        JOB_STREAM=stream,
        DATA_DIR=str(tmp_path / "data"),
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.base_url,
        PARTNER_CENTER_BASE_URL=partner_center,
        PARTNER_CENTER_TOKEN="test-token",
        POLL_INTERVAL_SECONDS=str(poll_interval),
        LOG_LEVEL="INFO",
    )


Start = Callable[[str], Awaitable[Worker]]


@asynccontextmanager
async def workers(tmp_path: Path, env: dict[str, str], stream: str) -> AsyncIterator[Start]:
    """Starts workers on demand (each returned once it reads the stream); every one still
    running is killed when the block ends, whatever happened."""
    started: list[Worker] = []

    async def start(name: str) -> Worker:
        log_path = tmp_path / f"{name}.log"
        log_file = log_path.open("wb")
        process = await asyncio.create_subprocess_exec(
            REFERRAL_BOT,
            "worker",
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: a signal reaches it and nothing else
        )
        worker = Worker(name, process, log_path, log_file)
        started.append(worker)
        await until(
            lambda: f"reading {stream}" in worker.log() or not worker.running(),
            STARTED_WITHIN,
            f"worker {name} to start",
        )
        assert worker.running(), f"worker {name} exited:\n{worker.log()}"
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.signal(signal.SIGKILL)
            try:
                await worker.exited(10)
            finally:
                worker.log_file.close()


async def until(check: Callable[[], bool], within: float, what: str) -> None:
    """Wait for ``check`` to hold, polling every 20 ms; fail naming ``what`` after ``within``."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {within:g} s for {what}")
        await asyncio.sleep(0.02)


# The deployment's Redis ------------------------------------------------------------------------


async def subscribe_directly(redis: Redis, stream: str, workspace: str) -> Channel:
    """Subscribe #deals (won and lost) as the slash command would, without its confirmation
    message: the only posts these tests then see are cards."""
    channel = Channel(platform="slack", workspace=workspace, id=DEALS, name="deals")
    subscription = Subscription(channel=channel, by="slack:U0001", since=datetime.now(UTC))
    await Subscriptions(redis, stream=stream).subscribe(subscription)
    return channel


async def a_minute_passes(redis: Redis, stream: str) -> None:
    """What a minute does to the traces a dead worker left in Redis, done at once rather than
    waited for (the test would take ninety seconds): every key of the deployment that expires
    within the minute (the inbox's lease, the claim on the card being sent) lapses, and every
    unacknowledged stream entry becomes a minute older, so the next worker reclaims it on
    starting, as it would a minute on. Nothing of the product is changed or bypassed."""
    async for key in redis.scan_iter(match=f"{StreamKeys(stream).slot}:*", count=1000):
        if 0 <= await redis.pttl(key) <= A_MINUTE_MS:
            await redis.delete(key)
    for entry in await redis.xpending_range(stream, GROUP, min="-", max="+", count=100):
        owner = entry["consumer"]
        assert isinstance(owner, bytes | str)
        await redis.xclaim(
            stream,
            GROUP,
            owner,  # stays the dead worker's
            0,
            [entry["message_id"]],
            idle=int(entry["time_since_delivered"]) + A_MINUTE_MS,
            justid=True,  # the delivery count stays as it was
        )


async def settled(redis: Redis, stream: str, within: float = 10.0) -> None:
    """Wait until every job queued so far is done (done jobs leave the stream)."""
    await until_async(lambda: _empty(redis, stream), within, "the job stream to empty")


async def _empty(redis: Redis, stream: str) -> bool:
    return not await redis.xlen(stream)


async def until_async(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {within:g} s for {what}")
        await asyncio.sleep(0.02)


def said(message: dict[str, Any]) -> str:
    return str(message.get("text", "")) + json.dumps(message.get("blocks", []))


def cards_of(slack: SlackApiStandIn, referral_id: str) -> list[str]:
    """The cards in #deals about the referral ``referral_id`` (names are matched whole: one
    referral's name may begin another's)."""
    name = NAMES[referral_id]
    longer = [other for other in NAMES.values() if other != name and other.startswith(name)]
    found = [said(message) for message in slack.messages_to(DEALS)]
    return [text for text in found if name in text and not any(o in text for o in longer)]


# 1. Killed between read and ack ---------------------------------------------------------------


async def test_a_worker_killed_while_sending_a_card_leaves_it_to_the_next_worker_once(
    tmp_path: Path,
    fresh_sandbox: Sandbox,
    fresh_slack_api: SlackApiStandIn,
    redis: Redis,
    redis_url: str,
    redis_namespace: str,
) -> None:
    """The first worker has read the ``notify`` job, claimed the card's delivery key and sent
    the card when it is killed; Slack is slow and has not answered (a message the stand-in
    holds back is posted only when answered, and not at all when its caller hung up), so
    Slack never took it. The next worker takes the job over and sends the card: once.

    The window this test keeps out, by making Slack slow: a kill after Slack took the card
    but before the worker marked it sent. Then the claim lapses unmarked and the next worker
    sends the card again. That is at most one duplicate per kill, never more: the next
    worker claims the key before sending and marks it sent after, and a third copy of the
    job finds it sent."""
    stream = f"rb:jobs:{redis_namespace}"
    channel = await subscribe_directly(redis, stream, redis_namespace)
    delivery_key = f"{StreamKeys(stream).slot}:notified:{WIN.id}:{channel.key}"
    env = worker_env(
        tmp_path,
        redis_url=redis_url,
        stream=stream,
        slack=fresh_slack_api,
        partner_center=fresh_sandbox.base_url,
        poll_interval=3600,  # no poll in this test: the change is queued by hand
    )
    fresh_slack_api.delay("chat.postMessage", HELD_SECONDS)

    async with workers(tmp_path, env, stream) as start:
        first = await start("first")
        await JobQueue(redis, stream=stream).put(CHANGE, WIN.model_dump(mode="json"))
        await until(
            lambda: fresh_slack_api.held("chat.postMessage") == 1, 10, "the card to reach Slack"
        )
        first.signal(signal.SIGKILL)
        assert await first.exited() == -signal.SIGKILL
        abandoned = await fresh_slack_api.wait_for_async("chat.postMessage", timeout=5)
        assert [call.status for call in abandoned] == [CLIENT_GONE]

        # Between read and ack: the card claimed, not sent, its job unacknowledged.
        assert await redis.get(delivery_key) == b"sending"
        assert (await redis.xpending(stream, GROUP))["pending"] >= 1
        assert fresh_slack_api.messages_to(DEALS) == []

        await a_minute_passes(redis, stream)
        second = await start("second")
        await until(lambda: len(fresh_slack_api.messages_to(DEALS)) >= 1, 10, "the card")
        await settled(redis, stream)
        await asyncio.sleep(1.0)  # anything more that was coming has come

        (card,) = [said(message) for message in fresh_slack_api.messages_to(DEALS)]
        assert NAMES[TAILWIND] in card
        calls = fresh_slack_api.calls("chat.postMessage")
        assert [call.status for call in calls] == [CLIENT_GONE, 200]
        assert await redis.get(delivery_key) == SENT
        # Kept a day: enough for any second copy of the job, not a month of keys.
        assert 23 * 3600 < await redis.ttl(delivery_key) <= 24 * 3600
        assert await redis.xlen(StreamKeys(stream).dead_letters) == 0
        assert "reclaimed" in second.log()


# 2. Two workers, two pollers ------------------------------------------------------------------

POLL_INTERVAL = 0.5
LISTING_SECONDS = 1.2
"""How long each listing takes in test 2. A worker not polling looks every ``POLL_INTERVAL``
whether a poll is due, and one is due ``POLL_INTERVAL`` after the last one began: were a
second worker polling too, it would begin a poll while the first one's listing is still
being answered (between 0.5 and 1.2 s after it began), and the listings would overlap."""


@dataclass(frozen=True)
class Timed:
    """One API request to the sandbox: when it came in and when it was answered."""

    method: str
    path: str
    query: str
    began: float
    ended: float


LISTING = "/v1.0/engagements/referrals"


class RequestTimes:
    """The sandbox's API wrapped to record when each request began and ended (its own request
    log keeps no times), and how many listings are being answered right now."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests: list[Timed] = []
        self.listing_now = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1.0/"):
            await self.app(scope, receive, send)
            return
        listing = scope["method"] == "GET" and scope["path"] == LISTING
        self.listing_now += listing
        began = time.monotonic()
        try:
            await self.app(scope, receive, send)
        finally:
            self.listing_now -= listing
            query = scope.get("query_string", b"").decode("latin-1")
            self.requests.append(
                Timed(scope["method"], scope["path"], query, began, time.monotonic())
            )

    def listings(self) -> list[Timed]:
        """The listings answered so far (each one poll here: every referral fits a page)."""
        return [each for each in self.requests if each.method == "GET" and each.path == LISTING]

    async def a_poll_since(self, moment: float) -> None:
        """Wait until a listing that began after ``moment`` has been answered."""
        await until(
            lambda: any(each.began > moment for each in self.listings()),
            3 * (POLL_INTERVAL + LISTING_SECONDS),
            "a poll",
        )


@contextmanager
def timed_sandbox() -> Iterator[tuple[Sandbox, RequestTimes]]:
    """A sandbox of this test's own (its faults and request times are nobody else's)."""
    times = RequestTimes(create_sandbox_app(SandboxState()))
    with run_sandbox_in_thread(times) as base_url:
        sandbox = Sandbox(base_url)
        with sandbox.admin:
            yield sandbox, times


async def test_two_workers_poll_one_at_a_time_and_tell_each_change_once(
    tmp_path: Path,
    fresh_slack_api: SlackApiStandIn,
    redis: Redis,
    redis_url: str,
    redis_namespace: str,
) -> None:
    """Two workers, each with a poller, every half second; Microsoft wins and loses deals,
    some accepted and closed in a row, between polls and across them. Each win and loss
    reaches #deals once. One poller polls at a time: only one of the workers polls, and the
    listings, each slower than the interval, never overlap (a second poller would start
    while the first one's listing is under way). The poller stopped (SIGTERM) in the middle
    of a poll finishes it and hands over: the other takes over and the next change arrives."""
    stream = f"rb:jobs:{redis_namespace}"
    with timed_sandbox() as (sandbox, times):
        sandbox.fault(
            method="GET", path="/engagements/referrals", delaySeconds=LISTING_SECONDS, times=10_000
        )
        env = worker_env(
            tmp_path,
            redis_url=redis_url,
            stream=stream,
            slack=fresh_slack_api,
            partner_center=sandbox.base_url,
            poll_interval=POLL_INTERVAL,
        )
        async with workers(tmp_path, env, stream) as start:
            pair = [await start("one"), await start("two")]
            await subscribe_with_the_command(sandbox, fresh_slack_api, redis_url, redis_namespace)
            await until(lambda: any(worker.polls() for worker in pair), 10, "the baseline poll")

            async def act(*actions: tuple[str, str]) -> None:
                for referral, action in actions:
                    await asyncio.to_thread(sandbox.act, referral, action)

            async def told(*referrals: str) -> None:
                await until(
                    lambda: all(cards_of(fresh_slack_api, each) for each in referrals),
                    12,
                    f"the cards of {referrals}",
                )

            await act((TAILWIND, "win"), (FABRIKAM, "accept"), (FABRIKAM, "win"))
            await told(TAILWIND, FABRIKAM)
            await act((ADVENTURE, "accept"))
            await times.a_poll_since(time.monotonic())  # it sees Adventure accepted, not lost
            await act((ADVENTURE, "lose"), (NORTHWIND, "lose"))
            await told(ADVENTURE, NORTHWIND)

            polling = [worker for worker in pair if worker.polls()]
            assert len(polling) == 1, "both workers polled: two pollers at a time"
            (holder,) = polling
            (other,) = [worker for worker in pair if worker is not holder]
            await until(lambda: times.listing_now == 1, 5, "a poll under way")
            finished = holder.polls()  # its earlier polls, logged as each ended
            holder.signal(signal.SIGTERM)
            assert await holder.exited() == 0, holder.log()
            assert holder.polls() == finished + 1, "the poll under way was not finished"

            await act((NORTHWIND_MICROSOFT, "win"))
            await told(NORTHWIND_MICROSOFT)
            await settled(redis, stream)
            await asyncio.sleep(1.0)  # anything more that was coming has come

            assert other.polls() >= 1
            messages = [said(message) for message in fresh_slack_api.messages_to(DEALS)]
            referrals = [TAILWIND, FABRIKAM, ADVENTURE, NORTHWIND, NORTHWIND_MICROSOFT]
            assert "now hears about referrals" in messages[0]
            assert len(messages) == 1 + len(referrals), messages
            for referral in referrals:
                assert len(cards_of(fresh_slack_api, referral)) == 1, referral
            assert await redis.xlen(StreamKeys(stream).dead_letters) == 0

    listings = sorted(times.listings(), key=lambda each: each.began)
    assert len(listings) >= 5
    for earlier, later in itertools.pairwise(listings):
        assert later.began >= earlier.ended, f"two polls at once: {earlier} and {later}"


async def subscribe_with_the_command(
    sandbox: Sandbox, slack: SlackApiStandIn, redis_url: str, namespace: str
) -> None:
    """``/referral subscribe`` in #deals, through a web app in this process that only queues
    (the children do the job, and post the confirmation)."""
    settings = slack_settings(sandbox, slack, redis_url, namespace)
    app = build_web_app(settings, worker=False)
    requests = SlackRequests(team_id=namespace, hooks_url=slack.origin)
    command = requests.command("subscribe", channel=DEALS, channel_name="deals")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as http:
            answer = await http.post(command.path, content=command.body, headers=command.headers)
            assert answer.status_code == 200
    await until(lambda: len(slack.messages_to(DEALS)) == 1, 10, "the confirmation")


# 3. Slack answers 429 --------------------------------------------------------------------------


@pytest.mark.parametrize("refusals", [2, 4], ids=["client-retries", "beyond-client-retries"])
async def test_a_card_slack_refuses_with_429_is_delivered_after_retry_after_once(
    refusals: int,
    tmp_path: Path,
    fresh_sandbox: Sandbox,
    fresh_slack_api: SlackApiStandIn,
    redis: Redis,
    redis_url: str,
    redis_namespace: str,
) -> None:
    """Slack answers the card 429, ``Retry-After: 1``, ``refusals`` times. Two are waited out
    by the Slack client itself; four outlast its three retries, and the notifier tries the
    card again. Either way the card arrives once, and never sooner than Slack asked."""
    stream = f"rb:jobs:{redis_namespace}"
    await subscribe_directly(redis, stream, redis_namespace)
    env = worker_env(
        tmp_path,
        redis_url=redis_url,
        stream=stream,
        slack=fresh_slack_api,
        partner_center=fresh_sandbox.base_url,
        poll_interval=3600,
    )
    fresh_slack_api.rate_limit("chat.postMessage", times=refusals, retry_after=1)

    async with workers(tmp_path, env, stream) as start:
        await start("only")
        await JobQueue(redis, stream=stream).put(CHANGE, WIN.model_dump(mode="json"))
        await until(lambda: len(fresh_slack_api.messages_to(DEALS)) >= 1, 15, "the card")
        await settled(redis, stream)
        await asyncio.sleep(1.0)  # anything more that was coming has come

    (card,) = [said(message) for message in fresh_slack_api.messages_to(DEALS)]
    assert NAMES[TAILWIND] in card
    calls = fresh_slack_api.calls("chat.postMessage")
    assert [call.status for call in calls] == [429] * refusals + [200]
    for refused, next_try in itertools.pairwise(calls):
        assert next_try.at - refused.at >= 0.95, "tried again before Retry-After"
    assert await redis.xlen(StreamKeys(stream).dead_letters) == 0
