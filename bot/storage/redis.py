"""The one Redis client of a process: a blocking, bounded connection pool built from settings.

Pool
    :class:`redis.asyncio.BlockingConnectionPool` sized by ``REDIS_MAX_CONNECTIONS``. The
    default pool of redis-py 8 raises ``MaxConnectionsError`` once 100 connections are in
    use instead of waiting (measured: with 200 concurrent users half the steps failed); this
    one makes a caller wait up to ``REDIS_POOL_TIMEOUT_SECONDS`` for a free connection and
    only then fails (with ``ConnectionError``, which stores report as "unavailable").

Timeouts
    ``REDIS_SOCKET_TIMEOUT_SECONDS`` bounds connecting and every reply, so a hung server
    turns into an error the user sees as "try again shortly" rather than a stuck step.

Health checks
    A connection idle for more than :data:`HEALTH_CHECK_INTERVAL_SECONDS` is PINGed before
    reuse. Managed Redis services and NAT gateways silently drop idle TCP connections; without
    the check the first command on such a connection would wait for the socket timeout.

Retries
    One retry, after a short jittered pause, on ``ConnectionError`` only: in practice that is
    a pooled connection the server has closed (it restarted, or dropped us while idle), on
    which the command was never run. Timeouts are not retried: the command may have run and
    only the reply was slow. redis-py retries below the command level, so reads and writes get
    the same policy; that is safe here because every write of the stores is a compare-and-set
    or set-if-absent, which cannot apply twice: a retried write that had in fact run reports
    a conflict instead, and the caller reloads.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.storage.embedded import DEFAULT_TIMEOUT_SECONDS, ensure_embedded_server

HEALTH_CHECK_INTERVAL_SECONDS = 30
"""A pooled connection idle for longer than this is PINGed before its next command."""

RETRIES = 1
"""Retries of a command that failed with ``ConnectionError`` (see the module docstring)."""


class RedisUnavailable(Exception):
    """Redis cannot be reached: refused, timed out, or no pooled connection came free in time."""


def resolve_redis_url(
    redis_url: str | None, data_dir: Path, *, timeout: float = DEFAULT_TIMEOUT_SECONDS
) -> str:
    """``REDIS_URL`` when set, else the URL of the embedded server of ``data_dir``.

    The embedded server is started if no process has started it yet, which blocks (see
    :mod:`bot.storage.embedded`): call this before the event loop runs, or in a thread.
    """
    if redis_url is not None and redis_url.strip():
        return redis_url.strip()
    return ensure_embedded_server(data_dir, timeout=timeout)


async def connect(
    url: str, *, max_connections: int, pool_timeout: float, socket_timeout: float
) -> Redis:
    """A client on a blocking pool of at most ``max_connections``, checked with one PING.

    Replies are bytes (``decode_responses=False``): stores keep opaque bytes and decode only
    what they own. The caller owns the client and closes it with ``await client.aclose()``,
    which also closes the pool.

    Raises:
        RedisUnavailable: the server did not answer the PING; the message names the URL
            without its password.
    """
    if max_connections < 1:
        raise ValueError("max_connections must be at least 1")
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_timeout,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        health_check_interval=HEALTH_CHECK_INTERVAL_SECONDS,
        retry=Retry(
            EqualJitterBackoff(cap=0.5, base=0.05),
            RETRIES,
            supported_errors=(RedisConnectionError,),
        ),
        decode_responses=False,
    )
    client = Redis.from_pool(pool)
    try:
        await client.ping()
    except (RedisConnectionError, RedisTimeoutError) as exc:
        await client.aclose()
        raise RedisUnavailable(f"Redis at {redact_url(url)} does not answer: {exc}") from exc
    except BaseException:
        await client.aclose()
        raise
    return client


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, fit for logs and error messages."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        user = parts.username or ""
        host = netloc.rpartition("@")[2]
        netloc = f"{user}:***@{host}"
    query = urlencode(
        [
            (name, "***" if name.lower() == "password" else value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*",
    )
    # Built by hand: urlunsplit drops the empty authority of unix:///path.
    redacted = f"{parts.scheme}://{netloc}{parts.path}"
    if query:
        redacted += f"?{query}"
    if parts.fragment:
        redacted += f"#{parts.fragment}"
    return redacted
