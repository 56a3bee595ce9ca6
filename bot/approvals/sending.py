"""Sending an approved deal registration to Partner Center, once.

A registration is added with a PATCH (``add /registrations/-``) that carries no key of its
own, so "did it arrive?" is answered by reading the referral: before every send the referral
is read, and a registration that holds everything this one says counts as this one. The
PATCH carries the ETag of that read in ``If-Match``, so two senders racing (a worker killed
after the PATCH and its job run again, a Retry clicked twice) cannot both add one: the second
gets 412, reads again and finds the first's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import OutcomeUnknown, PreconditionFailed
from bot.referrals.models import DealRegistration, Referral

logger = logging.getLogger(__name__)

ATTEMPTS: Final = 3
"""Reads-then-sends before giving up on a referral that keeps changing under us."""
SERVICE_SET: Final = frozenset({"id", "status", "statusReason", "registrationDateTime"})
"""What Partner Center sets on a registration it received: not part of what was sent."""


@dataclass(frozen=True, slots=True)
class Sent:
    """A registration Partner Center holds now."""

    referral: Referral | None
    """The referral as it stands with the registration (None when the service said 204)."""
    request_id: str | None
    """The service's id of the PATCH that added it; None when it was found already there."""
    found: bool = False
    """It was there before this send (an earlier one arrived, its answer lost)."""


class KeptChanging(Exception):
    """The referral changed between each read and its PATCH, :data:`ATTEMPTS` times."""


async def send_registration(
    client: PartnerCenterClient, referral_id: str, registration: DealRegistration
) -> Sent:
    """Add ``registration`` to the referral unless it is there already.

    Raises what Partner Center refused it with (:class:`PartnerCenterError`), the last
    :class:`OutcomeUnknown` when no read could tell whether a send arrived, or
    :class:`KeptChanging`.
    """
    unclear: OutcomeUnknown | None = None
    for _ in range(ATTEMPTS):
        referral = await client.get(referral_id)
        if holds(referral, registration):
            return Sent(referral, None, found=True)
        try:
            receipt = await client.send_registration(
                referral_id, registration, if_match=referral.e_tag
            )
        except PreconditionFailed:
            logger.info(
                "referral %s changed before its registration: reading it again", referral_id
            )
            continue
        except OutcomeUnknown as error:
            logger.warning("registration of %s: outcome unknown (%s)", referral_id, error)
            unclear = error
            continue
        return Sent(receipt.referral, receipt.request_id)
    if unclear is not None:
        raise unclear
    raise KeptChanging(
        f"The referral changed {ATTEMPTS} times while its registration was being sent."
    )


def holds(referral: Referral, registration: DealRegistration) -> bool:
    """Whether ``referral`` has a registration saying everything ``registration`` says."""
    wanted = registration.to_wire()
    return any(
        _contains(existing.to_wire(), wanted, top=True) for existing in referral.registrations or ()
    )


def _contains(found: Any, wanted: Any, *, top: bool = False) -> bool:
    if isinstance(wanted, Mapping):
        if not isinstance(found, Mapping):
            return False
        return all(
            _contains(found.get(name), value)
            for name, value in wanted.items()
            if not (top and name in SERVICE_SET)
        )
    if isinstance(wanted, Sequence) and not isinstance(wanted, str):
        if not isinstance(found, Sequence) or isinstance(found, str) or len(found) != len(wanted):
            return False
        return all(_contains(a, b) for a, b in zip(found, wanted, strict=True))
    return bool(found == wanted)
