"""What every command shares: running against the client, printing, and exit statuses.

A command checks its input, calls :func:`run` with one coroutine, and passes the result to
:func:`show`. Failures become exit statuses in one place, :func:`exit_codes`, which
:func:`command` wraps around every command.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import click
import typer
from pydantic import ValidationError
from rich.console import Console, RenderableType

from bot.app.clients import partner_center
from bot.logs import LogFormat, chosen_format, log_handler
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import PartnerCenterError
from bot.referrals.models import IncompleteReferral, Referral
from bot.referrals.patch import PatchError
from bot.referrals.transitions import TransitionError
from bot.referrals.wire import WireModel
from bot.settings import ConfigurationError, load_settings

logger = logging.getLogger("bot.cli")

REFUSED = 1
"""Exit status when Partner Center, or the status table, refuses."""
USAGE = 2
"""Exit status for bad input or configuration; nothing was sent."""

T = TypeVar("T")
P = ParamSpec("P")
M = TypeVar("M", bound=WireModel)

ReferralId = Annotated[str, typer.Argument(metavar="ID", help="The referral's id.")]
JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print the API's JSON instead of a card, and nothing else.")
]
InputFile = Annotated[
    Path,
    typer.Option(
        "--file", "-f", exists=True, dir_okay=False, help="A JSON file in the API's shape."
    ),
]
IfMatch = Annotated[
    str | None,
    typer.Option(
        "--if-match", metavar="ETAG", help="Apply only to this version (the eTag shown by get)."
    ),
]


class InputError(ValueError):
    """Input that fails a check before anything is sent (exit status 2)."""


def command(group: typer.Typer, name: str) -> Callable[[Callable[P, None]], Callable[P, None]]:
    """Register a command whose failures become exit statuses (see :func:`exit_codes`)."""

    def register(function: Callable[P, None]) -> Callable[P, None]:
        @functools.wraps(function)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> None:
            with exit_codes():
                function(*args, **kwargs)

        group.command(name)(wrapped)
        return wrapped

    return register


@contextmanager
def exit_codes() -> Iterator[None]:
    """Turn a command's failure into a short message on stderr and an exit status."""
    try:
        yield
    # typer.Exit is its own class (no longer click's Exit): a command's chosen status stands.
    except (typer.Exit, click.exceptions.Exit, click.ClickException, click.Abort):
        raise
    except (InputError, PatchError, IncompleteReferral, ConfigurationError) as exc:
        _fail(str(exc), USAGE)
    except PartnerCenterError as exc:
        _fail(exc.describe(), REFUSED)
    except TransitionError as exc:
        _fail(str(exc), REFUSED)
    except Exception as exc:
        logger.debug("unexpected failure", exc_info=True)
        summary = (str(exc).strip().splitlines() or [""])[0]
        _fail(f"Unexpected {type(exc).__name__}: {summary} (--verbose shows more)", REFUSED)


def _fail(message: str, status: int) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(status)


def run(work: Callable[[PartnerCenterClient], Awaitable[T]]) -> T:
    """Run ``work`` with a ready client from the composition root, in its own event loop."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_level_libraries, settings.log_format)

    async def main() -> T:
        async with partner_center(settings) as client:
            return await work(client)

    return asyncio.run(main())


async def reread(
    client: PartnerCenterClient, referral_id: str, change: Awaitable[Referral | None]
) -> Referral:
    """The changed referral, read again if the service answered without it (204)."""
    return await change or await client.get(referral_id)


def show(result: T, card: Callable[[T], RenderableType], json_output: bool) -> None:
    """Print ``result`` as its card, or as the API's JSON and nothing else."""
    if json_output:
        typer.echo(json.dumps(_wire(result), indent=2, ensure_ascii=False))
    else:
        Console().print(card(result))


def _wire(value: Any) -> Any:
    if isinstance(value, WireModel):
        return value.to_wire()
    if isinstance(value, list):
        return [_wire(item) for item in value]
    return value


def read_model(path: Path, model: type[M]) -> M:
    """Parse a JSON file into ``model``; every problem names the file and the field."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path} must hold a JSON object ({{...}}), not {type(data).__name__}.")
    try:
        return model.from_wire(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'/'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise InputError(f"{path}: {problems}") from None


LIBRARY_LOGGERS = (
    "slack_bolt",
    "slack_sdk",
    "httpx",
    "httpcore",
    "microsoft_teams",
    "aiohttp",
    "uvicorn",
    "redis",
    "msal",
)
"""Third-party loggers, held at INFO or above: at DEBUG they print request and response
bodies (``users.info`` with people's emails, unsigned requests as they arrived)."""
# The Teams SDK copies this logger's level onto httpx's whenever it builds a client.
_TEAMS_HTTP_LOGGER = "microsoft_teams.common.http.client"


def configure_logging(
    level: str, libraries: str | None = None, log_format: LogFormat | None = None
) -> int:
    """Log to stderr at ``level``, unless logging is already set up (--verbose, or a host),
    as ``log_format`` (LOG_FORMAT; unset: text on a terminal, JSON lines otherwise).

    Third-party loggers (:data:`LIBRARY_LOGGERS`) log at ``libraries`` (LOG_LEVEL_LIBRARIES)
    when given, else at INFO or the root's level, whichever is higher: LOG_LEVEL=DEBUG shows
    the bot's own detail, not the bodies libraries print. Returns the libraries' level.
    """
    logging.basicConfig(level=level, handlers=[log_handler(chosen_format(log_format))])
    root = logging.getLogger().getEffectiveLevel()
    held = logging.getLevelNamesMapping()[libraries] if libraries else max(root, logging.INFO)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(held)
    if libraries is None and root > logging.DEBUG:
        # httpx logs every request at INFO; the client already logs the ones that matter.
        logging.getLogger("httpx").setLevel(max(held, logging.WARNING))
    logging.getLogger(_TEAMS_HTTP_LOGGER).setLevel(logging.getLogger("httpx").level)
    return held
