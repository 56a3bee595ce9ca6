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

**Ordered jobs.** The turns of one conversation must be done one at a time and in the order
they arrived, whichever worker reads them and however many jobs a worker runs at once: two
answers typed 5 ms apart must never swap. A job put with an ``order_key`` (the conversation)
is appended to that key's *inbox*, a Redis list, and the stream gets a small entry that only
names the key, both in one ``MULTI`` (so neither exists without the other). A worker reading
such an entry takes the key's *lease* and does the inbox's jobs from the head, one by one,
removing each once done, until the inbox is empty; a worker that finds the lease taken leaves
the inbox to its holder. Taking the next job and letting the lease go when the inbox is empty
are one script, so a job appended meanwhile is either seen by the holder or finds the lease
free. A holder that dies leaves its job at the head of the inbox, its lease expires, and its
stream entry is reclaimed like any other: the job is done again (the job's id stays the same,
so the work can tell a retry of itself from a new delivery).

Keys: an inbox and a lease share the stream's hash slot (``{rb:jobs}:inbox:<key>``), so every
script touches one slot of a Redis Cluster.

**Nothing stops the loop quietly.** An entry that cannot be read (not JSON, no kind) is moved
to the dead letters with the reason and the loop goes on; anything else that ends the loop
ends :meth:`JobQueue.work` with the error, for the process to report and exit on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

logger = logging.getLogger(__name__)

STREAM = "rb:jobs"
GROUP = "workers"
ORDERED: Final = "ordered"
"""The kind of a stream entry that names an inbox instead of carrying a job."""
LEASE_MS: Final = 30_000
"""How long a lease on an inbox outlives its holder; renewed while the holder works."""
INBOX_SECONDS: Final = 7 * 24 * 3600
"""An inbox nobody works on (every worker gone for a week) is dropped rather than kept."""

# Take the lease of an inbox (or keep ours) and return its head, after dropping the head just
# done; when the inbox is empty, let the lease go and acknowledge the stream entry that named
# it. One script, so a job appended meanwhile either lands before it (and is seen) or after
# it (and finds the lease free), and a finished inbox costs no round trip of its own.
# KEYS: lease, inbox, stream. ARGV: token, lease ms, head done or "", group, stream entry id.
# Answers {0} (another worker holds the lease), {1} (none left, acknowledged), {2, head}.
_NEXT: Final = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return {0} end
if ARGV[3] ~= '' and redis.call('LINDEX', KEYS[2], 0) == ARGV[3] then
  redis.call('LPOP', KEYS[2])
end
local head = redis.call('LINDEX', KEYS[2], 0)
if not head then
  if holder then redis.call('DEL', KEYS[1]) end
  redis.call('XACK', KEYS[3], ARGV[4], ARGV[5])
  redis.call('XDEL', KEYS[3], ARGV[5])
  return {1}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {2, head}
"""
# Add the ordered jobs of a batch: for each, the stream entry naming its inbox, then the job
# in the inbox (given a TTL when the inbox is new: an inbox empties as it is worked on). One
# script for the whole batch, since every inbox shares the stream's slot. A failed XADD (the
# stream's key is not a stream) stops the script before anything is written.
# KEYS: stream, then an inbox per job. ARGV: inbox TTL, then order key and entry per job.
_PUT: Final = """
local ids = {}
for i = 2, #KEYS do
  ids[i - 1] = redis.call('XADD', KEYS[1], '*', 'kind', 'ordered', 'key', ARGV[2 * i - 2])
  if redis.call('RPUSH', KEYS[i], ARGV[2 * i - 1]) == 1 then
    redis.call('EXPIRE', KEYS[i], ARGV[1])
  end
