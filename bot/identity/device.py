"""Signing the integration user in from a terminal: the device code flow (``referral-bot login``).

msal asks Entra ID for a code, the operator enters it at the printed address in any browser,
and msal polls, at the interval Entra ID sets, until they have (or the code expires). The
integration user's cache is then sealed into Redis, where every process finds it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import msal
import requests

from bot.identity.apps import refusal_reason
from bot.identity.caches import SERVICE_PRINCIPAL, Account, account_in
from bot.identity.setup import SignInParts


class DeviceSignInFailed(Exception):
    """The device code flow ended without a token; the message says why."""


async def sign_in_integration_user(
    parts: SignInParts, scopes: list[str], show: Callable[[str], None]
) -> Account:
    """Run the device code flow; ``show`` gets the instructions (address and code)."""
    cache = msal.SerializableTokenCache()
    app = await asyncio.to_thread(parts.apps.public, cache)
    try:
        flow: dict[str, Any] = await asyncio.to_thread(app.initiate_device_flow, scopes=scopes)
    except (requests.RequestException, ValueError) as error:
        raise DeviceSignInFailed(
            f"cannot reach the Microsoft sign-in service ({error.__class__.__name__})"
        ) from None
    if "user_code" not in flow:
        raise DeviceSignInFailed(refusal_reason(flow))
    show(
        str(flow.get("message") or f"Open {flow['verification_uri']} and enter {flow['user_code']}")
    )
    try:
        result: dict[str, Any] = await asyncio.to_thread(app.acquire_token_by_device_flow, flow)
    except requests.RequestException as error:
        raise DeviceSignInFailed(
            f"lost the Microsoft sign-in service ({error.__class__.__name__})"
        ) from None
    if "access_token" not in result:
        raise DeviceSignInFailed(refusal_reason(result))
    serialized = cache.serialize()
    account = account_in(serialized)
    if account is None:
        raise DeviceSignInFailed("Microsoft answered without an account")
    await parts.caches.save(SERVICE_PRINCIPAL, serialized)
    parts.service.forget(SERVICE_PRINCIPAL)
    return account
