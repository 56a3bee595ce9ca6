"""What the sandbox does to its store for each API call, with the service's business rules.

Routes parse HTTP and call these functions; these raise :class:`ApiError` for every refusal,
and store nothing unless the whole change is valid. The field rules come from the domain code
the bot itself uses (``Referral``, ``JsonPatch``, ``check_transition``), so the sandbox and the
client cannot drift apart on what is valid.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NoReturn

from pydantic import ValidationError

from bot.partner_center.sandbox.eligibility import (
    EligibilityReport,
    evaluate_referral,
    shares_with_microsoft,
    targets_microsoft,
)
from bot.partner_center.sandbox.errors import ApiError
from bot.partner_center.sandbox.state import SandboxState, StoredReferral
from bot.referrals.catalogs import (
    Direction,
    ReferralStatus,
    ReferralSubstatus,
    ReferralType,
)
from bot.referrals.models import Referral
from bot.referrals.patch import WRITABLE_PATHS, JsonPatch, PatchError, PatchOperation
from bot.referrals.transitions import TransitionError, check_transition

__all__ = [
    "MICROSOFT_ACTIONS",
    "act_as_microsoft",
    "create_referral",
    "get_referral",
    "parse_json",
    "referral_eligibility",
    "update_referral",
]

REGISTRATION_PATH = "/registrations/-"
REVIEW_PENDING = "ReviewPending"
CONSENT_PATH = "/consent/consentToShareReferralWithMicrosoftSellers"

MICROSOFT_ACTIONS: Mapping[str, tuple[ReferralStatus, ReferralSubstatus]] = {
    "accept": (ReferralStatus.ACTIVE, ReferralSubstatus.ACCEPTED),
    "win": (ReferralStatus.CLOSED, ReferralSubstatus.WON),
    "lose": (ReferralStatus.CLOSED, ReferralSubstatus.LOST),
    "decline": (ReferralStatus.CLOSED, ReferralSubstatus.DECLINED),
    "expire": (ReferralStatus.CLOSED, ReferralSubstatus.EXPIRED),
}
"""The admin actions that let a test or a demo play Microsoft's part."""

# Values a create body carries that PATCH could also write are checked by the same validators
# (catalog values, positive amounts), and stored in the canonical form those return. Team
# members are not: the documentation's own create examples send members with empty emails.
_CHECKED_ON_CREATE = (
    "/name",
    "/customerProfile/name",
    "/customerProfile/size",
    "/customerProfile/address/country",
    "/details/dealValue",
    "/details/currency",
    "/details/closingDateTime",
    "/details/requirements/industries",
    "/details/requirements/products",
    "/details/requirements/services",
)

# Fields the service assigns; whatever a create body says about them is replaced.
_ASSIGNED_ON_CREATE = (
    "id",
    "engagementId",
    "organizationId",
    "organizationName",
    "createdDateTime",
    "updatedDateTime",
    "acceptedDateTime",
    "closedDateTime",
    "status",
    "substatus",
    "type",
    "direction",
    "registrationStatus",
    "eTag",
)


def parse_json(raw: bytes) -> Any:
    """Parse a request body; 400 when it is not JSON (NaN and Infinity are not JSON either)."""

    def refuse(constant: str) -> NoReturn:
        raise ValueError(f"{constant} is not a JSON value")

    try:
        return json.loads(raw, parse_constant=refuse)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, f"The request body is not valid JSON: {exc}") from None


def get_referral(state: SandboxState, referral_id: str) -> StoredReferral:
    """The referral with that id; 404 ``itemNotFound`` when there is none."""
    stored = state.get(referral_id)
    if stored is None:
        raise ApiError(404, f"No referral with id {referral_id!r}.", target="id")
    return stored


