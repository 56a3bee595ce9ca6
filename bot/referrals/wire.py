"""The base of every Partner Center model: camelCase on the wire, unknown fields kept.

Real payloads carry many more fields than the documentation lists; a model that dropped
them would silently lose data when a referral is read, changed and written back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    PlainSerializer,
    model_validator,
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


class WireModel(BaseModel):
    """camelCase aliases, snake_case attributes, unknown fields kept and sent back unchanged."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        validate_assignment=True,
        use_enum_values=False,
    )

    _aliases_by_folded_key: ClassVar[dict[str, str]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._aliases_by_folded_key = {
            (field.alias or name).lower(): field.alias or name
            for name, field in cls.model_fields.items()
        }

    @model_validator(mode="before")
    @classmethod
    def _accept_any_key_case(cls, data: Any) -> Any:
        # The service binds property names case-insensitively and Microsoft's own samples send
        # "ConsentToContact"; map such spellings of known fields to their canonical alias.
        if not isinstance(data, dict):
            return data
        known = cls._aliases_by_folded_key
        renamed: dict[str, Any] = {}
        for key, value in data.items():
            canonical = known.get(key.lower(), key) if isinstance(key, str) else key
            if canonical in renamed and canonical != key:
                continue  # the canonical spelling, when both are present, wins
            renamed[canonical] = value
        return renamed

    def to_wire(self) -> dict[str, Any]:
        """The JSON body for the API: aliases, only the fields that were set, extras included."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    @classmethod
    def from_wire(cls, data: Any) -> Self:
        """Parse a JSON object received from the API."""
        return cls.model_validate(data)
