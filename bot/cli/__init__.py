"""The ``referral-bot`` command: referrals, eligibility and deal registrations from a terminal.

Each command checks what it can before anything is sent, runs one coroutine against a
Partner Center client from the composition root, and prints a card (default) or the API's
JSON (``--json``). Shared parts, exit statuses included, live in :mod:`bot.cli._shared`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from typing import Annotated

import typer
import uvicorn

from bot.app.web import build_web_app
from bot.app.worker import WorkerFailed, run_worker
from bot.cli import approvals, chat, deals, local, login, referrals, teams_package, webhooks
from bot.cli._shared import command, configure_logging
from bot.metrics import serve_metrics
from bot.partner_center.sandbox import run_sandbox
from bot.settings import Settings, load_settings

__all__ = ["app", "main"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")

app = typer.Typer(
    name="referral-bot",
    no_args_is_help=True,
    add_completion=False,
    epilog="Exit status: 0 done; 1 Partner Center (or the status table) refused; "
    "2 bad input or configuration, nothing sent.",
)
app.add_typer(referrals.app, name="referrals")
app.add_typer(deals.eligibility_app, name="eligibility")
app.add_typer(deals.registrations_app, name="registrations")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(approvals.app, name="approvals")
app.add_typer(local.app, name="local")
command(app, "chat")(chat.chat)
command(app, "teams-package")(teams_package.teams_package)
command(app, "login")(login.login)
command(app, "logout")(login.logout)
command(app, "whoami")(login.whoami)


@app.callback()
def _root(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log debug detail, tracebacks included.")
    ] = False,
) -> None:
    """Work with Microsoft Partner Center referrals from a terminal.

    Set PARTNER_CENTER_BASE_URL and PARTNER_CENTER_TOKEN (environment or .env);
    PARTNER_CENTER_BASE_URL=sandbox runs against the built-in sandbox.
    """
    if verbose:
        configure_logging("DEBUG")


@command(app, "sandbox")
def sandbox(
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free one).")
    ] = 8765,
    host: Annotated[
        str, typer.Option(help="Interface to listen on; keep it loopback.")
    ] = "127.0.0.1",
    json_output: Annotated[
        bool, typer.Option("--json", help="Announce the URL and settings as one JSON line.")
    ] = False,
) -> None:
    """Serve the built-in Partner Center sandbox in the foreground until Ctrl+C.

    It starts with demo referrals and answers like the Referrals API; the other commands
    use it once PARTNER_CENTER_BASE_URL points at the URL it prints.
    """
    if host not in LOOPBACK:
        typer.echo(
            f"Warning: serving on {host}; the sandbox's admin routes have no authentication.",
            err=True,
        )

    def announce(base_url: str) -> None:
        environment = {"PARTNER_CENTER_BASE_URL": base_url, "PARTNER_CENTER_TOKEN": "sandbox"}
        if json_output:
            typer.echo(json.dumps({"baseUrl": base_url, "environment": environment}))
            return
        typer.echo(f"Partner Center sandbox listening at {base_url}")
        typer.echo("Point referral-bot at it (in another shell):")
        typer.echo("  export " + " ".join(f"{name}={value}" for name, value in environment.items()))

    # It returns only once stopped: by Ctrl+C or SIGTERM, which uvicorn handles and re-raises
    # (a KeyboardInterrupt), or not, as the event loop's own handler catches it first.
    with contextlib.suppress(KeyboardInterrupt):
        run_sandbox(host, port, on_ready=announce)
    typer.echo("Sandbox stopped.", err=True)


@command(app, "serve")
def serve(
    host: Annotated[
        str | None,
        typer.Option(
            help="Interface to listen on (default: HOST, itself 127.0.0.1; a container "
            "sets HOST=0.0.0.0)."
        ),
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port to listen on (default: PORT).")
    ] = None,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            help="Also do the work behind each request here (one process is a whole "
            "deployment); --no-worker leaves it to `referral-bot worker` processes.",
        ),
    ] = True,
) -> None:
    """Run the web process: /healthz, /readyz and the chat platforms that are configured.

    Stateless, so run as many copies as the load needs behind a load balancer.
    """
    # --host counts as HOST: TEAMS_ALLOW_UNAUTHENTICATED is refused off loopback either way.
    settings = load_settings(**({"host": host} if host is not None else {}))
    libraries = configure_logging(
        settings.log_level, settings.log_level_libraries, settings.log_format
    )
    web = build_web_app(settings, worker=worker)
    metrics_if_asked(settings)
    server = uvicorn.Server(
        uvicorn.Config(
            web,
            host=settings.host,
            port=port or settings.port,
            log_level=libraries,  # uvicorn's loggers are held like every library's
            access_log=False,
            proxy_headers=True,
            lifespan="on",
        )
    )
    web.state.stop_server = lambda: setattr(server, "should_exit", True)
    server.run()
    if web.state.worker_failures:
        typer.echo(f"Stopped: {web.state.worker_failures[0]!r}", err=True)
        raise typer.Exit(1)


@command(app, "worker")
def worker() -> None:
    """Run a worker process: the work behind chat requests, from the shared job stream.

    Run as many as the load needs; each job goes to one of them, and the jobs of a worker
    that stops are taken over by the others.
    """
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_level_libraries, settings.log_format)
    metrics_if_asked(settings)
    try:
        asyncio.run(_work_until_signalled(settings))
    except WorkerFailed as failed:
        typer.echo(f"Stopped: {failed}", err=True)
        raise typer.Exit(1) from None


def metrics_if_asked(settings: Settings) -> None:
    """Serve ``/metrics`` on ``METRICS_PORT`` (on ``HOST``) when it is set."""
    if settings.metrics_port is not None:
        serve_metrics(settings.metrics_port, settings.host)


async def _work_until_signalled(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await run_worker(settings, stop)


def main() -> None:
    """Entry point of the ``referral-bot`` console script."""
    app()
