"""Teams front end: card-action invokes on the real app next to a bare Teams SDK app.

Both apps are served by uvicorn on loopback, each in a process of its own with the same
options (one worker, uvloop, httptools), behind the same SDK request handling (JWT checked
against the stand-in's keys), and loaded in one run from ``--clients`` concurrent clients
(default 100) for ``--seconds`` (default 10) after a warm-up:

* the *real app*: ``build_web_app(settings)`` with Teams on ``/api/messages``, Redis (DB 13
  by default), the built-in sandbox, the Teams stand-in (Bot Connector, Bot Framework keys)
  and the identity stand-in (the bot's own token, from msal), both in a process of their own;
* the *floor*: an SDK ``App`` whose ``Action.Execute`` handler only answers with a small
  fixed card, served through the same Starlette route.

Each client is a seller with a draft in progress (started with ``referral new`` before the
timed window) who clicks on their card, one click after the other, answering the first
question (``rb_choose private``) and going back to it (``rb_back``) in turn: each invoke
moves the draft in Redis and is answered with the next question's card, in place. One Bot
Framework token (they are reused for an hour) signs every request; it is checked on each.

    .venv/bin/python bench/teams.py [--seconds 10] [--clients 100] [--warmup 2]
        [--redis-url redis://127.0.0.1:6379/13] [--profile app.prof]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Run as a script from the project root: Python puts bench/ on the path, not the root, and the
# activity builders and the Teams stand-in live in the test package.
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

import aiohttp
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
from starlette.applications import Starlette
from starlette.routing import Route

from bot.app.platforms import teams_front_end
from bot.app.web import build_web_app
from bot.settings import Settings
from cards.ids import Action
from tests.support.identity_stand_in import BOT_CLIENT_SECRET, IdentityStandIn
from tests.support.teams_stand_in import (
    APP_ID,
    TENANT_ID,
    TeamsActivities,
    TeamsStandIn,
    TeamsUser,
)

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
FLOOR_CARD = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [{"type": "TextBlock", "text": "Thanks", "wrap": True}],
}


# Child processes ----------------------------------------------------------------------------


def floor_app(args: argparse.Namespace) -> Starlette:
    """A bare SDK app: the same token check and route, a handler that only answers."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from microsoft_teams.api import InvokeResponse  # noqa: PLC0415 - after the filter

        front = teams_front_end()
    teams = front.build_app(
        client_id=APP_ID,
        tenant_id=TENANT_ID,
        token=lambda scope, tenant: _never(),
        openid_metadata_url=args.openid_url,
        allow_unauthenticated=False,
    )

    async def answer(ctx: Any) -> Any:
        body = {"statusCode": 200, "type": "application/vnd.microsoft.card.adaptive"}
        return InvokeResponse(status=200, body={**body, "value": FLOOR_CARD})

    teams.on_card_action_execute(answer)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await teams.initialize()
        yield

    route = Route(front.MESSAGES_PATH, front.messages_endpoint(teams), methods=["POST"])
    return Starlette(routes=[route], lifespan=lifespan)


async def _never() -> str:
    raise AssertionError("the floor never calls the Bot Connector")


def real_settings(args: argparse.Namespace) -> Settings:
    return Settings(
        _env_file=None,
        partner_center_base_url=args.sandbox_url,
        partner_center_token=SecretStr("bench"),
        redis_url=args.redis_url,
        teams_client_id=APP_ID,
        teams_client_secret=SecretStr(BOT_CLIENT_SECRET),
        teams_tenant_id=TENANT_ID,
        entra_authority=args.authority,
        requests_ca_bundle=Path(args.ca_bundle),
        teams_login_url=args.login_url,
        teams_openid_metadata_url=args.openid_url,
        job_stream=f"rb:jobs:bench-teams-{args.run}",
        # The stand-in plays the Bot Connector: replies may go to its loopback address.
        teams_service_url_hosts=(urlsplit(str(args.login_url)).netloc,),
    )


