"""Who is in a Slack user group, remembered by this process for five minutes.

``APPROVERS`` may name a user group (``S...``) rather than each approver. Asking Slack on
every click (and every Home tab visit that lists approvals) would spend a Tier 2 method
(``usergroups.users.list``, about 20 calls a minute per workspace) on an answer that changes
rarely; five minutes is how late a change of the group's members may take effect.

A group Slack refuses to list (deleted, of another workspace, a missing ``usergroups:read``
scope) names nobody; the refusal is logged and remembered like an answer, so it is logged
once per group every five minutes rather than on every click. Only a rate limit is not
remembered: the next click asks again.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.slack.channels import error_code

logger = logging.getLogger(__name__)

GROUP_SECONDS = 300.0
"""How long a group's members are remembered."""
MAX_GROUPS = 1_000
"""Groups remembered at most (the oldest forgotten first)."""


def is_group_id(name: str) -> bool:
    """Whether ``name`` is a Slack user group id (``S...``), as opposed to a user id."""
    return name.startswith("S")


class UserGroups:
    """The members of the user groups this process was asked about."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._members: OrderedDict[str, tuple[float, frozenset[str]]] = OrderedDict()

    async def members(self, client: AsyncWebClient, group_id: str) -> frozenset[str]:
        """The user ids in ``group_id``; none when Slack refuses to list it."""
        cached = self._members.get(group_id)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        try:
            response = await client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as error:
            code = error_code(error)
            logger.warning(
                "slack user group %s could not be listed (%s): it names no approver",
                group_id,
                code or error,
            )
            if code == "ratelimited":
                return frozenset()
            members: frozenset[str] = frozenset()
        else:
            members = frozenset(str(user) for user in response.get("users") or ())
        self._remember(group_id, members)
        return members

    def _remember(self, group_id: str, members: frozenset[str]) -> None:
        self._members[group_id] = (self._clock() + GROUP_SECONDS, members)
        self._members.move_to_end(group_id)
        while len(self._members) > MAX_GROUPS:
            self._members.popitem(last=False)
