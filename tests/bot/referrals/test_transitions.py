"""The status transition table, checked for every pair of (status, substatus) states."""

from __future__ import annotations

import itertools

import pytest

from bot.referrals.catalogs import ReferralStatus, ReferralSubstatus
from bot.referrals.transitions import TransitionError, check_transition

S, Sub = ReferralStatus, ReferralSubstatus

# The documented table, written out independently of the module under test.
DOCUMENTED_NEXT = {
    "New": {"New", "Active", "Closed"},
    "Active": {"Active", "Closed"},
    "Closed": {"Closed"},
}
DOCUMENTED_SUBSTATUSES = {
    "New": {"Pending", "Received"},
    "Active": {"Accepted"},
    "Closed": {"Won", "Lost", "Declined", "Expired", "Error"},
}
VALID_STATES = [
    (status, substatus)
    for status, substatuses in DOCUMENTED_SUBSTATUSES.items()
    for substatus in sorted(substatuses)
]
ALL_PAIRS = [(status.value, sub.value) for status in S for sub in Sub]


def is_allowed(
    current_status: str, current_substatus: str, new_status: str, new_substatus: str
) -> bool:
    try:
        check_transition(current_status, current_substatus, new_status, new_substatus)
    except TransitionError:
        return False
    return True


def expected(current: tuple[str, str], new: tuple[str, str]) -> bool:
    status, substatus = new
    if substatus not in DOCUMENTED_SUBSTATUSES.get(status, set()):
        return False
    if status not in DOCUMENTED_NEXT[current[0]]:
        return False
    # A closed referral keeps its outcome.
    return not (current[0] == "Closed" and current[1] != substatus)


@pytest.mark.parametrize(
    ("current", "new"), list(itertools.product(VALID_STATES, ALL_PAIRS)), ids=str
)
def test_every_pair_follows_the_documented_table(
    current: tuple[str, str], new: tuple[str, str]
) -> None:
    assert is_allowed(*current, *new) is expected(current, new)


def test_closed_referral_cannot_be_reopened() -> None:
    with pytest.raises(TransitionError, match="cannot become Active") as info:
        check_transition("Closed", "Won", "Active", "Accepted")
    assert info.value.current == ("Closed", "Won")
    assert info.value.requested == ("Active", "Accepted")


def test_closed_outcome_cannot_flip() -> None:
    with pytest.raises(TransitionError, match="already closed as Won"):
        check_transition("Closed", "Won", "Closed", "Lost")


def test_substatus_must_match_status() -> None:
    with pytest.raises(TransitionError, match="does not go with status Active"):
        check_transition("New", "Pending", "Active", "Won")


def test_unknown_values_are_refused_with_their_names() -> None:
    with pytest.raises(TransitionError, match="Finished/Done is not a known"):
        check_transition("Active", "Accepted", "Finished", "Done")


def test_referral_without_status_may_take_any_valid_state() -> None:
    for status, substatus in VALID_STATES:
        assert is_allowed("None", "None", status, substatus)


def test_none_is_never_a_target() -> None:
    assert not is_allowed("New", "Pending", "None", "None")
