"""An async client for the Partner Center Referrals API.

Thin on purpose: one method per documented operation, pydantic models in and out, typed
errors. It owns no connection pool of its own; the composition root injects one long-lived
``httpx.AsyncClient`` and a token provider.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, urlsplit

import httpx
from pydantic import BaseModel, ValidationError

from bot.clock import Clock, SystemClock
from bot.metrics import PARTNER_CENTER_CALLS, PARTNER_CENTER_SECONDS
from bot.partner_center.auth import TokenProvider
from bot.partner_center.errors import (
    OutcomeUnknown,
    PartnerCenterError,
    Unavailable,
    UnexpectedResponse,
    error_from_response,
    request_id_from,
)
from bot.partner_center.odata import literal
from bot.partner_center.retry import RETRYABLE_STATUSES, RetryPolicy, parse_retry_after
from bot.referrals.catalogs import ReferralStatus, ReferralSubstatus
from bot.referrals.models import (
    DealRegistration,
    IncompleteReferral,
    Member,
    PartnerEligibility,
    Referral,
    ReferralEligibility,
    ReferralPage,
)
from bot.referrals.patch import JsonPatch, PatchOperation
from bot.referrals.transitions import CLOSING_SUBSTATUSES, TransitionError, check_transition

logger = logging.getLogger(__name__)

REFERRALS = "/engagements/referrals"
PARTNER_ELIGIBILITY = "/engagements/partners/dealregistrationeligibility"
MAX_PAGE_SIZE = 100
UNCLEAR_STATUSES = frozenset({500, 502, 504})
"""Answers to a request that changes something which leave open whether it was applied: the
service failed part-way, or a gateway gave up waiting for it."""

Sleep = Callable[[float], Awaitable[None]]
_Model = TypeVar("_Model", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Receipt:
    """A change Partner Center took: the referral as it now stands (None when the service
    answered 204) and the service's id of the request."""

    referral: Referral | None
    request_id: str | None


