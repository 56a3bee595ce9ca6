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
