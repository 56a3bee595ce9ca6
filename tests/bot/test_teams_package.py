"""``referral-bot teams-package``: the Teams app package an operator uploads.

The command runs through the real CLI; what it writes is opened as Teams would: the zip's
root, the manifest checked against the vendored official schema, and the icons decoded.
"""

from __future__ import annotations

import io
import json
import struct
import time
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from typer.testing import CliRunner, Result

from bot.cli import app
from bot.cli.teams_package import fill_placeholders, manifest_template, validate_manifest
from bot.conversation.chat.commands import SUBCOMMANDS, Help, Usage, parse_message
from bot.settings import ConfigurationError, Settings

TEAMS = Path(__file__).parents[2] / "handlers" / "teams"
SCHEMA_URL_PREFIX = "https://developer.microsoft.com/json-schemas/teams/"
CLIENT_ID = "5b8e2f7c-3a1d-4e9b-8c6f-2d4a7e9b1c03"
PUBLIC_URL = "https://referrals.example.com"
PACKAGE = "referral-bot-teams.zip"
FILES = ["manifest.json", "color.png", "outline.png"]

Invoke = Callable[..., Result]


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory without .env and an environment without any setting."""
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    return tmp_path


@pytest.fixture
def cli(isolated: Path) -> Invoke:
    runner = CliRunner()

    def invoke(*args: str, env: Mapping[str, str | None] | None = None) -> Result:
        environment: dict[str, str | None] = {
            "TEAMS_CLIENT_ID": CLIENT_ID,
            "PUBLIC_URL": PUBLIC_URL,
            **(env or {}),
        }
        return runner.invoke(app, ["teams-package", *args], env=environment, catch_exceptions=False)

    return invoke


def package(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def vendored_schema(manifest: Mapping[str, Any]) -> dict[str, Any]:
    url = manifest["$schema"]
    assert url.startswith(SCHEMA_URL_PREFIX)
    schema: dict[str, Any] = json.loads(
        (TEAMS / "schema" / url.removeprefix(SCHEMA_URL_PREFIX)).read_text("utf-8")
    )
    return schema


def valid_manifest() -> dict[str, Any]:
    filled: dict[str, Any] = fill_placeholders(
        manifest_template(),
        {
            "TEAMS_CLIENT_ID": CLIENT_ID,
            "PUBLIC_URL": PUBLIC_URL,
            "PUBLIC_HOST": "referrals.example.com",
        },
    )
    return filled


# -- the package ----------------------------------------------------------------------------


def test_writes_a_zip_with_exactly_the_manifest_and_the_icons_at_its_root(
    cli: Invoke, isolated: Path
) -> None:
    result = cli()

    assert result.exit_code == 0, result.output
    written = isolated / PACKAGE
    assert sorted(path.name for path in isolated.iterdir()) == [PACKAGE]
    with zipfile.ZipFile(written) as archive:
        assert archive.namelist() == FILES
        assert archive.testzip() is None
    contents = package(written)
    assert contents["color.png"] == (TEAMS / "color.png").read_bytes()
    assert contents["outline.png"] == (TEAMS / "outline.png").read_bytes()
    assert str(written) in result.stdout
    assert f"{PUBLIC_URL}/api/messages" in result.stdout
    assert "Manage your apps > Upload an app" in result.stdout
    assert result.stderr == ""


def test_output_option_names_the_file_or_the_folder_to_write_into(
    cli: Invoke, isolated: Path
) -> None:
    folder = isolated / "out"
    folder.mkdir()

    named = cli("--output", str(folder / "app.zip"))
    into_folder = cli("-o", str(folder))

    assert named.exit_code == 0, named.output
    assert into_folder.exit_code == 0, into_folder.output
    assert sorted(path.name for path in folder.iterdir()) == ["app.zip", PACKAGE]
    assert not (isolated / PACKAGE).exists()
    assert (folder / "app.zip").read_bytes() == (folder / PACKAGE).read_bytes()


def test_an_unwritable_output_is_a_usage_error(cli: Invoke, isolated: Path) -> None:
    result = cli("--output", str(isolated / "missing" / "app.zip"))

    assert result.exit_code == 2
    assert "Cannot write" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(isolated.iterdir()) == []


def test_two_runs_at_different_times_write_identical_bytes(
    cli: Invoke, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = cli("--output", "first.zip")
    later = time.time() + 400 * 86400
    monkeypatch.setattr(time, "time", lambda: later)
    second = cli("--output", "second.zip")

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert (isolated / "first.zip").read_bytes() == (isolated / "second.zip").read_bytes()


# -- the manifest ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("public_url", "base", "host"),
    [
        (PUBLIC_URL, PUBLIC_URL, "referrals.example.com"),
        (
            "https://bots.contoso.com/referrals/",
            "https://bots.contoso.com/referrals",
            "bots.contoso.com",
        ),
    ],
)
def test_manifest_is_filled_in_everywhere_and_matches_the_official_schema(
    cli: Invoke, isolated: Path, public_url: str, base: str, host: str
) -> None:
    result = cli(env={"PUBLIC_URL": public_url})

    assert result.exit_code == 0, result.output
    raw = package(isolated / PACKAGE)["manifest.json"].decode("utf-8")
    assert "{{" not in raw
    assert "}}" not in raw
    manifest = json.loads(raw)
    schema = vendored_schema(manifest)
    Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER).validate(manifest)
    assert manifest["manifestVersion"] == schema["properties"]["manifestVersion"]["const"]
    assert tuple(int(part) for part in manifest["manifestVersion"].split(".")) >= (1, 19)
    assert manifest["id"] == CLIENT_ID
    [bot] = manifest["bots"]
    assert bot["botId"] == CLIENT_ID
    assert bot["scopes"] == ["personal", "team", "groupChat"]
    assert bot["supportsFiles"] is False
    assert bot["isNotificationOnly"] is False
    assert manifest["webApplicationInfo"] == {
        "id": CLIENT_ID,
        "resource": f"api://botid-{CLIENT_ID}",
    }
    assert manifest["developer"]["websiteUrl"] == f"{base}/"
    assert manifest["developer"]["privacyUrl"] == f"{base}/privacy"
    assert manifest["developer"]["termsOfUseUrl"] == f"{base}/terms"
    assert manifest["validDomains"] == [host]
    assert manifest["permissions"] == ["identity", "messageTeamMembers"]
    assert manifest["name"]["short"] == "Referrals"
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}


def test_the_vendored_schema_is_a_valid_schema() -> None:
    schema = vendored_schema(manifest_template())

    # Without format checks: one of its patterns uses \p{L}, which Python's re lacks.
    Draft7Validator.check_schema(schema, format_checker=None)


def test_a_manifest_breaking_the_schema_is_refused() -> None:
    manifest = valid_manifest()
    validate_manifest(manifest)
    manifest["description"]["short"] = "x" * 81

    with pytest.raises(ConfigurationError, match=r"\$\.description\.short"):
        validate_manifest(manifest)


def test_the_schema_version_the_manifest_declares_is_enforced() -> None:
    # The schema pins manifestVersion with ``const``, a keyword its declared draft-04 lacks.
    manifest = valid_manifest()
    manifest["manifestVersion"] = "1.19"

    with pytest.raises(ConfigurationError, match=r"\$\.manifestVersion"):
        validate_manifest(manifest)


def test_an_unknown_placeholder_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"\{\{PUBLIC_PORT\}\}"):
        fill_placeholders({"validDomains": ["{{PUBLIC_PORT}}"]}, {"PUBLIC_URL": PUBLIC_URL})


# -- configuration --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TEAMS_CLIENT_ID": None}, "TEAMS_CLIENT_ID"),
        ({"TEAMS_CLIENT_ID": ""}, "TEAMS_CLIENT_ID"),
        ({"TEAMS_CLIENT_ID": "referral-bot"}, "TEAMS_CLIENT_ID"),
        ({"PUBLIC_URL": None}, "PUBLIC_URL"),
        ({"PUBLIC_URL": "http://referrals.example.com"}, "PUBLIC_URL"),
        ({"PUBLIC_URL": "referrals.example.com"}, "PUBLIC_URL"),
        ({"PUBLIC_URL": "https://referrals.example.com/?next=1"}, "PUBLIC_URL"),
    ],
)
def test_missing_or_wrong_settings_exit_2_naming_the_variable_and_write_nothing(
    cli: Invoke, isolated: Path, env: dict[str, str | None], named: str
) -> None:
    result = cli(env=env)

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert named in result.stderr
    assert "Traceback" not in result.stderr
    assert list(isolated.iterdir()) == []


def test_both_missing_settings_are_named_at_once(cli: Invoke, isolated: Path) -> None:
    result = cli(env={"TEAMS_CLIENT_ID": None, "PUBLIC_URL": None})

    assert result.exit_code == 2
    assert "TEAMS_CLIENT_ID" in result.stderr
    assert "PUBLIC_URL" in result.stderr
    assert list(isolated.iterdir()) == []


# -- the command lists ----------------------------------------------------------------------


def command_lists() -> list[dict[str, Any]]:
    lists: list[dict[str, Any]] = manifest_template()["bots"][0]["commandLists"]
    return lists


def test_command_lists_cover_every_scope_of_the_bot_within_teams_limits() -> None:
    lists = command_lists()

    listed = sorted(scope for entry in lists for scope in entry["scopes"])
    assert listed == sorted(manifest_template()["bots"][0]["scopes"])
    for entry in lists:
        assert 1 <= len(entry["commands"]) <= 10
        for command in entry["commands"]:
            assert len(command["title"]) <= 32, command
            assert len(command["description"]) <= 128, command


PERSONAL_ONLY = {
    "new",
    "show",
    "list",
    "update",
    "close",
    "team",
    "register",
    "approvals",
    "login",
}
"""What a person does in their 1:1 chat: referrals are private, sign-in links too."""
CHANNEL_ONLY = {"subscribe", "subscriptions", "unsubscribe", "approvals", "inbound"}
"""What a channel does: hear about changes, take requests for approval, triage incoming
referrals."""
UNLISTED = {"logout", "whoami", "resume", "cancel", "withdraw", "find", "inbox"}
"""Teams shows at most 10 commands: these are told of by login's description, the draft's own
buttons (Resume, Cancel), the request's card (Withdraw), show's description (find) and
/referral help (inbox)."""


def test_every_parser_subcommand_is_in_the_menu_of_the_scope_it_works_in() -> None:
    assert PERSONAL_ONLY | CHANNEL_ONLY | UNLISTED | {"help"} == set(SUBCOMMANDS)
    for entry in command_lists():
        listed = {command["title"].split()[1] for command in entry["commands"]}
        wanted = PERSONAL_ONLY if "personal" in entry["scopes"] else CHANNEL_ONLY
        assert listed == wanted | {"help"}, entry["scopes"]


@pytest.mark.parametrize("entry", command_lists(), ids=lambda entry: "+".join(entry["scopes"]))
def test_every_title_is_listed_once_and_understood(
    entry: dict[str, Any],
) -> None:
    titles = [command["title"] for command in entry["commands"]]
    words = [title.split() for title in titles]

    assert all(len(title) == 2 and title[0] == "referral" for title in words), titles
    assert len(set(titles)) == len(titles)
    for title in titles:
        # What Teams puts in the compose box, as the Teams adapter hands it to the parser;
        # the Slack form must read the same.
        parsed = parse_message(title)
        assert not (isinstance(parsed, Help) and parsed.unknown), title
        assert parse_message("/" + title) == parsed


@pytest.mark.parametrize(
    "command",
    [command for entry in command_lists() for command in entry["commands"]],
    ids=lambda command: command["title"],
)
def test_each_description_shows_a_usage_the_parser_accepts(command: dict[str, str]) -> None:
    usage, _, explanation = command["description"].partition(": ")
    assert explanation, command
    required = [word for word in usage.split() if not word.startswith("[")]
    assert " ".join(required[:2]) == command["title"]

    for text in expand(usage):
        parsed = parse_message(text)
        assert not isinstance(parsed, Usage), (text, parsed)
        assert not (isinstance(parsed, Help) and parsed.unknown), (text, parsed)
    # The title alone is complete exactly when the usage needs no ID.
    assert isinstance(parse_message(command["title"]), Usage) == ("ID" in required)


def expand(usage: str) -> list[str]:
    """Every way to fill in a usage line: ID gets an id, [a|b] each choice, or left out."""
    texts = [""]
    for word in usage.split():
        if word == "ID":
            options = ["9c1e3a5b-7d9f-4c2e-8a4b-6c8e0a2c4e03"]
        elif word == "[PAGE]":
            options = ["", "2"]
        elif word == "[min=VALUE]":
            options = ["", "min=50k"]
        elif word.startswith("["):
            options = ["", *word.strip("[]").split("|")]
        else:
            options = [word]
        texts = [f"{text} {option}".strip() for text in texts for option in options]
    return texts


# -- the icons ------------------------------------------------------------------------------


def test_icons_have_the_sizes_teams_requires(cli: Invoke, isolated: Path) -> None:
    assert cli().exit_code == 0
    contents = package(isolated / PACKAGE)

    assert decode_png(contents["color.png"]).size == (192, 192)
    assert decode_png(contents["outline.png"]).size == (32, 32)


def test_outline_icon_is_white_on_a_fully_transparent_background(
    cli: Invoke, isolated: Path
) -> None:
    assert cli().exit_code == 0
    image = decode_png(package(isolated / PACKAGE)["outline.png"])

    assert image.has_alpha
    pixels = [image.pixel(x, y) for y in range(image.height) for x in range(image.width)]
    assert all(rgb == (255, 255, 255) for rgb, alpha in pixels if alpha > 0)
    edge = [
        image.pixel(x, y)
        for y in range(image.height)
        for x in range(image.width)
        if x in (0, image.width - 1) or y in (0, image.height - 1)
    ]
    assert all(alpha == 0 for _, alpha in edge)
    transparent = sum(alpha == 0 for _, alpha in pixels)
    opaque = sum(alpha == 255 for _, alpha in pixels)
    assert transparent > len(pixels) // 3
    assert opaque > len(pixels) // 10


def test_color_icon_is_a_white_glyph_on_the_accent_colour(cli: Invoke, isolated: Path) -> None:
    assert cli().exit_code == 0
    contents = package(isolated / PACKAGE)
    accent = json.loads(contents["manifest.json"])["accentColor"]
    image = decode_png(contents["color.png"])

    background = tuple(int(accent[i : i + 2], 16) for i in (1, 3, 5))
    pixels = [image.pixel(x, y) for y in range(image.height) for x in range(image.width)]
    assert all(alpha == 255 for _, alpha in pixels)
    for corner in ((0, 0), (191, 0), (0, 191), (191, 191)):
        assert image.pixel(*corner)[0] == background
    assert sum(rgb == background for rgb, _ in pixels) > len(pixels) // 2
    assert sum(rgb == (255, 255, 255) for rgb, _ in pixels) > len(pixels) // 20


CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # PNG colour type: grey, RGB, grey+alpha, RGBA


class Png:
    """A decoded 8-bit, non-interlaced PNG: size and (rgb, alpha) per pixel."""

    def __init__(self, width: int, height: int, colour_type: int, rows: list[bytes]) -> None:
        self.width, self.height, self.colour_type, self.rows = width, height, colour_type, rows

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    @property
    def has_alpha(self) -> bool:
        return self.colour_type in (4, 6)

    def pixel(self, x: int, y: int) -> tuple[tuple[int, ...], int]:
        channels = CHANNELS[self.colour_type]
        value = self.rows[y][x * channels : (x + 1) * channels]
        colour = tuple(value[:3]) if self.colour_type in (2, 6) else (value[0],) * 3
        return colour, (value[-1] if self.has_alpha else 255)


def decode_png(data: bytes) -> Png:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    stream = io.BytesIO(data[8:])
    chunks: list[tuple[bytes, bytes]] = []
    while header := stream.read(8):
        length, kind = struct.unpack(">I4s", header)
        chunks.append((kind, stream.read(length)))
        stream.read(4)  # CRC
    assert chunks[0][0] == b"IHDR"
    assert chunks[-1][0] == b"IEND"
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, interlace) == (8, 0)
    assert colour_type in CHANNELS
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * CHANNELS[colour_type]
    bpp = CHANNELS[colour_type]
    rows: list[bytes] = []
    previous = bytes(stride)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        row = unfilter(line[0], bytearray(line[1:]), previous, bpp)
        rows.append(row)
        previous = row
    return Png(width, height, colour_type, rows)


def unfilter(kind: int, line: bytearray, previous: bytes, bpp: int) -> bytes:
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up = previous[i]
        upper_left = previous[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            line[i] = (line[i] + paeth(left, up, upper_left)) & 0xFF
        else:
            assert kind == 0
    return bytes(line)


def paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def test_png_reader_undoes_every_filter() -> None:
    # The reader above must not pass icons it misreads: a 2x2 RGBA image, one filter a row.
    pixels = [[(255, 255, 255, 0), (255, 255, 255, 200)], [(255, 255, 255, 255), (1, 2, 3, 4)]]
    for kind in (0, 1, 2, 3, 4):
        rows, previous = [], bytes(8)
        for row in pixels:
            flat = bytes(value for pixel in row for value in pixel)
            rows.append(bytes([kind]) + refilter(kind, flat, previous, 4))
            previous = flat
        image = decode_png(make_png(2, 2, 6, b"".join(rows)))
        assert [[image.pixel(x, y) for x in range(2)] for y in range(2)] == [
            [((r, g, b), a) for r, g, b, a in row] for row in pixels
        ]


def refilter(kind: int, line: bytes, previous: bytes, bpp: int) -> bytes:
    out = bytearray()
    for i, value in enumerate(line):
        left = line[i - bpp] if i >= bpp else 0
        up = previous[i]
        upper_left = previous[i - bpp] if i >= bpp else 0
        predictor = [0, left, up, (left + up) // 2, paeth(left, up, upper_left)][kind]
        out.append((value - predictor) & 0xFF)
    return bytes(out)


def make_png(width: int, height: int, colour_type: int, raw: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
