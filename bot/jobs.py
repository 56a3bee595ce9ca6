"""Work handed from the ``web`` processes to the workers, on a Redis stream.

A chat platform wants its answer at once (Slack gives three seconds) while the work behind a
request (Redis, Partner Center, the platform's own API) takes longer and competes for the
CPU. So the web process acknowledges, adds a job to the stream (``JOB_STREAM``, default
``rb:jobs``) and is done; the processes reading it through the consumer group ``workers`` do
the work. Several workers share the stream (each job goes to one of them), a job whose worker
died is reclaimed by another after ``reclaim_after_ms``, and a job that fails
``max_deliveries`` times is moved to ``<stream>:dead`` with its error instead of being tried
for ever.

Adding is batched: jobs added during one turn of the event loop go to Redis in one pipeline,
so a burst of requests costs a round trip per turn rather than one per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

logger = logging.getLogger(__name__)

STREAM = "rb:jobs"
GROUP = "workers"


@dataclass(frozen=True, slots=True)
class Job:
    """One piece of work: what to do (``kind``), with what (``payload``), and which try."""

    id: str
    kind: str
    payload: dict[str, Any]
    delivery: int = 1
    """1 the first time; more when the job was reclaimed from a worker that did not finish."""


JobHandler = Callable[[Job], Awaitable[None]]
"""Does a job. Raising leaves the job to be tried again later (up to ``max_deliveries``)."""


class UnknownJob(LookupError):
    """No handler for a job's kind (a newer web process than this worker, say)."""


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


@dataclass
class _Batch:
    entries: list[tuple[dict[str, str], asyncio.Future[str]]] = field(default_factory=list)


