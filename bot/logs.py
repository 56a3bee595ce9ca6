"""Log lines an operator can follow: plain text on a terminal, one JSON object a line elsewhere.

Every line carries what it happened under, set once where the work starts: the web request's
id (``X-Request-Id``, taken from the caller or made here), the job's id and kind on a worker,
the conversation (hashed: a chat key names a person, and log stores keep what they get), and
Partner Center's request id where the client logs one. The fields live in a context variable,
so concurrent requests and jobs on one event loop never mix them, and a task started inside
one inherits it.

Nothing here logs a token or a body; the fields are ids. ``LOG_FORMAT`` chooses: ``json``,
``text``, or unset (text when stderr is a terminal, JSON otherwise, as under a process
manager).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, Literal

LogFormat = Literal["json", "text"]

FIELDS: Final = ("request_id", "job_id", "job_kind", "conversation", "pc_request_id")
"""The context fields a line may carry, in the order a JSON line lists them."""
TEXT_FORMAT: Final = "%(levelname)s %(name)s: %(message)s"

_NOTHING: Final[Mapping[str, str]] = MappingProxyType({})
_CONTEXT: ContextVar[Mapping[str, str]] = ContextVar("log_context", default=_NOTHING)


@contextlib.contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Lines logged inside the block (and in tasks it starts) carry ``fields`` too; fields
    given as None are left as they were."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"not a log field: {', '.join(sorted(unknown))}")
    added = {name: value for name, value in fields.items() if value}
    token = _CONTEXT.set({**_CONTEXT.get(), **added})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def current_context() -> Mapping[str, str]:
    """The fields lines logged now carry."""
    return _CONTEXT.get()


def conversation_tag(key: str) -> str:
    """A conversation key as logs show it: the same key gives the same tag, so one seller's
    lines can be followed, but the tag does not name them."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class ContextFilter(logging.Filter):
    """Puts the context's fields on every record (``record.pc_request_id`` given as ``extra``
    by the caller stays as given)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keep the record; only annotate it."""
        for name, value in _CONTEXT.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the context
    fields present, and the exception's traceback as text."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value:
                line[name] = str(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


def chosen_format(setting: LogFormat | None, *, stream: Any = None) -> LogFormat:
    """``setting``, or unset: text on a terminal, JSON otherwise."""
    if setting is not None:
        return setting
    stream = stream if stream is not None else sys.stderr
    return "text" if getattr(stream, "isatty", lambda: False)() else "json"


def log_handler(log_format: LogFormat, *, stream: Any = None) -> logging.Handler:
    """A handler writing ``log_format`` lines to ``stream`` (stderr), with the context."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    handler.addFilter(ContextFilter())
    return handler
