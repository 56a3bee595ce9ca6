"""The webhook signature check against a loopback https stand-in of Microsoft's certificate host.

Every refusal names the check that failed; the cheap checks refuse before anything is
downloaded, which the stand-in's request log shows.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.notifications.signature import WebhookRefused, WebhookVerifier
from bot.partner_center.sandbox.webhooks import WebhookSigner
from tests.support import webhook_stand_in as stand_in
from tests.support.webhook_stand_in import WebhookCertificateHost

BODY = json.dumps(
    {
        "EventName": "referral-updated",
        "ResourceUri": "https://api.partner.microsoft.com/v1.0/engagements/referrals/"
        "9c1e3a5b-7d9f-4c2e-8a4b-6c8e0a2c4e03",
        "ResourceName": "referral",
        "AuditUri": None,
        "ResourceChangeUtcDate": "2025-03-14T09:30:00Z",
        "Marker": "do-not-log-me",
    }
).encode()


class FakeClock:
    """Real dates by default; monotonic time only moves when told."""

    def __init__(self) -> None:
        self.offset = timedelta()
        self.ticks = 0.0

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def monotonic(self) -> float:
        return self.ticks


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def host(fresh_webhook_certificates: WebhookCertificateHost) -> WebhookCertificateHost:
    return fresh_webhook_certificates


@pytest.fixture
async def verifier(
    host: WebhookCertificateHost, clock: FakeClock
) -> AsyncIterator[WebhookVerifier]:
    async with httpx.AsyncClient(verify=host.ssl_context(), trust_env=False) as http:
        yield WebhookVerifier(
            http,
            allowed_cert_urls=(host.allowed_prefix,),
            ca_bundle=host.ca_bundle,
            clock=clock,
        )


def signed(signer: WebhookSigner, body: bytes = BODY, **changes: str | None) -> dict[str, str]:
    """Headers as Partner Center sends them, with some replaced (None removes)."""
    headers = signer.headers(body)
    for name, value in changes.items():
        header = name.replace("_", "-")
        if value is None:
            headers.pop(header, None)
        else:
            headers[header] = value
    return headers


async def refused(verifier: WebhookVerifier, headers: dict[str, str], body: bytes = BODY) -> str:
    with pytest.raises(WebhookRefused) as caught:
        await verifier.verify(headers, body)
    message = str(caught.value)
    assert "do-not-log-me" not in message
    return message


# -- accepted ------------------------------------------------------------------------------------


async def test_a_good_signature_passes(
    verifier: WebhookVerifier, host: WebhookCertificateHost
) -> None:
    await verifier.verify(signed(host.signer), BODY)
    assert host.requests == [f"/cert/{stand_in.CERTIFICATE}"]


async def test_the_signature_may_come_in_x_ms_signature(
    verifier: WebhookVerifier, host: WebhookCertificateHost
) -> None:
    headers = host.signer.headers(BODY, ms_signature_header=True)
    assert "Authorization" not in headers
    await verifier.verify(headers, BODY)


async def test_header_names_are_case_insensitive(
    verifier: WebhookVerifier, host: WebhookCertificateHost
) -> None:
    headers = {name.upper(): value for name, value in signed(host.signer).items()}
    await verifier.verify(headers, BODY)


async def test_a_pem_file_with_its_intermediate_passes(
    verifier: WebhookVerifier, host: WebhookCertificateHost
) -> None:
    await verifier.verify(signed(host.signer_for(stand_in.CHAIN)), BODY)


async def test_the_certificate_is_fetched_once_for_many_verifications(
    verifier: WebhookVerifier, host: WebhookCertificateHost, clock: FakeClock
) -> None:
    for number in range(5):
        body = BODY.replace(b"referral-updated", f"referral-updated-{number}".encode())
        await verifier.verify(signed(host.signer, body), body)
    await asyncio.gather(*(verifier.verify(signed(host.signer), BODY) for _ in range(10)))
    assert host.requests == [f"/cert/{stand_in.CERTIFICATE}"]

    clock.ticks += 3600  # an hour later the cached copy is dropped
    await verifier.verify(signed(host.signer), BODY)
    assert len(host.requests) == 2


# -- refused before anything is downloaded ---------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"Authorization": None}, "signature-header: no Authorization or x-ms-signature"),
        ({"Authorization": "Bearer abc"}, "signature-header: Authorization is not 'Signature"),
        ({"Authorization": "Signature !!!not-base64"}, "signature-header: the Authorization"),
        ({"x_ms_certificate_url": None}, "certificate-url: no x-ms-certificate-url header"),
        ({"x_ms_signature_algorithm": None}, "algorithm: no x-ms-signature-algorithm"),
        ({"x_ms_signature_algorithm": "rsa-sha1"}, "algorithm: 'rsa-sha1' is not rsa-sha256"),
    ],
)
async def test_missing_or_wrong_headers_are_refused_without_a_download(
    verifier: WebhookVerifier,
    host: WebhookCertificateHost,
    changes: dict[str, str | None],
    expected: str,
) -> None:
    message = await refused(verifier, signed(host.signer, **changes))
    assert message.startswith(expected)
    assert host.requests == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://{authority}/cert/x.cer", "is not https"),
        ("https://evil.example/cert/x.cer", "is not an allowed location"),
        ("https://3psostorageacct.blob.core.windows.net/cert/x.cer", "is not an allowed location"),
        ("https://localhost:{port}/cert/x.cer", "is not an allowed location"),
        ("https://{authority}/elsewhere/x.cer", "is not an allowed location"),
        ("https://{authority}/cert/../elsewhere/x.cer", "has an ambiguous path"),
        ("https://{authority}/cert/%2e%2e/elsewhere/x.cer", "has an ambiguous path"),
        ("https://user:pw@{authority}/cert/x.cer", "carries credentials"),
        ("https://{authority}/cert/x.cer?sig=1", "has a query or fragment"),
        ("https://{authority}:notaport/cert/x.cer", "is malformed"),
    ],
)
async def test_certificate_urls_off_the_allowlist_are_refused_without_a_download(
    verifier: WebhookVerifier, host: WebhookCertificateHost, url: str, expected: str
) -> None:
    authority = host.origin.removeprefix("https://")
    port = authority.rpartition(":")[2]
    wrong = url.format(authority=authority, port=port)
    message = await refused(verifier, signed(host.signer, x_ms_certificate_url=wrong))
    assert message.startswith("certificate-url: ")
    assert expected in message
    assert host.requests == []


# -- refused after looking at the certificate ------------------------------------------------------


async def test_a_bad_signature_is_refused(
    verifier: WebhookVerifier, host: WebhookCertificateHost
) -> None:
    # Signed with another key while naming the good certificate.
    forged = host.signer_for(stand_in.WRONG_ORGANIZATION, url=host.cert_url)
    message = await refused(verifier, signed(forged))
    assert message == "signature: the signature does not match the body and certificate"


async def test_a_tampered_body_is_refused(
    verifier: WebhookVerifier, host: WebhookCertificateHost
) -> None:
    headers = signed(host.signer)
    tampered = BODY.replace(b"referral-updated", b"referral-created")
    message = await refused(verifier, headers, tampered)
    assert message.startswith("signature: ")


async def test_a_redirect_is_not_followed(
    verifier: WebhookVerifier, host: WebhookCertificateHost
) -> None:
    url = host.url(stand_in.REDIRECT)
    message = await refused(verifier, signed(host.signer, x_ms_certificate_url=url))
    assert message.startswith("certificate-download: ")
    assert "redirect (302)" in message
    assert host.requests == [f"/cert/{stand_in.REDIRECT}"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (stand_in.WRONG_ORGANIZATION, "organization: neither the subject nor the issuer"),
        (stand_in.EXPIRED, "certificate-dates: the certificate has expired"),
        (stand_in.UNKNOWN_CA, "chain: the certificate does not chain to a trusted"),
        (stand_in.LEAF_ONLY, "chain: the certificate does not chain to a trusted"),
        (stand_in.HUGE, "certificate-download: "),
        (stand_in.MISSING, "certificate-download: "),
    ],
)
async def test_an_untrustworthy_certificate_is_refused(
    verifier: WebhookVerifier, host: WebhookCertificateHost, name: str, expected: str
) -> None:
    message = await refused(verifier, signed(host.signer_for(name)))
    assert message.startswith(expected)


async def test_a_cached_certificate_that_expires_is_refused(
    verifier: WebhookVerifier, host: WebhookCertificateHost, clock: FakeClock
) -> None:
    await verifier.verify(signed(host.signer), BODY)
    clock.offset = timedelta(days=365 * 1100)  # trustme's certificates last until 3000
    message = await refused(verifier, signed(host.signer))
    assert message.startswith("certificate-dates: ")
    assert len(host.requests) == 1


async def test_the_system_store_does_not_trust_the_stand_in(
    host: WebhookCertificateHost, clock: FakeClock
) -> None:
    async with httpx.AsyncClient(verify=host.ssl_context(), trust_env=False) as http:
        verifier = WebhookVerifier(http, allowed_cert_urls=(host.allowed_prefix,), clock=clock)
        message = await refused(verifier, signed(host.signer))
    assert message.startswith("chain: ")


def test_allowed_urls_must_be_https() -> None:
    with pytest.raises(ValueError, match="https"):
        WebhookVerifier(httpx.AsyncClient(), allowed_cert_urls=("http://example.test/cert/",))
