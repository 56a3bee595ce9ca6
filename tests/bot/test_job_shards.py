"""The job stream split into shards, and a conversation's turns kept on the worker that did its
last one, on a real Redis: shards spread over the slot space, each key's jobs in order on one
shard, affinity while a worker lives, and a stopped or silent worker's jobs handed back."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict

import pytest
from redis.asyncio import Redis
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from bot.jobs import Job, JobHandler, JobQueue, WorkOptions
from bot.jobs.keys import Shards
from bot.settings import Settings
from tests.bot.test_jobs import eventually, working

FAST = WorkOptions(concurrency=8, block_ms=50, reclaim_after_ms=60_000, drain_seconds=2)


@pytest.fixture
def sharded(redis: Redis, redis_namespace: str) -> JobQueue:
    return JobQueue(redis, stream=f"rb:jobs:{redis_namespace}", shards=4)


def recorder(name: str, done: list[tuple[str, Job]]) -> JobHandler:
    async def handle(job: Job) -> None:
        done.append((name, job))

    return handle


def test_one_shard_is_the_stream_itself() -> None:
    (only,) = Shards("rb:jobs", count=1)
    assert only.stream == "rb:jobs"
    assert only.inbox("slack:T1:U1") == "{rb:jobs}:inbox:slack:T1:U1"


@pytest.mark.parametrize("count", [2, 3, 8, 16])
def test_shards_take_one_slot_in_each_equal_range_of_the_slot_space(count: int) -> None:
    shards = Shards("rb:jobs", count=count)
    slots = [key_slot(shard.stream.encode()) for shard in shards]
    width = REDIS_CLUSTER_HASH_SLOTS / count
    assert [int(slot // width) for slot in slots] == list(range(count))
    for shard in shards:
        # Every key of a shard shares its slot: inboxes, leases, a worker's own stream.
        keys = [shard.inbox("k"), shard.lease("k"), shard.own("w"), shard.dead_letters]
        assert {key_slot(key.encode()) for key in keys} == {key_slot(shard.stream.encode())}


def test_a_key_always_maps_to_the_same_shard_and_keys_spread_over_all() -> None:
    shards = Shards("rb:jobs", count=8)
    assert shards.of("slack:T1:U1") == Shards("rb:jobs", count=8).of("slack:T1:U1")
    used = {shards.of(f"slack:T1:U{n}").stream for n in range(400)}
    assert used == {shard.stream for shard in shards}


def test_a_sharded_stream_named_with_a_hash_tag_is_refused_naming_both_settings() -> None:
    with pytest.raises(ValueError, match=r"JOB_STREAM=.*JOB_STREAM_SHARDS"):
        Settings(job_stream="{rb}:jobs", job_stream_shards=4)
    with pytest.raises(ValueError, match="at least 1"):
        Shards("rb:jobs", count=0)
    assert Settings(job_stream="{rb}:jobs", job_stream_shards=1).job_stream == "{rb}:jobs"


async def test_jobs_of_many_keys_are_done_once_each_in_order_by_two_workers_on_four_shards(
    sharded: JobQueue,
) -> None:
    done: list[tuple[str, Job]] = []
    keys = [f"slack:T1:U{n}" for n in range(40)]
    async with (
        working(sharded, recorder("a", done), FAST, consumer="a"),
        working(sharded, recorder("b", done), FAST, consumer="b"),
    ):
        for step in range(5):
            await asyncio.gather(
                *(sharded.put("turn", {"key": key, "step": step}, order_key=key) for key in keys)
            )
        await eventually(lambda: len(done) == 200)
    steps: dict[str, list[int]] = defaultdict(list)
    for _, job in done:
        steps[job.payload["key"]].append(job.payload["step"])
    assert len({job.id for _, job in done}) == 200
    assert steps == {key: [0, 1, 2, 3, 4] for key in keys}
    assert {sharded.shards.of(key).stream for key in keys} == {s.stream for s in sharded.shards}


async def test_a_keys_next_jobs_go_to_the_worker_that_did_its_last_one(sharded: JobQueue) -> None:
    done: list[tuple[str, Job]] = []
    keys = [f"slack:T1:U{n}" for n in range(16)]
    async with (
        working(sharded, recorder("a", done), FAST, consumer="a"),
        working(sharded, recorder("b", done), FAST, consumer="b"),
    ):
        for step in range(6):
            await asyncio.gather(
                *(sharded.put("turn", {"key": key, "step": step}, order_key=key) for key in keys)
            )
            # A seller answers once the last card came: the previous turn is done.
            await eventually(lambda step=step: len(done) == (step + 1) * len(keys))
    by_key: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for worker, job in done:
        by_key[job.payload["key"]].append((worker, job.payload["step"]))
    for key, turns in by_key.items():
        assert [step for _, step in turns] == list(range(6)), key
        assert {worker for worker, _ in turns} == {turns[0][0]}, f"{key} moved: {turns}"
    # Both workers took conversations: affinity is per key, not one worker for all.
    assert {turns[0][0] for turns in by_key.values()} == {"a", "b"}


async def test_a_worker_that_stops_hands_its_keys_back_and_the_other_does_them_once(
    sharded: JobQueue, redis: Redis
) -> None:
    done: list[tuple[str, Job]] = []
    key = "slack:T1:U1"
    shard = sharded.shards.of(key)
    async with working(sharded, recorder("a", done), FAST, consumer="a"):
        await sharded.put("turn", {"step": 0}, order_key=key)
        await eventually(lambda: len(done) == 1)
    # "a" stopped: its lease is idle, its stream and heartbeat gone, so nothing goes there.
    assert await redis.exists(shard.own("a"), shard.alive("a")) == 0
    assert await redis.sismember(shard.workers, "a") == 0
    await sharded.put("turn", {"step": 1}, order_key=key)
    async with working(sharded, recorder("b", done), FAST, consumer="b"):
        await eventually(lambda: len(done) == 2)
        await asyncio.sleep(0.2)
    assert [(worker, job.payload["step"]) for worker, job in done] == [("a", 0), ("b", 1)]


async def test_jobs_sent_to_a_worker_whose_heartbeat_stopped_are_handed_back_and_done_once(
    sharded: JobQueue, redis: Redis
) -> None:
    """A worker that died (kill -9) leaves its heartbeat to lapse, its own stream behind, and
    the idle lease naming it: the next job is sent there while the heartbeat lasts, and a
    living worker's reclaim round hands it back."""
    key = "slack:T1:U7"
    shard = sharded.shards.of(key)
    await redis.xgroup_create(shard.own("ghost"), shard.group, id="0", mkstream=True)
    await redis.sadd(shard.workers, "ghost")
    await redis.set(shard.alive("ghost"), "1", px=400)
    await redis.set(shard.lease(key), "idle:ghost", px=60_000)

    job_id = await sharded.put("turn", {"step": 1}, order_key=key)
    assert await redis.xlen(shard.own("ghost")) == 1  # sent to the worker holding the key
    assert await redis.xlen(shard.stream) == 0

    done: list[tuple[str, Job]] = []
    reclaiming = WorkOptions(concurrency=4, block_ms=50, reclaim_after_ms=200, drain_seconds=2)
    async with working(sharded, recorder("b", done), reclaiming, consumer="b"):
        await eventually(lambda: len(done) == 1, within=5)
        await asyncio.sleep(0.5)  # more reclaim rounds: nothing is done twice
    assert [(worker, job.id) for worker, job in done] == [("b", done[0][1].id)]
    assert done[0][1].payload == {"step": 1}
    assert job_id
    assert await redis.exists(shard.own("ghost")) == 0
    assert await redis.sismember(shard.workers, "ghost") == 0


