"""The Redis keys of the job stream: its shards, and in each the stream, its consumer group,
its dead letters, the inbox and lease of each order key, and each worker's own stream.

An inbox and a lease share their shard's hash slot (``{rb:jobs}:inbox:<key>``: the shard's
whole name is the hash tag unless it has one), so every script touches one slot of a Redis
Cluster.

**Shards.** Every turn of every conversation goes through the job stream, so on a cluster one
stream would put the whole product's traffic on the one node owning its slot.
``JOB_STREAM_SHARDS`` splits it: with one shard (the default) the stream is ``JOB_STREAM``
itself; with more, shard ``i`` is ``{<JOB_STREAM>:<i>.<n>}``, ``n`` the first number putting
its hash slot in the ``i``-th of as many equal ranges of slots as there are shards. A cluster
gives each master an equal range of slots, so the shards spread over the masters as evenly
as their count allows. An order key always maps to the same shard (CRC-32 of the key), so
one conversation's turns, or one channel's notifications, stay in order.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

STREAM = "rb:jobs"
GROUP = "workers"

STREAM_MAX_LENGTH = 1_000_000
"""The job stream's bound (``XADD MAXLEN ~``). Jobs leave the stream once done, so it holds
only work not yet done: a backlog this long means the workers have been gone for hours under
load, and the oldest entries give way rather than Redis running out of memory."""
DEAD_LETTER_DAYS = 7
"""How long a dead letter is kept (``DEAD_LETTER_DAYS``): older ones are trimmed by ``MINID``."""
DEAD_LETTER_MAX_LENGTH = 100_000
"""The dead letters' bound by number, in case something fails very often within those days."""


@dataclass(frozen=True, slots=True)
class StreamKeys:
    """The keys of the stream ``stream`` read by the consumer group ``group``."""

    stream: str = STREAM
    group: str = GROUP

    @property
    def dead_letters(self) -> str:
        """Where jobs go that will not be done: ``<stream>:dead``."""
        return f"{self.stream}:dead"

    @property
    def slot(self) -> str:
        """The hash tag shared by the stream's inboxes and leases."""
        return self.stream if "{" in self.stream else "{" + self.stream + "}"

    def inbox(self, order_key: str) -> str:
        """The Redis list holding the ordered jobs of ``order_key`` not yet done."""
        return f"{self.slot}:inbox:{order_key}"

    def lease(self, order_key: str) -> str:
        """Which worker works on ``order_key``'s inbox now (``busy:<worker>``, renewed while
        it works), or did last (``idle:<worker>``, kept a while so the key's next jobs are
        sent to it); with a TTL either way."""
        return f"{self.slot}:lease:{order_key}"

    def own(self, consumer: str) -> str:
        """The stream of ``consumer``'s own in this shard: where the jobs of the order keys it
        worked on last are sent, while it lives."""
        return f"{self.slot}:to:{consumer}"

    def alive(self, consumer: str) -> str:
        """Present while ``consumer`` lives (a heartbeat with a TTL)."""
        return f"{self.slot}:alive:{consumer}"

    @property
    def workers(self) -> str:
        """The workers with a stream of their own in this shard, for a dead one's to be taken
        over."""
        return f"{self.slot}:workers"


@dataclass(frozen=True, slots=True)
class Shards:
    """The ``count`` shards of the job stream ``stream``, read by the consumer group ``group``."""

    stream: str = STREAM
    group: str = GROUP
    count: int = 1
    all: tuple[StreamKeys, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError("JOB_STREAM_SHARDS must be at least 1")
        if self.count > 1 and ("{" in self.stream or "}" in self.stream):
            raise ValueError(
                f"JOB_STREAM={self.stream} has a hash tag: with JOB_STREAM_SHARDS above 1 each "
                "shard gets a tag of its own, so leave the braces out"
            )
        names = [self.stream] if self.count == 1 else spread(self.stream, self.count)
        object.__setattr__(self, "all", tuple(StreamKeys(name, self.group) for name in names))

    def of(self, order_key: str) -> StreamKeys:
        """The shard of ``order_key``'s jobs (always the same one)."""
        return self.all[zlib.crc32(order_key.encode()) % self.count]

    def __iter__(self) -> Iterator[StreamKeys]:
        return iter(self.all)

    def __len__(self) -> int:
        return self.count


def spread(stream: str, count: int) -> list[str]:
    """The names of ``count`` shards of ``stream``, their hash slots one in each of ``count``
    equal ranges of the slot space (see the module docstring)."""
    names = []
    for shard in range(count):
        low = shard * REDIS_CLUSTER_HASH_SLOTS // count
        high = (shard + 1) * REDIS_CLUSTER_HASH_SLOTS // count
        number = 0
        while not low <= key_slot(f"{stream}:{shard}.{number}".encode()) < high:
            number += 1
        names.append(f"{{{stream}:{shard}.{number}}}")
    return names
