"""``bot.conversation`` is the adapters' one way in: every name it offers is the very object
of the part that defines it, and names outside the views load their part only on first use."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import bot.conversation as surface

ROOT = Path(__file__).parents[3]


@pytest.mark.parametrize("name", surface.__all__)
def test_every_public_name_is_the_object_its_part_defines(name: str) -> None:
    home = surface._LOADED_ON_USE.get(name, "bot.conversation.views")

    assert getattr(surface, name) is getattr(importlib.import_module(home), name)


def test_the_names_loaded_on_use_are_the_ones_type_checkers_see() -> None:
    tree = ast.parse(Path(surface.__file__).read_text(encoding="utf-8"))
    (checking,) = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    ]
    imported = {
        alias.name: node.module
        for node in checking.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }

    assert imported == surface._LOADED_ON_USE
    assert set(imported) <= set(surface.__all__)


def test_a_name_it_does_not_offer_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Engine'"):
        _ = surface.Engine  # type: ignore[attr-defined]


def test_importing_it_loads_only_the_views() -> None:
    probe = "import sys, bot.conversation\nprint('\\n'.join(sorted(sys.modules)))\n"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()

    parts = [m for m in loaded if m.startswith("bot.conversation.")]
    assert parts == ["bot.conversation.views"]
