"""Making Redis refuse new jobs, for the tests of what a person is told then."""

from __future__ import annotations

from bot.jobs.keys import Shards
from bot.storage.redis import RedisClient


async def refuse_new_jobs(redis: RedisClient, stream: str, shards: int = 1) -> None:
    """Every stream a new job could go to holds a plain string, so Redis refuses the job:
    each shard's, and the own stream of each worker in it (where a conversation's turns go
    while the worker that did its last one lives)."""
    for shard in Shards(stream, count=shards):
        workers = await redis.smembers(shard.workers)  # type: ignore[misc]
        names = [shard.stream, *(shard.own(worker.decode()) for worker in workers)]
        for name in names:
            await redis.delete(name)
            await redis.set(name, "not a stream")
