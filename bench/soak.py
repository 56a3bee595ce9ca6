"""Memory under time: RSS of the Procfile's processes and Redis memory, minute by minute.

The deployment runs as the ``Procfile`` runs it: ``referral-bot serve --no-worker`` and one
``referral-bot worker``, configured through the environment, Redis on loopback (DB 14 by
default), the sandbox (seeded with ``--referrals`` referrals, in memory) in a process of its
own, the Slack stand-in (rate tiers off) in this process. For ``--minutes`` minutes (default
10) it is driven with a steady mix:

* ``--sellers`` sellers (20) in their DMs, ``--rate`` turns a second in all (4), each seller
  one turn at a time (the next when the bot answered, or after ``--turn-timeout`` seconds):
  ``/referral new`` as a slash command, the new-referral flow's answers typed one message
  after the other, ``submit`` (Partner Center creates the referral), then ``/referral list``
  and ``/referral show`` on a seeded referral; then the next flow. Every request is a signed
  Slack payload, as Slack sends it, to the web process.
* ``--channels`` channels (5) subscribed with ``/referral subscribe all`` at the start, and
  Microsoft changing a seeded referral's status every ``--change-every`` seconds (2; win,
  accept, lose, decline in turn, through the sandbox's admin routes), so the poll (every
  ``--poll-interval`` seconds, 5) finds changes and the worker posts their cards.

At the end of every minute it prints the turns done in that minute, the resident set
(``VmRSS``) of the web process, the worker and the sandbox, Redis's ``used_memory`` (``INFO
memory``: the whole server, every database) and the number of keys the run owns (its job
stream and that stream's hash slot, its workspace's conversations; counted with ``SCAN
MATCH``). Then, for each series, the value at minute 2 (the first after warm-up) against the
last, and the growth in percent.

*Flat after warm-up* means: growth from minute 2 to the last minute of at most 10%. The
verdict is on the product's series (web RSS, worker RSS, ``used_memory``, the run's keys); the
sandbox is the stand-in for Microsoft and keeps every referral the sellers create, so its
series is shown but not judged. The sandbox's request log is emptied every minute (this
script seeds the sandbox as ``bench/notify.py`` does, keeping up to a million requests).

    .venv/bin/python bench/soak.py [--minutes 10] [--sellers 20] [--rate 4] [--channels 5]
        [--change-every 2] [--referrals 1000] [--poll-interval 5]
        [--redis-url redis://127.0.0.1:6379/14]

Every Redis key the run writes carries its id (the job stream and its slot, the run's
workspace) and is deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

# Run as a script from the project root: Python puts bench/ on the path, not the root, and the
# signed request builders and the stand-ins live in the test package.
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

import aiohttp
import uvloop
from notify import (
    REASONS,
    Processes,
    admin,
    bot_variables,
    delete_keys,
    planned_changes,
    polled_once,
    referral_id,
    start_deployment,
    start_sandbox,
    worker_memory,
)
from redis.asyncio import Redis

from tests.support.slack_payloads import (
    EVENTS_PATH,
    SIGNING_SECRET,
    SignedRequest,
    SlackRequests,
    SlackUser,
    dm_channel_id,
)
from tests.support.slack_stand_in import RESPONSE_URL, Call, SlackApiStandIn

WARM_UP_MINUTE = 2
FLAT_GROWTH = 10.0
"""Percent: the most a series may grow from minute ``WARM_UP_MINUTE`` to the last."""
CREATED_WORDS = "created your referral"
PROBLEM_WORDS = "Something went wrong"


def flow_answers(today: datetime) -> list[str]:
    """The new-referral flow's typed answers, up to the review (as in the Slack turn tests)."""
    closing = str((today + timedelta(days=120)).date())
    answers = ["private", "Soak", "Fabrikam Inc", "1 Main St", "skip", "Seattle"]
    answers += ["WA", "98101", "US", "10 to 50 employees", "skip", "50k", closing]
    answers += ["all", "skip", "skip", "skip", "skip", "skip", "skip", "yes", "yes"]
    return [*answers, "skip"]


# Sellers ------------------------------------------------------------------------------------


@dataclass
class Seller:
    user: str
    channel: str
    script: itertools.cycle[tuple[str, str]]
    """(how, text) of each turn, in turn: ``command`` (a slash command) or ``dm`` (typed)."""
    waiting: asyncio.Future[str] | None = None


