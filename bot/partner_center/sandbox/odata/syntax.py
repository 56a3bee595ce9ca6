"""Tokenizer, expression tree and recursive-descent parser for ``$filter`` and ``$orderby``.

Regular expressions recognise single tokens only; all structure is the parser's job, one
method per grammar rule (see the package docstring for the grammar).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Literal

__all__ = [
    "Call",
    "Compare",
    "Constant",
    "Expr",
    "Lambda",
    "Logical",
    "Not",
    "ODataError",
    "OrderKey",
    "Path",
    "Token",
    "parse_datetime",
    "parse_filter",
    "parse_orderby",
    "tokenize",
]

MAX_QUERY_LENGTH = 4000
MAX_DEPTH = 40
"""Nesting deeper than this is refused instead of exhausting the interpreter's stack."""

COMPARISONS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
LAMBDAS = frozenset({"any", "all"})
FUNCTIONS = frozenset({"contains", "startswith", "endswith"})
_WORDS: Mapping[str, bool | None] = {"true": True, "false": False, "null": None}
_KEYWORDS = frozenset({"and", "or", "not", "true", "false", "null"}) | COMPARISONS


class ODataError(ValueError):
    """A query option the sandbox cannot understand; the message points at the problem."""

    def __init__(self, option: str, message: str, position: int | None = None) -> None:
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"Invalid {option}{where}: {message}")
        self.option = option
        self.position = position
        self.reason = message


# --- tokens ----------------------------------------------------------------------------------

