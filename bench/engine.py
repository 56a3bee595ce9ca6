"""Conversation engine: steps of the new-referral flow on a real Redis, next to a floor.

Sellers answer every question of the new-referral flow (the four kinds of deal in turn:
private lead, partner-led, Microsoft co-sell, services co-sell) through ``Desk.on_message``,
as the chat front ends do. A *step* is one answer; ``/referral new`` and ``submit`` are not
steps. Two scenarios:

(a) one seller completing the flow alone, flow after flow;
(b) ``--sellers`` sellers (default 200) completing it at the same time.

Each runs two ways: with one ``Engine`` for the process, as the product runs it (its cache
holds the session this process wrote last, so a step is one compare-and-set), and with a
fresh engine for every step (an empty cache, as when each step lands on another web process:
a read, then a compare-and-set).

The *floor* is the same number of steps from the same number of concurrent tasks, on the same
client and pool, each step a plain ``GET`` then ``SET`` of a value the size of a stored
session. Floors and engine runs alternate, ``--repeats`` times, in one run.

Submits are measured on their own, against the built-in sandbox in its own process (the
referrals are really created, over loopback HTTP); ``--no-submit`` cancels the drafts instead.

Round trips per step come from the session store's counter, which every Redis call of the
store passes through. (The server's command statistics cannot cross-check it: they also count
the commands a script runs inside the server.)

The Redis client is built as the composition root builds it (``REDIS_MAX_CONNECTIONS`` and
the timeouts at their defaults unless ``--max-connections`` is given), on uvloop as the web
process runs under uvicorn. Every key carries this run's id and is deleted at the end. When
nothing answers at the default URL, an embedded server in a temporary folder is used instead.

    .venv/bin/python bench/engine.py [--sellers 200] [--redis-url redis://127.0.0.1:6379/14]
        [--flows 8] [--repeats 3] [--max-connections N] [--no-submit] [--loop asyncio]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import uvloop
from pydantic import SecretStr
from redis.asyncio import Redis
from sandbox_process import free_port, start_sandbox

from bot.app.clients import build_http_client
from bot.clock import SystemClock
from bot.conversation.chat.desk import Desk
from bot.conversation.runtime.engine import Conversation, Engine
from bot.conversation.runtime.session_store import RedisSessionStore
from bot.conversation.views import Created, Notice, Prompt, Review, Seller, View
from bot.partner_center.auth import StaticTokenProvider
from bot.partner_center.client import PartnerCenterClient
from bot.settings import Settings
from bot.storage.embedded import ensure_embedded_server, stop_embedded_server
from bot.storage.redis import RedisUnavailable, connect, redact_url

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
TTL_SECONDS = 3600
TOKEN = "bench-token"
KINDS = ("private", "partner_led", "co_sell", "services_co_sell")
SELLER = Seller(
    user_id="U0001",
    display_name="Ana Lopez",
    first_name="Ana",
    last_name="Lopez",
    email="ana.lopez@contoso.com",
)
# Commands a client sends in steps and floors. Commands a script runs (the HGET, HSET and
# EXPIRE of the compare-and-set) are counted by the server too, but are not round trips.

# The answers of the engine's end-to-end tests: every question of the flow, all valid.
ADDRESS = ["1 Main St", "skip", "Seattle", "WA", "98101", "United States", "51 to 250 employees"]
CONTACT = ["Sam", "Rivera", "sam.rivera@fabrikam.com", "+1 425 555 0100"]
# The currency comes from the country; "all" asks each optional question in turn.
DEAL = ["120k", "2027-01-31", "all", "Wants to move stores to Azure", "retail", "azure", "skip"]


def answers_for(kind: str) -> list[str]:
    """Every answer of the new-referral flow for one kind of deal, in order, one field per
    answer (the longest way, so a step is the smallest unit of work a seller gives)."""
    steps = [kind, f"Fabrikam - {kind}", "Fabrikam Inc", *ADDRESS]
    steps += CONTACT if kind != "private" else ["skip"]  # a private lead's contact is optional
    steps += DEAL
    steps += ["DEAL-123456-XYZ"] if kind == "co_sell" else ["skip"]
    if kind == "services_co_sell":
        steps += ["Deployment services", "Infrastructure", "Migrate SAP"]
    if kind in ("co_sell", "services_co_sell"):
        steps += ["proof of concept", "Customer wants a pilot in Q1"]
    steps += ["skip", "yes", "yes"]  # the consents one at a time
    if kind != "private":
        steps += ["no"]
    steps += ["Raj Patel <raj.patel@contoso.com>"]
    return steps


# -- figures --------------------------------------------------------------------------------


@dataclass
class Result:
    """Steps (or submits) of one scenario, summed over the repeats."""

    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    round_trips: int = 0

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    @property
    def trips_each(self) -> float:
        return self.round_trips / self.count


@dataclass
class Phase:
    seconds: float
    latencies: list[float]
    round_trips: int

    def into(self, result: Result) -> None:
        result.seconds += self.seconds
        result.latencies += self.latencies
        result.round_trips += self.round_trips


@dataclass
class Parts:
    """What every scenario shares: one Redis client and pool, one store, one API client."""

    redis: Redis
    store: RedisSessionStore
    client: PartnerCenterClient
    run_id: str

    def engine(self) -> Engine:
        return Engine(self.store, self.client, clock=SystemClock(), ttl_seconds=TTL_SECONDS)

    async def phase(self, tasks: list[Callable[[], Awaitable[list[float]]]]) -> Phase:
        """Run ``tasks`` at once."""
        trips = self.store.round_trips
        started = time.perf_counter()
        results = await asyncio.gather(*(task() for task in tasks))
        seconds = time.perf_counter() - started
        latencies = [latency for result in results for latency in result]
        return Phase(seconds, latencies, self.store.round_trips - trips)


def refused(views: list[View]) -> str | None:
    """Why a step's reply is not the next question (or the review), or None if it is."""
    if not views or not isinstance(views[-1], Prompt | Review):
        return f"unexpected reply {views!r}"
    errors = [view.error for view in views if isinstance(view, Prompt) and view.error]
    return errors[0] if errors else None


