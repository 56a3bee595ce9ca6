"""A pooled connection that Slack (or a proxy) closed while idle: the next Web API call on it
is made again on a new connection, once, instead of failing the seller's turn."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.app.platforms import build_slack_client
from bot.settings import Settings

OK = b'{"ok":true,"channel":"D1","ts":"1.0"}'


class ClosingAfterOne:
    """An HTTP/1.1 server on loopback that answers the first request of each connection
    (keep-alive) and closes the connection when a second one comes on it, unanswered."""

    def __init__(self) -> None:
        self.requests = 0
        self.dropped = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        answered = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode().split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                self.requests += 1
                if answered:
                    self.dropped += 1
                    return
                answered += 1
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(OK)}\r\n\r\n".encode()
                    + OK
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[tuple[ClosingAfterOne, int]]:
    closing = ClosingAfterOne()
    started = await asyncio.start_server(closing.handle, "127.0.0.1", 0)
    port = started.sockets[0].getsockname()[1]
    async with started:
        yield closing, port


async def test_a_call_on_a_connection_the_server_closed_is_made_again_once(
    server: tuple[ClosingAfterOne, int],
) -> None:
    closing, port = server
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        slack_bot_token="xoxb-test-token",
        slack_api_url=f"http://127.0.0.1:{port}/api/",
    )
    client = build_slack_client(settings)
    async with aiohttp.ClientSession() as session:
        client.session = session  # pooled, as the worker runs it
        first = await client.chat_postMessage(channel="D1", text="Step 1")
        second = await client.chat_postMessage(channel="D1", text="Step 2")
    assert first["ok"]
    assert second["ok"]
    assert closing.dropped == 1  # the second call met the closed connection...
    assert closing.requests == 3  # ...and was made once more, on a new one
