"""Channel notifications: change-to-card latency through the poll and through webhooks.

The scenario: ``--referrals`` referrals (default 10,000) in the sandbox, ``--changes`` status
changes (default 1,000) made as Microsoft over ``--seconds`` (default 60) on distinct
referrals (win, accept, lose and decline in turn, evenly spaced), ``--channels`` Slack
channels (default 20) subscribed with ``/referral subscribe all`` through the real app.
Measured twice in one run, each time on a fresh sandbox and a job stream of its own:

* the *poll path*: no webhook registered, ``POLL_INTERVAL_SECONDS=5`` (``--poll-interval``);
* the *webhook path*: the sandbox registered to post signed events to the bot's
  ``/partner-center/webhook`` (signed with a certificate served over loopback https by the
  certificate stand-in), the poll interval an hour, so only webhooks count.

Every process runs as the Procfile runs it: ``referral-bot serve --no-worker`` (uvicorn on a
loopback port) and one ``referral-bot worker``, configured through the environment, with
Redis (DB 14 by default) on loopback; the sandbox (seeded in memory, its request log kept)
and the Slack stand-in (rate tiers off) each run in a process of their own. Before the
changes, the deployment's first poll (the baseline that records every referral without an
event) is run once with the product's ``Poller``.

Latency is from the moment the change's request is sent to the sandbox to the moment the
Slack stand-in answers the ``chat.postMessage`` carrying that referral's card to a channel
(both on the machine's monotonic clock; the card is matched by its Show button's referral
id). Also: API requests per poll (the worker's own poll log, checked against the sandbox's
request log) against the changes each poll found, the worker's peak RSS (``VmHWM`` of its
process), and the (change, channel) pairs delivered twice or never.

Where the time goes: on the poll path, each poll's start is read off the ``poll:due`` key the
poller sets as it begins (its PTTL), and the latency split at the start of the poll that found
the change (waiting for the poll; the poll and its cards); on the webhook path, the sandbox's
sender notes when each delivery began and was answered (the sandbox's queue; the bot's
answer; from the answer to the cards). Latency is also shown by when the change was made, so
a backlog building up shows. ``--profile`` runs each worker under cProfile.

Baselines from the same run: the bare cost of posting the same number of cards to the
stand-in with the product's Slack client and channel poster (one lane per channel, as the
deliveries are ordered per channel), and the requests of a poll without the cursor (the
first poll's full listing).

    .venv/bin/python bench/notify.py [--referrals 10000] [--changes 1000] [--seconds 60]
        [--channels 20] [--poll-interval 5] [--redis-url redis://127.0.0.1:6379/14] [--quick]
        [--profile worker.prof]

``--quick`` is 1,000 referrals and 100 changes over 10 s. Every Redis key a run writes
carries its id (the job streams, the run's workspace) or is named from its events (the
webhooks' dedupe keys), and is deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script from the project root: Python puts bench/ on the path, not the root, and the
# signed request builders and the stand-ins live in the test package.
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

import aiohttp
import uvicorn
from cryptography.hazmat.primitives import serialization
from load import UVICORN_OPTIONS, stop, wait_for_port
from pydantic import SecretStr
from redis.asyncio import Redis
from sandbox_process import free_port

from bot.app.clients import build_http_client, build_partner_center_client
from bot.app.platforms import build_slack_client
from bot.conversation.views import StatusChange
from bot.notifications.changes import ChangeDetector
from bot.notifications.channels import Channel
from bot.notifications.poller import Poller
from bot.notifications.webhook_events import parse_event
from bot.partner_center.sandbox import SandboxState, create_sandbox_app
from bot.partner_center.sandbox.demo_data import demo_referrals
from bot.partner_center.sandbox.webhooks import Delivery, WebhookSigner
from bot.settings import Settings
from bot.storage.redis import connect
from cards.ids import Action
from handlers.slack.channels import SlackChannelPoster
from tests.support.slack_payloads import EVENTS_PATH, SIGNING_SECRET, SlackRequests
from tests.support.slack_stand_in import Call, SlackApiStandIn
from tests.support.webhook_stand_in import WebhookCertificateHost

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
BOT_TOKEN = "xoxb-bench"
ACTIONS = ("win", "accept", "lose", "decline")
"""Microsoft's moves, in turn: win and lose an Active referral, accept and decline a New one."""
REASONS = {"lose": "Budget cut", "decline": "Not our market"}
WEBHOOK_EVENTS = ("referral-updated", "related-referral-updated")
POLL_LINE = re.compile(r"poll: (\d+) referrals seen, (\d+) changes, (\d+) requests( \(baseline\))?")
QUIET_SECONDS = 20.0
"""How long the deliveries may make no progress, after the last change, before the run
stops waiting (whatever has not come by then counts as missing)."""


# Scenario data --------------------------------------------------------------------------------


