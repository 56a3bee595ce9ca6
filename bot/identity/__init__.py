"""Every Microsoft token the product uses, through msal: Partner Center (delegated, per seller
or one integration user) and, for Teams replies, the bot's own. Token caches are sealed in
Redis; sign-in links are single use.
"""
