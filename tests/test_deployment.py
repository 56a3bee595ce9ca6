"""The container image and the compose file stay true to the Procfile: one non-root image for
both processes, installed from the hashed lock, and a compose deployment whose web and worker
run the Procfile's commands on a Redis that keeps its data across restarts."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text(encoding="utf-8").splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def final_stage() -> list[str]:
    """The Dockerfile's instructions after its last FROM, comments and continuations joined."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    instructions = [line for line in lines if not line.startswith("#")]
    last = max(i for i, line in enumerate(instructions) if line.startswith("FROM "))
    return instructions[last:]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


def test_the_image_runs_as_a_user_without_privilege() -> None:
    stage = final_stage()
    assert stage[0].startswith("FROM python:3.11-slim")
    (user,) = [line.split()[1] for line in stage if line.startswith("USER ")]
    assert user not in ("root", "0")
    assert any("useradd" in line and user in line for line in stage)


def test_the_image_installs_the_locked_dependencies_and_every_package() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements.lock" in text
    assert "pip install --no-deps ." in text
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]["packages"]["find"]["include"]
    for package in packages:
        assert f"COPY {package.rstrip('*')} " in text, package


def test_the_images_command_is_the_procfiles_web_process() -> None:
    (command,) = [line for line in final_stage() if line.startswith("CMD ")]
    web = procfile()["web"]
    assert "referral-bot serve --no-worker --host ${HOST:-0.0.0.0} --port ${PORT:-3000}" in command
    assert web == "referral-bot serve --no-worker --host ${HOST:-0.0.0.0} --port ${PORT:-3000}"


def test_secrets_and_the_checkout_never_reach_the_image() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for path in (".env", ".git", ".venv", "tests"):
        assert path in ignored


def test_compose_runs_the_procfiles_processes_on_a_redis_that_keeps_its_data() -> None:
    services = compose()["services"]
    assert set(services) == {"redis", "web", "worker"}
    redis = services["redis"]
    assert "--appendonly" in redis["command"]
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert any(volume.endswith(":/data") for volume in redis["volumes"])
    assert services["worker"]["command"] == shlex.split(procfile()["worker"])
    assert "referral-bot serve --no-worker --host 0.0.0.0" in " ".join(services["web"]["command"])
    for name in ("web", "worker"):
        assert services[name]["environment"]["REDIS_URL"].startswith("redis://redis:6379/")
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
        assert services[name]["image"] == services["web"]["image"]