class JobQueue:
    """The job stream: ``put`` on the web side, ``work`` on the worker side."""

    def __init__(
        self,
        redis: Redis,
        *,
        stream: str = STREAM,
        group: str = GROUP,
    ) -> None:
        self._redis = redis
        self.stream = stream
        self.group = group
        self.dead_letters = f"{stream}:dead"
        self._batch: _Batch | None = None
        self._sending: set[asyncio.Task[None]] = set()

    # -- adding ------------------------------------------------------------------------------

    async def put(self, kind: str, payload: Mapping[str, Any]) -> str:
        """Add a job and return its id once Redis holds it.

        Raises ``RedisError`` (or ``OSError``) when Redis cannot take it: the caller decides
        what the person waiting is told.
        """
        fields = {"kind": kind, "payload": json.dumps(payload, separators=(",", ":"))}
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        if self._batch is None:
            self._batch = _Batch()
            sending = loop.create_task(self._send())
            self._sending.add(sending)
            sending.add_done_callback(self._sending.discard)
        self._batch.entries.append((fields, future))
        return await future

    async def _send(self) -> None:
        # Yield once: the other requests of this turn of the loop add their jobs meanwhile.
        await asyncio.sleep(0)
        batch, self._batch = self._batch, None
        assert batch is not None
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for fields, _ in batch.entries:
                    pipe.xadd(self.stream, fields)  # type: ignore[arg-type]
                ids = await pipe.execute()
        except (RedisError, OSError) as error:
            for _, future in batch.entries:
                if not future.done():
                    future.set_exception(error)
            return
        for job_id, (_, future) in zip(ids, batch.entries, strict=True):
            if not future.done():
                future.set_result(_text(job_id))

    # -- working -----------------------------------------------------------------------------

    async def ensure_group(self) -> None:
        """Create the stream and its consumer group unless they exist."""
        try:
            await self._redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):  # BUSYGROUP: another process made it first
                raise

    async def work(
        self,
        handler: JobHandler,
        stopping: asyncio.Event,
        *,
        consumer: str | None = None,
        options: WorkOptions | None = None,
    ) -> None:
        """Do jobs until ``stopping`` is set, then let those under way finish."""
        options = options or WorkOptions()
        consumer = consumer or consumer_name()
        await self.ensure_group()
        running: set[asyncio.Task[None]] = set()
        stopped = asyncio.ensure_future(stopping.wait())
        loop = asyncio.get_running_loop()
        next_reclaim = loop.time()
        logger.info("worker %s reading %s", consumer, self.stream)
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
                        jobs = await self._reclaim(consumer, free, options)
                    else:
                        jobs = await _unless(stopped, self._read(consumer, free, options.block_ms))
                except (RedisError, OSError) as error:
                    logger.warning("cannot read jobs (%s); trying again", error)
                    await asyncio.wait({stopped}, timeout=1.0)
                    if "NOGROUP" in str(error):  # the stream was deleted: start it afresh
                        with contextlib.suppress(RedisError, OSError):
                            await self.ensure_group()
                    continue
                for job in jobs:
                    task = loop.create_task(self._do(job, handler, options))
                    running.add(task)
                    task.add_done_callback(running.discard)
        finally:
            stopped.cancel()
            if running:
                _, late = await asyncio.wait(running, timeout=options.drain_seconds)
                for task in late:
                    logger.warning("stopping with a job under way; it will be reclaimed")
                    task.cancel()

    async def _read(self, consumer: str, count: int, block_ms: int) -> list[Job]:
        answer: Any = await self._redis.xreadgroup(
            self.group, consumer, {self.stream: ">"}, count=count, block=block_ms
        )
        # RESP2 answers [[stream, entries]], RESP3 {stream: entries}.
        streams = answer.items() if isinstance(answer, dict) else (answer or ())
        return [_job(entry) for _, entries in streams for entry in entries]

    async def _reclaim(self, consumer: str, count: int, options: WorkOptions) -> list[Job]:
        """Jobs left unacknowledged by a worker that stopped; dead-letters worn-out ones."""
        answer: Any = await self._redis.xautoclaim(
            self.stream, self.group, consumer, options.reclaim_after_ms, count=count
        )
        claimed = [entry for entry in answer[1] if entry[1]]  # deleted entries come back empty
        if not claimed:
            return []
        jobs = []
        for entry in claimed:
            pending = await self._redis.xpending_range(
                self.stream, self.group, min=entry[0], max=entry[0], count=1
            )
            delivery = int(pending[0]["times_delivered"]) if pending else 1
            job = _job(entry, delivery)
            if delivery > options.max_deliveries:
                await self._bury(job, f"not finished after {options.max_deliveries} tries")
            else:
                logger.warning("job %s (%s) reclaimed, try %d", job.id, job.kind, delivery)
                jobs.append(job)
        return jobs

    async def _do(self, job: Job, handler: JobHandler, options: WorkOptions) -> None:
        try:
            await handler(job)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            # Left unacknowledged: another try comes through reclaiming, the last one buries it.
            logger.exception("job %s (%s) failed on try %d", job.id, job.kind, job.delivery)
            if job.delivery >= options.max_deliveries:
                await self._bury(job, f"{type(error).__name__}: {error}")
            return
        try:
            await self._done(job.id)
        except (RedisError, OSError) as error:
            logger.warning("job %s done but not acknowledged (%s)", job.id, error)

    async def _done(self, job_id: str) -> None:
        # Acknowledged jobs are deleted too: the stream holds only work not yet done.
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xack(self.stream, self.group, job_id)
            pipe.xdel(self.stream, job_id)
            await pipe.execute()

    async def _bury(self, job: Job, why: str) -> None:
        logger.error("job %s (%s) moved to %s: %s", job.id, job.kind, self.dead_letters, why)
        fields = {
            "id": job.id,
            "kind": job.kind,
            "payload": json.dumps(job.payload),
            "error": why,
        }
        await self._redis.xadd(self.dead_letters, fields)  # type: ignore[arg-type]
        await self._done(job.id)


def dispatch(handlers: Mapping[str, JobHandler]) -> JobHandler:
    """One handler for the stream, routing each job to the handler of its kind."""

    async def handle(job: Job) -> None:
        handler = handlers.get(job.kind)
        if handler is None:
            raise UnknownJob(f"no handler for jobs of kind {job.kind!r}")
        await handler(job)

    return handle


def _job(entry: Any, delivery: int = 1) -> Job:
    entry_id, fields = entry
    values = {_text(key): _text(value) for key, value in fields.items()}
    return Job(
        id=_text(entry_id),
        kind=values.get("kind", ""),
        payload=json.loads(values.get("payload") or "{}"),
        delivery=delivery,
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def _unless(stopped: asyncio.Future[Any], reading: Awaitable[list[Job]]) -> list[Job]:
    """``reading``'s jobs, or none if ``stopped`` completes first. An abandoned read delivered
    nothing, or what it delivered is reclaimed later, like any job of a stopped worker."""
    read = asyncio.ensure_future(reading)
    try:
        await asyncio.wait({read, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not read.done():
            read.cancel()
    await asyncio.wait({read})  # let a cancelled read finish cancelling
    return [] if read.cancelled() else read.result()
