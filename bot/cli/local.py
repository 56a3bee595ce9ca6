"""``referral-bot local status|stop``: the local Redis that keeps drafts when REDIS_URL is unset.

``chat``, ``serve`` and ``worker`` start it on first use and leave it running in the
background, shared by every process of the data folder (:mod:`bot.storage.embedded` says
why); nothing else would tell a user about it, or stop it short of a reboot.

``stop`` refuses while other processes are connected: they would lose their Redis mid-step
(nothing restarts it under a running process). The check counts connections just before the
stop (:mod:`bot.storage.embedded_status`); a process that connects in between fails its next
step as with ``--force``, and its drafts are saved all the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from typing import Annotated

import typer

from bot.cli._shared import REFUSED, USAGE, command, configure_logging
from bot.settings import Settings, load_settings
from bot.storage.embedded import (
    EmbeddedServer,
    EmbeddedServerError,
    running_embedded_server,
    stop_embedded_server,
)
from bot.storage.embedded_status import ServerStatus, server_status
from bot.storage.redis import redact_url

__all__ = ["BACKGROUND_NOTE", "NOT_RUNNING", "app", "configured_redis_url"]

NOT_RUNNING = 3
"""Exit status of ``status`` when no local Redis runs, as with ``systemctl status`` and
``pg_ctl status``: a script can ask without reading the text."""

STOP = "referral-bot local stop"
STARTERS = "`referral-bot chat`, `serve` or `worker`"
BACKGROUND_NOTE = f"A local Redis keeps drafts and stays in the background; `{STOP}` stops it."
"""What the chat says under its banner when it uses the local Redis."""

app = typer.Typer(
    no_args_is_help=True,
    help="The local Redis that keeps drafts when REDIS_URL is unset: show it, or stop it.",
)

Force = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Stop it even while a chat, serve or worker is connected; they lose their "
        "Redis (their next step fails) until restarted.",
    ),
]


def configured_redis_url(settings: Settings) -> str | None:
    """``REDIS_URL`` when set to something; None (blank included) means the local Redis."""
    # Blank counts as unset, as in bot.storage.redis.resolve_redis_url: `REDIS_URL= cmd`
    # reaches the local Redis even when a .env file sets one.
    return (settings.redis_url or "").strip() or None


@command(app, "status")
def status() -> None:
    """Show the local Redis of the data folder: socket, data, pid, memory, uptime, keys.

    Exit status: 0 it runs; 3 none runs (as `systemctl status` says), or REDIS_URL is set
    and no local Redis is used.
    """
    settings = _settings()
    server = running_embedded_server(settings.data_dir)
    configured = configured_redis_url(settings)
    if configured is not None:
        typer.echo(
            f"The bot uses the Redis at {redact_url(configured)} (REDIS_URL): "
            "there is no local Redis to show."
        )
        _mention_unused(server)
        raise typer.Exit(NOT_RUNNING)
    if server is None:
        typer.echo(
            f"No local Redis is running for {settings.data_dir}. The next {STARTERS} starts one."
        )
        raise typer.Exit(NOT_RUNNING)
    if not server.answers:
        typer.echo(f"The local Redis{_pid(server.pid)} in {server.root} is loading its data.")
        return
    with _reported():
        facts = server_status(server)
    for line in _described(server, facts):
        typer.echo(line)


@command(app, "stop")
def stop(force: Force = False) -> None:
    """Save the local Redis's data and stop it; the next chat, serve or worker starts it again.

    Refused while a `referral-bot chat`, `serve` or `worker` is still connected (they would
    lose their Redis mid-step): quit them first, or pass --force.

    Exit status: 0 stopped, or none was running; 1 still in use, or it refused to stop (its
    save failed); 2 REDIS_URL is set, so there is no local Redis to stop.
    """
    settings = _settings()
    server = running_embedded_server(settings.data_dir)
    configured = configured_redis_url(settings)
    if configured is not None:
        typer.echo(
            f"The bot uses the Redis at {redact_url(configured)} (REDIS_URL), not a local one: "
            "there is nothing here to stop.",
            err=True,
        )
        _mention_unused(server, err=True)
        raise typer.Exit(USAGE)
    if server is None:
        typer.echo(f"No local Redis is running for {settings.data_dir}; nothing to stop.")
        return
    pid = server.pid
    if server.answers:
        with _reported():
            facts = server_status(server)
        pid = facts.pid
        if facts.other_connections and not force:
            typer.echo(
                f"The local Redis (pid {pid}) is in use: {_connections(facts.other_connections)}"
                f", from a {STARTERS} still running. Quit those first, or run "
                f"`{STOP} --force` (they lose their Redis until restarted).",
                err=True,
            )
            raise typer.Exit(REFUSED)
        if facts.other_connections:
            typer.echo(f"Stopping it anyway (--force): {_connections(facts.other_connections)}.")
    with _reported():
        stopped = stop_embedded_server(settings.data_dir)
    if not stopped:  # it stopped by itself meanwhile
        typer.echo(f"No local Redis is running for {settings.data_dir}; nothing to stop.")
        return
    typer.echo(f"Stopped the local Redis{_pid(pid)}; drafts saved in {server.root}.")


def _settings() -> Settings:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_level_libraries, settings.log_format)
    return settings


@contextmanager
def _reported() -> Iterator[None]:
    """A server that does not answer or refuses to stop: its own message, exit status 1."""
    try:
        yield
    except EmbeddedServerError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(REFUSED) from None


def _mention_unused(server: EmbeddedServer | None, *, err: bool = False) -> None:
    """A local Redis left running from before REDIS_URL was set costs memory for nothing."""
    if server is not None:
        typer.echo(
            f"A local Redis{_pid(server.pid)} still runs in {server.root}, unused while "
            f"REDIS_URL is set; `REDIS_URL= {STOP}` stops it.",
            err=err,
        )


def _described(server: EmbeddedServer, facts: ServerStatus) -> list[str]:
    rows = {
        "Socket": str(server.socket),
        "Data folder": str(server.root),
        "Pid": str(facts.pid),
        "Memory": f"{facts.used_memory} in use, {facts.resident_memory} resident (RSS)",
        "Uptime": duration(facts.uptime_seconds),
        "Keys": str(facts.keys),
        "Connections": f"{facts.other_connections} from other processes (chat, serve, worker)",
    }
    width = max(map(len, rows))
    return [
        f"A local Redis ({facts.version}) keeps the drafts, running in the background.",
        *(f"  {label:<{width}}  {value}" for label, value in rows.items()),
        f"`{STOP}` saves and stops it; the next {STARTERS} starts it again.",
    ]


def duration(seconds: int) -> str:
    """``seconds`` in two units: ``45 s``, ``2 min 5 s``, ``3 h 12 min``, ``2 d 4 h``."""
    seconds = max(seconds, 0)
    units = (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1))
    for (name, size), (smaller, smaller_size) in pairwise(units):
        if seconds >= size:
            whole, rest = divmod(seconds, size)
            return f"{whole} {name} {rest // smaller_size} {smaller}"
    return f"{seconds} s"


def _connections(count: int) -> str:
    return f"{count} other connection{'' if count == 1 else 's'}"


def _pid(pid: int | None) -> str:
    return f" (pid {pid})" if pid is not None else ""
