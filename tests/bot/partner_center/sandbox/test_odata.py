"""The $filter/$orderby parser and evaluator on their own, with property-based tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.partner_center.sandbox.demo_data import demo_referrals
from bot.partner_center.sandbox.listing import REFERRAL_SHAPE
from bot.partner_center.sandbox.odata import (
    ODataError,
    check_filter,
    check_orderby,
    matches,
    parse_datetime,
    parse_filter,
    parse_orderby,
    sort_documents,
)

SEEDS = demo_referrals(datetime(2025, 3, 14, tzinfo=UTC), {"organizationId": "o"})


def select(filter_text: str, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    expr = parse_filter(filter_text)
    check_filter(expr, REFERRAL_SHAPE)
    return [document for document in documents if matches(expr, document)]


# --- robustness ----------------------------------------------------------------------------------

VOCABULARY = [
    "status",
    "name",
    "team",
    "t",
    "t/email",
    "customerProfile/address/country",
    "details/dealValue",
    "customerProfile/isMatchingComplete",
    "/",
    "any",
    "all",
    "(",
    ")",
    ":",
    ",",
    "eq",
    "ne",
    "gt",
    "ge",
    "lt",
    "le",
    "and",
    "or",
    "not",
    "true",
    "false",
    "null",
    "'New'",
    "'O''Brien'",
    "'",
    "42",
    "-1.5e3",
    "2025-01-01T00:00:00Z",
    "2025-13-01",
    "65edc0b5-3485-41b7-a17e-dfa9ef4706e2",
    "contains",
    "startswith",
    "x",
    "$",
    "é",
    "٣",
    "\t",
    " ",
]


def _try_everything(text: str) -> None:
    try:
        expr = parse_filter(text)
        check_filter(expr, REFERRAL_SHAPE)
    except ODataError:
        return
    for document in SEEDS:
        assert matches(expr, document) in (True, False)


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_arbitrary_text_raises_only_the_parse_error(text: str) -> None:
    _try_everything(text)


@given(st.lists(st.sampled_from(VOCABULARY), max_size=25).map(" ".join))
@settings(max_examples=500, deadline=None)
def test_token_soup_raises_only_the_parse_error(text: str) -> None:
    _try_everything(text)


@given(st.lists(st.sampled_from(VOCABULARY), max_size=12).map("".join))
@settings(max_examples=300, deadline=None)
def test_glued_tokens_raise_only_the_parse_error(text: str) -> None:
    _try_everything(text)


@given(st.text(max_size=60))
@settings(max_examples=200, deadline=None)
def test_orderby_raises_only_the_parse_error(text: str) -> None:
    try:
        keys = parse_orderby(text)
        check_orderby(keys, REFERRAL_SHAPE)
    except ODataError:
        return
    sort_documents(SEEDS, keys, lambda document: document)


def test_deep_nesting_is_refused_not_a_crash() -> None:
    with pytest.raises(ODataError, match="nested"):
        parse_filter("(" * 1000 + "status eq 'New'" + ")" * 1000)
    with pytest.raises(ODataError, match="nested"):
        parse_filter("not " * 900 + "status eq 'New'")
    with pytest.raises(ODataError, match="nested"):
        parse_filter("team/any(t:" * 300 + "t eq 'x'" + ")" * 300)


def test_the_longest_chain_allowed_still_evaluates() -> None:
    expr = parse_filter("false or " * 443 + "true")  # just under the length limit

    check_filter(expr, REFERRAL_SHAPE)
    assert matches(expr, SEEDS[0]) is True


def test_very_long_text_is_refused() -> None:
    with pytest.raises(ODataError, match="longer than"):
        parse_filter("status eq 'New' or " * 1000 + "status eq 'New'")


# --- eq on generated values ----------------------------------------------------------------------


def _not_a_date(text: str) -> bool:
    return parse_datetime(text) is None


cities = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=12
).filter(_not_a_date)


def _with_city(document: dict[str, Any], city: str | None) -> dict[str, Any]:
    changed = {**document, "id": str(uuid.uuid4())}
    address = dict(changed["customerProfile"]["address"])
    if city is None:
        address.pop("city", None)
    else:
        address["city"] = city
    changed["customerProfile"] = {**changed["customerProfile"], "address": address}
    return changed


@given(st.lists(st.one_of(st.none(), cities), min_size=1, max_size=8), st.data())
@settings(max_examples=200, deadline=None)
def test_eq_on_a_text_property_finds_exactly_the_referrals_having_it(
    values: list[str | None], data: st.DataObject
) -> None:
    documents = [_with_city(SEEDS[0], value) for value in values]
    probe = data.draw(
        st.one_of(st.sampled_from([v for v in values if v is not None] or [""]), cities)
    )
    literal = "'" + probe.replace("'", "''") + "'"

    found = select(f"customerProfile/address/city eq {literal}", documents)
    others = select(f"customerProfile/address/city ne {literal}", documents)

    expected = [
        d
        for d, v in zip(documents, values, strict=True)
        if v is not None and v.casefold() == probe.casefold()
    ]
    assert [d["id"] for d in found] == [d["id"] for d in expected]
    assert len(found) + len(others) == len(documents)


@given(
    st.lists(st.decimals(min_value=1, max_value=10**9, places=2), min_size=1, max_size=8),
    st.data(),
)
@settings(max_examples=150, deadline=None)
def test_eq_on_a_number_finds_exactly_the_referrals_with_that_value(
    values: list[Decimal], data: st.DataObject
) -> None:
    documents = [
        {
            **SEEDS[0],
            "id": str(index),
            "details": {"dealValue": float(value) if value % 1 else int(value)},
        }
        for index, value in enumerate(values)
    ]
    probe = data.draw(st.sampled_from(values))

    found = select(f"details/dealValue eq {probe}", documents)

    expected = [
        str(i) for i, v in enumerate(values) if Decimal(str(float(v))) == Decimal(str(float(probe)))
    ]
    assert [d["id"] for d in found] == expected


@given(st.lists(st.uuids(), min_size=1, max_size=6, unique=True), st.data())
@settings(max_examples=100, deadline=None)
def test_eq_on_an_unquoted_guid(engagements: list[uuid.UUID], data: st.DataObject) -> None:
    documents = [{**SEEDS[0], "engagementId": str(e)} for e in engagements]
    probe = data.draw(st.sampled_from(engagements))
    spelled = data.draw(st.sampled_from([str(probe), str(probe).upper()]))

    found = select(f"engagementId eq {spelled}", documents)

    assert [d["engagementId"] for d in found] == [str(probe)]


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)), st.data())
@settings(max_examples=150, deadline=None)
def test_datetimes_compare_as_instants(moment: datetime, data: st.DataObject) -> None:
    stored = moment.replace(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"  # seven digits
    document = {**SEEDS[0], "updatedDateTime": stored}
    literal = data.draw(
        st.sampled_from(
            [
                moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "'" + moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+00:00'",
            ]
        )
    )

    assert select(f"updatedDateTime eq {literal}", [document]) == [document]
    assert select(f"updatedDateTime ge {literal}", [document]) == [document]
    assert select(f"updatedDateTime gt {literal}", [document]) == []


# --- parser details ----------------------------------------------------------------------------


def test_operators_bind_as_documented() -> None:
    documents = [
        {**SEEDS[0], "id": "a", "status": "New", "substatus": "Pending", "name": "x"},
        {**SEEDS[0], "id": "b", "status": "Active", "substatus": "Accepted", "name": "y"},
        {**SEEDS[0], "id": "c", "status": "Closed", "substatus": "Won", "name": "x"},
    ]

    # and binds tighter than or
    found = select("status eq 'New' or status eq 'Closed' and name eq 'y'", documents)
    assert [d["id"] for d in found] == ["a"]
    found = select("(status eq 'New' or status eq 'Closed') and name eq 'x'", documents)
    assert [d["id"] for d in found] == ["a", "c"]


def test_errors_point_at_the_offending_token() -> None:
    with pytest.raises(ODataError) as caught:
        parse_filter("status eq 'New' and (qualification eq 'x' or)")

    # Positions count from 0, like the service's own OData errors.
    assert caught.value.position == 44
    assert "position 44" in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        "team/any(t: t eq 'x')",
        "team/any(t: t/nope eq 'x')",
        "status/any(s: s eq 'x')",
        "team/all()",
        "team/any(and: and/email eq 'x')",
        "details/dealValue",
        "'text'",
        "42 and status eq 'New'",
    ],
)
def test_meaningless_filters_are_refused(text: str) -> None:
    with pytest.raises(ODataError):
        check_filter(parse_filter(text), REFERRAL_SHAPE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-10-30T21:03:00.0000000Z", datetime(2020, 10, 30, 21, 3, tzinfo=UTC)),
        ("2020-10-30T23:03:00+02:00", datetime(2020, 10, 30, 21, 3, tzinfo=UTC)),
        ("2020-10-30", datetime(2020, 10, 30, tzinfo=UTC)),
        ("2020-10-30T21:03", datetime(2020, 10, 30, 21, 3, tzinfo=UTC)),
        ("2020-02-30T00:00:00Z", None),
        ("2020-10-30T21:03:00+25:00", None),
        ("Contoso", None),
    ],
)
def test_datetime_text(text: str, expected: datetime | None) -> None:
    assert parse_datetime(text) == expected
