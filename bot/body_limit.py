"""A cap on request bodies, in front of every route.

Slack's and Teams' payloads are small; anything much larger is a mistake or an attack, and
must neither fill the process's memory nor keep it busy. The cap is applied before any
endpoint sees the request: a ``Content-Length`` above it is answered 413 at once, without
reading a byte, and a body without one (chunked) is counted as it arrives and refused as
soon as it goes past the cap, the rest left unread.
"""

from __future__ import annotations

import logging

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
"""1 MB: generous for any Slack or Teams payload."""


class BodyTooLarge(Exception):
    """The body went past the cap while an endpoint was reading it."""


class BodyLimit:
    """ASGI middleware: request bodies of at most ``max_bytes`` bytes, else 413."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared == MALFORMED:
            await _refuse(scope, receive, send, 400, "Content-Length is not a number")
            return
        if declared is not None and declared > self.max_bytes:
            await self._too_large(scope, receive, send)
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        logger.warning(
            "refused a request body over %d bytes on %s", self.max_bytes, scope.get("path")
        )
        await _refuse(scope, receive, send, 413, "Request body too large")


MALFORMED = -1


def _content_length(scope: Scope) -> int | None:
    """The declared length, ``None`` when there is none, :data:`MALFORMED` when unreadable."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else MALFORMED
    return None


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, text: str) -> None:
    # ``Connection: close``: the unread rest of the body must not be taken for a next request.
    response = PlainTextResponse(text, status_code=status, headers={"Connection": "close"})
    await response(scope, receive, send)