def serve(args: argparse.Namespace) -> None:
    """Child process: serve one app until SIGINT (then write the profile, if asked)."""
    if args.serve == "floor":
        app = floor_app(args)
    else:
        # The Procfile's web process: it answers and queues; the worker does the rest.
        app = build_web_app(real_settings(args), worker=False)
    serve_app(app, args.port, args.profile)


def serve_worker(args: argparse.Namespace) -> None:
    """Child process: the worker, niced (see :func:`load.work_niced`)."""
    work_niced(real_settings(args), args.nice)


# Load ---------------------------------------------------------------------------------------


def sellers(run: str, clients: int) -> list[TeamsUser]:
    return [
        TeamsUser(
            id=f"29:bench-{run}-{index}",
            aad_object_id=f"00000000-0000-4000-8000-{run}{index:06d}",
            name=f"Bench Seller {index}",
            given_name="Bench",
            surname=f"Seller {index}",
            email=f"seller{index}@bench.example",
        )
        for index in range(clients)
    ]


def clicks(
    activities: TeamsActivities, people: list[TeamsUser], headers: dict[str, str]
) -> Callable[[int], Prepared]:
    """Each seller's next click: answer the first question, then go back to it, in turn."""
    answer = {"verb": Action.CHOOSE.value, "step": "deal_kind", "value": "private"}
    prepared: list[tuple[bytes, bytes]] = []
    for person in people:
        choose = activities.card_action(Action.CHOOSE, answer, reply_to_id="1", user=person)
        back_to = activities.card_action(Action.BACK, {}, reply_to_id="1", user=person)
        prepared.append((json.dumps(choose).encode(), json.dumps(back_to).encode()))
    turns = [0] * len(people)

    def take(client: int) -> Prepared:
        turns[client] += 1
        choose, back = prepared[client]
        return (choose if turns[client] % 2 else back), headers

    return take


async def start_drafts(
    url: str, activities: TeamsActivities, people: list[TeamsUser], headers: dict[str, str]
) -> None:
    """``referral new`` from every seller, then wait for their first cards."""
    async with aiohttp.ClientSession() as session:
        for person in people:
            body = json.dumps(activities.message("referral new", user=person)).encode()
            async with session.post(url, data=body, headers=headers) as sent:
                assert sent.status == 200, await sent.text()


async def measure(
    name: str, port: int, take: Callable[[int], Prepared], args: argparse.Namespace
) -> Result:
    url = f"http://127.0.0.1:{port}/api/messages"
    await drive(f"{name} (warm-up)", url, take, args.clients, args.warmup)
    return await drive(name, url, take, args.clients, args.seconds)


async def delete_keys(redis_url: str, run: str, stream: str) -> int:
    redis = Redis.from_url(redis_url)
    deleted = 0
    try:
        for pattern in (f"rb:{{teams:{TENANT_ID}:00000000-0000-4000-8000-{run}*", "rb:ref:*"):
            async for key in redis.scan_iter(match=pattern, count=1000):
                if b"bench" in key or run.encode() in key:
                    deleted += await redis.delete(key)
        deleted += await redis.delete(stream, f"{stream}:dead")
    finally:
        await redis.aclose()
    return deleted


