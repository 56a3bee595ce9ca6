"""Partner Center client throughput: the project's client next to the transports it could use.

2,000 GETs of one referral from the built-in sandbox over loopback, 50 concurrent tasks, in
one run, through:

* the project's ``PartnerCenterClient`` on its default transport (the composition root's),
* the same client on httpx's own transport (to see the transport's share),
* a bare pooled ``httpx.AsyncClient``,
* ``httpx`` with the ``httpx-aiohttp`` transport, configured as the client gets it from the
  composition root (the "transport it runs on"),
* bare ``aiohttp``.

The sandbox runs in its own process so the load generator does not share its event loop.

    .venv/bin/python bench/client.py [--requests 2000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import httpx
from pydantic import SecretStr
from sandbox_process import free_port, start_sandbox

from bot.app import build_http_client
from bot.partner_center.auth import AccessToken, CachingTokenProvider
from bot.partner_center.client import PartnerCenterClient
from bot.settings import Settings

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


async def run(requests: int, concurrency: int) -> None:
    port = free_port()
    sandbox = start_sandbox(port)
    base_url = f"http://127.0.0.1:{port}/v1.0"
    try:
        async with httpx.AsyncClient() as setup:
            listing = await setup.get(f"{base_url}/engagements/referrals", headers=HEADERS)
            referral_id = listing.json()["value"][0]["id"]
        url = f"{base_url}/engagements/referrals/{referral_id}"
        results = await measure(base_url, url, referral_id, requests, concurrency)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    report(results, requests, concurrency)


async def measure(
    base_url: str, url: str, referral_id: str, requests: int, concurrency: int
) -> dict[str, Result]:
    results: dict[str, Result] = {}
    fetches = 0

    async def fetch_token() -> AccessToken:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.concurrency))


if __name__ == "__main__":
    main()
