"""Conversations with sellers: flows as data, drafts kept in Redis, one turn pipeline for chat.

Four parts, each using only the ones before it (an import-linter contract checks the order):

- :mod:`~bot.conversation.views`: the neutral language between the engine, the adapters and
  the renderers: who is talking (:class:`Seller`), what they said (the inputs) and what the
  bot shows (the views).
- :mod:`~bot.conversation.vocabulary`: the flow vocabulary: steps, API paths, validators,
  the flows themselves, the draft-to-API mapping, type-ahead and the flow diagrams. Pure.
- :mod:`~bot.conversation.runtime`: the state machine, the stored draft, its Redis store and
  the engine that persists every step and submits once.
- :mod:`~bot.conversation.chat`: the chat front every platform shares: commands, the desk,
  the chat memory and the turn pipeline (:class:`Turn`, :class:`Replier`, :class:`TurnRunner`).

This module is the public surface: adapters (``handlers/``) import only from here.
Renderers (``cards/``) import :mod:`bot.conversation.views`, the only part they need. The
names below that are not views load their part on first use, so importing a renderer (which
imports this package) loads neither the runtime nor Redis nor the flows.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bot.conversation.views import (
    SENDING_NOTE,
    ApprovalCard,
    ApprovalList,
    ApprovalState,
    Choice,
    Command,
    CommandName,
    Created,
    Decision,
    DraftSummary,
    EligibilityReport,
    Home,
    InboundCard,
    InboundList,
    InboundState,
    Input,
    InputKind,
    Notice,
    Option,
    Problem,
    Progress,
    Prompt,
    ReferralCard,
    ReferralList,
    Review,
    ReviewLine,
    Seller,
    SignIn,
    StatusChange,
    StatusEvent,
    Text,
    Triage,
    TriageVerdict,
    Verdict,
    View,
)

if TYPE_CHECKING:
    from bot.conversation.chat.commands import sends
    from bot.conversation.chat.desk import Desk
    from bot.conversation.chat.memory import CardRef
    from bot.conversation.chat.turns import (
        TURN,
        Replier,
        Turn,
        TurnRunner,
        not_queued,
        turn_handlers,
    )
    from bot.conversation.runtime.engine import Conversation
    from bot.conversation.vocabulary.suggest import suggestions
    from bot.conversation.vocabulary.values import InvalidAnswer, parse_email, parse_text

_LOADED_ON_USE: dict[str, str] = {
    "sends": "bot.conversation.chat.commands",
    "Desk": "bot.conversation.chat.desk",
    "CardRef": "bot.conversation.chat.memory",
    "TURN": "bot.conversation.chat.turns",
    "Replier": "bot.conversation.chat.turns",
    "Turn": "bot.conversation.chat.turns",
    "TurnRunner": "bot.conversation.chat.turns",
    "not_queued": "bot.conversation.chat.turns",
    "turn_handlers": "bot.conversation.chat.turns",
    "Conversation": "bot.conversation.runtime.engine",
    "suggestions": "bot.conversation.vocabulary.suggest",
    "InvalidAnswer": "bot.conversation.vocabulary.values",
    "parse_email": "bot.conversation.vocabulary.values",
    "parse_text": "bot.conversation.vocabulary.values",
}
"""Where each name that is not a view lives (the imports above, for type checkers)."""

__all__ = [
    "SENDING_NOTE",
    "TURN",
    "ApprovalCard",
    "ApprovalList",
    "ApprovalState",
    "CardRef",
    "Choice",
    "Command",
    "CommandName",
    "Conversation",
    "Created",
    "Decision",
    "Desk",
    "DraftSummary",
    "EligibilityReport",
    "Home",
    "InboundCard",
    "InboundList",
    "InboundState",
    "Input",
    "InputKind",
    "InvalidAnswer",
    "Notice",
    "Option",
    "Problem",
    "Progress",
    "Prompt",
    "ReferralCard",
    "ReferralList",
    "Replier",
    "Review",
    "ReviewLine",
    "Seller",
    "SignIn",
    "StatusChange",
    "StatusEvent",
    "Text",
    "Triage",
    "TriageVerdict",
    "Turn",
    "TurnRunner",
    "Verdict",
    "View",
    "not_queued",
    "parse_email",
    "parse_text",
    "sends",
    "suggestions",
    "turn_handlers",
]

if not TYPE_CHECKING:
    # Hidden from type checkers, so that a misspelt name fails the type check instead of
    # becoming Any.

    def __getattr__(name: str) -> Any:
        """Load a name of the chat front, the runtime or the vocabulary on first use."""
        home = _LOADED_ON_USE.get(name)
        if home is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value
        return value
