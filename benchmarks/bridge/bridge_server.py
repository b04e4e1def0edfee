"""The generic bridge civis-mcp is compared with: FastMCP's ``from_openapi`` on the Civis spec, served over stdio.

Runs in its own venv (``benchmarks/.bridge-venv``, made by ``benchmarks/bridge/setup.sh``): FastMCP brings its own
``mcp`` and HTTP client. The spec is the Swagger 2.0 reference converted to OpenAPI 3 by ``swagger2openapi`` (the
setup script does that too). Everything is as a user would set it up: default route maps, default names.

Environment:
  BRIDGE_OPENAPI     path of the OpenAPI 3 spec (default: benchmarks/.cache/civis_imports_openapi3.json)
  CIVIS_API_ENDPOINT base URL of the API (the sandbox in the benchmarks)
  CIVIS_API_KEY      the API key, sent as HTTP Basic user name as Civis expects

``--routes`` prints each tool's name with the HTTP verb and path it calls, instead of serving (the footprint
benchmark pairs the bridge's tools with civis-mcp's by route).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import httpx2
from fastmcp import FastMCP

HERE = Path(__file__).resolve().parent
DEFAULT_SPEC = HERE.parent / ".cache" / "civis_imports_openapi3.json"


def build() -> FastMCP:
    spec = json.loads(Path(os.environ.get("BRIDGE_OPENAPI", DEFAULT_SPEC)).read_text(encoding="utf-8"))
    endpoint = os.environ.get("CIVIS_API_ENDPOINT", "http://127.0.0.1:8765/")
    key = os.environ.get("CIVIS_API_KEY", "")
    client = httpx2.AsyncClient(base_url=endpoint.rstrip("/"), auth=httpx2.BasicAuth(key, ""), timeout=60.0)
    return FastMCP.from_openapi(openapi_spec=spec, client=client, name="Civis Imports (OpenAPI bridge)")


def routes() -> None:
    """Print each tool's name with its HTTP verb and path, one JSON object a line (``bridge_server.py --routes``)."""
    import asyncio

    for tool in asyncio.run(build().list_tools()):
        route = getattr(tool, "_route", None)
        if route is not None:
            print(json.dumps({"name": tool.name, "verb": str(route.method).upper(), "path": route.path}))


def main() -> None:
    if "--routes" in sys.argv[1:]:
        routes()
        return
    mcp = build()
    mcp.run(show_banner=False)


if __name__ == "__main__":
    sys.exit(main())
