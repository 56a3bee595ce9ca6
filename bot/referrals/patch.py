"""JSON Patch documents for ``PATCH /engagements/referrals/{id}``, checked before they are sent.

The API accepts only ``replace`` and ``add``. Every path we may write is listed in
:data:`WRITABLE_PATHS` with the validator its value must pass, so a typo in a path or a wrong
value type fails here, with the path named, instead of as a 400 from the service. The sandbox
applies the same table, so both sides agree on what is writable.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter, ValidationError

from bot.referrals import catalogs, limits
from bot.referrals.catalogs import ReferralStatus, ReferralSubstatus
from bot.referrals.lookup import UnknownValue
from bot.referrals.models import (
    AdditionalRequirements,
    Address,
    DealRegistration,
    Member,
    SolutionTag,
    Tag,
)
from bot.referrals.wire import Money, UtcDateTime, WireModel, format_utc, money_to_json

PatchOp = Literal["add", "replace"]
ALLOWED_OPS: tuple[PatchOp, ...] = ("add", "replace")
APPEND = "-"


class PatchError(ValueError):
    """An operation the API would refuse; ``path`` names the offending field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.reason = message


@dataclass(frozen=True, slots=True)
class PatchOperation:
    """One JSON Patch operation, its value already in JSON form."""

    op: PatchOp
    path: str
    value: Any

    def to_wire(self) -> dict[str, Any]:
        """The operation as the API expects it."""
        return {"op": self.op, "path": self.path, "value": self.value}


Validator = Callable[[Any], Any]
"""Turns a candidate value into its JSON form, or raises ValueError with a reason."""


def _adapter(tp: Any) -> Validator:
    adapter: TypeAdapter[Any] = TypeAdapter(tp)

    def validate(value: Any) -> Any:
        try:
            parsed = adapter.validate_python(value)
        except ValidationError as exc:
            raise ValueError(_first_error(exc)) from None
        return to_json_value(parsed)

    return validate


