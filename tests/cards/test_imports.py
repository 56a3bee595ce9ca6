"""The renderers render what they are given: importing them loads no flow, parser, validator,
runtime or adapter.

Each module's own imports, direct and indirect, are checked by import-linter's contract on
``cards`` (pyproject.toml, run by the test command). This test checks what that static
contract cannot see: what importing the renderers loads when it runs, package
``__init__`` modules included (``bot.conversation`` loads its parts only on first use)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
FORBIDDEN = (
    "bot.conversation.vocabulary",
    "bot.conversation.runtime",
    "bot.conversation.chat",
    "handlers",
    "redis",
    "httpx",
    "msal",
    "aiohttp",
)
"""The conversation's rules and runtime, the adapters above the cards, and I/O libraries."""
RENDERERS = ("cards", "cards.words", "cards.controls", "cards.slack", "cards.teams", "cards.text")


def within(module: str, roots: tuple[str, ...]) -> bool:
    return any(module == root or module.startswith(f"{root}.") for root in roots)


def test_importing_every_renderer_loads_no_flow_parser_validator_or_runtime() -> None:
    probe = (
        "import sys\n"
        f"for name in {RENDERERS!r}: __import__(name)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()

    assert "cards.teams" in loaded
    assert "bot.conversation.views" in loaded
    assert [module for module in loaded if within(module, FORBIDDEN)] == []
