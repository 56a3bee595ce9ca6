"""The web side of the job stream: adding jobs, batched, and the shards' consumer group.

Jobs added during one turn of the event loop go to Redis in one pipeline (the ordered ones
of each shard in one script call), so a burst of requests costs a round trip per turn rather
than one per request. An ordered job goes to its order key's shard; a job without one to a
shard in turn. :meth:`JobQueue.work` hands the worker side to
:class:`~bot.jobs.worker.Worker`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from redis.exceptions import NoScriptError, RedisError

from bot.clock import Clock, SystemClock
from bot.jobs.job import JobHandler, QueueRefused, text_of
from bot.jobs.keys import DEAD_LETTER_DAYS, GROUP, STREAM, STREAM_MAX_LENGTH, Shards, StreamKeys
from bot.jobs.scripts import PUT
from bot.jobs.worker import Worker, WorkOptions, consumer_name, ensure_group
from bot.metrics import JOBS_QUEUED
from bot.storage.redis import RedisClient

INBOX_SECONDS: Final = 7 * 24 * 3600
"""An inbox nobody works on (every worker gone for a week) is dropped rather than kept."""

_Queued = tuple[StreamKeys, str | None, dict[str, str] | str]
"""A job waiting for the next batch: its shard, its order key, and the stream fields or the
inbox entry."""


@dataclass
class _Batch:
    entries: list[tuple[_Queued, asyncio.Future[str]]] = field(default_factory=list)


class JobQueue:
    """The job stream: ``put`` on the web side, ``work`` on the worker side."""

    def __init__(
        self,
        redis: RedisClient,
        *,
        stream: str = STREAM,
        group: str = GROUP,
        shards: int = 1,
        max_length: int = STREAM_MAX_LENGTH,
        dead_letter_days: float = DEAD_LETTER_DAYS,
        clock: Clock | None = None,
    ) -> None:
        """``shards`` splits the stream (see :mod:`bot.jobs.keys`); ``max_length`` bounds each
        (approximately); dead letters are kept ``dead_letter_days`` by ``clock``."""
        self._redis = redis
        self.max_length = max_length
        self.dead_letter_days = dead_letter_days
        self._clock = clock or SystemClock()
        self.shards = Shards(stream, group, shards)
        self.stream = stream
        self.group = group
        self._batch: _Batch | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._put = redis.register_script(PUT)
        self._rotation = itertools.cycle(self.shards.all)  # jobs without an order key

    @property
    def keys(self) -> StreamKeys:
        """The keys of the only shard (with one shard, the stream ``stream`` itself)."""
        if len(self.shards) != 1:
            raise ValueError("the job stream has several shards: use shards.of(order_key)")
        return self.shards.all[0]

    @property
    def dead_letters(self) -> str:
        """Where the only shard's buried jobs go."""
        return self.keys.dead_letters

    def inbox(self, order_key: str) -> str:
        """The Redis list holding the ordered jobs of ``order_key`` not yet done."""
        return self.shards.of(order_key).inbox(order_key)

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
        own_id: str | None = None
        if order_key is None:
            queued = (next(self._rotation), None, {"kind": kind, "payload": body})
        else:
            own_id = uuid.uuid4().hex
            entry = {
                "id": own_id,
                "kind": kind,
                "payload": payload,
                "at": round(time.time(), 3),
            }
            queued = (
                self.shards.of(order_key),
                order_key,
                json.dumps(entry, separators=(",", ":")),
            )
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        if self._batch is None:
            self._batch = _Batch()
            sending = loop.create_task(self._send())
            self._sending.add(sending)
            sending.add_done_callback(self._sending.discard)
        self._batch.entries.append((queued, future))
        try:
            queued_id = await future
        except (RedisError, OSError) as error:
            raise QueueRefused(f"Redis did not take the job: {error}") from error
        JOBS_QUEUED.labels(queued[0].stream, kind).inc()
        # An ordered job's id is its own (a busy worker on its key takes it without any
        # stream entry); a plain job's is its stream entry's.
        return own_id or queued_id

    async def _send(self) -> None:
        # Yield once: the other requests of this turn of the loop add their jobs meanwhile.
        await asyncio.sleep(0)
        batch, self._batch = self._batch, None
        assert batch is not None
        plain: list[tuple[StreamKeys, dict[str, str]]] = []
        ordered: dict[StreamKeys, list[tuple[str, str]]] = defaultdict(list)
        for (shard, key, job), _ in batch.entries:
            if isinstance(job, str):
                ordered[shard].append((key or "", job))
            else:
                plain.append((shard, job))
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for shard, fields in plain:
                    pipe.xadd(
                        shard.stream,
                        fields,  # type: ignore[arg-type]
                        maxlen=self.max_length,
                        approximate=True,
                    )
                for shard, jobs in ordered.items():
                    keys, args = self._put_call(shard, jobs)
                    await self._put(keys=keys, args=args, client=pipe)  # type: ignore[arg-type]
                replies = await pipe.execute(raise_on_error=False)
            replies = await self._loaded_scripts(replies, len(plain), ordered)
        except (RedisError, OSError) as error:
            for _, future in batch.entries:
                if not future.done():
                    future.set_exception(error)
            return
        plain_ids = iter(replies[: len(plain)])
        ordered_ids: dict[StreamKeys, Any] = {}
        for shard, put in zip(ordered, replies[len(plain) :], strict=True):
            ordered_ids[shard] = iter(put if isinstance(put, list) else [put] * len(ordered[shard]))
        for (shard, _, queued), future in batch.entries:
            reply = next(ordered_ids[shard]) if isinstance(queued, str) else next(plain_ids)
            if future.done():
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(text_of(reply))

    def _put_call(
        self, shard: StreamKeys, jobs: list[tuple[str, str]]
    ) -> tuple[list[str], list[Any]]:
        """The keys and arguments of the script adding ``jobs`` (order key, entry) to ``shard``."""
        keys = [shard.stream]
        args: list[Any] = [INBOX_SECONDS, self.max_length, shard.slot]
        for key, entry in jobs:
            keys += [shard.inbox(key), shard.lease(key)]
            args += [key, entry]
        return keys, args

    async def _loaded_scripts(
        self, replies: list[Any], plain: int, ordered: dict[StreamKeys, list[tuple[str, str]]]
    ) -> list[Any]:
        """``replies``, with any script call the server did not know run again on its own.

        A single server's pipeline loads its scripts first; a cluster's cannot (each node has
        its own script cache, and a promoted replica or a restarted node starts empty), so a
        call answered ``NOSCRIPT`` is made again outside the pipeline, which loads the script:
        it did not run, so nothing is added twice.
        """
        for index, (shard, jobs) in enumerate(ordered.items(), start=plain):
            if isinstance(replies[index], NoScriptError):
                keys, args = self._put_call(shard, jobs)
                try:
                    replies[index] = await self._put(keys=keys, args=args)
                except RedisError as error:
                    replies[index] = error
        return replies

    async def waiting(self) -> int:
        """How many stream entries are not done yet, in every shard and every worker's own
        stream (an entry naming an inbox counts once however many jobs the inbox holds)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for shard in self.shards:
                pipe.xlen(shard.stream)
                pipe.smembers(shard.workers)
            replies = await pipe.execute()
        total = 0
        async with self._redis.pipeline(transaction=False) as pipe:
            for shard, length, workers in zip(
                self.shards, replies[::2], replies[1::2], strict=True
            ):
                total += int(length)
                for worker in workers:
                    pipe.xlen(shard.own(text_of(worker)))
            total += sum(int(length) for length in await pipe.execute())
        return total

    # -- working -----------------------------------------------------------------------------

    async def ensure_group(self) -> None:
        """Create each shard's stream and its consumer group unless they exist."""
        for shard in self.shards:
            await ensure_group(self._redis, shard.stream, self.group)

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
        worker = Worker(
            self._redis,
            self.shards,
            max_length=self.max_length,
            dead_letter_days=self.dead_letter_days,
            clock=self._clock,
        )
        await worker.run(handler, stopping, consumer or consumer_name(), options or WorkOptions())