def referral_id(run: str, index: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-notify:{run}:{index}"))


def seeded_referrals(run: str, count: int, now: datetime) -> list[dict[str, Any]]:
    """``count`` referrals from Microsoft: even indices New/Pending (the seeded Fabrikam
    lead), odd ones Active/Accepted (the seeded Tailwind opportunity); last changed one
    minute apart, the newest five minutes ago."""
    seeds = demo_referrals(now, {"organizationId": "bench", "organizationName": "Bench"})
    new, active = seeds[0], seeds[2]
    documents = []
    for index in range(count):
        document = copy.deepcopy(active if index % 2 else new)
        changed = now - timedelta(minutes=5 + index)
        document.update(
            id=referral_id(run, index),
            engagementId=str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-engagement:{run}:{index}")),
            name=f"Bench {index:05d} - {document['name']}",
            createdDateTime=changed.strftime("%Y-%m-%dT%H:%M:%SZ"),
            updatedDateTime=changed.strftime("%Y-%m-%dT%H:%M:%SZ"),
            eTag=f'"{uuid.uuid5(uuid.NAMESPACE_URL, f"bench-etag:{run}:{index}")}"',
        )
        documents.append(document)
    return documents


def planned_changes(run: str, referrals: int, changes: int) -> list[tuple[str, str]]:
    """(referral id, action) for each change, on distinct referrals, the actions in turn."""
    if changes > referrals:
        raise SystemExit("--changes cannot exceed --referrals: each change is on its own referral")
    pools = {
        "new": [index for index in range(referrals) if index % 2 == 0],
        "active": [index for index in range(referrals) if index % 2],
    }
    shuffler = random.Random(run)
    for pool in pools.values():
        shuffler.shuffle(pool)
    plan = []
    for number in range(changes):
        action = ACTIONS[number % len(ACTIONS)]
        pool = pools["active" if action in ("win", "lose") else "new"]
        if not pool:
            pool = pools["new"] if pool is pools["active"] else pools["active"]
            action = "accept" if pool is pools["new"] else "win"
        plan.append((referral_id(run, pool.pop()), action))
    return plan


def channel_ids(run: str, path: str, count: int) -> list[str]:
    return [f"C{run}{path[0].upper()}{index:02d}" for index in range(count)]


# Child processes ------------------------------------------------------------------------------


def serve_sandbox(args: argparse.Namespace) -> None:
    """Child process: the sandbox, seeded, signing webhooks when given a key; until SIGINT."""
    signer = None
    if args.signing_key:
        signer = WebhookSigner.from_pem(Path(args.signing_key).read_bytes(), args.cert_url)
    state = SandboxState(seed=False, webhook_signer=signer, request_log_limit=1_000_000)
    for document in seeded_referrals(args.run, args.referrals, datetime.now(UTC)):
        state.put(document)
    if args.deliveries:
        timed_deliveries(state, Path(args.deliveries))
    uvicorn.run(create_sandbox_app(state), port=args.port, **UVICORN_OPTIONS)


def timed_deliveries(state: SandboxState, path: Path) -> None:
    """Note, one JSON line each, when each webhook delivery began and was answered (the
    sandbox sends them one at a time, in order, on a thread of its own)."""
    hub = state.webhooks
    deliver = hub._deliver  # the stand-in's own sending step, timed
    log = path.open("a", buffering=1)

    def timed(delivery: Delivery) -> None:
        began = time.perf_counter()
        deliver(delivery)
        line = {
            "referral": str(delivery.event["ResourceUri"]).rsplit("/", 1)[-1],
            "began": began,
            "answered": time.perf_counter(),
            "status": delivery.status,
        }
        log.write(json.dumps(line) + "\n")

    hub._deliver = timed  # type: ignore[method-assign]


def serve_stand_in(args: argparse.Namespace) -> None:
    """Child process: the Slack stand-in (rate tiers off), writing one JSON line per
    ``chat.postMessage`` to ``args.posts``; prints its base URL, serves until SIGTERM."""
    stand_in = SlackApiStandIn(rate_tiers=False)
    stand_in.set_rate_tiers(False)
    with open(args.posts, "a", buffering=1) as posts:

        def record(call: Call) -> None:
            if call.method == "chat.postMessage":
                line = {
                    "at": call.at,
                    "channel": call.args.get("channel"),
                    "referral": shown_referral(call.blocks or []),
                    "ok": call.ok,
                }
                posts.write(json.dumps(line) + "\n")

        stand_in.listen(record)
        print(stand_in.start(), flush=True)
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        stopped.wait()
        stand_in.stop()


def shown_referral(blocks: list[dict[str, Any]]) -> str | None:
    """The referral id of a status card: its Show button's value."""
    for block in blocks:
        for element in block.get("elements", ()) if block.get("type") == "actions" else ():
            if element.get("action_id") == Action.SHOW.value:
                return str(element.get("value"))
    return None


@dataclass
class Processes:
    """The child processes of one run, stopped in reverse order."""

    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def add(self, process: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.started):
            stop(process, signal.SIGTERM)


def start_child(kind: str, extra: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, __file__, "--serve", kind, *extra])


