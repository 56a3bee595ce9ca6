"""One sandbox per test module on a loopback port, reset before every test, and plain clients."""

from __future__ import annotations

import copy
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.partner_center.sandbox import SandboxState, create_sandbox_app, run_sandbox_in_thread

START = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
TOKEN = "test-token"

# Only plain HTTP on loopback is spoken here, so no TLS ever happens; one shared context spares
# every client from loading the CA bundle (about 20 ms each, which adds up over the suite).
TLS = ssl.create_default_context()


class FakeClock:
    """A clock that only moves when told to; shared with the server thread (plain attributes)."""

    def __init__(self, start: datetime = START) -> None:
        self.current = start
        self.ticks = 0.0

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return self.ticks

    def advance(self, seconds: float) -> datetime:
        self.current += timedelta(seconds=seconds)
        self.ticks += seconds
        return self.current


@dataclass
class Running:
    """A running sandbox: where it listens, and its state and clock for white-box checks."""

    base_url: str
    state: SandboxState
    clock: FakeClock
    admin: httpx.Client

    @property
    def origin(self) -> str:
        return self.base_url.removesuffix("/v1.0")


def start_sandbox(**state_options: Any) -> Iterator[Running]:
    """Serve a sandbox with a fake clock for the duration of a fixture."""
    clock = FakeClock()
    state = SandboxState(clock=clock, **state_options)
    with run_sandbox_in_thread(create_sandbox_app(state)) as base_url:
        origin = base_url.removesuffix("/v1.0")
        with httpx.Client(base_url=origin + "/sandbox", verify=TLS) as admin:
            yield Running(base_url, state, clock, admin)


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    yield from start_sandbox()


@pytest.fixture(autouse=True)
def _fresh(request: pytest.FixtureRequest) -> None:
    # Only for tests that use the shared sandbox: back to the seeded state, clock included.
    if "running" not in request.fixturenames:
        return
    sandbox: Running = request.getfixturevalue("running")
    sandbox.clock.current = START
    sandbox.admin.post("/reset").raise_for_status()


@pytest.fixture
async def api(running: Running) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the Referrals API routes, with a bearer token."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=running.base_url, headers=headers, verify=TLS) as client:
        yield client


@pytest.fixture
async def admin(running: Running) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the admin routes under /sandbox."""
    async with httpx.AsyncClient(base_url=running.origin + "/sandbox", verify=TLS) as client:
        yield client


MINIMAL_REFERRAL: dict[str, Any] = {
    "name": "Contoso Test Deal - [PartnerLed]",
    "qualification": "SalesQualified",
    "type": "Shared",
    "customerProfile": {
        "name": "Contoso Customer Inc",
        "address": {
            "addressLine1": "One Microsoft Way",
            "city": "Redmond",
            "state": "WA",
            "postalCode": "98052",
            "country": "US",
        },
        "size": "10to50employees",
        "team": [
            {"firstName": "Sue", "lastName": "Smith", "phoneNumber": "1234567890", "email": ""}
        ],
    },
    "consent": {
        "ConsentToToShareInfoWithOthers": True,
        "ConsentToContact": True,
        "ConsentToMicrosoftToContactSpecificPartners": True,
        "consentToShareReferralWithMicrosoftSellers": True,
    },
    "details": {
        "notes": "Customer wants a unified experience platform.",
        "dealValue": 50000,
        "currency": "USD",
        "closingDateTime": "2025-11-14T00:00:00Z",
        "requirements": {
            "solutions": [
                {"type": "Name", "id": "DEAL-123456-XYZ", "name": "Contoso Experience Platform"}
            ]
        },
    },
    "team": [
        {"firstName": "John", "lastName": "Doe", "phoneNumber": "1231231234", "email": "j@x.com"}
    ],
    "target": [],
}
"""A partner-led co-sell referral in the shape of the documentation's create example."""

MICROSOFT_TARGET = [{"type": "BusinessProfileLocation", "id": "msft"}]


def referral_body(**changes: Any) -> dict[str, Any]:
    """A create body: the minimal referral with top-level fields replaced (None removes)."""
    body = copy.deepcopy(MINIMAL_REFERRAL)
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


async def create(api: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    """Create a referral and return it; fails the test unless the sandbox answers 201."""
    response = await api.post("/engagements/referrals", json=referral_body(**changes))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def create_cosell(
    api: httpx.AsyncClient, admin: httpx.AsyncClient, *, accept: bool = True, **changes: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The partner's referral and its linked Microsoft referral (accepted by Microsoft)."""
    partner = await create(api, **changes)
    microsoft = await create(
        api, engagementId=partner["engagementId"], target=MICROSOFT_TARGET, **changes
    )
    if accept:
        response = await admin.post(f"/referrals/{microsoft['id']}/accept")
        assert response.status_code == 200, response.text
    return partner, microsoft