TokenKind = Literal["name", "string", "number", "datetime", "guid", "(", ")", ",", ":", "/", "end"]


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical unit and where it starts in the query text."""

    kind: TokenKind
    text: str
    position: int
    value: Any = None


# ASCII only: a Unicode digit must not sneak into a number or a date.
_SPACE = re.compile(r"\s+")
_NOT_NAME_CHAR = r"(?![A-Za-z0-9_])"
_GUID = re.compile(
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}" + _NOT_NAME_CHAR,
    re.ASCII,
)
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?"
    + _NOT_NAME_CHAR,
    re.ASCII,
)
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?" + _NOT_NAME_CHAR, re.ASCII)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_PUNCTUATION: Mapping[str, TokenKind] = {"(": "(", ")": ")", ",": ",", ":": ":", "/": "/"}


def tokenize(text: str, option: str = "$filter") -> list[Token]:
    """Split query text into tokens, ending with an ``end`` token."""
    if len(text) > MAX_QUERY_LENGTH:
        raise ODataError(option, f"longer than {MAX_QUERY_LENGTH} characters")
    tokens: list[Token] = []
    position = 0
    while True:
        space = _SPACE.match(text, position)
        if space:
            position = space.end()
        if position >= len(text):
            tokens.append(Token("end", "", position))
            return tokens
        char = text[position]
        if char in _PUNCTUATION:
            tokens.append(Token(_PUNCTUATION[char], char, position))
            position += 1
        elif char == "'":
            token = _string(text, position, option)
            tokens.append(token)
            position += len(token.text)
        elif found := _GUID.match(text, position):
            tokens.append(Token("guid", found.group(), position, found.group()))
            position = found.end()
        elif found := _DATETIME.match(text, position):
            moment = parse_datetime(found.group())
            if moment is None:
                raise ODataError(option, f"{found.group()!r} is not a valid date/time", position)
            tokens.append(Token("datetime", found.group(), position, moment))
            position = found.end()
        elif found := _NUMBER.match(text, position):
            tokens.append(Token("number", found.group(), position, _decimal(found.group())))
            position = found.end()
        elif found := _NAME.match(text, position):
            tokens.append(Token("name", found.group(), position, found.group()))
            position = found.end()
        else:
            raise ODataError(option, f"unexpected character {char!r}", position)


def _string(text: str, start: int, option: str) -> Token:
    # OData escapes a quote inside a string literal by doubling it: 'O''Brien'.
    chars: list[str] = []
    position = start + 1
    while position < len(text):
        char = text[position]
        if char == "'":
            if text.startswith("''", position):
                chars.append("'")
                position += 2
                continue
            return Token("string", text[start : position + 1], start, "".join(chars))
        chars.append(char)
        position += 1
    raise ODataError(option, "unterminated string literal", start)


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the number pattern only lets valid text through
        return Decimal(0)


# --- date/time values ------------------------------------------------------------------------

_DATETIME_TEXT = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?)?"
    r"(Z|z|[+-][0-9]{2}:?[0-9]{2})?",
    re.ASCII,
)


@lru_cache(maxsize=8192)
def parse_datetime(text: str) -> datetime | None:
    """The instant ``text`` denotes (UTC when it names no offset), or None if it is not one."""
    found = _DATETIME_TEXT.fullmatch(text)
    if found is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = found.groups()
    # The service writes seven fractional digits; datetime holds six.
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
            tzinfo=UTC,
        )
        if offset and offset not in ("Z", "z"):
            # The wall-clock fields were read as UTC; move them by the stated offset.
            sign = 1 if offset[0] == "+" else -1
            digits = offset[1:].replace(":", "")
            shift = int(digits[:2]) * 60 + int(digits[2:])
            if shift >= 24 * 60:
                return None
            moment -= sign * timedelta(minutes=shift)
    except (ValueError, OverflowError):
        return None
    return moment


# --- expression tree -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Constant:
    """A constant: text, a Decimal, a bool, None or an aware datetime."""

    value: Any
    position: int


@dataclass(frozen=True, slots=True)
class Path:
    """A property path; the first segment may name a lambda variable instead."""

    segments: tuple[str, ...]
    position: int


@dataclass(frozen=True, slots=True)
class Compare:
    """``left op right`` with one of the six comparison operators."""

    op: str
    left: Expr
    right: Expr
    position: int


@dataclass(frozen=True, slots=True)
class Logical:
    """``and`` / ``or`` of two conditions."""

    op: Literal["and", "or"]
    left: Expr
    right: Expr
    position: int


@dataclass(frozen=True, slots=True)
class Not:
    """``not`` of a condition."""

    operand: Expr
    position: int


@dataclass(frozen=True, slots=True)
class Lambda:
    """``collection/any(v: predicate)`` or ``all``; no predicate means "is not empty"."""

    kind: Literal["any", "all"]
    collection: Path
    variable: str | None
    predicate: Expr | None
    position: int


@dataclass(frozen=True, slots=True)
class Call:
    """A text function: ``contains``, ``startswith`` or ``endswith``."""

    name: str
    args: tuple[Expr, ...]
    position: int


Expr = Constant | Path | Compare | Logical | Not | Lambda | Call
"""A node of a parsed ``$filter``."""


class _Parser:
    """Recursive descent over the token list; one instance per query text."""

    def __init__(self, text: str, option: str) -> None:
        self.option = option
        self.tokens = tokenize(text, option)
        self.index = 0
        self.depth = 0
        self.variables: list[str] = []

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def at(self, kind: TokenKind) -> bool:
        return self.current.kind == kind

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def error(self, message: str, token: Token | None = None) -> ODataError:
        token = token or self.current
        return ODataError(self.option, message, token.position)

    def is_keyword(self, word: str) -> bool:
        return self.current.kind == "name" and self.current.text == word

    def expect(self, kind: TokenKind, what: str) -> Token:
        if self.current.kind != kind:
            raise self.error(f"expected {what}, found {_describe(self.current)}")
        return self.advance()

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nested more than {MAX_DEPTH} levels deep")

    # Grammar rules, one method each.

    def parse_filter(self) -> Expr:
        expr = self.parse_or()
        if self.current.kind != "end":
            raise self.error(f"expected and, or or the end, found {_describe(self.current)}")
        self.require_condition(expr)
        return expr

    def parse_or(self) -> Expr:
        self.nested()
        left = self.parse_and()
        while self.is_keyword("or"):
            token = self.advance()
            right = self.parse_and()
            left = Logical(
                "or", self.require_condition(left), self.require_condition(right), token.position
            )
        self.depth -= 1
        return left

    def parse_and(self) -> Expr:
        left = self.parse_not()
        while self.is_keyword("and"):
            token = self.advance()
            right = self.parse_not()
            left = Logical(
                "and", self.require_condition(left), self.require_condition(right), token.position
            )
        return left

    def parse_not(self) -> Expr:
        if self.is_keyword("not"):
            token = self.advance()
            self.nested()
            operand = self.parse_not()
            self.depth -= 1
            return Not(self.require_condition(operand), token.position)
        return self.parse_comparison()

    def parse_comparison(self) -> Expr:
        left = self.parse_operand()
        if self.current.kind == "name" and self.current.text in COMPARISONS:
            token = self.advance()
            right = self.parse_operand()
            return Compare(token.text, left, right, token.position)
        if self.current.kind == "name" and self.current.text.lower() in COMPARISONS:
            raise self.error(f"operators are lower case: write {self.current.text.lower()!r}")
        return left

    def parse_operand(self) -> Expr:
        token = self.current
        if token.kind == "(":
            self.advance()
            expr = self.parse_or()
            self.expect(")", "')'")
            return expr
        if token.kind in ("string", "number", "datetime", "guid"):
            self.advance()
            return Constant(token.value, token.position)
        if token.kind != "name":
            raise self.error(f"expected a property, a value or '(', found {_describe(token)}")
        if token.text in ("true", "false", "null"):
            self.advance()
            return Constant(_WORDS[token.text], token.position)
        if token.text in _KEYWORDS:
            raise self.error(f"expected a property or a value, found {_describe(token)}")
        if self.peek().kind == "(":
            return self.parse_call()
        return self.parse_path()

    def parse_call(self) -> Expr:
        token = self.advance()
        if token.text not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            raise self.error(f"unknown function {token.text!r} (supported: {known})", token)
        self.expect("(", "'('")
        args = [self.parse_or()]
        while self.current.kind == ",":
            self.advance()
            args.append(self.parse_or())
        self.expect(")", "')'")
        if len(args) != 2:
            raise self.error(f"{token.text} takes 2 arguments, got {len(args)}", token)
        return Call(token.text, tuple(args), token.position)

    def parse_path(self) -> Expr:
        first = self.advance()
        segments = [first.text]
        while self.current.kind == "/":
            self.advance()
            segment = self.expect("name", "a property name after '/'")
            if segment.text in LAMBDAS and self.at("("):
                return self.parse_lambda(Path(tuple(segments), first.position), segment)
            segments.append(segment.text)
        return Path(tuple(segments), first.position)

    def parse_lambda(self, collection: Path, token: Token) -> Expr:
        self.expect("(", "'('")
        kind: Literal["any", "all"] = "any" if token.text == "any" else "all"
        if self.current.kind == ")":
            if kind == "all":
                raise self.error("all() needs a condition: all(x: ...)")
            self.advance()
            return Lambda(kind, collection, None, None, token.position)
        variable = self.expect("name", "a lambda variable name")
        if variable.text in _KEYWORDS:
            raise self.error(f"{variable.text!r} cannot name a lambda variable", variable)
        self.expect(":", "':' after the lambda variable")
        self.variables.append(variable.text)
        predicate = self.require_condition(self.parse_or())
        self.variables.pop()
        self.expect(")", "')' to close the lambda")
        return Lambda(kind, collection, variable.text, predicate, token.position)

    def require_condition(self, expr: Expr) -> Expr:
        # A bare property may hold a boolean (checked against the shape later); a bare number
        # or text never can.
        if isinstance(expr, Constant) and not isinstance(expr.value, bool):
            raise ODataError(self.option, "expected a condition, found a value", expr.position)
        return expr


def _describe(token: Token) -> str:
    return "the end of the text" if token.kind == "end" else repr(token.text)


def parse_filter(text: str) -> Expr:
    """Parse a ``$filter`` expression; raises :class:`ODataError` on anything malformed."""
    if not text.strip():
        raise ODataError("$filter", "the expression is empty")
    return _Parser(text, "$filter").parse_filter()


@dataclass(frozen=True, slots=True)
class OrderKey:
    """One ``$orderby`` item."""

    path: tuple[str, ...]
    descending: bool
    position: int


def parse_orderby(text: str) -> tuple[OrderKey, ...]:
    """Parse ``$orderby`` (``createdDateTime desc, name``) into sort keys."""
    option = "$orderby"
    if not text.strip():
        raise ODataError(option, "the list of properties is empty")
    parser = _Parser(text, option)
    keys: list[OrderKey] = []
    while True:
        first = parser.expect("name", "a property name")
        segments = [first.text]
        while parser.current.kind == "/":
            parser.advance()
            segments.append(parser.expect("name", "a property name after '/'").text)
        descending = False
        if parser.current.kind == "name" and parser.current.text.lower() in ("asc", "desc"):
            descending = parser.advance().text.lower() == "desc"
        keys.append(OrderKey(tuple(segments), descending, first.position))
        if parser.current.kind == "end":
            return tuple(keys)
        parser.expect(",", "',' or the end")
