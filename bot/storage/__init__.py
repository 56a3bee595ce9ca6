"""Redis plumbing: the connection pool, and an embedded server for machines without Redis.

``resolve_redis_url`` picks ``REDIS_URL`` or starts (or finds) the embedded server;
``connect`` builds the one shared client from it. Stores built on top (the conversation
store, the event streams) take that client from the composition root.
"""

from __future__ import annotations

from bot.storage.embedded import (
    EmbeddedServerError,
    embedded_server_dir,
    ensure_embedded_server,
    stop_embedded_server,
)
from bot.storage.redis import (
    RedisClient,
    RedisUnavailable,
    cluster_address,
    connect,
    is_cluster_url,
    redact_url,
    resolve_redis_url,
)

__all__ = [
    "EmbeddedServerError",
    "RedisClient",
    "RedisUnavailable",
    "cluster_address",
    "connect",
    "embedded_server_dir",
    "ensure_embedded_server",
    "is_cluster_url",
    "redact_url",
    "resolve_redis_url",
    "stop_embedded_server",
]
