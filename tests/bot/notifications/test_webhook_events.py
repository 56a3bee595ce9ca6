"""Parsing Partner Center's webhook events: the referral id, the dedupe key, bad bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.notifications.webhook_events import (
    REFERRAL_EVENTS,
    InvalidWebhookEvent,
    WebhookEvent,
    parse_event,
)

REFERRAL_ID = "9c1e3a5b-7d9f-4c2e-8a4b-6c8e0a2c4e03"


def body(**changes: Any) -> bytes:
    event: dict[str, Any] = {
        "EventName": "referral-updated",
        "ResourceUri": f"https://api.partnercenter.microsoft.com/engagements/v1/referrals/{REFERRAL_ID}",
        "ResourceName": "referral",
        "AuditUri": None,
        "ResourceChangeUtcDate": "2017-11-08T16:39:23.3413393Z",
    }
    event.update(changes)
    return json.dumps(event).encode()


def test_the_documented_event_parses() -> None:
    event = parse_event(body())
    assert event.event_name == "referral-updated"
    assert event.is_referral_event
    assert not event.is_test
    assert event.referral_id == REFERRAL_ID
    assert event.changed_at == datetime(2017, 11, 8, 16, 39, 23, 341339, tzinfo=UTC)
    assert event.to_wire()["ResourceUri"].endswith(REFERRAL_ID)


def test_the_referral_id_is_the_last_segment_whatever_the_host() -> None:
    uri = f"https://api.partner.microsoft.com/v1.0/engagements/referrals/{REFERRAL_ID}/"
    assert parse_event(body(ResourceUri=uri)).referral_id == REFERRAL_ID


@pytest.mark.parametrize(
    "uri",
    [
        "https://api.partner.microsoft.com/v1.0/engagements/referrals/..",
        "https://api.partner.microsoft.com/v1.0/engagements/referrals/a%2Fb",
        "https://api.partner.microsoft.com/v1.0/engagements/referrals/x'%20or%201",
        "https://api.partner.microsoft.com/",
        "not a uri",
    ],
)
def test_no_id_is_taken_that_does_not_look_like_one(uri: str) -> None:
    assert parse_event(body(ResourceUri=uri)).referral_id is None


def test_the_dedupe_key_is_the_same_for_the_same_change_only() -> None:
    first, again = parse_event(body()), parse_event(body())
    later = parse_event(body(ResourceChangeUtcDate="2017-11-08T16:40:00Z"))
    other = parse_event(body(EventName="referral-created"))
    assert first.dedupe_key == again.dedupe_key
    assert len({first.dedupe_key, later.dedupe_key, other.dedupe_key}) == 3


def test_the_test_event_is_recognized() -> None:
    event = parse_event(body(EventName="test-created", ResourceUri="https://example.test/x"))
    assert event.is_test
    assert not event.is_referral_event
    assert "test-created" not in REFERRAL_EVENTS


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[]", b'{"EventName": "referral-updated"}', body(EventName=3), b"\xff"],
)
def test_what_is_not_an_event_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidWebhookEvent):
        parse_event(raw)


def test_an_unparseable_date_is_kept_but_has_no_datetime() -> None:
    event = WebhookEvent.model_validate(json.loads(body(ResourceChangeUtcDate="yesterday")))
    assert event.changed_at is None
