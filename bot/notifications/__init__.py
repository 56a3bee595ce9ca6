"""Channels hearing about referrals: subscriptions, change detection, events, delivery.

Three sources notice changes (the bot's own submits, Partner Center's webhooks, a
reconciliation poll); each observation goes through one Redis script that compares it with the
last known state of the referral and, for a real change, adds one event to the job stream in
the same step. A worker fans each event out to the channels whose subscription matches, one
job per channel in that channel's order, and each (event, channel) is sent once.
"""
