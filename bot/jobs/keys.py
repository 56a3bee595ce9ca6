"""The Redis keys of one job stream: the stream, its consumer group, its dead letters, and
the inbox and lease of each order key.

An inbox and a lease share the stream's hash slot (``{rb:jobs}:inbox:<key>``: the stream's
whole name is the hash tag unless it has one), so every script touches one slot of a Redis
Cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        """Who works on ``order_key``'s inbox now (a worker's token, with a TTL)."""
        return f"{self.slot}:lease:{order_key}"
