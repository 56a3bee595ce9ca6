"""``referral-bot referrals ...``: get, list, create, update and close referrals."""

from __future__ import annotations

import functools
import json
from enum import StrEnum
from typing import Annotated

import typer

from bot.cli._shared import (
    IfMatch,
    InputError,
    InputFile,
    JsonFlag,
    ReferralId,
    command,
    read_model,
    reread,
    run,
    show,
)
from bot.partner_center.client import PartnerCenterClient
from bot.referrals.models import IncompleteReferral, Referral
from bot.referrals.patch import JsonPatch
from cards import text

app = typer.Typer(no_args_is_help=True, help="Read, list, create, change and close referrals.")


class Outcome(StrEnum):
    """How a referral ended, as typed on the command line."""

    WON = "won"
    LOST = "lost"
    DECLINED = "declined"
    EXPIRED = "expired"


@command(app, "get")
def get_referral(referral_id: ReferralId, json_output: JsonFlag = False) -> None:
    """Show one referral: ids, eTag, status, customer, deal, team and registrations."""
    referral = run(lambda client: client.get(referral_id))
    show(referral, text.referral_card, json_output)


@command(app, "list")
def list_referrals(
    filter_: Annotated[
        str | None,
        typer.Option("--filter", metavar="EXPR", help="OData filter, e.g. \"status eq 'New'\"."),
    ] = None,
    orderby: Annotated[
        str | None,
        typer.Option(metavar="EXPR", help='Sort order, e.g. "updatedDateTime desc".'),
    ] = None,
    top: Annotated[
        int | None, typer.Option(min=1, metavar="N", help="Show at most N referrals.")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """List referrals, following the service's pages (as a JSON array with --json)."""

    async def collect(client: PartnerCenterClient) -> tuple[list[Referral], int | None, bool]:
        listing = client.list(filter=filter_, orderby=orderby, top=top)
        referrals = await listing.collect()
        return referrals, listing.total, listing.truncated

    referrals, total, truncated = run(collect)
    table = functools.partial(text.referral_table, total=total, truncated=truncated)
    show(referrals, table, json_output)


@command(app, "create")
def create_referral(file: InputFile, json_output: JsonFlag = False) -> None:
    """Create a referral from a JSON file.

    The file is checked first (JSON syntax, field types, required fields such as
    customerProfile/address/country); nothing is sent if it fails.
    """
    referral = read_model(file, Referral)
    if missing := referral.missing_for_create():
        raise IncompleteReferral(missing)
    created = run(lambda client: client.create(referral))
    show(created, functools.partial(text.referral_card, heading="Created"), json_output)


@command(app, "update")
def update_referral(
    referral_id: ReferralId,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="PATH=VALUE",
            help="Replace a field, e.g. details/dealValue=25000 or "
            "details/closingDateTime=2026-12-01. Repeatable.",
        ),
    ] = None,
    add: Annotated[
        list[str] | None,
        typer.Option(
            "--add",
            metavar="PATH=JSON",
            help='Add a JSON value, e.g. team/-=\'{"firstName": "Ada", "lastName": '
            '"Lee", "email": "ada@contoso.com"}\'. Repeatable.',
        ),
    ] = None,
    if_match: IfMatch = None,
    json_output: JsonFlag = False,
) -> None:
    """Change fields of a referral.

    PATH is the field's path in the API, such as /details/dealValue (the leading slash is
    optional). Every change is checked before anything is sent.
    """
    patch = _patch(set_ or [], add or [])
    updated = run(
        lambda client: reread(
            client, referral_id, client.update(referral_id, patch, if_match=if_match)
        )
    )
    show(updated, functools.partial(text.referral_card, heading="Updated"), json_output)


@command(app, "close")
def close_referral(
    referral_id: ReferralId,
    outcome: Annotated[
        Outcome, typer.Argument(metavar="OUTCOME", case_sensitive=False, help="How it ended.")
    ],
    reason: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Why, in a sentence (statusReason).")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Close a referral as won, lost, declined or expired.

    The referral is read first and the change checked against the status table (a closed
    referral stays closed as it was); the change applies only to the version read.
    """
    closed = run(
        lambda client: reread(
            client, referral_id, client.close(referral_id, outcome, reason=reason)
        )
    )
    show(closed, functools.partial(text.referral_card, heading="Closed"), json_output)


def _patch(sets: list[str], adds: list[str]) -> JsonPatch:
    """A checked JSON Patch from ``--set PATH=VALUE`` and ``--add PATH=JSON`` options.

    ``--set`` values stay text for the path's validator to coerce ("10000", "true",
    "2026-12-01"); ``--add`` values are JSON. A bad path or value raises PatchError.
    """
    if not sets and not adds:
        raise InputError(
            "Nothing to change: give at least one --set PATH=VALUE or --add PATH=JSON."
        )
    patch = JsonPatch()
    for item in sets:
        path, value = _path_and_value("--set", item)
        patch.replace(path, value)
    for item in adds:
        path, raw = _path_and_value("--add", item)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError(
                f'--add {path}: the value is not JSON ({exc.msg}); write text as "...".'
            ) from None
        patch.add(path, value)
    return patch


def _path_and_value(option: str, item: str) -> tuple[str, str]:
    path, equals, value = item.partition("=")
    if not equals or not path.strip():
        raise InputError(f"{option} {item!r}: expected PATH=VALUE, e.g. details/dealValue=25000.")
    return "/" + path.strip().lstrip("/"), value
