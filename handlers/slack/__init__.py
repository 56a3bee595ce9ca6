"""The Slack front end: one routing table from Slack's ids to the listeners.

``register`` is the only place that knows which command, action, option, view and event ids
the app answers; the bodies live in :mod:`handlers.slack.listeners`. Bolt hands a request to
the first listener that matches it, and the patterns below do not overlap: an approval
card's Approve, Retry and Withdraw queue a decision like any click, Reject opens a modal
instead (never queued by the catch-all), and the modal's submission is its own route; an
incoming referral's Decline does the same (:mod:`handlers.slack.triage`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from cards.ids import VERDICTS, Action
from handlers.slack import listeners, triage
from handlers.slack.channels import SlackChannelPoster
from handlers.slack.gate import SlackGate
from handlers.slack.http import events_endpoint
from handlers.slack.listeners import SlackServices
from handlers.slack.replier import SlackReplier

__all__ = [
    "SlackChannelPoster",
    "SlackGate",
    "SlackReplier",
    "SlackServices",
    "events_endpoint",
    "register",
]

DECISIONS = re.compile(f"^({Action.APPROVE}|{Action.RETRY}|{Action.WITHDRAW})$")
"""Approval card buttons that decide at once (Reject opens a modal first)."""
CARD_ACTIONS = re.compile(f"^(?!({'|'.join([*VERDICTS, Action.DECLINE])})$)rb_")
"""Every other control of our cards (``rb_...``): no approval card button, and not an
incoming referral's Decline (which opens a modal); its Accept and Assign queue at once."""


def register(app: AsyncApp, services: SlackServices, gate: SlackGate) -> None:
    """Wire every Slack trigger of the app to its listener, each behind ``gate`` (the
    workspace allowlist)."""

    async def admit_and_provide(
        body: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
        next: Callable[[], Awaitable[None]],
    ) -> BoltResponse | None:
        # One middleware, not two: Bolt pays an argument injection per middleware and request.
        context["services"] = services
        return await gate.admit(body, context, client, next)

    app.use(admit_and_provide)
    app.command("/referral")(listeners.on_referral_command)
    app.action(DECISIONS)(listeners.on_card_action)
    app.action(Action.REJECT.value)(listeners.on_reject_click)
    app.view(Action.REJECT_REASON.value)(listeners.on_reject_reason)
    app.action(Action.DECLINE.value)(triage.on_decline_click)
    app.view(Action.DECLINE_REASON.value)(triage.on_decline_reason)
    app.action(CARD_ACTIONS)(listeners.on_card_action)
    app.options(re.compile(f"^({Action.SEARCH}|{Action.CHOOSE_MANY})$"))(listeners.on_search)
    app.event("message")(listeners.on_dm_message)
    app.event("app_home_opened")(listeners.on_home_opened)
    app.error(listeners.on_error)
