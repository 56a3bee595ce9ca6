"""The worker side of the job stream: read, reclaim, do, acknowledge, bury.

A worker reads each shard of the stream (see :mod:`bot.jobs.keys`) through the consumer
group, with its own stream in that shard in the same read, and every ``reclaim_after_ms / 2``
takes over the entries of workers that stopped. A plain job that fails is tried again (by
reclaiming) until ``max_deliveries``, then buried; an entry that names an inbox is worked on
under that inbox's lease, one job after the other (see :mod:`bot.jobs`).

**Affinity.** A worker that empties an inbox keeps the lease, marked idle, for
``affinity_ms``, and while its heartbeat lasts the web process sends the key's next entries
to the worker's own stream rather than the shard's. So a conversation's turns keep reaching
the worker that holds its draft in cache, and a step costs one round trip however many
workers there are. Affinity is only where entries go: a lease left idle is taken by any worker
that reads an entry for the key, so nothing waits on a worker that went away. A worker whose
heartbeat stopped has its stream handed back to the shard by the next worker's reclaim round,
its entries marked ``adopted`` (so they are treated like reclaimed ones: not acknowledged
while a lease they cannot see through is held); one that stops cleanly hands it back itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import uuid
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any

from redis.commands.core import AsyncScript
from redis.exceptions import RedisError, ResponseError

from bot.clock import Clock, SystemClock
from bot.jobs.job import (
    ORDERED,
    Entry,
    Job,
    JobHandler,
    UnknownJob,
    UnreadableJob,
    dead_letter,
    entry_of,
    fields_of,
    inbox_job,
    job_of,
    text_of,
)
from bot.jobs.keys import (
    DEAD_LETTER_DAYS,
    DEAD_LETTER_MAX_LENGTH,
    STREAM_MAX_LENGTH,
    Shards,
    StreamKeys,
)
from bot.jobs.scripts import ADOPT, BEAT, NEXT, RENEW
from bot.metrics import JOB_AGE_SECONDS, JOB_SECONDS, JOBS_DEAD, JOBS_DONE, timed
from bot.renewing import renewing
from bot.storage.redis import RedisClient

logger = logging.getLogger("bot.jobs")

LEASE_MS = 30_000
"""How long a lease on an inbox outlives its holder; renewed while the holder works."""
AFFINITY_MS = 15 * 60_000
"""How long an emptied inbox's next jobs are sent to the worker that emptied it: a seller
answering within a quarter of an hour finds their draft in that worker's cache."""
HEARTBEAT_MS = 10_000
"""A worker silent this long is taken for dead: nothing more is sent to its own stream, and
what is there is handed back to its shard."""
CANCEL_GRACE_SECONDS = 2.0
"""On stop, how long jobs cancelled after the drain get to clean up."""


def consumer_name() -> str:
    """A name for this process in the consumer group, unique across hosts and restarts."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


async def ensure_group(redis: RedisClient, stream: str, group: str) -> None:
    """Create ``stream`` and its consumer ``group`` unless they exist."""
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as error:
        if "BUSYGROUP" not in str(error):  # BUSYGROUP: another process made it first
            raise


@dataclass
class WorkOptions:
    """How a process takes part in the consumer group."""

    concurrency: int = 32
    """Jobs this process works on at once (shared evenly among the shards)."""
    block_ms: int = 1000
    """How long one read waits for new jobs (also how quickly a stop is noticed)."""
    reclaim_after_ms: int = 60_000
    """A job unacknowledged this long belonged to a worker that died: take it over."""
    max_deliveries: int = 3
    drain_seconds: float = 10.0
    """On stop, how long to let jobs under way finish."""
    lease_ms: int = LEASE_MS
    """How long an inbox's lease outlives a holder that stopped renewing it."""
    affinity_ms: int = AFFINITY_MS
    """How long an emptied inbox's next jobs go to the worker that emptied it (0: never)."""
    heartbeat_ms: int = HEARTBEAT_MS
    """How long a worker may go silent before it is taken for dead."""


class Failed(Exception):
    """A job failed and is left unacknowledged for another try."""


