"""A stand-in of the host of Partner Center's webhook signing certificate, over loopback https.

It plays Microsoft's storage account (``https://3psostorageacct.blob.core.windows.net/cert/``)
with a throw-away PKI: a root CA (the trust anchor, :attr:`ca_bundle`; it also signs the
server's TLS certificate), an intermediate, and a second root nobody trusts. Under ``/cert/``
it serves the signing certificate and the variants the negative tests need, and every
variant comes with a :class:`WebhookSigner` holding its own key, so only the intended check
fails. Every request it receives is recorded (:attr:`WebhookCertificateHost.requests`).

:class:`WebhookReceiver` is the other end: a URL to register that records what it is sent.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
import threading
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.partner_center.sandbox import SandboxServer
from bot.partner_center.sandbox.webhooks import WebhookSigner
from tests.support.loopback import LoopbackStandIn

MICROSOFT = "Microsoft Corporation"
WEBHOOK_PATH = "/partner-center/webhook"
SIGNING_NAME = "pcnotifications-dispatch.microsoft.com"

CERTIFICATE = "pcnotifications-dispatch.microsoft.com.cer"
"""The good certificate, DER, directly under the trusted root (the documented file name)."""
CHAIN = "chain.pem"
"""A good certificate under the intermediate, PEM, the intermediate after it."""
LEAF_ONLY = "leaf-without-intermediate.cer"
"""The certificate of :data:`CHAIN` alone, DER: its issuer is nowhere to be found."""
WRONG_ORGANIZATION = "wrong-organization.cer"
EXPIRED = "expired.cer"
UNKNOWN_CA = "unknown-ca.cer"
REDIRECT = "redirect.cer"
"""Answers 302 to :data:`CERTIFICATE`."""
HUGE = "huge.cer"
"""A megabyte of nonsense."""
MISSING = "missing.cer"
"""Answers 404."""


@dataclass(frozen=True)
class _Variant:
    body: bytes
    key_pem: bytes


class WebhookCertificateHost(LoopbackStandIn):
    """The certificate host, served on loopback https; a context manager.

    :attr:`signer` signs like Partner Center with the good certificate at :attr:`cert_url`;
    :meth:`signer_for` gives the signer of any variant. Thread-safe: the server answers on a
    thread of its own.
    """

    name = "webhook certificate host"

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._requests: list[str] = []
        self._directory = Path(tempfile.mkdtemp(prefix="webhook-stand-in-"))
        weakref.finalize(self, shutil.rmtree, self._directory, ignore_errors=True)
        root = trustme.CA(organization_name="Webhook stand-in root CA")
        intermediate = root.create_child_ca()
        stranger = trustme.CA(organization_name="Nobody's CA")
        self._ca_bundle = self._directory / "ca.pem"
        root.cert_pem.write_to_path(str(self._ca_bundle))
        server = root.issue_cert("127.0.0.1", "localhost")
        self._certfile, self._keyfile = self._directory / "tls.pem", self._directory / "tls.key"
        with self._certfile.open("wb") as chain:
            for blob in server.cert_chain_pems:
                chain.write(blob.bytes())
        server.private_key_pem.write_to_path(str(self._keyfile))

        now = datetime.now(UTC)
        good = _issue(root)
        chained = _issue(intermediate)
        self._variants: Mapping[str, _Variant] = {
            CERTIFICATE: _der(good),
            CHAIN: _Variant(
                b"".join(blob.bytes() for blob in chained.cert_chain_pems),
                chained.private_key_pem.bytes(),
            ),
            LEAF_ONLY: _der(chained),
            WRONG_ORGANIZATION: _der(_issue(root, organization="Contoso Ltd")),
            EXPIRED: _der(
                _issue(root, not_before=now - timedelta(days=30), not_after=now - timedelta(days=1))
            ),
            UNKNOWN_CA: _der(_issue(stranger)),
        }
        self.app = Starlette(
            routes=[
                Route(f"/cert/{REDIRECT}", self._redirect),
                Route(f"/cert/{HUGE}", self._huge),
                Route("/{path:path}", self._serve),
            ]
        )

    def _new_server(self) -> SandboxServer:
        return SandboxServer(self.app, tls=(str(self._certfile), str(self._keyfile)))

    # Where it is --------------------------------------------------------------------------

    @property
    def ca_bundle(self) -> Path:
        """The trusted root (PEM): the verifier's trust anchors and the TLS client's."""
        return self._ca_bundle

    @property
    def allowed_prefix(self) -> str:
        """``https://127.0.0.1:PORT/cert/``: the verifier's allowlist entry."""
        return f"{self.origin}/cert/"

    @property
    def cert_url(self) -> str:
        """Where the good signing certificate is."""
        return self.url(CERTIFICATE)

    def url(self, name: str) -> str:
        """The URL of a file under ``/cert/`` (a variant name above, or any)."""
        return self.allowed_prefix + name

    def ssl_context(self) -> ssl.SSLContext:
        """A TLS client context trusting :attr:`ca_bundle` only (httpx's ``verify=``)."""
        return ssl.create_default_context(cafile=str(self._ca_bundle))

    # Signing ---------------------------------------------------------------------------------

    @property
    def signer(self) -> WebhookSigner:
        """Signs with the good certificate's key, naming :attr:`cert_url`."""
        return self.signer_for(CERTIFICATE)

    def signer_for(self, name: str, url: str | None = None) -> WebhookSigner:
        """Signs with the key of variant ``name``, naming ``url`` (default: where it is)."""
        variant = self._variants.get(name, self._variants[CERTIFICATE])
        return WebhookSigner.from_pem(variant.key_pem, url or self.url(name))

    # What it saw -----------------------------------------------------------------------------

    @property
    def requests(self) -> list[str]:
        """The paths requested, oldest first."""
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forget the requests."""
        with self._lock:
            self._requests.clear()

    def _record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request.url.path)

    async def _serve(self, request: Request) -> Response:
        self._record(request)
        path = request.url.path
        variant = (
            self._variants.get(path.removeprefix("/cert/")) if path.startswith("/cert/") else None
        )
        if variant is None:
            return Response(b"not found", 404)
        return Response(variant.body, media_type="application/pkix-cert")

    async def _redirect(self, request: Request) -> Response:
        self._record(request)
        return RedirectResponse(self.cert_url, status_code=302)

    async def _huge(self, request: Request) -> Response:
        self._record(request)
        return Response(b"0" * (1024 * 1024), media_type="application/pkix-cert")


@dataclass(frozen=True)
class Received:
    """One request the receiver got: its headers (lower-case names) and its raw body."""

    headers: Mapping[str, str]
    body: bytes


class WebhookReceiver(LoopbackStandIn):
    """A bot's webhook endpoint in miniature, over loopback http: it records every POST to
    ``/partner-center/webhook`` and answers :attr:`status` (200 unless told otherwise)."""

    name = "webhook receiver"

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self.status = 200
        self.app = Starlette(routes=[Route(WEBHOOK_PATH, self._receive, methods=["POST"])])

    @property
    def url(self) -> str:
        """Where to register the webhook."""
        return self.origin + WEBHOOK_PATH

    @property
    def received(self) -> list[Received]:
        """What was posted, oldest first."""
        with self._lock:
            return list(self._received)

    def reset(self) -> None:
        """Forget what was posted; answer 200 again."""
        with self._lock:
            self._received.clear()
        self.status = 200

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        with self._lock:
            self._received.append(Received(dict(request.headers), body))
        return Response(status_code=self.status)


def _issue(
    authority: trustme.CA,
    *,
    organization: str = MICROSOFT,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> trustme.LeafCert:
    return authority.issue_cert(
        SIGNING_NAME,
        common_name=SIGNING_NAME,
        organization_name=organization,
        not_before=not_before,
        not_after=not_after,
        key_type=trustme.KeyType.RSA,
    )


def _der(leaf: trustme.LeafCert) -> _Variant:
    certificate = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    return _Variant(
        certificate.public_bytes(serialization.Encoding.DER), leaf.private_key_pem.bytes()
    )


@pytest.fixture(scope="session")
def webhook_certificates() -> Iterator[WebhookCertificateHost]:
    """The certificate host, one server for the whole session (see the fresh fixture)."""
    with WebhookCertificateHost() as host:
        yield host


@pytest.fixture
def fresh_webhook_certificates(
    webhook_certificates: WebhookCertificateHost,
) -> WebhookCertificateHost:
    """The certificate host with no request recorded yet."""
    webhook_certificates.reset()
    return webhook_certificates
