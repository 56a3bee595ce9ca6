"""Partner Center client throughput: the project's client next to the transports it could use.

2,000 GETs of one referral from the built-in sandbox over loopback, 50 concurrent tasks, in
one run, through:

* the project's ``PartnerCenterClient`` on its default transport (the composition root's),
* the same client on httpx's own transport (to see the transport's share),
* a bare pooled ``httpx.AsyncClient``,
* ``httpx`` with the ``httpx-aiohttp`` transport, configured as the client gets it from the
  composition root (the "transport it runs on"),
* bare ``aiohttp``;

and, for sign-in, the project's client acting for 100 different sellers signed in through
msal (``AUTH_MODE=user``: tokens from a local https identity service, caches sealed in Redis)
next to the same client on one static token, in the same run; with the token requests each
seller cost.

The sandbox runs in its own process so the load generator does not share its event loop.

    .venv/bin/python bench/client.py [--requests 2000] [--concurrency 50] [--sellers 100]
        [--redis-url redis://127.0.0.1:6379/14]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
from pydantic import SecretStr
from sandbox_process import free_port, start_sandbox

sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from bot.app.clients import build_http_client, build_partner_center_client
from bot.identity.setup import SignInParts, build_sign_in
from bot.partner_center.auth import AccessToken, CachingTokenProvider
from bot.partner_center.client import PartnerCenterClient
from bot.settings import Settings
from bot.storage.redis import connect
from tests.support.identity_stand_in import IdentityStandIn, Person
from tests.support.sign_in import settings_for

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"

TOKEN = "bench-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}


@dataclass
class Result:
    name: str
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


async def drive(
    name: str, call: Callable[[], Awaitable[None]], requests: int, concurrency: int
) -> Result:
    """Run ``requests`` calls from ``concurrency`` tasks; return per-call latencies."""
    for _ in range(concurrency):  # warm the pool so connection set-up is not measured
        await call()
    latencies: list[float] = []
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(name, time.perf_counter() - started, latencies)


async def run(args: argparse.Namespace) -> None:
    requests, concurrency = args.requests, args.concurrency
    port = free_port()
    sandbox = start_sandbox(port)
    base_url = f"http://127.0.0.1:{port}/v1.0"
    try:
        async with httpx.AsyncClient() as setup:
            listing = await setup.get(f"{base_url}/engagements/referrals", headers=HEADERS)
            referral_id = listing.json()["value"][0]["id"]
        url = f"{base_url}/engagements/referrals/{referral_id}"
        results = await measure(base_url, url, referral_id, requests, concurrency)
        signed = await measure_sign_in(base_url, referral_id, args)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    report(results, requests, concurrency)
    report_sign_in(signed, args)


async def measure(
    base_url: str, url: str, referral_id: str, requests: int, concurrency: int
) -> dict[str, Result]:
    results: dict[str, Result] = {}
    fetches = 0

    async def fetch_token(refused: bool) -> AccessToken:
        nonlocal fetches
        fetches += 1
        return AccessToken(SecretStr(TOKEN), expires_at=time.monotonic() + 3600)

    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)

    async with httpx.AsyncClient(limits=limits) as plain:

        async def bare_httpx() -> None:
            (await plain.get(url, headers=HEADERS)).raise_for_status()

        results["httpx"] = await drive("bare httpx", bare_httpx, requests, concurrency)

    settings = Settings(_env_file=None, partner_center_base_url=base_url)
    async with build_http_client(settings) as stack:

        async def httpx_aiohttp() -> None:
            (await stack.get(url, headers=HEADERS)).raise_for_status()

        results["httpx-aiohttp"] = await drive(
            "httpx + httpx-aiohttp (the client's stack)", httpx_aiohttp, requests, concurrency
        )

        async def httpx_aiohttp_decoded() -> None:
            response = await stack.get(url, headers=HEADERS)
            response.raise_for_status()
            response.json()

        results["httpx-aiohttp-json"] = await drive(
            "  the same, decoding the JSON body", httpx_aiohttp_decoded, requests, concurrency
        )

    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def bare_aiohttp() -> None:
            async with session.get(url, headers=HEADERS) as response:
                response.raise_for_status()
                await response.read()

        results["aiohttp"] = await drive("bare aiohttp", bare_aiohttp, requests, concurrency)

    tokens = CachingTokenProvider(fetch_token)
    async with build_http_client(settings) as http:
        client = PartnerCenterClient(http, base_url=base_url, tokens=tokens)

        async def project_client() -> None:
            await client.get(referral_id)

        results["client"] = await drive(
            "PartnerCenterClient (default transport)", project_client, requests, concurrency
        )

    async with httpx.AsyncClient(limits=limits) as plain:
        client = PartnerCenterClient(plain, base_url=base_url, tokens=tokens)

        async def client_on_httpx() -> None:
            await client.get(referral_id)

        results["client-httpx"] = await drive(
            "PartnerCenterClient on httpx's transport", client_on_httpx, requests, concurrency
        )
    print(f"token fetches for both client runs: {fetches}")
    return results


def report(results: dict[str, Result], requests: int, concurrency: int) -> None:
    print(f"\n{requests} GETs, {concurrency} concurrent tasks, sandbox in its own process")
    print(f"{'':44} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for result in results.values():
        print(
            f"{result.name:44} {result.rate:9.0f} {result.percentile(50):8.2f} "
            f"{result.percentile(99):8.2f}"
        )
    client, transport = results["client"], results["httpx-aiohttp"]
    overhead = transport.rate / client.rate - 1
    decoded = results["httpx-aiohttp-json"].rate / client.rate - 1
    print(f"\nclient overhead over its transport (httpx-aiohttp): {overhead:+.1%} (target <= 15%)")
    print(f"client overhead over its transport decoding JSON: {decoded:+.1%}")
    print(
        f"client on httpx transport vs bare httpx: "
        f"{1 - results['client-httpx'].rate / results['httpx'].rate:+.1%}"
    )
    httpx_api = {k: results[k] for k in ("httpx", "httpx-aiohttp")}
    fastest = max(httpx_api.values(), key=lambda r: r.rate)
    print(f"fastest transport behind the httpx API: {fastest.name}")
    print(
        f"aiohttp / bare httpx throughput: {results['aiohttp'].rate / results['httpx'].rate:.1f}x"
    )


@dataclass
class SignInRun:
    static: Result
    delegated: Result
    sign_in_requests: int
    refreshes: int
    sellers: int


async def measure_sign_in(base_url: str, referral_id: str, args: argparse.Namespace) -> SignInRun:
    """The client acting for ``args.sellers`` sellers signed in through msal, next to the
    same client on one static token."""
    redis = await connect(args.redis_url, max_connections=50, pool_timeout=5, socket_timeout=5)
    with IdentityStandIn() as identity:
        settings = settings_for(identity, args.redis_url, partner_center_base_url=base_url)
        parts = await build_sign_in(settings, redis)
        principals = [f"bench:sign-in:{number}" for number in range(args.sellers)]
        try:
            await asyncio.gather(*(sign_in(parts, identity, p) for p in principals))
            signed_in = len(identity.token_requests())
            async with build_http_client(settings) as http:
                static = PartnerCenterClient(
                    http,
                    base_url=base_url,
                    tokens=CachingTokenProvider(lambda _: _forever(TOKEN), refresh_margin=0),
                )
                client = build_partner_center_client(settings, http, sign_in=parts)
                acting = [client.acting_for(p) for p in principals]
                rotation = itertools.cycle(acting)
                # "Once tokens are cached": each seller's token is in memory before timing.
                await asyncio.gather(*(each.get(referral_id) for each in acting))

                async def static_token() -> None:
                    await static.get(referral_id)

                async def delegated() -> None:
                    await next(rotation).get(referral_id)

                # Interleaved, so both see the machine in the same state.
                first = await drive("static token", static_token, args.requests, args.concurrency)
                second = await drive(
                    f"msal, {args.sellers} sellers", delegated, args.requests, args.concurrency
                )
            refreshes = len(identity.token_requests()) - signed_in
        finally:
            for principal in principals:
                await parts.caches.delete(principal)
            parts.close()
            await redis.aclose()
    return SignInRun(first, second, signed_in, refreshes, args.sellers)


async def sign_in(parts: SignInParts, identity: IdentityStandIn, principal: str) -> None:
    assert parts.sign_ins is not None
    number = principal.rsplit(":", 1)[-1]
    oid = f"00000000-0000-4000-8000-{int(number):012d}"
    person = Person(oid, f"s{number}@bench.example", number)
    link = await parts.sign_ins.start(principal, {})
    _, fields = await asyncio.to_thread(identity.authorize_form, link, person)
    await parts.sign_ins.finish(fields)


async def _forever(token: str) -> AccessToken:
    return AccessToken(SecretStr(token), expires_at=None)


def report_sign_in(run: SignInRun, args: argparse.Namespace) -> None:
    print(f"\nSign-in: {args.requests} GETs, {args.concurrency} concurrent tasks")
    for result in (run.static, run.delegated):
        print(
            f"{result.name:44} {result.rate:9.0f} {result.percentile(50):8.2f} "
            f"{result.percentile(99):8.2f}"
        )
    print(
        f"msal path / static token: {run.delegated.rate / run.static.rate:.1%} "
        "(target: >= 90% once tokens are cached)"
    )
    print(
        f"token requests: {run.sign_in_requests} to sign {run.sellers} sellers in, "
        f"{run.refreshes} while measuring (target: one per seller per token lifetime)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--sellers", type=int, default=100)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
