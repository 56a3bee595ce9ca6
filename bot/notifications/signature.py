"""Is this webhook request really from Partner Center? The documented signature check.

Partner Center signs the raw body of every event with the private key of a certificate it
names in ``x-ms-certificate-url``, and puts the signature in ``Authorization: Signature
<base64>`` (or ``x-ms-signature``). A URL the sender chooses is the weak point: anyone can
sign with a certificate of their own and point at it. So, cheapest first:

1. the headers are there and well formed, the algorithm is ``rsa-sha256``;
2. the certificate URL is https and under an allowlisted prefix (Microsoft's storage account
   by default) — until then nothing is fetched, so a forged request costs no outbound call;
3. the certificate is downloaded without following redirects (a redirect would leave the
   allowlist), with a size bound and a timeout, and kept per URL for an hour;
4. it is in date, its subject's or issuer's organisation is ``Microsoft Corporation``, and
   its chain leads to a trust anchor (the system's CA store, or a bundle given);
5. the signature is RSA PKCS#1 v1.5 with SHA-256 over the body bytes exactly as received.

Every failure raises :class:`WebhookRefused`, whose message names the check for the log and
never quotes the body. The events carry no nonce or timestamp: replay protection is the
caller's, by deduplicating on :attr:`~bot.notifications.webhook_events.WebhookEvent.dedupe_key`.

In practice the file at Microsoft's URL is the leaf certificate alone (DER); when its issuing
CA is an intermediate that the trust store lacks, add that intermediate to the bundle given as
``ca_bundle``: certificates are never fetched from URLs found inside other certificates.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ssl
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

from bot.clock import Clock, SystemClock
from bot.settings import DEFAULT_PARTNER_CENTER_WEBHOOK_CERT_URLS

__all__ = [
    "ALGORITHM",
    "CERTIFICATE_URL_HEADER",
    "DEFAULT_CERTIFICATE_URLS",
    "MICROSOFT_ORGANIZATION",
    "SIGNATURE_ALGORITHM_HEADER",
    "WebhookRefused",
    "WebhookVerifier",
]

DEFAULT_CERTIFICATE_URLS = DEFAULT_PARTNER_CENTER_WEBHOOK_CERT_URLS
"""Where Partner Center's signing certificate is documented to live."""
MICROSOFT_ORGANIZATION = "Microsoft Corporation"
ALGORITHM = "rsa-sha256"
CERTIFICATE_URL_HEADER = "x-ms-certificate-url"
SIGNATURE_ALGORITHM_HEADER = "x-ms-signature-algorithm"
SIGNATURE_HEADERS = ("x-ms-signature", "authorization")
"""Where the signature may be, in the order looked at: the registration's
``SignatureTokenToMsSignatureHeader`` moves it out of ``Authorization``."""
SIGNATURE_SCHEME = "signature"

MAX_CERTIFICATE_BYTES = 64 * 1024
"""A leaf and a few intermediates in PEM fit in a fraction of this."""
CERTIFICATE_TIMEOUT_SECONDS = 5.0
CACHE_SECONDS = 3600.0
CACHE_SIZE = 16
MAX_CHAIN_LENGTH = 8
MAX_URL_LENGTH = 2048


class WebhookRefused(Exception):
    """The request is not a verifiable Partner Center event; answer 401 and queue nothing.

    ``check`` names the check that failed (``signature-header``, ``algorithm``,
    ``certificate-url``, ``certificate-download``, ``certificate``, ``certificate-dates``,
    ``organization``, ``chain``, ``signature``), for logs and metrics; the message says more,
    and never quotes the body.
    """

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check
        self.reason = message


@dataclass(frozen=True, slots=True)
class _AllowedPrefix:
    host: str
    port: int
    path: str


@dataclass(frozen=True, slots=True)
class _Certificate:
    """A downloaded certificate whose chain was checked: the leaf and the path to an anchor."""

    leaf: x509.Certificate
    path: tuple[x509.Certificate, ...]
    public_key: rsa.RSAPublicKey
    fetched_at: float