def create_referral(state: SandboxState, raw_body: bytes) -> StoredReferral:
    """``POST /engagements/referrals``: validate, assign the service's fields, store."""
    body = parse_json(raw_body)
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object: the referral to create.")
    referral = _validated(body)
    missing = referral.missing_for_create()
    if missing:
        raise ApiError(400, f"Required field(s) missing: {', '.join(missing)}.", target=missing[0])
    if referral.registrations:
        raise ApiError(
            400,
            "Deal registrations are added to an existing referral with PATCH "
            f"(add {REGISTRATION_PATH}), not sent on create.",
            target="registrations",
        )
    document = referral.to_wire()
    _check_values_on_create(document)
    engagement_id = _engagement_for(state, document.get("engagementId"))

    now = state.now()
    # A referral that invites Microsoft waits for Microsoft to accept it; any other referral
    # the partner sends is its own and active at once (acceptedDateTime = creation time).
    if targets_microsoft(referral):
        status, substatus = ReferralStatus.NEW, ReferralSubstatus.PENDING
    else:
        status, substatus = ReferralStatus.ACTIVE, ReferralSubstatus.ACCEPTED
    # The type sent is only indicative (documented); consent decides.
    shared = shares_with_microsoft(referral)
    profile = document["customerProfile"]
    profile["isMatchingComplete"] = state.is_managed_customer(profile.get("name"))
    for key in _ASSIGNED_ON_CREATE:
        document.pop(key, None)
    created = {
        "id": state.new_id(),
        "engagementId": engagement_id,
        **document,
        **state.partner_fields(),
        "createdDateTime": now,
        "updatedDateTime": now,
        "acceptedDateTime": now,
        "status": status.value,
        "substatus": substatus.value,
        "type": (ReferralType.SHARED if shared else ReferralType.INDEPENDENT).value,
        "direction": Direction.OUTGOING.value,
        "registrationStatus": "None",
        "eTag": state.new_etag(),
    }
    # Once more through the model, for the same field order as every other stored referral.
    return state.put(Referral.from_wire(created).to_wire())


def update_referral(
    state: SandboxState, referral_id: str, raw_body: bytes, *, if_match: str | None
) -> StoredReferral:
    """``PATCH /engagements/referrals/{id}``: apply a JSON Patch document all or nothing."""
    stored = get_referral(state, referral_id)
    # Preconditions come before the body is even read (RFC 9110 §13.2.2). "*" matches any
    # current version, as in HTTP; any other value must be the ETag byte for byte.
    if if_match is not None and if_match.strip() != "*" and if_match != stored.etag:
        raise ApiError(
            412,
            "The referral has changed since it was read: If-Match does not match its ETag. "
            "Read it again and re-apply the change.",
        )
    try:
        patch = JsonPatch.from_wire(parse_json(raw_body))
    except PatchError as exc:
        raise ApiError(400, str(exc), target=exc.path or None) from None

    before = stored.model()
    document = stored.editable_copy()
    now = state.now()
    registrations = 0
    for operation in patch.operations:
        value = operation.value
        if operation.path == REGISTRATION_PATH:
            # The service owns a registration's id, status and date; what was sent is kept.
            value = {
                **value,
                "id": state.new_id(),
                "status": REVIEW_PENDING,
                "registrationDateTime": now,
            }
            registrations += 1
        _apply(document, operation, value)
    after = _validated(document)

    _check_status_change(before, after)
    if shares_with_microsoft(before) and not shares_with_microsoft(after):
        raise ApiError(
            400,
            "A referral shared with Microsoft sellers cannot be made private again "
            "(Private to Partner-led is one-way).",
            target=CONSENT_PATH,
        )
    if registrations:
        _check_registration_allowed(state, stored, after)

    updated = after.to_wire()
    if shares_with_microsoft(after) and not shares_with_microsoft(before):
        # Private -> Partner-led: the deal type follows consent, as on create.
        updated["type"] = ReferralType.SHARED.value
    if registrations:
        updated["registrationStatus"] = REVIEW_PENDING
    _stamp_status_dates(updated, before, after, now)
    updated["updatedDateTime"] = now
    updated["eTag"] = state.new_etag()
    return state.put(updated)


def referral_eligibility(state: SandboxState, referral_id: str) -> EligibilityReport:
    """``POST .../dealregistrations/eligibility``: the five policies for one referral."""
    stored = get_referral(state, referral_id)
    return _eligibility(state, stored, stored.model())


def act_as_microsoft(
    state: SandboxState, referral_id: str, action: str, reason: str | None = None
) -> StoredReferral:
    """Accept, win, lose, decline or expire a referral the way Microsoft's side would."""
    stored = get_referral(state, referral_id)
    status, substatus = MICROSOFT_ACTIONS[action]
    before = stored.model()
    current = (_text(before.status), _text(before.substatus))
    if action == "accept" and current[0] != ReferralStatus.NEW:
        raise ApiError(
            400, f"Only a New referral can be accepted; this one is {'/'.join(current)}."
        )
    try:
        check_transition(*current, status.value, substatus.value)
    except TransitionError as exc:
        raise ApiError(400, str(exc), target="status") from None
    document = stored.editable_copy()
    now = state.now()
    document["status"], document["substatus"] = status.value, substatus.value
    if reason is not None:
        document["statusReason"] = reason
    _stamp_status_dates(document, before, Referral.from_wire(document), now)
    document["updatedDateTime"] = now
    document["eTag"] = state.new_etag()
    return state.put(document)


# --- helpers ---------------------------------------------------------------------------------