end
return ids
"""
# Extend our lease; 0 when it is not ours any more. KEYS: lease. ARGV: token, lease ms.
_RENEW: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


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


class QueueRefused(Exception):
    """Redis did not take a job (it is down, full, or the stream's key is not a stream)."""


class UnreadableJob(ValueError):
    """A stream or inbox entry that is not a job this version can read."""


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


@dataclass(frozen=True, slots=True)
class _Entry:
    """A stream entry as read: a job, an inbox to work on, or something unreadable."""

    id: str
    fields: dict[str, str]
    delivery: int = 1


_Queued = tuple[str | None, dict[str, str] | str]
"""A job waiting for the next batch: its order key and the stream fields or the inbox entry."""


@dataclass
class _Batch:
    entries: list[tuple[_Queued, asyncio.Future[str]]] = field(default_factory=list)


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
        # Inboxes and leases share the stream's hash slot (a tag of its whole name).
        self._slot = stream if "{" in stream else "{" + stream + "}"
        self._batch: _Batch | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._put = redis.register_script(_PUT)
        self._next = redis.register_script(_NEXT)
        self._renew = redis.register_script(_RENEW)

    def inbox(self, order_key: str) -> str:
        """The Redis list holding the ordered jobs of ``order_key`` not yet done."""
        return f"{self._slot}:inbox:{order_key}"

    def _lease(self, order_key: str) -> str:
        return f"{self._slot}:lease:{order_key}"

    # -- adding ------------------------------------------------------------------------------

    async def put(
        self, kind: str, payload: Mapping[str, Any], *, order_key: str | None = None
    ) -> str:
        """Add a job and return its id once Redis holds it.

        Jobs with the same ``order_key`` are done one at a time, in the order they were put.
        Raises :class:`QueueRefused` when Redis cannot take it: the caller decides what the
        person waiting is told; nothing of the job is left behind.
        """
        body = json.dumps(payload, separators=(",", ":"))
        queued: _Queued
        if order_key is None:
            queued = (None, {"kind": kind, "payload": body})
        else:
            entry = {"id": uuid.uuid4().hex, "kind": kind, "payload": payload}
            queued = (order_key, json.dumps(entry, separators=(",", ":")))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        if self._batch is None:
            self._batch = _Batch()
            sending = loop.create_task(self._send())
            self._sending.add(sending)
            sending.add_done_callback(self._sending.discard)
        self._batch.entries.append((queued, future))
        try:
            return await future
        except (RedisError, OSError) as error:
            raise QueueRefused(f"Redis did not take the job: {error}") from error

    async def _send(self) -> None:
        # Yield once: the other requests of this turn of the loop add their jobs meanwhile.
        await asyncio.sleep(0)
        batch, self._batch = self._batch, None
        assert batch is not None
        try:
            plain = [job for (_, job), _ in batch.entries if not isinstance(job, str)]
            ordered = [(key or "", job) for (key, job), _ in batch.entries if isinstance(job, str)]
            async with self._redis.pipeline(transaction=False) as pipe:
                for fields in plain:
                    pipe.xadd(self.stream, fields)  # type: ignore[arg-type]
                if ordered:
                    keys = [self.stream, *(self.inbox(key) for key, _ in ordered)]
                    args: list[Any] = [INBOX_SECONDS]
                    for key, entry in ordered:
                        args += [key, entry]
                    await self._put(keys=keys, args=args, client=pipe)
                replies = await pipe.execute(raise_on_error=False)
        except (RedisError, OSError) as error:
            for _, future in batch.entries:
                if not future.done():
                    future.set_exception(error)
            return
        plain_ids = iter(replies[: len(plain)])
        put: Any = replies[len(plain)] if ordered else []
        ordered_ids = iter(put if isinstance(put, list) else [put] * len(ordered))
        for (_, queued), future in batch.entries:
            reply = next(ordered_ids) if isinstance(queued, str) else next(plain_ids)
            if future.done():
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(_text(reply))

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
        """Do jobs until ``stopping`` is set, then let those under way finish.

        Redis being away is waited out; any other error ends the loop and is raised, so the
        process can say so and stop rather than stay up doing nothing.
        """
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
                            await self.ensure_group()
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

    async def _read(self, consumer: str, count: int, block_ms: int) -> list[_Entry]:
        answer: Any = await self._redis.xreadgroup(
            self.group, consumer, {self.stream: ">"}, count=count, block=block_ms
        )
        # RESP2 answers [[stream, entries]], RESP3 {stream: entries}.
        streams = answer.items() if isinstance(answer, dict) else (answer or ())
        return [_entry(entry) for _, entries in streams for entry in entries]

    async def _reclaim(self, consumer: str, count: int, options: WorkOptions) -> list[_Entry]:
        """Jobs left unacknowledged by a worker that stopped; dead-letters worn-out ones."""
        answer: Any = await self._redis.xautoclaim(
            self.stream, self.group, consumer, options.reclaim_after_ms, count=count
        )
        claimed = [entry for entry in answer[1] if entry[1]]  # deleted entries come back empty
        if not claimed:
            return []
        entries = []
        for raw in claimed:
            pending = await self._redis.xpending_range(
                self.stream, self.group, min=raw[0], max=raw[0], count=1
            )
            delivery = int(pending[0]["times_delivered"]) if pending else 1
            entry = _entry(raw, delivery)
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

    async def _do(self, entry: _Entry, handler: JobHandler, options: WorkOptions) -> None:
        try:
            if entry.fields.get("kind") == ORDERED and "key" in entry.fields:
                if not await self._drain(entry.fields["key"], entry, handler, options):
                    return  # acknowledged, or left for a later reclaim
            else:
                await self._run(_job(entry), handler, options, entry.id)
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
        except _Failed:
            return
        try:
            await self._done(entry.id)
        except (RedisError, OSError) as error:
            logger.warning("job %s done but not acknowledged (%s)", entry.id, error)

    async def _run(
        self, job: Job, handler: JobHandler, options: WorkOptions, entry_id: str
    ) -> None:
        """Do a job carried by the stream; raise _Failed to leave it for another try."""
        try:
            await handler(job)
        except (asyncio.CancelledError, RedisError, OSError):
            raise
        except Exception as error:
            logger.exception("job %s (%s) failed on try %d", job.id, job.kind, job.delivery)
            if job.delivery >= options.max_deliveries or isinstance(error, UnknownJob):
                await self._bury(entry_id, _fields_of(job), f"{type(error).__name__}: {error}")
                return
            raise _Failed from error

    async def _drain(
        self, order_key: str, entry: _Entry, handler: JobHandler, options: WorkOptions
    ) -> bool:
        """Do the jobs of ``order_key``'s inbox in order while this worker holds its lease.

        True when the stream entry still needs acknowledging: another worker holds the lease
        and does these jobs. When this entry was reclaimed, though, that holder may be a
        worker that died (its lease not yet expired): then False, and the entry stays pending,
        to be reclaimed again later rather than acknowledged and the inbox forgotten. False
        too once the inbox is done: the last step acknowledged the entry itself.
        """
        lease, inbox = self._lease(order_key), self.inbox(order_key)
        token = uuid.uuid4().hex
        done = ""
        while True:
            answer: Any = await self._next(
                keys=[lease, inbox, self.stream],
                args=[token, options.lease_ms, done, self.group, entry.id],
            )
            if int(answer[0]) == 0:
                return entry.delivery == 1
            if int(answer[0]) == 1:
                return False
            done = _text(answer[1])
            try:
                job = _inbox_job(done, entry.delivery)
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
                    await handler(job)
                except (asyncio.CancelledError, RedisError, OSError):
                    raise
                except Exception as error:
                    # Not retried: it would block every later turn of the conversation.
                    logger.exception("job %s (%s) failed", job.id, job.kind)
                    why = f"{type(error).__name__}: {error}"
                    await self._bury(job.id, _fields_of(job), why, acknowledge=False)

    @contextlib.asynccontextmanager
    async def _holding(self, lease: str, token: str, options: WorkOptions) -> AsyncIterator[None]:
        """Keep the lease alive while a job runs (a Partner Center call may take a while)."""

        async def renew() -> None:
            while True:
                await asyncio.sleep(options.lease_ms / 3000)
                with contextlib.suppress(RedisError, OSError):
                    await self._renew(keys=[lease], args=[token, options.lease_ms])

        renewing = asyncio.create_task(renew())
        try:
            yield
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    async def _done(self, job_id: str) -> None:
        # Acknowledged jobs are deleted too: the stream holds only work not yet done.
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xack(self.stream, self.group, job_id)
            pipe.xdel(self.stream, job_id)
            await pipe.execute()

    async def _bury(
        self, job_id: str, fields: Mapping[str, str], why: str, *, acknowledge: bool = True
    ) -> None:
        """Move a job to the dead letters; ``acknowledge`` its stream entry (not for a job of
        an inbox, whose stream entry stands for the rest of the inbox too)."""
        logger.error(
            "job %s (%s) moved to %s: %s", job_id, fields.get("kind"), self.dead_letters, why
        )
        record: dict[Any, Any] = {**fields, "id": job_id, "error": why}
        await self._redis.xadd(self.dead_letters, record)
        if acknowledge:
            await self._done(job_id)


class _Failed(Exception):
    """A job failed and is left unacknowledged for another try."""


def dispatch(handlers: Mapping[str, JobHandler]) -> JobHandler:
    """One handler for the stream, routing each job to the handler of its kind."""

    async def handle(job: Job) -> None:
        handler = handlers.get(job.kind)
        if handler is None:
            raise UnknownJob(f"no handler for jobs of kind {job.kind!r}")
        await handler(job)

    return handle


def _entry(raw: Any, delivery: int = 1) -> _Entry:
    entry_id, fields = raw
    return _Entry(
        id=_text(entry_id),
        fields={_text(key): _text(value, lossy=True) for key, value in fields.items()},
        delivery=delivery,
    )


def _job(entry: _Entry) -> Job:
    kind = entry.fields.get("kind")
    if not kind:
        raise UnreadableJob("the entry names no kind")
    try:
        payload = json.loads(entry.fields.get("payload") or "{}")
    except ValueError as error:
        raise UnreadableJob(f"the payload is not JSON ({error})") from None
    if not isinstance(payload, dict):
        raise UnreadableJob("the payload is not a JSON object")
    return Job(id=entry.id, kind=kind, payload=payload, delivery=entry.delivery)


def _inbox_job(data: str, delivery: int) -> Job:
    try:
        entry = json.loads(data)
    except ValueError as error:
        raise UnreadableJob(f"the inbox entry is not JSON ({error})") from None
    if (
        not isinstance(entry, dict)
        or not isinstance(entry.get("id"), str)
        or not isinstance(entry.get("kind"), str)
        or not isinstance(entry.get("payload"), dict)
    ):
        raise UnreadableJob("the inbox entry is not an object with an id, a kind and a payload")
    return Job(id=entry["id"], kind=entry["kind"], payload=entry["payload"], delivery=delivery)


def _fields_of(job: Job) -> dict[str, str]:
    return {"kind": job.kind, "payload": json.dumps(job.payload)}


def _text(value: bytes | str, *, lossy: bool = False) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace" if lossy else "strict")
    return value


async def _unless(stopped: asyncio.Future[Any], reading: Awaitable[list[_Entry]]) -> list[_Entry]:
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
