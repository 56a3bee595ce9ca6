"""msal applications for one app registration: its credential, its authority, its TLS trust.

msal is blocking and builds an application around one token cache, so a process keeps one
:class:`MsalApps` per app registration and makes a cheap application per acquisition around
the principal's cache. What is costly is done once: the credential is read at start, and the
authority's OpenID configuration is fetched once per process (msal's ``http_cache``).
"""

from __future__ import annotations

import logging
import re
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msal
import requests
from msal.authority import WELL_KNOWN_AUTHORITY_HOSTS
from pydantic import SecretStr

HTTP_TIMEOUT_SECONDS = 10.0
SECRET_BEARING_LOGGERS = ("msal.token_cache",)
"""msal loggers whose DEBUG records carry secrets: the token cache logs each grant's request
data (refresh tokens, authorization codes) as it stores the answer."""
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.DOTALL)


class _NothingBelowInfo(logging.Filter):
    """Drops a logger's DEBUG records, whatever level an operator sets."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO


for _name in SECRET_BEARING_LOGGERS:
    # Here, not in the logging set-up: wherever msal is used, its secrets stay out of logs.
    logging.getLogger(_name).addFilter(_NothingBelowInfo())


def refusal_reason(answer: Mapping[str, Any]) -> str:
    """Why Entra ID refused, in one line: the first line of ``error_description`` without the
    trace and correlation ids that follow it (``error`` when there is no description)."""
    description = str(answer.get("error_description") or answer.get("error") or "").strip()
    first = description.splitlines()[0] if description else "no reason given"
    return first.split(" Trace ID:", 1)[0].strip()


class CredentialProblem(Exception):
    """The app's credential cannot be used; the message names the setting, not the secret."""


@dataclass(frozen=True, slots=True)
class Registration:
    """An Entra app registration as the settings describe it."""

    client_id: str
    tenant_id: str
    authority_root: str
    """``https://login.microsoftonline.com`` (a sovereign cloud or a test stand-in otherwise)."""
    client_secret: SecretStr | None = None
    certificate_path: Path | None = None
    ca_bundle: Path | None = None

    @property
    def authority(self) -> str:
        """The tenant's authority URL."""
        return f"{self.authority_root.rstrip('/')}/{self.tenant_id}"


class MsalApps:
    """Builds msal applications for one registration, sharing one HTTP session and cache of
    the authority's metadata."""

    def __init__(self, registration: Registration) -> None:
        self.registration = registration
        self._credential = _credential(registration)
        self._http = _session(registration.ca_bundle)
        self._metadata: dict[Any, Any] = {}
        self._metadata_lock = threading.Lock()
        host = registration.authority_root.split("://", 1)[-1].split("/", 1)[0].lower()
        # Instance discovery asks login.microsoftonline.com whether the authority is a
        # Microsoft cloud: right for Microsoft's hosts, impossible for any other (a test's).
        self._instance_discovery = None if host in WELL_KNOWN_AUTHORITY_HOSTS else False

    def confidential(
        self, cache: msal.SerializableTokenCache | None = None
    ) -> msal.ConfidentialClientApplication:
        """A web app with the secret or certificate (code flow, refresh, client credentials)."""
        if self._credential is None:
            raise CredentialProblem(
                "Missing required setting(s): ENTRA_CLIENT_SECRET or ENTRA_CLIENT_CERTIFICATE_PATH."
            )
        with self._metadata_lock:
            # The first construction fills the shared metadata cache; later ones read it.
            return msal.ConfidentialClientApplication(
                self.registration.client_id,
                client_credential=self._credential,
                authority=self.registration.authority,
                token_cache=cache,
                http_client=self._http,
                http_cache=self._metadata,
                instance_discovery=self._instance_discovery,
                timeout=HTTP_TIMEOUT_SECONDS,
            )

    def public(
        self, cache: msal.SerializableTokenCache | None = None
    ) -> msal.PublicClientApplication:
        """A public client (device code): the integration user signing in from a terminal."""
        with self._metadata_lock:
            return msal.PublicClientApplication(
                self.registration.client_id,
                authority=self.registration.authority,
                token_cache=cache,
                http_client=self._http,
                http_cache=self._metadata,
                instance_discovery=self._instance_discovery,
                timeout=HTTP_TIMEOUT_SECONDS,
            )

    def close(self) -> None:
        """Close the HTTP session."""
        self._http.close()


def _credential(registration: Registration) -> str | dict[str, str] | None:
    if registration.certificate_path is not None:
        return _certificate(registration.certificate_path)
    if registration.client_secret is not None and registration.client_secret.get_secret_value():
        return registration.client_secret.get_secret_value()
    return None


def _certificate(path: Path) -> dict[str, str]:
    try:
        pem = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise CredentialProblem(
            f"ENTRA_CLIENT_CERTIFICATE_PATH: cannot read {path}: {error.__class__.__name__}"
        ) from None
    blocks = {match.group(1): match.group(0) for match in _PEM_BLOCK.finditer(pem)}
    key = next((block for kind, block in blocks.items() if kind.endswith("PRIVATE KEY")), None)
    certificate = blocks.get("CERTIFICATE")
    if key is None or certificate is None:
        raise CredentialProblem(
            f"ENTRA_CLIENT_CERTIFICATE_PATH: {path} must hold the private key and the "
            "certificate, both in PEM."
        )
    # msal derives the thumbprint from the certificate and sends it for subject-name/issuer
    # validation (x5c), so a renewed certificate needs no configuration change.
    return {"private_key": key, "public_certificate": certificate}


def _session(ca_bundle: Path | None) -> requests.Session:
    """A session trusting ``ca_bundle``, else the system's store (not certifi's copy)."""
    session = requests.Session()
    # Proxies and CA bundles come from the settings, never implicitly from the environment.
    session.trust_env = False
    session.verify = str(ca_bundle) if ca_bundle is not None else _system_store()
    return session


def _system_store() -> str | bool:
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and Path(candidate).is_file():
            return candidate
    return True
