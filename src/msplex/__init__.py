"""MSPlex: one managed MCP exchange between AI clients and an MSP's systems."""

__version__ = "0.1.0"
