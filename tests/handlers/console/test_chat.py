"""``referral-bot chat`` end to end, typed at through a pseudo-terminal as a seller would.

The installed console script runs in a child process on a pty, so the real terminal path is
exercised: the banner, readline, the prompt, Ctrl+C and Ctrl+D. It talks to the suite's
Redis (``REDIS_URL``, else the suite's embedded server) and, with no Partner Center
configured, to the built-in sandbox in its own process.
"""

from __future__ import annotations

import asyncio
import codecs
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.cli.local import BACKGROUND_NOTE
from bot.storage.embedded import stop_embedded_server
from cards.text import GOODBYE, INPUT_PROMPT

REFERRAL_BOT = Path(sys.executable).with_name("referral-bot")
ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07]*\x07|[=>])")
WAIT_SECONDS = 15.0

# A private lead the short way, question by question (as the engine asks them) with the
# answer typed, after a first line that gives the customer, the value and the closing date.
PRIVATE_LEAD = [
    ("The customer's address?", "1 Main St, Seattle, WA 98052, US"),
    ("How many employees does the customer have?", "10 to 50 employees"),
    ("Who is your contact at the customer?", "skip"),
    ("Add notes, industries, products, services, solutions or teammates?", "none"),
    ("What has the customer agreed to?", "yes"),
]


class Terminal:
    """The chat on a pseudo-terminal: wait for text to appear, type lines, see it exit."""

    def __init__(self, environment: dict[str, str], cwd: Path, *arguments: str) -> None:
        master, slave = os.openpty()
        # 120 columns: ids and questions stay on one line, so the waits below can match them.
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 120, 0, 0))
        self.process = subprocess.Popen(
            [str(REFERRAL_BOT), "chat", *arguments],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=environment,
            cwd=cwd,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )
        os.close(slave)
        self._master = master
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._raw = ""
        self._seen = 0
        """How far :meth:`expect` has read: each wait looks only at what came after."""

    @property
    def output(self) -> str:
        """Everything shown so far, without terminal escapes."""
        return ESCAPES.sub("", self._raw).replace("\r", "")

    def expect(self, pattern: str) -> re.Match[str]:
        """Wait until ``pattern`` (a regular expression) appears after the last match."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            match = re.compile(pattern).search(self.output, self._seen)
            if match:
                self._seen = match.end()
                return match
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._read(remaining):
                raise AssertionError(
                    f"{pattern!r} did not appear; the terminal shows:\n{self.output[self._seen :]}"
                )

    def type(self, line: str) -> None:
        """Type ``line`` at the next prompt and press Enter; wait for its echo."""
        self.expect(re.escape(INPUT_PROMPT))
        os.write(self._master, line.encode() + b"\r")
        self.expect(re.escape(line))

    def answer(self, question: str, line: str) -> None:
        """Wait for ``question`` to be asked, then type ``line``."""
        self.expect(re.escape(question))
        self.type(line)

    def press(self, keys: bytes) -> None:
        """Press control keys at the next prompt (b"\\x04" is Ctrl+D)."""
        self.expect(re.escape(INPUT_PROMPT))
        os.write(self._master, keys)

    def interrupt(self) -> None:
        """Ctrl+C at the next prompt: SIGINT to the foreground process group.

        CPython's readline has a window between drawing the prompt and waiting for a key in
        which a SIGINT is noted but the wait is not woken (a person presses Ctrl+C again);
        so press it again if the chat has not said goodbye shortly after.
        """
        self.expect(re.escape(INPUT_PROMPT))
        for _ in range(3):
            os.killpg(self.process.pid, signal.SIGINT)
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline and GOODBYE not in self.output[self._seen :]:
                self._read(deadline - time.monotonic())
            if GOODBYE in self.output[self._seen :]:
                return

    def wait(self) -> int:
        """Read the rest of the output and return the exit status."""
        while self._read(WAIT_SECONDS):
            pass
        return self.process.wait(timeout=WAIT_SECONDS)

    def close(self) -> None:
        """Kill the chat if it is still running and release the terminal."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=WAIT_SECONDS)
        os.close(self._master)

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self._master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self._master, 65536)
        except OSError:  # EIO: the child closed its side of the terminal
            chunk = b""
        self._raw += self._decoder.decode(chunk)
        return bool(chunk)


@pytest.fixture
def environment(redis_url: str, redis_namespace: str, tmp_path: Path) -> dict[str, str]:
    """The chat's environment: the suite's Redis, the built-in sandbox, a data folder of its own.

    The account name is this test's namespace, so the conversation key (and every Redis key of
    the conversation) contains it and the ``redis`` fixture deletes them afterwards.
    """
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PARTNER_CENTER_", "REDIS_", "AZURE_", "AUTH_", "LOG_"))
        and name not in ("DATA_DIR", "NO_COLOR", "FORCE_COLOR")
    }
    return inherited | {
        "REDIS_URL": redis_url,
        "DATA_DIR": str(tmp_path / "data"),
        "LOGNAME": redis_namespace,
        "USER": redis_namespace,
        "TERM": "xterm-256color",
        "COLUMNS": "120",
        "LINES": "50",
    }


@pytest.fixture
def chat(environment: dict[str, str], tmp_path: Path) -> Iterator[Terminal]:
    # Run from an empty folder: a developer's .env must not leak into the test.
    terminal = Terminal(environment, tmp_path, "--as", "Ana Lopez <ana@contoso.com>")
    try:
        yield terminal
    finally:
        terminal.close()


