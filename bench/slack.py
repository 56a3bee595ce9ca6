"""Slack front end: ack latency of the real app next to a bare Bolt app that only acks.

Both apps are served by uvicorn on loopback, each in a process of its own with the same
options (one worker, uvloop, httptools), and loaded in one run from ``--clients`` concurrent
clients (default 100) for ``--seconds`` (default 10) after a warm-up:

* the *real app*: ``build_web_app(settings)`` as the ``web`` process builds it, with Slack on
  ``/slack/events``, Redis (DB 13 by default) and Partner Center (the built-in sandbox in its
  own process) opened in its lifespan, its Web API client on the Slack stand-in (a third
  process; it is called after the ack, so its speed is not in the latency, but it must be up);
* the *floor*: a bare ``AsyncApp`` whose ``/referral`` and card-action listeners only
  ``await ack()``, mounted with ``AsyncSlackRequestHandler`` in Starlette.

The load is Slack's own request shapes, signed: ``/referral help`` (60%), ``/referral new``
(20%, each from a new user, so drafts are created) and block actions answering the first
question (``rb_choose`` with ``deal_kind|private``, 20%, each from a new user). Every request
is built and signed before its timed window (Slack's five-minute window is respected, and
signing is not measured). Ack latency is the time to the HTTP response.

Every user of a run belongs to a team named after the run, so the Redis keys the app writes
(``rb:{slack:<team>:...}``) are found and deleted at the end.

    .venv/bin/python bench/slack.py [--seconds 10] [--clients 100] [--warmup 2]
        [--redis-url redis://127.0.0.1:6379/13] [--profile app.prof]

``--e2e`` measures instead what a seller sees: click-to-next-card latency with Slack's rate
tiers enforced by the stand-in, Web API calls and 429s per step, and one worker's pace (see
``bench/slack_e2e.py``):

    .venv/bin/python bench/slack.py --e2e [--sellers 50] [--interval 2] [--e2e-seconds 30]
        [--burst 400] [--card-timeout 15]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

# Run as a script from the project root: Python puts bench/ on the path, not the root, and the
# signed request builders and the Slack stand-in live in the test package.
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

import slack_e2e
import uvloop
from load import (
    Prepared,
    Result,
    drive,
    print_results,
    serve_app,
    start_server,
    start_worker,
    stop,
    wait_for_backlog,
    work_niced,
)
from pydantic import SecretStr
from redis.asyncio import Redis
from sandbox_process import free_port, start_sandbox
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.app.web import build_web_app
from bot.settings import Settings
from cards.ids import Action
from cards.slack import encode_choice
from tests.support.slack_payloads import (
    EVENTS_PATH,
    SIGNING_SECRET,
    SignedRequest,
    SlackRequests,
    SlackUser,
)
from tests.support.slack_stand_in import SlackApiStandIn

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
BOT_TOKEN = "xoxb-bench"
MAX_RATE = 6000
"""Requests per second the pre-built pool allows for (the floor stays well under it here)."""
# Child processes ----------------------------------------------------------------------------


def floor_app(slack_api_url: str) -> Starlette:
    """A bare Bolt app: the same request checks, listeners that only acknowledge."""
    app = AsyncApp(
        client=AsyncWebClient(token=BOT_TOKEN, base_url=slack_api_url),
        signing_secret=SIGNING_SECRET,
        process_before_response=False,
    )

    async def only_ack(ack: AsyncAck) -> None:
        await ack()

    app.command("/referral")(only_ack)
    app.action(re.compile("^rb_"))(only_ack)
    handler = AsyncSlackRequestHandler(app)

    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    return Starlette(routes=[Route(EVENTS_PATH, slack_events, methods=["POST"])])


def bench_settings(args: argparse.Namespace) -> Settings:
    """The deployment's settings, on loopback only, with a job stream of this run's own."""
    return Settings(
        _env_file=None,
        partner_center_base_url=args.sandbox_url,
        partner_center_token=SecretStr("bench"),
        redis_url=args.redis_url,
        slack_bot_token=SecretStr(BOT_TOKEN),
        slack_signing_secret=SecretStr(SIGNING_SECRET),
        slack_api_url=args.slack_api_url,
        job_stream=job_stream(args.run),
        # The run's own workspace (its requests carry it; the stand-in's auth.test does not).
        slack_allowed_teams=(f"TB{args.run}",),
    )


def job_stream(run: str) -> str:
    return f"rb:jobs:bench-{run}"


def serve(args: argparse.Namespace) -> None:
    """Child process: serve one app until SIGINT (then write the profile, if asked)."""
    if args.serve == "floor":
        app = floor_app(args.slack_api_url)
    else:
        # The Procfile's web process: it acknowledges and queues; the worker does the work.
        app = build_web_app(bench_settings(args), worker=False)
    serve_app(app, args.port, args.profile)


def serve_stand_in(args: argparse.Namespace) -> None:
    """Child process: the Slack stand-in, knowing this run's users; prints its base URL.

    It plays Slack's servers, which run elsewhere: at the worker's lower CPU priority, the
    calls the worker makes during the load take no more from the web process than Slack would.
    """
    os.nice(args.nice)
    stand_in = SlackApiStandIn()
    for index in range(args.users):
        user = user_id(args.run, index)
        stand_in.set_user(SlackUser(user, user.lower(), "Bench Seller", "Bench", "Seller", ""))
    print(stand_in.start(), flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    stand_in.stop()


def serve_worker(args: argparse.Namespace) -> None:
    """Child process: the worker, niced (see :func:`load.work_niced`)."""
    work_niced(bench_settings(args), args.nice)


def user_id(run: str, index: int) -> str:
    return f"U{run}{index:06d}"


# Load ---------------------------------------------------------------------------------------


class Users:
    """Hands out this run's user ids, one new user per request."""

    def __init__(self, run: str) -> None:
        self.run = run
        self.next = 0

    def take(self) -> str:
        self.next += 1
        return user_id(self.run, self.next - 1)


