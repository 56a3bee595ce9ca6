"""The client against the sandbox over real loopback HTTP: every method, errors and retries."""

from __future__ import annotations

import socket
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr

from bot.partner_center import errors
from bot.partner_center.auth import AccessToken, CachingTokenProvider, StaticTokenProvider
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.retry import RetryPolicy
from bot.referrals.catalogs import ReferralStatus, ReferralSubstatus
from bot.referrals.models import (
    Contract,
    DealRegistration,
    IncompleteReferral,
    Member,
    Referral,
    RegistrationSolutionDetail,
    SolutionTag,
    Target,
)
from bot.referrals.patch import JsonPatch
from bot.referrals.transitions import TransitionError
from tests.bot.partner_center.conftest import SleepRecorder
from tests.fixtures import partner_center
from tests.support.sandbox import PAGE_SIZE, Sandbox

pytestmark = pytest.mark.usefixtures("fresh_sandbox")


def private_referral(name: str = "Contoso Test Deal - [Private]", batch: str = "") -> Referral:
    referral = Referral.from_wire(partner_center("create_private_referral_request"))
    referral.name = name
    if batch:
        referral.external_reference_id = batch
    return referral


def api_requests(sandbox: Sandbox, method: str | None = None) -> list[dict[str, object]]:
    return [r for r in sandbox.requests() if method is None or r["method"] == method]


# -- create / get ---------------------------------------------------------------------------


async def test_create_returns_the_stored_referral(
    client: PartnerCenterClient, fresh_sandbox: Sandbox
) -> None:
    created = await client.create(private_referral())
    assert created.id
    assert created.engagement_id
    assert created.e_tag
    assert created.name == "Contoso Test Deal - [Private]"
    assert created.status is ReferralStatus.ACTIVE
    fetched = await client.get(created.id)
    assert fetched == created

    (post,) = api_requests(fresh_sandbox, "POST")
    headers = post["headers"]
    assert isinstance(headers, dict)
    assert headers["client-request-id"]
    assert headers["ms-correlationid"]


async def test_every_request_gets_a_fresh_client_request_id(
    client: PartnerCenterClient, fresh_sandbox: Sandbox
) -> None:
    for _ in range(3):
        await client.partner_eligibility()
    ids = {str(r["headers"]["client-request-id"]) for r in api_requests(fresh_sandbox)}  # type: ignore[index]
    assert len(ids) == 3


async def test_incomplete_referral_is_refused_before_sending(
    client: PartnerCenterClient, fresh_sandbox: Sandbox
) -> None:
    with pytest.raises(IncompleteReferral) as info:
        await client.create(Referral(name="No customer"))
    assert info.value.missing == ["type", "customerProfile", "consent", "details"]
    assert api_requests(fresh_sandbox) == []


async def test_unknown_id_is_not_found_with_request_id(client: PartnerCenterClient) -> None:
    with pytest.raises(errors.NotFound) as info:
        await client.get("00000000-0000-0000-0000-000000000000")
    assert info.value.status == 404
    assert info.value.code
    assert info.value.request_id
    assert info.value.request_id in info.value.describe()


async def test_empty_id_is_refused_before_sending(client: PartnerCenterClient) -> None:
    with pytest.raises(ValueError, match="referral id is required"):
        await client.get("  ")


async def test_co_sell_creates_two_referrals_in_one_engagement(client: PartnerCenterClient) -> None:
    unrelated = await client.create(private_referral("Unrelated private deal"))
    ours_shared = private_referral("Co-sell with Microsoft")
    assert ours_shared.consent is not None
    ours_shared.consent.consent_to_share_referral_with_microsoft_sellers = True
    mine = await client.create(ours_shared)
    microsoft = ours_shared.model_copy(
        update={
            "engagement_id": mine.engagement_id,
            "target": [Target(type="BusinessProfileLocation", id="msft")],
        }
    )
    linked = await client.create(microsoft)
    assert unrelated.engagement_id != mine.engagement_id
    assert linked.engagement_id == mine.engagement_id
    assert linked.status is ReferralStatus.NEW
    related = await client.list(filter=f"engagementId eq '{mine.engagement_id}'").collect()
    assert {r.id for r in related} == {mine.id, linked.id}


