"""Metrics: each part counts what an operator graphs (requests and acks, jobs, Partner Center
calls, token refreshes, approvals), and ``METRICS_PORT`` serves them in Prometheus' format."""

from __future__ import annotations

import asyncio
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.app.clients import build_http_client
from bot.approvals.store import Approvals, ApprovalStatus, Request
from bot.jobs import Job, JobQueue, WorkOptions
from bot.metrics import REGISTRY, exposition
from bot.partner_center.auth import (
    AccessToken,
    CachingTokenProvider,
    SignInRequired,
    StaticTokenProvider,
)
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import NotFound
from bot.settings import Settings
from bot.web import create_web_app
from tests.bot.test_web import free_port
from tests.support.processes import child_env
from tests.support.sandbox import Sandbox

FAST = WorkOptions(concurrency=4, block_ms=20, reclaim_after_ms=60, max_deliveries=1)


def value(name: str, **labels: str) -> float:
    """A sample's value now (0 before it was first counted)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_each_request_is_counted_by_platform_and_outcome_with_its_time() -> None:
    before_ok = value("rb_requests_total", platform="health", outcome="2xx")
    before_missing = value("rb_requests_total", platform="other", outcome="4xx")
    timed_before = value("rb_request_seconds_count", platform="health")
    transport = httpx.ASGITransport(app=create_web_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://web") as client:
        await client.get("/healthz")
        await client.get("/nowhere")

    assert value("rb_requests_total", platform="health", outcome="2xx") == before_ok + 1
    assert value("rb_requests_total", platform="other", outcome="4xx") == before_missing + 1
    assert value("rb_request_seconds_count", platform="health") == timed_before + 1


async def test_jobs_are_counted_queued_done_failed_and_dead_with_their_age(
    redis: Redis, redis_namespace: str
) -> None:
    queue = JobQueue(redis, stream=f"rb:jobs:{redis_namespace}")
    stream = queue.stream
    done = asyncio.Event()

    async def handle(job: Job) -> None:
        if job.kind == "doomed":
            raise ValueError("no")
        done.set()

    await queue.put("greet", {"n": 1})
    await queue.put("greet", {"n": 2}, order_key="seller-1")
    await queue.put("doomed", {"n": 3})
    stopping = asyncio.Event()
    task = asyncio.create_task(queue.work(handle, stopping, consumer="one", options=FAST))
    deadline = time.monotonic() + 5
    while (
        value("rb_jobs_dead_total", stream=stream) < 1
        or value("rb_jobs_done_total", stream=stream, kind="greet", outcome="done") < 2
    ):
        assert time.monotonic() < deadline, exposition()[0].decode()
        await asyncio.sleep(0.02)
    stopping.set()
    await asyncio.wait_for(task, 10)

    assert value("rb_jobs_queued_total", stream=stream, kind="greet") == 2
    assert value("rb_jobs_done_total", stream=stream, kind="doomed", outcome="failed") == 1
    # Both the stream's job and the seller's inbox job knew when they were queued.
    assert value("rb_job_age_seconds_count", kind="greet") >= 2


async def test_partner_center_calls_are_counted_by_method_and_status(
    fresh_sandbox: Sandbox,
) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    before = value("rb_partner_center_calls_total", method="GET", status="404")
    async with build_http_client(settings) as http:
        client = PartnerCenterClient(
            http, base_url=fresh_sandbox.base_url, tokens=StaticTokenProvider(SecretStr("t"))
        )
        with pytest.raises(NotFound):
            await client.get("00000000-0000-4000-8000-000000000000")

    assert value("rb_partner_center_calls_total", method="GET", status="404") == before + 1
    assert value("rb_partner_center_seconds_count", method="GET") >= 1


async def test_token_refreshes_are_counted_by_outcome() -> None:
    answers: list[AccessToken | Exception] = [
        SignInRequired("slack:T1:U1", "expired"),
        AccessToken(SecretStr("t"), expires_at=None),
    ]

    async def source(refused: bool) -> AccessToken:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    ok, needed = (
        value("rb_token_refreshes_total", outcome="ok"),
        value("rb_token_refreshes_total", outcome="sign_in_required"),
    )
    tokens = CachingTokenProvider(source)
    with pytest.raises(SignInRequired):
        await tokens.token()
    await tokens.token()

    assert value("rb_token_refreshes_total", outcome="sign_in_required") == needed + 1
    assert value("rb_token_refreshes_total", outcome="ok") == ok + 1


async def test_approvals_are_counted_as_they_reach_each_state(
    redis: Redis, redis_namespace: str
) -> None:
    store = Approvals(redis, stream=f"rb:jobs:{redis_namespace}")
    now = datetime(2026, 12, 4, tzinfo=UTC)
    pending, approved = (
        value("rb_approvals_total", state="pending"),
        value("rb_approvals_total", state="approved"),
    )
    ask = Request(referral_id="r", requester="slack:T1:U1", requester_name="Ada", registration={})
    filed = await store.request(ask, now=now, approval_id=f"{redis_namespace}-a")
    await store.request(ask, now=now, approval_id=f"{redis_namespace}-a")  # filed once
    await store.move(filed.approval.id, ApprovalStatus.APPROVED, by="m", now=now)
    await store.move(filed.approval.id, ApprovalStatus.APPROVED, by="n", now=now)  # lost race

    assert value("rb_approvals_total", state="pending") == pending + 1
    assert value("rb_approvals_total", state="approved") == approved + 1


def test_a_worker_serves_its_metrics_on_metrics_port(tmp_path: Path, redis_url: str) -> None:
    port = free_port()
    env = child_env(
        METRICS_PORT=str(port), HOST="127.0.0.1", PARTNER_CENTER_TOKEN="t", REDIS_URL=redis_url,
        DATA_DIR=str(tmp_path),
    )  # fmt: skip
    worker = subprocess.Popen(
        ["referral-bot", "worker"], env=env, cwd=tmp_path, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
                break
            except httpx.TransportError:
                assert worker.poll() is None, "the worker stopped"
                assert time.monotonic() < deadline, "no metrics within 20 s"
                time.sleep(0.1)
        assert scraped.status_code == 200
        assert scraped.headers["content-type"].startswith("text/plain")
        for name in ("rb_jobs_done", "rb_partner_center_calls", "rb_approvals"):
            assert f"# TYPE {name}_total counter" in scraped.text
    finally:
        worker.terminate()
        worker.wait(timeout=15)
        if worker.stderr:
            worker.stderr.close()
