"""The events Partner Center posts to the webhook, parsed once into a small model.

An event says only which referral changed and when (no status, no diff, no event id): the
receiver reads the referral again to see what changed. Parse the body only after its
signature was checked (:mod:`bot.notifications.signature`).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "REFERRAL_CREATED",
    "REFERRAL_EVENTS",
    "REFERRAL_UPDATED",
    "RELATED_REFERRAL_CREATED",
    "RELATED_REFERRAL_UPDATED",
    "TEST_CREATED",
    "InvalidWebhookEvent",
    "WebhookEvent",
    "parse_event",
]

REFERRAL_CREATED: Final = "referral-created"
REFERRAL_UPDATED: Final = "referral-updated"
RELATED_REFERRAL_CREATED: Final = "related-referral-created"
"""The other referral(s) of an engagement changed, e.g. Microsoft's side of a co-sell."""
RELATED_REFERRAL_UPDATED: Final = "related-referral-updated"
TEST_CREATED: Final = "test-created"
"""What ``POST /webhooks/v1/registration/validationEvents`` sends."""

REFERRAL_EVENTS: Final = (
    REFERRAL_CREATED,
    REFERRAL_UPDATED,
    RELATED_REFERRAL_CREATED,
    RELATED_REFERRAL_UPDATED,
)
"""The events about referrals the bot registers for."""

# Referral ids are GUIDs; anything that could change a URL path or an OData filter it is put
# into (a slash, a dot, a quote) is refused. The URI's host and version are not trusted.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")


class InvalidWebhookEvent(ValueError):
    """The body is not a Partner Center event (not JSON, or fields missing or mistyped)."""


class WebhookEvent(BaseModel):
    """One event, fields named as on the wire (``EventName``, ``ResourceUri``, ...)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    event_name: str = Field(
        validation_alias=AliasChoices("EventName", "eventName"), min_length=1, max_length=200
    )
    resource_uri: str = Field(
        validation_alias=AliasChoices("ResourceUri", "resourceUri"), max_length=2048
    )
    resource_name: str | None = Field(
        default=None, validation_alias=AliasChoices("ResourceName", "resourceName")
    )
    audit_uri: str | None = Field(
        default=None, validation_alias=AliasChoices("AuditUri", "auditUri")
    )
    resource_change_utc_date: str = Field(
        validation_alias=AliasChoices("ResourceChangeUtcDate", "resourceChangeUtcDate"),
        max_length=64,
    )

    @property
    def is_referral_event(self) -> bool:
        """Whether it is one of :data:`REFERRAL_EVENTS`."""
        return self.event_name in REFERRAL_EVENTS

    @property
    def is_test(self) -> bool:
        """Whether it is the registration's test event."""
        return self.event_name == TEST_CREATED

    @property
    def referral_id(self) -> str | None:
        """The last path segment of ``ResourceUri`` if it looks like a referral id, else None."""
        try:
            path = urlsplit(self.resource_uri).path
        except ValueError:
            return None
        last = unquote(path.rstrip("/").rpartition("/")[2])
        return last if _ID.fullmatch(last) else None

    @property
    def changed_at(self) -> datetime | None:
        """``ResourceChangeUtcDate`` as an aware datetime, or None when it is not a date."""
        try:
            parsed = _Date.model_validate({"value": self.resource_change_utc_date}).value
        except ValidationError:
            return None
        return parsed if parsed.tzinfo is not None else None

    @property
    def dedupe_key(self) -> str:
        """A digest of event name, resource URI and change date: the same change delivered
        twice (Partner Center retries up to ten times, and a replay looks the same) gives
        the same key."""
        material = "\n".join(
            (self.event_name, self.resource_uri, self.resource_change_utc_date)
        ).encode("utf-8")
        return hashlib.sha256(material).hexdigest()

    def to_wire(self) -> dict[str, Any]:
        """The event as Partner Center writes it."""
        return {
            "EventName": self.event_name,
            "ResourceUri": self.resource_uri,
            "ResourceName": self.resource_name,
            "AuditUri": self.audit_uri,
            "ResourceChangeUtcDate": self.resource_change_utc_date,
        }


class _Date(BaseModel):
    value: datetime


def parse_event(body: bytes) -> WebhookEvent:
    """The event in a webhook request body; :class:`InvalidWebhookEvent` if it is not one."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise InvalidWebhookEvent("the body is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidWebhookEvent("the body is not a JSON object")
    try:
        return WebhookEvent.model_validate(data)
    except ValidationError as exc:
        fields = sorted({str(error["loc"][0]) for error in exc.errors() if error["loc"]})
        raise InvalidWebhookEvent(
            f"not a Partner Center event (check {', '.join(fields) or 'the fields'})"
        ) from None