def build_requests(builder: SlackRequests, users: Users, count: int) -> list[SignedRequest]:
    """``count`` signed requests of the mix, signed now."""
    choice = encode_choice("deal_kind", "private")
    built: list[SignedRequest] = []
    for index in range(count):
        kind = index % 5
        if kind == 3:
            built.append(builder.command("new", user=users.take()))
        elif kind == 4:
            built.append(builder.action(Action.CHOOSE, value=choice, user=users.take()))
        else:
            built.append(builder.command("help", user=users.take()))
    return built


async def measure(
    name: str, port: int, builder: SlackRequests, users: Users, args: argparse.Namespace
) -> Result:
    url = f"http://127.0.0.1:{port}{EVENTS_PATH}"
    warmup = build_requests(builder, users, max(args.clients * 5, int(args.warmup * MAX_RATE)))
    await drive(f"{name} (warm-up)", url, in_order(warmup), args.clients, args.warmup)
    timed = build_requests(builder, users, int(args.seconds * MAX_RATE))
    return await drive(name, url, in_order(timed), args.clients, args.seconds)


def in_order(requests: list[SignedRequest]) -> Callable[[int], Prepared | None]:
    """Hands the pre-built requests out in order, whichever client asks."""
    position = 0

    def take(client: int) -> Prepared | None:
        nonlocal position
        if position >= len(requests):
            return None
        position += 1
        request = requests[position - 1]
        return request.body, request.headers

    return take


async def delete_keys(redis_url: str, team: str, stream: str) -> int:
    redis = Redis.from_url(redis_url)
    deleted = 0
    try:
        async for key in redis.scan_iter(match=f"rb:{{slack:{team}:*", count=1000):
            deleted += await redis.delete(key)
        deleted += await redis.delete(stream, f"{stream}:dead")
    finally:
        await redis.aclose()
    return deleted


