"""Talking to the Partner Center Referrals API: client, auth, errors and the sandbox."""
