"""``referral-bot teams-package``: the Teams app package of this deployment, ready to upload.

The manifest and icons ship in ``handlers/teams/`` with the official JSON schema of the
manifest version they use (``handlers/teams/schema/``). The command fills the manifest's
``{{NAME}}`` placeholders from the settings, checks the result against that schema, and only
then writes the zip, byte for byte the same for the same settings.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.cli._shared import InputError
from bot.settings import ConfigurationError, Settings, load_settings

__all__ = [
    "DEFAULT_OUTPUT",
    "build_manifest",
    "build_package",
    "fill_placeholders",
    "manifest_template",
    "teams_package",
    "validate_manifest",
]

DEFAULT_OUTPUT = Path("referral-bot-teams.zip")
MANIFEST = "manifest.json"
ICONS = ("color.png", "outline.png")
SCHEMA_URL_PREFIX = "https://developer.microsoft.com/json-schemas/teams/"
# Zip entries carry a timestamp; a fixed one makes two runs write identical bytes.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
MESSAGING_PATH = "/api/messages"

_PLACEHOLDER = re.compile(r"\{\{([A-Z][A-Z0-9_]*)\}\}")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def teams_package(
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            metavar="PATH",
            help="Where to write the zip; a folder gets referral-bot-teams.zip inside it.",
        ),
    ] = DEFAULT_OUTPUT,
) -> None:
    """Write the Teams app package (manifest and icons) to upload in Teams.

    Needs TEAMS_CLIENT_ID (the bot's app registration) and PUBLIC_URL (https) to fill in the
    manifest, which is checked against the official schema before anything is written.
    """
    settings = load_settings()
    package = build_package(settings)
    target = (output / DEFAULT_OUTPUT.name if output.is_dir() else output).absolute()
    _write_atomically(target, package)
    typer.echo(f"Wrote the Teams app package to {target}.")
    typer.echo(
        f"The bot's messaging endpoint must be {_public_url(settings)}{MESSAGING_PATH} "
        "(Azure Bot > Configuration)."
    )
    typer.echo(
        "Next: in Teams, open Apps > Manage your apps > Upload an app > "
        "Upload a custom app, and choose that file."
    )


def build_package(settings: Settings) -> bytes:
    """The zip to upload: the filled, checked manifest and the two icons at its root."""
    manifest = build_manifest(settings)
    content = json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    entries = [(MANIFEST, content)]
    entries += [(name, (_assets() / name).read_bytes()) for name in ICONS]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever system builds it: same bytes everywhere
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=9)
    return buffer.getvalue()


def build_manifest(settings: Settings) -> dict[str, Any]:
    """The shipped manifest with this deployment's values filled in, checked against its schema."""
    manifest: dict[str, Any] = fill_placeholders(manifest_template(), _placeholder_values(settings))
    validate_manifest(manifest)
    return manifest


def manifest_template() -> dict[str, Any]:
    """The manifest as shipped, ``{{NAME}}`` placeholders and all."""
    template: dict[str, Any] = json.loads((_assets() / MANIFEST).read_text("utf-8"))
    return template


def fill_placeholders(value: Any, values: dict[str, str]) -> Any:
    """``value`` with every ``{{NAME}}`` in its strings replaced by ``values[NAME]``."""
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda match: _lookup(match.group(1), values), value)
    if isinstance(value, list):
        return [fill_placeholders(item, values) for item in value]
    if isinstance(value, dict):
        return {key: fill_placeholders(item, values) for key, item in value.items()}
    return value


def validate_manifest(manifest: dict[str, Any]) -> None:
    """Check ``manifest`` against the vendored schema its ``$schema`` names; raise if it fails."""
    # Imported here: only this command needs it, and every other command would pay for it.
    from jsonschema import Draft7Validator  # type: ignore[import-untyped]  # noqa: PLC0415

    # The schema says draft-04 but uses ``const`` and ``if``/``then`` (draft-06/07), which
    # Microsoft's own tooling enforces; draft 7 reads everything else in it the same way.
    validator = Draft7Validator(_schema(manifest), format_checker=Draft7Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(manifest), key=lambda error: str(error.json_path))
    if errors:
        problems = "\n  ".join(f"{error.json_path}: {error.message}" for error in errors)
        raise ConfigurationError(
            f"The Teams manifest does not match its schema ({manifest.get('$schema')}):\n"
            f"  {problems}"
        )


def _placeholder_values(settings: Settings) -> dict[str, str]:
    settings.require("teams_client_id", "public_url")
    client_id = (settings.teams_client_id or "").strip()
    if not _GUID.match(client_id):
        raise ConfigurationError(
            "TEAMS_CLIENT_ID must be the Application (client) ID of the bot's app "
            f"registration, a GUID such as 00000000-0000-0000-0000-000000000000, not {client_id!r}."
        )
    url = settings.public_url
    assert url is not None  # checked by require() above
    if url.scheme != "https":
        raise ConfigurationError(
            f"PUBLIC_URL must be an https URL (Teams reaches bots only over https), not {url}."
        )
    if url.query or url.fragment:
        raise ConfigurationError(f"PUBLIC_URL must have no query or fragment, not {url}.")
    return {
        "TEAMS_CLIENT_ID": client_id,
        "PUBLIC_URL": _public_url(settings),
        "PUBLIC_HOST": url.host or "",
    }


def _public_url(settings: Settings) -> str:
    return str(settings.public_url).rstrip("/")


def _lookup(name: str, values: dict[str, str]) -> str:
    if name not in values:
        raise ConfigurationError(f"The Teams manifest uses an unknown placeholder {{{{{name}}}}}.")
    return values[name]


def _schema(manifest: dict[str, Any]) -> dict[str, Any]:
    url = manifest.get("$schema")
    if not isinstance(url, str) or not url.startswith(SCHEMA_URL_PREFIX):
        raise ConfigurationError(f"The Teams manifest names no known schema ($schema: {url!r}).")
    path = _assets() / "schema"
    for part in url.removeprefix(SCHEMA_URL_PREFIX).split("/"):
        path = path / part
    if not path.is_file():
        raise ConfigurationError(
            f"The Teams manifest's schema {url} is not in handlers/teams/schema/ "
            "(see the README there)."
        )
    schema: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return schema


def _assets() -> Traversable:
    # Through the ``handlers`` package, so the Teams adapter's code is not imported for this.
    return files("handlers") / "teams"


def _write_atomically(target: Path, data: bytes) -> None:
    # A temporary file beside the target, then a rename: a failure leaves no partial zip.
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        with partial.open("xb") as handle:
            handle.write(data)
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InputError(f"Cannot write {target}: {exc.strerror or exc}.") from None