def run(args: argparse.Namespace) -> None:
    run_id = secrets.token_hex(3).upper()
    team = f"TB{run_id}"
    per_server = int((args.warmup + args.seconds) * MAX_RATE) + args.clients * 5
    user_args = ["--users", str(2 * per_server)]
    stand_in = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            "stand-in",
            "--run",
            run_id,
            "--nice",
            str(args.nice),
            *user_args,
        ],
        stdout=subprocess.PIPE,
    )
    assert stand_in.stdout is not None
    slack_api_url = stand_in.stdout.readline().decode().strip()
    if not slack_api_url:
        raise SystemExit("the Slack stand-in did not start")
    sandbox_port = free_port()
    sandbox = start_sandbox(sandbox_port)
    common = [
        "--slack-api-url", slack_api_url,
        "--sandbox-url", f"http://127.0.0.1:{sandbox_port}/v1.0",
        "--redis-url", args.redis_url,
        "--run", run_id,
    ]  # fmt: skip
    builder = SlackRequests(
        SIGNING_SECRET, hooks_url=slack_api_url.removesuffix("/api/"), team_id=team
    )
    users = Users(run_id)
    results: dict[str, Result] = {}
    backlog = None
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            for kind, name in (("floor", "bare Bolt app, ack only"), ("app", "real app")):
                worker = start_worker(__file__, common, args.nice) if kind == "app" else None
                server, port = start_server(
                    __file__, kind, common, args.profile if kind == "app" else None
                )
                try:
                    results[kind] = runner.run(measure(name, port, builder, users, args))
                    if worker is not None:
                        backlog = runner.run(wait_for_backlog(args.redis_url, job_stream(run_id)))
                finally:
                    stop(server)
                    if worker is not None:
                        stop(worker, signal.SIGTERM)
            deleted = runner.run(delete_keys(args.redis_url, team, job_stream(run_id)))
    finally:
        stop(sandbox, signal.SIGTERM)
        stop(stand_in, signal.SIGTERM)
    print(f"Redis keys of this run deleted: {deleted}")
    report(results, args)
    if backlog is not None:
        backlog.report(args.nice)


def report(results: dict[str, Result], args: argparse.Namespace) -> None:
    print(
        f"\n{args.clients} clients, {args.seconds:g} s after {args.warmup:g} s warm-up; "
        "60% /referral help, 20% /referral new, 20% block actions"
    )
    print_results(list(results.values()))
    floor, app = results["floor"], results["app"]
    p99_ratio = app.percentile(99) / floor.percentile(99)
    rate_ratio = app.rate / floor.rate
    print(f"\np50 ratio (app / floor): {app.percentile(50) / floor.percentile(50):.2f}x")
    targets = (
        (f"p99 ack {p99_ratio:.2f}x the floor", "<= 1.5x", p99_ratio <= 1.5),
        (f"p99 ack {app.percentile(99):.1f} ms", "<= 100 ms", app.percentile(99) <= 100),
        (f"throughput {rate_ratio:.0%} of the floor", ">= 70%", rate_ratio >= 0.7),
    )
    for figure, target, met in targets:
        print(f"{'PASS' if met else 'MISS'}  {figure} (target {target})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before timing")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--profile", help="write a cProfile of the real app's process here")
    e2e = parser.add_argument_group("end to end (--e2e)")
    e2e.add_argument("--e2e", action="store_true", help="measure click to next card instead")
    e2e.add_argument("--sellers", type=int, default=50, help="sellers clicking under the tiers")
    e2e.add_argument(
        "--interval", type=float, default=2.0, help="seconds between a seller's clicks"
    )
    e2e.add_argument("--e2e-seconds", type=float, default=30.0, help="how long they click")
    e2e.add_argument("--burst", type=int, default=400, help="clicks at once for the worker's pace")
    e2e.add_argument(
        "--card-timeout", type=float, default=15.0, help="seconds a seller waits for a card"
    )
    # For the child processes this script starts.
    parser.add_argument(
        "--nice", type=int, default=10, help="CPU priority of the worker process (0-19)"
    )
    parser.add_argument(
        "--serve", choices=("floor", "app", "worker", "stand-in"), help=argparse.SUPPRESS
    )
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--slack-api-url", help=argparse.SUPPRESS)
    parser.add_argument("--sandbox-url", help=argparse.SUPPRESS)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--users", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "stand-in":
        serve_stand_in(args)
    elif args.serve == "worker":
        serve_worker(args)
    elif args.serve:
        serve(args)
    elif args.e2e:
        slack_e2e.run(args, __file__, job_stream)
    else:
        run(args)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
