"""The chat loop in-process: scripted lines in, a recording console out, and between them the
real turn pipeline (desk, engine, Redis, the sandbox), as ``referral-bot chat`` builds it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from rich.console import Console

from bot.app.services import chat_services
from bot.app.web import build_web_app
from bot.conversation.chat.turns import TurnRunner
from bot.conversation.views import Seller
from bot.settings import Settings
from cards.text import GOODBYE, UNEXPECTED
from handlers.console import PLATFORM, ConsoleReplier, run_chat
from tests.support.identity_stand_in import IdentityStandIn
from tests.support.redis_server import PrivateRedis
from tests.support.sandbox import Sandbox
from tests.support.sign_in import ADA, PUBLIC_URL, browse
from tests.support.sign_in import settings_for as sign_in_settings_for

SELLER = Seller(user_id="ana", display_name="Ana")


def scripted(*lines: str, end: BaseException | None = None) -> Callable[[], str]:
    """A reader that returns ``lines`` one by one, then raises ``end`` (EOF by default)."""
    remaining: Iterator[str] = iter(lines)

    def read() -> str:
        for line in remaining:
            return line
        raise end or EOFError

    return read


class Chat:
    """``referral-bot chat``'s parts on a portal: say lines, read what was printed."""

    def __init__(self, portal: BlockingPortal, settings: Settings, key: str) -> None:
        self.portal = portal
        self.settings = settings
        self.key = key

    def run(self, read: Callable[[], str]) -> str:
        console = Console(record=True, width=100)
        with self.portal.wrap_async_context_manager(chat_services(self.settings)) as services:
            turns = TurnRunner(
                services.desk,
                services.memory,
                {PLATFORM: ConsoleReplier(console)},
                identity=services.identity,
                subscriptions=services.subscriptions,
            )
            run_chat(
                turns,
                SELLER,
                conversation_key=self.key,
                portal=self.portal,
                console=console,
                read_line=read,
            )
        return console.export_text()


@pytest.fixture
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal() as running:
        yield running


def settings_for(sandbox: Sandbox, redis_url: str, tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        partner_center_base_url=sandbox.base_url,
        partner_center_token="test-token",
        redis_url=redis_url,
        data_dir=tmp_path,
    )


@pytest.fixture
def chat(
    portal: BlockingPortal,
    fresh_sandbox: Sandbox,
    redis_url: str,
    redis_namespace: str,
    tmp_path: Path,
) -> Chat:
    return Chat(
        portal, settings_for(fresh_sandbox, redis_url, tmp_path), f"console:{redis_namespace}:ana"
    )


def test_each_line_is_a_turn_whose_views_are_printed(chat: Chat) -> None:
    output = chat.run(scripted("/referral new", "  ", "private", "Contoso [EU] pilot"))

    assert "What kind of deal is this?" in output
    assert "What should we call this referral?" in output
    assert "What is the customer organization called?" in output  # the name was taken
    assert "Contoso [EU] pilot" not in output.split("customer organization")[-1]
    assert output.rstrip().endswith(GOODBYE)


def test_a_refused_answer_is_asked_again_with_the_reason(chat: Chat) -> None:
    output = chat.run(scripted("/referral new", "private", "x" * 300))

    assert output.count("What should we call this referral?") == 2
    assert "✗" in output


@pytest.mark.parametrize("word", ["quit", "exit", " QUIT "])
def test_quit_and_exit_end_the_chat_before_the_next_line(chat: Chat, word: str) -> None:
    output = chat.run(scripted("/referral help", word, "/referral new"))

    assert "/referral new [CUSTOMER VALUE by DATE]: create a referral" in output
    assert "What kind of deal is this?" not in output
    assert output.rstrip().endswith(GOODBYE)


@pytest.mark.parametrize("end", [EOFError(), KeyboardInterrupt()])
def test_ctrl_d_and_ctrl_c_at_the_prompt_end_the_chat_cleanly(
    chat: Chat, end: BaseException
) -> None:
    output = chat.run(scripted("/referral help", end=end))

    assert output.rstrip().endswith(GOODBYE)


