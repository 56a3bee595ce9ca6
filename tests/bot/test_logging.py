"""Logging as the commands set it up: LOG_LEVEL=DEBUG shows the bot's detail, while the
libraries that print request and response bodies (emails from ``users.info``, unsigned
requests) stay at INFO unless LOG_LEVEL_LIBRARIES says otherwise.

Each case runs in a fresh interpreter: logging is process-wide, and the suite's own capture
handlers would make ``basicConfig`` a no-op here.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli._shared import LIBRARY_LOGGERS

PROBE = """
import json, logging
from bot.cli._shared import LIBRARY_LOGGERS, configure_logging
from bot.settings import load_settings

settings = load_settings()
configure_logging(settings.log_level, settings.log_level_libraries)
# The Teams SDK copies a logger's level onto httpx's whenever it builds an HTTP client.
from microsoft_teams.common.http import Client
Client()
logging.getLogger("slack_sdk.web.async_base_client").debug("users.info body ana@contoso.com")
logging.getLogger("bot.probe").debug("the bot's own detail")
names = [*LIBRARY_LOGGERS, "uvicorn.access", "slack_bolt.AsyncApp", "httpx"]
print(json.dumps({name: logging.getLogger(name).getEffectiveLevel() for name in names}))
"""


def probe(tmp_path: Path, **environment: str) -> tuple[dict[str, int], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOG_")}
    env.update(environment)
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout), done.stderr


def test_at_debug_the_libraries_stay_at_info(tmp_path: Path) -> None:
    levels, logged = probe(tmp_path, LOG_LEVEL="DEBUG")
    assert set(levels) >= set(LIBRARY_LOGGERS)
    assert levels == dict.fromkeys(levels, logging.INFO)
    assert "the bot's own detail" in logged
    assert "ana@contoso.com" not in logged


@pytest.mark.parametrize(("named", "level"), [("debug", logging.DEBUG), ("ERROR", logging.ERROR)])
def test_log_level_libraries_sets_their_level(tmp_path: Path, named: str, level: int) -> None:
    levels, logged = probe(tmp_path, LOG_LEVEL="DEBUG", LOG_LEVEL_LIBRARIES=named)
    assert set(levels.values()) == {level}
    assert ("ana@contoso.com" in logged) == (level == logging.DEBUG)


def test_at_info_httpx_stays_quieter_still(tmp_path: Path) -> None:
    levels, _ = probe(tmp_path, LOG_LEVEL="INFO")
    assert levels["httpx"] == logging.WARNING
    assert levels["slack_sdk"] == logging.INFO