# -- list -----------------------------------------------------------------------------------


async def test_list_follows_next_links_to_the_end(client: PartnerCenterClient) -> None:
    created = [
        await client.create(private_referral(f"Paging {i}", "paging")) for i in range(2 * PAGE_SIZE)
    ]
    listing = client.list(filter="externalReferenceId eq 'paging'", orderby="createdDateTime asc")
    seen = [referral.id async for referral in listing]
    assert seen == [referral.id for referral in created]
    assert listing.pages == 2
    assert listing.total == 2 * PAGE_SIZE
    assert not listing.truncated


async def test_list_stops_at_the_page_cap_and_says_so(client: PartnerCenterClient) -> None:
    for i in range(2 * PAGE_SIZE + 1):
        await client.create(private_referral(f"Cap {i}", "cap"))
    listing = client.list(filter="externalReferenceId eq 'cap'", max_pages=2)
    assert len(await listing.collect()) == 2 * PAGE_SIZE
    assert listing.truncated


async def test_list_top_caps_the_total(client: PartnerCenterClient, fresh_sandbox: Sandbox) -> None:
    for i in range(PAGE_SIZE + 2):
        await client.create(private_referral(f"Top {i}", "top"))
    fresh_sandbox.admin.delete("/requests")
    found = await client.list(filter="externalReferenceId eq 'top'", top=3).collect()
    assert len(found) == 3
    (request,) = api_requests(fresh_sandbox, "GET")
    assert "%24top=3" in str(request["query"]) or "$top=3" in str(request["query"])


async def test_list_filter_and_order(client: PartnerCenterClient) -> None:
    new = await client.list(filter="status eq 'New'", orderby="createdDateTime desc").collect()
    assert new
    assert all(referral.status is ReferralStatus.NEW for referral in new)
    created = [r.created_date_time for r in new]
    assert created == sorted(created, reverse=True)  # type: ignore[type-var]


async def test_bad_filter_is_invalid_with_the_service_message(client: PartnerCenterClient) -> None:
    with pytest.raises(errors.Invalid) as info:
        await client.list(filter="status eq").collect()
    assert info.value.status == 400
    assert info.value.message


# -- update / close / team / registrations --------------------------------------------------


async def test_update_returns_the_referral_or_none_by_prefer(client: PartnerCenterClient) -> None:
    created = await client.create(private_referral())
    assert created.id
    updated = await client.update(
        created.id, JsonPatch().replace("/details/dealValue", "60000"), if_match=created.e_tag
    )
    assert updated is not None
    assert updated.details is not None
    assert updated.details.deal_value == Decimal(60000)
    assert updated.e_tag != created.e_tag
    quiet = await client.update(
        created.id, JsonPatch().replace("/details/notes", "Pilot"), return_representation=False
    )
    assert quiet is None
    assert (await client.get(created.id)).details.notes == "Pilot"  # type: ignore[union-attr]


async def test_stale_etag_is_precondition_failed_and_changes_nothing(
    client: PartnerCenterClient, sleeps: SleepRecorder
) -> None:
    created = await client.create(private_referral())
    assert created.id
    await client.update(created.id, JsonPatch().replace("/details/notes", "First"))
    with pytest.raises(errors.PreconditionFailed):
        await client.update(
            created.id, JsonPatch().replace("/details/notes", "Second"), if_match=created.e_tag
        )
    assert (await client.get(created.id)).details.notes == "First"  # type: ignore[union-attr]
    assert sleeps.waits == []


async def test_close_won_binds_to_the_version_read(
    client: PartnerCenterClient, fresh_sandbox: Sandbox
) -> None:
    created = await client.create(private_referral())
    assert created.id
    closed = await client.close(created.id, "won", reason="Signed")
    assert closed is not None
    assert (closed.status, closed.substatus) == (ReferralStatus.CLOSED, ReferralSubstatus.WON)
    assert closed.status_reason == "Signed"
    (patch,) = api_requests(fresh_sandbox, "PATCH")
    assert patch["headers"]["if-match"] == created.e_tag  # type: ignore[index]


