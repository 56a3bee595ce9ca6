"""Who a Slack user is and where their DM is, remembered by this process.

A seller's name and email change rarely and a DM channel never; asking Slack on every click
would triple the Web API calls per interaction (and Slack rate-limits them).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.slack.channels import error_code

PROFILE_SECONDS = 3600.0
MAX_PEOPLE = 10_000


class People:
    """Profiles (for an hour) and DM channels (for good) of the users this process met."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._profiles: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._channels: OrderedDict[str, str] = OrderedDict()

    async def profile(self, client: AsyncWebClient, user_id: str) -> dict[str, Any]:
        """The user object of ``users.info``."""
        cached = self._profiles.get(user_id)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        response = await client.users_info(user=user_id)
        user: dict[str, Any] = response["user"]
        self._remember(self._profiles, user_id, (self._clock() + PROFILE_SECONDS, user))
        return user

    async def by_email(self, client: AsyncWebClient, email: str) -> dict[str, Any] | None:
        """The user object of the member whose profile has ``email`` (``users.lookupByEmail``),
        or None when Slack knows nobody by it; either answer remembered for an hour."""
        key = "email:" + email.strip().lower()
        cached = self._profiles.get(key)
        if cached is not None and cached[0] > self._clock():
            return cached[1] or None
        try:
            response = await client.users_lookupByEmail(email=email.strip())
        except SlackApiError as error:
            if error_code(error) != "users_not_found":
                raise
            user: dict[str, Any] = {}
        else:
            user = response["user"]
        self._remember(self._profiles, key, (self._clock() + PROFILE_SECONDS, user))
        return user or None

    async def dm(self, client: AsyncWebClient, user_id: str) -> str:
        """The id of the DM between the bot and ``user_id``."""
        channel = self._channels.get(user_id)
        if channel is None:
            response = await client.conversations_open(users=user_id)
            channel = str(response["channel"]["id"])
            self._remember(self._channels, user_id, channel)
        return channel

    @staticmethod
    def _remember(cache: OrderedDict[str, Any], key: str, value: Any) -> None:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > MAX_PEOPLE:
            cache.popitem(last=False)
