#!/usr/bin/env bash
# Sets up the generic OpenAPI-to-MCP bridge the benchmarks compare civis-mcp with, as a user would:
#   1. a separate venv (FastMCP brings its own mcp and HTTP client) with whatever fastmcp PyPI serves;
#   2. the Civis Swagger 2.0 spec converted to OpenAPI 3 by swagger2openapi (pinned), into benchmarks/.cache/.
# Both are git-ignored. Idempotent: what exists is kept (BRIDGE_REFRESH=1 rebuilds both).
#
#   bash benchmarks/bridge/setup.sh
#
# Environment: PYTHON (default python3.11, else python3), CIVIS_SWAGGER (default ../shared/reference/...).
set -euo pipefail

SWAGGER2OPENAPI_VERSION=7.0.8
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bench="$(dirname "$here")"
repo="$(dirname "$bench")"
venv="$bench/.bridge-venv"
cache="$bench/.cache"
spec_in="${CIVIS_SWAGGER:-$repo/../shared/reference/civis_imports_swagger.json}"
spec_out="$cache/civis_imports_openapi3.json"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"

if [[ "${BRIDGE_REFRESH:-0}" == 1 ]]; then
    rm -rf "$venv" "$spec_out"
fi

if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "import fastmcp" 2>/dev/null; then
    echo "bridge: creating $venv with fastmcp from PyPI" >&2
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check fastmcp
fi

if [[ ! -s "$spec_out" ]]; then
    [[ -f "$spec_in" ]] || { echo "bridge: no Swagger spec at $spec_in (set CIVIS_SWAGGER)" >&2; exit 1; }
    echo "bridge: converting $spec_in to OpenAPI 3 with swagger2openapi@$SWAGGER2OPENAPI_VERSION" >&2
    mkdir -p "$cache"
    npx --yes "swagger2openapi@$SWAGGER2OPENAPI_VERSION" "$spec_in" --outfile "$cache/partial-openapi3.json"
    mv "$cache/partial-openapi3.json" "$spec_out"
fi

echo "bridge: fastmcp $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("fastmcp"), "with mcp", m.version("mcp"))'), spec $spec_out" >&2
