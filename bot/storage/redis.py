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

Redis Cluster
    ``REDIS_URL=redis+cluster://host:port,host:port`` (``rediss+cluster://`` for TLS) lists
    some of a cluster's nodes; ``REDIS_CLUSTER=true`` says a plain ``redis://`` URL (a managed
    service's configuration endpoint) names one. Either way the client is redis-py's
    :class:`~redis.asyncio.cluster.RedisCluster`, which learns the slot map and follows
    ``MOVED``/``ASK``. Its pools are per node and do not wait: ``REDIS_MAX_CONNECTIONS`` bounds
    each node's, and a caller finding one full gets ``MaxConnectionsError`` (a
    ``ConnectionError``, so "unavailable" like the single server's pool timing out). A failover
    (a master lost, its replica promoted) is retried for about :data:`CLUSTER_RETRY_SECONDS`
    (the cluster client refreshes its slot map between tries); longer outages fail the
    command like any Redis outage. The stores use only commands both clients have, and every
    script and transaction of theirs stays within one hash slot (``tests/test_hash_slots.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff, ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError

from bot.storage.embedded import DEFAULT_TIMEOUT_SECONDS, ensure_embedded_server

HEALTH_CHECK_INTERVAL_SECONDS = 30
"""A pooled connection idle for longer than this is PINGed before its next command."""

RETRIES = 1
"""Retries of a command that failed with ``ConnectionError`` (see the module docstring)."""

CLUSTER_SCHEMES = {"redis+cluster": False, "rediss+cluster": True}
"""The URL schemes naming a cluster's nodes, and whether each uses TLS."""
CLUSTER_RETRIES = 6
CLUSTER_RETRY_SECONDS = 4.0
"""About how long a cluster command is retried through a failover before it fails: the
cluster promotes a replica once its node timeout has passed (set it to a second or two;
Redis' default of 15 s is longer than a chat platform waits)."""

RedisClient: TypeAlias = Redis | RedisCluster
"""The one client of a process: a single server's, or a cluster's."""


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


def is_cluster_url(url: str) -> bool:
    """Whether ``url`` lists a cluster's nodes (``redis+cluster://``, ``rediss+cluster://``)."""
    return urlsplit(url).scheme.lower() in CLUSTER_SCHEMES


@dataclass(frozen=True, slots=True)
class ClusterAddress:
    """Where a cluster is and how to sign in to it, read from a ``redis+cluster://`` URL."""

    nodes: tuple[tuple[str, int], ...]
    username: str | None
    password: str | None
    tls: bool


def cluster_address(url: str) -> ClusterAddress:
    """The nodes and credentials of ``redis+cluster://[user:password@]host:port,host:port``.

    Raises:
        ValueError: not such a URL, or a node without a host or with a bad port; the message
            shows the URL without its password.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in CLUSTER_SCHEMES:
        raise ValueError(f"{redact_url(url)} is not a redis+cluster:// URL")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    nodes = []
    for node in filter(None, (item.strip() for item in hosts.split(","))):
        host, _, port = node.rpartition(":")
        host = host.strip("[]")  # an IPv6 literal
        if not host or not port.isdigit() or not 0 < int(port) < 65_536:
            raise ValueError(
                f"{redact_url(url)}: each node must be host:port, like 10.0.0.5:6379 (got {node!r})"
            )
        nodes.append((host, int(port)))
    if not nodes:
        raise ValueError(f"{redact_url(url)} names no node; list at least one host:port")
    return ClusterAddress(
        tuple(nodes),
        unquote(username) or None,
        unquote(password) if password else None,
        CLUSTER_SCHEMES[scheme],
    )


async def connect(
    url: str,
    *,
    max_connections: int,
    pool_timeout: float,
    socket_timeout: float,
    cluster: bool = False,
) -> RedisClient:
    """A client of the server (or, with ``cluster`` or a ``redis+cluster://`` URL, of the
    cluster) at ``url``, checked with one PING.

    A single server's client waits up to ``pool_timeout`` for one of ``max_connections``;
    a cluster's has that many per node (see the module docstring). Replies are bytes
    (``decode_responses=False``): stores keep opaque bytes and decode only what they own. The
    caller owns the client and closes it with ``await client.aclose()``.

    Raises:
        RedisUnavailable: the server or cluster did not answer the PING; the message names the
            URL without its password.
    """
    if max_connections < 1:
        raise ValueError("max_connections must be at least 1")
    client: RedisClient
    if cluster or is_cluster_url(url):
        client = _cluster_client(
            url, max_connections=max_connections, socket_timeout=socket_timeout
        )
    else:
        client = _server_client(
            url,
            max_connections=max_connections,
            pool_timeout=pool_timeout,
            socket_timeout=socket_timeout,
        )
    try:
        await client.ping()
    except (RedisError, RedisClusterException, OSError) as exc:
        await client.aclose()
        raise RedisUnavailable(f"Redis at {redact_url(url)} does not answer: {exc}") from exc
    except BaseException:
        await client.aclose()
        raise
    return client


def _cluster_client(url: str, *, max_connections: int, socket_timeout: float) -> RedisCluster:
    options = {
        "max_connections": max_connections,
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": socket_timeout,
        "health_check_interval": HEALTH_CHECK_INTERVAL_SECONDS,
        "decode_responses": False,
        "retry": Retry(
            ExponentialWithJitterBackoff(cap=1.0, base=0.1),
            CLUSTER_RETRIES,
        ),
    }
    try:
        if not is_cluster_url(url):
            return RedisCluster.from_url(url, **options)
        address = cluster_address(url)
        return RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in address.nodes],
            username=address.username,
            password=address.password,
            ssl=address.tls,
            **options,  # type: ignore[arg-type]
        )
    except RedisClusterException as exc:
        raise RedisUnavailable(f"Redis Cluster at {redact_url(url)}: {exc}") from exc


def _server_client(
    url: str, *, max_connections: int, pool_timeout: float, socket_timeout: float
) -> Redis:
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
    return Redis.from_pool(pool)


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