async def test_a_private_lead_from_new_to_show(chat: Terminal, redis: Redis) -> None:
    await asyncio.to_thread(drive_a_private_lead, chat)


def drive_a_private_lead(chat: Terminal) -> None:
    chat.expect(r"You are\s+Ana Lopez <ana@contoso\.com>")
    chat.expect(r"Partner Center\s+built-in sandbox")
    chat.expect(re.escape("Type /referral new to create a referral"))

    chat.type("/referral new Contoso [EU] pilot 50k USD closing in 30 days")
    chat.expect(r"From your line: Referral name Contoso \[EU\] pilot;")
    chat.expect(r"Step 1 of \d+")
    chat.expect(r"1\. Private lead \(not shared with Microsoft\)")
    chat.type("privte")
    chat.expect(r"Step 1 of \d+\nWhat kind of deal is this\?")  # asked again
    chat.expect(r'✗ "privte" is not a known kind of deal')
    chat.expect(r"Type 1 for Private lead")
    chat.type("1")
    for question, line in PRIVATE_LEAD:
        chat.answer(question, line)

    chat.expect(r"Type submit to send, edit and a group's or a field's name to change it")
    chat.type("review")
    chat.expect(r"Referral name\s+Contoso \[EU\] pilot")
    chat.expect(r"Currency\s+USD")
    chat.expect(r"Address\s+1 Main St, Seattle, WA 98052, US")
    chat.expect(r"Type submit to send")
    chat.type("submit")
    chat.expect(r"✓ Created your referral\.")
    referral_id = chat.expect(r"Referral id\s+(\S+)").group(1)
    chat.expect(r"Engagement id\s+[0-9a-f-]{36}")

    chat.type(f"/referral show {referral_id}")
    chat.expect(r"Contoso \[EU\] pilot")
    chat.expect(rf"Id\s+{re.escape(referral_id)}")
    chat.expect(r"Deal value\s+50,000 USD")

    chat.type("quit")
    chat.expect(re.escape(GOODBYE))
    assert chat.wait() == 0


@pytest.mark.parametrize(
    "leave",
    [
        pytest.param(lambda chat: chat.type("quit"), id="quit"),
        pytest.param(lambda chat: chat.type("EXIT"), id="exit"),
        pytest.param(lambda chat: chat.press(b"\x04"), id="ctrl-d"),
        pytest.param(lambda chat: chat.interrupt(), id="ctrl-c"),
    ],
)
def test_leaving_exits_zero(
    environment: dict[str, str], tmp_path: Path, leave: Callable[[Terminal], None]
) -> None:
    terminal = Terminal(environment, tmp_path)
    try:
        terminal.expect(r"Data folder\s+" + re.escape(str(tmp_path / "data")))
        leave(terminal)
        terminal.expect(re.escape(GOODBYE))
        assert terminal.wait() == 0
    finally:
        terminal.close()


TAILWIND = "7b9d2e4f-6a8c-4b1d-8e3f-5a7c9e1b3d02"
"""A seeded referral of Jane Doe's team (the sandbox of the chat's own process)."""


def test_without_an_email_the_chat_says_why_nothing_is_listed(
    environment: dict[str, str], tmp_path: Path, redis: Redis
) -> None:
    terminal = Terminal(environment, tmp_path)
    try:
        terminal.type("/referral list")
        terminal.expect(r"Your chat profile has no email address")
        terminal.expect(r"--as")
        terminal.type(f"/referral show {TAILWIND}")
        terminal.expect(r"Your chat profile has no email address")
        terminal.type("quit")
        assert terminal.wait() == 0
        assert "Tailwind" not in terminal.output
    finally:
        terminal.close()


def test_another_teams_referral_is_refused_unless_an_admin(
    environment: dict[str, str], tmp_path: Path, redis: Redis
) -> None:
    seller = Terminal(environment, tmp_path, "--as", "Ana Lopez <ana@contoso.com>")
    try:
        seller.type(f"/referral show {TAILWIND}")
        seller.expect(r"not on the team of referral")
        seller.type(f"/referral close {TAILWIND}")
        seller.expect(r"not on the team of referral")
        seller.type("quit")
        assert seller.wait() == 0
        assert "Tailwind" not in seller.output
    finally:
        seller.close()
    admins = environment | {"REFERRAL_ADMINS": "someone@contoso.com, ANA@contoso.com"}
    admin = Terminal(admins, tmp_path, "--as", "Ana Lopez <ana@contoso.com>")
    try:
        admin.type(f"/referral show {TAILWIND}")
        admin.expect(r"Tailwind Traders - store modernization")
        admin.type("quit")
        assert admin.wait() == 0
    finally:
        admin.close()


@pytest.mark.parametrize("embedded", [True, False], ids=["local-redis", "redis-url"])
def test_the_banner_says_when_a_local_redis_runs_on_in_the_background(
    environment: dict[str, str], tmp_path: Path, embedded: bool
) -> None:
    data_dir = tmp_path / "data"
    if embedded:
        environment = {name: value for name, value in environment.items() if name != "REDIS_URL"}
    terminal = Terminal(environment, tmp_path)
    try:
        terminal.expect(r"Data folder\s+" + re.escape(str(data_dir)))
        terminal.type("quit")
        assert terminal.wait() == 0
    finally:
        terminal.close()
        stop_embedded_server(data_dir)
    note = r"\s+".join(map(re.escape, BACKGROUND_NOTE.split()))
    assert bool(re.search(note, terminal.output)) is embedded, terminal.output
