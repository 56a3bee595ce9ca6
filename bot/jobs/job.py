"""What a job is, as the stream and the inboxes hold it, and how entries are read back.

Reading never fails the worker's loop: an entry that is not a job this version can read
raises :class:`UnreadableJob`, for the worker to bury it with the reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from bot.logs import log_context

ORDERED: Final = "ordered"
"""The kind of a stream entry that names an inbox instead of carrying a job."""


@dataclass(frozen=True, slots=True)
class Job:
    """One piece of work: what to do (``kind``), with what (``payload``), and which try."""

    id: str
    kind: str
    payload: dict[str, Any]
    delivery: int = 1
    """1 the first time; more when the job was reclaimed from a worker that did not finish."""
    queued_at: float | None = field(default=None, compare=False)
    """When it was put on the stream (Unix time), when known: how long it waited (timing,
    not part of what the job is)."""


JobHandler = Callable[[Job], Awaitable[None]]
"""Does a job. Raising leaves the job to be tried again later (up to ``max_deliveries``)."""


class UnknownJob(LookupError):
    """No handler for a job's kind (a newer web process than this worker, say)."""


class QueueRefused(Exception):
    """Redis did not take a job (it is down, full, or the stream's key is not a stream)."""


class UnreadableJob(ValueError):
    """A stream or inbox entry that is not a job this version can read."""


@dataclass(frozen=True, slots=True)
class Entry:
    """A stream entry as read: a job, an inbox to work on, or something unreadable."""

    id: str
    fields: dict[str, str]
    delivery: int = 1
    stream: str = ""
    """The stream it was read from: its shard's, or a worker's own."""

    @property
    def retried(self) -> bool:
        """Whether someone may have started on it before: delivered before, or handed back
        from a worker that stopped (``adopted``)."""
        return self.delivery > 1 or self.fields.get("adopted") == "1"


def dispatch(handlers: Mapping[str, JobHandler]) -> JobHandler:
    """One handler for the stream, routing each job to the handler of its kind."""

    async def handle(job: Job) -> None:
        handler = handlers.get(job.kind)
        if handler is None:
            raise UnknownJob(f"no handler for jobs of kind {job.kind!r}")
        with log_context(job_id=job.id, job_kind=job.kind):
            await handler(job)

    return handle


def entry_of(raw: Any, delivery: int = 1, stream: str = "") -> Entry:
    """A stream entry of ``stream`` as redis-py returns it (id and fields, bytes or text)."""
    entry_id, fields = raw
    return Entry(
        id=text_of(entry_id),
        fields={text_of(key): text_of(value, lossy=True) for key, value in fields.items()},
        delivery=delivery,
        stream=stream,
    )


def job_of(entry: Entry) -> Job:
    """The job a plain stream entry carries; :class:`UnreadableJob` if it carries none."""
    kind = entry.fields.get("kind")
    if not kind:
        raise UnreadableJob("the entry names no kind")
    try:
        payload = json.loads(entry.fields.get("payload") or "{}")
    except ValueError as error:
        raise UnreadableJob(f"the payload is not JSON ({error})") from None
    if not isinstance(payload, dict):
        raise UnreadableJob("the payload is not a JSON object")
    return Job(
        id=entry.id,
        kind=kind,
        payload=payload,
        delivery=entry.delivery,
        queued_at=_stream_time(entry.id),
    )


def _stream_time(entry_id: str) -> float | None:
    """When Redis took a stream entry: its id is ``<milliseconds>-<sequence>``."""
    milliseconds, _, _ = entry_id.partition("-")
    return int(milliseconds) / 1000 if milliseconds.isdigit() else None


def inbox_job(data: str, delivery: int) -> Job:
    """The job of an inbox entry; :class:`UnreadableJob` if it is not one."""
    try:
        entry = json.loads(data)
    except ValueError as error:
        raise UnreadableJob(f"the inbox entry is not JSON ({error})") from None
    if (
        not isinstance(entry, dict)
        or not isinstance(entry.get("id"), str)
        or not isinstance(entry.get("kind"), str)
        or not isinstance(entry.get("payload"), dict)
    ):
        raise UnreadableJob("the inbox entry is not an object with an id, a kind and a payload")
    at = entry.get("at")
    return Job(
        id=entry["id"],
        kind=entry["kind"],
        payload=entry["payload"],
        delivery=delivery,
        queued_at=float(at) if isinstance(at, int | float) else None,
    )


def fields_of(job: Job) -> dict[str, str]:
    """The job as stream fields (for the dead letters)."""
    return {"kind": job.kind, "payload": json.dumps(job.payload)}


DROPPED: Final = frozenset({"response_url"})
"""Keys a dead letter never keeps, at any depth: a Slack ``response_url`` lets whoever holds it
post into the conversation for 30 minutes."""
WORDS: Final = frozenset({"text", "shown"})
"""Keys holding what a person typed or picked, in their words, dropped from dead letters (as
is the ``value`` of a typed-text input, ``{"kind": "text", "value": ...}``)."""
UNREADABLE_KEPT_CHARS: Final = 200
"""How much of an entry that is not JSON a dead letter keeps, for an operator to recognise."""
_URL_FIELD = re.compile(r'"response_url"\s*:\s*"[^"]*"')


def dead_letter(fields: Mapping[str, str], job_id: str, why: str) -> dict[str, str]:
    """The record of a buried job: its stream fields with what is private left out.

    Kept: the kind, the job id, the error and the payload's structure (for a turn: the
    conversation key, the delivery id, the platform, the step, the seller's ids). Left out,
    at any depth of the payload: every ``response_url`` and the person's words (see
    :data:`WORDS`). An entry that is not JSON keeps its first :data:`UNREADABLE_KEPT_CHARS`
    characters, any ``response_url`` in them blanked.
    """
    record = {name: _redacted_json(value) for name, value in fields.items()}
    return {**record, "id": job_id, "error": why}


def _redacted_json(text: str) -> str:
    try:
        value = json.loads(text)
    except ValueError:
        return _URL_FIELD.sub('"response_url":""', text[:UNREADABLE_KEPT_CHARS])
    if not isinstance(value, dict | list):
        return text
    return json.dumps(redacted(value))


def redacted(value: Any) -> Any:
    """``value`` (decoded JSON) without ``response_url``s and a person's words."""
    if isinstance(value, list):
        return [redacted(item) for item in value]
    if not isinstance(value, dict):
        return value
    typed = value.get("kind") == "text"
    return {
        key: redacted(item)
        for key, item in value.items()
        if key not in DROPPED and key not in WORDS and not (typed and key == "value")
    }


def text_of(value: bytes | str, *, lossy: bool = False) -> str:
    """``value`` as text; ``lossy`` replaces bytes that are not UTF-8."""
    if isinstance(value, bytes):
        return value.decode(errors="replace" if lossy else "strict")
    return value
