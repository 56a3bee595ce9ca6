"""Which workspaces the Slack front end serves: checked on every request before a listener
queues anything.

* Every workspace a request names (``team_id``, ``team.id``, the clicker's ``user.team_id``,
  an event's ``team`` / ``user_team`` / ``source_team``: in a Slack Connect channel a person
  of another workspace carries their own) must be allowlisted: ``SLACK_ALLOWED_TEAMS``, by
  default the workspace of the bot token (``auth.test``, asked once per process; its name is
  what a refusal names).

Guests are refused by the worker (:meth:`handlers.slack.replier.SlackReplier.admits`): telling
one needs ``users.info``, a rate-limited Web API call that must not stand between a request
and its acknowledgement.

A refused request is acknowledged and nothing is queued; the person is told why once a day
(through the request's own channel: the command's answer, the click's ``response_url``, a
message in the DM), and every refusal is logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from cards.words import other_workspace
from handlers.refusals import Refusals

logger = logging.getLogger(__name__)


class SlackGate:
    """The workspace allowlist, checked by the app's one global middleware (:meth:`admit`)."""

    def __init__(
        self,
        *,
        allowed_teams: Collection[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._allowed = frozenset(allowed_teams)
        self._refusals = Refusals(clock=clock)
        self._own: tuple[str | None, str | None] | None = None

    async def admit(
        self,
        body: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
        next_: Callable[[], Awaitable[None]],
    ) -> BoltResponse | None:
        """Pass the request on (``next_``), or answer it with a refusal."""
        own_id, own_name = await self._own_workspace(client)
        allowed = self._allowed or frozenset([own_id] if own_id else [])
        teams = teams_of(body)
        user = context.user_id or ""
        foreign = sorted(teams - allowed) if teams else ["(none)"]
        if foreign:
            logger.warning(
                "slack request from workspace %s (user %s) refused: not in SLACK_ALLOWED_TEAMS",
                ",".join(foreign),
                user or "unknown",
            )
            return await self._refuse(body, context, client, other_workspace(own_name))
        await next_()
        return None

    async def _refuse(
        self,
        body: Mapping[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
        reason: str,
    ) -> BoltResponse:
        kind = str(body.get("type") or ("command" if "command" in body else ""))
        if kind == "block_suggestion":
            return BoltResponse(status=200, body={"options": []})
        key = (",".join(sorted(teams_of(body))), context.user_id or "", reason)
        if not self._refusals.first(key):
            return BoltResponse(status=200, body="")
        if kind == "command":
            return BoltResponse(status=200, body={"response_type": "ephemeral", "text": reason})
        try:
            if kind == "block_actions" and isinstance(context.respond, AsyncRespond):
                await context.respond(
                    text=reason, response_type="ephemeral", replace_original=False
                )
            elif kind == "event_callback":
                event = body.get("event") or {}
                if event.get("type") == "message" and event.get("channel_type") == "im":
                    await client.chat_postMessage(channel=str(event["channel"]), text=reason)
        except Exception as error:  # noqa: BLE001 - the refusal stands; telling it is a nicety
            logger.warning("could not tell %s why they were refused: %s", key[1], error)
        return BoltResponse(status=200, body="")

    async def _own_workspace(self, client: AsyncWebClient) -> tuple[str | None, str | None]:
        """The bot token's workspace (id and name), from ``auth.test``, asked once."""
        if self._own is None:
            found = await client.auth_test()
            self._own = (found.get("team_id"), found.get("team"))
        return self._own


def teams_of(body: Mapping[str, Any]) -> frozenset[str]:
    """Every workspace id the request names (enterprise ids ``E...`` left out)."""
    found: list[Any] = [body.get("team_id"), body.get("user_team")]
    for name in ("team", "user"):
        part = body.get(name)
        if isinstance(part, Mapping):
            found.append(part.get("id") if name == "team" else part.get("team_id"))
    event = body.get("event")
    if isinstance(event, Mapping):
        found.extend(event.get(name) for name in ("team", "user_team", "source_team"))
    return frozenset(
        team for team in found if isinstance(team, str) and team and not team.startswith("E")
    )
