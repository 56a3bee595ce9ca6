"""Sign-in settings and a browser for tests: the identity stand-in, a fixed key, the suite's
Redis.

The token caches' key is a constant: the check value it writes outlives a test run in the
suite's Redis, and the next run must open it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from bot.identity.caches import Account
from bot.partner_center.sandbox import SandboxState, create_sandbox_app, run_sandbox_in_thread
from bot.settings import Settings
from tests.support.identity_stand_in import (
    CLIENT_ID,
    CLIENT_SECRET,
    TENANT,
    IdentityStandIn,
    Person,
)
from tests.support.sandbox import Sandbox

TEST_KEY = "u0IhRz1Qmq4cq0b4w1SgqUkG0uJ6Yp0hXv2JmR9nYb8="
"""The suite's TOKEN_ENCRYPTION_KEY (a Fernet key)."""
PUBLIC_URL = "http://web"
"""The deployment's public URL in tests: the ASGI client's base URL."""

ADA = Person("6b1e7a4c-2f3d-4e5a-9b8c-0d1e2f3a4b5c", "ada.lovelace@contoso.example", "Ada Lovelace")
"""The seller of the Slack and Teams stand-ins (same email, same Entra object id)."""
GRACE = Person(
    "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "grace.hopper@contoso.example", "Grace Hopper"
)
"""The manager of the Slack and Teams stand-ins."""


def sign_in_settings(identity: IdentityStandIn, **more: Any) -> dict[str, Any]:
    """Settings of ``AUTH_MODE=user`` against ``identity`` (override with ``more``)."""
    return {
        "auth_mode": "user",
        "entra_authority": identity.authority_root,
        "entra_tenant_id": TENANT,
        "entra_client_id": CLIENT_ID,
        "entra_client_secret": CLIENT_SECRET,
        "token_encryption_key": TEST_KEY,
        "requests_ca_bundle": identity.ca_bundle,
        "public_url": PUBLIC_URL,
        **more,
    }


def settings_for(identity: IdentityStandIn, redis_url: str, **more: Any) -> Settings:
    """Whole settings (no .env) of a deployment signing sellers in against ``identity``."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None, redis_url=redis_url, **sign_in_settings(identity, **more)
    )


async def browse(
    identity: IdentityStandIn, link: str, person: Person, web: httpx.AsyncClient
) -> httpx.Response:
    """``person`` opens the sign-in ``link``, signs in, and the browser posts the answer to
    the callback on ``web`` (the app under test)."""
    action, fields = identity.authorize_form(link, person)
    path = action.removeprefix(PUBLIC_URL)
    return await web.post(path, data=fields)


@contextmanager
def sandbox_checking(identity: IdentityStandIn) -> Iterator[Sandbox]:
    """A sandbox of its own that takes only ``identity``'s tokens (401 once revoked or
    expired, 403 for a person without a Referrals role), as Partner Center does."""
    state = SandboxState(page_size=5, token_check=identity.check)
    with run_sandbox_in_thread(create_sandbox_app(state)) as base_url:
        running = Sandbox(base_url)
        with running.admin:
            yield running


@pytest.fixture
def checked_sandbox(fresh_identity: IdentityStandIn) -> Iterator[Sandbox]:
    """:func:`sandbox_checking` the identity stand-in's tokens, for one test."""
    with sandbox_checking(fresh_identity) as sandbox:
        yield sandbox


def username(account: Account | None) -> str | None:
    """The account's user name, or None."""
    return account.username if account is not None else None