@dataclass
class Tally:
    """What happened, counted per minute and in all."""

    turns: int = 0
    flows: int = 0
    problems: int = 0
    timeouts: int = 0
    refused: int = 0
    changes: int = 0
    cards: int = 0
    """Status cards posted to the subscribed channels."""
    late: int = 0
    """Ticks that found no seller free (the bot was slower than the rate)."""

    def snapshot(self) -> Tally:
        return Tally(**vars(self))


class Watcher:
    """The stand-in's listener: a seller's turn is answered by the first message the bot puts
    in their DM (``chat.postMessage`` or the ``response_url``); channel cards are counted."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, sellers: list[Seller], channels: list[str]
    ) -> None:
        self.loop = loop
        self.sellers = {seller.channel: seller for seller in sellers}
        self.channels = set(channels)
        self.confirmed: set[str] = set()
        self.tally: Tally | None = None

    def on_call(self, call: Call) -> None:
        """On the stand-in's server thread, its lock held: hand over, quickly."""
        if call.method == RESPONSE_URL and call.use is not None:
            channel = call.use.channel
        elif call.method == "chat.postMessage" and call.ok:
            channel = str(call.args.get("channel"))
        else:
            return
        said = str(call.args.get("text") or "") + str(call.args.get("blocks") or "")
        self.loop.call_soon_threadsafe(self._arrived, channel, said)

    def _arrived(self, channel: str | None, said: str) -> None:
        if channel in self.channels:
            if channel not in self.confirmed:
                self.confirmed.add(channel)
            elif self.tally is not None:
                self.tally.cards += 1
            return
        seller = self.sellers.get(channel or "")
        if seller is None:
            return
        if self.tally is not None:
            self.tally.flows += CREATED_WORDS in said.lower()
            self.tally.problems += PROBLEM_WORDS in said
        if seller.waiting is not None and not seller.waiting.done():
            seller.waiting.set_result(said)


class Load:
    """Signs each seller's next turn and sends it to the web process."""

    def __init__(self, stand_in: SlackApiStandIn, web: str, team: str) -> None:
        self.stand_in = stand_in
        self.web = web
        self.team = team
        self.builder = SlackRequests(
            SIGNING_SECRET,
            hooks_url=stand_in.origin,
            team_id=team,
            response_urls=stand_in.response_url,
        )

    def request(self, seller: Seller, how: str, text: str) -> SignedRequest:
        if how == "dm":
            return self.builder.dm_message(text, user=seller.user)
        request = self.builder.command(text, user=seller.user)
        url = self.stand_in.response_url(
            seller.channel, user=seller.user, kind="commands", team_id=self.team
        )
        # The command's response_url bound to the seller's DM, so its replies are recorded.
        fields = {**request.payload, "response_url": url}
        return self.builder.sign(urlencode(fields).encode(), request.content_type, payload=fields)

    async def turn(
        self, session: aiohttp.ClientSession, seller: Seller, tally: Tally, wait: float
    ) -> None:
        how, text = next(seller.script)
        request = self.request(seller, how, text)
        seller.waiting = asyncio.get_running_loop().create_future()
        async with session.post(self.web, data=request.body, headers=request.headers) as sent:
            body = await sent.read()
            if sent.status != 200:
                tally.refused += 1
            elif body.strip() and not seller.waiting.done():
                seller.waiting.set_result(body.decode())  # answered in the ack itself
        try:
            await asyncio.wait_for(seller.waiting, wait)
        except TimeoutError:
            tally.timeouts += 1
        tally.turns += 1


async def drive_sellers(
    load: Load, sellers: list[Seller], tally: Tally, args: argparse.Namespace, until: float
) -> None:
    """A turn every 1/rate seconds, each by the next free seller (round robin)."""
    free: asyncio.Queue[Seller] = asyncio.Queue()
    for seller in sellers:
        free.put_nowait(seller)
    running: set[asyncio.Task[None]] = set()
    connector = aiohttp.TCPConnector(limit=len(sellers) + 5)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(seller: Seller) -> None:
            try:
                await load.turn(session, seller, tally, args.turn_timeout)
            finally:
                free.put_nowait(seller)

        started = time.perf_counter()
        for tick in itertools.count():
            due = started + tick / args.rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            if time.perf_counter() >= until:
                break
            if free.empty():
                tally.late += 1
            seller = await free.get()
            task = asyncio.create_task(one(seller))
            running.add(task)
            task.add_done_callback(running.discard)
        await asyncio.gather(*running)