def start_sandbox(
    run: str, referrals: int, signer: WebhookSigner | None, work: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """The seeded sandbox on a free port; returns the process and its origin."""
    port = free_port()
    extra = ["--run", run, "--referrals", str(referrals), "--port", str(port)]
    if signer is not None:
        key = work / "signing-key.pem"
        key.write_bytes(
            signer.private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        extra += ["--signing-key", str(key), "--cert-url", signer.certificate_url]
        extra += ["--deliveries", str(work / "deliveries.jsonl")]
    process = start_child("sandbox", extra)
    wait_for_port(port, process, "sandbox")
    return process, f"http://127.0.0.1:{port}"


def start_stand_in(posts: Path) -> tuple[subprocess.Popen[bytes], str]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", "stand-in", "--posts", str(posts)],
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    base_url = process.stdout.readline().decode().strip()
    if not base_url:
        raise SystemExit("the Slack stand-in did not start")
    return process, base_url


def bot_environment(variables: dict[str, str]) -> dict[str, str]:
    """This environment without any of the bot's settings, then ``variables``."""
    kept = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    return {**kept, **variables}


def referral_bot(
    command: list[str], env: dict[str, str], log: Path, profile: str | None = None
) -> subprocess.Popen[bytes]:
    """``referral-bot <command>``, as the Procfile runs it, its log to ``log``; under
    cProfile, writing to ``profile`` when it stops, if given."""
    executable = [str(Path(sys.executable).parent / "referral-bot")]
    if profile:
        executable = [sys.executable, "-m", "cProfile", "-o", profile, *executable]
    with log.open("wb") as output:
        return subprocess.Popen([*executable, *command], env=env, stderr=output, stdout=output)


# What a run observes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    at: float
    channel: str
    referral: str | None
    ok: bool


class PostLog:
    """The stand-in's record of ``chat.postMessage`` calls, read as it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self.posts: list[Post] = []

    def read(self) -> list[Post]:
        with self.path.open("rb") as posts:
            posts.seek(self._offset)
            chunk = posts.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._offset += len(complete)
        for line in complete.splitlines():
            self.posts.append(Post(**json.loads(line)))
        return self.posts

    def to(self, channels: set[str]) -> list[Post]:
        return [post for post in self.read() if post.channel in channels and post.ok]


def worker_memory(pid: int) -> tuple[float, float]:
    """The process's peak and current resident set, in MB (``VmHWM``, ``VmRSS``)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmHWM"], fields["VmRSS"]


@dataclass(frozen=True)
class LoggedPoll:
    seen: int
    changes: int
    requests: int
    baseline: bool


def polls_logged(log: Path) -> list[LoggedPoll]:
    """The polls the worker logged, in order."""
    return [
        LoggedPoll(int(seen), int(changes), int(requests), bool(baseline))
        for seen, changes, requests, baseline in POLL_LINE.findall(log.read_text())
    ]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


# Steps of a run -------------------------------------------------------------------------------


def bench_settings(args: argparse.Namespace, sandbox: str, stream: str) -> Settings:
    """The orchestrator's own settings, for the baseline poll and the bare posts."""
    return Settings(
        _env_file=None,
        partner_center_base_url=f"{sandbox}/v1.0",
        partner_center_token=SecretStr("bench"),
        redis_url=args.redis_url,
        slack_bot_token=SecretStr(BOT_TOKEN),
        slack_api_url=args.slack_api_url,
        job_stream=stream,
    )


async def first_poll(settings: Settings) -> tuple[int, int, float]:
    """The deployment's first poll (the baseline): referrals seen, requests, seconds."""
    redis = await connect(
        str(settings.redis_url), max_connections=10, pool_timeout=5, socket_timeout=5
    )
    try:
        async with build_http_client(settings) as http:
            client = build_partner_center_client(settings, http)
            detector = ChangeDetector(redis, stream=settings.job_stream)
            poller = Poller(redis, client, detector, stream=settings.job_stream, interval=3600)
            started = time.perf_counter()
            result = await poller.poll_once()
            return result.seen, result.requests, time.perf_counter() - started
    finally:
        await redis.aclose()


async def admin(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    """One call to the sandbox's admin or registration routes; its JSON answer, if any."""
    headers = {"Authorization": "Bearer bench"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, json=body, headers=headers) as answer,
    ):
        answer.raise_for_status()
        return await answer.json() if answer.content_type == "application/json" else None


async def register_webhook(sandbox: str, web: str) -> None:
    registration = {"WebhookUrl": f"{web}/partner-center/webhook", "WebhookEvents": WEBHOOK_EVENTS}
    await admin("POST", f"{sandbox}/webhooks/v1/registration", registration)


async def subscribe(web: str, builder: SlackRequests, channels: list[str], posts: PostLog) -> None:
    """``/referral subscribe all`` in each channel; returns once each has its confirmation."""
    async with aiohttp.ClientSession() as session:
        for channel in channels:
            request = builder.command(
                "subscribe all", channel=channel, channel_name=channel.lower()
            )
            async with session.post(
                web + EVENTS_PATH, data=request.body, headers=request.headers
            ) as answer:
                if answer.status != 200:
                    raise SystemExit(f"subscribing {channel}: HTTP {answer.status}")
    wanted = set(channels)
    deadline = time.monotonic() + 60
    while {post.channel for post in posts.to(wanted)} != wanted:
        if time.monotonic() > deadline:
            raise SystemExit("not every channel confirmed its subscription within 60 s")
        await asyncio.sleep(0.1)


async def clear_request_log(sandbox: str) -> None:
    await admin("DELETE", f"{sandbox}/sandbox/requests")


async def make_changes(
    sandbox: str, plan: list[tuple[str, str]], seconds: float
) -> dict[str, float]:
    """Act as Microsoft, evenly over ``seconds``; when each change's request was sent."""
    sent: dict[str, float] = {}
    spacing = seconds / max(len(plan), 1)
    failures: list[str] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=20)) as session:

        async def act(referral: str, action: str) -> None:
            body = {"reason": REASONS[action]} if action in REASONS else {}
            sent[referral] = time.perf_counter()
            url = f"{sandbox}/sandbox/referrals/{referral}/{action}"
            async with session.post(url, json=body) as answer:
                if answer.status != 200:
                    failures.append(f"{action} {referral}: HTTP {answer.status}")

        started = time.perf_counter()
        tasks = []
        for number, (referral, action) in enumerate(plan):
            await asyncio.sleep(max(0.0, started + number * spacing - time.perf_counter()))
            tasks.append(asyncio.create_task(act(referral, action)))
        await asyncio.gather(*tasks)
    if failures:
        raise SystemExit(f"{len(failures)} changes refused, first: {failures[0]}")
    return sent


