"""Answers per referral: how many messages a seller types to file one, the short way and the
long way, and whether both ways send Partner Center the same referral.

Scripted sellers complete each kind of deal (private lead, partner-led, co-sell with
Microsoft's help, services co-sell) through ``Desk.on_message``, exactly as a seller typing
in the terminal chat would, with the desk ``chat_services`` builds for the product (the
known-customer lookup included). Each script answers whatever question the bot asks (a
table of step -> answer per way) and stops loudly on a question it did not expect or on an
answer the bot refused.

* **short way**: the one-line start (``/referral new Contoso 50k by 2027-03-31``: customer,
  referral name, value and closing date; the currency then comes from the customer's
  country), the address and the contact in one answer each, ``none`` to the offer of
  optional questions, ``yes`` to the consents, then ``submit``. What a kind requires is
  answered too: a co-sell's solution, a services co-sell's partner role, solution area and
  play, and the help a co-sell asks Microsoft for.
* **long way** (the baseline, measured in the same run): ``/referral new`` alone, then every
  field its own answer: only the street to the address question and only the first name to
  the contact question (the rest is then asked one field at a time), ``skip`` on the
  consents question so each is asked on its own, ``all`` to the offer of optional
  questions (each then skipped), the same values as the short way, then ``submit``.
* **known customer** (partner-led only): a second referral for the customer of the first,
  by the same seller, taking the earlier referral's address, size and contact with one yes.

An *answer* is every message typed: the ``/referral new ...`` line and each ``submit``
included (a ``submit`` that first shows the review, and the one that then sends, count two).
*Characters* are the characters of those messages.

Every referral is read back from Partner Center (the built-in sandbox, in a process of its
own, over loopback HTTP, with a static token) and the short way's compared with the long
way's of the same kind, ignoring what the server sets (ids, ETags, timestamps, the
engagement id, the external reference id, status changes) and the referral's name when the
short way names it after its customer. The known-customer referral is compared with the
short way's partner-led one. Each way files against a sandbox of its own, so no way finds
the other's referral as an earlier one of the same customer. The run exits non-zero when
any pair differs, printing the paths that do.

Redis is the one ``--redis-url`` names, or, when nothing answers at the default, an
embedded server in a temporary folder. Every key carries this run's id (the conversations'
and the job stream's) and is deleted at the end.

    .venv/bin/python bench/effort.py [--redis-url redis://127.0.0.1:6379/14]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sandbox_process import free_port, start_sandbox

from bot.app.services import ChatServices, chat_services
from bot.conversation.runtime.engine import Conversation
from bot.conversation.views import Created, Notice, Problem, Prompt, Review, Seller, View
from bot.conversation.vocabulary.flows.new_referral import (
    CO_SELL,
    PARTNER_LED,
    PRIVATE,
    SERVICES_CO_SELL,
)
from bot.settings import Settings
from bot.storage.embedded import ensure_embedded_server, stop_embedded_server
from bot.storage.redis import RedisClient, RedisUnavailable, connect, redact_url

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
TOKEN = "bench-token"
MAX_MESSAGES = 80
"""A script that types more than this is going round in circles."""

SELLER = Seller(
    user_id="U0001",
    display_name="Ana Lopez",
    first_name="Ana",
    last_name="Lopez",
    email="ana.lopez@contoso.com",
)

KINDS = (PRIVATE, PARTNER_LED, CO_SELL, SERVICES_CO_SELL)
KIND_WORDS = {
    PRIVATE: "private",
    PARTNER_LED: "partner led",
    CO_SELL: "co-sell",
    SERVICES_CO_SELL: "services",
}
CUSTOMERS = {
    PRIVATE: "Contoso",
    PARTNER_LED: "Fabrikam",
    CO_SELL: "Litware",
    SERVICES_CO_SELL: "Proseware",
}
"""A customer per kind, so that no kind's referral is an earlier one of another's customer."""
TARGETS = {PRIVATE: 12, PARTNER_LED: 12, CO_SELL: 14, SERVICES_CO_SELL: 14}
"""Answers per referral, the short way: partner-led <= 12, a Microsoft co-sell <= 14 (a
private lead is held to the partner-led target, as ``test_fewer_questions`` holds it)."""

SHORT, LONG, KNOWN = "short", "long", "known customer"

# The same values both ways.
VALUE = "50k"
CLOSING = "2027-03-31"
STREET, LINE2, CITY, STATE, POSTAL_CODE, COUNTRY = (
    "1 Main St",
    "Suite 200",
    "Seattle",
    "WA",
    "98101",
    "US",
)
FIRST, LAST, EMAIL, PHONE = "Ada", "Lovelace", "ada@fabrikam.com", "+1 206 555 0100"
SIZE = "10 to 50 employees"
REQUIRED_BY_KIND: dict[str, dict[str, str]] = {
    PRIVATE: {},
    PARTNER_LED: {},
    CO_SELL: {"solutions": "Artificial Intelligence", "help_type": "proof of concept"},
    SERVICES_CO_SELL: {
        "partner_role": "Deployment services",
        "solution_area": "Infrastructure",
        "solution_play": "Migrate SAP",
        "help_type": "proof of concept",
    },
}
"""What each kind requires beyond the rest (never among the optional questions)."""
OPTIONAL = ("notes", "industries", "products", "services", "solutions", "help_notes", "team")
"""The optional questions the ``extras`` offer covers; the long way skips each."""

SERVER_SET = frozenset(
    {
        "id",
        "eTag",
        "createdDateTime",
        "updatedDateTime",
        "engagementId",
        "externalReferenceId",
        "statusChangedDateTime",
        "substatusChangedDateTime",
        "acceptedDateTime",
        "expirationDateTime",
    }
)
"""Fields the server sets, at any depth: never the same for two referrals."""


def short_way(kind: str) -> tuple[str, dict[str, str]]:
    """The one-line start and the answer to each question the short way expects."""
    opening = f"/referral new {CUSTOMERS[kind]} {VALUE} by {CLOSING}"
    script = {
        "deal_kind": KIND_WORDS[kind],
        "address": f"{STREET}, {LINE2}, {CITY}, {STATE} {POSTAL_CODE}, {COUNTRY}",
        "customer_size": SIZE,
        "contact": f"{FIRST} {LAST} <{EMAIL}> {PHONE}",
        "extras": "none",
        "consents": "yes",
        **REQUIRED_BY_KIND[kind],
    }
    return opening, script


def long_way(kind: str) -> tuple[str, dict[str, str]]:
    """``/referral new`` alone and an answer for every field, one at a time."""
    script = {
        "deal_kind": KIND_WORDS[kind],
        "name": CUSTOMERS[kind],  # what the short way's opening names it
        "customer_name": CUSTOMERS[kind],
        "address": STREET,  # the street alone: the rest is asked one by one
        "address_line1": STREET,
        "address_line2": LINE2,
        "city": CITY,
        "state": STATE,
        "postal_code": POSTAL_CODE,
        "country": COUNTRY,
        "customer_size": SIZE,
        "contact": FIRST,  # the first name alone (a private lead's skip would leave it out)
        "contact_first_name": FIRST,
        "contact_last_name": LAST,
        "contact_email": EMAIL,
        "contact_phone": PHONE,
        "deal_value": VALUE,
        "currency": "USD",  # asked only if the country does not settle it
        "closing_date": CLOSING,
        "extras": "all",
        **dict.fromkeys(OPTIONAL, "skip"),
        "consents": "skip",
        "consent_share_info": "yes",
        "consent_contact": "yes",
        **REQUIRED_BY_KIND[kind],
    }
    if kind != PRIVATE:
        script["consent_partners"] = "yes"
    return "/referral new", script


def known_way() -> tuple[str, dict[str, str]]:
    """A second partner-led referral of the short way's customer, its details taken over."""
    opening, _ = short_way(PARTNER_LED)
    script = {
        "deal_kind": KIND_WORDS[PARTNER_LED],
        "same_customer": "yes",
        "extras": "none",
        "consents": "yes",
    }
    return opening, script


