"""Slack end to end: click-to-next-card latency under Slack's rate tiers, and one worker's pace.

Run through ``bench/slack.py --e2e``. The Procfile's ``web`` and ``worker`` processes run as in
the ack benchmark (each a process of its own, the worker niced, Redis, the sandbox in its own
process); the Slack stand-in runs in this process, so it can tell the sellers the moment their
next card arrives (its server has a thread of its own; the load here is light).

1. **Set-up** (tiers off): every seller types ``/referral new`` and gets the first question
   (the kind of deal, answered with buttons) in their DM.
2. **End to end** (tiers on: Slack's per-workspace, per-method buckets and ``chat.postMessage``'s
   per-channel one, see ``tests/support/slack_stand_in.py``): ``--sellers`` sellers (50) each
   click a button on their latest card every ``--interval`` seconds (2) for ``--e2e-seconds``
   (30), starting staggered: about 25 clicks a second. On the deal-kind card a seller clicks
   "Private lead"; on the next question (the deal's name, typed) they click "Back", which brings
   the deal-kind card again: every click is a turn of the flow that must replace the clicked card
   and send the next one. A seller waits for their next card before clicking again (at most
   ``--card-timeout`` seconds; an error card or a timeout counts as a failed step, and the seller
   clicks on as if the step had gone through).

   *Click to next card* runs from sending the signed interaction request to the stand-in
   receiving the next card: the first successful call that puts a card with the next question's
   controls in that seller's DM, whichever way the product sends it (``chat.postMessage``, or a
   post to the payload's ``response_url``). Every click carries a ``response_url`` minted by the
   stand-in for the clicked card, so a ``replace_original`` there really replaces it. Web API
   calls per step and 429s count everything the stand-in received from the start of the phase
   until the job stream was empty again.
3. **One worker's pace** (tiers off): ``--burst`` other sellers (400), each at the deal-kind
   card, click at once; from the first click sent until the last next card arrived.

Every user of a run belongs to a team named after the run; its Redis keys and job stream are
deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import signal
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

import aiohttp
import uvloop
from load import start_server, start_worker, stop, wait_for_backlog
from redis.asyncio import Redis
from sandbox_process import free_port, start_sandbox

from cards.ids import Action
from cards.slack import encode_choice
from tests.support.slack_payloads import (
    EVENTS_PATH,
    SIGNING_SECRET,
    SignedRequest,
    SlackRequests,
    SlackUser,
    dm_channel_id,
)
from tests.support.slack_stand_in import RESPONSE_URL, Call, Count, SlackApiStandIn

FORM = "application/x-www-form-urlencoded"
DEAL_KIND = "deal_kind"
PICK = encode_choice(DEAL_KIND, "private")
TIER_LIMITED = ("chat.update", "users.info", "conversations.open", "views.publish")
PROBLEM_WORDS = "Something went wrong"
CardKind = Literal["kind", "back", "problem"]
PLACED = ("replaced", "posted")
"""What a response_url post does that leaves a card the seller can click."""


# What the stand-in receives --------------------------------------------------------------------


def card_in(call: Call) -> tuple[str, dict[str, Any]] | None:
    """``(channel, message)`` if ``call`` put a message in a channel, else None."""
    if not call.ok:
        return None
    if call.method == "chat.postMessage":
        return str(call.response["channel"]), call.response["message"]
    use = call.use
    if use is None or not (use.channel and use.message) or use.effect not in PLACED:
        return None
    return use.channel, use.message


def elements(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for block in message.get("blocks") or []:
        found += block.get("elements") or []
        if block.get("accessory"):
            found.append(block["accessory"])
    return found


def kind_of(message: Mapping[str, Any]) -> CardKind | None:
    """``kind``: the deal-kind question (its buttons); ``back``: a later question (its Back
    button); ``problem``: the error card; None: anything else (records, notices)."""
    controls = elements(message)
    if any(e.get("action_id") == Action.CHOOSE and e.get("value") == PICK for e in controls):
        return "kind"
    if any(e.get("action_id") == Action.BACK for e in controls):
        return "back"
    if PROBLEM_WORDS in json.dumps(message):
        return "problem"
    return None


# Sellers ----------------------------------------------------------------------------------


@dataclass
class Seller:
    user: str
    channel: str
    cards: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The latest card of each kind this seller was sent."""
    current: str | None = None
    """The kind of card the seller looks at (and clicks on next)."""
    pending: deque[asyncio.Future[tuple[CardKind, float]]] = field(default_factory=deque)
    """One future per click still waiting for its next card, oldest first (a timed-out one
    stays, cancelled, so a late card is matched to its own click)."""
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class Watcher:
    """Hands each card the stand-in receives to the seller whose DM it lands in."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sellers: list[Seller]) -> None:
        self.loop = loop
        self.sellers = {seller.channel: seller for seller in sellers}

    def on_call(self, call: Call) -> None:
        """The stand-in's listener (its server thread)."""
        found = card_in(call)
        if found is not None and found[0] in self.sellers:
            self.loop.call_soon_threadsafe(self.arrived, found[0], found[1], call.at)

    def arrived(self, channel: str, message: dict[str, Any], at: float) -> None:
        seller = self.sellers[channel]
        kind = kind_of(message)
        if kind is None:
            return
        if kind != "problem":
            seller.cards[kind] = message
        while seller.pending:
            waiting = seller.pending.popleft()
            if not waiting.done():
                waiting.set_result((kind, at))
                return
        if kind != "problem":  # a card nobody clicked for: the set-up's first one
            seller.current = kind
            seller.ready.set()


