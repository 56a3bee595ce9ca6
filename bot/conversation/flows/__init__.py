"""Every flow, by the name sellers start it with (``/referral new``, ``update``, ...)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.conversation.flows import close, new_referral, team, update
from bot.conversation.steps import Flow

FLOWS: Mapping[str, Flow] = {
    flow.name: flow for flow in (new_referral.FLOW, update.FLOW, close.FLOW, team.FLOW)
}

__all__ = ["FLOWS"]
