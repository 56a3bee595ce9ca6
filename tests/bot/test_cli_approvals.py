"""``referral-bot approvals list``: the requests and where each stands, from Redis."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis
from typer.testing import CliRunner

from bot.approvals.store import Approvals, ApprovalStatus, Request
from bot.cli import app

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def ask(referral: str) -> Request:
    return Request(
        referral_id=referral,
        requester="slack:T1:U0001",
        requester_name="Ada Lovelace",
        registration={"type": "AzureIPCoSell"},
    )


@pytest.fixture
def stream(redis_namespace: str) -> str:
    return f"rb:jobs:{redis_namespace}"


async def run(stream: str, redis_url: str, *args: str) -> str:
    """The command, on a thread of its own (it runs its own event loop)."""
    env = {"REDIS_URL": redis_url, "JOB_STREAM": stream, "COLUMNS": "200"}
    done = await asyncio.to_thread(CliRunner().invoke, app, ["approvals", "list", *args], env=env)
    assert done.exit_code == 0, done.output
    return done.stdout


async def test_requests_are_listed_with_who_decided_and_why(
    redis: Redis, redis_url: str, stream: str
) -> None:
    store = Approvals(redis, stream=stream)
    pending = (await store.request(ask("r-pending"), now=NOW)).approval
    rejected = (await store.request(ask("r-rejected"), now=NOW)).approval
    await store.move(
        rejected.id, ApprovalStatus.REJECTED, by="slack:T1:U0002", now=NOW, reason="Too early"
    )

    listed = json.loads(await run(stream, redis_url, "--json"))
    only_pending = json.loads(await run(stream, redis_url, "--status", "pending", "--json"))
    table = await run(stream, redis_url)

    assert {each["id"]: each["status"] for each in listed} == {
        pending.id: "pending",
        rejected.id: "rejected",
    }
    (refused,) = [each for each in listed if each["id"] == rejected.id]
    assert (refused["decidedBy"], refused["reason"]) == ("slack:T1:U0002", "Too early")
    assert [each["id"] for each in only_pending] == [pending.id]
    assert "Too early" in table
    assert "r-pending" in table


async def test_none_is_said_so(redis_url: str, stream: str) -> None:
    said = await run(stream, redis_url, "--status", "expired")
    assert "No requests for approval with status expired." in said