def _text(max_length: int) -> Validator:
    def validate(value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("expected text")
        text = value.strip()
        if len(text) > max_length:
            raise ValueError(f"at most {max_length} characters (got {len(text)})")
        return text

    return validate


def _required_text(max_length: int) -> Validator:
    text = _text(max_length)

    def validate(value: Any) -> Any:
        result = text(value)
        if not result:
            raise ValueError("must not be empty")
        return result

    return validate


def _enum(enum: type[Enum]) -> Validator:
    names = ", ".join(str(member.value) for member in enum)

    def validate(value: Any) -> Any:
        try:
            return enum(value).value
        except ValueError:
            raise ValueError(f"{value!r} is not one of {names}") from None

    return validate


def _positive_money(value: Any) -> Any:
    amount = _adapter(Money)(value)
    if Decimal(str(amount)) <= 0:
        raise ValueError("must be greater than 0")
    return amount


def _catalog(lookup: Callable[[str], str]) -> Validator:
    def validate(value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("expected text")
        try:
            return lookup(value)
        except UnknownValue as exc:
            raise ValueError(str(exc)) from None

    return validate


def _tags(lookup: Callable[[str], str]) -> Validator:
    tags = _adapter(list[Tag])
    check = _catalog(lookup)

    def validate(value: Any) -> Any:
        return [{**tag, "id": check(tag["id"])} for tag in tags(value)]

    return validate


def _team_member(value: Any) -> Any:
    member = _adapter(Member)(value)
    missing = [key for key in ("firstName", "lastName", "email") if not member.get(key)]
    if missing:
        raise ValueError(f"a team member needs {', '.join(missing)}")
    return member


def _team(value: Any) -> Any:
    if not isinstance(value, list):
        raise ValueError("expected a list of team members")
    return [_team_member(member) for member in value]


_boolean = _adapter(bool)
_address_line = _text(limits.ADDRESS_LINE)

MAX_NOTES_LENGTH = limits.NOTES

WRITABLE_PATHS: Mapping[str, Validator] = {
    "/name": _required_text(limits.REFERRAL_NAME),
    "/externalReferenceId": _text(limits.EXTERNAL_REFERENCE),
    "/status": _enum(ReferralStatus),
    "/substatus": _enum(ReferralSubstatus),
    "/statusReason": _text(limits.STATUS_REASON),
    "/customerProfile/name": _required_text(limits.CUSTOMER_NAME),
    "/customerProfile/size": _catalog(catalogs.CUSTOMER_SIZES.lookup),
    "/customerProfile/address": _adapter(Address),
    "/customerProfile/address/addressLine1": _address_line,
    "/customerProfile/address/addressLine2": _address_line,
    "/customerProfile/address/city": _text(limits.CITY),
    "/customerProfile/address/state": _text(limits.STATE),
    "/customerProfile/address/postalCode": _text(limits.POSTAL_CODE),
    "/customerProfile/address/country": _catalog(catalogs.COUNTRIES.lookup),
    "/customerProfile/address/region": _text(limits.REGION),
    "/customerProfile/team": _team,
    "/customerProfile/team/-": _team_member,
    "/consent/consentToToShareInfoWithOthers": _boolean,
    "/consent/consentToContact": _boolean,
    "/consent/consentToShareReferralWithMicrosoftSellers": _boolean,
    "/consent/consentToMicrosoftToContactSpecificPartners": _boolean,
    "/details/notes": _text(MAX_NOTES_LENGTH),
    "/details/dealValue": _positive_money,
    "/details/currency": _catalog(catalogs.CURRENCIES.lookup),
    "/details/closingDateTime": _adapter(UtcDateTime),
    "/details/requirements/industries": _tags(catalogs.INDUSTRIES.lookup),
    "/details/requirements/products": _tags(catalogs.PRODUCTS.lookup),
    "/details/requirements/services": _tags(catalogs.SERVICES.lookup),
    "/details/requirements/solutions": _adapter(list[SolutionTag]),
    "/details/requirements/solutions/-": _adapter(SolutionTag),
    "/details/requirements/additionalRequirements": _adapter(AdditionalRequirements),
    "/team": _team,
    "/team/-": _team_member,
    "/inviteContext/notes": _text(MAX_NOTES_LENGTH),
    "/registrations/-": _adapter(DealRegistration),
}
"""Every path a PATCH may write, with the check its value must pass."""


def validate_operation(op: str, path: str, value: Any) -> PatchOperation:
    """Check one operation against the API's rules and return it with a JSON-ready value."""
    if op not in ALLOWED_OPS:
        raise PatchError(path, f"operation {op!r} is not supported; use add or replace")
    validator = WRITABLE_PATHS.get(path)
    if validator is None:
        raise PatchError(path, _unknown_path_message(path))
    if path.endswith("/" + APPEND) and op != "add":
        raise PatchError(path, "appending to a list needs the add operation")
    try:
        json_value = validator(value)
    except ValueError as exc:
        raise PatchError(path, str(exc)) from None
    return PatchOperation(op=op, path=path, value=json_value)


class JsonPatch:
    """Builds a validated JSON Patch document, one operation at a time.

    >>> JsonPatch().replace("/details/dealValue", "10000").append("/team", member).to_wire()
    """

    def __init__(self, operations: Iterable[PatchOperation] = ()) -> None:
        self._operations = list(operations)

    def replace(self, path: str, value: Any) -> JsonPatch:
        """Set the value at ``path``."""
        self._operations.append(validate_operation("replace", path, value))
        return self

    def add(self, path: str, value: Any) -> JsonPatch:
        """Add the value at ``path`` (for an object member, the same as replace)."""
        self._operations.append(validate_operation("add", path, value))
        return self

    def append(self, list_path: str, value: Any) -> JsonPatch:
        """Add ``value`` at the end of the list at ``list_path``."""
        return self.add(f"{list_path}/{APPEND}", value)

    @property
    def operations(self) -> Sequence[PatchOperation]:
        """The operations so far."""
        return tuple(self._operations)

    def paths(self) -> set[str]:
        """The paths the document touches."""
        return {operation.path for operation in self._operations}

    def __len__(self) -> int:
        return len(self._operations)

    def __bool__(self) -> bool:
        return bool(self._operations)

    def to_wire(self) -> list[dict[str, Any]]:
        """The request body."""
        return [operation.to_wire() for operation in self._operations]

    @classmethod
    def from_wire(cls, document: Any) -> JsonPatch:
        """Parse and validate a JSON Patch document received as JSON."""
        if not isinstance(document, list) or not document:
            raise PatchError("", "a JSON Patch document is a non-empty array of operations")
        operations = []
        for index, item in enumerate(document):
            if not isinstance(item, Mapping) or "op" not in item or "path" not in item:
                raise PatchError("", f"operation {index} needs op, path and value")
            if item["op"] in ALLOWED_OPS and "value" not in item:
                raise PatchError(str(item["path"]), "the operation has no value")
            operations.append(
                validate_operation(str(item["op"]), str(item["path"]), item.get("value"))
            )
        return cls(operations)


def to_json_value(value: Any) -> Any:
    """Turn models, enums, decimals and datetimes (also inside lists) into plain JSON values."""
    if isinstance(value, WireModel):
        return value.to_wire()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if isinstance(value, list | tuple):
        return [to_json_value(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return money_to_json(value)
    if isinstance(value, datetime):
        return format_utc(value)
    return value


def _unknown_path_message(path: str) -> str:
    close = difflib.get_close_matches(path, WRITABLE_PATHS.keys(), n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    return f"is not a field that can be changed.{hint}"


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    location = "/".join(str(part) for part in error["loc"])
    return f"{location}: {error['msg']}" if location else str(error["msg"])
