"""Stored sessions: round trip, migration of older schemas, refusal of what cannot be read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.conversation.runtime.session import (
    SCHEMA_VERSION,
    Session,
    UnreadableSession,
    dump_session,
    load_session,
)
from bot.conversation.views import Seller

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def session() -> Session:
    return Session(
        id="d1",
        flow="new",
        seller=Seller(user_id="U1", email="ana@contoso.com"),
        current="name",
        answers={"deal_kind": "private", "industries": ["Healthcare"]},
        history=["deal_kind"],
        created_at=NOW,
        updated_at=NOW,
    )


def test_round_trip() -> None:
    assert load_session(dump_session(session())) == session()
    assert json.loads(dump_session(session()))["schema_version"] == SCHEMA_VERSION


def test_older_schema_is_migrated_step_by_step() -> None:
    old = json.loads(dump_session(session()))
    old["schema_version"] = SCHEMA_VERSION - 1
    old["answers"] = {"kind": "private"}  # what an older version called the first step

    def rename_kind(document: dict[str, Any]) -> dict[str, Any]:
        answers = dict(document["answers"])
        answers["deal_kind"] = answers.pop("kind")
        return {**document, "answers": answers}

    migrated = load_session(json.dumps(old).encode(), {SCHEMA_VERSION - 1: rename_kind})
    assert migrated.answers == {"deal_kind": "private"}
    assert migrated.schema_version == SCHEMA_VERSION


def test_a_draft_stored_with_a_field_since_dropped_still_loads() -> None:
    stored = json.loads(dump_session(session()))
    stored["chat"] = {}  # platform references, kept in drafts until they moved out

    assert load_session(json.dumps(stored).encode()) == session()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"not json", "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"schema_version": 99}', "newer than this bot understands"),
        (b'{"schema_version": 0}', "no migration from schema version 0"),
        (b'{"schema_version": 1, "id": "x"}', "does not fit schema 1"),
    ],
)
def test_unreadable_sessions_say_why(data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableSession, match=reason):
        load_session(data)
