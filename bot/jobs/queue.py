"""The web side of the job stream: adding jobs, batched, and the stream's consumer group.

Jobs added during one turn of the event loop go to Redis in one pipeline (the ordered ones
of the batch in one script call), so a burst of requests costs a round trip per turn rather
than one per request. :meth:`JobQueue.work` hands the worker side to
:class:`~bot.jobs.worker.Worker`.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from bot.clock import Clock, SystemClock
from bot.jobs.job import JobHandler, QueueRefused, text_of
from bot.jobs.keys import DEAD_LETTER_DAYS, GROUP, STREAM, STREAM_MAX_LENGTH, StreamKeys
from bot.jobs.scripts import PUT
from bot.jobs.worker import Worker, WorkOptions, consumer_name
from bot.metrics import JOBS_QUEUED

INBOX_SECONDS: Final = 7 * 24 * 3600
"""An inbox nobody works on (every worker gone for a week) is dropped rather than kept."""

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
        max_length: int = STREAM_MAX_LENGTH,
        dead_letter_days: float = DEAD_LETTER_DAYS,
        clock: Clock | None = None,
    ) -> None:
        """``max_length`` bounds the stream (approximately); dead letters are kept
        ``dead_letter_days`` by ``clock``."""
        self._redis = redis
        self.max_length = max_length
        self.dead_letter_days = dead_letter_days
        self._clock = clock or SystemClock()
        self.keys = StreamKeys(stream, group)
        self.stream = stream
        self.group = group
        self.dead_letters = self.keys.dead_letters
        self._batch: _Batch | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._put = redis.register_script(PUT)

    def inbox(self, order_key: str) -> str:
        """The Redis list holding the ordered jobs of ``order_key`` not yet done."""
        return self.keys.inbox(order_key)

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
            entry = {
                "id": uuid.uuid4().hex,
                "kind": kind,
                "payload": payload,
                "at": round(time.time(), 3),
            }
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
            queued_id = await future
        except (RedisError, OSError) as error:
            raise QueueRefused(f"Redis did not take the job: {error}") from error
        JOBS_QUEUED.labels(self.keys.stream, kind).inc()
        return queued_id

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
                    pipe.xadd(
                        self.stream,
                        fields,  # type: ignore[arg-type]
                        maxlen=self.max_length,
                        approximate=True,
                    )
                if ordered:
                    keys = [self.stream, *(self.inbox(key) for key, _ in ordered)]
                    args: list[Any] = [INBOX_SECONDS, self.max_length]
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
                future.set_result(text_of(reply))

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
        worker = Worker(
            self._redis,
            self.keys,
            self.ensure_group,
            dead_letter_days=self.dead_letter_days,
            clock=self._clock,
        )
        await worker.run(handler, stopping, consumer or consumer_name(), options or WorkOptions())
