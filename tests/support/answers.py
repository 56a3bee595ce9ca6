"""Checking an answer validator's refusals: the shared helper of the value and parser tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.conversation.vocabulary.values import InvalidAnswer


def refusal(parse: Callable[..., Any], text: str, *args: Any, **kwargs: Any) -> InvalidAnswer:
    """The InvalidAnswer *parse* raises for *text*."""
    with pytest.raises(InvalidAnswer) as caught:
        parse(text, *args, **kwargs)
    return caught.value