@dataclass
class Clicks:
    """Steps of one phase."""

    sent: int = 0
    latencies: list[float] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)
    problems: int = 0
    timeouts: int = 0
    refused: int = 0
    unexpected: int = 0
    """Next cards that were not the question the click should have brought."""
    seconds: float = 0.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


class Bench:
    """The sellers, how their requests are built, and where they are sent."""

    def __init__(
        self, stand_in: SlackApiStandIn, builder: SlackRequests, web: str, team: str
    ) -> None:
        self.stand_in = stand_in
        self.builder = builder
        self.web = web
        self.team = team

    def bound(self, request: SignedRequest, url: str) -> SignedRequest:
        """``request`` with its ``response_url`` replaced by ``url``, signed again."""
        payload = {**request.payload, "response_url": url}
        if payload.get("type") == "block_actions":
            body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))})
        else:
            body = urlencode(payload)
        return self.builder.sign(body.encode(), FORM, payload=payload)

    def command(self, seller: Seller, text: str) -> SignedRequest:
        request = self.builder.command(text, user=seller.user)
        url = self.stand_in.response_url(
            seller.channel, user=seller.user, kind="commands", team_id=self.team
        )
        return self.bound(request, url)

    def click(self, seller: Seller) -> tuple[SignedRequest, str]:
        """The click on the seller's current card, and the kind of card it should bring."""
        # The set-up leaves every seller the deal-kind card: the fallback when a failed step
        # means the card the seller should click on never came.
        kind = seller.current if seller.current in seller.cards else "kind"
        card = seller.cards[kind]
        if kind == "kind":
            request = self.builder.action(Action.CHOOSE, value=PICK, message=card, user=seller.user)
            expect = "back"
        else:
            back = next(e for e in elements(card) if e.get("action_id") == Action.BACK)
            request = self.builder.action(
                Action.BACK, value=back.get("value"), message=card, user=seller.user
            )
            expect = "kind"
        url = self.stand_in.response_url(
            seller.channel, card["ts"], user=seller.user, team_id=self.team
        )
        return self.bound(request, url), expect

    async def post(self, session: aiohttp.ClientSession, request: SignedRequest) -> int:
        async with session.post(self.web, data=request.body, headers=request.headers) as sent:
            await sent.read()
            return sent.status

    async def step(
        self, session: aiohttp.ClientSession, seller: Seller, clicks: Clicks, wait: float
    ) -> float:
        """One click and its next card; returns when the click was sent."""
        request, expect = self.click(seller)
        waiting: asyncio.Future[tuple[CardKind, float]] = asyncio.get_running_loop().create_future()
        seller.pending.append(waiting)
        started = time.perf_counter()
        status = await self.post(session, request)
        clicks.acks.append(time.perf_counter() - started)
        clicks.sent += 1
        if status != 200:
            clicks.refused += 1
        try:
            kind, at = await asyncio.wait_for(waiting, wait)
        except TimeoutError:
            clicks.timeouts += 1
            kind = "problem"
        else:
            if kind == "problem":
                clicks.problems += 1
            else:
                clicks.latencies.append(at - started)
                clicks.unexpected += kind != expect
        # After a failed step the seller clicks on as if it had gone through (the flow moved on
        # before the reply failed), on the last card of that kind they were sent.
        seller.current = kind if kind != "problem" else expect
        return started


# Phases -----------------------------------------------------------------------------------


async def set_up(bench: Bench, sellers: list[Seller], within: float = 120) -> None:
    """``/referral new`` for every seller; returns once each has the deal-kind card."""
    connector = aiohttp.TCPConnector(limit=50)
    async with aiohttp.ClientSession(connector=connector) as session:
        statuses = await asyncio.gather(
            *(bench.post(session, bench.command(seller, "new")) for seller in sellers)
        )
    if any(status != 200 for status in statuses):
        raise SystemExit(f"/referral new answered {sorted(set(statuses))}")
    try:
        await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in sellers)), within)
    except TimeoutError:
        waiting = sum(not seller.ready.is_set() for seller in sellers)
        raise SystemExit(f"{waiting} sellers got no first card within {within:g} s") from None
    strays = [seller.user for seller in sellers if seller.current != "kind"]
    if strays:
        raise SystemExit(f"the first card was not the deal-kind question for {strays[:3]}...")


