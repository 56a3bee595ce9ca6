"""Text in a ``$filter``: quoted by one function, so that no words change the query.

Each case is read back by the sandbox's own OData parser: whatever the text, the filter is one
comparison with exactly that text. Then the same through the client and the sandbox over HTTP,
whose request log shows the filter as received.
"""

from __future__ import annotations

import urllib.parse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.odata import MAX_LITERAL, UnsafeLiteral, literal
from bot.partner_center.sandbox.odata import parse_filter
from bot.partner_center.sandbox.odata.syntax import Compare, Constant, Path
from tests.support.sandbox import Sandbox

HOSTILE = [
    "' or 1 eq 1",
    "x') or (1 eq 1",
    "' or team/any(t:t/email ne '') or '",
    "''",
    "'",
    "'" * 100,
    "%27 or 1 eq 1",
    "100%",
    "a&$top=1",
    "ünïcødé 名前 🚀",
    "\u202eevil",
    "o'brien@contoso.com",
    "",
]


def compared_with(text: str) -> object:
    """What the sandbox reads ``name eq <text quoted>`` as."""
    return parse_filter(f"name eq {literal(text)}")


@pytest.mark.parametrize("text", HOSTILE)
def test_quotes_are_doubled_and_the_text_stays_one_literal(text: str) -> None:
    quoted = literal(text)

    assert quoted == "'" + text.replace("'", "''") + "'"
    parsed = compared_with(text)
    assert isinstance(parsed, Compare)
    assert parsed.op == "eq"
    assert isinstance(parsed.left, Path)
    assert parsed.left.segments == ("name",)
    assert isinstance(parsed.right, Constant)
    assert parsed.right.value == text


@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
        max_size=MAX_LITERAL,
    )
)
def test_any_text_that_is_taken_reads_back_as_itself(text: str) -> None:
    parsed = compared_with(text)

    assert isinstance(parsed, Compare)
    assert isinstance(parsed.right, Constant)
    assert parsed.right.value == text


@pytest.mark.parametrize(
    "text",
    ["line\nbreak", "carriage\rreturn", "nul\x00", "tab\there", "del\x7f", "c1\x85", "\u2028"],
)
def test_control_characters_are_refused(text: str) -> None:
    with pytest.raises(UnsafeLiteral, match="control character"):
        literal(text)


def test_length_is_bounded() -> None:
    assert literal("a" * MAX_LITERAL) == "'" + "a" * MAX_LITERAL + "'"
    with pytest.raises(UnsafeLiteral, match=f"at most {MAX_LITERAL}"):
        literal("a" * (MAX_LITERAL + 1))
    with pytest.raises(UnsafeLiteral, match="at most 10"):
        literal("'" * 11, max_length=10)


@pytest.mark.parametrize("text", HOSTILE)
async def test_the_service_receives_one_comparison_and_finds_nothing(
    client: PartnerCenterClient, fresh_sandbox: Sandbox, text: str
) -> None:
    sent = f"name eq {literal(text)}"

    found = await client.list(filter=sent).collect()

    assert found == []  # no seeded referral is called any of these
    (request,) = [
        request
        for request in fresh_sandbox.requests()
        if str(request["path"]).endswith("/engagements/referrals")
        and urllib.parse.parse_qs(str(request["query"])).get("$filter") == [sent]
    ]
    assert request["status"] == 200
