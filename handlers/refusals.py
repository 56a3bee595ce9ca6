"""Telling a refused person why, once in a while rather than on every request they send."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

REFUSAL_INTERVAL_SECONDS = 24 * 3600.0
"""A person refused is told so at most once in this long (per process)."""
MAX_REMEMBERED = 10_000


class Refusals:
    """Who was told of a refusal, and when (the oldest forgotten past :data:`MAX_REMEMBERED`)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._told: OrderedDict[Hashable, float] = OrderedDict()

    def first(self, key: Hashable) -> bool:
        """Whether ``key`` (who, and why) is to be told now: not told within the interval."""
        now = self._clock()
        told = self._told.get(key)
        if told is not None and now - told < REFUSAL_INTERVAL_SECONDS:
            return False
        self._told[key] = now
        self._told.move_to_end(key)
        while len(self._told) > MAX_REMEMBERED:
            self._told.popitem(last=False)
        return True
