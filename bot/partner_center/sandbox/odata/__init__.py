"""The OData subset the Referrals API answers: ``$filter`` and ``$orderby``.

A tokenizer and a small recursive-descent parser turn the query text into an expression tree;
:func:`check_filter` then checks every property path against the shape of the resource, and
:func:`matches` evaluates the tree against one stored JSON document.

Grammar (lowest precedence first)::

    filter     := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := operand [("eq"|"ne"|"gt"|"ge"|"lt"|"le") operand]
    operand    := "(" or ")" | literal | function "(" args ")" | path
    path       := name ("/" name)* ["/" ("any"|"all") "(" [name ":" or] ")"]
    literal    := 'text' | number | true | false | null | GUID | date | datetime

Choices made where OData leaves room or where the service's behaviour is unknown:

* ``not`` applies to the whole comparison after it (``not status eq 'New'`` means
  ``not (status eq 'New')``), the reading people intend; strict OData would reject it.
* Text comparisons ignore case (``eq``, ``ne``, ordering and ``contains``/``startswith``/
  ``endswith``), as the service's SQL-backed filters commonly do; property names do not.
* Text that reads as a date/time (quoted or not) is compared as an instant in time with a
  property that holds one, so ``updatedDateTime ge 2024-01-01T00:00:00Z`` works whatever the
  fractional digits of the stored value.
* A comparison with a value of another type (text with a number) is simply false (``ne``:
  true); ``null`` equals only a missing or null property; ordering with ``null`` is false.
"""

from bot.partner_center.sandbox.odata.evaluate import compare, matches, sort_documents
from bot.partner_center.sandbox.odata.shapes import Shape, check_filter, check_orderby, shape_of
from bot.partner_center.sandbox.odata.syntax import (
    Expr,
    ODataError,
    OrderKey,
    parse_datetime,
    parse_filter,
    parse_orderby,
    tokenize,
)

__all__ = [
    "Expr",
    "ODataError",
    "OrderKey",
    "Shape",
    "check_filter",
    "check_orderby",
    "compare",
    "matches",
    "parse_datetime",
    "parse_filter",
    "parse_orderby",
    "shape_of",
    "sort_documents",
    "tokenize",
]
