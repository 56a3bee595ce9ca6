"""``GET /engagements/referrals``: query options, paging tokens and the OData envelope.

Paging follows Microsoft Graph's reading of ``$top``: it sets the page size (capped at the
documented 100, or the state's smaller ``page_size``), and ``@odata.nextLink`` continues with
the same query. ``$skiptoken`` is the offset of the next page, signed with the state's key over
the query it belongs to, so a token that was altered, forged or moved to another query is
refused with 400 instead of silently returning the wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.partner_center.sandbox.errors import ApiError
from bot.partner_center.sandbox.odata import (
    Expr,
    ODataError,
    OrderKey,
    Shape,
    check_filter,
    check_orderby,
    matches,
    parse_filter,
    parse_orderby,
    shape_of,
    sort_documents,
)
from bot.partner_center.sandbox.state import StoredReferral
from bot.referrals.models import Referral

__all__ = [
    "REFERRAL_SHAPE",
    "ListQuery",
    "Page",
    "envelope",
    "list_referrals",
    "parse_list_query",
]

SUPPORTED_OPTIONS = ("$filter", "$orderby", "$top", "$skiptoken", "$count")

REFERRAL_SHAPE: Shape = shape_of(
    Referral,
    # Fields real payloads carry that the model keeps as extras; the sandbox writes the first
    # two itself.
    extra={
        "registrationStatus": Shape("value"),
        "closedDateTime": Shape("value"),
        "salesStage": Shape("value"),
    },
)
"""What ``$filter`` and ``$orderby`` may name: the referral's wire properties."""

_MAC_BYTES = 12


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The parsed query options of one list request."""

    filter_text: str
    filter: Expr | None
    orderby_text: str
    orderby: tuple[OrderKey, ...]
    page_size: int
    offset: int

    def signature(self, key: bytes, offset: int) -> bytes:
        """The MAC binding a page offset to this query."""
        message = "\n".join((str(offset), self.filter_text, self.orderby_text, str(self.page_size)))
        return hmac.new(key, message.encode(), hashlib.sha256).digest()[:_MAC_BYTES]

    def skiptoken(self, key: bytes, offset: int) -> str:
        """The opaque ``$skiptoken`` for the page starting at ``offset``."""
        raw = offset.to_bytes(8, "big") + self.signature(key, offset)
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class Page:
    """One page of results: the referrals on it, how many match in all, where the next starts."""

    items: list[StoredReferral]
    total: int
    next_offset: int | None


def parse_list_query(
    params: Sequence[tuple[str, str]], *, max_page_size: int, key: bytes
) -> ListQuery:
    """Read and check the query options; 400 ``invalidRequest`` for anything malformed."""
    options: dict[str, str] = {}
    for name, value in params:
        if not name.startswith("$"):
            continue  # other parameters are not OData's business
        option = name.lower()
        if option not in SUPPORTED_OPTIONS:
            supported = ", ".join(SUPPORTED_OPTIONS)
            message = f"The query option {name} is not supported (supported: {supported})."
            raise ApiError(400, message, target=name)
        if option in options:
            raise ApiError(400, f"The query option {option} is given twice.", target=option)
        options[option] = value
    try:
        expr = None
        if "$filter" in options:
            expr = parse_filter(options["$filter"])
            check_filter(expr, REFERRAL_SHAPE)
        orderby: tuple[OrderKey, ...] = ()
        if "$orderby" in options:
            orderby = parse_orderby(options["$orderby"])
            check_orderby(orderby, REFERRAL_SHAPE)
    except ODataError as exc:
        raise ApiError(400, str(exc), target=exc.option) from None
    query = ListQuery(
        filter_text=options.get("$filter", ""),
        filter=expr,
        orderby_text=options.get("$orderby", ""),
        orderby=orderby,
        page_size=_page_size(options.get("$top"), max_page_size),
        offset=0,
    )
    if options.get("$count", "true").lower() not in ("true", "false"):
        raise ApiError(400, "$count must be true or false.", target="$count")
    if "$skiptoken" in options:
        offset = _offset_from(options["$skiptoken"], query, key)
        query = replace(query, offset=offset)
    return query


def _page_size(top: str | None, max_page_size: int) -> int:
    if top is None:
        return max_page_size
    if not (top.isascii() and top.isdigit()) or int(top) < 1:
        message = f"$top must be a whole number of at least 1, not {top!r}."
        raise ApiError(400, message, target="$top")
    # Larger values are capped rather than refused, as the service's page size is a ceiling.
    return min(int(top), max_page_size)


def _offset_from(token: str, query: ListQuery, key: bytes) -> int:
    invalid = ApiError(
        400,
        "The $skiptoken is not valid: use the @odata.nextLink of the same query as given.",
        target="$skiptoken",
    )
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise invalid from None
    if len(raw) != 8 + _MAC_BYTES:
        raise invalid
    offset = int.from_bytes(raw[:8], "big")
    if not hmac.compare_digest(raw[8:], query.signature(key, offset)):
        raise invalid
    return offset


def list_referrals(referrals: Sequence[StoredReferral], query: ListQuery) -> Page:
    """Filter, order and cut one page out of ``referrals`` (given in creation order)."""
    expr = query.filter
    selected = [stored for stored in referrals if expr is None or matches(expr, stored.document)]
    if query.orderby:
        selected = sort_documents(selected, query.orderby, lambda stored: stored.document)
    end = query.offset + query.page_size
    next_offset = end if end < len(selected) else None
    return Page(selected[query.offset : end], len(selected), next_offset)


def envelope(page: Page, *, context: str, next_link: str | None) -> bytes:
    """The OData collection body, spliced from the referrals' cached JSON (no re-encoding)."""
    parts = [
        b'{"@odata.context":',
        json.dumps(context).encode(),
        b',"@odata.count":',
        str(page.total).encode(),
        b',"value":[',
        b",".join(stored.body for stored in page.items),
        b"]",
    ]
    if next_link is not None:
        parts += [b',"@odata.nextLink":', json.dumps(next_link).encode()]
    parts.append(b"}")
    return b"".join(parts)
