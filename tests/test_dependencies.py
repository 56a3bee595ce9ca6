"""Dependencies stay bounded and locked: every requirement in pyproject.toml has an upper
bound, and the lock files the README installs from pin each of them, hashes included, to a
version the requirement allows."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def requirements(*, dev: bool) -> list[Requirement]:
    project = PYPROJECT["project"]
    listed = list(project["dependencies"])
    if dev:
        listed += [item for extra in project["optional-dependencies"].values() for item in extra]
    return [Requirement(item) for item in listed]


def pins(lock: str) -> dict[str, tuple[str, int]]:
    """Each package the lock pins: its version and how many hashes it lists."""
    text = (ROOT / lock).read_text(encoding="utf-8")
    found = {}
    for block in re.split(r"\n(?=\S)", text):
        match = re.match(r"([A-Za-z0-9_.\-]+)==(\S+)", block)
        if match:
            found[canonicalize_name(match[1])] = (match[2], block.count("--hash=sha256:"))
    return found


@pytest.mark.parametrize(
    "requirement",
    [
        *requirements(dev=True),
        *(Requirement(item) for item in PYPROJECT["build-system"]["requires"]),
    ],
    ids=str,
)
def test_every_dependency_has_an_upper_bound(requirement: Requirement) -> None:
    assert any(spec.operator in {"<", "<=", "==", "~="} for spec in requirement.specifier), (
        f"{requirement} has no upper bound"
    )


@pytest.mark.parametrize(
    ("lock", "dev"), [("requirements.lock", False), ("requirements-dev.lock", True)]
)
def test_the_lock_pins_every_dependency_with_hashes(lock: str, dev: bool) -> None:
    pinned = pins(lock)
    assert pinned, f"{lock} pins nothing"
    assert all(hashes for _, hashes in pinned.values()), f"{lock}: a pin without a hash"
    for requirement in requirements(dev=dev):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{lock} does not pin {requirement.name}"
        version, _ = pinned[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock} pins {name}=={version}, outside {requirement}"
        )