class PartnerCenterClient:
    """Creates, reads, lists and changes referrals and checks deal-registration eligibility."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        tokens: TokenProvider,
        principals: Callable[[str], TokenProvider] | None = None,
        retry: RetryPolicy | None = None,
        max_pages: int = 50,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._base = urlsplit(self._base_url)
        self._tokens = tokens
        self._principals = principals
        self._retry = retry or RetryPolicy()
        self._max_pages = max_pages
        self._clock = clock or SystemClock()
        self._sleep = sleep

    @property
    def base_url(self) -> str:
        """The API root this client talks to."""
        return self._base_url

    def acting_for(self, principal: str) -> PartnerCenterClient:
        """This client acting as ``principal`` (a seller's conversation key) when sellers sign
        in themselves; the same client when every call uses one identity."""
        if self._principals is None:
            return self
        acting = copy.copy(self)
        acting._tokens = self._principals(principal)
        return acting

    # -- referrals --------------------------------------------------------------------------

    async def create(self, referral: Referral) -> Referral:
        """Create a referral; raises :class:`IncompleteReferral` before sending if fields lack.

        Not retried once the request may have reached the service: a retry could create a
        second referral.
        """
        missing = referral.missing_for_create()
        if missing:
            raise IncompleteReferral(missing)
        response = await self._request(
            "POST", REFERRALS, json=referral.to_wire(), idempotent=False, expect=(200, 201)
        )
        return self._referral(response)

    async def find_by_external_reference(self, external_reference_id: str) -> Referral | None:
        """The referral created with ``externalReferenceId`` (the oldest if several), or None.

        This is how a create whose outcome is unknown (:class:`OutcomeUnknown`) is looked
        for before it is sent again.
        """
        if not external_reference_id:
            raise ValueError("an external reference id is required")
        found = await self.list(
            filter=f"externalReferenceId eq {literal(external_reference_id)}",
            orderby="createdDateTime asc",
            top=1,
        ).collect()
        return found[0] if found else None

    async def get(self, referral_id: str) -> Referral:
        """Read one referral by id."""
        response = await self._request("GET", _referral_path(referral_id), expect=(200,))
        return self._referral(response)

    def list(
        self,
        *,
        filter: str | None = None,
        orderby: str | None = None,
        top: int | None = None,
        max_pages: int | None = None,
    ) -> ReferralListing:
        """Referrals matching ``filter``, following ``@odata.nextLink`` up to ``max_pages``.

        ``top`` caps the number of referrals returned in all.
        """
        if top is not None and top < 1:
            raise ValueError("top must be at least 1")
        params: dict[str, str] = {}
        if filter:
            params["$filter"] = filter
        if orderby:
            params["$orderby"] = orderby
        if top is not None:
            params["$top"] = str(min(top, MAX_PAGE_SIZE))
        return ReferralListing(self, params, top=top, max_pages=max_pages or self._max_pages)

    async def update(
        self,
        referral_id: str,
        patch: JsonPatch | Iterable[PatchOperation],
        *,
        if_match: str | None = None,
        return_representation: bool = True,
    ) -> Referral | None:
        """Apply a JSON Patch; returns the updated referral, or None when the service sends 204.

        With ``if_match`` the change only applies to that version (else 412,
        :class:`~bot.partner_center.errors.PreconditionFailed`), which also makes it safe to
        retry after a lost response.
        """
        document = patch if isinstance(patch, JsonPatch) else JsonPatch(patch)
        if not document:
            raise ValueError("a patch needs at least one operation")
        headers = {"Prefer": "return=representation"} if return_representation else {}
        if if_match:
            headers["If-Match"] = if_match
        response = await self._request(
            "PATCH",
            _referral_path(referral_id),
            json=document.to_wire(),
            headers=headers,
            idempotent=if_match is not None,
            expect=(200, 204),
        )
        if response.status_code == 204 or not response.content:
            return None
        return self._referral(response)

    async def close(
        self,
        referral: Referral | str,
        outcome: ReferralSubstatus | str,
        *,
        reason: str | None = None,
    ) -> Referral | None:
        """Close a referral as won, lost, declined, expired or error.

        The transition is checked against the table before anything is sent; a referral
        given by id is read first so the check sees its current status and the change is
        bound to that version with ``If-Match``.
        """
        substatus = _closing_substatus(outcome)
        current = referral if isinstance(referral, Referral) else await self.get(referral)
        if current.id is None:
            raise ValueError("the referral has no id")
        if current.is_closed:
            raise TransitionError(
                f"This referral is already closed as {current.substatus}.",
                current=(str(current.status), str(current.substatus)),
                requested=(ReferralStatus.CLOSED, substatus),
            )
        check_transition(
            str(current.status or ReferralStatus.NONE),
            str(current.substatus or ReferralSubstatus.NONE),
            ReferralStatus.CLOSED,
            substatus,
        )
        patch = (
            JsonPatch().replace("/status", ReferralStatus.CLOSED).replace("/substatus", substatus)
        )
        if reason:
            patch.replace("/statusReason", reason)
        return await self.update(current.id, patch, if_match=current.e_tag)

    async def add_team_member(
        self, referral_id: str, member: Member, *, if_match: str | None = None
    ) -> Referral | None:
        """Add a person from the partner's organization to the referral's team."""
        return await self.update(
            referral_id, JsonPatch().append("/team", member), if_match=if_match
        )

    async def register_deal(
        self, referral_id: str, registration: DealRegistration, *, if_match: str | None = None
    ) -> Referral | None:
        """Ask Microsoft to register the deal (``add /registrations/-``)."""
        return (await self.send_registration(referral_id, registration, if_match=if_match)).referral

    async def send_registration(
        self, referral_id: str, registration: DealRegistration, *, if_match: str | None = None
    ) -> Receipt:
        """:meth:`register_deal`, with the service's id of the request (for an audit trail)."""
        headers = {"Prefer": "return=representation"}
        if if_match:
            headers["If-Match"] = if_match
        response = await self._request(
            "PATCH",
            _referral_path(referral_id),
            json=JsonPatch().append("/registrations", registration).to_wire(),
            headers=headers,
            idempotent=if_match is not None,
            expect=(200, 204),
        )
        referral = None
        if response.status_code != 204 and response.content:
            referral = self._referral(response)
        return Receipt(referral, request_id_from(response.headers))

    # -- eligibility ------------------------------------------------------------------------

    async def partner_eligibility(self) -> PartnerEligibility:
        """Whether this partner may register deals at all."""
        response = await self._request("GET", PARTNER_ELIGIBILITY, expect=(200,))
        return _parse(PartnerEligibility, response)

    async def referral_eligibility(self, referral_id: str) -> ReferralEligibility:
        """Which deal-registration policies a referral passes and fails."""
        # A POST without a body that changes nothing: safe to retry.
        response = await self._request(
            "POST",
            f"{_referral_path(referral_id)}/dealregistrations/eligibility",
            headers={"Prefer": "return=representation"},
            idempotent=True,
            expect=(200,),
        )
        return _parse(ReferralEligibility, response)

    # -- transport --------------------------------------------------------------------------

    async def _page(self, url: str, params: Mapping[str, str] | None) -> ReferralPage:
        response = await self._request("GET", url, params=params, expect=(200,))
        return _parse(ReferralPage, response)

    def _next_page_params(self, next_link: str, params: Mapping[str, str]) -> dict[str, str]:
        """Our own list query plus the service's continuation token.

        The documented sample nextLink points at a different path over plain http; rather than
        follow it (and send the bearer token there), keep our URL and take only the token.
        """
        link = urlsplit(next_link)
        if link.hostname and link.hostname != self._base.hostname:
            raise UnexpectedResponse(
                f"The next page link points at another host ({link.hostname}); not following it."
            )
        query = parse_qs(link.query, keep_blank_values=True)
        tokens = query.get("$skiptoken") or query.get("%24skiptoken")
        if not tokens:
            raise UnexpectedResponse("The next page link carries no $skiptoken.")
        return {**params, "$skiptoken": tokens[0]}

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        expect: tuple[int, ...],
    ) -> httpx.Response:
        if idempotent is None:
            idempotent = method == "GET"
        url = f"{self._base_url}{path}"
        correlation_id = str(uuid.uuid4())
        refreshed_token = False
        attempt = 0
        while True:
            attempt += 1
            token = await self._tokens.token()
            request_headers = {
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "client-request-id": str(uuid.uuid4()),
                "MS-CorrelationId": correlation_id,
                **(headers or {}),
            }
            started = time.perf_counter()
            try:
                response = await self._http.request(
                    method, url, params=params, json=json, headers=request_headers
                )
            except httpx.TransportError as exc:
                # Only a connection that never opened proves the service saw nothing.
                never_sent = isinstance(
                    exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
                )
                delay = self._retry.delay(attempt) if (idempotent or never_sent) else None
                PARTNER_CENTER_CALLS.labels(method, "error").inc()
                self._log_failure(method, path, exc, attempt, delay)
                if delay is None and not (idempotent or never_sent):
                    raise OutcomeUnknown(
                        "Partner Center did not answer, and may have received the request: "
                        f"{exc.__class__.__name__}.",
                        correlation_id=correlation_id,
                    ) from exc
                if delay is None:
                    raise Unavailable(
                        f"Could not reach Partner Center: {exc.__class__.__name__}.",
                        correlation_id=correlation_id,
                    ) from exc
                await self._sleep(delay)
                continue
            PARTNER_CENTER_CALLS.labels(method, str(response.status_code)).inc()
            PARTNER_CENTER_SECONDS.labels(method).observe(time.perf_counter() - started)
            self._log_response(method, path, response, started, request_headers)
            status = response.status_code
            if status in expect:
                return response
            if status == 401 and not refreshed_token and self._tokens.invalidate(token):
                refreshed_token = True
                continue
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self._clock.now())
            error = error_from_response(
                status,
                response.content,
                response.headers,
                correlation_id=correlation_id,
                retry_after=retry_after,
            )
            # A throttled request was refused unprocessed, so even a POST may go again.
            may_retry = status in RETRYABLE_STATUSES and (idempotent or status == 429)
            delay = self._retry.delay(attempt, retry_after) if may_retry else None
            if delay is None:
                if 200 <= status < 300:
                    raise UnexpectedResponse(
                        f"Partner Center answered HTTP {status} where {expect} was expected.",
                        status=status,
                        request_id=error.request_id,
                        correlation_id=correlation_id,
                    )
                if not idempotent and status in UNCLEAR_STATUSES:
                    raise OutcomeUnknown(
                        error.message,
                        status=status,
                        code=error.code,
                        request_id=error.request_id,
                        correlation_id=correlation_id,
                    ) from error
                raise error
            logger.warning(
                "partner center %s %s answered %s; retrying in %.2fs (attempt %d)",
                method,
                path,
                status,
                delay,
                attempt,
            )
            await self._sleep(delay)

    def _referral(self, response: httpx.Response) -> Referral:
        referral = _parse(Referral, response)
        etag = response.headers.get("ETag")
        if referral.e_tag is None and etag:
            referral.e_tag = etag
        return referral

    @staticmethod
    def _log_response(
        method: str,
        path: str,
        response: httpx.Response,
        started: float,
        request_headers: Mapping[str, str],
    ) -> None:
        # Refusals (4xx) reach the caller as typed errors carrying the request id; only the
        # service's own failures are worth a line at the default level.
        level = logging.INFO if response.status_code >= 500 else logging.DEBUG
        if not logger.isEnabledFor(level):
            return
        logger.log(
            level,
            "partner center %s %s -> %s in %.1f ms (request-id %s, client-request-id %s)",
            method,
            path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
            request_id_from(response.headers),
            request_headers["client-request-id"],
            extra={"pc_request_id": request_id_from(response.headers)},
        )

    @staticmethod
    def _log_failure(
        method: str, path: str, exc: Exception, attempt: int, delay: float | None
    ) -> None:
        then = f"retrying in {delay:.2f}s" if delay is not None else "giving up"
        logger.warning(
            "partner center %s %s failed: %r (attempt %d); %s", method, path, exc, attempt, then
        )


