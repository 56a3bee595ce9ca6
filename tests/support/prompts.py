"""Questions as the state machine asks them, for the renderers' tests: every step of every
flow, built by :func:`bot.conversation.runtime.machine.prompt_view` from a fresh draft, so a card is
tested on exactly what the engine would hand it (earliest dates, catalog ids and all)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

from bot.conversation.runtime import machine
from bot.conversation.runtime.session import Session
from bot.conversation.views import Prompt, Seller
from bot.conversation.vocabulary.flows import FLOWS


def flow_prompts(today: date, *, optional_too: bool = True) -> Iterator[Prompt]:
    """Every step of every flow as the engine would ask it on ``today`` in a fresh draft;
    with ``optional_too``, each also as an optional question that can go back."""
    moment = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    for flow in FLOWS.values():
        session = Session(
            id="draft",
            flow=flow.name,
            seller=Seller(user_id="U1"),
            created_at=moment,
            updated_at=moment,
        )
        situation = machine.Situation(flow, session, today=today)
        for step in flow.steps:
            asked = machine.prompt_view(situation, step)
            yield asked
            if optional_too:
                yield asked.model_copy(update={"required": not asked.required, "can_go_back": True})
