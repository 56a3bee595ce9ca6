"""referral-bot core: Partner Center domain, client, sandbox and services.

Knows nothing of Slack, Teams or the terminal; the adapters in ``handlers/`` and the
renderers in ``cards/`` build on it.
"""
