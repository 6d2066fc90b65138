"""Federation: a tenant's upstreams served as one MCP server."""
