"""Referrals sent *to* the partner: the sandbox playing Microsoft (or another partner) sending
one in, as ``POST /sandbox/referrals/incoming`` does.

An incoming referral arrives as the service shows it to the receiving partner: direction
``Incoming``, status ``New`` with substatus ``Pending`` (or ``Received``), invited by Microsoft
unless the body names another organization in ``inviteContext.invitedBy``, and archived as
``Expired`` after the allotted time: ``expirationDateTime`` is 14 days after creation (the
documented allotment) unless the body says otherwise. The body is a referral document whose
fields replace those of a realistic default lead (a Microsoft 365 lead for a US customer), so
a test says only what it cares about; the service's own fields (ids, dates, ETag, direction)
are assigned here whatever the body says.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from pydantic import ValidationError

from bot.partner_center.sandbox.errors import ApiError
from bot.partner_center.sandbox.state import SandboxState, StoredReferral
from bot.referrals.catalogs import Direction, ReferralStatus, ReferralSubstatus
from bot.referrals.models import Referral
from bot.referrals.wire import format_utc

__all__ = ["ALLOTTED_DAYS", "create_incoming"]

ALLOTTED_DAYS: Final = 14
"""Days an incoming referral waits for an answer before the service archives it as Expired."""
MICROSOFT: Final = {"organizationId": "msft", "organizationName": "Microsoft"}
WAITING: Final = frozenset({ReferralSubstatus.PENDING.value, ReferralSubstatus.RECEIVED.value})
ASSIGNED: Final = (
    "id",
    "engagementId",
    "createdDateTime",
    "updatedDateTime",
    "acceptedDateTime",
    "closedDateTime",
    "status",
    "direction",
    "eTag",
    "registrations",
    "registrationStatus",
)
"""What the service sets on an incoming referral, whatever a body says."""


def default_lead() -> dict[str, Any]:
    """The lead an empty body sends: every field a triage card shows, filled."""
    return {
        "name": "Litware - Microsoft 365 rollout",
        "qualification": "SalesQualified",
        "type": "Independent",
        "substatus": ReferralSubstatus.PENDING.value,
        "customerProfile": {
            "name": "Litware Inc",
            "address": {
                "addressLine1": "1 Main Street",
                "city": "Boston",
                "state": "MA",
                "postalCode": "02110",
                "country": "US",
            },
            "size": "251to1000employees",
            "team": [
                {
                    "firstName": "Dana",
                    "lastName": "Reyes",
                    "email": "dana.reyes@litware.example",
                    "phoneNumber": "6175550100",
                }
            ],
        },
        "consent": {
            "consentToToShareInfoWithOthers": True,
            "consentToContact": True,
            "consentToMicrosoftToContactSpecificPartners": True,
            "consentToShareReferralWithMicrosoftSellers": False,
        },
        "details": {
            "notes": "Wants 600 seats of Microsoft 365 with a training plan by spring.",
            "dealValue": 60000,
            "currency": "USD",
            "requirements": {
                "industries": [{"id": "Education"}],
                "products": [{"id": "Microsoft365"}],
                "services": [{"id": "LearningAndCertification"}],
                "solutions": [{"id": "SOL-Microsoft365", "name": "Microsoft365"}],
            },
        },
        "team": [],
        "inviteContext": {"invitedBy": dict(MICROSOFT)},
    }


def create_incoming(state: SandboxState, body: Mapping[str, Any]) -> StoredReferral:
    """Store a new incoming referral: ``body``'s fields over :func:`default_lead`'s, the
    service's fields assigned. 400 for a body the API's model refuses, or a substatus other
    than Pending or Received."""
    document = _merged(default_lead(), body)
    substatus = document.get("substatus")
    if substatus not in WAITING:
        raise ApiError(
            400,
            f"An incoming referral arrives Pending or Received, not {substatus!r}.",
            target="substatus",
        )
    now = state.clock.now()
    details = document.setdefault("details", {})
    details.setdefault("closingDateTime", format_utc(_day(now + timedelta(days=60))))
    for key in ASSIGNED:
        document.pop(key, None)
    document.setdefault("expirationDateTime", format_utc(now + timedelta(days=ALLOTTED_DAYS)))
    document.update(
        id=state.new_id(),
        engagementId=state.new_id(),
        createdDateTime=format_utc(now),
        updatedDateTime=format_utc(now),
        status=ReferralStatus.NEW.value,
        direction=Direction.INCOMING.value,
        eTag=state.new_etag(),
    )
    try:
        model = Referral.from_wire(document)
    except ValidationError as exc:
        raise ApiError(400, f"Not a referral: {exc.errors()[0]['msg']}") from None
    return state.put(model.to_wire())


def _merged(base: dict[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``given``'s members over it (objects merged member by member; anything
    else, lists included, replaced)."""
    merged = dict(base)
    for key, value in given.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            merged[key] = _merged(current, value)
        else:
            merged[key] = value
    return merged


def _day(moment: datetime) -> datetime:
    # Closing dates are whole days, as the API's examples write them.
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)