async def wait_for_cards(posts: PostLog, channels: set[str], expected: int) -> None:
    """Until every (change, channel) card came, or nothing more came for a while."""
    count, progressed = 0, time.monotonic()
    while count < expected and time.monotonic() - progressed < QUIET_SECONDS:
        await asyncio.sleep(0.25)
        now_count = len({(p.referral, p.channel) for p in posts.to(channels) if p.referral})
        if now_count > count:
            count, progressed = now_count, time.monotonic()
    await asyncio.sleep(1.0)  # a duplicate, if any, has come by now


async def sandbox_requests(sandbox: str) -> Counter[str]:
    """The API requests the sandbox logged since it was cleared, by kind."""
    logged = (await admin("GET", f"{sandbox}/sandbox/requests"))["requests"]
    kinds: Counter[str] = Counter()
    for request in logged:
        listing = request["path"].rstrip("/").endswith("/engagements/referrals")
        kinds["list" if listing else request["method"].lower()] += 1
    return kinds


async def webhook_dedupe_keys(sandbox: str) -> list[str]:
    """The Redis keys the bot's webhook endpoint wrote for the sandbox's deliveries."""
    deliveries = (await admin("GET", f"{sandbox}/sandbox/webhooks"))["deliveries"]
    return [f"rb:webhook:seen:{parse_event(d['body'].encode()).dedupe_key}" for d in deliveries]


async def delete_keys(redis_url: str, patterns: list[str], keys: list[str]) -> int:
    redis = Redis.from_url(redis_url)
    deleted = 0
    try:
        for pattern in patterns:
            async for key in redis.scan_iter(match=pattern, count=1000):
                deleted += await redis.delete(key)
        for start in range(0, len(keys), 500):
            if keys[start : start + 500]:
                deleted += await redis.delete(*keys[start : start + 500])
    finally:
        await redis.aclose()
    return deleted


# The baseline: bare posts ------------------------------------------------------------------------


@dataclass
class BarePosts:
    cards: int
    seconds: float
    latencies: list[float]


async def bare_posts(settings: Settings, channels: list[str], per_channel: int) -> BarePosts:
    """The product's Slack client and channel poster posting a status card ``per_channel``
    times to each channel, one lane per channel (deliveries are ordered per channel)."""
    client = build_slack_client(settings)
    view = StatusChange(
        event="won",
        referral_id=str(uuid.uuid4()),
        name="Bench - store modernization",
        customer="Tailwind Traders",
        value=120000,
        currency="USD",
        before="Active, Accepted",
        after="Closed, Won",
        team=("Jane Doe",),
    )
    latencies: list[float] = []
    async with aiohttp.ClientSession() as session:
        client.session = session
        poster = SlackChannelPoster(client)

        async def lane(channel: str) -> None:
            target = Channel(platform="slack", workspace="TBENCH", id=channel)
            for _ in range(per_channel):
                started = time.perf_counter()
                await poster.post_to_channel(target, view)
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(lane(channel) for channel in channels))
        seconds = time.perf_counter() - started
    return BarePosts(len(latencies), seconds, latencies)


