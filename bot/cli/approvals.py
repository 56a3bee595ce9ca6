"""``referral-bot approvals list``: the requests for deal-registration approval and where
each stands, newest first (the audit trail of who decided what, and when)."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bot.app.clients import redis_client
from bot.approvals.store import Approval, Approvals, ApprovalStatus
from bot.cli._shared import JsonFlag, command, configure_logging
from bot.settings import load_settings

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Requests for deal-registration approval.")

Status = Annotated[
    list[ApprovalStatus] | None,
    typer.Option("--status", "-s", help="Only these statuses (repeat for several)."),
]
Limit = Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")]


@command(app, "list")
def list_approvals(
    status: Status = None, limit: Limit = 100, json_output: JsonFlag = False
) -> None:
    """The newest requests, with who asked, who decided, when, and why."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_level_libraries, settings.log_format)

    async def read() -> list[Approval]:
        async with redis_client(settings) as (redis, _):
            store = Approvals(redis, stream=settings.job_stream)
            return await store.listed(status or None, limit=limit)

    found = asyncio.run(read())
    if json_output:
        typer.echo(json.dumps([_wire(approval) for approval in found], indent=2))
        return
    if not found:
        typer.echo(
            "No requests for approval" + (f" with status {_named(status)}." if status else ".")
        )
        return
    table = Table("Request", "Referral", "Asked by", "Status", "Decided by", "When", "Why")
    for approval in found:
        table.add_row(
            approval.id,
            approval.request.referral_id,
            approval.request.requester_name,
            approval.status.value,
            approval.decided_by_name or approval.decided_by or "",
            (approval.decided_at or approval.created_at).isoformat(timespec="seconds"),
            approval.reason or "",
        )
    Console().print(table)


def _wire(approval: Approval) -> dict[str, object]:
    return {
        "id": approval.id,
        "status": approval.status.value,
        "createdAt": approval.created_at.isoformat(),
        "decidedBy": approval.decided_by,
        "decidedByName": approval.decided_by_name,
        "decidedAt": approval.decided_at.isoformat() if approval.decided_at else None,
        "reason": approval.reason,
        "requestId": approval.request_id,
        "request": approval.request.model_dump(mode="json"),
    }


def _named(statuses: list[ApprovalStatus]) -> str:
    return " or ".join(status.value for status in statuses)