class WebhookVerifier:
    """Checks the signature of Partner Center's webhook requests (see the module docstring).

    ``http`` downloads certificates (its TLS settings decide whom the download trusts);
    ``allowed_cert_urls`` are URL prefixes (``https://host[:port]/path/``) a certificate URL
    must start with; ``ca_bundle`` is a PEM file of trust anchors for the certificate's chain
    (None: the system's store). One verifier serves one event loop; it keeps up to
    ``cache_size`` certificates for ``cache_seconds`` each.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        allowed_cert_urls: Sequence[str] = DEFAULT_CERTIFICATE_URLS,
        ca_bundle: Path | None = None,
        clock: Clock | None = None,
        timeout_seconds: float = CERTIFICATE_TIMEOUT_SECONDS,
        max_certificate_bytes: int = MAX_CERTIFICATE_BYTES,
        cache_seconds: float = CACHE_SECONDS,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        if not allowed_cert_urls:
            raise ValueError("at least one allowed certificate URL prefix is needed")
        self._http = http
        self._allowed = tuple(_prefix(url) for url in allowed_cert_urls)
        self._ca_bundle = ca_bundle
        self._clock = clock or SystemClock()
        self._timeout = timeout_seconds
        self._max_bytes = max_certificate_bytes
        self._cache_seconds = cache_seconds
        self._cache_size = cache_size
        self._cache: OrderedDict[str, _Certificate] = OrderedDict()
        self._anchors: dict[x509.Name, list[x509.Certificate]] | None = None
        # Misses are rare (one an hour per URL); one at a time means a burst of events after
        # expiry downloads the certificate once, not once per event.
        self._fetching = asyncio.Lock()

    async def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Return if ``body`` is signed by Partner Center's certificate; raise
        :class:`WebhookRefused` otherwise. ``body`` must be the bytes as received."""
        found = _lower(headers)
        signature = _signature(found)
        algorithm = found.get(SIGNATURE_ALGORITHM_HEADER, "").strip()
        if not algorithm:
            raise WebhookRefused("algorithm", f"no {SIGNATURE_ALGORITHM_HEADER} header")
        if algorithm.lower() != ALGORITHM:
            raise WebhookRefused("algorithm", f"{algorithm[:40]!r} is not {ALGORITHM}")
        url = found.get(CERTIFICATE_URL_HEADER, "").strip()
        if not url:
            raise WebhookRefused("certificate-url", f"no {CERTIFICATE_URL_HEADER} header")
        self._check_url(url)
        certificate = await self._certificate(url)
        self._check_dates(certificate)
        try:
            certificate.public_key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise WebhookRefused(
                "signature", "the signature does not match the body and certificate"
            ) from None

    # -- the certificate URL ----------------------------------------------------------------

    def _check_url(self, url: str) -> None:
        if len(url) > MAX_URL_LENGTH:
            raise WebhookRefused("certificate-url", "the URL is too long")
        try:
            parts = urlsplit(url)
            port = parts.port or 443
        except ValueError:
            raise WebhookRefused("certificate-url", "the URL is malformed") from None
        shown = _shown(url)
        if parts.scheme.lower() != "https":
            raise WebhookRefused("certificate-url", f"{shown} is not https")
        if parts.username is not None or parts.password is not None:
            raise WebhookRefused("certificate-url", f"{shown} carries credentials")
        if parts.query or parts.fragment:
            raise WebhookRefused("certificate-url", f"{shown} has a query or fragment")
        path = parts.path
        # Encoded characters and dot segments could make a path that starts with the prefix
        # name a file outside it once the server decodes and normalises it.
        segments = unquote(path).split("/")
        if "%" in path or "\\" in path or any(part in {".", ".."} for part in segments):
            raise WebhookRefused("certificate-url", f"{shown} has an ambiguous path")
        host = (parts.hostname or "").lower()
        if not any(
            host == allowed.host and port == allowed.port and path.startswith(allowed.path)
            for allowed in self._allowed
        ):
            raise WebhookRefused("certificate-url", f"{shown} is not an allowed location")

    # -- the certificate ----------------------------------------------------------------------

    async def _certificate(self, url: str) -> _Certificate:
        cached = self._cached(url)
        if cached is not None:
            return cached
        async with self._fetching:
            cached = self._cached(url)
            if cached is not None:
                return cached
            raw = await self._download(url)
            anchors = await self._trust_anchors()
            certificate = _checked(raw, anchors, self._clock.now(), self._clock.monotonic())
            self._cache[url] = certificate
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            return certificate

    def _cached(self, url: str) -> _Certificate | None:
        cached = self._cache.get(url)
        if cached is None:
            return None
        if self._clock.monotonic() - cached.fetched_at >= self._cache_seconds:
            del self._cache[url]
            return None
        return cached

    async def _download(self, url: str) -> bytes:
        try:
            async with self._http.stream(
                "GET", url, follow_redirects=False, timeout=self._timeout
            ) as response:
                if response.is_redirect:
                    raise WebhookRefused(
                        "certificate-download",
                        f"{_shown(url)} answered a redirect ({response.status_code}), "
                        "which is not followed",
                    )
                if response.status_code != 200:
                    raise WebhookRefused(
                        "certificate-download",
                        f"{_shown(url)} answered HTTP {response.status_code}",
                    )
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self._max_bytes:
                    raise _too_large(url, self._max_bytes)
                chunks = bytearray()
                async for chunk in response.aiter_bytes():
                    chunks += chunk
                    if len(chunks) > self._max_bytes:
                        raise _too_large(url, self._max_bytes)
                return bytes(chunks)
        except httpx.HTTPError as exc:
            raise WebhookRefused(
                "certificate-download", f"{_shown(url)} could not be read ({type(exc).__name__})"
            ) from None

    async def _trust_anchors(self) -> dict[x509.Name, list[x509.Certificate]]:
        if self._anchors is None:
            # Parsing a system store (a hundred-odd certificates) takes tens of milliseconds.
            self._anchors = await asyncio.to_thread(_load_anchors, self._ca_bundle)
        return self._anchors

    def _check_dates(self, certificate: _Certificate) -> None:
        # Checked on every use: a cached certificate can expire within the hour.
        _check_in_date(certificate.path, self._clock.now())