# -- the engine -----------------------------------------------------------------------------


@dataclass
class Draft:
    conversation: Conversation
    kind: str
    desk: Callable[[], Desk]


async def start(seller: Draft) -> list[float]:
    views = await seller.desk().on_message(seller.conversation, "/referral new")
    if not isinstance(views[-1], Prompt):
        raise SystemExit(f"/referral new did not ask the first question: {views!r}")
    return []


async def answer_all(seller: Draft) -> list[float]:
    """Answer every question of the flow; the latency of each step."""
    latencies = []
    views: list[View] = []
    for answer in answers_for(seller.kind):
        desk = seller.desk()
        started = time.perf_counter()
        views = await desk.on_message(seller.conversation, answer)
        latencies.append(time.perf_counter() - started)
        if (problem := refused(views)) is not None:
            raise SystemExit(f"the engine refused {answer!r}: {problem}")
    last = views[-1]
    if not isinstance(last, Review) or last.missing:
        raise SystemExit(f"the {seller.kind} flow did not end on a complete review: {last!r}")
    return latencies


async def submit(seller: Draft) -> list[float]:
    started = time.perf_counter()
    views = await seller.desk().on_message(seller.conversation, "submit")
    latency = time.perf_counter() - started
    if not any(isinstance(view, Created) for view in views):
        raise SystemExit(f"submit did not create the referral: {views!r}")
    return [latency]


async def cancel(seller: Draft) -> list[float]:
    views = await seller.desk().on_message(seller.conversation, "cancel")
    if not isinstance(views[0], Notice):
        raise SystemExit(f"cancel did not discard the draft: {views!r}")
    return []


async def engine_round(
    parts: Parts,
    sellers: int,
    first_kind: int,
    desk: Callable[[], Desk],
    steps: Result,
    submits: Result | None,
    tag: str,
) -> None:
    """``sellers`` sellers at once: all start, all answer (measured), all submit."""
    group = [
        Draft(
            Conversation(key=f"{parts.run_id}:{tag}:{i}", seller=SELLER),
            KINDS[(first_kind + i) % len(KINDS)],
            desk,
        )
        for i in range(sellers)
    ]
    await parts.phase([partial(start, draft) for draft in group])
    (await parts.phase([partial(answer_all, draft) for draft in group])).into(steps)
    if submits is None:
        await parts.phase([partial(cancel, draft) for draft in group])
    else:
        (await parts.phase([partial(submit, draft) for draft in group])).into(submits)


# -- the floor ------------------------------------------------------------------------------


async def floor_round(
    parts: Parts, sellers: int, first_kind: int, value: bytes, result: Result, tag: str
) -> None:
    """The same steps as :func:`engine_round`, each a plain GET then SET."""
    redis = parts.redis
    keys = [f"{parts.run_id}:floor:{tag}:{i}" for i in range(sellers)]
    for key in keys:
        await redis.set(key, value)

    def pairs(i: int) -> Callable[[], Awaitable[list[float]]]:
        key, count = keys[i], len(answers_for(KINDS[(first_kind + i) % len(KINDS)]))

        async def run() -> list[float]:
            latencies = []
            for _ in range(count):
                started = time.perf_counter()
                await redis.get(key)
                await redis.set(key, value)
                latencies.append(time.perf_counter() - started)
            return latencies

        return run

    phase = await parts.phase([pairs(i) for i in range(sellers)])
    phase.round_trips = 2 * len(phase.latencies)  # by construction: no store involved
    phase.into(result)
    await redis.delete(*keys)