class ReferralListing:
    """An async iterator over the referrals of a list query, page by page.

    ``truncated`` becomes True when iteration stopped at the page cap while the service still
    had more pages.
    """

    def __init__(
        self,
        client: PartnerCenterClient,
        params: Mapping[str, str],
        *,
        top: int | None,
        max_pages: int,
    ) -> None:
        self._client = client
        self._params = dict(params)
        self._top = top
        self._max_pages = max_pages
        self.truncated = False
        self.pages = 0
        self.total: int | None = None

    def __aiter__(self) -> AsyncIterator[Referral]:
        return self._referrals()

    async def _referrals(self) -> AsyncIterator[Referral]:
        yielded = 0
        params: Mapping[str, str] = self._params
        while True:
            page = await self._client._page(REFERRALS, params)
            self.pages += 1
            if self.total is None:
                self.total = page.count
            for referral in page.value:
                if self._top is not None and yielded >= self._top:
                    return
                yielded += 1
                yield referral
            if not page.next_link or (self._top is not None and yielded >= self._top):
                return
            if self.pages >= self._max_pages:
                self.truncated = True
                logger.warning(
                    "stopped listing referrals after %d pages; narrow the filter", self.pages
                )
                return
            params = self._client._next_page_params(page.next_link, self._params)

    async def collect(self) -> list[Referral]:
        """All referrals of the listing, in order."""
        return [referral async for referral in self]


def _referral_path(referral_id: str) -> str:
    referral_id = referral_id.strip()
    if not referral_id:
        raise ValueError("a referral id is required")
    return f"{REFERRALS}/{quote(referral_id, safe='')}"


def _closing_substatus(outcome: ReferralSubstatus | str) -> ReferralSubstatus:
    by_name = {substatus.value.lower(): substatus for substatus in CLOSING_SUBSTATUSES}
    substatus = by_name.get(str(outcome).strip().lower())
    if substatus is None:
        choices = ", ".join(s.value.lower() for s in CLOSING_SUBSTATUSES)
        raise TransitionError(
            f"{outcome!r} is not a way to close a referral; use one of: {choices}.",
            current=("", ""),
            requested=(ReferralStatus.CLOSED, str(outcome)),
        )
    return substatus


def _parse(model: type[_Model], response: httpx.Response) -> _Model:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise UnexpectedResponse(
            f"Partner Center sent a {model.__name__} this client cannot read: "
            f"{exc.errors()[0]['msg']}",
            status=response.status_code,
            request_id=request_id_from(response.headers),
        ) from exc


__all__ = ["PartnerCenterClient", "PartnerCenterError", "ReferralListing"]
