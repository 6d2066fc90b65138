"""The protocol edge: the only code that knows HTTP and JSON-RPC framing.

It speaks both MCP eras to clients (the stateless 2026-07-28 revision and the
legacy session protocol 2025-06-18/2025-11-25), turns each request into a
``Call`` and hands it to the enforcement chain. It never decides who may do
what.
"""
