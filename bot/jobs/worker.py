"""The worker side of the job stream: read, reclaim, do, acknowledge, bury.

A worker reads new entries through the consumer group, and every ``reclaim_after_ms / 2``
takes over the entries of workers that stopped. A plain job that fails is tried again (by
reclaiming) until ``max_deliveries``, then buried; an entry that names an inbox is worked on
under that inbox's lease, one job after the other (see :mod:`bot.jobs`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

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
from bot.jobs.keys import DEAD_LETTER_DAYS, DEAD_LETTER_MAX_LENGTH, StreamKeys
from bot.jobs.scripts import NEXT, RENEW
from bot.metrics import JOB_AGE_SECONDS, JOB_SECONDS, JOBS_DEAD, JOBS_DONE, timed
from bot.renewing import renewing

logger = logging.getLogger("bot.jobs")

LEASE_MS = 30_000
"""How long a lease on an inbox outlives its holder; renewed while the holder works."""
CANCEL_GRACE_SECONDS = 2.0
"""On stop, how long jobs cancelled after the drain get to clean up."""


def consumer_name() -> str:
    """A name for this process in the consumer group, unique across hosts and restarts."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass
class WorkOptions:
    """How a process takes part in the consumer group."""

    concurrency: int = 32
    """Jobs this process works on at once."""
    block_ms: int = 1000
    """How long one read waits for new jobs (also how quickly a stop is noticed)."""
    reclaim_after_ms: int = 60_000
    """A job unacknowledged this long belonged to a worker that died: take it over."""
    max_deliveries: int = 3
    drain_seconds: float = 10.0
    """On stop, how long to let jobs under way finish."""
    lease_ms: int = LEASE_MS
    """How long an inbox's lease outlives a holder that stopped renewing it."""


class Failed(Exception):
    """A job failed and is left unacknowledged for another try."""