async def test_closing_a_closed_referral_is_refused_before_patching(
    client: PartnerCenterClient, fresh_sandbox: Sandbox
) -> None:
    created = await client.create(private_referral())
    assert created.id
    await client.close(created.id, ReferralSubstatus.LOST, reason="Budget")
    with pytest.raises(TransitionError, match="already closed as Lost"):
        await client.close(created.id, "won")
    assert len(api_requests(fresh_sandbox, "PATCH")) == 1


async def test_unknown_outcome_is_refused_before_any_request(
    client: PartnerCenterClient, fresh_sandbox: Sandbox
) -> None:
    with pytest.raises(TransitionError, match="use one of: won, lost, declined, expired, error"):
        await client.close("anything", "finished")
    assert api_requests(fresh_sandbox) == []


async def test_add_team_member_appends(client: PartnerCenterClient) -> None:
    created = await client.create(private_referral())
    assert created.id
    updated = await client.add_team_member(
        created.id,
        Member(first_name="Jane", last_name="Doe", email="jane.doe@contoso.com"),
        if_match=created.e_tag,
    )
    assert updated is not None
    assert [m.email for m in updated.team or []][-1] == "jane.doe@contoso.com"
    assert len(updated.team or []) == len(created.team or []) + 1


def eligible_referral() -> Referral:
    referral = private_referral("Contoso eligible co-sell")
    assert referral.consent is not None
    assert referral.details is not None
    referral.consent.consent_to_share_referral_with_microsoft_sellers = True
    referral.details.deal_value = Decimal(250000)
    referral.details.requirements.solutions = [  # type: ignore[union-attr]
        SolutionTag(id="DEAL-123456-XYZ", name="Contoso Experience Platform", type="Name")
    ]
    return referral


def registration() -> DealRegistration:
    return DealRegistration(
        type="AzureIPCoSell",
        contract=Contract(currency="USD", value=Decimal(250000), term="Finite"),
        solution_details=[
            RegistrationSolutionDetail(id="DEAL-123456-XYZ", value=Decimal(250000), currency="USD")
        ],
    )


async def test_eligibility_and_registration(
    client: PartnerCenterClient, fresh_sandbox: Sandbox
) -> None:
    mine = await client.create(eligible_referral())
    assert mine.id
    microsoft = await client.create(
        eligible_referral().model_copy(
            update={
                "engagement_id": mine.engagement_id,
                "target": [Target(type="BusinessProfileLocation", id="msft")],
            }
        )
    )
    assert microsoft.id

    report = await client.referral_eligibility(mine.id)
    assert not report.is_eligible
    assert [p.policy_name for p in report.failed_policies] == ["isMicrosoftReferralAcceptedOrWon"]
    with pytest.raises(errors.Invalid, match="isMicrosoftReferralAcceptedOrWon"):
        await client.register_deal(mine.id, registration())

    fresh_sandbox.act(microsoft.id, "accept")
    report = await client.referral_eligibility(mine.id)
    assert report.is_eligible
    assert len(report.passed_policies) == 5
    assert (await client.partner_eligibility()).is_eligible

    registered = await client.register_deal(mine.id, registration())
    assert registered is not None
    (stored,) = registered.registrations or []
    assert stored.id
    assert stored.status == "ReviewPending"


# -- errors and retries ---------------------------------------------------------------------


async def test_429_then_200_honours_retry_after(
    client: PartnerCenterClient, fresh_sandbox: Sandbox, sleeps: SleepRecorder
) -> None:
    created = await client.create(private_referral())
    assert created.id
    fresh_sandbox.fault(status=429, retryAfter=2, times=1, method="GET")
    assert (await client.get(created.id)).id == created.id
    assert sleeps.waits == [2.0]
    assert [r["status"] for r in api_requests(fresh_sandbox, "GET")] == [429, 200]


async def test_503_on_get_is_retried_with_backoff(
    client: PartnerCenterClient, fresh_sandbox: Sandbox, sleeps: SleepRecorder
) -> None:
    fresh_sandbox.fault(status=503, times=2, method="GET")
    assert (await client.partner_eligibility()).is_eligible
    assert len(sleeps.waits) == 2
    assert all(0 <= wait <= 1.0 for wait in sleeps.waits)