async def drive_changes(
    sandbox: str, plan: list[tuple[str, str]], tally: Tally, every: float, until: float
) -> None:
    """Act as Microsoft: one status change every ``every`` seconds, until ``until``."""
    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        for number, (referral, action) in enumerate(plan):
            await asyncio.sleep(max(0.0, started + number * every - time.perf_counter()))
            if time.perf_counter() >= until:
                return
            body = {"reason": REASONS[action]} if action in REASONS else {}
            url = f"{sandbox}/sandbox/referrals/{referral}/{action}"
            async with session.post(url, json=body) as answer:
                await answer.read()
                tally.changes += answer.status == 200


# Samples ------------------------------------------------------------------------------------


@dataclass
class Sample:
    minute: int
    turns: int
    flows: int
    changes: int
    cards: int
    problems: int
    timeouts: int
    late: int
    web_mb: float
    worker_mb: float
    sandbox_mb: float
    used_mb: float
    keys: int
    kinds: Counter[str]
    lasting: int = 0
    """The run's keys without a TTL."""


def rss_mb(pid: int) -> float:
    return worker_memory(pid)[1]


NO_EXPIRY = "(no expiry) "
"""The prefix of a kind counting the run's keys that have no TTL: each must be one the
product bounds another way (a stream trimmed to a length, a set of subscriptions)."""


async def run_keys(redis: Redis, patterns: list[str]) -> Counter[str]:
    """The run's keys by kind: the part after the stream's slot (``refstate``, ``notified``,
    ...), its workspace's conversations (``slack``), or the key itself; and, under
    :data:`NO_EXPIRY`, the same for the keys without a TTL."""
    found: set[str] = set()
    for pattern in patterns:
        async for key in redis.scan_iter(match=pattern, count=1000):
            found.add(key.decode())
    ordered = sorted(found)
    async with redis.pipeline(transaction=False) as pipe:
        for key in ordered:
            pipe.ttl(key)
        ttls = await pipe.execute()
    kinds: Counter[str] = Counter()
    for key, ttl in zip(ordered, ttls, strict=True):
        if key.startswith("rb:{slack:"):
            kind = "slack conversations"
        elif "}:" in key:
            kind = key.partition("}:")[2].split(":")[0]
        else:
            kind = "job stream"
        kinds[kind] += 1
        if ttl == -1:
            kinds[NO_EXPIRY + kind] += 1
    return kinds


@dataclass
class Run:
    args: argparse.Namespace
    stand_in: SlackApiStandIn
    sandbox: str
    web: str
    pids: dict[str, int]
    patterns: list[str]
    samples: list[Sample] = field(default_factory=list)
    total: Tally = field(default_factory=Tally)


async def subscribe(load: Load, channels: list[str], watcher: Watcher) -> None:
    """``/referral subscribe all`` in each channel; returns once each has its confirmation."""
    async with aiohttp.ClientSession() as session:
        for channel in channels:
            request = load.builder.command(
                "subscribe all", channel=channel, channel_name=channel.lower()
            )
            async with session.post(load.web, data=request.body, headers=request.headers) as sent:
                if sent.status != 200:
                    raise SystemExit(f"subscribing {channel}: HTTP {sent.status}")
    deadline = time.monotonic() + 60
    while watcher.confirmed != set(channels):
        if time.monotonic() > deadline:
            raise SystemExit("not every channel confirmed its subscription within 60 s")
        await asyncio.sleep(0.1)


