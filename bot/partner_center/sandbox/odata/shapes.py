"""The shape of a resource, and the checks that every property a query names exists.

Property names are case-sensitive, as on the wire; an unknown one is refused with the closest
known name, so a typo is a 400 with a hint rather than a filter that silently matches nothing.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from bot.partner_center.sandbox.odata.syntax import (
    Call,
    Compare,
    Constant,
    Expr,
    Logical,
    Not,
    ODataError,
    OrderKey,
    Path,
)

__all__ = ["Shape", "check_filter", "check_orderby", "shape_of"]


@dataclass(frozen=True)
class Shape:
    """What a property holds: an object with members, a collection of items, or a value."""

    kind: Literal["object", "collection", "value", "boolean", "open"]
    members: Mapping[str, Shape] = field(default_factory=dict)
    item: Shape | None = None

    def member(self, name: str) -> Shape | None:
        """The shape of member ``name``; None when an object has no such member."""
        if self.kind == "open":
            return self
        return self.members.get(name)


OPEN = Shape("open")
VALUE = Shape("value")
BOOLEAN = Shape("boolean")


def shape_of(model: type[BaseModel], extra: Mapping[str, Shape] | None = None) -> Shape:
    """The shape of a pydantic model, by wire name; ``extra`` adds members it does not declare."""
    members = {
        (info.alias or name): _shape_of_annotation(info.annotation)
        for name, info in model.model_fields.items()
    }
    members.update(extra or {})
    return Shape("object", members)


def _shape_of_annotation(annotation: Any) -> Shape:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _shape_of_annotation(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        options = [arg for arg in get_args(annotation) if arg is not type(None)]
        shapes = [_shape_of_annotation(arg) for arg in options]
        structured = [shape for shape in shapes if shape.kind in ("object", "collection")]
        if structured:
            return structured[0]
        return BOOLEAN if all(shape.kind == "boolean" for shape in shapes) else VALUE
    if origin in (list, tuple, Sequence):
        args = get_args(annotation)
        return Shape("collection", item=_shape_of_annotation(args[0]) if args else OPEN)
    if origin in (dict, Mapping) or annotation is Any:
        return OPEN
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return shape_of(annotation)
    if annotation is bool:
        return BOOLEAN
    return VALUE


def check_filter(expr: Expr, root: Shape) -> None:
    """Check every property path of a parsed ``$filter`` against ``root``."""
    _check(expr, root, {}, condition=True)


def _check(expr: Expr, root: Shape, scope: Mapping[str, Shape], *, condition: bool) -> None:
    if isinstance(expr, Constant):
        return
    if isinstance(expr, Path):
        shape = _resolve(expr, root, scope)
        if shape.kind in ("object", "collection"):
            hint = f"; use {'/'.join(expr.segments)}/any(...)" if shape.kind == "collection" else ""
            raise ODataError(
                "$filter",
                f"{'/'.join(expr.segments)!r} is {_a(shape.kind)}, not a value{hint}",
                expr.position,
            )
        if condition and shape.kind not in ("boolean", "open"):
            raise ODataError(
                "$filter",
                f"{'/'.join(expr.segments)!r} is not a true/false property; compare it with eq",
                expr.position,
            )
        return
    if isinstance(expr, Compare):
        _check(expr.left, root, scope, condition=False)
        _check(expr.right, root, scope, condition=False)
    elif isinstance(expr, Logical):
        _check(expr.left, root, scope, condition=True)
        _check(expr.right, root, scope, condition=True)
    elif isinstance(expr, Not):
        _check(expr.operand, root, scope, condition=True)
    elif isinstance(expr, Call):
        for arg in expr.args:
            _check(arg, root, scope, condition=False)
    else:
        shape = _resolve(expr.collection, root, scope)
        if shape.kind not in ("collection", "open"):
            raise ODataError(
                "$filter",
                f"{'/'.join(expr.collection.segments)!r} is not a collection; "
                f"{expr.kind}() needs one",
                expr.collection.position,
            )
        if expr.predicate is not None and expr.variable is not None:
            inner = {**scope, expr.variable: shape.item or OPEN}
            _check(expr.predicate, root, inner, condition=True)


def _a(kind: str) -> str:
    return "an object" if kind == "object" else "a collection"


def _resolve(path: Path, root: Shape, scope: Mapping[str, Shape]) -> Shape:
    segments = list(path.segments)
    walked: list[str] = []
    shape = root
    if segments[0] in scope:
        shape = scope[segments[0]]
        walked.append(segments.pop(0))
    for segment in segments:
        if shape.kind == "collection":
            raise ODataError(
                "$filter",
                f"{'/'.join(walked)!r} is a collection; "
                f"use {'/'.join(walked)}/any(x: x/{segment} ...)",
                path.position,
            )
        member = shape.member(segment)
        if member is None:
            raise ODataError("$filter", _unknown(segment, walked, shape), path.position)
        walked.append(segment)
        shape = member
    return shape


def _unknown(segment: str, walked: Sequence[str], shape: Shape) -> str:
    owner = f" of {'/'.join(walked)!r}" if walked else ""
    if shape.kind != "object":
        return f"{'/'.join(walked)!r} is a value and has no property {segment!r}"
    close = difflib.get_close_matches(segment, list(shape.members), n=1)
    if not close:
        close = [name for name in shape.members if name.lower() == segment.lower()]
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown property {segment!r}{owner}{hint}"


def check_orderby(keys: Iterable[OrderKey], root: Shape) -> None:
    """Check that every ``$orderby`` key names a single value of the resource."""
    for key in keys:
        shape = root
        for index, segment in enumerate(key.path):
            walked = key.path[:index]
            if shape.kind == "collection":
                raise ODataError(
                    "$orderby", f"cannot sort by a collection ({'/'.join(walked)!r})", key.position
                )
            member = shape.member(segment)
            if member is None:
                raise ODataError("$orderby", _unknown(segment, walked, shape), key.position)
            shape = member
        if shape.kind in ("object", "collection"):
            raise ODataError(
                "$orderby",
                f"cannot sort by {_a(shape.kind)} ({'/'.join(key.path)!r})",
                key.position,
            )
