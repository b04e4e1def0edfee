"""The start-up floor: a bare MCPServer (the same SDK as civis-mcp) with one tool, over stdio."""

from mcp.server import MCPServer

server = MCPServer("floor")


@server.tool()
def ping(text: str) -> str:
    """Answer with the text."""
    return text


if __name__ == "__main__":
    server.run("stdio")
