"""Everything the sandbox remembers: referrals, the partner's settings, faults, the request log.

One :class:`SandboxState` belongs to one app. It is changed only by the app's handlers, on the
server's event loop, and no handler awaits between reading and writing it, so no lock is
needed. Referrals are stored as immutable versions (:class:`StoredReferral`): a change builds a
new version, so a read never copies anything and a GET by id is one dict lookup.
"""

from __future__ import annotations

import json
import secrets
import ssl
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.clock import Clock, SystemClock
from bot.partner_center.sandbox import demo_data
from bot.partner_center.sandbox.eligibility import EligibilityRules
from bot.partner_center.sandbox.faults import FaultQueue
from bot.partner_center.sandbox.webhooks import WebhookHub, WebhookSigner
from bot.referrals.models import Referral
from bot.referrals.wire import format_utc

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "LoggedRequest",
    "PartnerProfile",
    "RequestLog",
    "SandboxState",
    "StoredReferral",
]

DEFAULT_PAGE_SIZE = 100
"""The documented page size of ``GET /engagements/referrals``; ``$top`` is capped to it."""


@dataclass(frozen=True, slots=True)
class StoredReferral:
    """One version of a referral: its wire document and that document already serialized."""

    document: Mapping[str, Any]
    body: bytes

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> StoredReferral:
        """Freeze a document; serializing once here makes every later read free."""
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        return cls(document, body)

    @property
    def id(self) -> str:
        """The referral's id."""
        return str(self.document["id"])

    @property
    def etag(self) -> str:
        """The version's ETag, quotes included, as sent in headers and bodies."""
        return str(self.document["eTag"])

    @property
    def engagement_id(self) -> str:
        """The engagement the referral belongs to."""
        return str(self.document["engagementId"])

    def model(self) -> Referral:
        """The document parsed into the domain model."""
        return Referral.from_wire(self.document)

    def editable_copy(self) -> dict[str, Any]:
        """A deep copy of the document to change; parsing the cached JSON is cheaper."""
        copy: dict[str, Any] = json.loads(self.body)
        return copy


