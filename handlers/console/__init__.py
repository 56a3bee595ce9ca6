"""The terminal adapter behind ``referral-bot chat``: typed lines in, rendered views out."""

from handlers.console.identity import IdentityError, console_seller, conversation_key
from handlers.console.loop import QUIT_WORDS, MessageDesk, run_chat, terminal_reader

__all__ = [
    "QUIT_WORDS",
    "IdentityError",
    "MessageDesk",
    "console_seller",
    "conversation_key",
    "run_chat",
    "terminal_reader",
]
