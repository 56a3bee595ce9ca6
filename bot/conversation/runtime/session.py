"""One seller's conversation, as stored in Redis: JSON with a schema version.

The store keeps the version number used for compare-and-set beside the JSON, not in it, so
a session can be written without knowing its version and read without parsing twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.conversation.views import Seller

SCHEMA_VERSION = 1
"""Bump when the stored shape changes, and add a migration from the previous version."""


class Subject(BaseModel):
    """The existing referral an update, close or team flow works on."""

    referral_id: str
    etag: str | None = None
    snapshot: dict[str, Any]
    """The referral as read (wire JSON), to show current values and what changed."""
    checks: dict[str, Any] = Field(default_factory=dict)
    """What was checked before the draft started, for its submit to carry on (a deal
    registration's eligibility report, as the API gave it)."""


class Submission(BaseModel):
    """Progress of a submit that takes more than one request (co-sell: two referrals)."""

    created: list[dict[str, Any]] = Field(default_factory=list)
    """Referrals already created for this draft (wire JSON), in order."""
    sent: list[str] = Field(default_factory=list)
    """Idempotency keys (``externalReferenceId``) of creates sent, written before each is
    sent: a create sent before whose referral is not in ``created`` (its answer was lost, or
    its sender stopped) is looked for in Partner Center before it is sent again."""


class Session(BaseModel):
    """A draft in progress: which flow, where the seller is, what they answered."""

    # A field a later version dropped (``chat``) is ignored, so drafts stored before still load.
    model_config = ConfigDict(extra="ignore")

    schema_version: int = SCHEMA_VERSION
    id: str
    """The draft's id: submit idempotency is keyed on it."""
    flow: str
    seller: Seller
    current: str | None = None
    """The step being asked; None when the review is shown."""
    editing: bool = False
    """Answering ``current`` returns to the review (``edit FIELD``)."""
    answers: dict[str, Any] = Field(default_factory=dict)
    skipped: list[str] = Field(default_factory=list)
    history: list[str] = Field(default_factory=list)
    """Steps answered or skipped, in order: what ``back`` walks."""
    inferred: dict[str, str] = Field(default_factory=dict)
    """Answers the flow worked out rather than the seller gave (:class:`Inference`), by
    step, with the reason the review shows beside them."""
    told: list[str] = Field(default_factory=list)
    """Steps answered without their own question being asked (the first line, a prefill,
    an amount's currency, an earlier referral's address): progress does not count them."""
    edit_queue: list[str] = Field(default_factory=list)
    """The questions still to ask again after ``current`` when a review group is edited."""
    subject: Subject | None = None
    submission: Submission = Field(default_factory=Submission)
    notice: str | None = None
    reply_to: dict[str, Any] = Field(default_factory=dict)
    """Where the seller's conversation is, in their platform's terms, for what is told them
    after the draft is gone (an approver's decision on their registration)."""
    created_at: datetime
    updated_at: datetime
    write_id: str | None = None
    """New on every write, so a writer can tell its own write from another's identical one."""
    deliveries: list[str] = Field(default_factory=list)
    """The latest turns (platform delivery ids) that changed this draft, written with the
    change itself: a turn delivered again (its worker died half-way) is recognised as done."""


class UnreadableSession(Exception):
    """A stored session this version cannot read or migrate."""


Migration = Callable[[dict[str, Any]], dict[str, Any]]

MIGRATIONS: Mapping[int, Migration] = {}
"""``MIGRATIONS[n]`` turns a version-n document into a version-(n+1) one."""


def dump_session(session: Session) -> bytes:
    """The session as stored."""
    return session.model_dump_json(exclude_defaults=False).encode()


def load_session(data: bytes, migrations: Mapping[int, Migration] = MIGRATIONS) -> Session:
    """Parse a stored session, migrating older schema versions; raise UnreadableSession."""
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UnreadableSession("the stored draft is not valid JSON") from None
    if not isinstance(raw, dict):
        raise UnreadableSession("the stored draft is not a JSON object")
    version = raw.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise UnreadableSession(f"schema version {version!r} is newer than this bot understands")
    while version < SCHEMA_VERSION:
        migrate = migrations.get(version)
        if migrate is None:
            raise UnreadableSession(f"no migration from schema version {version}")
        raw = migrate(raw)
        version += 1
        raw["schema_version"] = version
    try:
        return Session.model_validate(raw)
    except ValidationError as exc:
        raise UnreadableSession(f"the stored draft does not fit schema {version}: {exc}") from None