def serve_stand_in(args: argparse.Namespace) -> None:
    """Child process: the Teams and identity stand-ins, knowing this run's sellers. Prints
    their addresses and the run's Bot Framework token as one JSON line, then serves until
    SIGTERM. They play Microsoft's servers, which run elsewhere: at the worker's lower CPU
    priority."""
    os.nice(args.nice)
    identity = IdentityStandIn()
    identity.start()
    stand_in = TeamsStandIn()
    stand_in.accept_tokens_from(identity.check)
    stand_in.start()
    for person in sellers(args.run, args.clients):
        stand_in.set_user(person)
    activities = TeamsActivities(stand_in)
    # One token for the whole run, as Bot Framework reuses its tokens (checked on each request).
    headers = activities.headers({"serviceUrl": stand_in.service_url})
    found = {
        "service_url": stand_in.service_url,
        "openid_url": stand_in.openid_metadata_url,
        "login_url": stand_in.login_endpoint,
        "authority": identity.authority_root,
        "ca_bundle": str(identity.ca_bundle),
        "headers": headers,
    }
    print(json.dumps(found), flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    stand_in.stop()
    identity.stop()


class RemoteStandIn:
    """What the activity builders ask of a stand-in, for one serving in another process."""

    def __init__(self, service_url: str) -> None:
        self.service_url = service_url
        self._ids = itertools.count(int(time.time() * 1000))

    def new_activity_id(self) -> str:
        return str(next(self._ids))


def run(args: argparse.Namespace) -> None:
    args.run = os.urandom(3).hex()
    # The stand-ins (Bot Connector, keys; the identity platform) in a process of their own:
    # the worker posts every next question to the connector while the load runs.
    stand_in = subprocess.Popen(
        [
            sys.executable, __file__, "--serve", "stand-in",
            "--run", args.run, "--clients", str(args.clients), "--nice", str(args.nice),
        ],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    assert stand_in.stdout is not None
    line = stand_in.stdout.readline().decode().strip()
    if not line:
        raise SystemExit("the Teams stand-in did not start")
    found = json.loads(line)
    activities = TeamsActivities(RemoteStandIn(found["service_url"]))  # type: ignore[arg-type]
    people = sellers(args.run, args.clients)
    headers = found["headers"]
    sandbox_port = free_port()
    sandbox = start_sandbox(sandbox_port)
    common = [
        "--sandbox-url", f"http://127.0.0.1:{sandbox_port}/v1.0",
        "--redis-url", args.redis_url,
        "--openid-url", found["openid_url"],
        "--login-url", found["login_url"],
        "--authority", found["authority"],
        "--ca-bundle", found["ca_bundle"],
        "--run", args.run,
    ]  # fmt: skip
    stream = f"rb:jobs:bench-teams-{args.run}"
    results: dict[str, Result] = {}
    backlog = None
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            for kind, name in (("floor", "bare Teams SDK app, answer only"), ("app", "real app")):
                worker = start_worker(__file__, common, args.nice) if kind == "app" else None
                server, port = start_server(
                    __file__, kind, common, args.profile if kind == "app" else None
                )
                try:
                    if kind == "app":
                        url = f"http://127.0.0.1:{port}/api/messages"
                        runner.run(start_drafts(url, activities, people, headers))
                        runner.run(wait_for_backlog(args.redis_url, stream, limit=60))
                    take = clicks(activities, people, headers)
                    results[kind] = runner.run(measure(name, port, take, args))
                    if kind == "app":
                        backlog = runner.run(wait_for_backlog(args.redis_url, stream))
                finally:
                    stop(server)
                    if worker is not None:
                        stop(worker, signal.SIGTERM)
            deleted = runner.run(delete_keys(args.redis_url, args.run, stream))
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
        "Action.Execute invokes answering the first question and going back, in turn"
    )
    print_results(list(results.values()))
    floor, app = results["floor"], results["app"]
    p99_ratio = app.percentile(99) / floor.percentile(99)
    print(f"\np50 ratio (app / floor): {app.percentile(50) / floor.percentile(50):.2f}x")
    print(f"throughput: {app.rate / floor.rate:.0%} of the floor")
    met = p99_ratio <= 1.5
    print(f"{'PASS' if met else 'MISS'}  p99 {p99_ratio:.2f}x the floor (target <= 1.5x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before timing")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--profile", help="write a cProfile of the real app's process here")
    # For the child processes this script starts.
    parser.add_argument(
        "--nice", type=int, default=10, help="CPU priority of the worker process (0-19)"
    )
    parser.add_argument(
        "--serve", choices=("floor", "app", "worker", "stand-in"), help=argparse.SUPPRESS
    )
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sandbox-url", help=argparse.SUPPRESS)
    parser.add_argument("--openid-url", help=argparse.SUPPRESS)
    parser.add_argument("--login-url", help=argparse.SUPPRESS)
    parser.add_argument("--authority", help=argparse.SUPPRESS)
    parser.add_argument("--ca-bundle", help=argparse.SUPPRESS)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "stand-in":
        serve_stand_in(args)
    elif args.serve == "worker":
        serve_worker(args)
    elif args.serve:
        serve(args)
    else:
        run(args)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
