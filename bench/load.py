"""What the chat front-end benchmarks share: child servers, the load loop and its figures."""

from __future__ import annotations

import asyncio
import cProfile
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import uvicorn
import uvloop
from redis.asyncio import Redis
from sandbox_process import free_port

from bot.app.worker import run_worker
from bot.jobs import JobQueue
from bot.settings import Settings

Prepared = tuple[bytes, dict[str, str]]
"""A body and its headers, built (and signed) before the timed window."""


@dataclass
class Result:
    """Response times of one server under one load."""

    name: str
    seconds: float
    latencies: list[float]
    errors: int
    exhausted: bool

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, p: float) -> float:
        """The ``p``-th percentile response time, in milliseconds."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


async def drive(
    name: str,
    url: str,
    take: Callable[[int], Prepared | None],
    clients: int,
    seconds: float,
) -> Result:
    """``clients`` tasks post what ``take(client)`` gives them, one request after the other,
    for ``seconds``; each response is timed. ``take`` returning None ends that client."""
    latencies: list[float] = []
    errors = 0
    exhausted = False
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.perf_counter() + seconds

        async def client(index: int) -> None:
            nonlocal errors, exhausted
            while time.perf_counter() < deadline:
                request = take(index)
                if request is None:
                    exhausted = True
                    return
                body, headers = request
                started = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as sent:
                    await sent.read()
                    if sent.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(client(index) for index in range(clients)))
        elapsed = time.perf_counter() - started
    return Result(name, elapsed, latencies, errors, exhausted)


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    """Return once ``process`` accepts connections on ``port``; exit if it dies first."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the {what} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"the {what} did not start")


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGINT) -> None:
    """Ask ``process`` to stop; kill it if it has not within 15 s."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def print_results(results: list[Result]) -> None:
    """One line per server: requests/s, p50 and p99 in ms, non-200 answers."""
    print(f"{'':30} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-200':>8}")
    for result in results:
        print(
            f"{result.name:30} {result.rate:8.0f} {result.percentile(50):8.2f} "
            f"{result.percentile(99):8.2f} {result.errors:8d}"
        )
        if result.exhausted:
            print(f"  ({result.name}: the pre-built requests ran out before the time was up)")


@dataclass
class Backlog:
    """The worker's side: jobs queued when the load stopped, and how long they took to go."""

    left_at_end: int
    drain_seconds: float
    drained: bool

    def report(self, nice: int) -> None:
        print(
            f"\nworker (one process, nice {nice}): {self.left_at_end:,} jobs still "
            "queued when the load stopped; "
            + (
                f"all done {self.drain_seconds:.1f} s later"
                if self.drained
                else f"{self.drain_seconds:.0f} s later some were still queued"
            )
        )


async def wait_for_backlog(
    redis_url: str, stream: str, limit: float = 300, shards: int = 1
) -> Backlog:
    """After the load: how many jobs are queued (in every shard, and in the workers' own
    streams), and how long until none are."""
    redis = Redis.from_url(redis_url)
    jobs = JobQueue(redis, stream=stream, shards=shards)
    try:
        left = await jobs.waiting()
        started = time.perf_counter()
        while await jobs.waiting() and time.perf_counter() - started < limit:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        drained = not await jobs.waiting()
        return Backlog(left, time.perf_counter() - started, drained)
    finally:
        await redis.aclose()


# Child processes ----------------------------------------------------------------------------

UVICORN_OPTIONS: dict[str, Any] = {
    "host": "127.0.0.1",
    "loop": "uvloop",
    "http": "httptools",
    "workers": 1,
    "lifespan": "on",
    "log_level": "warning",
    "access_log": False,
}
"""The same server options for every app measured."""


def serve_app(app: Any, port: int, profile: str | None) -> None:
    """Serve ``app`` until SIGINT; then write a cProfile of the process to ``profile``."""
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    uvicorn.run(app, port=port, **UVICORN_OPTIONS)
    if profiler is not None and profile:
        profiler.disable()
        profiler.dump_stats(profile)


def work_niced(settings: Settings, nice: int) -> None:
    """The Procfile's worker process, at a lower CPU priority: on a machine shared with the
    web process and the load it works in the slack time, as a worker on a machine of its own
    would not take the web process's CPU at all. Runs until SIGTERM or SIGINT."""
    os.nice(nice)
    stop = asyncio.Event()

    async def work() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        await run_worker(settings, stop)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(work())


def start_server(
    script: str, kind: str, common: list[str], profile: str | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """``script --serve kind`` on a free port; returns once it accepts connections."""
    port = free_port()
    command = [sys.executable, script, "--serve", kind, "--port", str(port), *common]
    if profile:
        command += ["--profile", profile]
    process = subprocess.Popen(command)
    wait_for_port(port, process, f"{kind} server")
    return process, port


def start_worker(script: str, common: list[str], nice: int) -> subprocess.Popen[bytes]:
    """``script --serve worker`` at CPU priority ``nice``."""
    command = [sys.executable, script, "--serve", "worker", "--nice", str(nice), *common]
    return subprocess.Popen(command)
