"""An in-process emulator of the Partner Center Referrals API, for tests, demos and the chat CLI.

Build the app with :func:`create_sandbox_app`, serve it with :func:`run_sandbox_in_thread`
(tests) or :func:`run_sandbox` / :func:`serve_sandbox` (``referral-bot sandbox``), and point
the client at the API root they give (``http://127.0.0.1:PORT/v1.0``) with any bearer token.

The admin routes under ``/sandbox`` (act as Microsoft, inject faults, read the request log,
reset) have no authentication: never expose the sandbox beyond the loopback interface.
"""

from bot.partner_center.sandbox.app import create_sandbox_app, sandbox_state
from bot.partner_center.sandbox.eligibility import EligibilityRules
from bot.partner_center.sandbox.faults import Fault
from bot.partner_center.sandbox.server import (
    SandboxServer,
    run_sandbox,
    run_sandbox_in_thread,
    serve_sandbox,
)
from bot.partner_center.sandbox.state import DEFAULT_PAGE_SIZE, PartnerProfile, SandboxState

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "EligibilityRules",
    "Fault",
    "PartnerProfile",
    "SandboxServer",
    "SandboxState",
    "create_sandbox_app",
    "run_sandbox",
    "run_sandbox_in_thread",
    "sandbox_state",
    "serve_sandbox",
]