async def soak(run: Run, sellers: list[Seller], channels: list[str]) -> None:
    args = run.args
    watcher = Watcher(asyncio.get_running_loop(), sellers, channels)
    stop_listening = run.stand_in.listen(watcher.on_call)
    load = Load(run.stand_in, run.web, args.team)
    redis = Redis.from_url(args.redis_url)
    try:
        await subscribe(load, channels, watcher)
        await polled_once(args.redis_url, args.stream)
        tally = run.total
        watcher.tally = tally
        until = time.perf_counter() + args.minutes * args.minute_seconds
        changes = int(args.minutes * args.minute_seconds / args.change_every) + 1
        plan = planned_changes(args.run, args.referrals, min(changes, args.referrals))
        print(
            f"soak: {args.minutes} min, {len(sellers)} sellers at {args.rate:g} turns/s, "
            f"{len(channels)} channels, a status change every {args.change_every:g} s, "
            f"poll every {args.poll_interval:g} s",
            flush=True,
        )
        header = (
            f"{'min':>3} {'turns':>6} {'flows':>5} {'chg':>4} {'cards':>5} {'web MB':>7} "
            f"{'worker MB':>9} {'sandbox MB':>10} {'redis MB':>9} {'run keys':>8}"
        )
        print(header, flush=True)
        driving = asyncio.gather(
            drive_sellers(load, sellers, tally, args, until),
            drive_changes(run.sandbox, plan, tally, args.change_every, until),
        )
        started, before = time.perf_counter(), tally.snapshot()
        for minute in range(1, args.minutes + 1):
            due = started + minute * args.minute_seconds
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            now = tally.snapshot()
            memory = await redis.info("memory")
            sample = Sample(
                minute=minute,
                turns=now.turns - before.turns,
                flows=now.flows - before.flows,
                changes=now.changes - before.changes,
                cards=now.cards - before.cards,
                problems=now.problems - before.problems,
                timeouts=now.timeouts - before.timeouts,
                late=now.late - before.late,
                web_mb=rss_mb(run.pids["web"]),
                worker_mb=rss_mb(run.pids["worker"]),
                sandbox_mb=rss_mb(run.pids["sandbox"]),
                used_mb=int(memory["used_memory"]) / 1024 / 1024,
                keys=0,
                kinds=await run_keys(redis, run.patterns),
            )
            sample.keys = sum(n for k, n in sample.kinds.items() if not k.startswith(NO_EXPIRY))
            sample.lasting = sum(n for k, n in sample.kinds.items() if k.startswith(NO_EXPIRY))
            before = now
            run.samples.append(sample)
            print(
                f"{minute:>3} {sample.turns:>6} {sample.flows:>5} {sample.changes:>4} "
                f"{sample.cards:>5} {sample.web_mb:>7.1f} {sample.worker_mb:>9.1f} "
                f"{sample.sandbox_mb:>10.1f} {sample.used_mb:>9.2f} {sample.keys:>8}",
                flush=True,
            )
            # The sandbox keeps every request it answered: empty the log, as a bench artefact.
            await admin("DELETE", f"{run.sandbox}/sandbox/requests")
        await driving
    finally:
        stop_listening()
        await redis.aclose()


# Report -------------------------------------------------------------------------------------

SERIES: tuple[tuple[str, Callable[[Sample], float], bool], ...] = (
    ("web RSS (MB)", lambda s: s.web_mb, True),
    ("worker RSS (MB)", lambda s: s.worker_mb, True),
    ("Redis used_memory (MB)", lambda s: s.used_mb, True),
    # Keys with a TTL grow until their TTL has passed once (a day for a card's delivery
    # mark, an hour for a turn's), which no short run reaches: shown, not judged. What
    # must stay flat is the keys that never expire.
    ("run's Redis keys", lambda s: s.keys, False),
    ("run's keys without expiry", lambda s: s.lasting, True),
    ("sandbox RSS (MB, stand-in)", lambda s: s.sandbox_mb, False),
)


def report(run: Run) -> None:
    samples, total, args = run.samples, run.total, run.args
    seconds = args.minutes * args.minute_seconds
    print(
        f"\nin all: {total.turns:,} turns ({total.turns / seconds:.2f}/s), "
        f"{total.flows} referrals created through the flow, {total.changes} status changes, "
        f"{total.cards} channel cards; {total.problems} error replies, {total.timeouts} turns "
        f"unanswered within {args.turn_timeout:g} s, {total.refused} requests not answered "
        f"200, {total.late} ticks with no seller free"
    )
    if len(samples) < WARM_UP_MINUTE:
        return
    first, last = samples[WARM_UP_MINUTE - 1], samples[-1]
    print(
        f"\nflat after warm-up = growth from minute {WARM_UP_MINUTE} to minute {last.minute} "
        f"of at most {FLAT_GROWTH:g}%"
    )
    print(f"{'':28} {f'min {WARM_UP_MINUTE}':>9} {f'min {last.minute}':>9} {'growth':>8}")
    verdicts = []
    for label, value, judged in SERIES:
        a, b = value(first), value(last)
        growth = (b - a) / a * 100 if a else 0.0
        print(f"{label:28} {a:>9.2f} {b:>9.2f} {growth:>+7.1f}%")
        if judged:
            verdicts.append((label, growth))
    print(f"\nthe run's keys by kind       {f'min {WARM_UP_MINUTE}':>9} {f'min {last.minute}':>9}")
    for kind in sorted(set(first.kinds) | set(last.kinds)):
        print(f"  {kind:26} {first.kinds[kind]:>9} {last.kinds[kind]:>9}")
    flat = all(growth <= FLAT_GROWTH for _, growth in verdicts)
    worst = max(verdicts, key=lambda item: item[1])
    print(
        f"\n{'PASS' if flat else 'MISS'}  flat after warm-up: the largest growth from minute "
        f"{WARM_UP_MINUTE} to {last.minute} is {worst[0]} {worst[1]:+.1f}% (target <= "
        f"{FLAT_GROWTH:g}% for web, worker, used_memory and the run's keys without expiry)"
    )