@dataclass(frozen=True, slots=True)
class PartnerProfile:
    """The partner organization the sandbox pretends the caller belongs to."""

    organization_id: str
    organization_name: str
    mpn_id: str


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One API request as received, and the status it was answered with."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    status: int
    request_id: str

    def to_json(self) -> dict[str, Any]:
        """The entry as ``GET /sandbox/requests`` shows it."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": dict(self.headers),
            "status": self.status,
            "requestId": self.request_id,
        }


class RequestLog:
    """The most recent API requests, oldest first; bounded so a long demo cannot fill memory."""

    def __init__(self, limit: int = 10_000) -> None:
        self._entries: deque[LoggedRequest] = deque(maxlen=limit)

    def record(self, entry: LoggedRequest) -> None:
        """Remember a request."""
        self._entries.append(entry)

    def clear(self) -> None:
        """Forget every request."""
        self._entries.clear()

    def __iter__(self) -> Iterator[LoggedRequest]:
        return iter(tuple(self._entries))

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(eq=False, kw_only=True)
class SandboxState:
    """The sandbox's in-memory store and settings (all keyword arguments).

    ``clock`` stamps every date; ``seed`` fills the store with
    :mod:`~bot.partner_center.sandbox.demo_data` now and on every :meth:`reset`;
    ``page_size`` is the largest page the list route returns (100 as documented; tests make it
    small); ``required_token``, when set, is the only bearer token accepted (otherwise any);
    ``token_check``, when set, is asked about every bearer token: ``None`` lets the request
    through, ``(status, reason)`` refuses it with that status (401 or 403) and reason, so a
    local identity provider can decide which tokens Partner Center would honour;
    ``partner`` is the organization written on created referrals; ``rules`` and
    ``managed_customers`` drive the eligibility policies; ``default_partner_eligible`` is the
    partner's deal-registration eligibility after a reset; ``webhook_signer`` signs the
    webhook events the sandbox sends as Microsoft (unsigned without one), each sent with
    ``webhook_timeout_seconds`` and ``webhook_verify`` (httpx's ``verify``) for https
    receivers (see :mod:`~bot.partner_center.sandbox.webhooks`).
    """

    clock: Clock = field(default_factory=SystemClock)
    seed: bool = True
    page_size: int = DEFAULT_PAGE_SIZE
    required_token: str | None = None
    token_check: Callable[[str], tuple[int, str] | None] | None = None
    partner: PartnerProfile = field(
        default_factory=lambda: PartnerProfile(**demo_data.SANDBOX_PARTNER)
    )
    rules: EligibilityRules = field(
        default_factory=lambda: EligibilityRules(
            solutions=demo_data.AZURE_IP_COSELL_SOLUTIONS,
            usd_rates=demo_data.USD_RATES,
        )
    )
    managed_customers: Sequence[str] = demo_data.MANAGED_CUSTOMERS
    default_partner_eligible: bool = True
    request_log_limit: int = 10_000

    webhook_signer: WebhookSigner | None = None
    webhook_timeout_seconds: float = 5.0
    webhook_verify: ssl.SSLContext | bool = True

    faults: FaultQueue = field(init=False, default_factory=FaultQueue)
    requests: RequestLog = field(init=False)
    webhooks: WebhookHub = field(init=False, repr=False)
    partner_eligible: bool = field(init=False)
    # Signs $skiptoken values; a fresh key per state makes stale or forged tokens fail.
    token_key: bytes = field(
        init=False, repr=False, default_factory=lambda: secrets.token_bytes(32)
    )
    _referrals: dict[str, StoredReferral] = field(init=False, repr=False, default_factory=dict)
    _engagements: dict[str, list[str]] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= DEFAULT_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {DEFAULT_PAGE_SIZE}")
        self.requests = RequestLog(self.request_log_limit)
        self.webhooks = WebhookHub(self)
        self.partner_eligible = self.default_partner_eligible
        self.reset()

    # --- store --------------------------------------------------------------------------

    def get(self, referral_id: str) -> StoredReferral | None:
        """The current version of a referral, or None."""
        return self._referrals.get(referral_id)

    def put(self, document: Mapping[str, Any]) -> StoredReferral:
        """Store a new referral or a new version of one; returns the stored version."""
        stored = StoredReferral.of(document)
        if stored.id not in self._referrals:
            self._engagements.setdefault(stored.engagement_id, []).append(stored.id)
        self._referrals[stored.id] = stored
        return stored

    def all(self) -> list[StoredReferral]:
        """Every referral, in the order they were created (the list route's default order)."""
        return list(self._referrals.values())

    def engagement(self, engagement_id: str) -> list[StoredReferral]:
        """The referrals of one engagement, in the order they were created."""
        ids = self._engagements.get(engagement_id, ())
        return [self._referrals[referral_id] for referral_id in ids]

    def has_engagement(self, engagement_id: str) -> bool:
        """Whether some referral belongs to that engagement."""
        return engagement_id in self._engagements

    def __len__(self) -> int:
        return len(self._referrals)

    # --- helpers for the operations ----------------------------------------------------

    def now(self) -> str:
        """The current time in the API's format."""
        return format_utc(self.clock.now())

    @staticmethod
    def new_id() -> str:
        """A new referral or engagement id."""
        return str(uuid.uuid4())

    @staticmethod
    def new_etag() -> str:
        """A new ETag: a quoted opaque string, as the service writes them."""
        return f'"{uuid.uuid4()}"'

    def is_managed_customer(self, customer_name: str | None) -> bool:
        """Whether Microsoft manages this customer (``customerProfile.isMatchingComplete``)."""
        if not customer_name:
            return False
        folded = customer_name.casefold()
        return any(name.casefold() in folded for name in self.managed_customers)

    # --- lifecycle ---------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the starting point: seeded referrals (if any), no faults, an empty log."""
        self._referrals.clear()
        self._engagements.clear()
        self.faults.clear()
        self.requests.clear()
        self.webhooks.reset()
        self.partner_eligible = self.default_partner_eligible
        if self.seed:
            for document in demo_data.demo_referrals(self.clock.now(), self.partner_fields()):
                self.put(document)

    def partner_fields(self) -> dict[str, str]:
        """The organization fields the service writes on the partner's own referrals."""
        return {
            "organizationId": self.partner.organization_id,
            "organizationName": self.partner.organization_name,
        }
