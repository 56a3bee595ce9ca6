"""The chat loop: read a line, hand it to the shared turn pipeline, which prints the
answer; repeat.

The pipeline runs on an event loop in another thread (an anyio blocking portal, which the caller
starts around the services) while this loop blocks on the terminal in the main thread.
Reading in the main thread keeps the terminal's line editing and history (readline), and
Ctrl+C arrives as ``KeyboardInterrupt`` exactly where the loop waits, whether it waits for
the seller or for the desk; an ``asyncio`` loop reading stdin in a worker thread could not
stop that thread and would leave the terminal in readline's mode on exit.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from typing import Protocol

from anyio.from_thread import BlockingPortal
from rich.console import Console
from rich.text import Text

from bot.conversation import Problem, Seller, Turn
from cards.text import GOODBYE, INPUT_PROMPT, UNEXPECTED, UNEXPECTED_HINT, render_view
from handlers.console.replier import PLATFORM

logger = logging.getLogger(__name__)

QUIT_WORDS = frozenset({"quit", "exit"})
"""Words that end the chat (the engine never sees them)."""

_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


class Turns(Protocol):
    """What the loop needs of :class:`bot.conversation.TurnRunner`."""

    async def run(self, turn: Turn, attempt: str) -> None:
        """Answer one turn (its views are printed by the console's replier)."""
        ...


def run_chat(
    turns: Turns,
    seller: Seller,
    *,
    conversation_key: str,
    portal: BlockingPortal,
    console: Console,
    read_line: Callable[[], str] | None = None,
) -> None:
    """Talk through ``turns`` until the seller types quit or exit, or presses Ctrl+D or Ctrl+C.

    Each line is a turn of the shared pipeline, answered through
    :class:`~handlers.console.replier.ConsoleReplier` on ``console``. ``read_line`` returns
    one line and raises ``EOFError`` at the end of input; by default it reads the terminal
    (:func:`terminal_reader`).
    """
    read = read_line or terminal_reader(console)
    while True:
        try:
            line = read()
        except (EOFError, KeyboardInterrupt):
            console.print()  # the cursor is still on the prompt's line
            break
        if line.strip().lower() in QUIT_WORDS:
            break
        if not line.strip():
            continue
        try:
            _answer(turns, _turn(conversation_key, seller, line), portal, console)
        except KeyboardInterrupt:
            console.print()
            break
    console.print(GOODBYE)


def _turn(conversation_key: str, seller: Seller, line: str) -> Turn:
    return Turn(
        platform=PLATFORM,
        conversation=conversation_key,
        seller=seller,
        delivery=f"line-{uuid.uuid4().hex}",
        text=line,
    )


def _answer(turns: Turns, turn: Turn, portal: BlockingPortal, console: Console) -> None:
    future = portal.start_task_soon(turns.run, turn, turn.delivery)
    try:
        future.result()
    except KeyboardInterrupt:
        # Stop the request instead of leaving it running while the services shut down.
        future.cancel()
        raise
    except Exception:
        # The pipeline turns every failure into a message of its own, except Redis being
        # away before anything was done (a worker would try again; here the seller does).
        reference = uuid.uuid4().hex[:8]
        logger.error("unexpected failure, reference %s", reference, exc_info=True)
        problem = Problem(message=UNEXPECTED, hint=UNEXPECTED_HINT, reference=reference)
        console.print(render_view(problem))
        console.print()


def terminal_reader(console: Console) -> Callable[[], str]:
    """Read lines from the terminal, with line editing and history where readline exists."""
    try:
        # Importing it is what switches input() to line editing; Windows has no readline.
        import readline  # noqa: F401, PLC0415
    except ImportError:
        has_readline = False
    else:
        has_readline = True
    with console.capture() as captured:
        console.print(Text(INPUT_PROMPT, style="bold cyan"), end="")
    prompt = captured.get()
    if has_readline:
        # Readline counts every byte of the prompt as a column unless escape sequences sit
        # between \x01 and \x02; without them, editing and history redraw over the prompt.
        prompt = _ESCAPE.sub(lambda match: f"\x01{match.group()}\x02", prompt)
    return lambda: input(prompt)
