"""The built-in sandbox on a loopback port, shared by every test that talks to Partner Center."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.partner_center.sandbox import SandboxState, create_sandbox_app, run_sandbox_in_thread

PAGE_SIZE = 5


class Sandbox:
    """The running sandbox: its API root and its admin routes."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.admin_url = base_url.removesuffix("/v1.0") + "/sandbox"
        self.admin = httpx.Client(base_url=self.admin_url)

    def reset(self) -> None:
        self.admin.post("/reset").raise_for_status()
        self.admin.delete("/faults").raise_for_status()
        self.admin.delete("/requests").raise_for_status()

    def fault(self, **fault: Any) -> None:
        self.admin.post("/faults", json=fault).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        response = self.admin.get("/requests")
        response.raise_for_status()
        return list(response.json()["requests"])

    def act(self, referral_id: str, action: str, **body: Any) -> None:
        self.admin.post(f"/referrals/{referral_id}/{action}", json=body or None).raise_for_status()

    def send_incoming(self, **fields: Any) -> dict[str, Any]:
        """Send the partner an incoming referral, as Microsoft would (``fields`` replace those
        of the sandbox's default lead: ``name=``, ``customerProfile={"name": ...}``,
        ``inviteContext={"invitedBy": {...}}``, ``team=[...]``); the referral as created."""
        response = self.admin.post("/referrals/incoming", json=fields)
        response.raise_for_status()
        return dict(response.json())

    def clear_faults(self) -> None:
        """Partner Center answers normally again."""
        self.admin.delete("/faults").raise_for_status()

    def named(self, name: str) -> list[dict[str, Any]]:
        """The referrals called ``name``, as the API lists them."""
        quoted = name.replace("'", "''")
        response = httpx.get(
            f"{self.base_url}/engagements/referrals",
            params={"$filter": f"name eq '{quoted}'"},
            headers={"Authorization": "Bearer test-token"},
        )
        response.raise_for_status()
        return list(response.json()["value"])

    def set_partner_eligible(self, eligible: bool) -> None:
        """Whether the partner may register deals (until the next reset)."""
        self.admin.post("/partner", json={"dealRegistrationEligible": eligible}).raise_for_status()

    def referral(self, referral_id: str) -> dict[str, Any]:
        """The referral as the API has it now (read through the API, as any client would)."""
        response = httpx.get(
            f"{self.base_url}/engagements/referrals/{referral_id}",
            headers={"Authorization": "Bearer test-token"},
        )
        response.raise_for_status()
        return dict(response.json())


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    app = create_sandbox_app(SandboxState(page_size=PAGE_SIZE))
    with run_sandbox_in_thread(app) as base_url:
        running = Sandbox(base_url)
        with running.admin:
            yield running


@pytest.fixture
def fresh_sandbox(sandbox: Sandbox) -> Sandbox:
    sandbox.reset()
    return sandbox
