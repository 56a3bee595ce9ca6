"""Who the Teams front end serves: checked on every activity before any handler runs.

* The ``serviceUrl`` must be a Bot Connector of Teams' clouds (``TEAMS_SERVICE_URL_HOSTS``):
  a reply carries the bot's token there, so an activity naming any other host is dropped
  (with a log) and nothing is sent anywhere. Signed activities cannot name another host (the
  token's ``serviceurl`` claim must match); this is what holds in unauthenticated mode.
* The tenant must be allowlisted (``TEAMS_ALLOWED_TENANTS``, by default ``TEAMS_TENANT_ID``):
  an activity from any other tenant is not queued. A click is answered with a polite refusal
  (the invoke's own answer, nothing sent); a message is answered so once a day per person;
  installs and channel additions are ignored. Each refusal is logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from typing import Any

from microsoft_teams.api import InvokeResponse
from microsoft_teams.apps import ActivityContext

from cards.words import OTHER_TENANT
from handlers.refusals import Refusals
from handlers.teams.sender import service_url_allowed

logger = logging.getLogger(__name__)

CARD_ACTION = "adaptiveCard/action"


class TeamsGate:
    """The first middleware of the Teams app: serviceUrl and tenant allowlists."""

    def __init__(
        self,
        *,
        service_hosts: Collection[str],
        tenants: Collection[str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._hosts = tuple(service_hosts)
        self._tenants = frozenset(tenant.lower() for tenant in tenants)
        self._refusals = Refusals(clock=clock)

    async def __call__(self, ctx: ActivityContext[Any]) -> Any:
        """Let the activity through to the handlers, or refuse it."""
        activity = ctx.activity
        if not service_url_allowed(activity.service_url, self._hosts):
            logger.warning(
                "teams activity %s dropped: serviceUrl %r is not a Bot Framework host "
                "(TEAMS_SERVICE_URL_HOSTS)",
                activity.id,
                activity.service_url,
            )
            return InvokeResponse(status=403)
        tenants = tenants_of(activity)
        if not tenants or not tenants <= self._tenants:
            return await self._refuse(ctx, ",".join(sorted(tenants)) or "(none)")
        await ctx.next()
        return None

    async def _refuse(self, ctx: ActivityContext[Any], tenant: str) -> Any:
        activity = ctx.activity
        sender = getattr(activity, "from_", None)
        user = str(getattr(sender, "aad_object_id", None) or getattr(sender, "id", None) or "")
        logger.warning(
            "teams %s from tenant %s (user %s) refused: not in TEAMS_ALLOWED_TENANTS",
            activity.type,
            tenant,
            user or "unknown",
        )
        if activity.type == "invoke" and getattr(activity, "name", None) == CARD_ACTION:
            # The click's own answer, shown to the clicker alone; nothing is sent.
            return InvokeResponse(
                status=200,
                body={
                    "statusCode": 200,
                    "type": "application/vnd.microsoft.activity.message",
                    "value": OTHER_TENANT,
                },
            )
        if activity.type == "message" and self._refusals.first((tenant, user)):
            await ctx.send(OTHER_TENANT)
        return None


def tenants_of(activity: Any) -> frozenset[str]:
    """Every tenant id the activity names (conversation and channel data), lower-cased."""
    found: set[str] = set()
    conversation = getattr(activity, "conversation", None)
    tenant_id = getattr(conversation, "tenant_id", None)
    if isinstance(tenant_id, str) and tenant_id:
        found.add(tenant_id.lower())
    channel_data = getattr(activity, "channel_data", None)
    tenant = getattr(channel_data, "tenant", None)
    tenant_id = getattr(tenant, "id", None)
    if isinstance(tenant_id, str) and tenant_id:
        found.add(tenant_id.lower())
    return frozenset(found)
