"""Authentication, request ids, injected faults and the request log."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.bot.partner_center.sandbox.conftest import TLS, Running, create, start_sandbox

FABRIKAM = "/engagements/referrals/c5fbb3b6-be74-4795-9fb5-4324c73fed37"


# --- authentication ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [None, "", "Bearer", "Bearer\tx", "Basic dXNlcjpwYXNz", "token-without-scheme"]
)
async def test_api_routes_need_a_bearer_token(running: Running, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    async with httpx.AsyncClient(base_url=running.base_url, headers=headers, verify=TLS) as client:
        response = await client.get(FABRIKAM)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_any_bearer_token_will_do(running: Running) -> None:
    headers = {"Authorization": "bearer whatever-you-like"}
    async with httpx.AsyncClient(base_url=running.base_url, headers=headers, verify=TLS) as client:
        assert (await client.get(FABRIKAM)).status_code == 200


async def test_admin_routes_need_no_token(admin: httpx.AsyncClient) -> None:
    assert (await admin.get("/requests")).status_code == 200


@pytest.fixture(scope="module")
def locked() -> Iterator[Running]:
    """A sandbox that accepts one token only."""
    yield from start_sandbox(required_token="s3cret")


@pytest.mark.parametrize(("token", "status"), [("s3cret", 200), ("s3cret2", 401), ("other", 401)])
async def test_a_required_token_is_enforced(locked: Running, token: str, status: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=locked.base_url, headers=headers, verify=TLS) as client:
        assert (await client.get(FABRIKAM)).status_code == status


CHECKED_TOKENS: list[str] = []
"""Every token :func:`_token_check` was asked about (the server thread appends)."""


def _token_check(token: str) -> tuple[int, str] | None:
    """Known tokens pass, one is valid but not allowed, the rest are refused."""
    CHECKED_TOKENS.append(token)
    return {
        "good": None,
        "no-role": (403, "The caller has no Partner Center referrals role."),
    }.get(token, (401, f"The token {token!r} has expired."))


@pytest.fixture(scope="module")
def checked() -> Iterator[Running]:
    """A sandbox that asks a token check about every bearer token."""
    yield from start_sandbox(token_check=_token_check)


@pytest.mark.parametrize(
    ("token", "status", "code", "message"),
    [
        ("good", 200, None, None),
        ("no-role", 403, "accessDenied", "The caller has no Partner Center referrals role."),
        ("stale", 401, "unauthenticated", "The token 'stale' has expired."),
    ],
)
async def test_a_token_check_decides_status_and_reason(
    checked: Running, token: str, status: int, code: str | None, message: str | None
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=checked.base_url, headers=headers, verify=TLS) as client:
        response = await client.get(FABRIKAM)

    assert response.status_code == status
    if code is not None:
        assert response.json() == {"error": {"code": code, "message": message}}
    assert ("www-authenticate" in response.headers) is (status == 401)
    assert "request-id" in response.headers


async def test_a_token_check_sees_the_token_only_after_the_header_is_well_formed(
    checked: Running,
) -> None:
    checked.admin.delete("/requests").raise_for_status()
    CHECKED_TOKENS.clear()
    async with httpx.AsyncClient(base_url=checked.base_url, verify=TLS) as client:
        missing = await client.get(FABRIKAM)
        basic = await client.get(FABRIKAM, headers={"Authorization": "Basic good"})
        bearer = await client.get(FABRIKAM, headers={"Authorization": "Bearer good"})

    assert [missing.status_code, basic.status_code, bearer.status_code] == [401, 401, 200]
    assert CHECKED_TOKENS == ["good"]
    assert "Authorization header" in basic.json()["error"]["message"]
    logged = checked.admin.get("/requests").json()["requests"]
    assert [entry["status"] for entry in logged] == [401, 401, 200]


# --- request ids -------------------------------------------------------------------------------


async def test_every_response_has_a_new_request_id(
    api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    responses = [
        await api.get(FABRIKAM),
        await api.get("/engagements/referrals/missing"),
        await api.get(FABRIKAM, headers={"Authorization": ""}),
        await admin.get("/faults"),
    ]

    request_ids = [uuid.UUID(response.headers["request-id"]) for response in responses]
    assert len(set(request_ids)) == len(responses)
    assert all("client-request-id" not in response.headers for response in responses)


async def test_the_client_request_id_is_echoed(api: httpx.AsyncClient) -> None:
    client_id = str(uuid.uuid4())

    ok = await api.get(FABRIKAM, headers={"client-request-id": client_id})
    failed = await api.get("/engagements/referrals/x", headers={"client-request-id": client_id})

    assert ok.headers["client-request-id"] == failed.headers["client-request-id"] == client_id


# --- the request log -----------------------------------------------------------------------------


async def test_the_log_shows_what_was_sent_and_answered(
    api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    created = await create(api)
    await api.patch(
        f"/engagements/referrals/{created['id']}",
        json=[{"op": "replace", "path": "/details/notes", "value": "n"}],
        headers={
            "client-request-id": "c-1",
            "MS-CorrelationId": "corr-1",
            "If-Match": created["eTag"],
            "Prefer": "return=representation",
            "X-Other": "not logged",
        },
    )
    await api.get("/engagements/referrals", params={"$top": "2"})
    await admin.post(f"/referrals/{created['id']}/win")  # admin calls are not logged

    log = (await admin.get("/requests")).json()["requests"]

    assert [(e["method"], e["status"]) for e in log] == [
        ("POST", 201),
        ("PATCH", 200),
        ("GET", 200),
    ]
    patch = log[1]
    assert patch["path"] == f"/v1.0/engagements/referrals/{created['id']}"
    assert patch["headers"] == {
        "client-request-id": "c-1",
        "ms-correlationid": "corr-1",
        "if-match": created["eTag"],
        "prefer": "return=representation",
    }
    assert log[2]["query"] == "%24top=2"
    uuid.UUID(patch["requestId"])


async def test_refused_requests_are_logged_and_the_log_can_be_cleared(
    running: Running, admin: httpx.AsyncClient
) -> None:
    async with httpx.AsyncClient(base_url=running.base_url, verify=TLS) as anonymous:
        await anonymous.get(FABRIKAM)
    before = (await admin.get("/requests")).json()["requests"]

    cleared = await admin.delete("/requests")

    assert [e["status"] for e in before] == [401]
    assert cleared.status_code == 204
    assert (await admin.get("/requests")).json() == {"requests": []}


# --- faults --------------------------------------------------------------------------------------


async def test_throttling_then_normal_answers(
    api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    queued = await admin.post("/faults", json={"status": 429, "retryAfter": 7, "times": 2})

    statuses = []
    for _ in range(3):
        response = await api.get(FABRIKAM)
        statuses.append((response.status_code, response.headers.get("retry-after")))

    assert queued.status_code == 201
    assert statuses == [(429, "7"), (429, "7"), (200, None)]
    throttled = await admin.get("/requests")
    assert [e["status"] for e in throttled.json()["requests"]] == [429, 429, 200]


async def test_a_fault_answers_with_the_error_body(
    api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await admin.post("/faults", json={"status": 503})
    await admin.post(
        "/faults", json={"status": 500, "code": "generalException", "message": "Boom."}
    )

    unavailable = await api.get(FABRIKAM)
    failing = await api.get(FABRIKAM)

    assert unavailable.status_code == 503
    assert unavailable.json()["error"]["code"] == "serviceNotAvailable"
    assert "request-id" in unavailable.headers
    assert "retry-after" not in unavailable.headers
    assert failing.json() == {"error": {"code": "generalException", "message": "Boom."}}


async def test_faults_match_method_and_path(
    api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await admin.post(
        "/faults", json={"status": 503, "method": "post", "path": "/engagements/referrals"}
    )
    await admin.post("/faults", json={"status": 504, "path": "/engagements/partners"})

    get = await api.get(FABRIKAM)
    eligibility = await api.post(f"{FABRIKAM}/dealregistrations/eligibility")
    partner = await api.get("/engagements/partners/dealregistrationeligibility")
    partner_again = await api.get("/engagements/partners/dealregistrationeligibility")

    assert get.status_code == 200
    assert eligibility.status_code == 503
    assert (partner.status_code, partner_again.status_code) == (504, 200)
    assert (await admin.get("/faults")).json() == {"faults": []}


async def test_faults_are_used_in_the_order_queued(
    api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await admin.post("/faults", json={"status": 503})
    await admin.post("/faults", json={"status": 429})

    statuses = [(await api.get(FABRIKAM)).status_code for _ in range(3)]

    assert statuses == [503, 429, 200]


async def test_a_delay_slows_the_answer_down(
    api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await admin.post("/faults", json={"delaySeconds": 0.3, "method": "GET"})

    started = time.perf_counter()
    slow = await api.get(FABRIKAM)
    slow_time = time.perf_counter() - started
    started = time.perf_counter()
    fast = await api.get(FABRIKAM)
    fast_time = time.perf_counter() - started

    assert (slow.status_code, fast.status_code) == (200, 200)
    assert slow_time >= 0.3
    assert fast_time < 0.3


async def test_a_delayed_error_times_out_a_patient_client(
    api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await admin.post("/faults", json={"status": 503, "delaySeconds": 0.5})

    with pytest.raises(httpx.ReadTimeout):
        await api.get(FABRIKAM, timeout=0.1)
    await asyncio.sleep(0.5)  # let the delayed answer go out before the next test resets

    assert (await admin.get("/faults")).json() == {"faults": []}


async def test_a_slow_request_does_not_hold_up_the_others(
    api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await admin.post("/faults", json={"delaySeconds": 0.5, "times": 1})

    started = time.perf_counter()
    slow = asyncio.create_task(api.get(FABRIKAM))
    await asyncio.sleep(0.05)
    quick = await api.get(FABRIKAM)
    quick_time = time.perf_counter() - started
    await slow

    assert quick.status_code == 200
    assert quick_time < 0.4


@pytest.mark.parametrize(
    "fault",
    [
        {},
        {"status": 200},
        {"status": "429"},
        {"status": 429, "times": 0},
        {"status": 429, "retryAfter": -1},
        {"status": 429, "retryAfter": "soon"},
        {"delaySeconds": 0},
        {"delaySeconds": 3600},
        {"status": 429, "path": "engagements"},
        {"status": 429, "method": "G E T"},
        {"status": 429, "retry": 5},
        ["not", "an", "object"],
    ],
)
async def test_malformed_faults_are_refused(admin: httpx.AsyncClient, fault: object) -> None:
    response = await admin.post("/faults", json=fault)

    assert response.status_code == 400
    assert response.json()["error"]["message"]


async def test_queued_faults_can_be_listed_and_cleared(
    api: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await admin.post("/faults", json={"status": 429, "times": 3, "method": "PATCH"})

    listed = (await admin.get("/faults")).json()["faults"]
    cleared = await admin.delete("/faults")

    assert listed == [
        {
            "status": 429,
            "retryAfter": None,
            "times": 3,
            "method": "PATCH",
            "path": None,
            "delaySeconds": 0.0,
            "code": None,
            "message": None,
            "answerAfterSeconds": 0.0,
        }
    ]
    assert cleared.status_code == 204
    assert (await api.get(FABRIKAM)).status_code == 200
    assert (await admin.get("/faults")).json() == {"faults": []}
