"""The referral status transition table, and the check every status change goes through.

From the Referrals API's resource documentation:

====== ======================= ===================================
Status Allowed next status     Substatuses allowed with the status
====== ======================= ===================================
New    New, Active, Closed     Pending, Received
Active Active, Closed          Accepted
Closed Closed                  Won, Lost, Declined, Expired, Error
====== ======================= ===================================

The table lets Closed go to Closed; we read that as "a closed referral stays closed" (its other
fields may still be patched), not as permission to turn a loss into a win, so a change of
substatus on a closed referral is refused.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.referrals.catalogs import ReferralStatus, ReferralSubstatus

S = ReferralStatus
Sub = ReferralSubstatus

NEXT_STATUSES: Mapping[ReferralStatus, frozenset[ReferralStatus]] = {
    S.NEW: frozenset({S.NEW, S.ACTIVE, S.CLOSED}),
    S.ACTIVE: frozenset({S.ACTIVE, S.CLOSED}),
    S.CLOSED: frozenset({S.CLOSED}),
}

SUBSTATUSES: Mapping[ReferralStatus, frozenset[ReferralSubstatus]] = {
    S.NEW: frozenset({Sub.PENDING, Sub.RECEIVED}),
    S.ACTIVE: frozenset({Sub.ACCEPTED}),
    S.CLOSED: frozenset({Sub.WON, Sub.LOST, Sub.DECLINED, Sub.EXPIRED, Sub.ERROR}),
}

# Substatuses a referral can be closed with. Sellers win, lose or decline; "expired" and
# "error" are normally the service's to set, but an operator may need them to tidy up.
CLOSING_SUBSTATUSES: tuple[ReferralSubstatus, ...] = (
    Sub.WON,
    Sub.LOST,
    Sub.DECLINED,
    Sub.EXPIRED,
    Sub.ERROR,
)


class TransitionError(ValueError):
    """A status change the transition table does not allow."""

    def __init__(
        self,
        message: str,
        *,
        current: tuple[str, str],
        requested: tuple[str, str],
    ) -> None:
        super().__init__(message)
        self.current = current
        self.requested = requested


def allowed_substatuses(status: ReferralStatus) -> frozenset[ReferralSubstatus]:
    """Substatuses that may accompany ``status``; empty for ``None``."""
    return SUBSTATUSES.get(status, frozenset())


def check_transition(
    current_status: str,
    current_substatus: str,
    new_status: str,
    new_substatus: str,
) -> None:
    """Raise :class:`TransitionError` unless the table allows the change.

    ``current_*`` are what the referral has now (``None`` when the service has not set a
    status yet), ``new_*`` what would be sent.
    """
    current = (current_status, current_substatus)
    requested = (new_status, new_substatus)
    try:
        target = ReferralStatus(new_status)
        target_sub = ReferralSubstatus(new_substatus)
    except ValueError:
        raise TransitionError(
            f"{new_status}/{new_substatus} is not a known status and substatus.",
            current=current,
            requested=requested,
        ) from None
    if target is S.NONE or target_sub not in allowed_substatuses(target):
        allowed = ", ".join(sorted(allowed_substatuses(target))) or "none"
        raise TransitionError(
            f"Substatus {new_substatus} does not go with status {new_status} (allowed: {allowed}).",
            current=current,
            requested=requested,
        )
    source = _known_status(current_status)
    if source is None or source is S.NONE:
        return
    if target not in NEXT_STATUSES[source]:
        allowed = ", ".join(sorted(NEXT_STATUSES[source]))
        raise TransitionError(
            f"A referral that is {current_status} cannot become {new_status} (allowed: {allowed}).",
            current=current,
            requested=requested,
        )
    if source is S.CLOSED and current_substatus != new_substatus:
        raise TransitionError(
            f"This referral is already closed as {current_substatus}; "
            f"it cannot be changed to {new_substatus}.",
            current=current,
            requested=requested,
        )


def _known_status(value: str) -> ReferralStatus | None:
    try:
        return ReferralStatus(value)
    except ValueError:
        return None
