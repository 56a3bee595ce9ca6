"""Maximum lengths, in characters, of the referral fields people type.

The Referrals API documents no maximum length for any of these fields, so these are our
own conservative choices: generous for real data, small enough to stay within what a
CRM or database column is likely to hold. Checking them before a request is sent turns a
long value into a clear message naming the field, instead of a bare 400 from the service
or a silently cut value. The conversation and the JSON Patch checks use the same numbers.
"""

from __future__ import annotations

from typing import Final

REFERRAL_NAME: Final = 200
EXTERNAL_REFERENCE: Final = 100
STATUS_REASON: Final = 1000
NOTES: Final = 4000
"""Notes on the referral and the notes for Microsoft on a co-sell invite."""

CUSTOMER_NAME: Final = 200
ADDRESS_LINE: Final = 250
CITY: Final = 200
STATE: Final = 200
REGION: Final = 200
POSTAL_CODE: Final = 20

PERSON_NAME: Final = 100
"""A first or a last name, each on its own."""

EMAIL: Final = 254
"""RFC 5321 caps a path at 256 octets including its angle brackets, which leaves 254."""

PHONE: Final = 30
"""As typed: E.164 allows 15 digits, and 30 leaves room for a +, spaces and punctuation."""