def _checked(
    raw: bytes,
    anchors: Mapping[x509.Name, Sequence[x509.Certificate]],
    now: datetime,
    fetched_at: float,
) -> _Certificate:
    certificates = _parse(raw)
    leaf, others = certificates[0], certificates[1:]
    _check_organization(leaf)
    path = _chain(leaf, others, anchors)
    _check_in_date(path, now)
    try:
        public_key = leaf.public_key()
    except UnsupportedAlgorithm:
        public_key = None
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise WebhookRefused("certificate", "the certificate's key is not an RSA key")
    return _Certificate(leaf, path, public_key, fetched_at)


def _parse(raw: bytes) -> list[x509.Certificate]:
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            certificates = x509.load_pem_x509_certificates(raw)
        else:
            certificates = [x509.load_der_x509_certificate(raw)]
    except ValueError:
        raise WebhookRefused(
            "certificate", "the file is not a DER or PEM X.509 certificate"
        ) from None
    if not certificates:  # pragma: no cover - the loader raises instead
        raise WebhookRefused("certificate", "the file holds no certificate")
    return certificates


def _organizations(name: x509.Name) -> list[str]:
    return [
        str(attribute.value) for attribute in name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    ]


def _check_organization(leaf: x509.Certificate) -> None:
    if MICROSOFT_ORGANIZATION in _organizations(leaf.subject) + _organizations(leaf.issuer):
        return
    raise WebhookRefused(
        "organization",
        f"neither the subject nor the issuer of the certificate is O={MICROSOFT_ORGANIZATION}",
    )


