"""Serving the sandbox over real HTTP: on a background thread (tests) or in the foreground (CLI).

Tests talk to the sandbox over loopback HTTP like the client talks to Partner Center, so the
whole stack (httpx, headers, status codes, JSON) is exercised; only the far end is local.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

from bot.partner_center.sandbox.app import create_sandbox_app
from bot.partner_center.sandbox.gateway import API_ROOT

__all__ = ["SandboxServer", "run_sandbox", "run_sandbox_in_thread", "serve_sandbox"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
STARTUP_TIMEOUT_SECONDS = 10.0
SHUTDOWN_TIMEOUT_SECONDS = 10.0


def _config(
    app: ASGIApp, host: str, port: int, loop: str, tls: tuple[str, str] | None = None
) -> uvicorn.Config:
    certfile, keyfile = tls if tls is not None else (None, None)
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop=loop,
        lifespan="off",
        log_level="warning",
        access_log=False,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
    )


class _Server(uvicorn.Server):
    """uvicorn's server, calling ``on_started`` once it accepts connections.

    uvicorn only offers the ``started`` flag; calling back from the end of its startup lets
    callers wait on an event instead of polling the flag.
    """

    def __init__(self, config: uvicorn.Config, on_started: Callable[[_Server], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start listening, then report it."""
        await super().startup(sockets)
        if self.started:
            self._on_started(self)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Shut down as uvicorn does; over TLS, idle connections are aborted first.

        uvicorn closes an idle keep-alive connection, which over TLS starts an exchange of
        close_notify alerts that a pooled client connection never answers: the transport
        then outlives the server's loop and is reported unclosed when collected.
        """
        if self.config.is_ssl:
            for connection in list(self.server_state.connections):
                cycle = getattr(connection, "cycle", None)
                if cycle is None or cycle.response_complete:
                    connection.transport.abort()
        await super().shutdown(sockets)

    @property
    def port(self) -> int:
        """The port actually bound (useful when 0 was asked for)."""
        port: int = self.servers[0].sockets[0].getsockname()[1]
        return port


class SandboxServer:
    """A sandbox served by uvicorn on a background thread; a context manager.

    Port 0 (the default) binds a free port; :attr:`base_url` is the API root to give the
    client, e.g. ``http://127.0.0.1:53211/v1.0``. ``tls``, the paths of a PEM certificate
    chain and of its key, serves https instead: for stand-ins of services a client only
    reaches over https (msal refuses any other authority).
    """

    def __init__(
        self,
        app: ASGIApp | None = None,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        tls: tuple[str, str] | None = None,
    ) -> None:
        self.app = app if app is not None else create_sandbox_app()
        self.host = host
        self.port = port
        self.tls = tls
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def origin(self) -> str:
        """``http://host:port`` (``https`` with ``tls``), where the admin routes live under
        ``/sandbox``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "http" if self.tls is None else "https"
        return f"{scheme}://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API root, ``http://host:port/v1.0``."""
        return self.origin + API_ROOT

    def start(self) -> str:
        """Start serving and wait until connections are accepted; returns :attr:`base_url`."""
        if self._thread is not None:
            raise RuntimeError("the sandbox server is already running")
        # Binding here, not in uvicorn, gives us the port before the thread starts and makes a
        # busy port fail in the caller's thread with a clear OSError.
        family, kind, proto, _, address = socket.getaddrinfo(
            self.host, self.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )[0]
        # The protocol must say TCP: asyncio only sets TCP_NODELAY on connections of such a
        # socket, and without it every response waits ~40 ms on Nagle's algorithm and the
        # client's delayed ACK.
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        ready = threading.Event()
        # "auto" picks uvloop when installed: about 15% more requests per second, which the
        # concurrency benchmarks notice; the thread's loop is private to the server either way.
        config = _config(
            self.app, self.host, self.port, "asyncio" if self.tls else "auto", self.tls
        )
        server = _Server(config, lambda _: ready.set())
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name="partner-center-sandbox",
            daemon=True,
        )
        thread.start()
        self._server, self._thread, self._socket = server, thread, sock
        self._wait_until_started(ready, thread)
        return self.base_url

    def _wait_until_started(self, ready: threading.Event, thread: threading.Thread) -> None:
        waited = 0.0
        step = 0.05
        while not ready.wait(step):
            waited += step
            if not thread.is_alive():
                self.stop()
                raise RuntimeError("the sandbox server failed to start (see the log)")
            if waited >= STARTUP_TIMEOUT_SECONDS:
                self.stop()
                raise TimeoutError("the sandbox server did not start in time")

    def stop(self) -> None:
        """Let open requests finish, stop the server and wait for its thread."""
        server, thread, sock = self._server, self._thread, self._socket
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT_SECONDS)
        if thread.is_alive():
            server.force_exit = True
            thread.join(SHUTDOWN_TIMEOUT_SECONDS)
        if sock is not None:
            # The listener serves on this very socket; it may only be closed once stopped.
            sock.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@contextmanager
def run_sandbox_in_thread(
    app: ASGIApp | None = None, *, host: str = DEFAULT_HOST, port: int = 0
) -> Iterator[str]:
    """Serve the sandbox on a background thread for the ``with`` block; yields the API root."""
    with SandboxServer(app, host=host, port=port) as server:
        yield server.base_url


async def serve_sandbox(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    app: ASGIApp | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the sandbox on the running loop until told to stop (Ctrl+C or SIGTERM).

    Prints nothing: ``on_ready`` receives the API root (``http://host:port/v1.0``, with the
    real port when ``port`` is 0) once connections are accepted, for the caller to announce.
    On the main thread uvicorn handles the signals, shuts down gracefully, then re-raises
    the signal (so Ctrl+C ends as KeyboardInterrupt after a clean stop).
    """

    def started(server: _Server) -> None:
        if on_ready is not None:
            on_ready(f"http://{host}:{server.port}{API_ROOT}")

    config = _config(app or create_sandbox_app(), host, port, "auto")
    await _Server(config, started).serve()


def run_sandbox(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    app: ASGIApp | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Blocking form of :func:`serve_sandbox`, for a ``referral-bot sandbox --port N`` command."""
    app = app or create_sandbox_app()
    # The loop is created here, so uvloop (when installed) must be chosen here too.
    loop_factory = _config(app, host, port, "auto").get_loop_factory()
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(serve_sandbox(host, port, app=app, on_ready=on_ready))
