"""JSON Patch documents: only what the API accepts leaves the building."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.referrals.catalogs import ReferralStatus
from bot.referrals.models import Contract, DealRegistration, Member
from bot.referrals.patch import WRITABLE_PATHS, JsonPatch, PatchError, validate_operation

JANE = {"email": "jane.doe@contoso.com", "firstName": "Jane", "lastName": "Doe"}


def test_builder_produces_the_documented_wire_form() -> None:
    patch = (
        JsonPatch()
        .replace("/details/dealValue", "10000")
        .append("/team", Member(email="jane.doe@contoso.com", first_name="Jane", last_name="Doe"))
    )
    assert patch.to_wire() == [
        {"op": "replace", "path": "/details/dealValue", "value": 10000},
        {"op": "add", "path": "/team/-", "value": JANE},
    ]
    assert patch.paths() == {"/details/dealValue", "/team/-"}
    assert len(patch) == 2


@pytest.mark.parametrize(
    ("path", "given", "sent"),
    [
        ("/status", ReferralStatus.CLOSED, "Closed"),
        ("/status", "Active", "Active"),
        ("/details/dealValue", "1234.50", 1234.5),
        ("/details/dealValue", Decimal(5), 5),
        ("/details/currency", "euro", "EUR"),
        ("/customerProfile/address/country", "united states", "US"),
        ("/customerProfile/size", "10 to 50 employees", "10to50employees"),
        ("/details/closingDateTime", "2026-12-01", "2026-12-01T00:00:00Z"),
        ("/details/closingDateTime", datetime(2026, 12, 1, 9, tzinfo=UTC), "2026-12-01T09:00:00Z"),
        ("/consent/consentToShareReferralWithMicrosoftSellers", "true", True),
        ("/details/requirements/industries", [{"id": "healthcare"}], [{"id": "Healthcare"}]),
        ("/name", "  Contoso expansion  ", "Contoso expansion"),
    ],
)
def test_values_are_normalised_to_what_the_api_expects(path: str, given: Any, sent: Any) -> None:
    assert validate_operation("replace", path, given).value == sent


@pytest.mark.parametrize(
    ("op", "path", "value", "message"),
    [
        ("remove", "/name", "x", "operation 'remove' is not supported; use add or replace"),
        ("move", "/name", "x", "not supported"),
        ("replace", "/id", "x", "/id: is not a field that can be changed."),
        ("replace", "/details/dealvalue", "1", "Did you mean /details/dealValue"),
        ("replace", "/details/dealValue", "abc", "/details/dealValue: "),
        ("replace", "/details/dealValue", "0", "must be greater than 0"),
        ("replace", "/details/dealValue", "-5", "must be greater than 0"),
        ("replace", "/details/currency", "dollars", "is not a known currency"),
        ("replace", "/status", "Finished", "'Finished' is not one of None, New, Active, Closed"),
        ("replace", "/name", "", "/name: must not be empty"),
        ("replace", "/name", 42, "expected text"),
        ("replace", "/team/-", JANE, "appending to a list needs the add operation"),
        ("add", "/team/-", {"email": "a@b.c"}, "a team member needs firstName, lastName"),
        ("replace", "/details/notes", "x" * 4001, "at most 4000 characters"),
        ("replace", "/customerProfile/address/country", "Atlantis", "not a known country"),
    ],
)
def test_refused_operations_name_the_path_and_reason(
    op: str, path: str, value: Any, message: str
) -> None:
    with pytest.raises(PatchError) as info:
        validate_operation(op, path, value)
    assert message in str(info.value)
    assert info.value.path == path


def test_registration_is_appended_with_its_contract() -> None:
    registration = DealRegistration(
        type="AzureIPCoSell",
        contract=Contract(currency="USD", value=Decimal(250000), term="Finite"),
    )
    patch = JsonPatch().append("/registrations", registration)
    assert patch.to_wire() == [
        {
            "op": "add",
            "path": "/registrations/-",
            "value": {
                "type": "AzureIPCoSell",
                "contract": {"currency": "USD", "value": 250000, "term": "Finite"},
            },
        }
    ]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "non-empty array"),
        ({"op": "add"}, "non-empty array"),
        ([{"op": "add", "path": "/name"}], "no value"),
        (["add /name"], "operation 0 needs op, path and value"),
        ([{"op": "remove", "path": "/name"}], "operation 'remove' is not supported"),
    ],
)
def test_from_wire_rejects_malformed_documents(document: Any, message: str) -> None:
    with pytest.raises(PatchError, match=message):
        JsonPatch.from_wire(document)


@given(
    op=st.text(max_size=10),
    path=st.one_of(st.sampled_from(sorted(WRITABLE_PATHS)), st.text(max_size=40)),
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=8,
    ),
)
def test_validation_refuses_anything_with_a_patch_error_only(
    op: str, path: str, value: Any
) -> None:
    outcome: Any
    try:
        outcome = validate_operation(op, path, value)
    except PatchError as exc:
        outcome = exc
    if isinstance(outcome, PatchError):
        assert outcome.path == path
    else:
        assert outcome.op in ("add", "replace")
        assert outcome.path in WRITABLE_PATHS
