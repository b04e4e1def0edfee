"""civis-mcp: an MCP server that lets AI assistants drive Civis Platform imports."""

__version__ = "0.1.0"
