"""The Teams front end: one routing table from the SDK's activity kinds to the handlers.

``register`` is the only place that knows which activities the app answers; the bodies live
in :mod:`handlers.teams.listeners` (the web process) and :mod:`handlers.teams.replier` (workers).
"""

from __future__ import annotations

from microsoft_teams.apps import App

from handlers.teams.channels import TeamsChannelPoster
from handlers.teams.gate import TeamsGate
from handlers.teams.http import (
    MESSAGES_PATH,
    RouteCollector,
    build_app,
    check_tokens_with,
    messages_endpoint,
)
from handlers.teams.listeners import TeamsListeners, TeamsServices
from handlers.teams.replier import TeamsReplier
from handlers.teams.sender import TeamsSender

__all__ = [
    "MESSAGES_PATH",
    "RouteCollector",
    "TeamsChannelPoster",
    "TeamsGate",
    "TeamsReplier",
    "TeamsSender",
    "TeamsServices",
    "build_app",
    "check_tokens_with",
    "messages_endpoint",
    "register",
]


def register(app: App, services: TeamsServices, gate: TeamsGate) -> None:
    """Wire every Teams activity the app answers to its handler, each behind ``gate``
    (the Bot Connector and tenant allowlists)."""
    app.use(gate)
    listeners = TeamsListeners(services)
    app.on_message(listeners.on_message)
    app.on_card_action_execute(listeners.on_card_action)
    app.on_install_add(listeners.on_install)
    app.on_install_remove(listeners.on_uninstall)
    app.on_conversation_update(listeners.on_conversation_update)
