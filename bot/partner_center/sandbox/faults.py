"""Injected failures: answer the next matching API requests with an error, late, or both.

Tests and demos queue faults through ``POST /sandbox/faults`` to see how the client copes with
throttling (429 with ``Retry-After``), outages (503) and slow answers, without any mocking.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["Fault", "FaultQueue"]

MAX_DELAY_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Fault:
    """What to do to the next ``times`` API requests matching ``method`` and ``path``.

    ``status`` None means "only delay, then answer normally". ``path`` is a prefix of the
    request path relative to the API root (``/engagements/referrals``). ``answer_after_seconds``
    handles the request at once (a create creates) and answers that much later: a client that
    gives up first never learns that its request was applied.
    """

    status: int | None = None
    retry_after: float | None = None
    times: int = 1
    method: str | None = None
    path: str | None = None
    delay_seconds: float = 0.0
    code: str | None = None
    message: str | None = None
    answer_after_seconds: float = 0.0

    @classmethod
    def from_json(cls, data: Any) -> Fault:
        """Build a fault from the admin route's JSON; raises ValueError naming the bad field."""
        if not isinstance(data, Mapping):
            raise ValueError("the body must be a JSON object")
        known = {
            "status",
            "retryAfter",
            "times",
            "method",
            "path",
            "delaySeconds",
            "code",
            "message",
            "answerAfterSeconds",
        }
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        status = data.get("status")
        if status is not None and (not _is_int(status) or not 400 <= status <= 599):
            raise ValueError("status must be an HTTP error status (400-599)")
        times = data.get("times", 1)
        if not _is_int(times) or times < 1:
            raise ValueError("times must be a whole number of at least 1")
        retry_after = _seconds(data, "retryAfter")
        delay = _seconds(data, "delaySeconds") or 0.0
        if delay > MAX_DELAY_SECONDS:
            raise ValueError(f"delaySeconds must be at most {MAX_DELAY_SECONDS:g}")
        answer_after = _seconds(data, "answerAfterSeconds") or 0.0
        if answer_after > MAX_DELAY_SECONDS:
            raise ValueError(f"answerAfterSeconds must be at most {MAX_DELAY_SECONDS:g}")
        if answer_after and status is not None:
            raise ValueError("answerAfterSeconds answers the request as handled: give no status")
        if status is None and delay == 0 and answer_after == 0:
            raise ValueError("give a status, a delaySeconds, an answerAfterSeconds, or both")
        method, path = data.get("method"), data.get("path")
        if method is not None and not (isinstance(method, str) and method.isalpha()):
            raise ValueError("method must be an HTTP method such as GET")
        if path is not None and not (isinstance(path, str) and path.startswith("/")):
            raise ValueError("path must start with '/' (relative to /v1.0)")
        for name in ("code", "message"):
            if data.get(name) is not None and not isinstance(data[name], str):
                raise ValueError(f"{name} must be text")
        return cls(
            status=status,
            retry_after=retry_after,
            times=times,
            method=method.upper() if method else None,
            path=path,
            delay_seconds=delay,
            code=data.get("code"),
            message=data.get("message"),
            answer_after_seconds=answer_after,
        )

    def matches(self, method: str, api_path: str) -> bool:
        """Whether a request (path relative to the API root) is one this fault is for."""
        if self.method is not None and method.upper() != self.method:
            return False
        return self.path is None or api_path.startswith(self.path)

    def to_json(self) -> dict[str, Any]:
        """The fault as the admin route shows it."""
        return {
            "status": self.status,
            "retryAfter": self.retry_after,
            "times": self.times,
            "method": self.method,
            "path": self.path,
            "delaySeconds": self.delay_seconds,
            "code": self.code,
            "message": self.message,
            "answerAfterSeconds": self.answer_after_seconds,
        }


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _seconds(data: Mapping[str, Any], name: str) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number of seconds")
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return float(value)


class FaultQueue:
    """Faults in the order they were queued; each matching request uses up one ``times``."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        """Queue a fault behind the others."""
        self._faults.append(fault)

    def clear(self) -> None:
        """Drop every queued fault."""
        self._faults.clear()

    def take(self, method: str, api_path: str) -> Fault | None:
        """The first queued fault matching the request, used up by one; None if none matches."""
        # Faults are rare and few; the common case is an empty list.
        for index, fault in enumerate(self._faults):
            if fault.matches(method, api_path):
                if fault.times <= 1:
                    del self._faults[index]
                else:
                    self._faults[index] = replace(fault, times=fault.times - 1)
                return fault
        return None

    def pending(self) -> list[Fault]:
        """The faults still queued."""
        return list(self._faults)

    def __len__(self) -> int:
        return len(self._faults)