# One path ---------------------------------------------------------------------------------------


class PollStarts:
    """When each poll began, read off the key the poller sets as it begins one (``poll:due``,
    expiring an interval later): began = when sampled - (interval - its PTTL)."""

    def __init__(self, redis_url: str, stream: str, interval: float) -> None:
        self._redis_url = redis_url
        self._key = "{" + stream + "}:poll:due"
        self._interval = interval
        self.starts: list[float] = []

    async def sample(self, stopping: asyncio.Event) -> None:
        redis = Redis.from_url(self._redis_url)
        try:
            while not stopping.is_set():
                left = await redis.pttl(self._key)
                if left > 0:
                    began = time.perf_counter() - (self._interval * 1000 - left) / 1000
                    if not self.starts or began - self.starts[-1] > 0.05:
                        self.starts.append(began)
                await asyncio.sleep(0.05)
        finally:
            await redis.aclose()

    def caught(self, sent: float) -> float | None:
        """When the poll that found a change sent at ``sent`` began (the first one after)."""
        return next((began for began in self.starts if began >= sent), None)


@dataclass
class PathResult:
    name: str
    expected: int = 0
    latencies: list[float] = field(default_factory=list)
    delivered: int = 0
    duplicates: int = 0
    missing: int = 0
    unexpected: int = 0
    waits: list[float] = field(default_factory=list)
    """Poll path: from each change to the start of the poll that found it."""
    after_poll: list[float] = field(default_factory=list)
    """Poll path: from that poll's start to each of the change's cards."""
    bursts: list[tuple[int, float]] = field(default_factory=list)
    """Poll path: per poll, its cards and the seconds from its start to its last card."""
    webhook_split: list[tuple[float, float, float]] = field(default_factory=list)
    """Webhook path, per change: waiting in the sandbox's sending queue, the bot's answer to
    the webhook, and from that answer to the change's last card."""
    timeline: list[tuple[float, float]] = field(default_factory=list)
    """Per card: when its change was sent (seconds into the changes) and its latency."""
    worker_peak_mb: float = 0.0
    worker_rss_mb: float = 0.0
    requests: Counter[str] = field(default_factory=Counter)
    polls: list[LoggedPoll] = field(default_factory=list)
    baseline: tuple[int, int] = (0, 0)
    """Referrals seen and requests of the first poll (a full listing, no cursor)."""
    deleted: int = 0


@contextmanager
def certificate_host(needed: bool) -> Iterator[WebhookCertificateHost | None]:
    if not needed:
        yield None
        return
    with WebhookCertificateHost() as host:
        yield host


def bot_variables(
    args: argparse.Namespace,
    sandbox: str,
    stream: str,
    interval: float,
    host: WebhookCertificateHost | None,
) -> dict[str, str]:
    """The deployment's environment: loopback services, the run's stream and workspace."""
    variables = {
        "PARTNER_CENTER_BASE_URL": f"{sandbox}/v1.0",
        "PARTNER_CENTER_TOKEN": "bench",
        "REDIS_URL": args.redis_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": args.slack_api_url,
        "SLACK_ALLOWED_TEAMS": args.team,
        "JOB_STREAM": stream,
        "POLL_INTERVAL_SECONDS": f"{interval:g}",
    }
    if host is not None:
        variables |= {
            "PARTNER_CENTER_WEBHOOK_CERT_URLS": host.allowed_prefix,
            "PARTNER_CENTER_WEBHOOK_CA_BUNDLE": str(host.ca_bundle),
            "REQUESTS_CA_BUNDLE": str(host.ca_bundle),
        }
    return variables


