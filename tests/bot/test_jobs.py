"""The job stream on a real Redis: each job done once, shared by workers, reclaimed from a
worker that died, buried after its last failed try, drained on stop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.jobs import Job, JobHandler, JobQueue, QueueRefused, WorkOptions, dispatch

FAST = WorkOptions(concurrency=8, block_ms=50, reclaim_after_ms=60_000, drain_seconds=2)


@pytest.fixture
def queue(redis: Redis, redis_namespace: str) -> JobQueue:
    return JobQueue(redis, stream=f"rb:jobs:{redis_namespace}")


@contextlib.asynccontextmanager
async def working(
    queue: JobQueue, handler: JobHandler, options: WorkOptions = FAST, consumer: str = "one"
) -> AsyncIterator[asyncio.Event]:
    """A worker on ``queue`` for the duration of the block; set the event to stop it early."""
    stopping = asyncio.Event()
    task = asyncio.create_task(queue.work(handler, stopping, consumer=consumer, options=options))
    try:
        yield stopping
    finally:
        stopping.set()
        await asyncio.wait_for(task, timeout=10)


async def eventually(condition: Callable[[], Awaitable[bool] | bool], within: float = 5) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        outcome = condition()
        if not isinstance(outcome, bool):
            outcome = await outcome
        if outcome:
            return
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_a_job_is_done_once_then_leaves_the_stream(queue: JobQueue, redis: Redis) -> None:
    seen: list[Job] = []

    async def handle(job: Job) -> None:
        seen.append(job)

    job_id = await queue.put("greet", {"name": "Ana", "tags": ["a", "b"]})
    async with working(queue, handle):
        await eventually(lambda: len(seen) == 1)
        await eventually(lambda: _empty(redis, queue.stream))
    assert seen == [Job(id=job_id, kind="greet", payload={"name": "Ana", "tags": ["a", "b"]})]
    assert await redis.xpending(queue.stream, queue.group) == {
        "pending": 0,
        "min": None,
        "max": None,
        "consumers": [],
    }


async def test_a_burst_of_puts_is_batched_and_each_job_is_done_once(
    queue: JobQueue, redis: Redis
) -> None:
    done: Counter[int] = Counter()

    async def handle(job: Job) -> None:
        done[job.payload["n"]] += 1

    ids = await asyncio.gather(*(queue.put("count", {"n": n}) for n in range(300)))
    assert len(set(ids)) == 300
    async with working(queue, handle):
        await eventually(lambda: sum(done.values()) == 300)
        await eventually(lambda: _empty(redis, queue.stream))
    assert done == Counter(range(300))


async def test_two_workers_share_the_stream_without_doing_a_job_twice(
    queue: JobQueue, redis: Redis
) -> None:
    done: list[tuple[str, int]] = []

    def worker(name: str) -> JobHandler:
        async def handle(job: Job) -> None:
            await asyncio.sleep(0.005)  # long enough for the other worker to read meanwhile
            done.append((name, job.payload["n"]))

        return handle

    narrow = WorkOptions(concurrency=2, block_ms=50, drain_seconds=2)
    for n in range(60):
        await queue.put("count", {"n": n})
    async with (
        working(queue, worker("a"), narrow, consumer="a"),
        working(queue, worker("b"), narrow, consumer="b"),
    ):
        await eventually(lambda: len(done) == 60)
        await eventually(lambda: _empty(redis, queue.stream))
    assert sorted(n for _, n in done) == list(range(60))
    assert {name for name, _ in done} == {"a", "b"}


async def test_the_job_of_a_worker_that_died_is_reclaimed_by_another(
    queue: JobQueue, redis: Redis
) -> None:
    started = asyncio.Event()
    finished: list[Job] = []

    async def hangs(job: Job) -> None:
        started.set()
        await asyncio.Event().wait()

    async def finishes(job: Job) -> None:
        finished.append(job)

    await queue.put("slow", {"n": 1})
    # The first worker takes the job and is stopped without time to finish it: as good as
    # killed, its job stays unacknowledged.
    dying = WorkOptions(concurrency=1, block_ms=50, drain_seconds=0.05)
    async with working(queue, hangs, dying, consumer="dies"):
        await asyncio.wait_for(started.wait(), timeout=5)
    rescuing = WorkOptions(concurrency=1, block_ms=50, reclaim_after_ms=100, drain_seconds=2)
    async with working(queue, finishes, rescuing, consumer="rescues"):
        await eventually(lambda: len(finished) == 1)
        await eventually(lambda: _empty(redis, queue.stream))
    assert finished[0].payload == {"n": 1}
    assert finished[0].delivery == 2


async def test_a_job_failing_every_try_is_buried_with_its_error(
    queue: JobQueue, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    tries: list[int] = []

    async def fails(job: Job) -> None:
        tries.append(job.delivery)
        raise ValueError("Partner Center said no")

    await queue.put("doomed", {"n": 7})
    retrying = WorkOptions(concurrency=1, block_ms=20, reclaim_after_ms=60, max_deliveries=3)
    async with working(queue, fails, retrying):
        await eventually(lambda: _length(redis, queue.dead_letters, 1))
        await eventually(lambda: _empty(redis, queue.stream))
    assert tries == [1, 2, 3]
    ((_, fields),) = await redis.xrange(queue.dead_letters)
    assert fields[b"kind"] == b"doomed"
    assert fields[b"payload"] == b'{"n": 7}'
    assert fields[b"error"] == b"ValueError: Partner Center said no"
    assert "failed on try 3" in caplog.text


async def test_a_job_of_an_unknown_kind_is_buried_not_retried_for_ever(
    queue: JobQueue, redis: Redis
) -> None:
    handled: list[Job] = []

    async def known(job: Job) -> None:
        handled.append(job)

    await queue.put("from-a-newer-release", {})
    await queue.put("known", {})
    once = WorkOptions(concurrency=1, block_ms=20, max_deliveries=1)
    async with working(queue, dispatch({"known": known}), once):
        await eventually(lambda: _length(redis, queue.dead_letters, 1))
        await eventually(lambda: len(handled) == 1)
    ((_, fields),) = await redis.xrange(queue.dead_letters)
    assert b"no handler for jobs of kind 'from-a-newer-release'" in fields[b"error"]


async def test_stopping_lets_the_jobs_under_way_finish(queue: JobQueue, redis: Redis) -> None:
    started = asyncio.Event()
    release = asyncio.Event()
    finished: list[Job] = []

    async def slow(job: Job) -> None:
        started.set()
        await release.wait()
        finished.append(job)

    await queue.put("slow", {})
    async with working(queue, slow) as stopping:
        await asyncio.wait_for(started.wait(), timeout=5)
        stopping.set()
        await asyncio.sleep(0.05)
        release.set()
    assert len(finished) == 1
    assert await _empty(redis, queue.stream)


async def test_stopping_does_not_wait_for_the_read_to_time_out(queue: JobQueue) -> None:
    async def handle(job: Job) -> None:
        raise AssertionError("no job was queued")

    patient = WorkOptions(block_ms=30_000)
    started = asyncio.get_running_loop().time()
    async with working(queue, handle, patient):
        await asyncio.sleep(0.1)
    assert asyncio.get_running_loop().time() - started < 2


async def test_putting_without_redis_fails_for_the_caller_to_report() -> None:
    # Nothing listens on port 1; the client connects on first use.
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    try:
        with pytest.raises(QueueRefused):
            await JobQueue(unreachable).put("lost", {"n": 1})
    finally:
        await unreachable.aclose()


async def _empty(redis: Redis, stream: str) -> bool:
    return await redis.xlen(stream) == 0


async def _length(redis: Redis, stream: str, length: int) -> bool:
    return await redis.xlen(stream) == length


async def test_a_deleted_stream_is_started_afresh(queue: JobQueue, redis: Redis) -> None:
    seen: list[Job] = []

    async def handle(job: Job) -> None:
        seen.append(job)

    async with working(queue, handle):
        await queue.put("before", {})
        await eventually(lambda: len(seen) == 1)
        await redis.delete(queue.stream)  # an operator clears the stream, group and all
        await queue.put("after", {})
        await eventually(lambda: [job.kind for job in seen] == ["before", "after"], within=10)


# -- ordered jobs: one conversation's turns one at a time, in arrival order ------------------


async def test_jobs_of_one_key_are_done_in_order_one_at_a_time_by_two_workers(
    queue: JobQueue, redis: Redis
) -> None:
    done: list[tuple[str, int]] = []
    busy: Counter[str] = Counter()
    overlaps: list[str] = []

    async def handle(job: Job) -> None:
        key = job.payload["key"]
        busy[key] += 1
        if busy[key] > 1:
            overlaps.append(key)
        # The first job of each key is the slowest: a later one must still wait for it.
        await asyncio.sleep(0.03 if job.payload["n"] == 0 else 0.001)
        done.append((key, job.payload["n"]))
        busy[key] -= 1

    many = WorkOptions(concurrency=8, block_ms=20, drain_seconds=2)
    async with (
        working(queue, handle, many, consumer="a"),
        working(queue, handle, many, consumer="b"),
    ):
        for n in range(10):
            for key in ("ana", "ben", "cy"):
                await queue.put("turn", {"key": key, "n": n}, order_key=key)
            await asyncio.sleep(0.005)  # answers typed 5 ms apart
        await eventually(lambda: len(done) == 30)
        await eventually(lambda: _empty(redis, queue.stream))
    for key in ("ana", "ben", "cy"):
        assert [n for k, n in done if k == key] == list(range(10))
        assert await redis.llen(queue.inbox(key)) == 0
    assert overlaps == []


async def test_an_ordered_job_of_a_worker_that_died_is_done_again_with_the_same_id(
    queue: JobQueue, redis: Redis
) -> None:
    started = asyncio.Event()
    finished: list[Job] = []
    first: list[Job] = []

    async def hangs(job: Job) -> None:
        first.append(job)
        started.set()
        await asyncio.Event().wait()

    async def finishes(job: Job) -> None:
        finished.append(job)

    await queue.put("turn", {"n": 1}, order_key="ana")
    await queue.put("turn", {"n": 2}, order_key="ana")
    dying = WorkOptions(concurrency=1, block_ms=50, drain_seconds=0.05, lease_ms=200)
    async with working(queue, hangs, dying, consumer="dies"):
        await asyncio.wait_for(started.wait(), timeout=5)
    rescuing = WorkOptions(concurrency=4, block_ms=50, reclaim_after_ms=300, drain_seconds=2)
    async with working(queue, finishes, rescuing, consumer="rescues"):
        await eventually(lambda: len(finished) == 2)
        await eventually(lambda: _empty(redis, queue.stream))
    assert [job.payload["n"] for job in finished] == [1, 2]
    assert finished[0].id == first[0].id  # the work can tell a retry of itself
    assert await redis.llen(queue.inbox("ana")) == 0


async def test_a_failing_ordered_job_is_buried_and_the_next_one_still_done(
    queue: JobQueue, redis: Redis
) -> None:
    done: list[int] = []

    async def handle(job: Job) -> None:
        if job.payload["n"] == 1:
            raise ValueError("a bug")
        done.append(job.payload["n"])

    for n in (1, 2):
        await queue.put("turn", {"n": n}, order_key="ana")
    async with working(queue, handle):
        await eventually(lambda: done == [2])
        await eventually(lambda: _length(redis, queue.dead_letters, 1))
    ((_, fields),) = await redis.xrange(queue.dead_letters)
    assert fields[b"error"] == b"ValueError: a bug"
    assert fields[b"payload"] == b'{"n": 1}'


async def test_a_put_that_redis_refuses_leaves_no_inbox_entry_behind(
    queue: JobQueue, redis: Redis
) -> None:
    await redis.set(queue.stream, "not a stream")  # XADD fails: WRONGTYPE
    with pytest.raises(QueueRefused):
        await queue.put("turn", {"n": 1}, order_key="ana")
    assert await redis.llen(queue.inbox("ana")) == 0


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "turn", "payload": "{not json"},
        {"kind": "turn", "payload": "[1, 2]"},
        {"payload": "{}"},
        {"kind": "turn", "payload": b"\xff\xfe"},
    ],
    ids=["not-json", "not-an-object", "no-kind", "not-utf8"],
)
async def test_an_unreadable_entry_goes_to_the_dead_letters_and_work_goes_on(
    queue: JobQueue, redis: Redis, fields: dict[str, object]
) -> None:
    seen: list[Job] = []

    async def handle(job: Job) -> None:
        seen.append(job)

    await queue.ensure_group()
    await redis.xadd(queue.stream, fields)  # type: ignore[arg-type]
    await queue.put("after", {"n": 2})
    async with working(queue, handle) as stopping:
        await eventually(lambda: [job.kind for job in seen] == ["after"])
        await eventually(lambda: _length(redis, queue.dead_letters, 1))
        assert not stopping.is_set()
    ((_, buried),) = await redis.xrange(queue.dead_letters)
    assert buried[b"error"].startswith(b"unreadable: ")
    assert await _empty(redis, queue.stream)


async def test_an_unreadable_inbox_entry_is_buried_and_the_next_one_done(
    queue: JobQueue, redis: Redis
) -> None:
    seen: list[int] = []

    async def handle(job: Job) -> None:
        seen.append(job.payload["n"])

    await redis.rpush(queue.inbox("ana"), "{broken")
    await queue.put("turn", {"n": 2}, order_key="ana")
    async with working(queue, handle):
        await eventually(lambda: seen == [2])
        await eventually(lambda: _length(redis, queue.dead_letters, 1))
    ((_, buried),) = await redis.xrange(queue.dead_letters)
    assert buried[b"entry"] == b"{broken"
    assert buried[b"error"].startswith(b"unreadable: the inbox entry is not JSON")


async def test_an_error_outside_redis_ends_the_loop_instead_of_hiding(
    queue: JobQueue, redis: Redis
) -> None:
    async def handle(job: Job) -> None:
        raise AssertionError("no job was queued")

    await queue.ensure_group()
    # The consumer group's stream replaced by a hash: reading answers WRONGTYPE, which no
    # wait cures. The loop must end with the error rather than spin or idle silently.
    await redis.delete(queue.stream)
    await redis.hset(queue.stream, "x", "y")
    stopping = asyncio.Event()
    with pytest.raises(RedisError):
        await asyncio.wait_for(queue.work(handle, stopping, options=FAST), timeout=5)


# -- bounds: the stream and its dead letters do not grow for ever, nor keep private data -------

DAY_MS = 24 * 3600 * 1000


def _ms(entry_id: bytes) -> int:
    return int(entry_id.split(b"-")[0])


async def test_the_job_stream_is_trimmed_to_about_its_bound(
    redis: Redis, redis_namespace: str
) -> None:
    bounded = JobQueue(redis, stream=f"rb:jobs:{redis_namespace}", max_length=10)
    await asyncio.gather(*(bounded.put("plain", {"n": n}) for n in range(1000)))
    # Approximate trimming drops whole nodes of the stream (100 entries each by default).
    assert await redis.xlen(bounded.stream) < 250
    await redis.delete(bounded.stream)
    for n in range(600):  # one script call per put: each trims too
        await bounded.put("turn", {"n": n}, order_key=f"key-{n % 7}")
    assert await redis.xlen(bounded.stream) < 250


async def test_dead_letters_older_than_the_kept_days_are_trimmed_as_work_goes_on(
    queue: JobQueue, redis: Redis
) -> None:
    now_ms = int((await redis.time())[0]) * 1000
    old, recent = f"{now_ms - 8 * DAY_MS}-0", f"{now_ms - 6 * DAY_MS}-0"
    for entry_id in (old, recent):
        await redis.xadd(queue.dead_letters, {"kind": "x", "error": "e"}, id=entry_id)

    async def handle(job: Job) -> None:
        return None

    # Nothing fails: the worker trims anyway (when it starts, then every reclaim round).
    async with working(queue, handle):
        await eventually(lambda: _length(redis, queue.dead_letters, 1))
    ((kept, _),) = await redis.xrange(queue.dead_letters)
    assert kept.decode() == recent


async def test_burying_a_job_trims_dead_letters_by_the_days_and_clock_given(
    redis: Redis, redis_namespace: str
) -> None:
    class Ahead:
        """Five days ahead of the server: a dead letter written 3 days "ago" is 8 days old."""

        def now(self) -> datetime:
            return datetime.now(UTC) + timedelta(days=5)

        def monotonic(self) -> float:
            return time.monotonic()

    queue = JobQueue(redis, stream=f"rb:jobs:{redis_namespace}", dead_letter_days=7, clock=Ahead())

    async def fails(job: Job) -> None:
        raise ValueError("no")

    now_ms = int((await redis.time())[0]) * 1000
    once = WorkOptions(concurrency=1, block_ms=20, max_deliveries=1)
    async with working(queue, fails, once):
        await asyncio.sleep(0.1)  # past the trim the worker does when it starts
        await redis.xadd(queue.dead_letters, {"kind": "x"}, id=f"{now_ms - 3 * DAY_MS}-0")
        await redis.xadd(queue.dead_letters, {"kind": "x"}, id=f"{now_ms - 1 * DAY_MS}-0")
        await queue.put("doomed", {})
        await eventually(lambda: _length(redis, queue.dead_letters, 2))
    buried = await redis.xrange(queue.dead_letters)
    assert _ms(buried[0][0]) == now_ms - 1 * DAY_MS
    assert buried[1][1][b"kind"] == b"doomed"


async def test_a_dead_letter_keeps_no_response_url_nor_the_persons_words(
    queue: JobQueue, redis: Redis
) -> None:
    hook = "https://hooks.slack.com/actions/T1/123/secret"
    turn = {
        "platform": "slack",
        "conversation": "slack:T1:U1",
        "delivery": "d-42",
        "kind": "message",
        "text": "Contoso wants 400 seats, call Dana on +1 555 0100",
        "seller": {"user_id": "U1"},
        "action": {"kind": "text", "value": "typed into a card", "step": "notes"},
        "address": {"channel": "D1", "response_url": hook},
        "cards": [{"response_url": hook}],
    }

    async def fails(job: Job) -> None:
        raise RuntimeError("Partner Center said no")

    await queue.put("turn", turn, order_key="slack:T1:U1")
    await queue.put("plain", {"nested": {"response_url": hook}})
    once = WorkOptions(concurrency=1, block_ms=20, max_deliveries=1)
    async with working(queue, fails, once):
        await eventually(lambda: _length(redis, queue.dead_letters, 2))
    letters = {fields[b"kind"]: fields for _, fields in await redis.xrange(queue.dead_letters)}
    stored = b" ".join(value for fields in letters.values() for value in fields.values())
    assert b"hooks.slack.com" not in stored
    assert b"response_url" not in stored
    assert b"Dana" not in stored
    assert b"typed into a card" not in stored
    kept = json.loads(letters[b"turn"][b"payload"])
    assert kept["conversation"] == "slack:T1:U1"
    assert kept["delivery"] == "d-42"
    assert kept["address"] == {"channel": "D1"}
    assert kept["action"] == {"kind": "text", "step": "notes"}
    assert letters[b"turn"][b"error"] == b"RuntimeError: Partner Center said no"
    assert json.loads(letters[b"plain"][b"payload"]) == {"nested": {}}


async def test_an_unreadable_dead_letter_keeps_a_blanked_beginning_only(
    queue: JobQueue, redis: Redis
) -> None:
    async def handle(job: Job) -> None:
        return None

    broken = '{"payload": {"address": {"response_url": "https://hooks.slack.com/x"}' + "y" * 500
    await redis.rpush(queue.inbox("ana"), broken)
    await queue.put("turn", {"n": 2}, order_key="ana")
    async with working(queue, handle):
        await eventually(lambda: _length(redis, queue.dead_letters, 1))
    ((_, buried),) = await redis.xrange(queue.dead_letters)
    assert b"hooks.slack.com" not in buried[b"entry"]
    assert len(buried[b"entry"]) <= 200
