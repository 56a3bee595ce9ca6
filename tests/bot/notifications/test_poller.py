"""The reconciliation poll: a baseline first, then only what changed since the cursor, in as
many requests as the changes need; one poller at a time, taken over when its holder stops."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.app.clients import build_http_client
from bot.notifications.changes import ChangeDetector, ReferralChange
from bot.notifications.poller import Poller
from bot.partner_center.auth import StaticTokenProvider
from bot.partner_center.client import PartnerCenterClient
from bot.settings import Settings
from tests.support.sandbox import PAGE_SIZE, Sandbox

TAILWIND = "7b9d2e4f-6a8c-4b1d-8e3f-5a7c9e1b3d02"
ADVENTURE = "3f2a7c1e-8d4b-4e6f-9a10-2b5c7d9e1f01"
FABRIKAM = "c5fbb3b6-be74-4795-9fb5-4324c73fed37"


@pytest.fixture
async def client(fresh_sandbox: Sandbox) -> AsyncIterator[PartnerCenterClient]:
    async with build_http_client(Settings(_env_file=None)) as http:  # type: ignore[call-arg]
        yield PartnerCenterClient(
            http, base_url=fresh_sandbox.base_url, tokens=StaticTokenProvider(SecretStr("t"))
        )


@pytest.fixture
def stream(redis_namespace: str) -> str:
    return f"rb:jobs:{redis_namespace}"


def poller(redis: Redis, client: PartnerCenterClient, stream: str, **more: float) -> Poller:
    detector = ChangeDetector(redis, stream=stream)
    return Poller(redis, client, detector, stream=stream, interval=more.pop("interval", 60), **more)


async def events(redis: Redis, stream: str) -> list[ReferralChange]:
    return [
        ReferralChange.model_validate(json.loads(fields[b"payload"]))
        for _, fields in await redis.xrange(stream)
    ]


def listings(sandbox: Sandbox) -> int:
    return sum(1 for request in sandbox.requests() if request["method"] == "GET")


async def test_the_first_poll_records_everything_and_tells_nothing(
    redis: Redis, client: PartnerCenterClient, stream: str, fresh_sandbox: Sandbox
) -> None:
    result = await poller(redis, client, stream).poll_once()

    assert result.baseline
    assert result.seen >= 5
    assert result.events == 0
    assert await events(redis, stream) == []


async def test_later_polls_read_only_the_changes_in_as_few_requests(
    redis: Redis, client: PartnerCenterClient, stream: str, fresh_sandbox: Sandbox
) -> None:
    polls = poller(redis, client, stream)
    await polls.poll_once()
    fresh_sandbox.admin.delete("/requests").raise_for_status()

    quiet = await polls.poll_once()
    assert (quiet.events, quiet.requests) == (0, 1)

    fresh_sandbox.act(TAILWIND, "win")
    fresh_sandbox.act(ADVENTURE, "accept")
    fresh_sandbox.act(FABRIKAM, "decline", reason="Not our market")
    fresh_sandbox.admin.delete("/requests").raise_for_status()
    busy = await polls.poll_once()

    assert busy.events == 3
    assert busy.seen <= PAGE_SIZE  # stopped at the cursor: the old referrals were not read
    assert listings(fresh_sandbox) == 1  # three changes fit one page of PAGE_SIZE
    kinds = {change.referral_id: change.event for change in await events(redis, stream)}
    assert kinds == {TAILWIND: "won", ADVENTURE: "accepted", FABRIKAM: "declined"}
    assert (await polls.poll_once()).events == 0  # nothing twice


async def test_two_pollers_poll_one_at_a_time_and_one_takes_over(
    redis: Redis, client: PartnerCenterClient, stream: str, fresh_sandbox: Sandbox
) -> None:
    first = poller(redis, client, stream, interval=0.05, lease_seconds=0.6)
    second = poller(redis, client, stream, interval=0.05, lease_seconds=0.6)
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    running = [
        asyncio.create_task(first.run(stop_first)),
        asyncio.create_task(second.run(stop_second)),
    ]
    try:
        await asyncio.sleep(0.5)
        fresh_sandbox.act(TAILWIND, "win")
        await asyncio.sleep(0.5)
        holder, other = (first, second) if await first.holds_lease() else (second, first)
        assert await holder.holds_lease()
        assert holder.polls >= 3
        assert other.polls == 0
        # The holder stops; the other takes over and sees the next change.
        (stop_first if holder is first else stop_second).set()
        await asyncio.sleep(0.1)
        fresh_sandbox.act(ADVENTURE, "accept")
        await asyncio.sleep(1.5)
        assert other.polls >= 1
    finally:
        stop_first.set()
        stop_second.set()
        await asyncio.gather(*running)

    assert sorted(change.event or "" for change in await events(redis, stream)) == [
        "accepted",
        "won",
    ]


async def test_where_the_service_refuses_the_filter_the_poll_goes_on_without_it(
    redis: Redis, client: PartnerCenterClient, stream: str, fresh_sandbox: Sandbox
) -> None:
    polls = poller(redis, client, stream)
    await polls.poll_once()
    fresh_sandbox.act(TAILWIND, "win")
    fresh_sandbox.admin.delete("/requests").raise_for_status()
    fresh_sandbox.fault(status=400, method="GET", code="invalidRequest", message="bad $filter")

    result = await polls.poll_once()

    assert result.events == 1
    first, second = fresh_sandbox.requests()
    assert "filter" in first["query"]
    assert first["status"] == 400
    assert "filter" not in second["query"]
    fresh_sandbox.act(ADVENTURE, "accept")
    assert (await polls.poll_once()).events == 1  # and stays without it


async def test_a_poll_that_fails_is_tried_again_at_the_next_interval(
    redis: Redis, client: PartnerCenterClient, stream: str, fresh_sandbox: Sandbox
) -> None:
    polls = poller(redis, client, stream, interval=0.1)
    await polls.poll_once()  # the baseline
    fresh_sandbox.act(TAILWIND, "win")
    fresh_sandbox.fault(status=500, method="GET", times=20)  # more than the client retries
    stopping = asyncio.Event()
    running = asyncio.create_task(polls.run(stopping))
    try:
        await asyncio.sleep(0.5)
        fresh_sandbox.admin.delete("/faults").raise_for_status()
        for _ in range(60):
            if await events(redis, stream):
                break
            await asyncio.sleep(0.05)
    finally:
        stopping.set()
        await running

    assert [change.event for change in await events(redis, stream)] == ["won"]
