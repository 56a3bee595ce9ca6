"""The edges of ``/slack/events``: the body cap, and the signature checked on the raw body
before anything parses it (issue 10, finding 5)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest

from bot.body_limit import DEFAULT_MAX_BODY_BYTES
from tests.handlers.slack.conftest import SlackBot
from tests.support.slack_payloads import FORM, SIGNING_SECRET, sign

HUNDRED_MB = 100 * 1024 * 1024
CHUNK = 64 * 1024


class Counted:
    """A 100 MB body streamed in chunks (never built in memory), counting what was read."""

    def __init__(self, total: int = HUNDRED_MB) -> None:
        self.total = total
        self.sent = 0
        self._chunk = b"x" * CHUNK

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            self.sent += CHUNK
            yield self._chunk


def signed_headers(body: bytes, *, timestamp: str | None = None) -> dict[str, str]:
    stamp = timestamp if timestamp is not None else str(int(time.time()))
    return {
        "Content-Type": FORM,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sign(SIGNING_SECRET, stamp, body),
    }


async def test_a_100_mb_body_with_its_length_is_refused_unread(bot: SlackBot) -> None:
    body = Counted()
    headers = {"Content-Type": FORM, "Content-Length": str(HUNDRED_MB)}
    response = await bot.http.post("/slack/events", content=body, headers=headers)
    assert response.status_code == 413
    assert body.sent <= CHUNK


async def test_a_chunked_100_mb_body_is_read_no_further_than_the_cap(bot: SlackBot) -> None:
    body = Counted()
    response = await bot.http.post("/slack/events", content=body, headers={"Content-Type": FORM})
    assert response.status_code == 413
    assert body.sent <= DEFAULT_MAX_BODY_BYTES + 2 * CHUNK


async def test_a_body_under_the_cap_still_reaches_bolt(bot: SlackBot) -> None:
    request = bot.requests.command("help")
    response = await bot.send(request)
    assert response.status_code == 200


@pytest.mark.parametrize("timestamp", ["soon", "1e9", "-5", " 1700000000", "1700000000.5"])
async def test_a_non_numeric_timestamp_is_401(bot: SlackBot, timestamp: str) -> None:
    body = b"payload=" + quote('{"type": "block_actions"').encode()
    headers = {"Content-Type": FORM, "X-Slack-Request-Timestamp": timestamp}
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    response = await bot.http.post("/slack/events", content=body, headers=headers)
    assert response.status_code == 401


async def test_an_unsigned_malformed_payload_is_401_not_500(bot: SlackBot) -> None:
    for body in (b"payload=%7Bnot-json", b"payload=%FF%FE", b"\xff\xfe{", b"{"):
        response = await bot.http.post(
            "/slack/events", content=body, headers={"Content-Type": FORM}
        )
        assert response.status_code == 401, body


async def test_a_stale_or_forged_request_is_401(bot: SlackBot) -> None:
    stale = await bot.send(bot.requests.command("help", age=301))
    forged = await bot.send(bot.requests.command("help", bad_signature=True))
    future = b"command=%2Freferral&text=help"
    ahead = await bot.http.post(
        "/slack/events",
        content=future,
        headers=signed_headers(future, timestamp=str(int(time.time()) + 600)),
    )
    assert [stale.status_code, forged.status_code, ahead.status_code] == [401, 401, 401]


@pytest.mark.parametrize(
    "body",
    [
        b"payload=%7Bnot-json",  # the interaction's JSON is broken
        b"payload=%5B1%2C2%5D",  # JSON, but not an object
        b"payload=%FF%FE",  # not UTF-8
        b'payload={"type": "block_actions", "team": "T1", "user": 5, "actions": 3}',
    ],
)
async def test_a_signed_but_malformed_payload_is_400_not_500(bot: SlackBot, body: bytes) -> None:
    response = await bot.http.post("/slack/events", content=body, headers=signed_headers(body))
    assert response.status_code == 400, response.text


async def test_a_signed_payload_that_is_not_json_is_400(bot: SlackBot) -> None:
    body = b"payload=%7Bnot-json"
    response = await bot.http.post("/slack/events", content=body, headers=signed_headers(body))
    assert response.status_code == 400
    events = b'{"type": "event_callback", '
    response = await bot.http.post(
        "/slack/events",
        content=events,
        headers={**signed_headers(events), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