async def test_retries_give_up_after_max_attempts(
    client: PartnerCenterClient, fresh_sandbox: Sandbox, sleeps: SleepRecorder
) -> None:
    fresh_sandbox.fault(status=504, times=5, method="GET")
    with pytest.raises(errors.Unavailable) as info:
        await client.partner_eligibility()
    assert info.value.status == 504
    assert len(api_requests(fresh_sandbox, "GET")) == 3
    assert len(sleeps.waits) == 2


async def test_post_that_may_have_reached_the_server_is_not_retried(
    client: PartnerCenterClient, fresh_sandbox: Sandbox, sleeps: SleepRecorder
) -> None:
    fresh_sandbox.fault(status=503, times=1, method="POST")
    with pytest.raises(errors.Unavailable):
        await client.create(private_referral())
    assert len(api_requests(fresh_sandbox, "POST")) == 1
    assert sleeps.waits == []


async def test_post_timing_out_is_not_retried(
    client: PartnerCenterClient, fresh_sandbox: Sandbox, sleeps: SleepRecorder
) -> None:
    fresh_sandbox.fault(delaySeconds=3, times=1, method="POST")
    # Sent, unanswered: maybe created. Its own type says "look before sending it again".
    with pytest.raises(errors.OutcomeUnknown, match="may have received the request"):
        await client.create(private_referral())
    assert sleeps.waits == []


async def test_post_answered_after_the_timeout_created_and_is_found_by_its_key(
    client: PartnerCenterClient, fresh_sandbox: Sandbox, sleeps: SleepRecorder
) -> None:
    referral = private_referral()
    referral.external_reference_id = "draft-o'brien-1"
    fresh_sandbox.fault(answerAfterSeconds=3, times=1, method="POST")
    with pytest.raises(errors.OutcomeUnknown):
        await client.create(referral)
    found = await client.find_by_external_reference("draft-o'brien-1")
    assert found is not None
    assert found.id
    assert found.external_reference_id == "draft-o'brien-1"
    assert await client.find_by_external_reference("draft-o'brien-2") is None


async def test_post_answered_by_a_gateway_timeout_has_an_unknown_outcome(
    client: PartnerCenterClient, fresh_sandbox: Sandbox, sleeps: SleepRecorder
) -> None:
    fresh_sandbox.fault(status=504, times=1, method="POST")
    with pytest.raises(errors.OutcomeUnknown):
        await client.create(private_referral())
    fresh_sandbox.fault(status=503, times=1, method="POST")
    with pytest.raises(errors.Unavailable) as refused:
        await client.create(private_referral())
    assert not isinstance(refused.value, errors.OutcomeUnknown)


async def test_throttled_post_is_retried_because_it_was_not_processed(
    client: PartnerCenterClient, fresh_sandbox: Sandbox, sleeps: SleepRecorder
) -> None:
    fresh_sandbox.fault(status=429, retryAfter=1, times=1, method="POST")
    created = await client.create(private_referral())
    assert created.id
    assert sleeps.waits == [1.0]
    assert [r["status"] for r in api_requests(fresh_sandbox, "POST")] == [429, 201]


async def test_patch_is_retried_only_with_if_match(
    client: PartnerCenterClient, fresh_sandbox: Sandbox, sleeps: SleepRecorder
) -> None:
    created = await client.create(private_referral())
    assert created.id
    fresh_sandbox.fault(status=503, times=1, method="PATCH")
    with pytest.raises(errors.Unavailable):
        await client.update(created.id, JsonPatch().replace("/details/notes", "x"))
    fresh_sandbox.fault(status=503, times=1, method="PATCH")
    updated = await client.update(
        created.id, JsonPatch().replace("/details/notes", "y"), if_match=created.e_tag
    )
    assert updated is not None
    assert updated.details.notes == "y"  # type: ignore[union-attr]
    assert len(sleeps.waits) == 1


