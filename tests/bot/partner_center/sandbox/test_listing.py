"""``GET /engagements/referrals``: every documented filter form, ordering, $top and paging."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.partner_center.sandbox.odata import parse_datetime
from tests.bot.partner_center.sandbox.conftest import (
    TLS,
    TOKEN,
    Running,
    create,
    referral_body,
    start_sandbox,
)

FABRIKAM = "c5fbb3b6-be74-4795-9fb5-4324c73fed37"
ADVENTURE_WORKS = "3f2a7c1e-8d4b-4e6f-9a10-2b5c7d9e1f01"
TAILWIND = "7b9d2e4f-6a8c-4b1d-8e3f-5a7c9e1b3d02"
WOODGROVE = "9c1e3a5b-7d9f-4c2e-8a4b-6c8e0a2c4e03"
NORTHWIND = "5e7a9c1d-3f5b-4d7e-9b1c-3e5a7c9e1b04"
NORTHWIND_MSFT = "1d3f5b7e-9a1c-4e3f-8d5b-7a9c1e3f5d05"
SEEDED = [FABRIKAM, ADVENTURE_WORKS, TAILWIND, WOODGROVE, NORTHWIND, NORTHWIND_MSFT]


async def listing(api: httpx.AsyncClient, **params: str) -> dict[str, Any]:
    response = await api.get(
        "/engagements/referrals", params={f"${k}": v for k, v in params.items()}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def ids(api: httpx.AsyncClient, filter_text: str) -> list[str]:
    return [r["id"] for r in (await listing(api, filter=filter_text))["value"]]


async def test_the_envelope_without_options(api: httpx.AsyncClient) -> None:
    body = await listing(api)

    assert body["@odata.count"] == 6
    assert [r["id"] for r in body["value"]] == SEEDED  # creation order
    assert body["@odata.context"].endswith("/v1.0/engagements/referrals/$metadata#Referrals")
    assert "@odata.nextLink" not in body


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ("status eq 'New' and qualification eq 'SalesQualified'", []),
        ("status eq 'New' and qualification eq 'MarketingQualified'", [ADVENTURE_WORKS]),
        (
            "customerProfile/address/country eq 'US' and direction eq 'Incoming'",
            [FABRIKAM, TAILWIND],
        ),
        ("(type eq 'Shared' and direction eq 'Incoming')", [TAILWIND, WOODGROVE]),
        ("(direction eq 'Incoming' and substatus eq 'Pending')", [FABRIKAM, ADVENTURE_WORKS]),
        (
            "status eq 'Active' and direction eq 'Outgoing' and type eq 'Shared'"
            " and team/any(t:t/email eq 'raj.patel@contoso.com')",
            [NORTHWIND, NORTHWIND_MSFT],
        ),
        ("engagementId eq '65edc0b5-3485-41b7-a17e-dfa9ef4706e2'", [FABRIKAM]),
        ("engagementId eq 65edc0b5-3485-41b7-a17e-dfa9ef4706e2", [FABRIKAM]),
        ("engagementId eq 65EDC0B5-3485-41B7-A17E-DFA9EF4706E2", [FABRIKAM]),
        ("status ne 'New'", [TAILWIND, WOODGROVE, NORTHWIND, NORTHWIND_MSFT]),
        ("status eq 'closed'", [WOODGROVE]),
        ("status eq 'Closed' or substatus eq 'Pending'", [FABRIKAM, ADVENTURE_WORKS, WOODGROVE]),
        ("not (status eq 'New')", [TAILWIND, WOODGROVE, NORTHWIND, NORTHWIND_MSFT]),
        ("not status eq 'New' and direction eq 'Incoming'", [TAILWIND, WOODGROVE]),
        ("details/dealValue gt 45000", [TAILWIND, WOODGROVE]),
        ("details/dealValue ge 45000", [ADVENTURE_WORKS, TAILWIND, WOODGROVE]),
        ("details/dealValue lt 30000", [FABRIKAM]),
        ("details/dealValue le 30000.0", [FABRIKAM, NORTHWIND, NORTHWIND_MSFT]),
        ("customerProfile/isMatchingComplete eq false", [TAILWIND]),
        (
            "customerProfile/isMatchingComplete and direction eq 'Incoming'",
            [FABRIKAM, ADVENTURE_WORKS, WOODGROVE],
        ),
        ("statusReason ne null", [WOODGROVE]),
        (
            "closedDateTime eq null and direction eq 'Incoming'",
            [FABRIKAM, ADVENTURE_WORKS, TAILWIND],
        ),
        ("updatedDateTime ge 2025-03-12T00:00:00Z", [FABRIKAM, ADVENTURE_WORKS]),
        ("updatedDateTime ge '2025-03-12T00:00:00Z'", [FABRIKAM, ADVENTURE_WORKS]),
        ("updatedDateTime lt 2025-03-12", [TAILWIND, WOODGROVE, NORTHWIND, NORTHWIND_MSFT]),
        ("createdDateTime eq 2025-03-12T09:30:00.0000000Z", [FABRIKAM]),
        ("createdDateTime gt 2025-03-12T10:30:00+02:00", [FABRIKAM, ADVENTURE_WORKS]),
        (
            "details/requirements/industries/any(i: i/id eq 'Retail & Consumer Goods')",
            [TAILWIND, NORTHWIND, NORTHWIND_MSFT],
        ),
        (
            "details/requirements/solutions/any(s: s/id eq 'DEAL-123456-XYZ')"
            " and target/any(t: t/id eq 'msft')",
            [NORTHWIND_MSFT],
        ),
        ("customerProfile/team/any()", SEEDED),
        ("team/any() eq false", [FABRIKAM, ADVENTURE_WORKS]),
        (
            "team/all(m: endswith(m/email, '@contoso.com')) and team/any()",
            [TAILWIND, WOODGROVE, NORTHWIND, NORTHWIND_MSFT],
        ),
        ("contains(customerProfile/name, 'TRADERS')", [TAILWIND, NORTHWIND, NORTHWIND_MSFT]),
        ("startswith(name, 'northwind') and not contains(name, '(Microsoft)')", [NORTHWIND]),
        (
            "inviteContext/invitedBy/organizationName eq 'Microsoft'",
            [FABRIKAM, ADVENTURE_WORKS, TAILWIND, WOODGROVE],
        ),
        ("customerProfile/address/postalCode eq 'EC2R 8AH'", [WOODGROVE]),
        (
            "customerProfile/address/country eq 'US' and (status eq 'New' or status eq 'Closed')",
            [FABRIKAM],
        ),
        ("registrationStatus eq 'None'", [NORTHWIND]),
        ("name eq 'O''Brien'", []),
    ],
)
async def test_filters(api: httpx.AsyncClient, filter_text: str, expected: list[str]) -> None:
    body = await listing(api, filter=filter_text)

    assert [r["id"] for r in body["value"]] == expected
    assert body["@odata.count"] == len(expected)


async def test_a_quote_inside_a_string_literal(api: httpx.AsyncClient) -> None:
    created = await create(api, name="O'Brien's deal")

    assert await ids(api, "name eq 'o''brien''s deal'") == [created["id"]]


async def test_order_by_one_or_more_properties(api: httpx.AsyncClient, running: Running) -> None:
    newest = await listing(api, orderby="createdDateTime desc")
    oldest = await listing(api, orderby="createdDateTime asc")
    by_status = await listing(api, orderby="status, details/dealValue desc")

    created_order = [r["id"] for r in newest["value"]]
    assert created_order[:2] == [ADVENTURE_WORKS, FABRIKAM]
    assert created_order[-1] == WOODGROVE
    # Ties (the Northwind pair was created at the same moment) keep their creation order.
    assert [r["id"] for r in oldest["value"]] == [
        WOODGROVE,
        NORTHWIND,
        NORTHWIND_MSFT,
        TAILWIND,
        FABRIKAM,
        ADVENTURE_WORKS,
    ]
    assert [r["id"] for r in by_status["value"]] == [
        TAILWIND,
        NORTHWIND,
        NORTHWIND_MSFT,
        WOODGROVE,
        ADVENTURE_WORKS,
        FABRIKAM,
    ]


async def test_order_by_updated_date_sees_new_changes(
    api: httpx.AsyncClient, running: Running
) -> None:
    running.clock.advance(60)
    await api.patch(
        f"/engagements/referrals/{WOODGROVE}",
        json=[{"op": "replace", "path": "/details/notes", "value": "Renewal in 2027."}],
    )

    body = await listing(api, orderby="updatedDateTime desc", top="1")

    assert [r["id"] for r in body["value"]] == [WOODGROVE]


async def test_latest_inbound_cosell(api: httpx.AsyncClient) -> None:
    body = await listing(
        api,
        filter="(type eq 'Shared' and direction eq 'Incoming')",
        top="1",
        orderby="createdDateTime desc",
    )

    assert [r["id"] for r in body["value"]] == [TAILWIND]
    assert body["@odata.count"] == 2
    assert "@odata.nextLink" in body


@pytest.mark.parametrize(("top", "size"), [("1", 1), ("4", 4), ("6", 6), ("100", 6), ("5000", 6)])
async def test_top_sets_the_page_size(api: httpx.AsyncClient, top: str, size: int) -> None:
    body = await listing(api, top=top)

    assert len(body["value"]) == size
    assert body["@odata.count"] == 6


@pytest.mark.parametrize(
    ("params", "target", "fragment"),
    [
        ({"$filter": "status eq"}, "$filter", "position 9"),
        ({"$filter": "stauts eq 'New'"}, "$filter", "did you mean 'status'"),
        ({"$filter": "status eq 'New"}, "$filter", "unterminated"),
        ({"$filter": "status = 'New'"}, "$filter", "'='"),
        ({"$filter": "team eq 'x'"}, "$filter", "collection"),
        ({"$filter": "status eq 'New' and"}, "$filter", "position 19"),
        ({"$filter": ""}, "$filter", "empty"),
        ({"$filter": "status EQ 'New'"}, "$filter", "lower case"),
        ({"$filter": "length(name) eq 3"}, "$filter", "unknown function"),
        ({"$filter": "createdDateTime ge 2025-02-30T00:00:00Z"}, "$filter", "not a valid date"),
        ({"$orderby": "createdDateTime sideways"}, "$orderby", "','"),
        ({"$orderby": "team"}, "$orderby", "collection"),
        ({"$orderby": "customerProfile"}, "$orderby", "object"),
        ({"$orderby": ""}, "$orderby", "empty"),
        ({"$top": "0"}, "$top", "whole number"),
        ({"$top": "-1"}, "$top", "whole number"),
        ({"$top": "ten"}, "$top", "whole number"),
        ({"$skip": "5"}, "$skip", "not supported"),
        ({"$count": "maybe"}, "$count", "true or false"),
    ],
)
async def test_malformed_query_options_are_400(
    api: httpx.AsyncClient, params: dict[str, str], target: str, fragment: str
) -> None:
    response = await api.get("/engagements/referrals", params=params)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalidRequest"
    assert error["target"] == target
    assert fragment in error["message"], error["message"]


async def test_a_repeated_option_is_400(api: httpx.AsyncClient) -> None:
    response = await api.get("/engagements/referrals?$top=1&$top=2")

    assert response.status_code == 400


async def test_count_and_unrelated_parameters_are_accepted(api: httpx.AsyncClient) -> None:
    response = await api.get(
        "/engagements/referrals", params={"$count": "true", "api-version": "1"}
    )

    assert response.status_code == 200


cities = st.text(st.characters(blacklist_categories=("Cs",)), max_size=10).filter(
    lambda text: parse_datetime(text) is None
)


@given(st.lists(st.one_of(st.none(), cities), min_size=1, max_size=4), st.data())
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_eq_over_http_finds_exactly_the_referrals_with_the_value(
    running: Running, values: list[str | None], data: st.DataObject
) -> None:
    marker = str(uuid.uuid4())  # keeps each example to its own referrals
    created: list[tuple[str, str | None]] = []
    with httpx.Client(
        base_url=running.base_url, headers={"Authorization": "Bearer t"}, verify=TLS
    ) as client:
        for value in values:
            body = referral_body(externalReferenceId=marker)
            if value is None:
                del body["customerProfile"]["address"]["city"]
            else:
                body["customerProfile"]["address"]["city"] = value
            response = client.post("/engagements/referrals", json=body)
            assert response.status_code == 201, response.text
            created.append((response.json()["id"], value))
        present = [value for value in values if value is not None]
        probe = data.draw(st.one_of(st.sampled_from(present), cities) if present else cities)
        literal = probe.replace("'", "''")
        response = client.get(
            "/engagements/referrals",
            params={
                "$filter": f"externalReferenceId eq '{marker}' and "
                f"customerProfile/address/city eq '{literal}'"
            },
        )

    assert response.status_code == 200, response.text
    expected = [i for i, v in created if v is not None and v.casefold() == probe.casefold()]
    assert [r["id"] for r in response.json()["value"]] == expected


# --- paging --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_pages() -> Iterator[Running]:
    """A second sandbox whose pages hold five referrals."""
    yield from start_sandbox(page_size=5, seed=False)


@pytest.fixture
async def paged_api(small_pages: Running) -> Any:
    small_pages.state.reset()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(
        base_url=small_pages.base_url, headers=headers, verify=TLS
    ) as client:
        for number in range(13):
            small_pages.clock.advance(1)
            await create(client, name=f"Deal {number:02d}")
        yield client


async def test_following_next_links_visits_every_referral_once(
    paged_api: httpx.AsyncClient,
) -> None:
    pages: list[dict[str, Any]] = [await listing(paged_api, orderby="createdDateTime desc")]
    while "@odata.nextLink" in pages[-1]:
        response = await paged_api.get(pages[-1]["@odata.nextLink"])
        assert response.status_code == 200, response.text
        pages.append(response.json())

    assert [len(page["value"]) for page in pages] == [5, 5, 3]
    assert {page["@odata.count"] for page in pages} == {13}
    names = [r["name"] for page in pages for r in page["value"]]
    assert names == [f"Deal {n:02d}" for n in reversed(range(13))]


async def test_next_links_keep_the_query(
    paged_api: httpx.AsyncClient, small_pages: Running
) -> None:
    first = await listing(paged_api, filter="startswith(name, 'Deal 0')", top="3")

    link = urlsplit(first["@odata.nextLink"])
    query = parse_qs(link.query)
    assert (
        f"{link.scheme}://{link.netloc}{link.path}"
        == small_pages.base_url + "/engagements/referrals"
    )
    assert query["$filter"] == ["startswith(name, 'Deal 0')"]
    assert query["$top"] == ["3"]
    second = (await paged_api.get(first["@odata.nextLink"])).json()
    third = (await paged_api.get(second["@odata.nextLink"])).json()
    names = [r["name"] for r in first["value"] + second["value"] + third["value"]]
    assert names == [f"Deal 0{n}" for n in range(9)]
    assert "@odata.nextLink" in third  # 10 match in all ("Deal 00" .. "Deal 09"): one left


async def test_top_cannot_exceed_the_page_size(paged_api: httpx.AsyncClient) -> None:
    body = await listing(paged_api, top="50")

    assert len(body["value"]) == 5


def _tamper(token: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[7] ^= 1  # move the offset by one page entry
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


async def test_a_tampered_or_foreign_skiptoken_is_400(paged_api: httpx.AsyncClient) -> None:
    first = await listing(paged_api)
    token = parse_qs(urlsplit(first["@odata.nextLink"]).query)["$skiptoken"][0]

    tampered = await paged_api.get("/engagements/referrals", params={"$skiptoken": _tamper(token)})
    garbage = await paged_api.get("/engagements/referrals", params={"$skiptoken": "!!not-base64"})
    other_query = await paged_api.get(
        "/engagements/referrals", params={"$skiptoken": token, "$orderby": "name"}
    )
    genuine = await paged_api.get("/engagements/referrals", params={"$skiptoken": token})

    for response in (tampered, garbage, other_query):
        assert response.status_code == 400
        assert response.json()["error"]["target"] == "$skiptoken"
    assert genuine.status_code == 200
    assert len(genuine.json()["value"]) == 5


async def test_referrals_created_while_paging_are_not_repeated(
    paged_api: httpx.AsyncClient,
) -> None:
    first = await listing(paged_api)
    await create(paged_api, name="Deal late")
    second = (await paged_api.get(first["@odata.nextLink"])).json()

    seen = [r["name"] for r in first["value"] + second["value"]]
    assert len(seen) == len(set(seen)) == 10


async def test_everything_fits_one_default_page(api: httpx.AsyncClient) -> None:
    for _ in range(10):
        await create(api)

    body = await listing(api)

    assert len(body["value"]) == body["@odata.count"] == 16
    assert "@odata.nextLink" not in body
