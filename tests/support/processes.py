"""What tests that start ``referral-bot`` in a child process share."""

from __future__ import annotations

import os
import sys
from pathlib import Path

LEFT_OUT = (
    "PARTNER_CENTER_",
    "SLACK_",
    "TEAMS_",
    "ENTRA_",
    "AUTH_MODE",
    "TOKEN_ENCRYPTION_KEY",
    "PUBLIC_URL",
    "HOST",
)
"""Settings of the machine running the tests that must not reach a child: it gets its own."""


def child_env(**settings: str) -> dict[str, str]:
    """The environment of a ``referral-bot`` child process: this one's, without any platform
    or Partner Center setting (nor ``HOST``), plus ``settings``, with the venv's scripts on
    ``PATH``. Its log is text (its stderr is a pipe, which would make it JSON lines), as the
    tests reading it expect, unless ``settings`` say otherwise."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(LEFT_OUT)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["LOG_FORMAT"] = "text"
    env.update(settings)
    return env
