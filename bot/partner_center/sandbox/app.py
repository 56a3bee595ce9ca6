"""The sandbox as an ASGI app: the Referrals API routes under ``/v1.0`` and admin routes.

The admin routes under ``/sandbox`` have no authentication at all: they let anyone act as
Microsoft, change settings and read every request's headers. The sandbox is a local tool for
tests and demos; never expose it beyond the loopback interface.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.clock import Clock
from bot.partner_center.sandbox import operations
from bot.partner_center.sandbox.eligibility import partner_eligibility
from bot.partner_center.sandbox.errors import ApiError, error_response
from bot.partner_center.sandbox.faults import Fault
from bot.partner_center.sandbox.gateway import API_ROOT, ApiGateway
from bot.partner_center.sandbox.incoming import create_incoming
from bot.partner_center.sandbox.listing import envelope, list_referrals, parse_list_query
from bot.partner_center.sandbox.state import SandboxState, StoredReferral
from bot.partner_center.sandbox.webhooks import webhook_routes

__all__ = ["create_sandbox_app", "sandbox_state"]

REFERRALS = f"{API_ROOT}/engagements/referrals"
JSON = "application/json"


def create_sandbox_app(
    state: SandboxState | None = None, *, clock: Clock | None = None, seed: bool = True
) -> Starlette:
    """Build the sandbox app around ``state`` (a new one from ``clock`` and ``seed`` if None).

    ``clock`` and ``seed`` only shape a state created here; to use both a state of your own
    and a clock, give the clock to :class:`SandboxState`.
    """
    if state is None:
        state = SandboxState(seed=seed) if clock is None else SandboxState(clock=clock, seed=seed)
    elif clock is not None:
        raise ValueError("give the clock to SandboxState when passing a state")
    handlers = _Handlers(state)
    routes = [
        Route(REFERRALS, handlers.list_referrals, methods=["GET"]),
        Route(REFERRALS, handlers.create_referral, methods=["POST"]),
        Route(REFERRALS + "/{referral_id}", handlers.get_referral, methods=["GET"]),
        Route(REFERRALS + "/{referral_id}", handlers.update_referral, methods=["PATCH"]),
        Route(
            REFERRALS + "/{referral_id}/dealregistrations/eligibility",
            handlers.referral_eligibility,
            methods=["POST"],
        ),
        Route(
            f"{API_ROOT}/engagements/partners/dealregistrationeligibility",
            handlers.partner_eligibility,
            methods=["GET"],
        ),
        Route("/sandbox/referrals/incoming", handlers.send_incoming, methods=["POST"]),
        Route("/sandbox/referrals/{referral_id}/{action}", handlers.act, methods=["POST"]),
        Route("/sandbox/partner", handlers.set_partner, methods=["POST"]),
        Route("/sandbox/faults", handlers.list_faults, methods=["GET"]),
        Route("/sandbox/faults", handlers.add_fault, methods=["POST"]),
        Route("/sandbox/faults", handlers.clear_faults, methods=["DELETE"]),
        Route("/sandbox/requests", handlers.list_requests, methods=["GET"]),
        Route("/sandbox/requests", handlers.clear_requests, methods=["DELETE"]),
        Route("/sandbox/reset", handlers.reset, methods=["POST"]),
        *webhook_routes(state),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(ApiGateway, state=state)],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
    )
    app.state.sandbox = state
    return app


def sandbox_state(app: Starlette) -> SandboxState:
    """The state behind an app made by :func:`create_sandbox_app`."""
    state = app.state.sandbox
    if not isinstance(state, SandboxState):  # pragma: no cover - only for foreign apps
        raise TypeError("not a sandbox app")
    return state


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    # The router's own 404 and 405, in the API's error shape.
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response(404, f"No route {request.method} {request.url.path}.")
    headers = dict(exc.headers or {})
    return error_response(exc.status_code, str(exc.detail), headers=headers)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = json.dumps(body, ensure_ascii=False).encode()
    return Response(content, status, headers=headers, media_type=JSON)


def _referral(stored: StoredReferral, status: int = 200, **headers: str) -> Response:
    # The body was serialized when this version was stored.
    return Response(stored.body, status, headers={"ETag": stored.etag, **headers}, media_type=JSON)


def _wants_representation(request: Request) -> bool:
    preferences = request.headers.get("prefer", "")
    tokens = (part.strip().lower() for part in preferences.replace(";", ",").split(","))
    return "return=representation" in tokens


async def _optional_json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    body = operations.parse_json(raw)
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return body


class _Handlers:
    """The route bodies, bound to one state."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    # --- the Referrals API -------------------------------------------------------------

    async def create_referral(self, request: Request) -> Response:
        """POST /v1.0/engagements/referrals: 201 with the stored referral."""
        stored = operations.create_referral(self.state, await request.body())
        self.state.webhooks.referral_changed(stored, created=True)
        location = f"{_api_root(request)}/engagements/referrals/{stored.id}"
        return _referral(stored, 201, Location=location)

    async def get_referral(self, request: Request) -> Response:
        """GET /v1.0/engagements/referrals/{id}."""
        return _referral(operations.get_referral(self.state, request.path_params["referral_id"]))

    async def update_referral(self, request: Request) -> Response:
        """PATCH /v1.0/engagements/referrals/{id}: 204, or 200 when Prefer asks for the result."""
        stored = operations.update_referral(
            self.state,
            request.path_params["referral_id"],
            await request.body(),
            if_match=request.headers.get("if-match"),
        )
        self.state.webhooks.referral_changed(stored, created=False)
        if _wants_representation(request):
            return _referral(stored, 200, **{"Preference-Applied": "return=representation"})
        return Response(status_code=204, headers={"ETag": stored.etag})

    async def list_referrals(self, request: Request) -> Response:
        """GET /v1.0/engagements/referrals with $filter, $orderby, $top and $skiptoken."""
        query = parse_list_query(
            request.query_params.multi_items(),
            max_page_size=self.state.page_size,
            key=self.state.token_key,
        )
        page = list_referrals(self.state.all(), query)
        next_link = None
        if page.next_offset is not None:
            token = query.skiptoken(self.state.token_key, page.next_offset)
            url = request.url.remove_query_params("$skiptoken")
            next_link = str(url.include_query_params(**{"$skiptoken": token}))
        context = f"{_api_root(request)}/engagements/referrals/$metadata#Referrals"
        return Response(envelope(page, context=context, next_link=next_link), media_type=JSON)

    async def referral_eligibility(self, request: Request) -> Response:
        """POST /v1.0/engagements/referrals/{id}/dealregistrations/eligibility."""
        report = operations.referral_eligibility(self.state, request.path_params["referral_id"])
        return _json(report.to_json())

    async def partner_eligibility(self, request: Request) -> Response:
        """GET /v1.0/engagements/partners/dealregistrationeligibility."""
        return _json(partner_eligibility(self.state.partner_eligible))

    # --- admin ---------------------------------------------------------------------------

    async def act(self, request: Request) -> Response:
        """POST /sandbox/referrals/{id}/{accept|win|lose|decline|expire}: act as Microsoft."""
        action = request.path_params["action"]
        if action not in operations.MICROSOFT_ACTIONS:
            known = ", ".join(operations.MICROSOFT_ACTIONS)
            raise ApiError(404, f"Unknown action {action!r} (known: {known}).", target="action")
        reason = (await _optional_json(request)).get("reason")
        if reason is not None and not isinstance(reason, str):
            raise ApiError(400, "reason must be text.", target="reason")
        stored = operations.act_as_microsoft(
            self.state, request.path_params["referral_id"], action, reason
        )
        self.state.webhooks.referral_changed(stored, created=False)
        return _referral(stored)

    async def send_incoming(self, request: Request) -> Response:
        """POST /sandbox/referrals/incoming: send the partner a referral, as Microsoft (or the
        organization the body names) would; 201 with it as the partner sees it."""
        stored = create_incoming(self.state, await _optional_json(request))
        self.state.webhooks.referral_changed(stored, created=True)
        return _referral(stored, 201)

    async def set_partner(self, request: Request) -> Response:
        """POST /sandbox/partner {"dealRegistrationEligible": bool}."""
        body = await _optional_json(request)
        eligible = body.get("dealRegistrationEligible")
        if not isinstance(eligible, bool):
            raise ApiError(
                400,
                'Send {"dealRegistrationEligible": true|false}.',
                target="dealRegistrationEligible",
            )
        self.state.partner_eligible = eligible
        return _json({"dealRegistrationEligible": eligible})

    async def list_faults(self, request: Request) -> Response:
        """GET /sandbox/faults: the faults still queued."""
        return _json({"faults": [fault.to_json() for fault in self.state.faults.pending()]})

    async def add_fault(self, request: Request) -> Response:
        """POST /sandbox/faults: queue a fault (see Fault.from_json)."""
        try:
            fault = Fault.from_json(operations.parse_json(await request.body()))
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        self.state.faults.add(fault)
        return _json(fault.to_json(), 201)

    async def clear_faults(self, request: Request) -> Response:
        """DELETE /sandbox/faults."""
        self.state.faults.clear()
        return Response(status_code=204)

    async def list_requests(self, request: Request) -> Response:
        """GET /sandbox/requests: the API requests received, oldest first."""
        return _json({"requests": [entry.to_json() for entry in self.state.requests]})

    async def clear_requests(self, request: Request) -> Response:
        """DELETE /sandbox/requests."""
        self.state.requests.clear()
        return Response(status_code=204)

    async def reset(self, request: Request) -> Response:
        """POST /sandbox/reset: back to the seeded state."""
        self.state.reset()
        return Response(status_code=204)


def _api_root(request: Request) -> str:
    return str(request.base_url).rstrip("/") + API_ROOT
