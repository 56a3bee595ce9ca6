"""The referral domain: API resource models, enum catalogs, status rules, JSON Patch."""