def test_redis_going_away_shows_a_reference_and_the_chat_goes_on(
    portal: BlockingPortal, fresh_sandbox: Sandbox, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    chat = Chat(
        portal, settings_for(fresh_sandbox, private_redis.url, tmp_path), "console:local:ana"
    )

    def read_then_stop() -> Callable[[], str]:
        lines = scripted("/referral new", "/referral help", "/referral help")
        said = 0

        def read() -> str:
            nonlocal said
            said += 1
            if said == 2:
                private_redis.stop()  # the memory goes away mid-chat
            if said == 3:
                private_redis.start()
            return lines()

        return read

    output = chat.run(read_then_stop())

    assert "What kind of deal is this?" in output
    assert f"✗ {UNEXPECTED}" in output
    assert "Reference: " in output
    # Answered once Redis was back:
    assert "/referral new [CUSTOMER VALUE by DATE]: create a referral" in output


def test_the_terminal_prints_a_link_and_carries_on_once_signed_in(
    portal: BlockingPortal,
    fresh_identity: IdentityStandIn,
    fresh_sandbox: Sandbox,
    redis_url: str,
    redis_namespace: str,
    tmp_path: Path,
) -> None:
    settings = sign_in_settings_for(
        fresh_identity,
        redis_url,
        partner_center_base_url=fresh_sandbox.base_url,
        data_dir=tmp_path,
    )
    chat = Chat(portal, settings, f"console:{redis_namespace}:ana")

    asked = chat.run(scripted("/referral list"))
    assert "Sign in to Partner Center first" in asked
    (link,) = re.findall(r"https://127\.0\.0\.1:\d+/\S+", asked.replace("\n", ""))

    async def sign_in() -> int:
        web = build_web_app(settings, worker=False)
        async with web.router.lifespan_context(web):
            transport = httpx.ASGITransport(app=web)
            async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
                page = await browse(fresh_identity, link, ADA, http)
        return page.status_code

    assert asyncio.run(sign_in()) == 200
    after = chat.run(scripted("/referral whoami"))
    assert f"Signed in to Partner Center as {ADA.username}" in after


def test_subscribing_in_the_terminal_says_where_it_works(chat: Chat) -> None:
    output = chat.run(scripted("/referral subscribe won"))

    assert "Subscriptions are for channels" in output


def test_register_in_the_terminal_shows_the_report_and_where_to_ask(
    portal: BlockingPortal, fresh_sandbox: Sandbox, redis_url: str, redis_namespace: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    settings = settings_for(fresh_sandbox, redis_url, tmp_path).model_copy(
        update={"referral_admins": ("ana",)}
    )
    chat = Chat(portal, settings, f"console:{redis_namespace}:ana")

    output = chat.run(
        scripted(
            "/referral register 5e7a9c1d-3f5b-4d7e-9b1c-3e5a7c9e1b04",
            "2026-11-20",
            "/referral approvals",
        )
    )

    assert "is eligible for deal registration" in output
    assert "Approvers decide deal registrations in Slack or Teams" in output
    assert "You have no referral in progress" in output  # no draft was started
    assert "approved in Slack or Teams, not here" in output


def test_several_matches_are_a_numbered_list_and_a_number_picks_one(
    portal: BlockingPortal, fresh_sandbox: Sandbox, redis_url: str, redis_namespace: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    settings = settings_for(fresh_sandbox, redis_url, tmp_path).model_copy(
        update={"referral_admins": ("ana",)}
    )
    chat = Chat(portal, settings, f"console:{redis_namespace}:ana")

    output = chat.run(scripted("/referral close northwind", "/referral show 2"))

    picked, shown = output.split("Type /referral close N for row N.")
    assert "2 referrals match 'northwind'. Which one?" in picked
    rows = re.findall(r"^ *(\d+) +([0-9a-f-]{36}) ", picked, re.MULTILINE)
    assert [number for number, _ in rows] == ["1", "2"]
    assert f"Id             {rows[1][1]}" in shown  # row 2, shown in full
    assert "How did it end?" not in output  # nothing was closed by showing
