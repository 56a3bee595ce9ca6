"""The renderers render what they are given: no flow, parser or validator behind their back,
and no I/O.

Checked twice: each module's own imports (to name the culprit), and what importing every
renderer drags in (to catch an indirect path, such as a helper that imports the flows)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
CARDS = ROOT / "cards"
FORBIDDEN = (
    "bot.conversation.flows",
    "bot.conversation.parsers",
    "bot.conversation.values",
    "bot.conversation.suggest",
    "bot.conversation.machine",
    "bot.conversation.engine",
    "handlers",
)
"""The conversation's rules and runtime, and the adapters above the cards."""
NO_IO = ("httpx", "redis", "msal", "aiohttp", "socket", "requests", "urllib.request")
RENDERERS = ("cards", "cards.words", "cards.controls", "cards.slack", "cards.teams", "cards.text")


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved against the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def within(module: str, roots: tuple[str, ...]) -> bool:
    return any(module == root or module.startswith(f"{root}.") for root in roots)


@pytest.mark.parametrize(
    "path", sorted(CARDS.rglob("*.py")), ids=lambda path: str(path.relative_to(ROOT))
)
def test_no_renderer_module_imports_flows_parsers_values_or_io(path: Path) -> None:
    modules = imported(path)

    assert not [module for module in modules if within(module, FORBIDDEN)]
    assert not [module for module in modules if within(module, NO_IO)]


def test_importing_every_renderer_loads_no_flow_parser_or_validator() -> None:
    probe = (
        "import sys\n"
        f"for name in {RENDERERS!r}: __import__(name)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()

    assert "cards.teams" in loaded
    assert [module for module in loaded if within(module, FORBIDDEN)] == []