# -- one referral, typed --------------------------------------------------------------------


@dataclass
class Run:
    """One referral filed one way: what was typed, what was asked, what was created."""

    kind: str
    way: str
    typed: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    """The question each message after the first answered (``review`` for a submit there)."""
    created: list[dict[str, Any]] = field(default_factory=list)
    """The referrals created, as Partner Center returns them when read back."""
    opening: str | None = None
    """What the bot said it took from the one-line start."""
    questions: dict[str, str] = field(default_factory=dict)
    """The words of each question asked, by step."""

    @property
    def answers(self) -> int:
        return len(self.typed)

    @property
    def characters(self) -> int:
        return sum(len(message) for message in self.typed)


class ScriptFailed(SystemExit):
    pass


def fail(run: Run, problem: str) -> ScriptFailed:
    asked = " ".join(run.asked) or "(nothing yet)"
    return ScriptFailed(
        f"{run.kind}, {run.way} way: {problem}\n  typed so far: {run.typed!r}\n  asked: {asked}"
    )


def problems(views: list[View]) -> list[str]:
    """What the bot refused or could not do in a reply."""
    said = [
        f"{view.message} {view.hint or ''}".strip() for view in views if isinstance(view, Problem)
    ]
    said += [
        f"{view.step}: {view.error}" for view in views if isinstance(view, Prompt) and view.error
    ]
    return said


