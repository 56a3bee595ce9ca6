"""Where a step's answer goes in the API's JSON: a JSON pointer into the referral's wire form,
with the small conversion between an answer and the value written there.

A step names its path once (:class:`ApiPath`), or says why it has none (:class:`NoPath`).
Everything else is derived from those paths: the referral a new-referral draft creates, the
fields an update may change, a field's current value and the JSON Patch of an update (see
:mod:`bot.conversation.vocabulary.to_api`). Pure: no I/O.

Pointers follow RFC 6901 (``~1`` is ``/``, ``~0`` is ``~``). A numeric segment is a list
index and ``-`` the element a draft adds to a list (``/team/-/email``: the new team
member's email), as in a JSON Patch ``add``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, Final

from bot.referrals.models import Referral
from bot.referrals.patch import APPEND, WRITABLE_PATHS
from bot.referrals.wire import format_utc, money_to_json


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class Conversion:
    """How an answer is written at its path, and how a value found there reads as an answer."""

    to_wire: Callable[[Any], Any]
    """A canonical answer (as the session stores it) to its JSON value on the wire."""
    from_wire: Callable[[Any], Any]
    """A JSON value found at the path back to an answer; None when it has no answer form."""


AS_IS = Conversion(_same, _same)
"""The answer is the wire value (text, codes, yes/no, lists of member objects)."""


def _amount_to_wire(answer: Any) -> Any:
    return money_to_json(Decimal(str(answer)))


def _amount_from_wire(value: Any) -> Any:
    return str(Decimal(str(value)))


AMOUNT = Conversion(_amount_to_wire, _amount_from_wire)
"""A decimal string ("175000") and a JSON number (175000)."""


def _midnight_utc(answer: Any) -> Any:
    return format_utc(datetime.combine(date.fromisoformat(str(answer)), time(0), tzinfo=UTC))


def _utc_day(value: Any) -> Any:
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date().isoformat()


MIDNIGHT_UTC = Conversion(_midnight_utc, _utc_day)
"""A date answer ("2027-03-31") and that day's midnight UTC ("2027-03-31T00:00:00Z")."""


def _tags_to_wire(answer: Any) -> Any:
    return [{"id": value} for value in answer]


def _tags_from_wire(value: Any) -> Any:
    ids = [tag["id"] for tag in value if isinstance(tag, Mapping) and "id" in tag]
    return ids or None


TAG_IDS = Conversion(_tags_to_wire, _tags_from_wire)
"""Catalog values (``["Azure"]``) and tags (``[{"id": "Azure"}]``)."""


class _LeaveOut:
    def __repr__(self) -> str:
        return "LEAVE_OUT"


LEAVE_OUT: Final = _LeaveOut()
"""An unanswered step writes nothing at its path (the default)."""


@dataclass(frozen=True, slots=True)
class ApiPath:
    """The path a step's answer fills in the referral's wire JSON."""

    pointer: str
    """A JSON pointer, e.g. ``/details/dealValue`` or ``/customerProfile/team/0/email``."""
    convert: Conversion = AS_IS
    unanswered: Any = LEAVE_OUT
    """The wire value written when the step was skipped or not asked (``""``, ``[]``,
    ``False``); by default nothing is written. Copied before use, so a list is safe here."""
    updatable: bool = False
    """Whether ``/referral update`` offers the field: the path must be writable by a PATCH
    (:data:`bot.referrals.patch.WRITABLE_PATHS`)."""

    def __post_init__(self) -> None:
        segments = pointer_segments(self.pointer)
        if self.updatable and (
            self.pointer not in WRITABLE_PATHS or any(_is_index(s) for s in segments)
        ):
            raise ValueError(f"{self.pointer} is marked updatable but a PATCH cannot replace it")

    def to_wire(self, answer: Any) -> Any:
        """The JSON value an answer writes at the path."""
        return self.convert.to_wire(answer)

    def read(self, document: Mapping[str, Any]) -> Any:
        """The value at the path of a wire document, as an answer; None when absent."""
        value = value_at(document, self.pointer)
        return None if value is None else self.convert.from_wire(value)

    def read_back(self, answer: Any) -> Any:
        """An answer as it reads once written (``"1234.50"`` reads back as ``"1234.5"``)."""
        return self.convert.from_wire(self.to_wire(answer))

    def current(self, referral: Referral) -> Any:
        """The referral's value at the path, as an answer; None when absent."""
        return self.read(referral.to_wire())


@dataclass(frozen=True, slots=True)
class NoPath:
    """A step whose answer fills no path, and why (it picks other steps, or other values
    follow from it)."""

    reason: str

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError("say why the step fills no path")


# -- pointers -------------------------------------------------------------------------------


class _NewList(dict[str, Any]):
    """A list being built by :func:`put`, its elements by index segment until :func:`built`."""


def pointer_segments(pointer: str) -> list[str]:
    """The unescaped segments of a JSON pointer; ValueError for a malformed one."""
    if not pointer.startswith("/") or "//" in pointer or pointer.endswith("/"):
        raise ValueError(f"{pointer!r} is not a JSON pointer to a field")
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]


def _is_index(segment: str) -> bool:
    return segment == APPEND or segment.isdigit()


def value_at(document: Any, pointer: str) -> Any:
    """The value at ``pointer``, or None when any part of the way is missing (``-``, the
    element still to be added, is always missing)."""
    node = document
    for segment in pointer_segments(pointer):
        if isinstance(node, Mapping):
            node = node.get(segment)
        elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
        else:
            return None
    return node


def put(document: dict[str, Any], pointer: str, value: Any) -> None:
    """Set ``value`` at ``pointer``, creating the objects and lists on the way.

    Lists are built from their index segments; call :func:`built` when done.
    """
    segments = pointer_segments(pointer)
    *parents, last = segments
    node: dict[str, Any] = document
    for segment, following in zip(parents, segments[1:], strict=True):
        child = node.get(segment)
        if child is None:
            child = _NewList() if _is_index(following) else {}
            node[segment] = child
        if not isinstance(child, dict) or isinstance(child, _NewList) != _is_index(following):
            raise ValueError(f"{pointer}: {segment} is already set to something else")
        node = child
    node[last] = value


def built(document: dict[str, Any]) -> dict[str, Any]:
    """The document :func:`put` wrote, its lists in index order (the added element last)."""
    return {key: _built(value) for key, value in document.items()}


def _built(value: Any) -> Any:
    if isinstance(value, _NewList):
        order = sorted(value, key=lambda s: (s == APPEND, int(s) if s.isdigit() else 0))
        return [_built(value[index]) for index in order]
    if isinstance(value, dict):
        return built(value)
    return value
