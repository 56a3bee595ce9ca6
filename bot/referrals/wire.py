"""The base of every Partner Center model: camelCase on the wire, unknown fields kept.

Real payloads carry many more fields than the documentation lists; a model that dropped
them would silently lose data when a referral is read, changed and written back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AliasChoices,
    AliasGenerator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
)
from pydantic.alias_generators import to_camel


def _as_utc(value: datetime) -> datetime:
    # The API speaks UTC; a naive value from a user or a file means UTC too.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_utc(value: datetime) -> str:
    """Format an aware datetime the way the API writes them (``2024-11-14T00:00:00Z``)."""
    value = _as_utc(value)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def money_to_json(value: Decimal) -> int | float:
    """A decimal amount as a JSON number."""
    # The resource type is decimal and responses carry JSON numbers; keep whole amounts exact.
    if value == value.to_integral_value():
        return int(value)
    return float(value)


UtcDateTime = Annotated[
    datetime,
    AfterValidator(_as_utc),
    PlainSerializer(format_utc, return_type=str, when_used="json"),
]
"""A timezone-aware UTC datetime written as ISO 8601 with a ``Z``."""

Money = Annotated[
    Decimal,
    PlainSerializer(money_to_json, return_type=int | float, when_used="json"),
]
"""A decimal amount; accepts numbers and numeric strings (the API's PATCH samples send strings)."""


def _wire_aliases(name: str) -> AliasChoices:
    # The service binds property names case-insensitively and Microsoft's own samples send
    # "ConsentToContact"; accept that spelling too. Done by aliases, not a Python validator,
    # so parsing stays in pydantic's compiled core (it runs for every nested object).
    camel = to_camel(name)
    return AliasChoices(camel, camel[:1].upper() + camel[1:])


WIRE_ALIASES = AliasGenerator(
    alias=to_camel, validation_alias=_wire_aliases, serialization_alias=to_camel
)


class WireModel(BaseModel):
    """camelCase aliases, snake_case attributes, unknown fields kept and sent back unchanged."""

    model_config = ConfigDict(
        alias_generator=WIRE_ALIASES,
        populate_by_name=True,
        extra="allow",
        validate_assignment=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON body for the API: aliases, only the fields that were set, extras included."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    @classmethod
    def from_wire(cls, data: Any) -> Self:
        """Parse a JSON object received from the API."""
        return cls.model_validate(data)

    @classmethod
    def from_json(cls, data: bytes | str) -> Self:
        """Parse a JSON document received from the API."""
        return cls.model_validate_json(data)


def wire_field(wire_name: str, **kwargs: Any) -> Any:
    """A field whose wire name is not the camelCase of its attribute (the API's own typos)."""
    pascal = wire_name[:1].upper() + wire_name[1:]
    return Field(
        alias=wire_name,
        validation_alias=AliasChoices(wire_name, pascal),
        serialization_alias=wire_name,
        **kwargs,
    )
