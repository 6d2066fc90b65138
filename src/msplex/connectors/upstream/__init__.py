"""Upstream MCP servers as a catalogue provider and a connector.

``provider``: registrations, listing refresh with backoff, health, change
announcements. ``connector``: executes a cleared call over the pooled session,
with a deadline, era bridging (``bridge``, ``parked``) and redaction of the
credentials the gateway injected (``redact``). ``subscriptions``: resource
subscriptions shared by every client of the tenant.
"""