class Worker:
    """One process's part in the consumer group of a stream."""

    def __init__(
        self,
        redis: Redis,
        keys: StreamKeys,
        ensure_group: Callable[[], Awaitable[None]],
        *,
        dead_letter_days: float = DEAD_LETTER_DAYS,
        clock: Clock | None = None,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._ensure_group = ensure_group
        self._dead_letter_days = dead_letter_days
        self._clock = clock or SystemClock()
        self._next: AsyncScript = redis.register_script(NEXT)
        self._renew: AsyncScript = redis.register_script(RENEW)

    async def run(
        self, handler: JobHandler, stopping: asyncio.Event, consumer: str, options: WorkOptions
    ) -> None:
        """Do jobs until ``stopping`` is set, then let those under way finish.

        Redis being away is waited out; any other error ends the loop and is raised, so the
        process can say so and stop rather than stay up doing nothing.
        """
        await self._ensure_group()
        running: set[asyncio.Task[None]] = set()
        stopped = asyncio.ensure_future(stopping.wait())
        loop = asyncio.get_running_loop()
        next_reclaim = loop.time()
        logger.info("worker %s reading %s", consumer, self._keys.stream)
        try:
            while not stopping.is_set():
                if len(running) >= options.concurrency:
                    # Full: wait for a job to finish (or for the stop).
                    await asyncio.wait({*running, stopped}, return_when=asyncio.FIRST_COMPLETED)
                    continue
                free = options.concurrency - len(running)
                try:
                    if loop.time() >= next_reclaim:
                        next_reclaim = loop.time() + options.reclaim_after_ms / 2000
                        await self._trim_dead_letters()
                        entries = await self._reclaim(consumer, free, options)
                    else:
                        entries = await _unless(
                            stopped, self._read(consumer, free, options.block_ms)
                        )
                except (RedisError, OSError) as error:
                    logger.warning("cannot read jobs (%s); trying again", error)
                    await asyncio.wait({stopped}, timeout=1.0)
                    if "NOGROUP" in str(error):  # the stream was deleted: start it afresh
                        with contextlib.suppress(RedisError, OSError):
                            await self._ensure_group()
                    continue
                for entry in entries:
                    task = loop.create_task(self._do(entry, handler, options))
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

    async def _read(self, consumer: str, count: int, block_ms: int) -> list[Entry]:
        answer: Any = await self._redis.xreadgroup(
            self._keys.group, consumer, {self._keys.stream: ">"}, count=count, block=block_ms
        )
        # RESP2 answers [[stream, entries]], RESP3 {stream: entries}.
        streams = answer.items() if isinstance(answer, dict) else (answer or ())
        return [entry_of(entry) for _, entries in streams for entry in entries]

    async def _reclaim(self, consumer: str, count: int, options: WorkOptions) -> list[Entry]:
        """Jobs left unacknowledged by a worker that stopped; dead-letters worn-out ones."""
        answer: Any = await self._redis.xautoclaim(
            self._keys.stream, self._keys.group, consumer, options.reclaim_after_ms, count=count
        )
        claimed = [entry for entry in answer[1] if entry[1]]  # deleted entries come back empty
        if not claimed:
            return []
        entries = []
        for raw in claimed:
            pending = await self._redis.xpending_range(
                self._keys.stream, self._keys.group, min=raw[0], max=raw[0], count=1
            )
            delivery = int(pending[0]["times_delivered"]) if pending else 1
            entry = entry_of(raw, delivery)
            kind = entry.fields.get("kind")
            # An inbox is the work of many jobs: it is worked on again, however often, and
            # a job in it that keeps failing is buried on its own (see _drain).
            if kind != ORDERED and delivery > options.max_deliveries:
                await self._bury(
                    entry.id, entry.fields, f"not finished after {options.max_deliveries} tries"
                )
            else:
                logger.warning("job %s (%s) reclaimed, try %d", entry.id, kind, delivery)
                entries.append(entry)
        return entries

    async def _do(self, entry: Entry, handler: JobHandler, options: WorkOptions) -> None:
        try:
            if entry.fields.get("kind") == ORDERED and "key" in entry.fields:
                if not await self._drain(entry.fields["key"], entry, handler, options):
                    return  # acknowledged, or left for a later reclaim
            else:
                await self._run(job_of(entry), handler, options, entry.id)
        except asyncio.CancelledError:
            raise
        except UnreadableJob as unreadable:
            await self._bury(entry.id, entry.fields, f"unreadable: {unreadable}")
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
            await self._done(entry.id)
        except (RedisError, OSError) as error:
            logger.warning("job %s done but not acknowledged (%s)", entry.id, error)

    async def _run(
        self, job: Job, handler: JobHandler, options: WorkOptions, entry_id: str
    ) -> None:
        """Do a job carried by the stream; raise Failed to leave it for another try."""
        try:
            await self._handle(job, handler)
        except (asyncio.CancelledError, RedisError, OSError):
            raise
        except Exception as error:
            logger.exception("job %s (%s) failed on try %d", job.id, job.kind, job.delivery)
            if job.delivery >= options.max_deliveries or isinstance(error, UnknownJob):
                await self._bury(entry_id, fields_of(job), f"{type(error).__name__}: {error}")
                return
            raise Failed from error

    async def _drain(
        self, order_key: str, entry: Entry, handler: JobHandler, options: WorkOptions
    ) -> bool:
        """Do the jobs of ``order_key``'s inbox in order while this worker holds its lease.

        True when the stream entry still needs acknowledging: another worker holds the lease
        and does these jobs. When this entry was reclaimed, though, that holder may be a
        worker that died (its lease not yet expired): then False, and the entry stays pending,
        to be reclaimed again later rather than acknowledged and the inbox forgotten. False
        too once the inbox is done: the last step acknowledged the entry itself.
        """
        lease, inbox = self._keys.lease(order_key), self._keys.inbox(order_key)
        token = uuid.uuid4().hex
        done = ""
        while True:
            answer: Any = await self._next(
                keys=[lease, inbox, self._keys.stream],
                args=[token, options.lease_ms, done, self._keys.group, entry.id],
            )
            if int(answer[0]) == 0:
                return entry.delivery == 1
            if int(answer[0]) == 1:
                return False
            done = text_of(answer[1])
            try:
                job = inbox_job(done, entry.delivery)
            except UnreadableJob as unreadable:
                await self._bury(
                    entry.id,
                    {"kind": ORDERED, "key": order_key, "entry": done},
                    f"unreadable: {unreadable}",
                    acknowledge=False,
                )
                continue
            async with self._holding(lease, token, options):
                try:
                    await self._handle(job, handler)
                except (asyncio.CancelledError, RedisError, OSError):
                    raise
                except Exception as error:
                    # Not retried: it would block every later turn of the conversation.
                    logger.exception("job %s (%s) failed", job.id, job.kind)
                    why = f"{type(error).__name__}: {error}"
                    await self._bury(job.id, fields_of(job), why, acknowledge=False)

    async def _handle(self, job: Job, handler: JobHandler) -> None:
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
            JOBS_DONE.labels(self._keys.stream, job.kind, outcome).inc()

    def _holding(
        self, lease: str, token: str, options: WorkOptions
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """Keep the lease alive while a job runs (a Partner Center call may take a while)."""

        async def renew() -> None:
            with contextlib.suppress(RedisError, OSError):
                await self._renew(keys=[lease], args=[token, options.lease_ms])

        return renewing(options.lease_ms / 3000, renew)

    async def _done(self, job_id: str) -> None:
        # Acknowledged jobs are deleted too: the stream holds only work not yet done.
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xack(self._keys.stream, self._keys.group, job_id)
            pipe.xdel(self._keys.stream, job_id)
            await pipe.execute()

    async def _bury(
        self, job_id: str, fields: Mapping[str, str], why: str, *, acknowledge: bool = True
    ) -> None:
        """Move a job to the dead letters; ``acknowledge`` its stream entry (not for a job of
        an inbox, whose stream entry stands for the rest of the inbox too)."""
        logger.error(
            "job %s (%s) moved to %s: %s", job_id, fields.get("kind"), self._keys.dead_letters, why
        )
        JOBS_DEAD.labels(self._keys.stream).inc()
        record: dict[Any, Any] = dead_letter(fields, job_id, why)
        await self._redis.xadd(
            self._keys.dead_letters, record, maxlen=DEAD_LETTER_MAX_LENGTH, approximate=True
        )
        await self._trim_dead_letters()
        if acknowledge:
            await self._done(job_id)

    async def _trim_dead_letters(self) -> None:
        """Drop the dead letters older than ``dead_letter_days`` (on each burial, and with
        each reclaim round, so they go even when nothing fails any more)."""
        cutoff = self._clock.now().timestamp() - self._dead_letter_days * 86_400
        await self._redis.xtrim(
            self._keys.dead_letters, minid=f"{max(int(cutoff * 1000), 0)}-0", approximate=False
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