async def file_referral(
    services: ChatServices,
    conversation: Conversation,
    run: Run,
    opening: str,
    script: Mapping[str, str],
) -> Run:
    """Type ``opening``, answer what is asked from ``script``, submit, and read back what
    was created."""
    desk = services.desk
    run.typed.append(opening)
    views = await desk.on_message(conversation, opening)
    notices = [view for view in views if isinstance(view, Notice)]
    if notices and opening.strip() != "/referral new":
        run.opening = notices[0].message
        if notices[0].detail:
            raise fail(run, f"the opening line was not all read: {notices[0].detail}")
    while True:
        if refused := problems(views):
            raise fail(run, f"refused: {refused}")
        last = views[-1] if views else None
        if isinstance(last, Created):
            break
        if isinstance(last, Review):
            if last.missing:
                raise fail(run, f"the review still misses {last.missing}")
            step, answer = "review", "submit"
        elif isinstance(last, Prompt):
            step = last.step
            if step not in script:
                raise fail(run, f"unexpected question {step!r}: {last.question!r}")
            answer = script[step]
            run.questions[step] = last.question
        else:
            raise fail(run, f"unexpected reply {views!r}")
        if len(run.typed) >= MAX_MESSAGES:
            raise fail(run, f"still not done after {MAX_MESSAGES} messages")
        run.asked.append(step)
        run.typed.append(answer)
        views = await desk.on_message(conversation, answer)
    client = services.partner_center.acting_for(conversation.key)
    for referral in last.referrals:
        assert referral.id is not None
        run.created.append((await client.get(referral.id)).to_wire())
    return run


# -- comparing payloads ---------------------------------------------------------------------


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf of a JSON value by its path, without the fields the server sets."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in SERVER_SET:
                yield from leaves(item, f"{path}/{key}")
    elif isinstance(value, list) and value:
        for i, item in enumerate(value):
            yield from leaves(item, f"{path}/{i}")
    else:
        yield path or "/", value


