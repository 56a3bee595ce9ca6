"""JSON pointers into the wire form, and the conversions between answers and wire values."""

from __future__ import annotations

import pytest

from bot.conversation.vocabulary.paths import (
    AMOUNT,
    MIDNIGHT_UTC,
    TAG_IDS,
    ApiPath,
    NoPath,
    built,
    pointer_segments,
    put,
    value_at,
)
from bot.referrals.models import Referral


def test_put_builds_objects_and_lists_on_the_way() -> None:
    document: dict[str, object] = {}
    put(document, "/customerProfile/team/0/email", "sam@fabrikam.com")
    put(document, "/customerProfile/team/0/firstName", "Sam")
    put(document, "/team/-/email", "kim@contoso.com")
    put(document, "/team/-/lastName", "Ng")
    put(document, "/details/dealValue", 10)
    assert built(document) == {
        "customerProfile": {"team": [{"email": "sam@fabrikam.com", "firstName": "Sam"}]},
        "team": [{"email": "kim@contoso.com", "lastName": "Ng"}],
        "details": {"dealValue": 10},
    }


def test_list_elements_come_in_index_order_and_the_added_one_last() -> None:
    document: dict[str, object] = {}
    for pointer in ("/items/-/x", "/items/10/x", "/items/2/x"):
        put(document, pointer, pointer)
    assert built(document) == {
        "items": [{"x": "/items/2/x"}, {"x": "/items/10/x"}, {"x": "/items/-/x"}]
    }


def test_put_refuses_to_write_through_a_value() -> None:
    document: dict[str, object] = {}
    put(document, "/team", [])
    with pytest.raises(ValueError, match="team is already set"):
        put(document, "/team/-/email", "kim@contoso.com")
    put(document, "/details", {"notes": ""})
    with pytest.raises(ValueError, match="details is already set"):
        put(document, "/details/0/notes", "x")


def test_value_at_reads_objects_and_lists() -> None:
    document = {"team": [{"email": "a@b.c"}], "details": {"notes": ""}}
    assert value_at(document, "/team/0/email") == "a@b.c"
    assert value_at(document, "/team/1/email") is None
    assert value_at(document, "/team/-/email") is None  # the element to be added: not there
    assert value_at(document, "/details/notes") == ""
    assert value_at(document, "/details/notes/deeper") is None
    assert value_at(document, "/customerProfile/name") is None


def test_pointers_unescape_and_refuse_malformed_ones() -> None:
    assert pointer_segments("/a~1b/c~0d") == ["a/b", "c~d"]
    for bad in ("", "name", "/", "/a//b", "/a/"):
        with pytest.raises(ValueError, match="not a JSON pointer"):
            pointer_segments(bad)


def test_conversions_write_wire_values_and_read_them_back() -> None:
    assert MIDNIGHT_UTC.to_wire("2027-03-31") == "2027-03-31T00:00:00Z"
    assert MIDNIGHT_UTC.from_wire("2027-03-31T23:30:00-05:00") == "2027-04-01"
    assert AMOUNT.to_wire("175000") == 175000
    assert AMOUNT.to_wire("1234.50") == 1234.5
    assert AMOUNT.from_wire(1234.5) == "1234.5"
    assert TAG_IDS.to_wire(["Azure", "Dynamics 365"]) == [{"id": "Azure"}, {"id": "Dynamics 365"}]
    assert TAG_IDS.from_wire([{"id": "Azure"}]) == ["Azure"]
    assert TAG_IDS.from_wire([]) is None


def test_an_api_path_reads_a_referrals_current_value_as_an_answer() -> None:
    referral = Referral.from_wire(
        {"details": {"dealValue": 10000, "closingDateTime": "2020-12-01T00:00:00Z"}}
    )
    assert ApiPath("/details/dealValue", AMOUNT).current(referral) == "10000"
    assert ApiPath("/details/closingDateTime", MIDNIGHT_UTC).current(referral) == "2020-12-01"
    assert ApiPath("/details/notes").current(referral) is None
    assert ApiPath("/details/dealValue", AMOUNT).read_back("1234.50") == "1234.5"


def test_only_a_writable_path_can_be_updatable() -> None:
    ApiPath("/details/notes", updatable=True)
    with pytest.raises(ValueError, match="cannot replace"):
        ApiPath("/inviteContext/assistanceRequestCode", updatable=True)
    with pytest.raises(ValueError, match="cannot replace"):
        ApiPath("/customerProfile/team/0/email", updatable=True)


def test_a_step_without_a_path_says_why() -> None:
    with pytest.raises(ValueError, match="say why"):
        NoPath(" ")
