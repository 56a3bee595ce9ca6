"""The chat loop in-process: scripted lines in, a recording console out, a fake desk."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from rich.console import Console

from bot.conversation.engine import Conversation
from bot.conversation.session import Seller
from bot.conversation.views import Notice, Problem, View
from cards.text import GOODBYE, UNEXPECTED
from handlers.console import run_chat

CONVERSATION = Conversation(key="console:local:ana", seller=Seller(user_id="ana"))


class FakeDesk:
    """Answers each message with a notice echoing it; ``boom`` fails like a bug would."""

    def __init__(self) -> None:
        self.heard: list[tuple[Conversation, str]] = []

    async def on_message(self, conversation: Conversation, text: str) -> list[View]:
        self.heard.append((conversation, text))
        if text == "boom":
            raise RuntimeError("a bug")
        return [Notice(message=f"heard {text}"), Problem(message="and a problem")]


def scripted(*lines: str, end: BaseException | None = None) -> Callable[[], str]:
    """A reader that returns ``lines`` one by one, then raises ``end`` (EOF by default)."""
    remaining: Iterator[str] = iter(lines)

    def read() -> str:
        for line in remaining:
            return line
        raise end or EOFError

    return read


@pytest.fixture
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal() as running:
        yield running


def chat(portal: BlockingPortal, desk: FakeDesk, read: Callable[[], str]) -> str:
    console = Console(record=True, width=100)
    run_chat(desk, CONVERSATION, portal=portal, console=console, read_line=read)
    return console.export_text()


def test_each_line_goes_to_the_desk_and_every_view_is_rendered(portal: BlockingPortal) -> None:
    desk = FakeDesk()

    output = chat(portal, desk, scripted("/referral new", "  ", "Contoso [EU]"))

    assert desk.heard == [(CONVERSATION, "/referral new"), (CONVERSATION, "Contoso [EU]")]
    assert "heard /referral new" in output
    assert "heard Contoso [EU]" in output
    assert output.count("✗ and a problem") == 2
    assert output.rstrip().endswith(GOODBYE)


@pytest.mark.parametrize("word", ["quit", "exit", " QUIT "])
def test_quit_and_exit_end_the_chat_without_reaching_the_desk(
    portal: BlockingPortal, word: str
) -> None:
    desk = FakeDesk()

    output = chat(portal, desk, scripted("hello", word, "never read"))

    assert [text for _, text in desk.heard] == ["hello"]
    assert output.rstrip().endswith(GOODBYE)


@pytest.mark.parametrize("end", [EOFError(), KeyboardInterrupt()])
def test_ctrl_d_and_ctrl_c_at_the_prompt_end_the_chat_cleanly(
    portal: BlockingPortal, end: BaseException
) -> None:
    output = chat(portal, FakeDesk(), scripted("hello", end=end))

    assert output.rstrip().endswith(GOODBYE)


def test_an_unexpected_failure_shows_a_reference_and_the_chat_goes_on(
    portal: BlockingPortal,
) -> None:
    desk = FakeDesk()

    output = chat(portal, desk, scripted("boom", "still here"))

    assert f"✗ {UNEXPECTED}" in output
    assert "Reference: " in output
    assert "heard still here" in output