async def test_long_retry_after_is_reported_not_waited(
    client: PartnerCenterClient, fresh_sandbox: Sandbox, sleeps: SleepRecorder
) -> None:
    fresh_sandbox.fault(status=429, retryAfter=3600, times=1, method="GET")
    with pytest.raises(errors.Throttled) as info:
        await client.partner_eligibility()
    assert info.value.retry_after == 3600
    assert sleeps.waits == []


async def test_unreachable_service_is_retried_then_unavailable(sleeps: SleepRecorder) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    async with httpx.AsyncClient() as http:
        client = PartnerCenterClient(
            http,
            base_url=f"http://127.0.0.1:{closed_port}/v1.0",
            tokens=StaticTokenProvider(SecretStr("t")),
            retry=RetryPolicy(max_attempts=3),
            sleep=sleeps,
        )
        with pytest.raises(errors.Unavailable, match="ConnectError"):
            await client.create(private_referral())
    # Nothing was ever sent, so even a POST may be tried again.
    assert len(sleeps.waits) == 2


# -- responses only a misbehaving service sends (mocked at the HTTP boundary) ---------------


def mocked_client(handler: httpx.MockTransport) -> PartnerCenterClient:
    # MockTransport holds no sockets, so the client needs no closing.
    return PartnerCenterClient(
        httpx.AsyncClient(transport=handler),
        base_url="https://api.partner.microsoft.com/v1.0",
        tokens=StaticTokenProvider(SecretStr("t")),
        sleep=SleepRecorder(),
    )


async def test_next_link_to_another_host_is_not_followed() -> None:
    sent: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(
            200,
            json={
                "value": [{"id": "1"}],
                "@odata.nextLink": "https://evil.example/next?$skiptoken=x",
            },
        )

    client = mocked_client(httpx.MockTransport(respond))
    with pytest.raises(errors.UnexpectedResponse, match="another host"):
        await client.list().collect()
    assert len(sent) == 1


async def test_documented_sample_next_link_is_followed_on_our_own_path() -> None:
    sent: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if "$skiptoken" not in str(request.url) and "%24skiptoken" not in str(request.url):
            return httpx.Response(
                200,
                json={
                    "value": [{"id": "1"}],
                    # The docs' own sample: plain http and no /engagements segment.
                    "@odata.nextLink": "http://api.partner.microsoft.com/v1.0/referrals?$skiptoken=abc",
                },
            )
        return httpx.Response(200, json={"value": [{"id": "2"}]})

    client = mocked_client(httpx.MockTransport(respond))
    assert [r.id for r in await client.list(filter="status eq 'New'").collect()] == ["1", "2"]
    second = sent[1].url
    assert second.scheme == "https"
    assert second.path == "/v1.0/engagements/referrals"
    assert second.params["$skiptoken"] == "abc"
    assert second.params["$filter"] == "status eq 'New'"


async def test_unreadable_success_body_is_an_unexpected_response() -> None:
    client = mocked_client(httpx.MockTransport(lambda _: httpx.Response(200, text="<html>")))
    with pytest.raises(errors.UnexpectedResponse, match="cannot read"):
        await client.get("abc")


async def test_401_refreshes_a_refreshable_token_once() -> None:
    issued = iter(["expired", "fresh"])

    async def source(refused: bool) -> AccessToken:
        return AccessToken(SecretStr(next(issued)))

    seen: list[str] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        if request.headers["Authorization"] == "Bearer expired":
            return httpx.Response(
                401, json={"error": {"code": "unauthenticated", "message": "expired"}}
            )
        return httpx.Response(200, json={"isEligible": True, "policies": []})

    client = PartnerCenterClient(
        httpx.AsyncClient(transport=httpx.MockTransport(respond)),
        base_url="https://api.partner.microsoft.com/v1.0",
        tokens=CachingTokenProvider(source),
    )
    assert (await client.partner_eligibility()).is_eligible
    assert seen == ["Bearer expired", "Bearer fresh"]


async def test_401_with_a_static_token_is_unauthorized() -> None:
    client = mocked_client(
        httpx.MockTransport(
            lambda _: httpx.Response(
                401, json={"error": {"code": "unauthenticated", "message": "no"}}
            )
        )
    )
    with pytest.raises(errors.Unauthorized, match="no"):
        await client.partner_eligibility()