def differences(short: Run, other: Run) -> tuple[list[str], list[str]]:
    """Paths where ``other``'s referrals differ from ``short``'s, and what was ignored."""
    if len(short.created) != len(other.created):
        return [f"referrals created: {len(short.created)} vs {len(other.created)}"], []
    differ, ignored = [], []
    for i, (a, b) in enumerate(zip(short.created, other.created, strict=True)):
        left, right = dict(leaves(a)), dict(leaves(b))
        customer = str((a.get("customerProfile") or {}).get("name") or "")
        if left.get("/name") != right.get("/name") and customer and customer in str(a.get("name")):
            ignored.append(f"referral {i + 1} /name: {left['/name']!r} vs {right.get('/name')!r}")
            left.pop("/name")
            right.pop("/name", None)
        for path in sorted(left.keys() | right.keys()):
            if left.get(path, "<absent>") != right.get(path, "<absent>"):
                differ.append(
                    f"referral {i + 1} {path}: {short.way} {left.get(path, '<absent>')!r}, "
                    f"{other.way} {right.get(path, '<absent>')!r}"
                )
    return differ, ignored


# -- the run --------------------------------------------------------------------------------


async def measure(
    sandboxes: dict[str, str], redis_url: str, run_id: str, data_dir: Path
) -> list[Run]:
    """Every kind both ways (each way on its own sandbox), and the known customer."""

    def settings(sandbox_url: str) -> Settings:
        return Settings(
            _env_file=None,
            redis_url=redis_url,
            partner_center_base_url=sandbox_url,
            partner_center_token=SecretStr(TOKEN),
            auth_mode="static",
            data_dir=data_dir,
            job_stream=f"{run_id}:jobs",  # the change events of what is created
        )

    runs: list[Run] = []
    async with AsyncExitStack() as stack:
        desks = {
            way: await stack.enter_async_context(chat_services(settings(url)))
            for way, url in sandboxes.items()
        }
        for kind in KINDS:
            for way, build in ((SHORT, short_way), (LONG, long_way)):
                conversation = Conversation(key=f"{run_id}:{way}:{kind}", seller=SELLER)
                opening, script = build(kind)
                run = await file_referral(desks[way], conversation, Run(kind, way), opening, script)
                runs.append(run)
        # The same seller, in the same conversation, files for the same customer again.
        conversation = Conversation(key=f"{run_id}:{SHORT}:{PARTNER_LED}", seller=SELLER)
        opening, script = known_way()
        run = await file_referral(
            desks[SHORT], conversation, Run(PARTNER_LED, KNOWN), opening, script
        )
        runs.append(run)
    return runs


def report(runs: list[Run]) -> bool:
    """Print the figures; whether every pair of payloads was identical."""
    by = {(run.kind, run.way): run for run in runs}
    print("\nwhat each message answered (after the first; review: the submit that sends):")
    for run in runs:
        print(f"  {run.kind} {run.way} ({run.answers}): {' '.join(run.asked)}")
    opened = next(run for run in runs if run.opening)
    print(f"the one-line start ({opened.kind}): {opened.opening}")
    known = by[PARTNER_LED, KNOWN]
    print(f"the known customer's question: {known.questions.get('same_customer')}")

    print(f"\n{'kind':17} | {'way':14} | {'answers':>7} | {'characters':>10} | target")
    print(f"{'-' * 17}-|-{'-' * 14}-|-{'-' * 7}-|-{'-' * 10}-|-------")
    for run in runs:
        target = f"<= {TARGETS[run.kind]}" if run.way != LONG else "-"
        print(f"{run.kind:17} | {run.way:14} | {run.answers:7d} | {run.characters:10d} | {target}")

    identical = True
    print()
    for kind in KINDS:
        short, long = by[kind, SHORT], by[kind, LONG]
        met = short.answers <= TARGETS[kind]
        print(
            f"{kind}: short way {short.answers} answers, target <= {TARGETS[kind]}: "
            f"{'met' if met else 'MISSED'}; {short.answers}/{long.answers} = "
            f"{short.answers / long.answers:.0%} of the long way's answers, "
            f"{short.characters}/{long.characters} = "
            f"{short.characters / long.characters:.0%} of its characters"
        )
    known = by[PARTNER_LED, KNOWN]
    print(
        f"partner_led known customer: {known.answers} answers, target <= "
        f"{TARGETS[PARTNER_LED]}: {'met' if known.answers <= TARGETS[PARTNER_LED] else 'MISSED'}; "
        f"{known.answers / by[PARTNER_LED, LONG].answers:.0%} of the long way's answers"
    )

    print()
    pairs = [(kind, by[kind, SHORT], by[kind, LONG]) for kind in KINDS]
    pairs.append((f"{PARTNER_LED} (known customer vs short)", by[PARTNER_LED, SHORT], known))
    for label, short, other in pairs:
        differ, ignored = differences(short, other)
        created = len(short.created)
        print(
            f"{label}: payloads identical: {'no' if differ else 'yes'} ({created} referral"
            f"{'s' if created > 1 else ''} read back)"
        )
        for line in ignored:
            print(f"  ignored, the short way names it after its customer: {line}")
        for line in differ:
            print(f"  differs: {line}")
        identical = identical and not differ
    return identical