def _chain(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    anchors: Mapping[x509.Name, Sequence[x509.Certificate]],
) -> tuple[x509.Certificate, ...]:
    """The path from ``leaf`` to a trust anchor, through the file's other certificates."""
    path = [leaf]
    current = leaf
    for _ in range(MAX_CHAIN_LENGTH):
        if any(anchor == current for anchor in anchors.get(current.subject, ())):
            return tuple(path)
        for anchor in anchors.get(current.issuer, ()):
            if _issued_by(current, anchor):
                return tuple(path)
        issuer = next(
            (
                candidate
                for candidate in intermediates
                if candidate not in path
                and candidate.subject == current.issuer
                and _is_ca(candidate)
                and _issued_by(current, candidate)
            ),
            None,
        )
        if issuer is None:
            break
        path.append(issuer)
        current = issuer
    raise WebhookRefused(
        "chain", "the certificate does not chain to a trusted certificate authority"
    )


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return constraints.value.ca


def _check_in_date(path: Sequence[x509.Certificate], now: datetime) -> None:
    for index, certificate in enumerate(path):
        which = "the certificate" if index == 0 else "an intermediate certificate"
        if now < certificate.not_valid_before_utc:
            raise WebhookRefused("certificate-dates", f"{which} is not valid yet")
        if now > certificate.not_valid_after_utc:
            raise WebhookRefused("certificate-dates", f"{which} has expired")


def _load_anchors(ca_bundle: Path | None) -> dict[x509.Name, list[x509.Certificate]]:
    certificates: list[x509.Certificate] = []
    if ca_bundle is not None:
        certificates = x509.load_pem_x509_certificates(ca_bundle.read_bytes())
    else:
        with warnings.catch_warnings():
            # Old roots in system stores have non-positive serial numbers, which cryptography
            # warns about; they are not ours to fix, and one odd entry must not stop the rest.
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            for blob in _system_store():
                try:
                    certificates.append(x509.load_der_x509_certificate(blob))
                except ValueError:
                    continue
    anchors: dict[x509.Name, list[x509.Certificate]] = {}
    for certificate in certificates:
        anchors.setdefault(certificate.subject, []).append(certificate)
    return anchors


def _system_store() -> list[bytes]:
    """The system's trust anchors, DER, as the ssl module loads them."""
    context = ssl.create_default_context()
    paths = ssl.get_default_verify_paths()
    # A hashed directory (capath) is loaded lazily by OpenSSL, so get_ca_certs misses it:
    # load its files explicitly.
    if paths.capath and Path(paths.capath).is_dir():
        for entry in sorted(Path(paths.capath).iterdir()):
            if entry.is_file():
                try:
                    context.load_verify_locations(cafile=str(entry))
                except (ssl.SSLError, OSError, ValueError):
                    continue
    return [bytes(blob) for blob in context.get_ca_certs(binary_form=True)]


def _prefix(url: str) -> _AllowedPrefix:
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ValueError(f"an allowed certificate URL must be https with a host: {url!r}")
    return _AllowedPrefix(parts.hostname.lower(), parts.port or 443, parts.path or "/")


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in headers.items():
        found.setdefault(name.lower(), value)
    return found


def _signature(headers: Mapping[str, str]) -> bytes:
    header = next((name for name in SIGNATURE_HEADERS if headers.get(name, "").strip()), None)
    if header is None:
        raise WebhookRefused(
            "signature-header", "no Authorization or x-ms-signature header with a signature"
        )
    shown = "Authorization" if header == "authorization" else header
    scheme, _, value = headers[header].strip().partition(" ")
    if scheme.lower() != SIGNATURE_SCHEME or not value.strip():
        raise WebhookRefused("signature-header", f"{shown} is not 'Signature <base64>'")
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookRefused("signature-header", f"the {shown} signature is not base64") from None


def _too_large(url: str, limit: int) -> WebhookRefused:
    return WebhookRefused("certificate-download", f"{_shown(url)} is larger than {limit} bytes")


def _shown(url: str) -> str:
    # The URL is the sender's text: quoted (repr escapes control characters) and shortened.
    return f"certificate URL {url[:200]!r}"
