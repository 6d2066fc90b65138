"""Upstream MCP servers: sessions over Streamable HTTP (both eras) and stdio, and their pool."""
