"""Answering an incoming referral in Partner Center: accept it, or decline it with a reason.

The transition table says how (:mod:`bot.referrals.transitions`): accepting is
``Active``/``Accepted``, declining ``Closed``/``Declined`` with ``statusReason``, both only
from ``New``. Each answer reads the referral first and PATCHes with that read's ETag in
``If-Match``: a referral that changed in between (someone answered it in Partner Center, an
earlier send of ours arrived though its answer was lost) is read again, and a referral found
answered already is reported as it stands instead of being answered twice. A PATCH whose
outcome is unknown (a timeout, a 502) is safe to send again for the same reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final, Literal

from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import OutcomeUnknown, PreconditionFailed
from bot.referrals.catalogs import ReferralStatus, ReferralSubstatus
from bot.referrals.models import Member, Referral
from bot.referrals.patch import JsonPatch
from bot.referrals.transitions import check_transition

logger = logging.getLogger(__name__)

ATTEMPTS: Final = 3
"""Reads-then-sends before giving up on a referral that keeps changing under us."""
Answer = Literal["accept", "decline"]
TARGETS: Final[dict[Answer, tuple[ReferralStatus, ReferralSubstatus]]] = {
    "accept": (ReferralStatus.ACTIVE, ReferralSubstatus.ACCEPTED),
    "decline": (ReferralStatus.CLOSED, ReferralSubstatus.DECLINED),
}
WAITING: Final = frozenset({ReferralSubstatus.PENDING, ReferralSubstatus.RECEIVED})


def is_waiting(status: object, substatus: object) -> bool:
    """Whether a referral with this status waits for the partner's answer (New, Pending or
    Received)."""
    return status == ReferralStatus.NEW and substatus in WAITING


@dataclass(frozen=True, slots=True)
class Answered:
    """The referral once answered: as Partner Center has it now."""

    referral: Referral
    found: bool = False
    """It stood so before this send (an earlier send arrived, its answer lost)."""


class AnsweredElsewhere(Exception):
    """The referral no longer waits for an answer, and not with the one asked for: someone
    answered it in Partner Center, or its time ran out."""

    def __init__(self, referral: Referral) -> None:
        super().__init__(f"referral {referral.id} is {referral.status}/{referral.substatus}")
        self.referral = referral


class KeptChanging(Exception):
    """The referral changed between each read and its PATCH, :data:`ATTEMPTS` times."""


async def answer_referral(
    client: PartnerCenterClient, referral_id: str, answer: Answer, *, reason: str | None = None
) -> Answered:
    """Accept or decline (with ``reason``) the incoming referral, once.

    Raises :class:`AnsweredElsewhere`, what Partner Center refused the answer with
    (:class:`~bot.partner_center.errors.PartnerCenterError`), the last
    :class:`OutcomeUnknown` when no read could tell whether a send arrived, or
    :class:`KeptChanging`.
    """
    status, substatus = TARGETS[answer]
    unclear: OutcomeUnknown | None = None
    for _ in range(ATTEMPTS):
        current = await client.get(referral_id)
        if current.status == status and current.substatus == substatus:
            return Answered(current, found=True)
        if not is_waiting(current.status, current.substatus):
            raise AnsweredElsewhere(current)
        check_transition(str(current.status), str(current.substatus), status, substatus)
        patch = JsonPatch().replace("/status", status).replace("/substatus", substatus)
        if answer == "decline" and reason:
            patch.replace("/statusReason", reason)
        try:
            updated = await client.update(referral_id, patch, if_match=current.e_tag)
        except PreconditionFailed:
            logger.info(
                "incoming referral %s changed before its answer: reading again", referral_id
            )
            continue
        except OutcomeUnknown as error:
            logger.warning("answer to %s: outcome unknown (%s)", referral_id, error)
            unclear = error
            continue
        return Answered(updated if updated is not None else await client.get(referral_id))
    if unclear is not None:
        raise unclear
    raise KeptChanging(f"The referral changed {ATTEMPTS} times while its answer was being sent.")


async def add_to_team(client: PartnerCenterClient, referral_id: str, member: Member) -> Referral:
    """Put ``member`` on the referral's team (unless their email is there already), bound to
    the version read with ``If-Match`` and read again on 412; the referral as it stands."""
    email = (member.email or "").strip().lower()
    for _ in range(ATTEMPTS):
        current = await client.get(referral_id)
        if any((each.email or "").strip().lower() == email for each in current.team or ()):
            return current
        try:
            updated = await client.add_team_member(referral_id, member, if_match=current.e_tag)
        except PreconditionFailed:
            continue
        return updated if updated is not None else await client.get(referral_id)
    raise KeptChanging(f"The referral changed {ATTEMPTS} times while its team was being changed.")