# -- the run --------------------------------------------------------------------------------


@dataclass
class Scenario:
    label: str
    sellers: int
    rounds: int
    floor: Result
    warm: Result
    cold: Result
    warm_submits: Result
    cold_submits: Result


async def warm_up(parts: Parts, engine: Engine, args: argparse.Namespace) -> tuple[int, int]:
    """Fill the pool, load the scripts, and measure stored sessions: (mean, max) bytes."""
    await asyncio.gather(*(parts.redis.ping() for _ in range(args.sellers)))
    sizes = []
    for kind in KINDS:
        draft = Draft(
            Conversation(key=f"{parts.run_id}:warm-up:{kind}", seller=SELLER),
            kind,
            lambda: Desk(engine, parts.client),
        )
        await start(draft)
        for answer in answers_for(kind):
            await draft.desk().on_message(draft.conversation, answer)
            name = parts.store.keys.session(draft.conversation.key)
            sizes.append(len(await parts.redis.hget(name, "d") or b""))
        # One submit loads the claim scripts (a server that never ran them costs an extra
        # round trip the first time) and warms the connection to the sandbox.
        await (submit(draft) if args.submit and kind == KINDS[-1] else cancel(draft))
    return round(statistics.mean(sizes)), max(sizes)


async def measure(parts: Parts, args: argparse.Namespace) -> tuple[list[Scenario], int, int]:
    engine = parts.engine()  # one per process, as the product runs it

    def warm() -> Desk:
        return Desk(engine, parts.client)

    def cold() -> Desk:
        return Desk(parts.engine(), parts.client)

    mean_size, max_size = await warm_up(parts, engine, args)
    value = b"x" * mean_size

    def scenario(label: str, sellers: int, rounds: int) -> Scenario:
        return Scenario(
            label,
            sellers,
            rounds,
            floor=Result(f"{label} floor: GET+SET"),
            warm=Result(f"{label} engine, one per process"),
            cold=Result(f"{label} engine, fresh per step"),
            warm_submits=Result(""),
            cold_submits=Result(""),
        )

    alone = scenario("(a) 1 seller", 1, args.flows)
    crowd = scenario(f"(b) {args.sellers} sellers", args.sellers, 1)
    for repeat in range(args.repeats):
        for s in (alone, crowd):
            for r in range(s.rounds):
                kind = repeat * s.rounds + r
                tag = f"{s.sellers}:{repeat}:{r}"
                await floor_round(parts, s.sellers, kind, value, s.floor, tag)
                warm_submits = s.warm_submits if args.submit else None
                await engine_round(parts, s.sellers, kind, warm, s.warm, warm_submits, "w" + tag)
                cold_submits = s.cold_submits if args.submit else None
                await engine_round(parts, s.sellers, kind, cold, s.cold, cold_submits, "c" + tag)
    return [alone, crowd], mean_size, max_size


def report(scenarios: list[Scenario], submit: bool, pool_size: int) -> None:
    print(
        f"\n{'scenario':48} {'steps':>6} {'steps/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'RT/step':>8}"
    )
    for s in scenarios:
        for r in (s.floor, s.warm, s.cold):
            print(
                f"{r.name:48} {r.count:6d} {r.rate:8.0f} {r.percentile(50):7.3f} "
                f"{r.percentile(99):7.3f} {r.trips_each:8.2f}"
            )
    print("RT = Redis round trips per step (the floor: its GET and its SET)")
    crowd = scenarios[-1]
    print(
        f"(b): {crowd.sellers} tasks share the pool of {pool_size} connections; waiting for one "
        "is part of every (b) figure, floor included"
    )
    if submit:
        print(
            "\nsubmits (not in the steps above): the sandbox in its own process over loopback "
            "HTTP;\none POST per referral, two for the co-sell kinds"
        )
        print(f"{'':48} {'submits':>7} {'p50 ms':>7} {'p99 ms':>7} {'RT/submit':>9}")
        for s in scenarios:
            for name, r in (
                ("one per process", s.warm_submits),
                ("fresh per call", s.cold_submits),
            ):
                print(
                    f"{s.label + ', engine ' + name:48} {r.count:7d} {r.percentile(50):7.2f} "
                    f"{r.percentile(99):7.2f} {r.trips_each:9.2f}"
                )
    else:
        print("\nsubmits: not measured (--no-submit); the drafts were cancelled")
    alone = scenarios[0]
    for a, b, label in (
        (alone.warm, crowd.warm, "one per process"),
        (alone.cold, crowd.cold, "fresh per step"),
    ):
        print(f"\ntargets, engine {label}:")
        trips = max(a.trips_each, b.trips_each)
        verdict(
            f"round trips per step {a.trips_each:.2f} (a), {b.trips_each:.2f} (b)",
            trips <= 2,
            "<= 2",
        )
        ratio = a.percentile(50) / alone.floor.percentile(50)
        verdict(f"(a) p50 {ratio:.2f}x one GET+SET pair", ratio <= 1.3, "<= 1.3x")
        share = b.rate / crowd.floor.rate
        verdict(f"(b) throughput {share:.0%} of the floor", share >= 0.6, ">= 60%")
        tail = b.percentile(99) / crowd.floor.percentile(99)
        verdict(f"(b) p99 {tail:.2f}x the floor's p99", tail <= 2, "<= 2x")


