"""Connectors: what a cleared call is executed through (``msplex.call.Connector``).

``upstream`` serves upstream MCP servers (a catalogue provider plus one
connector per registered server); the MSP vendor connectors join as siblings.
"""