async def end_to_end(bench: Bench, sellers: list[Seller], args: argparse.Namespace) -> Clicks:
    clicks = Clicks()
    connector = aiohttp.TCPConnector(limit=len(sellers))
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.perf_counter()
        deadline = began + args.e2e_seconds

        async def seller_loop(index: int, seller: Seller) -> None:
            next_click = began + index * args.interval / len(sellers)
            while True:
                await asyncio.sleep(max(0.0, next_click - time.perf_counter()))
                if time.perf_counter() >= deadline:
                    return
                sent = await bench.step(session, seller, clicks, args.card_timeout)
                next_click = sent + args.interval

        await asyncio.gather(*(seller_loop(i, seller) for i, seller in enumerate(sellers)))
        clicks.seconds = time.perf_counter() - began
    return clicks


async def burst(bench: Bench, sellers: list[Seller], within: float) -> Clicks:
    """Every seller clicks at once; ``seconds`` runs to the last next card."""
    clicks = Clicks()
    connector = aiohttp.TCPConnector(limit=50)
    async with aiohttp.ClientSession(connector=connector) as session:
        requests = [bench.click(seller) for seller in sellers]
        expected = [expect for _, expect in requests]
        futures = []
        for seller in sellers:
            waiting: asyncio.Future[tuple[CardKind, float]] = (
                asyncio.get_running_loop().create_future()
            )
            seller.pending.append(waiting)
            futures.append(waiting)
        began = time.perf_counter()
        statuses = await asyncio.gather(*(bench.post(session, r) for r, _ in requests))
        clicks.sent = len(statuses)
        clicks.refused = sum(status != 200 for status in statuses)
        done, _ = await asyncio.wait(futures, timeout=within)
    arrivals = []
    for waiting, expect in zip(futures, expected, strict=True):
        if waiting not in done:
            clicks.timeouts += 1
            continue
        kind, at = waiting.result()
        if kind == "problem":
            clicks.problems += 1
        else:
            arrivals.append(at)
            clicks.latencies.append(at - began)
            clicks.unexpected += kind != expect
    clicks.seconds = (max(arrivals) if arrivals else time.perf_counter()) - began
    return clicks


# The run ----------------------------------------------------------------------------------


def seller_id(run: str, index: int) -> str:
    return f"U{run}E{index:05d}"


async def delete_run_keys(redis_url: str, team: str, stream: str) -> int:
    redis = Redis.from_url(redis_url)
    deleted = 0
    try:
        for pattern in (f"rb:{{slack:{team}:*", f"{{{stream}}}:*"):
            async for key in redis.scan_iter(match=pattern, count=1000):
                deleted += await redis.delete(key)
        deleted += await redis.delete(stream, f"{stream}:dead")
    finally:
        await redis.aclose()
    return deleted


@dataclass
class Figures:
    e2e: Clicks
    counts: dict[str, Count]
    pace: Clicks


async def measure(bench: Bench, args: argparse.Namespace, stream: str) -> Figures:
    loop = asyncio.get_running_loop()
    run = bench.team.removeprefix("TB")
    users = [seller_id(run, i) for i in range(args.sellers + args.burst)]
    sellers = [Seller(user, dm_channel_id(user)) for user in users]
    watcher = Watcher(loop, sellers)
    stop_listening = bench.stand_in.listen(watcher.on_call)
    try:
        print(f"set-up: /referral new for {len(sellers)} sellers (tiers off)", flush=True)
        await set_up(bench, sellers)
        print(
            f"end to end: {args.sellers} sellers, a click every {args.interval:g} s each, "
            f"{args.e2e_seconds:g} s, rate tiers on",
            flush=True,
        )
        bench.stand_in.set_rate_tiers(True)
        mark = bench.stand_in.mark()
        e2e = await end_to_end(bench, sellers[: args.sellers], args)
        await wait_for_backlog(args.redis_url, stream, limit=60)
        counts = bench.stand_in.counts(since=mark)
        bench.stand_in.set_rate_tiers(False)
        print(f"one worker's pace: {args.burst} clicks at once (tiers off)", flush=True)
        pace = await burst(bench, sellers[args.sellers :], within=60)
    finally:
        stop_listening()
    return Figures(e2e, counts, pace)