# -- set-up ---------------------------------------------------------------------------------


async def open_redis(url: str) -> RedisClient:
    defaults = Settings(_env_file=None)
    return await connect(
        url,
        max_connections=defaults.redis_max_connections,
        pool_timeout=defaults.redis_pool_timeout_seconds,
        socket_timeout=defaults.redis_socket_timeout_seconds,
    )


async def reachable(url: str) -> bool:
    try:
        redis = await open_redis(url)
    except RedisUnavailable:
        return False
    await redis.aclose()
    return True


async def remove_keys(redis_url: str, run_id: str) -> int:
    """Delete this run's keys, and only those."""
    redis = await open_redis(redis_url)
    removed = 0
    try:
        for pattern in (f"rb:{{{run_id}:*", f"{{{run_id}:*", f"{run_id}:*"):
            keys = [key async for key in redis.scan_iter(match=pattern, count=1000)]
            for i in range(0, len(keys), 500):
                removed += await redis.delete(*keys[i : i + 500])
    finally:
        await redis.aclose()
    return removed


async def run(args: argparse.Namespace, sandboxes: dict[str, str]) -> bool:
    embedded: Path | None = None
    redis_url = args.redis_url
    if not await reachable(redis_url):
        if redis_url != DEFAULT_REDIS_URL:
            raise SystemExit(f"nothing answers at {redact_url(redis_url)}")
        embedded = Path(tempfile.mkdtemp(prefix="bench-effort-"))
        redis_url = await asyncio.to_thread(ensure_embedded_server, embedded)
        print(f"nothing answers at {DEFAULT_REDIS_URL}: using an embedded server (unix socket)")
    run_id = f"bench-effort-{uuid.uuid4().hex[:8]}"
    data_dir = Path(tempfile.mkdtemp(prefix="bench-effort-data-"))
    print(
        f"Redis {redact_url(redis_url)}; sandboxes {', '.join(sandboxes.values())}; keys {run_id}*"
    )
    started = time.perf_counter()
    try:
        runs = await measure(sandboxes, redis_url, run_id, data_dir)
        identical = report(runs)
        print(f"\n{len(runs)} referrals filed in {time.perf_counter() - started:.1f} s")
    finally:
        removed = await remove_keys(redis_url, run_id)
        print(f"removed this run's {removed} keys")
        shutil.rmtree(data_dir, ignore_errors=True)
        if embedded is not None:
            await asyncio.to_thread(stop_embedded_server, embedded)
            shutil.rmtree(embedded, ignore_errors=True)
    return identical


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    args = parser.parse_args()
    processes = []
    try:
        sandboxes = {}
        for way in (SHORT, LONG):  # a sandbox per way: neither finds the other's customers
            port = free_port()
            processes.append(start_sandbox(port))
            sandboxes[way] = f"http://127.0.0.1:{port}/v1.0"
        identical = asyncio.run(run(args, sandboxes))
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
    if not identical:
        print("\npayloads differ: see the paths above")
        sys.exit(1)


if __name__ == "__main__":
    main()
