"""What a running embedded server is doing: for ``referral-bot local status`` and ``stop``.

One short-lived connection and one round trip (``INFO``, its default sections), closed at
once. ``INFO clients`` counts every connection, this one included, so the connections of
other processes are that count less one: each ``chat``, ``serve`` and ``worker`` keeps at
least one open from its start (its first PING) to its exit, so a count above zero means some
process is still using the server. The count is of connections, not processes (a pool holds
several), and a process may connect just after it is read.

Blocking: call it outside an event loop, as the CLI does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis import Redis, RedisError

from bot.storage.embedded import EmbeddedServer, EmbeddedServerError

TIMEOUT_SECONDS = 2.0
"""How long to wait for the server to accept the connection and to answer."""


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """A running server's vital signs, as ``INFO`` reports them."""

    pid: int
    version: str
    """``Valkey 9.1.2`` (or ``Redis 7.2.4`` for a server without a Valkey version)."""
    used_memory: str
    """Memory holding data, as the server writes it (``1.09M``)."""
    resident_memory: str
    """The process's resident set size (RSS), as the server writes it (``5.69M``)."""
    uptime_seconds: int
    keys: int
    """Keys in every database."""
    other_connections: int
    """Open connections besides the one that asked."""


def server_status(server: EmbeddedServer, *, timeout: float = TIMEOUT_SECONDS) -> ServerStatus:
    """Ask ``server`` for its :class:`ServerStatus`.

    Raises:
        EmbeddedServerError: it did not answer (still loading its data, or gone meanwhile).
    """
    try:
        with Redis.from_url(
            server.url, socket_timeout=timeout, socket_connect_timeout=timeout
        ) as client:
            info: dict[str, Any] = client.info()
    except (RedisError, OSError) as exc:
        raise EmbeddedServerError(
            f"The embedded Redis in {server.root} does not answer: {exc}"
        ) from exc
    valkey = info.get("valkey_version")
    return ServerStatus(
        pid=int(info["process_id"]),
        version=f"Valkey {valkey}" if valkey else f"Redis {info['redis_version']}",
        used_memory=str(info["used_memory_human"]),
        resident_memory=str(info["used_memory_rss_human"]),
        uptime_seconds=int(info["uptime_in_seconds"]),
        keys=sum(
            int(space["keys"])
            for name, space in info.items()
            if name.startswith("db") and name[2:].isdigit() and isinstance(space, dict)
        ),
        other_connections=max(int(info["connected_clients"]) - 1, 0),
    )