def verdict(text: str, met: bool, target: str) -> None:
    print(f"  {text:52} target {target:8} {'PASS' if met else 'MISS'}")


# -- set-up ---------------------------------------------------------------------------------


async def open_redis(url: str, settings: Settings) -> Redis:
    return await connect(
        url,
        max_connections=settings.redis_max_connections,
        pool_timeout=settings.redis_pool_timeout_seconds,
        socket_timeout=settings.redis_socket_timeout_seconds,
    )


async def remove_keys(redis: Redis, run_id: str) -> int:
    """Delete this run's keys, and only those."""
    removed = 0
    for pattern in (f"rb:{{{run_id}:*", f"{run_id}:*"):
        keys = [key async for key in redis.scan_iter(match=pattern, count=1000)]
        for i in range(0, len(keys), 500):
            removed += await redis.delete(*keys[i : i + 500])
    return removed


async def run(args: argparse.Namespace, sandbox_url: str) -> None:
    settings = Settings(_env_file=None)  # the defaults the composition root would use
    if args.max_connections is not None:
        settings = settings.model_copy(update={"redis_max_connections": args.max_connections})
    embedded: Path | None = None
    redis_url = args.redis_url
    try:
        redis = await open_redis(redis_url, settings)
    except RedisUnavailable:
        if redis_url != DEFAULT_REDIS_URL:
            raise
        embedded = Path(tempfile.mkdtemp(prefix="bench-engine-"))
        redis_url = await asyncio.to_thread(ensure_embedded_server, embedded)
        print(f"nothing answers at {DEFAULT_REDIS_URL}: using an embedded server (unix socket)")
        redis = await open_redis(redis_url, settings)
    run_id = f"bench-engine-{uuid.uuid4().hex[:8]}"
    try:
        server = await redis.info("server")
        print(
            f"Redis {redact_url(redis_url)} ({server.get('redis_version')}), "
            f"blocking pool of {settings.redis_max_connections} connections, "
            f"{args.loop} loop, {args.repeats} repeats; keys {run_id}*"
        )
        async with build_http_client(settings) as http:
            client = PartnerCenterClient(
                http, base_url=sandbox_url, tokens=StaticTokenProvider(SecretStr(TOKEN))
            )
            parts = Parts(redis, RedisSessionStore(redis), client, run_id)
            scenarios, mean_size, max_size = await measure(parts, args)
        print(
            f"stored session: {mean_size} bytes on average over the flow (at most {max_size}); "
            f"floor values are {mean_size} bytes"
        )
        report(scenarios, args.submit, settings.redis_max_connections)
    finally:
        removed = await remove_keys(redis, run_id)
        print(f"\nremoved this run's {removed} keys")
        await redis.aclose()
        if embedded is not None:
            await asyncio.to_thread(stop_embedded_server, embedded)
            shutil.rmtree(embedded, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sellers", type=int, default=200, help="sellers at once in (b)")
    parser.add_argument("--flows", type=int, default=8, help="flows in a row in (a), per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument(
        "--max-connections", type=int, help="Redis pool size (default: REDIS_MAX_CONNECTIONS's)"
    )
    parser.add_argument("--no-submit", dest="submit", action="store_false")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args()
    loop_factory = uvloop.new_event_loop if args.loop == "uvloop" else None
    sandbox = None
    sandbox_url = "http://127.0.0.1:9/v1.0"  # not called with --no-submit
    if args.submit:
        port = free_port()
        sandbox = start_sandbox(port)
        sandbox_url = f"http://127.0.0.1:{port}/v1.0"
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(run(args, sandbox_url))
    finally:
        if sandbox is not None:
            sandbox.terminate()
            sandbox.wait(timeout=10)


if __name__ == "__main__":
    main()
