"""The README's first section stays true: CI runs its test command, word for word."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start_here_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_section = readme.split("\n## ", 2)[1]
    assert first_section.startswith("Start here")
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", first_section, re.S)]


def test_first_section_has_exactly_two_commands() -> None:
    run, test = start_here_commands()
    assert "referral-bot" in run
    assert "pytest" in test


def test_ci_runs_the_readme_test_command() -> None:
    _, test = start_here_commands()
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    commands = [line for line in ci_lines if line and not line.startswith(("#", "set ", "cd "))]
    assert commands == [test]
