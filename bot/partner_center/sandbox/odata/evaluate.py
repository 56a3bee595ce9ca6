"""Evaluating a parsed ``$filter`` against stored JSON documents, and ``$orderby`` sorting.

The typing rules (case-insensitive text, instants compared as instants, mismatched types never
equal) are described in the package docstring.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

from bot.partner_center.sandbox.odata.syntax import (
    Call,
    Compare,
    Constant,
    Expr,
    Logical,
    Not,
    OrderKey,
    Path,
    parse_datetime,
)

__all__ = ["compare", "matches", "sort_documents"]

T = TypeVar("T")


def matches(expr: Expr, document: Mapping[str, Any]) -> bool:
    """Whether ``document`` satisfies the parsed filter."""
    return _evaluate(expr, document, {}) is True


def _evaluate(expr: Expr, document: Mapping[str, Any], scope: Mapping[str, Any]) -> Any:
    if isinstance(expr, Constant):
        return expr.value
    if isinstance(expr, Path):
        return _lookup(expr.segments, document, scope)
    if isinstance(expr, Compare):
        left = _evaluate(expr.left, document, scope)
        right = _evaluate(expr.right, document, scope)
        return compare(expr.op, left, right)
    if isinstance(expr, Logical):
        left_true = _evaluate(expr.left, document, scope) is True
        if expr.op == "and":
            return left_true and _evaluate(expr.right, document, scope) is True
        return left_true or _evaluate(expr.right, document, scope) is True
    if isinstance(expr, Not):
        return _evaluate(expr.operand, document, scope) is not True
    if isinstance(expr, Call):
        return _call(expr.name, *(_evaluate(arg, document, scope) for arg in expr.args))
    items = _lookup(expr.collection.segments, document, scope)
    if not isinstance(items, list):
        return False
    if expr.predicate is None or expr.variable is None:
        return bool(items)
    predicate, variable = expr.predicate, expr.variable

    def test(item: Any) -> bool:
        return _evaluate(predicate, document, {**scope, variable: item}) is True

    return any(map(test, items)) if expr.kind == "any" else all(map(test, items))


def _lookup(segments: Sequence[str], document: Mapping[str, Any], scope: Mapping[str, Any]) -> Any:
    current: Any = document
    if segments[0] in scope:
        current, segments = scope[segments[0]], segments[1:]
    for segment in segments:
        if not isinstance(current, Mapping):
            return None
        current = current.get(segment)
    return current


def _call(name: str, haystack: Any, needle: Any) -> bool:
    if not isinstance(haystack, str) or not isinstance(needle, str):
        return False
    text, part = haystack.casefold(), needle.casefold()
    if name == "contains":
        return part in text
    if name == "startswith":
        return text.startswith(part)
    return text.endswith(part)


def compare(op: str, left: Any, right: Any) -> bool:
    """Apply a comparison operator with the sandbox's typing rules (see the module docstring)."""
    if left is None or right is None:
        if op == "eq":
            return left is None and right is None
        if op == "ne":
            return not (left is None and right is None)
        return False
    pair = _comparable(left, right)
    if pair is None:
        return op == "ne"
    a, b = pair
    if op == "eq":
        return bool(a == b)
    if op == "ne":
        return bool(a != b)
    if isinstance(a, bool):
        return False  # true and false have no order worth filtering on
    if op == "gt":
        return bool(a > b)
    if op == "ge":
        return bool(a >= b)
    if op == "lt":
        return bool(a < b)
    return bool(a <= b)


def _comparable(left: Any, right: Any) -> tuple[Any, Any] | None:
    # Returns both operands converted to one comparable type, or None when they have none.
    left, right = _plain(left), _plain(right)
    if isinstance(left, bool) or isinstance(right, bool):
        return (left, right) if isinstance(left, bool) and isinstance(right, bool) else None
    if isinstance(left, Decimal) and isinstance(right, Decimal):
        return left, right
    if isinstance(left, datetime) or isinstance(right, datetime):
        a = left if isinstance(left, datetime) else _as_datetime(left)
        b = right if isinstance(right, datetime) else _as_datetime(right)
        return (a, b) if a is not None and b is not None else None
    if isinstance(left, str) and isinstance(right, str):
        a_moment, b_moment = _as_datetime(left), _as_datetime(right)
        if a_moment is not None and b_moment is not None:
            return a_moment, b_moment
        return left.casefold(), right.casefold()
    return None


def _plain(value: Any) -> Any:
    # JSON numbers arrive as int or float, literals as Decimal: compare them all as Decimal.
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        number = Decimal(str(value))
        # NaN has no order; treat it like a missing value rather than fail the whole query.
        return None if number.is_nan() else number
    if isinstance(value, Enum):
        return value.value
    return value


def _as_datetime(value: Any) -> datetime | None:
    # Cheap pre-check: only text starting like a year can be a date.
    if isinstance(value, str) and len(value) >= 10 and value[:4].isdigit() and value[4] == "-":
        return parse_datetime(value)
    return None


def sort_documents(
    items: Sequence[T], keys: Sequence[OrderKey], document: Callable[[T], Mapping[str, Any]]
) -> list[T]:
    """Sort by the ``$orderby`` keys; ties keep the given order, so paging is stable."""
    result = list(items)
    # Python's sort is stable: sorting by the least significant key first gives the right
    # order for any mix of ascending and descending keys.
    for key in reversed(keys):
        path = key.path
        result.sort(
            key=lambda item: _sort_key(_lookup(path, document(item), {})), reverse=key.descending
        )
    return result


def _sort_key(value: Any) -> tuple[int, Any]:
    # Null sorts first, as in OData; values of different types group by type.
    value = _plain(value)
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, Decimal):
        return (2, value)
    if isinstance(value, str):
        moment = _as_datetime(value)
        if moment is not None:
            return (3, moment)
        return (4, value.casefold())
    return (5, str(value))
