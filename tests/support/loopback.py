"""What every stand-in served over loopback shares: starting, stopping and its address."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from starlette.applications import Starlette

from bot.partner_center.sandbox import SandboxServer


class LoopbackStandIn:
    """An ASGI ``app`` served on a free loopback port in a thread of its own."""

    name = "stand-in"
    app: Starlette

    def __init__(self) -> None:
        self._server: SandboxServer | None = None

    @property
    def address(self) -> str:
        """What :meth:`start` returns: the URL a client is configured with."""
        return self.origin

    def start(self) -> str:
        """Serve on a free loopback port; returns :attr:`address`."""
        if self._server is not None:
            raise RuntimeError(f"the {self.name} is already running")
        server = self._new_server()
        server.start()
        self._server = server
        return self.address

    def _new_server(self) -> SandboxServer:
        """The server to serve :attr:`app` on (plain http; a stand-in of an https-only service
        overrides this)."""
        return SandboxServer(self.app)

    def stop(self) -> None:
        """Stop serving (open requests finish first)."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT`` (``https`` for a stand-in served over TLS)."""
        if self._server is None:
            raise RuntimeError(f"the {self.name} is not running")
        return self._server.origin