async def test_a_handed_back_job_waits_for_a_dead_workers_busy_lease_and_is_done_once(
    sharded: JobQueue, redis: Redis
) -> None:
    """The worker died mid-turn, holding the lease busy: the entry it was working from, in its
    own stream, is handed back, left pending while the lease lasts (not acknowledged as if the
    holder would see it), and once the lease expires drains the inbox: the turn it died in,
    and the one typed meanwhile (which, the key being busy, got no entry of its own)."""
    key = "slack:T1:U8"
    shard = sharded.shards.of(key)
    own = shard.own("ghost")
    await redis.xgroup_create(own, shard.group, id="0", mkstream=True)
    await redis.sadd(shard.workers, "ghost")
    await redis.set(shard.alive("ghost"), "1", px=300)
    # The turn it died in, and the entry it was sent.
    turn = {"id": "t1", "kind": "turn", "payload": {"step": 1}, "at": 0}
    await redis.rpush(shard.inbox(key), json.dumps(turn))
    await redis.xadd(own, {"kind": "ordered", "key": key})
    await redis.xreadgroup(shard.group, "ghost", {own: ">"})  # it read it, and died
    await redis.set(shard.lease(key), "busy:ghost", px=1_000)
    await sharded.put("turn", {"step": 2}, order_key=key)
    assert await redis.xlen(shard.stream) == 0  # busy: no entry for the second

    done: list[tuple[str, Job]] = []
    reclaiming = WorkOptions(concurrency=4, block_ms=50, reclaim_after_ms=300, drain_seconds=2)
    async with working(sharded, recorder("b", done), reclaiming, consumer="b"):
        await asyncio.sleep(0.6)
        assert done == []  # the lease is still the dead worker's
        await eventually(lambda: len(done) == 2, within=6)
        await asyncio.sleep(0.4)
    assert [job.payload for _, job in done] == [{"step": 1}, {"step": 2}]


async def test_turns_typed_while_a_worker_is_busy_on_the_key_add_no_stream_entries(
    sharded: JobQueue, redis: Redis
) -> None:
    """The worker busy on a conversation takes its next turns from the inbox: an entry for
    each would only wait on that worker's drain, piling up under a fast typist."""
    key = "slack:T1:U9"
    shard = sharded.shards.of(key)
    release = asyncio.Event()
    done: list[int] = []

    async def slow_first(job: Job) -> None:
        if job.payload["n"] == 0:
            await release.wait()
        done.append(job.payload["n"])

    async with working(sharded, slow_first, FAST, consumer="a"):
        await sharded.put("turn", {"n": 0}, order_key=key)
        await eventually(lambda: redis.get(shard.lease(key)))
        for n in range(1, 51):
            await sharded.put("turn", {"n": n}, order_key=key)
        entries = await redis.xlen(shard.stream) + await redis.xlen(shard.own("a"))
        assert entries == 1  # the first turn's, still not acknowledged
        assert await sharded.waiting() == 1
        release.set()
        await eventually(lambda: len(done) == 51)
        await eventually(lambda: _no_entries(sharded))
    assert done == list(range(51))


async def _no_entries(queue: JobQueue) -> bool:
    return await queue.waiting() == 0
