"""The chat loop: read a line, hand it to the desk, print what comes back, repeat.

The desk runs on an event loop in another thread (an anyio blocking portal, which the caller
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

from bot.conversation.engine import Conversation
from bot.conversation.views import Problem, View
from cards.text import GOODBYE, INPUT_PROMPT, UNEXPECTED, UNEXPECTED_HINT, render_view

logger = logging.getLogger(__name__)

QUIT_WORDS = frozenset({"quit", "exit"})
"""Words that end the chat (the engine never sees them)."""

_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


class MessageDesk(Protocol):
    """What the loop needs of :class:`bot.conversation.desk.Desk`."""

    async def on_message(self, conversation: Conversation, text: str) -> list[View]:
        """Answer one typed message with the views to show."""
        ...


def run_chat(
    desk: MessageDesk,
    conversation: Conversation,
    *,
    portal: BlockingPortal,
    console: Console,
    read_line: Callable[[], str] | None = None,
) -> None:
    """Talk to ``desk`` until the seller types quit or exit, or presses Ctrl+D or Ctrl+C.

    ``read_line`` returns one line and raises ``EOFError`` at the end of input; by default
    it reads the terminal (:func:`terminal_reader`).
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
            views = _reply(desk, conversation, line, portal)
        except KeyboardInterrupt:
            console.print()
            break
        for view in views:
            console.print(render_view(view))
            console.print()
    console.print(GOODBYE)


def _reply(
    desk: MessageDesk, conversation: Conversation, line: str, portal: BlockingPortal
) -> list[View]:
    future = portal.start_task_soon(desk.on_message, conversation, line)
    try:
        return future.result()
    except KeyboardInterrupt:
        # Stop the request instead of leaving it running while the services shut down.
        future.cancel()
        raise
    except Exception:
        # The engine turns every expected failure into a view; anything else is a bug. The
        # seller gets a reference to quote, and the log has the traceback under it (a
        # reference found only in a debug log would lead nowhere by default).
        reference = uuid.uuid4().hex[:8]
        logger.error("unexpected failure, reference %s", reference, exc_info=True)
        return [Problem(message=UNEXPECTED, hint=UNEXPECTED_HINT, reference=reference)]


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