# Entry --------------------------------------------------------------------------------------


def seller_id(run: str, index: int) -> str:
    return f"U{run}S{index:03d}"


def main_run(args: argparse.Namespace) -> None:
    args.run = secrets.token_hex(3).upper()
    args.team = f"TB{args.run}"
    args.stream = f"rb:jobs:bench-soak-{args.run}"
    slot = "{" + args.stream + "}"
    patterns = [args.stream, f"{args.stream}:*", f"{slot}*", f"rb:{{slack:{args.team}:*"]
    users = [seller_id(args.run, index) for index in range(args.sellers)]
    channels = [f"C{args.run}N{index:02d}" for index in range(args.channels)]
    stand_in = SlackApiStandIn()
    for index, user in enumerate(users):
        stand_in.set_user(
            SlackUser(
                user, user.lower(), f"Soak Seller {index}", "Soak", f"Seller {index}",
                f"{user.lower()}@contoso.example",
            )
        )  # fmt: skip
    args.slack_api_url = stand_in.start()
    answers = flow_answers(datetime.now(UTC))
    shown = itertools.count()
    processes = Processes()
    run: Run | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="bench-soak-") as directory:
            work = Path(directory)
            sandbox_process, sandbox = start_sandbox(args.run, args.referrals, None, work)
            processes.add(sandbox_process)
            variables = bot_variables(args, sandbox, args.stream, args.poll_interval, None)
            variables["REFERRAL_ADMINS"] = ",".join(users)  # list and show any seeded referral
            web, worker = start_deployment(variables, processes, work / "soak", None)
            pids = {
                "web": processes.started[1].pid,
                "worker": worker.pid,
                "sandbox": sandbox_process.pid,
            }
            sellers = []
            for user in users:
                show = referral_id(args.run, next(shown) % args.referrals)
                script = [("command", "new"), *(("dm", text) for text in answers)]
                script += [("dm", "submit"), ("command", "list"), ("command", f"show {show}")]
                sellers.append(Seller(user, dm_channel_id(user), itertools.cycle(script)))
            run = Run(args, stand_in, sandbox, web + EVENTS_PATH, pids, patterns)
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(soak(run, sellers, channels))
    finally:
        processes.stop_all()
        stand_in.stop()
        deleted = asyncio.run(delete_keys(args.redis_url, patterns, []))
        print(f"Redis keys of this run deleted: {deleted:,}")
    if run is not None:
        report(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--sellers", type=int, default=20)
    parser.add_argument("--rate", type=float, default=4.0, help="seller turns a second, in all")
    parser.add_argument("--channels", type=int, default=5)
    parser.add_argument(
        "--change-every", type=float, default=2.0, help="seconds between status changes"
    )
    parser.add_argument("--referrals", type=int, default=1_000, help="seeded in the sandbox")
    parser.add_argument("--poll-interval", type=float, default=5.0)
    parser.add_argument("--turn-timeout", type=float, default=30.0)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    # A shorter "minute", to try the script out.
    parser.add_argument("--minute-seconds", type=float, default=60.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.minutes < WARM_UP_MINUTE + 1:
        raise SystemExit(f"--minutes must be at least {WARM_UP_MINUTE + 1}")
    if min(args.sellers, args.channels, args.referrals) < 1 or args.rate <= 0:
        raise SystemExit("--sellers, --channels, --referrals and --rate must be positive")
    main_run(args)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