class Worker:
    """One process's part in the consumer group of the job stream's shards."""

    def __init__(
        self,
        redis: RedisClient,
        shards: Shards,
        *,
        max_length: int = STREAM_MAX_LENGTH,
        dead_letter_days: float = DEAD_LETTER_DAYS,
        clock: Clock | None = None,
    ) -> None:
        self._redis = redis
        self._shards = shards
        self._max_length = max_length
        self._dead_letter_days = dead_letter_days
        self._clock = clock or SystemClock()
        self._next: AsyncScript = redis.register_script(NEXT)
        self._renew: AsyncScript = redis.register_script(RENEW)
        self._adopt: AsyncScript = redis.register_script(ADOPT)
        self._beat: AsyncScript = redis.register_script(BEAT)
        self._draining: dict[str, tuple[asyncio.Lock, int]] = {}
        """Per order key being drained here: its lock, and how many tasks use it."""
        self._consumer = ""

    async def run(
        self, handler: JobHandler, stopping: asyncio.Event, consumer: str, options: WorkOptions
    ) -> None:
        """Do jobs until ``stopping`` is set, then let those under way finish.

        Redis being away is waited out; any other error ends the loop and is raised, so the
        process can say so and stop rather than stay up doing nothing.
        """
        self._consumer = consumer
        for shard in self._shards:
            await ensure_group(self._redis, shard.stream, shard.group)
        await self._heartbeat(options)
        share = max(1, math.ceil(options.concurrency / len(self._shards)))
        logger.info(
            "worker %s reading %s",
            consumer,
            ", ".join(shard.stream for shard in self._shards),
        )
        readers = [
            asyncio.create_task(self._read_shard(shard, handler, stopping, share, options))
            for shard in self._shards
        ]
        beating = asyncio.create_task(self._beating(stopping, options))
        try:
            done, _ = await asyncio.wait(readers, return_when=asyncio.FIRST_EXCEPTION)
            for reader in done:
                reader.result()  # an error that ended a reader ends the loop
        finally:
            for task in [*readers, beating]:
                task.cancel()
            await asyncio.gather(*readers, beating, return_exceptions=True)
            await self._hand_back(options)

    async def _read_shard(
        self,
        shard: StreamKeys,
        handler: JobHandler,
        stopping: asyncio.Event,
        capacity: int,
        options: WorkOptions,
    ) -> None:
        """Read and do ``shard``'s jobs (and those sent to this worker in it), at most
        ``capacity`` at once, until ``stopping``; then let those under way finish."""
        running: set[asyncio.Task[None]] = set()
        stopped = asyncio.ensure_future(stopping.wait())
        loop = asyncio.get_running_loop()
        next_reclaim = loop.time()
        try:
            while not stopping.is_set():
                if len(running) >= capacity:
                    # Full: wait for a job to finish (or for the stop).
                    await asyncio.wait({*running, stopped}, return_when=asyncio.FIRST_COMPLETED)
                    continue
                free = capacity - len(running)
                try:
                    if loop.time() >= next_reclaim:
                        next_reclaim = loop.time() + options.reclaim_after_ms / 2000
                        await self._trim_dead_letters(shard)
                        await self._adopt_dead(shard)
                        entries = await self._reclaim(shard, free, options)
                    else:
                        entries = await _unless(stopped, self._read(shard, free, options.block_ms))
                except (RedisError, OSError) as error:
                    logger.warning("cannot read jobs of %s (%s); trying again", shard.stream, error)
                    await asyncio.wait({stopped}, timeout=1.0)
                    if "NOGROUP" in str(error):  # a stream was deleted: start it afresh
                        with contextlib.suppress(RedisError, OSError):
                            await ensure_group(self._redis, shard.stream, shard.group)
                            await self._heartbeat(options)
                    continue
                for entry in entries:
                    task = loop.create_task(self._do(shard, entry, handler, options))
                    running.add(task)
                    task.add_done_callback(running.discard)
        finally:
            stopped.cancel()
            if running:
                _, late = await asyncio.wait(running, timeout=options.drain_seconds)
                for task in late:
                    logger.warning("stopping with a job under way; it will be reclaimed")
                    task.cancel()
                if late:
                    # Let the cancelled jobs clean up (a submit frees its claim) before the
                    # process ends and its loop cancels whatever is left.
                    await asyncio.wait(late, timeout=CANCEL_GRACE_SECONDS)

    async def _read(self, shard: StreamKeys, count: int, block_ms: int) -> list[Entry]:
        own = shard.own(self._consumer)
        answer: Any = await self._redis.xreadgroup(
            shard.group,
            self._consumer,
            {shard.stream: ">", own: ">"},
            count=count,
            block=block_ms,
        )
        # RESP2 answers [[stream, entries]], RESP3 {stream: entries}.
        streams = answer.items() if isinstance(answer, dict) else (answer or ())
        return [
            entry_of(entry, stream=text_of(stream))
            for stream, entries in streams
            for entry in entries
        ]

    # -- workers that stopped -----------------------------------------------------------------

    async def _reclaim(self, shard: StreamKeys, count: int, options: WorkOptions) -> list[Entry]:
        """Jobs left unacknowledged by a worker that stopped (or by this one, when Redis failed
        under a job); dead-letters worn-out ones."""
        entries: list[Entry] = []
        for stream in (shard.stream, shard.own(self._consumer)):
            answer: Any = await self._redis.xautoclaim(
                stream, shard.group, self._consumer, options.reclaim_after_ms, count=count
            )
            # Deleted entries come back empty.
            for raw in (entry for entry in answer[1] if entry[1]):
                pending = await self._redis.xpending_range(
                    stream, shard.group, min=raw[0], max=raw[0], count=1
                )
                delivery = int(pending[0]["times_delivered"]) if pending else 1
                entry = entry_of(raw, delivery, stream)
                kind = entry.fields.get("kind")
                # An inbox is the work of many jobs: it is worked on again, however often, and
                # a job in it that keeps failing is buried on its own (see _drain).
                if kind != ORDERED and delivery > options.max_deliveries:
                    await self._bury(
                        shard,
                        entry,
                        entry.fields,
                        f"not finished after {options.max_deliveries} tries",
                    )
                else:
                    logger.warning("job %s (%s) reclaimed, try %d", entry.id, kind, delivery)
                    entries.append(entry)
        return entries

    async def _adopt_dead(self, shard: StreamKeys) -> None:
        """Hand back to ``shard`` the own streams of workers whose heartbeat stopped."""
        members: Any = await self._redis.smembers(shard.workers)
        for worker in sorted(text_of(member) for member in members):
            if worker == self._consumer:
                continue
            moved = await self._adopt(
                keys=[shard.alive(worker), shard.own(worker), shard.stream, shard.workers],
                args=[worker, self._max_length, "0"],
            )
            if int(moved) > 0:
                logger.warning(
                    "worker %s stopped; %d of its jobs handed back to %s",
                    worker,
                    int(moved),
                    shard.stream,
                )

    async def _hand_back(self, options: WorkOptions) -> None:
        """On a stop: what was sent to this worker and not done goes back to the shards, and
        nothing more is sent here."""
        for shard in self._shards:
            try:
                await self._adopt(
                    keys=[
                        shard.alive(self._consumer),
                        shard.own(self._consumer),
                        shard.stream,
                        shard.workers,
                    ],
                    args=[self._consumer, self._max_length, "1"],
                )
            except (RedisError, OSError) as error:
                # Its heartbeat lapses instead, and another worker hands the stream back.
                logger.warning("could not hand back the jobs sent to this worker: %s", error)

    async def _beating(self, stopping: asyncio.Event, options: WorkOptions) -> None:
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), options.heartbeat_ms / 3000)
            if stopping.is_set():
                return
            try:
                await self._heartbeat(options)
            except (RedisError, OSError) as error:
                logger.warning("heartbeat failed (%s); trying again", error)

    async def _heartbeat(self, options: WorkOptions) -> None:
        """This worker lives, in every shard (one pipeline)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for shard in self._shards:
                await self._beat(
                    keys=[shard.alive(self._consumer), shard.workers, shard.own(self._consumer)],
                    args=[self._consumer, options.heartbeat_ms, shard.group],
                    client=pipe,  # type: ignore[arg-type]
                )
            replies = await pipe.execute(raise_on_error=False)
        for shard, reply in zip(self._shards, replies, strict=True):
            if isinstance(reply, Exception):
                # A node that lost its script cache: once more on its own, which loads it.
                await self._beat(
                    keys=[shard.alive(self._consumer), shard.workers, shard.own(self._consumer)],
                    args=[self._consumer, options.heartbeat_ms, shard.group],
                )

    # -- doing ----------------------------------------------------------------------------------

    async def _do(
        self, shard: StreamKeys, entry: Entry, handler: JobHandler, options: WorkOptions
    ) -> None:
        try:
            if entry.fields.get("kind") == ORDERED and "key" in entry.fields:
                if not await self._drain_alone(shard, entry.fields["key"], entry, handler, options):
                    return  # acknowledged, or left for a later reclaim
            else:
                await self._run(shard, job_of(entry), handler, options, entry)
        except asyncio.CancelledError:
            raise
        except UnreadableJob as unreadable:
            await self._bury(shard, entry, entry.fields, f"unreadable: {unreadable}")
            return
        except (RedisError, OSError) as error:
            # Left unacknowledged: reclaiming tries again once Redis answers.
            logger.warning(
                "job %s stopped, Redis failing (%s); it will be retried", entry.id, error
            )
            return
        except Failed:
            return
        try:
            await self._done(shard, entry)
        except (RedisError, OSError) as error:
            logger.warning("job %s done but not acknowledged (%s)", entry.id, error)

    async def _run(
        self, shard: StreamKeys, job: Job, handler: JobHandler, options: WorkOptions, entry: Entry
    ) -> None:
        """Do a job carried by the stream; raise Failed to leave it for another try."""
        try:
            await self._handle(shard, job, handler)
        except (asyncio.CancelledError, RedisError, OSError):
            raise
        except Exception as error:
            logger.exception("job %s (%s) failed on try %d", job.id, job.kind, job.delivery)
            if job.delivery >= options.max_deliveries or isinstance(error, UnknownJob):
                await self._bury(shard, entry, fields_of(job), f"{type(error).__name__}: {error}")
                return
            raise Failed from error

    async def _drain_alone(
        self,
        shard: StreamKeys,
        order_key: str,
        entry: Entry,
        handler: JobHandler,
        options: WorkOptions,
    ) -> bool:
        """:meth:`_drain`, one at a time per order key in this process: the lease is this
        worker's, whichever of its tasks holds it, so two entries naming one inbox (one from
        the shard, one sent here) must not drain it side by side."""
        lock, users = self._draining.get(order_key, (asyncio.Lock(), 0))
        self._draining[order_key] = (lock, users + 1)
        try:
            async with lock:
                return await self._drain(shard, order_key, entry, handler, options)
        finally:
            lock, users = self._draining[order_key]
            if users == 1:
                del self._draining[order_key]
            else:
                self._draining[order_key] = (lock, users - 1)

    async def _drain(
        self,
        shard: StreamKeys,
        order_key: str,
        entry: Entry,
        handler: JobHandler,
        options: WorkOptions,
    ) -> bool:
        """Do the jobs of ``order_key``'s inbox in order while this worker holds its lease.

        True when the stream entry still needs acknowledging: another worker holds the lease
        and does these jobs. When this entry was reclaimed, though, that holder may be a
        worker that died (its lease not yet expired): then False, and the entry stays pending,
        to be reclaimed again later rather than acknowledged and the inbox forgotten. False
        too once the inbox is done: the last step acknowledged the entry itself.
        """
        lease, inbox = shard.lease(order_key), shard.inbox(order_key)
        done = ""
        while True:
            answer: Any = await self._next(
                keys=[lease, inbox, entry.stream or shard.stream],
                args=[
                    self._consumer,
                    options.lease_ms,
                    done,
                    shard.group,
                    entry.id,
                    max(options.affinity_ms, 1),
                ],
            )
            if int(answer[0]) == 0:
                return not entry.retried
            if int(answer[0]) == 1:
                return False
            done = text_of(answer[1])
            try:
                job = inbox_job(done, entry.delivery)
            except UnreadableJob as unreadable:
                await self._bury(
                    shard,
                    entry,
                    {"kind": ORDERED, "key": order_key, "entry": done},
                    f"unreadable: {unreadable}",
                    acknowledge=False,
                )
                continue
            async with self._holding(lease, f"busy:{self._consumer}", options):
                try:
                    await self._handle(shard, job, handler)
                except (asyncio.CancelledError, RedisError, OSError):
                    raise
                except Exception as error:
                    # Not retried: it would block every later turn of the conversation.
                    logger.exception("job %s (%s) failed", job.id, job.kind)
                    why = f"{type(error).__name__}: {error}"
                    await self._bury(
                        shard, entry, fields_of(job), why, acknowledge=False, job_id=job.id
                    )

    async def _handle(self, shard: StreamKeys, job: Job, handler: JobHandler) -> None:
        """Do ``job``, counted: how long it waited, how long it took, how it ended."""
        if job.queued_at is not None:
            waited = max(self._clock.now().timestamp() - job.queued_at, 0.0)
            JOB_AGE_SECONDS.labels(job.kind).observe(waited)
        outcome = "failed"
        try:
            with timed(JOB_SECONDS, job.kind):
                await handler(job)
            outcome = "done"
        finally:
            JOBS_DONE.labels(shard.stream, job.kind, outcome).inc()

    def _holding(
        self, lease: str, holder: str, options: WorkOptions
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """Keep the lease alive while a job runs (a Partner Center call may take a while)."""

        async def renew() -> None:
            with contextlib.suppress(RedisError, OSError):
                await self._renew(keys=[lease], args=[holder, options.lease_ms])

        return renewing(options.lease_ms / 3000, renew)

    async def _done(self, shard: StreamKeys, entry: Entry) -> None:
        # Acknowledged jobs are deleted too: the stream holds only work not yet done.
        stream = entry.stream or shard.stream
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xack(stream, shard.group, entry.id)
            pipe.xdel(stream, entry.id)
            await pipe.execute()

    async def _bury(
        self,
        shard: StreamKeys,
        entry: Entry,
        fields: Mapping[str, str],
        why: str,
        *,
        acknowledge: bool = True,
        job_id: str | None = None,
    ) -> None:
        """Move a job (``entry``'s, or the inbox job ``job_id`` it named) to the shard's dead
        letters; ``acknowledge`` the entry (not for a job of an inbox, whose entry stands for
        the rest of the inbox too)."""
        job_id = job_id or entry.id
        logger.error(
            "job %s (%s) moved to %s: %s", job_id, fields.get("kind"), shard.dead_letters, why
        )
        JOBS_DEAD.labels(shard.stream).inc()
        record: dict[Any, Any] = dead_letter(fields, job_id, why)
        await self._redis.xadd(
            shard.dead_letters, record, maxlen=DEAD_LETTER_MAX_LENGTH, approximate=True
        )
        await self._trim_dead_letters(shard)
        if acknowledge:
            await self._done(shard, entry)

    async def _trim_dead_letters(self, shard: StreamKeys) -> None:
        """Drop the dead letters older than ``dead_letter_days`` (on each burial, and with
        each reclaim round, so they go even when nothing fails any more)."""
        cutoff = self._clock.now().timestamp() - self._dead_letter_days * 86_400
        await self._redis.xtrim(
            shard.dead_letters, minid=f"{max(int(cutoff * 1000), 0)}-0", approximate=False
        )


async def _unless(stopped: asyncio.Future[Any], reading: Awaitable[list[Entry]]) -> list[Entry]:
    """``reading``'s entries, or none if ``stopped`` completes first. An abandoned read
    delivered nothing, or what it delivered is reclaimed later, like any job of a stopped
    worker."""
    read = asyncio.ensure_future(reading)
    try:
        await asyncio.wait({read, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not read.done():
            read.cancel()
    await asyncio.wait({read})  # let a cancelled read finish cancelling
    return [] if read.cancelled() else read.result()