def _text(value: object) -> str:
    return "None" if value is None else str(value)


def _validated(document: Mapping[str, Any]) -> Referral:
    try:
        return Referral.from_wire(document)
    except ValidationError as exc:
        error = exc.errors()[0]
        target = "/".join(str(part) for part in error["loc"])
        message = f"{target}: {error['msg']}" if target else str(error["msg"])
        raise ApiError(400, message, target=target or None) from None


def _check_values_on_create(document: dict[str, Any]) -> None:
    for path in _CHECKED_ON_CREATE:
        *parents, last = path[1:].split("/")
        container: Any = document
        for segment in parents:
            container = container.get(segment) if isinstance(container, dict) else None
        if not isinstance(container, dict) or container.get(last) is None:
            continue
        try:
            container[last] = WRITABLE_PATHS[path](container[last])
        except ValueError as exc:
            raise ApiError(400, f"{path[1:]}: {exc}", target=path[1:]) from None


def _engagement_for(state: SandboxState, requested: Any) -> str:
    if requested is None:
        return state.new_id()
    # Joining an existing engagement is how the second ("Microsoft") referral of a co-sell is
    # linked to the partner's; an engagement the sandbox never issued is a client bug.
    if not isinstance(requested, str) or not state.has_engagement(requested):
        raise ApiError(400, f"No engagement with id {requested!r}.", target="engagementId")
    return requested


def _apply(document: dict[str, Any], operation: PatchOperation, value: Any) -> None:
    # add and replace both set an object member (missing parents are created, as the service
    # binds the document to its model); a trailing "-" appends, creating the list if absent.
    path = operation.path
    segments = [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]
    *parents, last = segments
    if last == "-":
        *parents, list_name = parents
        container = _walk(document, parents, path)
        items = container.get(list_name)
        if items is None:
            items = container[list_name] = []
        if not isinstance(items, list):
            raise ApiError(400, f"{path}: {list_name} is not a list.", target=path)
        items.append(value)
    else:
        _walk(document, parents, path)[last] = value


def _walk(document: dict[str, Any], segments: list[str], path: str) -> dict[str, Any]:
    container = document
    for segment in segments:
        child = container.get(segment)
        if child is None:
            child = container[segment] = {}
        if not isinstance(child, dict):
            raise ApiError(400, f"{path}: {segment} is not an object.", target=path)
        container = child
    return container


def _check_status_change(before: Referral, after: Referral) -> None:
    current = (_text(before.status), _text(before.substatus))
    requested = (_text(after.status), _text(after.substatus))
    if current == requested:
        return
    target = "/status" if current[0] != requested[0] else "/substatus"
    try:
        check_transition(*current, *requested)
    except TransitionError as exc:
        raise ApiError(400, str(exc), target=target) from None
    if (
        before.direction == Direction.OUTGOING
        and targets_microsoft(before)
        and current[0] == ReferralStatus.NEW
        and requested[0] == ReferralStatus.ACTIVE
    ):
        # Accepting the Microsoft referral is Microsoft's decision; letting the partner do it
        # would also let it pass the isMicrosoftReferralAcceptedOrWon policy on its own.
        raise ApiError(
            400,
            "Only Microsoft can accept a referral sent to Microsoft "
            "(in the sandbox: POST /sandbox/referrals/{id}/accept).",
            target=target,
        )


def _check_registration_allowed(
    state: SandboxState, stored: StoredReferral, after: Referral
) -> None:
    if not state.partner_eligible:
        raise ApiError(
            400,
            "The partner is not eligible for deal registration "
            "(see GET /engagements/partners/dealregistrationeligibility).",
            target=REGISTRATION_PATH,
        )
    report = _eligibility(state, stored, after)
    if not report.is_eligible:
        failed = ", ".join(policy.policy_name for policy in report.failed)
        raise ApiError(
            400,
            f"The referral is not eligible for deal registration; failed policies: {failed}.",
            target=REGISTRATION_PATH,
        )


def _eligibility(
    state: SandboxState, stored: StoredReferral, referral: Referral
) -> EligibilityReport:
    siblings = [
        other.model() for other in state.engagement(stored.engagement_id) if other.id != stored.id
    ]
    return evaluate_referral(referral, siblings, state.rules)


def _stamp_status_dates(
    document: dict[str, Any], before: Referral, after: Referral, now: str
) -> None:
    if before.status == ReferralStatus.NEW and after.status == ReferralStatus.ACTIVE:
        document["acceptedDateTime"] = now
    if before.status != ReferralStatus.CLOSED and after.status == ReferralStatus.CLOSED:
        document["closedDateTime"] = now