def start_deployment(
    variables: dict[str, str], processes: Processes, logs: Path, profile: str | None
) -> tuple[str, subprocess.Popen[bytes]]:
    """The Procfile's two processes; returns the web process's URL and the worker."""
    env = bot_environment(variables)
    port = free_port()
    web = processes.add(
        referral_bot(
            ["serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)],
            env,
            logs.with_suffix(".web.log"),
        )
    )
    log = logs.with_suffix(".worker.log")
    worker = processes.add(referral_bot(["worker"], env, log, profile))
    wait_for_port(port, web, "web process")
    return f"http://127.0.0.1:{port}", worker


async def polled_once(redis_url: str, stream: str, within: float = 120) -> None:
    """Until the deployment's first poll (the baseline) has moved the cursor."""
    redis = Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + within
        while not await redis.exists("{" + stream + "}:poll:cursor"):
            if time.monotonic() > deadline:
                raise SystemExit(f"no poll within {within:g} s")
            await asyncio.sleep(0.1)
    finally:
        await redis.aclose()


async def changes_and_cards(
    sandbox: str,
    plan: list[tuple[str, str]],
    args: argparse.Namespace,
    posts: PostLog,
    channels: list[str],
    poll_starts: PollStarts | None,
) -> dict[str, float]:
    """Make the changes, then wait for the cards, noting poll starts meanwhile."""
    stopping = asyncio.Event()
    sampling = asyncio.create_task(poll_starts.sample(stopping)) if poll_starts else None
    try:
        sent = await make_changes(sandbox, plan, args.seconds)
        await wait_for_cards(posts, set(channels), len(plan) * len(channels))
    finally:
        stopping.set()
        if sampling is not None:
            await sampling
    return sent


def run_path(path: str, args: argparse.Namespace, posts: PostLog, work: Path) -> PathResult:
    """One path end to end: a fresh sandbox, the baseline poll, web and worker, the
    subscriptions, the changes, the cards; then the figures, and the run's keys deleted.

    The poll path's worker takes the baseline itself (its first poll, an interval after it
    starts); on the webhook path, whose poll is an hour away, the same ``Poller`` takes it
    here first, as an earlier worker of the deployment would have."""
    webhooks = path == "webhook"
    stream = f"rb:jobs:bench-notify-{args.run}-{path}"
    channels = channel_ids(args.run, path, args.channels)
    plan = planned_changes(args.run, args.referrals, args.changes)
    interval = 3600 if webhooks else args.poll_interval
    poll_starts = None if webhooks else PollStarts(args.redis_url, stream, interval)
    processes = Processes()
    with certificate_host(webhooks) as host, asyncio.Runner() as runner:
        try:
            sandbox_process, sandbox = start_sandbox(
                args.run, args.referrals, host.signer if host else None, work
            )
            processes.add(sandbox_process)
            baseline = (0, 0)
            if webhooks:
                seen, requests, _ = runner.run(first_poll(bench_settings(args, sandbox, stream)))
                baseline = (seen, requests)
            variables = bot_variables(args, sandbox, stream, interval, host)
            profile = f"{args.profile}.{path}" if args.profile else None
            web, worker = start_deployment(variables, processes, work / path, profile)
            if webhooks:
                runner.run(register_webhook(sandbox, web))
            builder = SlackRequests(
                SIGNING_SECRET,
                hooks_url=args.slack_api_url.removesuffix("/api/"),
                team_id=args.team,
            )
            runner.run(subscribe(web, builder, channels, posts))
            runner.run(polled_once(args.redis_url, stream))
            runner.run(clear_request_log(sandbox))
            print(f"{path}: {len(plan):,} changes over {args.seconds:g} s ...", flush=True)
            sent = runner.run(changes_and_cards(sandbox, plan, args, posts, channels, poll_starts))
            peak, rss = worker_memory(worker.pid)
            logged = runner.run(sandbox_requests(sandbox))
            dedupe_keys = runner.run(webhook_dedupe_keys(sandbox)) if webhooks else []
        finally:
            processes.stop_all()
        result = figures(path, posts.to(set(channels)), sent, len(channels), poll_starts)
        result.worker_peak_mb, result.worker_rss_mb = peak, rss
        if webhooks:
            result.webhook_split = webhook_split(
                work / "deliveries.jsonl", posts.to(set(channels)), sent
            )
        result.requests = logged
        result.polls = polls_logged((work / path).with_suffix(".worker.log"))
        first = next((poll for poll in result.polls if poll.baseline), None)
        result.baseline = (first.seen, first.requests) if first else baseline
        slot = "{" + stream + "}"
        result.deleted = runner.run(
            delete_keys(args.redis_url, [f"{stream}*", f"{slot}*"], dedupe_keys)
        )
    return result


def figures(
    path: str,
    posts: list[Post],
    sent: dict[str, float],
    channels: int,
    poll_starts: PollStarts | None,
) -> PathResult:
    """Latency of each (change, channel) card's first delivery; duplicates and gaps; on the
    poll path, that latency split at the start of the poll that found the change."""
    cards = [post for post in posts if post.referral is not None]
    deliveries = Counter((post.referral, post.channel) for post in cards)
    first: dict[tuple[str, str], float] = {}
    for post in cards:
        assert post.referral is not None
        first.setdefault((post.referral, post.channel), post.at)
    ours = {pair: at for pair, at in first.items() if pair[0] in sent}
    result = PathResult(
        name=path,
        expected=len(sent) * channels,
        latencies=[at - sent[referral] for (referral, _), at in ours.items()],
        delivered=len(ours),
        duplicates=sum(1 for count in deliveries.values() if count > 1),
        missing=len(sent) * channels - len(ours),
        unexpected=len(first) - len(ours),
    )
    if poll_starts is not None:
        last_card: dict[float, list[float]] = {}
        for (referral, _), at in ours.items():
            began = poll_starts.caught(sent[referral])
            if began is None:
                continue
            result.waits.append(began - sent[referral])
            result.after_poll.append(at - began)
            last_card.setdefault(began, []).append(at)
        result.waits = sorted(set(result.waits))  # one per change, not per card
        result.bursts = [(len(ats), max(ats) - began) for began, ats in sorted(last_card.items())]
    start = min(sent.values(), default=0.0)
    result.timeline = [
        (sent[referral] - start, at - sent[referral]) for (referral, _), at in ours.items()
    ]
    return result


def webhook_split(
    deliveries: Path, posts: list[Post], sent: dict[str, float]
) -> list[tuple[float, float, float]]:
    """Per change: (queued in the sandbox, the bot's answer, answer to the last card)."""
    last: dict[str, float] = {}
    for post in posts:
        if post.referral in sent:
            last[post.referral] = max(post.at, last.get(post.referral, 0.0))
    split = []
    for line in deliveries.read_text().splitlines():
        timed = json.loads(line)
        referral = timed["referral"]
        if referral in sent and referral in last:
            split.append(
                (
                    timed["began"] - sent[referral],
                    timed["answered"] - timed["began"],
                    last[referral] - timed["answered"],
                )
            )
    return split


# Report -----------------------------------------------------------------------------------------


def seconds(values: list[float], p: float) -> str:
    return f"{percentile(values, p):.2f}"


def report(args: argparse.Namespace, bare: BarePosts, results: dict[str, PathResult]) -> None:
    poll, hook = results["poll"], results["webhook"]
    print(
        f"\n{args.referrals:,} referrals, {args.changes:,} changes over {args.seconds:g} s "
        f"(win/accept/lose/decline on distinct referrals), {args.channels} channels "
        "subscribed with 'all', Slack rate tiers off"
    )
    print(
        f"\nbaseline, bare posts: {bare.cards:,} cards with the product's client and poster, "
        f"{args.channels} lanes: {bare.seconds:.1f} s ({bare.cards / bare.seconds:,.0f}/s), "
        f"p50 {percentile(bare.latencies, 50) * 1000:.1f} ms, "
        f"p99 {percentile(bare.latencies, 99) * 1000:.1f} ms per post"
    )
    print(
        f"baseline, a poll without the cursor (the first, full listing): "
        f"{poll.baseline[1]} requests for {poll.baseline[0]:,} referrals"
    )
    rows: list[tuple[str, Callable[[PathResult], str]]] = [
        ("change to card p50 (s)", lambda r: seconds(r.latencies, 50)),
        ("change to card p99 (s)", lambda r: seconds(r.latencies, 99)),
        ("change to card max (s)", lambda r: seconds(r.latencies, 100)),
        ("cards delivered / expected", lambda r: f"{r.delivered:,}/{r.expected:,}"),
        ("(change, channel) duplicates", lambda r: f"{r.duplicates}"),
        ("(change, channel) missing", lambda r: f"{r.missing}"),
        ("cards for no change made", lambda r: f"{r.unexpected}"),
        ("worker peak RSS (VmHWM, MB)", lambda r: f"{r.worker_peak_mb:.0f}"),
        ("worker RSS at end (MB)", lambda r: f"{r.worker_rss_mb:.0f}"),
        ("API list requests (sandbox log)", lambda r: f"{r.requests['list']:,}"),
        ("API GETs of one referral", lambda r: f"{r.requests['get']:,}"),
    ]
    print(f"\n{'':34} {f'poll ({args.poll_interval:g} s)':>14} {'webhook':>14}")
    for label, value in rows:
        print(f"{label:34} {value(poll):>14} {value(hook):>14}")
    report_polls(poll)
    report_webhooks(hook)
    report_timeline(args, results)
    report_targets(args, poll, hook)


def report_polls(poll: PathResult) -> None:
    """Each poll's requests against its changes; where the poll path's latency goes."""
    polls = [each for each in poll.polls if not each.baseline]
    busy = [each for each in polls if each.changes]
    print(f"\npolls after the baseline: {len(polls)} ({len(polls) - len(busy)} found no change)")
    for each in busy:
        print(
            f"  {each.changes:4d} changes, {each.seen:4d} referrals read, {each.requests} "
            f"requests: {each.requests / each.changes:.3f} requests per change"
        )
    print(
        f"  requests the polls counted: {sum(each.requests for each in polls)}; "
        f"list requests the sandbox logged: {poll.requests['list']}"
    )
    if poll.waits:
        print(
            f"poll path split at the poll's start: change to poll p50 {seconds(poll.waits, 50)} "
            f"s, max {seconds(poll.waits, 100)} s; poll start to card p50 "
            f"{seconds(poll.after_poll, 50)} s, p99 {seconds(poll.after_poll, 99)} s"
        )
        for cards, took in poll.bursts:
            rate = f"{cards / took:,.0f} cards/s" if took > 0 else ""
            print(f"  a poll's {cards:5,d} cards: last {took:.2f} s after its start ({rate})")


def report_webhooks(hook: PathResult) -> None:
    """Where the webhook path's latency goes, per change."""
    if not hook.webhook_split:
        return
    queued, answer, after = (list(column) for column in zip(*hook.webhook_split, strict=True))
    print(
        f"\nwebhook path, per change: queued in the sandbox's sender p50 {seconds(queued, 50)} s,"
        f" p99 {seconds(queued, 99)} s; the bot's answer p50 {percentile(answer, 50) * 1000:.0f}"
        f" ms, p99 {percentile(answer, 99) * 1000:.0f} ms; answer to the last card p50 "
        f"{seconds(after, 50)} s, p99 {seconds(after, 99)} s"
    )


def report_timeline(args: argparse.Namespace, results: dict[str, PathResult]) -> None:
    """Change-to-card p50/p99 by when the change was made: a backlog shows as growth."""
    step = max(args.seconds / 6, 1.0)
    print(f"\nchange to card by when the change was made (p50 / p99, s), {step:g} s windows:")
    for result in results.values():
        windows = []
        for number in range(int(args.seconds / step + 0.5)):
            inside = [
                latency
                for at, latency in result.timeline
                if number * step <= at < (number + 1) * step
            ]
            windows.append(f"{seconds(inside, 50)}/{seconds(inside, 99)}")
        print(f"  {result.name:8} " + "  ".join(windows))


def report_targets(args: argparse.Namespace, poll: PathResult, hook: PathResult) -> None:
    busy = [each for each in poll.polls if each.changes and not each.baseline]
    worst = max((each.requests / each.changes for each in busy), default=0.0)
    allowed = max(((each.changes // 100 + 1) / each.changes for each in busy), default=0.0)
    peak = max(poll.worker_peak_mb, hook.worker_peak_mb)
    duplicates = poll.duplicates + hook.duplicates
    missing = poll.missing + hook.missing
    targets = (
        (f"webhook p99 {seconds(hook.latencies, 99)} s", "<= 1 s",
         percentile(hook.latencies, 99) <= 1.0),
        (f"poll p99 {seconds(poll.latencies, 99)} s",
         f"<= interval + 1 s = {args.poll_interval + 1:g} s",
         percentile(poll.latencies, 99) <= args.poll_interval + 1),
        (f"requests per poll / changes at most {worst:.3f}",
         f"proportional, one page of 100 per 100 changes: <= {allowed:.3f} here",
         bool(busy) and worst <= allowed + 1e-9),
        (f"worker peak RSS {peak:.0f} MB", "< 150 MB", peak < 150),
        (f"duplicates {duplicates}", "0", duplicates == 0),
        (f"missing {missing}", "0", missing == 0),
    )  # fmt: skip
    print()
    for figure, target, met in targets:
        print(f"{'PASS' if met else 'MISS'}  {figure} (target {target})")


# Entry ------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> None:
    args.run = secrets.token_hex(3).upper()
    args.team = f"TB{args.run}"
    with tempfile.TemporaryDirectory(prefix="bench-notify-") as directory:
        work = Path(directory)
        posts_path = work / "posts.jsonl"
        posts_path.touch()
        stand_in, args.slack_api_url = start_stand_in(posts_path)
        posts = PostLog(posts_path)
        results: dict[str, PathResult] = {}
        try:
            settings = bench_settings(args, "http://127.0.0.1:1", "rb:jobs:unused")
            bare = asyncio.run(
                bare_posts(settings, channel_ids(args.run, "bare", args.channels), args.changes)
            )
            for path in ("poll", "webhook"):
                results[path] = run_path(path, args, posts, work)
            deleted = asyncio.run(
                delete_keys(args.redis_url, [f"rb:{{slack:{args.team}:*"], [])
            ) + sum(result.deleted for result in results.values())
        finally:
            stop(stand_in, signal.SIGTERM)
    print(f"Redis keys of this run deleted: {deleted:,}")
    report(args, bare, results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=1_000)
    parser.add_argument("--seconds", type=float, default=60.0, help="over how long")
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--poll-interval", type=float, default=5.0)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument(
        "--quick", action="store_true", help="1,000 referrals, 100 changes over 10 s"
    )
    parser.add_argument(
        "--profile", help="write a cProfile of each path's worker to PROFILE.poll, .webhook"
    )
    # For the child processes this script starts.
    parser.add_argument("--serve", choices=("sandbox", "stand-in"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--posts", help=argparse.SUPPRESS)
    parser.add_argument("--signing-key", help=argparse.SUPPRESS)
    parser.add_argument("--cert-url", help=argparse.SUPPRESS)
    parser.add_argument("--deliveries", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.referrals, args.changes, args.seconds = 1_000, 100, 10.0
    if args.serve == "sandbox":
        serve_sandbox(args)
    elif args.serve == "stand-in":
        serve_stand_in(args)
    else:
        run(args)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