def report(figures: Figures, args: argparse.Namespace, nice: int) -> None:
    e2e, counts, pace = figures.e2e, figures.counts, figures.pace
    steps = max(e2e.sent, 1)
    print(
        f"\nEnd to end: {args.sellers} sellers, a click every {args.interval:g} s each for "
        f"{args.e2e_seconds:g} s, Slack's rate tiers enforced"
    )
    print(f"  clicks sent          {e2e.sent} ({e2e.sent / args.e2e_seconds:.1f}/s)")
    print(
        f"  click to next card   p50 {percentile(e2e.latencies, 50):.1f} ms   "
        f"p99 {percentile(e2e.latencies, 99):.1f} ms   ({len(e2e.latencies)} arrived, "
        f"{e2e.problems} error cards, {e2e.timeouts} none within {args.card_timeout:g} s, "
        f"{e2e.unexpected} not the expected question, {e2e.refused} clicks not answered 200)"
    )
    print(
        f"  ack                  p50 {percentile(e2e.acks, 50):.1f} ms   "
        f"p99 {percentile(e2e.acks, 99):.1f} ms"
    )
    print(
        "  Web API calls per step (429 answers included; counted until the job stream was "
        "empty), tier-limited:"
    )
    print(
        "    " + ", ".join(f"{m} {counts.get(m, Count()).calls / steps:.2f}" for m in TIER_LIMITED)
    )
    print(
        f"  chat.postMessage per step {counts.get('chat.postMessage', Count()).calls / steps:.2f}"
        f"; response_url uses per step {counts.get(RESPONSE_URL, Count()).calls / steps:.2f}"
    )
    limited = {m: c.ratelimited for m, c in sorted(counts.items()) if c.ratelimited}
    print(
        "  429s received        "
        + (", ".join(f"{m} {n}" for m, n in limited.items()) if limited else "none")
    )
    p99 = percentile(e2e.latencies, 99)
    tiered = sum(counts.get(m, Count()).calls for m in (*TIER_LIMITED, "chat.postMessage")) / steps
    throttled = sum(c.ratelimited for c in counts.values())
    complete = len(e2e.latencies) == e2e.sent
    verdicts = [
        (p99 <= 300 and complete, f"p99 click to next card {p99:.1f} ms (target <= 300 ms)"),
        (throttled == 0, f"{throttled} throttled calls (target 0)"),
        (tiered <= 1, f"{tiered:.2f} rate-limited Web API calls per step (target <= 1)"),
    ]
    for passed, words in verdicts:
        print(f"{'PASS' if passed else 'FAIL'}  {words}")
    rate = len(pace.latencies) / pace.seconds if pace.seconds > 0 else float("nan")
    print(
        f"\nOne worker (nice {nice}), tiers off: {pace.sent} clicks at once, "
        f"{len(pace.latencies)} next cards in {pace.seconds:.2f} s: {rate:.0f} jobs/s "
        f"(click to card p50 {percentile(pace.latencies, 50):.0f} ms, "
        f"p99 {percentile(pace.latencies, 99):.0f} ms; {pace.problems} error cards, "
        f"{pace.timeouts} missing, {pace.unexpected} not the expected question)"
    )


def run(args: argparse.Namespace, script: str, job_stream: Callable[[str], str]) -> None:
    """The end-to-end benchmark; ``script --serve app|worker`` runs the web and worker
    processes, whose job stream for a run is ``job_stream(run_id)``."""
    run_id = secrets.token_hex(3).upper()
    team = f"TB{run_id}"
    stream = job_stream(run_id)
    stand_in = SlackApiStandIn()
    for index in range(args.sellers + args.burst):
        user = seller_id(run_id, index)
        stand_in.set_user(SlackUser(user, user.lower(), "Bench Seller", "Bench", "Seller", ""))
    slack_api_url = stand_in.start()
    sandbox_port = free_port()
    sandbox = start_sandbox(sandbox_port)
    common = [
        "--slack-api-url", slack_api_url,
        "--sandbox-url", f"http://127.0.0.1:{sandbox_port}/v1.0",
        "--redis-url", args.redis_url,
        "--run", run_id,
    ]  # fmt: skip
    builder = SlackRequests(SIGNING_SECRET, hooks_url=stand_in.origin, team_id=team)
    worker = start_worker(script, common, args.nice)
    server, port = start_server(script, "app", common)
    figures: Figures | None = None
    try:
        bench = Bench(stand_in, builder, f"http://127.0.0.1:{port}{EVENTS_PATH}", team)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            figures = runner.run(measure(bench, args, stream))
    finally:
        stop(server)
        stop(worker, signal.SIGTERM)
        stop(sandbox, signal.SIGTERM)
        stand_in.stop()
        deleted = asyncio.run(delete_run_keys(args.redis_url, team, stream))
        print(f"Redis keys of this run deleted: {deleted}")
    if figures is not None:
        report(figures, args, args.nice)
