"""Every flow, by the name sellers start it with (``/referral new``, ``update``, ...).

Built with :func:`~bot.conversation.vocabulary.steps.flow_index`, so importing this module
fails when two flows use one step id for different steps.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.conversation.vocabulary.flows import close, new_referral, register, team, update
from bot.conversation.vocabulary.steps import Flow, flow_index

FLOWS: Mapping[str, Flow] = flow_index(
    new_referral.FLOW, update.FLOW, close.FLOW, team.FLOW, register.FLOW
)

__all__ = ["FLOWS"]
