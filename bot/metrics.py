"""What an operator graphs and alerts on, in Prometheus' text format.

One registry a process: the web process counts the requests it acknowledged, a worker the
jobs it did, both the Partner Center calls they made. ``METRICS_PORT`` serves ``/metrics`` on a
listener of its own (loopback unless ``HOST`` says otherwise), never on the web process's
public routes: counts of sellers' activity are for the operator's scraper, not for the
Internet. Labels are bounded sets (platforms, outcomes, job kinds, HTTP methods and statuses,
approval states), never ids, so the series stay few.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)

logger = logging.getLogger(__name__)

REGISTRY: Final = CollectorRegistry(auto_describe=True)
"""This process's metrics (not the library's global one, so tests can read exactly ours)."""

_LATENCY: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_AGES: Final = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 3600.0)

REQUESTS: Final = Counter(
    "rb_requests",
    "Requests the web process answered, by platform (slack, teams, partner_center, auth, "
    "health) and outcome (the HTTP status class: 2xx, 4xx, 5xx).",
    ["platform", "outcome"],
    registry=REGISTRY,
)
REQUEST_SECONDS: Final = Histogram(
    "rb_request_seconds",
    "Time from a request's arrival to its answer (for Slack and Teams: the ack).",
    ["platform"],
    buckets=_LATENCY,
    registry=REGISTRY,
)
JOBS_QUEUED: Final = Counter(
    "rb_jobs_queued", "Jobs put on the job stream, by stream and kind.", ["stream", "kind"],
    registry=REGISTRY,
)  # fmt: skip
JOBS_DONE: Final = Counter(
    "rb_jobs_done",
    "Jobs a worker finished, by stream, kind and outcome (done, failed: tried again later).",
    ["stream", "kind", "outcome"],
    registry=REGISTRY,
)
JOBS_DEAD: Final = Counter(
    "rb_jobs_dead", "Jobs set aside as dead letters, by stream.", ["stream"], registry=REGISTRY
)
JOB_AGE_SECONDS: Final = Histogram(
    "rb_job_age_seconds",
    "How long a job waited on the stream before a worker started it, by kind.",
    ["kind"],
    buckets=_AGES,
    registry=REGISTRY,
)
JOB_SECONDS: Final = Histogram(
    "rb_job_seconds", "How long a job took, by kind.", ["kind"], buckets=_LATENCY,
    registry=REGISTRY,
)  # fmt: skip
PARTNER_CENTER_CALLS: Final = Counter(
    "rb_partner_center_calls",
    "Partner Center API calls, by method and status (the HTTP status, or 'error' when no "
    "answer came).",
    ["method", "status"],
    registry=REGISTRY,
)
PARTNER_CENTER_SECONDS: Final = Histogram(
    "rb_partner_center_seconds",
    "Partner Center API call latency, by method.",
    ["method"],
    buckets=_LATENCY,
    registry=REGISTRY,
)
TOKEN_REFRESHES: Final = Counter(
    "rb_token_refreshes",
    "Partner Center access tokens acquired, by outcome (ok, sign_in_required, unavailable).",
    ["outcome"],
    registry=REGISTRY,
)
NOTIFICATIONS_SENT: Final = Counter(
    "rb_notifications_sent",
    "Referral changes posted to subscribed channels, by platform.",
    ["platform"],
    registry=REGISTRY,
)
DRAFT_WRITES: Final = Counter(
    "rb_draft_writes",
    "Steps that moved a draft on, by how the draft was had: cached (this process wrote the "
    "latest version: one round trip), read (not cached: a read first), stale (cached, but "
    "another process had moved it on: the write found out and was made again).",
    ["path"],
    registry=REGISTRY,
)
APPROVALS: Final = Counter(
    "rb_approvals",
    "Requests for deal-registration approval reaching a state (pending when asked).",
    ["state"],
    registry=REGISTRY,
)


def platform_of_path(path: str) -> str:
    """The platform a request path belongs to, as the ``platform`` label names it."""
    if path.startswith("/slack/"):
        return "slack"
    if path.startswith("/api/messages"):
        return "teams"
    if path.startswith("/partner-center/"):
        return "partner_center"
    if path.startswith("/auth/"):
        return "auth"
    if path in ("/healthz", "/readyz"):
        return "health"
    return "other"


def outcome_of(status: int) -> str:
    """``2xx``, ``4xx``, ``5xx``: an HTTP status as the ``outcome`` label names it."""
    return f"{status // 100}xx"


@contextmanager
def timed(histogram: Histogram, *labels: str) -> Iterator[None]:
    """Observe how long the block took on ``histogram`` (with ``labels``), however it ends."""
    started = time.perf_counter()
    try:
        yield
    finally:
        histogram.labels(*labels).observe(time.perf_counter() - started)


def exposition() -> tuple[bytes, str]:
    """This process's metrics in the text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def serve_metrics(port: int, host: str) -> None:
    """Serve ``/metrics`` on ``host:port`` from a thread of its own, for the scraper."""
    start_http_server(port, addr=host, registry=REGISTRY)
    logger.info("metrics on http://%s:%d/metrics", host, port)
