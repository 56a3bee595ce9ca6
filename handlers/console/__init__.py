"""The terminal adapter behind ``referral-bot chat``: typed lines in, rendered views out."""

from handlers.console.identity import IdentityError, console_seller, conversation_key
from handlers.console.loop import QUIT_WORDS, Turns, run_chat, terminal_reader
from handlers.console.replier import PLATFORM, ConsoleReplier

__all__ = [
    "PLATFORM",
    "QUIT_WORDS",
    "ConsoleReplier",
    "IdentityError",
    "Turns",
    "console_seller",
    "conversation_key",
    "run_chat",
    "terminal_reader",
]
